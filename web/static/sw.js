// kvpt's service worker (served at /sw.js; `BUILD` is prepended by the server). Written by
// hand rather than with Workbox: it does four small things, all tied to kvpt's own rules —
// the copies it keeps belong to the signed-in user and go with their sign-out — and it
// needs no bundler. It keeps:
//   kvpt-static-BUILD   kvpt's scripts, styles and icons (cache first; a new build replaces them)
//   kvpt-pages-USER     the field pages: /field, /sites/{code}, its progress and search forms, /map
//                       (network first, the kept copy when there is no network)
//   kvpt-map-USER       the offline map: style, layer descriptions and tiles (network first)
// and sends the queue on Background Sync.
/* global BUILD */
importScripts('/static/queue.js');

const STATIC = `kvpt-static-${BUILD}`;
const STATIC_FILES = [
  '/static/kvpt.css', '/static/queue.js', '/static/field.js', '/static/map.js', '/static/map.css',
  '/static/vendor/maplibre-gl.mjs', '/static/vendor/maplibre-gl-worker.mjs', '/static/vendor/maplibre-gl.css',
  '/static/icons/kvpt-192.png', '/static/icons/kvpt-512.png', '/manifest.webmanifest',
];
const PAGES = [/^\/field$/, /^\/sites\/[^/]+$/, /^\/sites\/[^/]+\/(progress|search)$/, /^\/map$/];
const MAP_FILES = /^\/(style\.json$|tiles\/)/;
// A page or tile slower than this on a weak signal is taken from the device instead.
const PAGE_WAIT_MS = 6000;
const TILE_WAIT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(STATIC).then((c) => c.addAll(STATIC_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('kvpt-static-') && name !== STATIC) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

const user = () => self.kvptQueue.meta('user').catch(() => undefined);

/** The network's answer, or null when there is none within `ms`. */
async function network(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(request, { signal: controller.signal });
  } catch (_) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function kept(cacheName, request) {
  const cache = await caches.open(cacheName);
  return (await cache.match(request, { ignoreVary: true }))
    || (await cache.match(request, { ignoreVary: true, ignoreSearch: true }));
}

function offlinePage() {
  const html = `<!doctype html><html lang="vi"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Ngoại tuyến · kvpt</title>
<link rel="stylesheet" href="/static/kvpt.css"><main><h1>Không có mạng</h1>
<p>Trang này chưa được lưu trên máy. Các công trình được giao mở được khi không có mạng từ
<a href="/field">Hiện trường</a>.</p><p lang="en">Offline: this page is not kept on the device.</p></main>`;
  return new Response(html, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

async function page(request) {
  const who = await user();
  const fresh = await network(request, PAGE_WAIT_MS);
  if (fresh && fresh.ok && !fresh.redirected && who) {
    // Only a page this user got (not a sign-in form they were sent to) is kept.
    const copy = fresh.clone();
    caches.open(`kvpt-pages-${who}`).then((c) => c.put(request, copy)).catch(() => {});
  }
  if (fresh && (fresh.ok || fresh.status < 500)) return fresh;
  const copy = who && (await kept(`kvpt-pages-${who}`, request));
  return copy || fresh || offlinePage();
}

async function mapFile(request) {
  const who = await user();
  const fresh = await network(request, TILE_WAIT_MS);
  if (fresh && fresh.ok) return fresh;
  const copy = who && (await kept(`kvpt-map-${who}`, request));
  return copy || fresh || new Response(null, { status: 504 });
}

async function staticFile(request) {
  // The map's worker is asked for as maplibre-gl-worker.mjs?v=VERSION; the cache is per
  // build, so the file kept without the query is that version.
  return (await caches.match(request, { cacheName: STATIC, ignoreVary: true }))
    || (await caches.match(request, { cacheName: STATIC, ignoreVary: true, ignoreSearch: true }))
    || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(staticFile(request));
  } else if (request.mode === 'navigate' && PAGES.some((p) => p.test(url.pathname))) {
    event.respondWith(page(request));
  } else if (MAP_FILES.test(url.pathname)) {
    event.respondWith(mapFile(request));
  }
});

// Background Sync: the browser wakes the worker when the network is back, even with no
// kvpt page open. A failure asks it to try again later.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'kvpt-queue') return;
  event.waitUntil((async () => {
    const who = await user();
    if (!who) return;
    const result = await self.kvptQueue.sync(who);
    for (const client of await self.clients.matchAll()) client.postMessage({ type: 'kvpt-synced' });
    if (result.offline) throw new Error('still offline');
  })());
});

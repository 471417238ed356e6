// kvpt viewer: MapLibre on kvpt's own style and tiles. Layer toggles, filters, search,
// popup and details panel; the URL hash keeps the view so a link can be shared.
import { Map, Popup, NavigationControl, ScaleControl, LngLatBounds } from '/static/vendor/maplibre-gl.mjs';

const data = JSON.parse(document.getElementById('kvpt-data').textContent);
const T = data.text;
const label = (list, code) => (list.find((x) => x.code === code) || { label: code || '' }).label;
const vi = data.lang === 'vi';

// ---- numbers and dates as the page's language writes them
const formatInt = (n) => Number(n || 0).toLocaleString(vi ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 0 });
const formatDate = (iso) => {
  if (!iso) return '—';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return vi ? `${d}/${m}/${y}` : `${d}/${m}/${y}`;
};
const escape = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// ---- state kept in the URL hash: map=zoom/lat/lon&off=groups&district=&kind=&status=&phase=&programme=
const state = { off: new Set(), district: '', kind: '', status: '', phase: '', programme: '', as_of: '' };
const FILTERS = ['district', 'kind', 'status', 'phase', 'programme', 'as_of'];
function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  let view = null;
  const m = (params.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite)) view = { zoom: m[0], center: [m[2], m[1]] };
  state.off = new Set((params.get('off') || '').split(',').filter((g) => data.groups.some((x) => x.code === g)));
  // A value the form does not offer (an old link) is dropped, not sent to the tiles.
  for (const key of FILTERS) {
    const value = params.get(key) || '';
    const field = document.getElementById(`filter-${key}`);
    const offered = !field.options || [...field.options].some((o) => o.value === value);
    state[key] = offered ? value : '';
  }
  return view;
}
function writeHash() {
  const c = map.getCenter();
  const params = new URLSearchParams();
  params.set('map', `${map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
  if (state.off.size) params.set('off', [...state.off].join(','));
  for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
  history.replaceState(null, '', `${location.pathname}${location.search}#${params.toString().replace(/%2F/g, '/').replace(/%2C/g, ',')}`);
  const other = document.getElementById('lang-switch');
  other.href = `${other.href.split('#')[0]}#${location.hash.slice(1)}`;
  updateExportLink();
}

// "Export what I see": the export form with the visible layers, the filters and the
// map's current extent.
function updateExportLink() {
  const link = document.getElementById('export-link');
  if (!link) return;
  const params = new URLSearchParams({ lang: link.dataset.lang });
  const on = data.groups.map((g) => g.code).filter((g) => !state.off.has(g));
  if (on.length < data.groups.length) params.set('layer', on.join(','));
  for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
  const b = map.getBounds();
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  params.set('bbox', [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
    clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].map((v) => v.toFixed(5)).join(','));
  link.href = `/exports?${params}`;
}

const initial = readHash();
const map = new Map({
  container: 'map',
  style: data.style,
  center: initial ? initial.center : [106.15, 11.4],
  zoom: initial ? initial.zoom : 8.3,
  maxZoom: 20,
  attributionControl: { compact: true },
});
window.kvptMap = map; // for the browser test and for the curious
map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');

// ---- layers and filters
const siteLayers = () => map.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group']);
const baseFilter = {};
function attributeFilter() {
  const all = [];
  if (state.district) all.push(['==', ['get', 'district_code'], state.district]);
  if (state.kind) all.push(['==', ['get', 'kind'], state.kind]);
  if (state.status) all.push(['==', ['get', 'status'], state.status]);
  if (state.phase) all.push(['==', ['get', 'phase'], Number(state.phase)]);
  if (state.programme) all.push(['==', ['get', 'programme'], state.programme]);
  return all;
}
function applyState() {
  const extra = attributeFilter();
  for (const layer of siteLayers()) {
    if (!(layer.id in baseFilter)) baseFilter[layer.id] = layer.filter || null;
    const base = baseFilter[layer.id];
    // Clusters (zoom 10 and below) come filtered from kvpt: their counts cannot be
    // filtered here.
    const cluster = layer.metadata['kvpt:cluster'];
    const parts = [...(base ? [base] : []), ...(cluster ? [] : extra)];
    map.setFilter(layer.id, parts.length ? ['all', ...parts] : null);
    const visible = !state.off.has(layer.metadata['kvpt:group']);
    map.setLayoutProperty(layer.id, 'visibility', visible ? 'visible' : 'none');
  }
  for (const box of document.querySelectorAll('#layers input[data-group]')) box.checked = !state.off.has(box.dataset.group);
  for (const key of FILTERS) document.getElementById(`filter-${key}`).value = state[key];
  applyAsOf();
  writeHash();
}

// The site layers' tiles are asked with the filters (kvpt applies them to the clusters of
// low zooms) and ?as_of= (statuses as of a past date).
let shownQuery = '';
function applyAsOf() {
  const params = new URLSearchParams();
  for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
  const query = params.toString();
  if (query === shownQuery) return;
  shownQuery = query;
  const suffix = query ? `?${query}` : '';
  // Each site source is replaced (its layers removed and put back in place, with their
  // filters and visibility): changing a vector source's URL in place does not refetch
  // the tiles already shown.
  const layers = map.getStyle().layers;
  for (const group of data.groups) {
    if (!map.getSource(group.code)) continue;
    const own = layers.filter((l) => l.source === group.code);
    const last = layers.indexOf(own[own.length - 1]);
    const beforeId = layers.slice(last + 1).find((l) => l.source !== group.code)?.id;
    for (const l of own) map.removeLayer(l.id);
    map.removeSource(group.code);
    map.addSource(group.code, { type: 'vector', url: `${location.origin}/tiles/${group.code}.json${suffix}` });
    for (const l of own) map.addLayer(l, beforeId);
  }
  document.body.dataset.asOf = state.as_of;
}

map.on('load', () => {
  applyState();
  document.body.dataset.mapReady = 'true';
});
map.on('moveend', writeHash);

document.getElementById('layers').addEventListener('change', (e) => {
  const group = e.target.dataset.group;
  if (!group) return;
  if (e.target.checked) state.off.delete(group); else state.off.add(group);
  applyState();
});
document.getElementById('filters').addEventListener('change', (e) => {
  const key = (e.target.id || '').replace('filter-', '');
  if (key in state) { state[key] = e.target.value; applyState(); }
});
document.getElementById('filter-reset').addEventListener('click', () => {
  for (const key of FILTERS) state[key] = '';
  applyState();
});
window.addEventListener('hashchange', () => {
  const view = readHash();
  if (view) map.jumpTo(view);
  if (map.isStyleLoaded()) applyState();
});

// ---- phone: the panel slides over the map
const panel = document.getElementById('panel');
const toggle = document.getElementById('panel-toggle');
toggle.addEventListener('click', () => {
  const open = panel.classList.toggle('open');
  toggle.setAttribute('aria-expanded', String(open));
});

// ---- popup, then details
const popup = new Popup({ closeButton: true, maxWidth: '280px' });
map.on('click', (e) => {
  const layers = siteLayers().filter((l) => l.type !== 'symbol' && !state.off.has(l.metadata['kvpt:group'])).map((l) => l.id);
  const hit = map.queryRenderedFeatures(e.point, { layers })[0];
  if (!hit) return;
  const p = hit.properties;
  if (p.count !== undefined) {
    showCluster(hit, e.lngLat);
    return;
  }
  popup.setLngLat(e.lngLat).setHTML(
    `<strong>${escape(p.code)}</strong><br>${escape(p.name)}<br>` +
    `<span class="status" style="--c:${statusColour(p.status)}">${escape(label(data.statuses, p.status))}</span> · ${escape(p.percent)}%`
  ).addTo(map);
  markPending(p.code, () => popup.getElement() && popup.getElement().querySelector('.maplibregl-popup-content'));
  showDetails(p.code);
});

// A cluster: how many works, by status, and a button that zooms in to them.
function showCluster(hit, lngLat) {
  const p = hit.properties;
  const group = label(data.groups, hit.layer.metadata['kvpt:group']);
  const rows = data.statuses
    .filter((s) => p[`n_${s.code}`])
    .map((s) => `<li><span class="status" style="--c:${s.colour}">${escape(s.label)}</span> ${formatInt(p[`n_${s.code}`])}</li>`)
    .join('');
  popup.setLngLat(lngLat).setHTML(
    `<strong>${escape(group)}</strong><br>${formatInt(p.count)} ${escape(T.works)}` +
    `<ul class="cluster-counts">${rows}</ul><button type="button" class="zoom-in">${escape(T.zoom_in)}</button>`
  ).addTo(map);
  popup.getElement().querySelector('.zoom-in').addEventListener('click', () => {
    popup.remove();
    map.easeTo({ center: hit.geometry.coordinates, zoom: Math.max(map.getZoom() + 2, 11.5) });
  });
}

// Updates of this site kept on the phone, not sent yet (the field app's queue).
async function pendingOn(code) {
  const Q = self.kvptQueue;
  const user = document.body.dataset.user;
  if (!Q || !user) return 0;
  try {
    return (await Q.items(user)).filter((i) => i.state === 'pending' && i.code === code).length;
  } catch {
    return 0;
  }
}

async function markPending(code, where) {
  const n = await pendingOn(code);
  const el = where();
  if (!n || !el || el.querySelector('.pending')) return;
  const badge = document.createElement('span');
  badge.className = 'pending';
  badge.textContent = vi ? `${n} chờ gửi` : `${n} pending`;
  el.append(' ', badge);
}
map.on('mousemove', (e) => {
  if (!map.isStyleLoaded()) return;
  const layers = siteLayers().filter((l) => l.type !== 'symbol').map((l) => l.id);
  map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, { layers }).length ? 'pointer' : '';
});

const statusColour = (code) => (data.statuses.find((s) => s.code === code) || { colour: '#868e96' }).colour;
const details = document.getElementById('details');
const detailsBody = document.getElementById('details-body');
document.getElementById('details-close').addEventListener('click', () => { details.hidden = true; });

async function fetchSite(code) {
  const response = await fetch(`/collections/sites/items/${encodeURIComponent(code)}?lang=${data.lang}`, { headers: { Accept: 'application/geo+json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function showDetails(code) {
  details.hidden = false;
  detailsBody.innerHTML = `<p class="loading">${escape(code)}…</p>`;
  let f;
  try {
    f = await fetchSite(code);
  } catch (err) {
    // Offline the details cannot come, but the site's page may be kept on the phone.
    const why = navigator.onLine ? T.load_failed + err.message : T.offline_details;
    detailsBody.innerHTML = `<p class="code">${escape(code)}</p><p class="error">${escape(why)}</p>
      <p><a class="site-link" href="/sites/${encodeURIComponent(code)}?lang=${data.lang}">${T.open_page}</a></p>`;
    markPending(code, () => detailsBody.querySelector('.code'));
    return;
  }
  const p = f.properties;
  const late = p.planned_finish && !p.actual_finish && !['completed', 'handed_over', 'cancelled'].includes(p.status)
    && new Date(p.planned_finish) < new Date();
  detailsBody.innerHTML = `
    <p class="code">${escape(p.code)}</p>
    <h2>${escape(vi ? p.name : (p.name_en || p.name))}</h2>
    <dl>
      <dt>${T.kind}</dt><dd>${escape(label(data.kinds, p.kind))}</dd>
      <dt>${T.district}</dt><dd>${escape([p.commune, p.district].filter(Boolean).join(', '))}</dd>
      <dt>${T.unit}</dt><dd>${escape(p.responsible_unit || '—')}</dd>
      <dt>${T.programme}</dt><dd>${escape(label(data.programmes, p.programme))}</dd>
      <dt>${T.phase}</dt><dd>${escape(p.phase ?? '—')}</dd>
      <dt>${T.status}</dt><dd><span class="status" style="--c:${statusColour(p.status)}">${escape(label(data.statuses, p.status))}</span>
        ${late ? `<span class="late">${T.late}</span>` : ''}</dd>
      <dt>${T.percent}</dt><dd><div class="bar" role="progressbar" aria-valuenow="${Number(p.percent)}" aria-valuemin="0" aria-valuemax="100">
        <span style="width:${Number(p.percent)}%;background:${statusColour(p.status)}"></span></div> ${escape(p.percent)}%</dd>
    </dl>
    <table class="dates">
      <tr><th></th><th>${T.start}</th><th>${T.finish}</th></tr>
      <tr><th>${T.planned}</th><td>${formatDate(p.planned_start)}</td><td>${formatDate(p.planned_finish)}</td></tr>
      <tr><th>${T.actual}</th><td>${formatDate(p.actual_start)}</td><td>${formatDate(p.actual_finish)}</td></tr>
    </table>
    <h3>${T.budget}</h3>
    <table class="budget">
      <tr><th>${T.estimate}</th><td class="num">${formatInt(p.estimate_vnd)}</td></tr>
      <tr><th>${T.allocated}</th><td class="num">${formatInt(p.allocated_vnd)}</td></tr>
      <tr><th>${T.disbursed}</th><td class="num">${formatInt(p.disbursed_vnd)}</td></tr>
      <tr><th>${T.settled}</th><td class="num">${formatInt(p.settled_vnd)}</td></tr>
    </table>
    <p><a class="site-link" href="/sites/${encodeURIComponent(p.code)}?lang=${data.lang}">${T.open_page}</a></p>`;
  markPending(p.code, () => detailsBody.querySelector('.code'));
  return f;
}

// ---- search by code or name, then fly there
const results = document.getElementById('results');
let searchTimer = null;
let searchSeq = 0;
document.getElementById('search').addEventListener('submit', (e) => { e.preventDefault(); search(); });
document.getElementById('search-input').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 250);
});
async function search() {
  const q = document.getElementById('search-input').value.trim();
  const seq = ++searchSeq;
  if (!q) { results.innerHTML = ''; return; }
  try {
    const response = await fetch(`/collections/sites/items?limit=10&q=${encodeURIComponent(q)}`, { headers: { Accept: 'application/geo+json' } });
    const body = await response.json();
    if (seq !== searchSeq) return;
    if (!response.ok) throw new Error(body.error || response.statusText);
    results.innerHTML = body.features.length
      ? body.features.map((f, i) => `<li><button type="button" data-i="${i}"><strong>${escape(f.id)}</strong> ${escape(f.properties.name)}</button></li>`).join('')
      : `<li class="empty">${T.no_results}</li>`;
    results.onclick = (e) => {
      const button = e.target.closest('button[data-i]');
      if (button) flyTo(body.features[Number(button.dataset.i)]);
    };
  } catch (err) {
    results.innerHTML = `<li class="empty">${escape(T.search_failed + err.message)}</li>`;
  }
}
function flyTo(feature) {
  const bounds = new LngLatBounds();
  const walk = (c) => (typeof c[0] === 'number' ? bounds.extend(c) : c.forEach(walk));
  walk(feature.geometry.coordinates);
  map.fitBounds(bounds, { padding: 80, maxZoom: 15, duration: 1200 });
  const group = feature.properties.layer;
  if (state.off.has(group)) { state.off.delete(group); applyState(); }
  panel.classList.remove('open');
  showDetails(feature.id);
}

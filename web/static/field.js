// kvpt in the field: on every page of a signed-in user, the sign-out that wipes the
// device, the service worker, the queue's sending (n / N, retries with backoff) and the
// "chờ gửi" badges; on /field the list (search, nearest first), the offline copies of the
// site pages and the offline map; on the progress form, updates queued on the phone.
(function () {
  'use strict';
  const Q = self.kvptQueue;
  const body = document.body;
  const user = body.dataset.user;
  const vi = (body.dataset.lang || 'vi') === 'vi';
  const lang = vi ? 'vi' : 'en';
  const t = (v, e) => (vi ? v : e);
  self.kvptLang = lang;
  const $ = (s, root) => (root || document).querySelector(s);
  const $$ = (s, root) => Array.from((root || document).querySelectorAll(s));

  // Sign-out: everything this user keeps on the device goes (the server also sends
  // Clear-Site-Data); unsent updates are not dropped without asking.
  for (const form of $$('form.logout')) {
    form.addEventListener('submit', async (event) => {
      if (!Q || !user || form.dataset.wiped) return;
      event.preventDefault();
      const pending = (await Q.items(user).catch(() => [])).filter((i) => i.state !== 'done').length;
      if (pending && !confirm(t(
        `Còn ${pending} cập nhật chưa gửi được. Đăng xuất sẽ xoá chúng khỏi máy này. Vẫn đăng xuất?`,
        `${pending} update(s) are not sent yet. Signing out deletes them from this device. Sign out anyway?`))) return;
      // Nothing this page is still fetching may land in a cache after the wipe.
      self.kvptStopped = true;
      await Q.wipe().catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      await Q.wipe().catch(() => {});
      if (navigator.serviceWorker) {
        for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
      }
      form.dataset.wiped = 'true';
      form.submit();
    });
  }
  if (!Q || !user || !self.indexedDB) return;
  /** A cache of this user's, unless they are signing out (opening one creates it). */
  const cacheOf = async (name) => {
    if (self.kvptStopped) throw new Error('signing out');
    return caches.open(name);
  };
  /** Puts a response in a cache, unless the user is signing out. */
  const keep = (cache, url, response) => (self.kvptStopped ? Promise.resolve() : cache.put(url, response));

  const ready = (async () => {
    // Another user's copies never stay on a device someone else now uses.
    const before = await Q.meta('user');
    if (before && before !== user && self.caches) {
      for (const name of await caches.keys()) {
        if (name === `kvpt-pages-${before}` || name === `kvpt-map-${before}`) await caches.delete(name);
      }
    }
    await Q.setMeta('user', user);
    if (navigator.serviceWorker) {
      try { await navigator.serviceWorker.register('/sw.js'); } catch (_) { /* http on a LAN: online only */ }
    }
    // The queue must outlive a phone short of space: ask that the browser never evicts
    // kvpt's storage on its own (an installed app is usually granted it without a prompt).
    // Not waited for: some browsers ask the user, and nothing else should wait on that.
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  })();

  // ---- Sending the queue ------------------------------------------------------------
  let bar = $('#sync-status');
  if (!bar) {
    bar = document.createElement('p');
    bar.id = 'sync-status';
    bar.className = 'sync floating';
    bar.setAttribute('role', 'status');
    body.appendChild(bar);
  }
  const say = (text, kind) => { bar.textContent = text; bar.dataset.kind = kind || ''; bar.hidden = !text; };

  async function render() {
    const items = await Q.items(user);
    const pending = items.filter((i) => i.state === 'pending');
    const codes = new Set(pending.map((i) => i.code));
    for (const li of $$('#field-sites li')) {
      $('.pending', li).hidden = !codes.has(li.dataset.code);
    }
    const match = location.pathname.match(/^\/sites\/([^/]+)$/);
    const note = $('#pending-note');
    if (match) {
      const code = decodeURIComponent(match[1]);
      const mine = pending.filter((i) => i.code === code).length;
      if (mine && !note) {
        const p = document.createElement('p');
        p.id = 'pending-note';
        p.className = 'pending-note';
        p.textContent = t(`${mine} cập nhật đã lưu trên máy, chờ gửi.`, `${mine} update(s) kept on this device, pending.`);
        ($('.site-head') || $('main')).after(p);
      } else if (!mine && note) note.remove();
    }
    renderRefused(items.filter((i) => i.state === 'refused'));
    if (!bar.dataset.busy) {
      if (pending.length) {
        say(navigator.onLine
          ? t(`${pending.length} cập nhật chờ gửi`, `${pending.length} update(s) pending`)
          : t(`Ngoại tuyến · ${pending.length} cập nhật chờ gửi`, `Offline · ${pending.length} update(s) pending`), 'pending');
      } else if (!navigator.onLine) {
        say(t('Ngoại tuyến', 'Offline'), 'offline');
      } else if (bar.dataset.kind !== 'done') say('');
    }
  }

  function renderRefused(refused) {
    const box = $('#refused');
    if (!box) return;
    box.replaceChildren();
    for (const item of refused) {
      const div = document.createElement('div');
      div.className = 'refused';
      div.setAttribute('role', 'alert');
      const what = document.createElement('p');
      what.innerHTML = '<strong></strong> <span></span>';
      what.firstChild.textContent = item.code;
      const made = new Date(item.created_at).toLocaleString('vi-VN', { dateStyle: 'short', timeStyle: 'short' });
      what.lastChild.textContent = `${t('không gửi được', 'refused')} (${made}): ${item.error}`;
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.textContent = t('Gửi lại', 'Send again');
      retry.onclick = async () => { item.state = 'pending'; item.error = null; await Q.put(item); sendNow(); };
      const drop = document.createElement('button');
      drop.type = 'button';
      drop.className = 'secondary';
      drop.textContent = t('Bỏ cập nhật này', 'Discard this update');
      drop.onclick = async () => {
        if (confirm(t('Xoá cập nhật này khỏi máy?', 'Delete this update from the device?'))) { await Q.remove(item.id); render(); }
      };
      div.append(what, retry, drop);
      box.appendChild(div);
    }
  }

  let delay = 5000;
  let timer = null;
  let running = null;
  let again = false;
  async function sendNow() {
    // The network came back while a try was failing: try once more as soon as it ends.
    if (running) { again = true; return running; }
    again = false;
    clearTimeout(timer);
    running = (async () => {
      await ready;
      bar.dataset.busy = 'true';
      let result;
      try {
        result = await Q.sync(user, (done, total) => say(t(`Đang gửi ${done} / ${total}`, `Sending ${done} / ${total}`), 'sending'));
      } finally {
        delete bar.dataset.busy;
      }
      if (result.signIn) {
        say(t('Phiên đăng nhập đã hết: đăng nhập lại để gửi các cập nhật chờ.', 'Your session ended: sign in again to send what is pending.'), 'signin');
      } else if (result.offline) {
        timer = setTimeout(sendNow, delay);
        bar.dataset.retryMs = String(delay); // the next try, for whoever looks (and the test)
        delay = Math.min(delay * 2, 5 * 60 * 1000);
        await render();
      } else {
        delay = 5000;
        const sent = result.sent + result.conflicts;
        if (sent || result.refused) {
          say(t(`Đã gửi ${sent} cập nhật`, `${sent} update(s) sent`)
            + (result.conflicts ? t(`, ${result.conflicts} xung đột cần chọn`, `, ${result.conflicts} conflict(s) to resolve`) : '')
            + (result.refused ? t(`, ${result.refused} bị từ chối`, `, ${result.refused} refused`) : ''), 'done');
        }
        await render();
      }
      return result;
    })();
    let result;
    try { result = await running; } finally { running = null; }
    if (again && result && result.offline && navigator.onLine) return sendNow();
    return result;
  }

  window.addEventListener('online', () => { delay = 5000; sendNow(); });
  window.addEventListener('offline', render);
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener('message', (e) => { if (e.data && e.data.type === 'kvpt-synced') render(); });
  }

  // ---- The progress form: an update is kept on the phone first -------------------------
  const form = $('form.progress');
  const isoDate = (text) => {
    const m = String(text || '').trim().match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})$/);
    if (!m) return null;
    const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCDate() !== d || date.getUTCMonth() !== mo - 1) return null;
    return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };

  const PHOTO_BYTES = 250 * 1024;

  /** A photo no longer than 1600 px on its long side, as JPEG, with its EXIF kept. */
  async function resized(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const w = Math.round(bitmap.width * scale);
    const h = Math.round(bitmap.height * scale);
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d').drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    // A few MB for a day's photos on a slow link: each at most PHOTO_BYTES, the quality
    // lowered step by step until it fits (site photos stay readable at 0.5).
    let jpeg;
    for (let quality = 0.82; ; quality -= 0.08) {
      jpeg = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
      if (jpeg.size <= PHOTO_BYTES || quality < 0.5) break;
    }
    const exif = await exifSegment(file);
    const out = exif ? await withExif(jpeg, exif) : jpeg;
    return { blob: out, name: file.name.replace(/\.[^.]*$/, '') + '.jpg', width: w, height: h };
  }

  /** The original's EXIF segment (APP1 "Exif"), where the phone wrote position and time. */
  async function exifSegment(file) {
    const head = new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer());
    if (head[0] !== 0xff || head[1] !== 0xd8) return null;
    let i = 2;
    while (i + 4 <= head.length && head[i] === 0xff) {
      const marker = head[i + 1];
      const length = (head[i + 2] << 8) | head[i + 3];
      if (marker === 0xe1 && head[i + 4] === 0x45 && head[i + 5] === 0x78 && head[i + 6] === 0x69 && head[i + 7] === 0x66) {
        const segment = head.slice(i, i + 2 + length);
        resetOrientation(segment);
        return segment;
      }
      if (marker === 0xda) break;
      i += 2 + length;
    }
    return null;
  }

  /** The canvas drew the picture upright: its EXIF must not say to turn it again. */
  function resetOrientation(segment) {
    const tiff = 10;
    const little = segment[tiff] === 0x49;
    const u16 = (o) => (little ? segment[o] | (segment[o + 1] << 8) : (segment[o] << 8) | segment[o + 1]);
    const u32 = (o) => (little
      ? (segment[o] | (segment[o + 1] << 8) | (segment[o + 2] << 16)) + segment[o + 3] * 16777216
      : segment[o] * 16777216 + ((segment[o + 1] << 16) | (segment[o + 2] << 8) | segment[o + 3]));
    const ifd = tiff + u32(tiff + 4);
    if (ifd + 2 > segment.length) return;
    const count = u16(ifd);
    for (let n = 0; n < count; n++) {
      const entry = ifd + 2 + n * 12;
      if (entry + 12 > segment.length) return;
      if (u16(entry) === 0x0112) {
        if (little) { segment[entry + 8] = 1; segment[entry + 9] = 0; } else { segment[entry + 8] = 0; segment[entry + 9] = 1; }
      }
    }
  }

  async function withExif(jpeg, exif) {
    const bytes = new Uint8Array(await jpeg.arrayBuffer());
    return new Blob([bytes.slice(0, 2), exif, bytes.slice(2)], { type: 'image/jpeg' });
  }

  function formErrors(messages) { formErrorsOf(form, messages); }

  function formErrorsOf(target, messages) {
    let box = $('div.errors', target.parentNode);
    if (!box) {
      box = document.createElement('div');
      box.className = 'errors';
      box.setAttribute('role', 'alert');
      target.before(box);
    }
    box.innerHTML = `<p><strong>${t('Chưa lưu được:', 'Not saved:')}</strong></p><ul></ul>`;
    for (const m of messages) {
      const li = document.createElement('li');
      li.textContent = m;
      box.lastChild.appendChild(li);
    }
    box.scrollIntoView({ block: 'start' });
  }

  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const code = decodeURIComponent(new URL(form.action).pathname.split('/')[2]);
      const data = new FormData(form);
      const problems = [];
      const fields = { status: data.get('status'), note: data.get('note') || '', correction_reason: data.get('correction_reason') || '' };
      const percent = Number(data.get('percent'));
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) problems.push(t('Tỷ lệ phải là số nguyên từ 0 đến 100.', 'Percent is a whole number from 0 to 100.'));
      fields.percent = percent;
      for (const [name, label] of [['actual_start', t('Khởi công thực tế', 'Actual start')], ['actual_finish', t('Hoàn thành thực tế', 'Actual finish')]]) {
        const text = String(data.get(name) || '').trim();
        if (!text) continue;
        const iso = isoDate(text);
        if (!iso) problems.push(`${label}: ${t('nhập ngày dạng dd/mm/yyyy', 'type the date as dd/mm/yyyy')}`);
        else fields[name] = iso;
      }
      const files = data.getAll('photos').filter((f) => f && f.size);
      if (files.length > 6) problems.push(t('Tối đa 6 ảnh mỗi lần.', 'At most 6 photos at once.'));
      if (problems.length) { formErrors(problems); return; }
      const button = $('button[type="submit"]', form);
      button.disabled = true;
      say(t('Đang chuẩn bị ảnh…', 'Preparing photos…'), 'sending');
      let photos;
      try {
        photos = [];
        for (const f of files) photos.push(await resized(f));
      } catch (e) {
        button.disabled = false;
        say('');
        formErrors([t('Không đọc được ảnh (chỉ JPEG hoặc PNG).', 'A photo cannot be read (JPEG or PNG only).')]);
        return;
      }
      const name = ($('p.lead') || {}).textContent || code;
      const item = Q.newItem(user, code, name, Number(data.get('version')), fields, photos);
      await Q.put(item);
      if (self.ServiceWorkerRegistration && 'sync' in ServiceWorkerRegistration.prototype) {
        navigator.serviceWorker.ready.then((r) => r.sync.register('kvpt-queue')).catch(() => {});
      }
      const result = navigator.onLine ? await sendNow() : null;
      const sent = result && result.done.find((i) => i.id === item.id);
      if (sent && sent.state === 'refused' && sent.history_id === undefined) {
        // Refused while the engineer is here: the form says why, nothing stays queued.
        await Q.remove(sent.id);
        button.disabled = false;
        say('');
        formErrors([sent.error]);
        return;
      }
      if (sent && sent.conflict) {
        location.assign(`/field/conflicts?lang=${lang}`);
        return;
      }
      if (sent && sent.state === 'done') {
        location.assign(`/sites/${encodeURIComponent(code)}?lang=${lang}`);
        return;
      }
      location.assign(`/field?lang=${lang}&queued=1`);
    });
  }

  // ---- The search form of a remains search zone: kept on the phone first, too ---------
  const searchForm = $('form.search');
  if (searchForm) {
    searchForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const code = decodeURIComponent(new URL(searchForm.action).pathname.split('/')[2]);
      const data = new FormData(searchForm);
      const problems = [];
      const count = (name, label) => {
        const n = Number(String(data.get(name) || '').trim());
        if (!Number.isInteger(n) || n < 0) problems.push(`${label}: ${t('số nguyên không âm', 'a whole number, 0 or more')}`);
        return n;
      };
      const fields = {
        remains_expected: count('remains_expected', t('Hài cốt dự kiến', 'Remains expected')),
        remains_found: count('remains_found', t('Hài cốt đã quy tập', 'Remains found')),
        area_concluded_ha: Number(String(data.get('area_concluded_ha') || '').trim().replace(',', '.')),
        map_drawn: data.get('map_drawn') === 'on',
        unit_in_charge: String(data.get('unit_in_charge') || ''),
        note: String(data.get('note') || ''),
        correction_reason: String(data.get('correction_reason') || ''),
      };
      if (!Number.isFinite(fields.area_concluded_ha)) problems.push(t('Diện tích kết luận là số (ha), ví dụ 12,5.', 'Area concluded is a number of hectares.'));
      for (const name of ['map_drawn_on', 'concluded_on']) {
        const text = String(data.get(name) || '').trim();
        fields[name] = text ? isoDate(text) : null;
        if (text && !fields[name]) problems.push(`${text}: ${t('nhập ngày dạng dd/mm/yyyy', 'type the date as dd/mm/yyyy')}`);
      }
      if (problems.length) { formErrorsOf(searchForm, problems); return; }
      const item = Q.newItem(user, code, code, Number(data.get('version')), fields, [], 'search');
      await Q.put(item);
      const result = navigator.onLine ? await sendNow() : null;
      const sent = result && result.done.find((i) => i.id === item.id);
      if (sent && sent.state === 'refused') {
        await Q.remove(sent.id);
        say('');
        formErrorsOf(searchForm, [sent.error]);
        return;
      }
      location.assign(sent && sent.state === 'done'
        ? `/sites/${encodeURIComponent(code)}?lang=${lang}#search`
        : `/field?lang=${lang}&queued=1`);
    });
  }

  // ---- /field: the list, the offline copies, the offline map --------------------------
  const list = $('#field-sites');
  const fold = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/đ/g, 'd');
  if (list) {
    if (new URLSearchParams(location.search).get('queued')) {
      say(t('Đã lưu cập nhật trên máy; sẽ gửi khi có mạng.', 'Update kept on this device; it is sent when the network is back.'), 'pending');
    }
    $('#field-search').addEventListener('input', (e) => {
      const q = fold(e.target.value.trim());
      for (const li of $$('li', list)) li.hidden = q && !li.dataset.search.includes(q);
    });
    $('#sort-distance').addEventListener('click', () => {
      if (!navigator.geolocation) return;
      navigator.geolocation.getCurrentPosition((pos) => {
        const { latitude, longitude } = pos.coords;
        const rad = Math.PI / 180;
        // Investments have no place: last, with no distance.
        const km = (li) => {
          if (!li.dataset.lat) return Infinity;
          const lat = Number(li.dataset.lat); const lon = Number(li.dataset.lon);
          const a = Math.sin((lat - latitude) * rad / 2) ** 2
            + Math.cos(lat * rad) * Math.cos(latitude * rad) * Math.sin((lon - longitude) * rad / 2) ** 2;
          return 12742 * Math.asin(Math.sqrt(a));
        };
        const items = $$('li', list).map((li) => [km(li), li]).sort((a, b) => (a[0] - b[0]) || 0);
        for (const [d, li] of items) {
          $('.distance', li).textContent = Number.isFinite(d)
            ? ` · ${d.toLocaleString(vi ? 'vi-VN' : 'en', { maximumFractionDigits: 1 })} km` : '';
          list.appendChild(li);
        }
      }, () => say(t('Không lấy được vị trí của máy.', 'The phone\'s position is not available.'), 'offline'));
    });
  }

  /** Keeps each listed site's page and form on the device (again when its version moved). */
  async function keepPages() {
    await ready;
    if (!navigator.onLine || !self.caches) return;
    const cache = await cacheOf(`kvpt-pages-${user}`);
    const known = (await Q.meta('kept-versions')) || {};
    // The first 300 listed: an engineer's own sites, not a province's.
    const lis = $$('li', list).slice(0, 300);
    let i = 0;
    async function worker() {
      while (i < lis.length) {
        const li = lis[i++];
        const code = li.dataset.code;
        if (known[code] === li.dataset.version) continue;
        // The forms this user may open: a search team known only as a zone's unit in
        // charge has its search form, not the progress form.
        const site = `/sites/${encodeURIComponent(code)}`;
        const urls = [`${site}?lang=${lang}`];
        if (li.dataset.progress === 'true') urls.push(`${site}/progress?lang=${lang}`);
        if (li.dataset.kind === 'remains_search_zone') urls.push(`${site}/search?lang=${lang}`);
        let all = true;
        for (const url of urls) {
          let r;
          try {
            r = await fetch(url, { redirect: 'error', credentials: 'same-origin' });
          } catch (_) { return; } // the network went: the next visit goes on from here
          if (r.ok) await keep(cache, url, r); else all = false;
        }
        if (all) known[code] = li.dataset.version;
      }
    }
    await Promise.all([worker(), worker(), worker()]);
    await Q.setMeta('kept-versions', known);
    const field = `/field?lang=${lang}`;
    try { const r = await fetch(field, { redirect: 'error' }); if (r.ok) await keep(cache, field, r); } catch (_) { /* next time */ }
    body.dataset.offlineReady = 'true';
  }

  // The offline map: every layer the user's style has, zooms 8–15 over their districts.
  const MAX_BYTES = 200 * 1024 * 1024;
  const MIN_ZOOM = 8;
  const MAX_ZOOM = 15;
  let tilePlan = null;
  let planning = 0;

  function tileRange(extent, z) {
    const n = 2 ** z;
    const x = (lon) => Math.min(n - 1, Math.max(0, Math.floor((lon + 180) / 360 * n)));
    const y = (lat) => {
      const r = lat * Math.PI / 180;
      return Math.min(n - 1, Math.max(0, Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n)));
    };
    return { x0: x(extent[0]), x1: x(extent[2]), y0: y(extent[3]), y1: y(extent[1]) };
  }

  async function planMap() {
    const section = $('section.field');
    const top = Number(section.dataset.maxZoom || MAX_ZOOM);
    const generation = ++planning;
    const estimate = $('#map-estimate');
    const button = $('#map-download');
    if (!section.dataset.extent) {
      estimate.textContent = t('Bạn chưa được giao huyện nào: không có bản đồ để tải.', 'No districts are assigned to you: no map to download.');
      button.disabled = true;
      return;
    }
    if (!button.dataset.bound) { button.dataset.bound = 'true'; button.addEventListener('click', downloadMap); }
    if (!navigator.onLine) { estimate.textContent = t('Cần có mạng để tải.', 'A network is needed to download.'); return; }
    const extent = section.dataset.extent.split(',').map(Number);
    try {
      const style = await (await fetch(`/style.json?lang=${lang}`)).json();
      const layers = [];
      for (const source of Object.values(style.sources)) {
        if (!source.url) continue;
        const tj = await (await fetch(source.url)).json();
        layers.push({ url: source.url, template: tj.tiles[0], minzoom: tj.minzoom || 0 });
      }
      let zoom = top;
      let urls;
      const build = (top) => {
        const out = [];
        for (const layer of layers) {
          for (let z = Math.max(MIN_ZOOM, layer.minzoom); z <= top; z++) {
            const r = tileRange(extent, z);
            for (let x = r.x0; x <= r.x1; x++) {
              for (let y = r.y0; y <= r.y1; y++) out.push(layer.template.replace('{z}', z).replace('{x}', x).replace('{y}', y));
            }
          }
        }
        return out;
      };
      urls = build(zoom);
      // The size, from a sample of the tiles themselves (kept: they are part of the map).
      const cache = await cacheOf(`kvpt-map-${user}`);
      const sample = [];
      for (let k = 0; k < Math.min(24, urls.length); k++) sample.push(urls[Math.floor((k * urls.length) / Math.min(24, urls.length))]);
      let bytes = 0;
      await Promise.all(sample.map(async (u) => {
        const r = await fetch(u);
        const b = await r.clone().arrayBuffer();
        bytes += b.byteLength;
        if (r.ok) await keep(cache, u, r);
      }));
      const per = sample.length ? bytes / sample.length : 0;
      while (zoom > MIN_ZOOM && per * urls.length > MAX_BYTES) urls = build(--zoom);
      const mb = (per * urls.length) / 1024 / 1024;
      if (generation !== planning) return;
      tilePlan = { urls, layers, zoom, top };
      estimate.textContent = t(
        `${urls.length.toLocaleString('vi-VN')} ô bản đồ, khoảng ${mb.toLocaleString('vi-VN', { maximumFractionDigits: 1 })} MB (mức 8–${zoom}).`,
        `${urls.length.toLocaleString('en')} tiles, about ${mb.toLocaleString('en', { maximumFractionDigits: 1 })} MB (zooms 8–${zoom}).`)
        + (zoom < top ? t(' Giới hạn 200 MB: bỏ bớt mức chi tiết nhất.', ' Limited to 200 MB: the most detailed zooms are left out.') : '');
      section.dataset.mapPlanned = String(urls.length);
    } catch (e) {
      estimate.textContent = t('Không tính được dung lượng bản đồ; thử lại khi có mạng.', 'The map size cannot be worked out; try again online.');
    }
  }

  async function downloadMap() {
    const wanted = Number($('section.field').dataset.maxZoom || MAX_ZOOM);
    if (!tilePlan || tilePlan.top !== wanted) await planMap();
    if (!tilePlan || tilePlan.top !== wanted) return;
    const button = $('#map-download');
    const bar = $('#map-progress');
    const state = $('#map-state');
    button.disabled = true;
    bar.hidden = false;
    const cache = await cacheOf(`kvpt-map-${user}`);
    // The map page, its style and layer descriptions, then every tile.
    for (const u of [`/map?lang=${lang}`, `/style.json?lang=${lang}`, ...tilePlan.layers.map((l) => l.url)]) {
      const r = await fetch(u, { redirect: 'error' });
      if (r.ok) await (u.startsWith('/map') ? cacheOf(`kvpt-pages-${user}`) : Promise.resolve(cache)).then((c) => keep(c, u, r));
    }
    const urls = tilePlan.urls;
    let done = 0; let failed = 0; let bytes = 0; let next = 0;
    bar.max = urls.length;
    async function worker() {
      while (next < urls.length) {
        const u = urls[next++];
        try {
          if (!(await cache.match(u))) {
            const r = await fetch(u);
            if (!r.ok && r.status !== 204) throw new Error(String(r.status));
            bytes += (await r.clone().arrayBuffer()).byteLength;
            await keep(cache, u, r);
          }
        } catch (_) { failed += 1; }
        done += 1;
        if (done % 20 === 0 || done === urls.length) {
          bar.value = done;
          state.textContent = `${done.toLocaleString('vi-VN')} / ${urls.length.toLocaleString('vi-VN')} · ${(bytes / 1048576).toFixed(1)} MB`;
        }
      }
    }
    await Promise.all([1, 2, 3, 4, 5, 6].map(worker));
    button.disabled = false;
    state.textContent = failed
      ? t(`Chưa tải được ${failed} ô; bấm Tải xuống để tải tiếp.`, `${failed} tiles missing; press Download to continue.`)
      : t(`Đã tải xong bản đồ ngoại tuyến (${urls.length.toLocaleString('vi-VN')} ô).`, `Offline map downloaded (${urls.length} tiles).`);
    $('section.field').dataset.mapDone = String(urls.length - failed);
  }

  if (list) {
    keepPages();
    planMap();
  }
  // What the sync benchmark drives (bench/field_sync.mjs): the page's own photo encoding.
  self.kvptField = { resized };
  ready.then(render).then(() => { if (navigator.onLine) sendNow(); });
})();

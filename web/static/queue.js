// kvpt's field queue: updates made on the phone, kept in IndexedDB until the server has
// them, sent in order, each exactly once (an Idempotency-Key per update and per photo).
// Shared by the pages (field.js) and the service worker (Background Sync): both load this
// classic script and use `self.kvptQueue`.
(function () {
  'use strict';
  const DB = 'kvpt-field';
  const VERSION = 1;

  function request(r) {
    return new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }

  let opened = null;
  function db() {
    if (!opened) {
      const r = indexedDB.open(DB, VERSION);
      r.onupgradeneeded = () => {
        const d = r.result;
        const queue = d.createObjectStore('queue', { keyPath: 'id' });
        queue.createIndex('user', 'user');
        d.createObjectStore('meta', { keyPath: 'key' });
      };
      opened = request(r).then((d) => {
        // Another tab or the sign-out wipes the database: let it, and open afresh next time.
        d.onversionchange = () => { d.close(); opened = null; };
        return d;
      });
    }
    return opened;
  }

  async function store(name, mode) {
    return (await db()).transaction(name, mode).objectStore(name);
  }

  /** The updates `user` has on this device, oldest first. */
  async function items(user) {
    const all = await request((await store('queue', 'readonly')).index('user').getAll(user));
    return all.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }
  async function get(id) { return request((await store('queue', 'readonly')).get(id)); }
  async function put(item) { await request((await store('queue', 'readwrite')).put(item)); }
  async function remove(id) { await request((await store('queue', 'readwrite')).delete(id)); }
  async function meta(key) {
    const row = await request((await store('meta', 'readonly')).get(key));
    return row ? row.value : undefined;
  }
  async function setMeta(key, value) {
    await request((await store('meta', 'readwrite')).put({ key, value }));
  }

  /** A new update of site `code` for the queue: `fields` as the API takes them. */
  function newItem(user, code, name, baseVersion, fields, photos, kind) {
    const body = JSON.stringify(Object.assign({ base_version: baseVersion }, fields));
    return {
      id: crypto.randomUUID(), user, code, name, created_at: new Date().toISOString(),
      // 'progress' (PATCH …/progress, sent in batches) or 'search' (PUT …/search).
      kind: kind || 'progress',
      // Sent byte for byte the same at each try: the key is judged with it.
      body, photos: photos || [], photos_sent: 0,
      // undefined until the server answered the update; then its history row (or null).
      history_id: undefined, state: 'pending', error: null, conflict: null,
    };
  }

  class Transient extends Error {}
  class SignIn extends Error {}

  /** The message of a refusal, in Vietnamese when the server gave one. */
  function refusal(body, status) {
    if (body && Array.isArray(body.violations) && body.violations.length) {
      return body.violations.map((v) => v.message_vi || v.message).join(' ');
    }
    if (body && body.message_vi) return body.message_vi;
    if (status === 403) return 'Bạn không còn được giao công trình này (huyện hoặc đơn vị).';
    if (status === 404) return 'Không tìm thấy công trình (hoặc vượt quyền xem của bạn).';
    return (body && body.error) || `Máy chủ trả lời ${status}.`;
  }

  async function answer(response) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    return body;
  }

  async function send(url, init) {
    let response;
    try {
      response = await fetch(url, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, init));
    } catch (e) {
      throw new Transient(String(e));
    }
    if (response.status === 401) throw new SignIn('sign in again');
    // A busy server, a key still being written, a gateway's error: try again later.
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new Transient(`HTTP ${response.status}`);
    }
    const body = await answer(response);
    if (response.status === 409 && body && !body.conflict && body.code === 'idempotency_key_in_flight') {
      throw new Transient('in flight');
    }
    return { status: response.status, body };
  }

  async function csrf() {
    const { status, body } = await send('/api/me', { method: 'GET' });
    if (status !== 200 || !body) throw new Transient(`me: ${status}`);
    return body;
  }

  /** Keeps the newest page and form of site `code` on the device for `user`. */
  async function refreshPages(user, code, lang, search) {
    if (!self.caches || self.kvptStopped) return;
    const cache = await caches.open(`kvpt-pages-${user}`);
    const site = `/sites/${encodeURIComponent(code)}`;
    const form = search ? `${site}/search?lang=${lang}` : `${site}/progress?lang=${lang}`;
    for (const url of [`${site}?lang=${lang}`, form]) {
      try {
        const r = await fetch(url, { redirect: 'error', credentials: 'same-origin' });
        if (r.ok && !self.kvptStopped) await cache.put(url, r);
      } catch (_) { return; }
    }
  }

  /** Records the server's answer to an item's update. */
  function answered(item, status, body) {
    if (status === 409 && body && !body.conflict && body.code === 'idempotency_key_in_flight') {
      throw new Transient('in flight');
    }
    if (status === 200) {
      item.history_id = body.history_id;
      // Kept for review: its photos document the submission.
      // (A zone's update carries no photos.)
      item.submission_id = body.site && body.site.submitted;
      item.applied = body.site;
    } else if (status === 409 && body && body.conflict) {
      item.history_id = null;
      item.conflict = body.conflict.id;
    } else {
      item.state = 'refused';
      item.error = refusal(body, status);
      item.status = status;
    }
  }

  /** The updates of `batch` (not answered yet) in one request, each with its own key. */
  async function sendUpdates(batch, token) {
    const updates = batch.map((i) => ({ code: i.code, key: i.id, body: i.body }));
    const { status, body } = await send('/api/sync/progress', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      body: JSON.stringify({ updates }),
    });
    if (status !== 200) {
      // The batch itself refused (it should not be): each item says why, none is lost.
      for (const item of batch) {
        answered(item, status, body);
        await put(item);
      }
      return;
    }
    for (const [k, item] of batch.entries()) {
      const a = body.answers[k];
      // Not tried (the server stopped at a failure): sent again on the next try.
      if (!a) throw new Transient((body.stopped && body.stopped.error) || 'batch stopped');
      answered(item, a.status, a.body);
      await put(item);
    }
  }

  /** A search zone's update, alone (`PUT /api/sites/{code}/search`). */
  async function sendSearch(item, token) {
    const { status, body } = await send(`/api/sites/${encodeURIComponent(item.code)}/search`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'idempotency-key': item.id, 'x-csrf-token': token },
      body: item.body,
    });
    // Applied, kept as a conflict to resolve on /field/conflicts, or refused with why.
    answered(item, status, body);
    await put(item);
  }

  /** An item's photos not yet sent, one request each (a cut resumes at the next photo). */
  async function sendPhotos(item, token) {
    while (item.state !== 'refused' && item.photos_sent < item.photos.length) {
      const i = item.photos_sent;
      const photo = item.photos[i];
      const form = new FormData();
      form.append('photo', photo.blob, photo.name || `anh-${i + 1}.jpg`);
      if (item.history_id) form.append('history_id', String(item.history_id));
      if (item.submission_id) form.append('submission_id', String(item.submission_id));
      const { status, body } = await send(`/api/sites/${encodeURIComponent(item.code)}/photos`, {
        method: 'POST',
        headers: { 'idempotency-key': `${item.id}-photo-${i}`, 'x-csrf-token': token },
        body: form,
      });
      if (status !== 201) {
        item.state = 'refused';
        item.error = `Ảnh ${i + 1}: ${refusal(body, status)}`;
        item.status = status;
        await put(item);
        return;
      }
      item.photos_sent = i + 1;
      await put(item);
    }
    if (item.state !== 'refused') {
      item.state = 'done';
      await remove(item.id);
    }
  }

  const BATCH = 50;

  /**
   * Sends `user`'s pending updates in order, up to BATCH updates a request, each one's
   * photos after it. `progress(done, total)` follows it. Returns { sent, refused,
   * conflicts, left, signIn, offline, done }; stops at the first cut.
   */
  async function syncUnlocked(user, progress) {
    const out = { sent: 0, refused: 0, conflicts: 0, left: 0, signIn: false, offline: false, done: [] };
    const pending = (await items(user)).filter((i) => i.state === 'pending');
    if (!pending.length) return out;
    let done = 0;
    const stop = (e) => {
      if (!(e instanceof SignIn || e instanceof Transient)) throw e;
      out.signIn = e instanceof SignIn;
      out.offline = e instanceof Transient;
      out.left = pending.length - done;
      return out;
    };
    let me;
    try {
      me = await csrf();
    } catch (e) {
      return stop(e);
    }
    if (me.username !== user) {
      out.signIn = true;
      out.left = pending.length;
      return out;
    }
    if (progress) progress(done, pending.length);
    for (let start = 0; start < pending.length; start += BATCH) {
      // As stored now (another tab or the worker may have moved them on).
      const chunk = [];
      for (const queued of pending.slice(start, start + BATCH)) {
        const item = await get(queued.id);
        if (item && item.state === 'pending') chunk.push(item);
        else done += 1;
      }
      try {
        const unsent = chunk.filter((i) => i.history_id === undefined && i.kind !== 'search');
        if (unsent.length) await sendUpdates(unsent, me.csrf_token);
        for (const item of chunk) {
          if (item.kind === 'search' && item.history_id === undefined) await sendSearch(item, me.csrf_token);
          await sendPhotos(item, me.csrf_token);
          done += 1;
          out.done.push(item);
          if (item.state === 'refused') out.refused += 1;
          else if (item.conflict) out.conflicts += 1;
          else out.sent += 1;
          if (progress) progress(done, pending.length);
        }
      } catch (e) {
        return stop(e);
      }
    }
    for (const item of out.done) {
      await refreshPages(user, item.code, self.kvptLang || 'vi', item.kind === 'search');
    }
    return out;
  }

  /** One sender at a time across tabs and the service worker. */
  function sync(user, progress) {
    if (self.navigator && navigator.locks) {
      return navigator.locks.request('kvpt-field-sync', () => syncUnlocked(user, progress));
    }
    return syncUnlocked(user, progress);
  }

  /** Deletes everything the field app keeps on this device: queue, pages, map tiles. */
  async function wipe() {
    if (opened) { (await opened).close(); opened = null; }
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(DB);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
    if (self.caches) {
      for (const name of await caches.keys()) {
        if (name.startsWith('kvpt-')) await caches.delete(name);
      }
    }
  }

  self.kvptQueue = { items, get, put, remove, meta, setMeta, newItem, sync, wipe };
})();

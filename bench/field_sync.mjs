// The field sync benchmark (issue 20), in Debian's headless Chromium: a phone signed in to
// /field holds N queued updates and P photos made offline (photos like a phone's, resized
// to 1600 px JPEG by the page); the network comes back; the time until every one is applied
// is measured, with the network cut once in the middle (at half the queue) for CUT_MS.
// NETWORK is "loopback" or "fast3g" (Chromium DevTools' Fast 3G: 562.5 ms latency,
// 1.44 Mbit/s down, 675 kbit/s up). Prints one JSON line.
//
// node field_sync.mjs BASE_URL USER PASSWORD SITES.json NETWORK [UPDATES] [PHOTOS] [CUT_MS]
import { chromium } from '../tests/browser/node_modules/playwright-core/index.mjs';

const [base, user, password, sitesFile, network, updatesArg, photosArg, cutArg] = process.argv.slice(2);
const UPDATES = Number(updatesArg || 200);
const PHOTOS = Number(photosArg || 20);
const CUT_MS = Number(cutArg || 2000);
const sites = JSON.parse(await (await import('node:fs/promises')).readFile(sitesFile, 'utf8'));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const out = { network, updates: UPDATES, photos: PHOTOS, cut_ms: CUT_MS };
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await page.goto(`${base}/login?next=%2Ffield`);
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(/\/field/), page.click('form.login button[type="submit"]')]);
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 30000 });
  // The network through DevTools for the measured part (Playwright's setOffline would
  // reset the throttling): the profile, or offline for the cut.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const profile = network === 'fast3g'
    ? { latency: 562.5, downloadThroughput: (1.44 * 1024 * 1024) / 8, uploadThroughput: (675 * 1024) / 8 }
    : { latency: 0, downloadThroughput: -1, uploadThroughput: -1 };
  const net = (offline) => cdp.send('Network.emulateNetworkConditions', { offline, ...profile });
  await net(true);
  // The queue, as the form would have filled it offline: photos drawn like a site photo
  // (shapes, gradients, grain) and encoded as the page encodes them.
  const queued = await page.evaluate(async ({ sites, updates, photos }) => {
    const Q = self.kvptQueue;
    const user = document.body.dataset.user;
    // A phone's picture (4000 × 3000, high quality), then what the page makes of it.
    async function photo(seed) {
      const w = 4000; const h = 3000;
      const canvas = new OffscreenCanvas(w, h);
      const g = canvas.getContext('2d');
      let s = seed * 9301 + 49297;
      const rnd = () => ((s = (s * 9301 + 49297) % 233280) / 233280);
      const sky = g.createLinearGradient(0, 0, 0, h);
      sky.addColorStop(0, '#9cc3e6'); sky.addColorStop(0.45, '#e8eef2'); sky.addColorStop(0.46, '#7a6a4f'); sky.addColorStop(1, '#4e5b2f');
      g.fillStyle = sky; g.fillRect(0, 0, w, h);
      for (let i = 0; i < 1500; i++) {
        g.fillStyle = `hsl(${Math.floor(rnd() * 120)},${20 + rnd() * 40}%,${20 + rnd() * 50}%)`;
        g.fillRect(rnd() * w, h * 0.4 + rnd() * h * 0.6, 10 + rnd() * 300, 10 + rnd() * 150);
      }
      const grain = g.getImageData(0, 0, w, h);
      for (let i = 0; i < grain.data.length; i += 4) {
        const n = (rnd() - 0.5) * 24;
        grain.data[i] += n; grain.data[i + 1] += n; grain.data[i + 2] += n;
      }
      g.putImageData(grain, 0, 0);
      const taken = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
      return self.kvptField.resized(new File([taken], `IMG_${seed}.jpg`, { type: 'image/jpeg' }));
    }
    let bytes = 0;
    for (let i = 0; i < updates; i++) {
      const site = sites[i % sites.length];
      const round = Math.floor(i / sites.length) + 1;
      const withPhoto = i < photos ? [await photo(i + 1)] : [];
      for (const p of withPhoto) bytes += p.blob.size;
      const item = Q.newItem(user, site.code, site.code, site.version,
        { percent: Math.min(100, site.percent + round), note: `Đo đạc ${i + 1}` }, withPhoto);
      item.created_at = new Date(Date.now() + i).toISOString();
      await Q.put(item);
    }
    return { items: (await Q.items(user)).length, photo_bytes: bytes };
  }, { sites, updates: UPDATES, photos: PHOTOS });
  out.queued = queued;
  const left = () => page.evaluate(async () => (await self.kvptQueue.items(document.body.dataset.user)).length);
  const start = Date.now();
  await net(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  let cut = false;
  for (;;) {
    const n = await left();
    if (n === 0) break;
    if (!cut && n <= UPDATES / 2) {
      cut = true;
      out.cut_at_left = n;
      await net(true);
      await page.waitForTimeout(CUT_MS);
      await net(false);
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
    }
    if (Date.now() - start > 600000) throw new Error(`not done after 10 minutes: ${n} left`);
    await page.waitForTimeout(100);
  }
  out.seconds = (Date.now() - start) / 1000;
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = String(e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);

// The upload page in Debian's headless Chromium: sign in, pick a file, watch the upload
// bar fill, follow the check's progress page to the report, write, and see it written.
// Prints one JSON line; exits 1 on failure.
//
// node imports.mjs BASE_URL FILE EXPECTED_NEW SCREENSHOT.png
import { chromium } from 'playwright-core';

const [base, file, expected, screenshot] = process.argv.slice(2);
if (!base || !file || !expected || !screenshot) {
  console.error('usage: node imports.mjs BASE_URL FILE EXPECTED_NEW SCREENSHOT.png');
  process.exit(2);
}

const report = { steps: [] };
const step = (name, detail = {}) => report.steps.push({ name, ...detail });
function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  const visited = [];
  const polled = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The Content-Security-Policy must not block anything kvpt itself needs.
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 500) errors.push(`${r.status()} ${r.url()}`); });
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) visited.push(new URL(f.url()).pathname); });
  page.on('response', async (r) => {
    if (r.url().includes('/api/imports/jobs/')) {
      try { polled.push(await r.json()); } catch (e) { /* a navigation cut it short */ }
    }
  });

  await page.goto(`${base}/login?lang=vi`, { waitUntil: 'load' });
  await page.fill('input[name="username"]', process.env.KVPT_USER);
  await page.fill('input[name="password"]', process.env.KVPT_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form.login button[type="submit"]')]);

  await page.goto(`${base}/imports?lang=vi`, { waitUntil: 'load' });
  check(await page.locator('#import-upload').isHidden(), 'the upload indicator waits for a file');
  await page.setInputFiles('#import-form input[type="file"]', file);
  await page.selectOption('#import-form select[name="kind"]', 'warehouse');
  // Watch the upload's own progress events (kept across the navigation that follows).
  await page.evaluate(() => {
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      this.upload.addEventListener('progress', (e) => {
        const bar = document.getElementById('import-upload-bar');
        sessionStorage.setItem('kvpt-upload', JSON.stringify({ loaded: e.loaded, total: e.total, bar: bar.value, max: bar.max, shown: !document.getElementById('import-upload').hidden }));
      });
      return send.call(this, body);
    };
  });
  await page.click('#import-form button[type="submit"]');
  await page.waitForURL(/\/imports\/(jobs\/[^/?]+|\d+)\?lang=vi/, { timeout: 120000 });
  const upload = JSON.parse(await page.evaluate(() => sessionStorage.getItem('kvpt-upload')) || 'null');
  const { statSync } = await import('node:fs');
  check(upload && upload.loaded === upload.total && upload.total >= statSync(file).size,
    `the upload bar followed the whole file: ${JSON.stringify(upload)}`);
  // The script took over the post: the indicator showed, and filled to the whole file.
  check(upload.shown, 'the upload indicator showed');
  check(upload.bar === upload.loaded && upload.max === upload.total, `the bar shows the bytes sent: ${JSON.stringify(upload)}`);
  step('uploaded', upload);
  // The check runs in the background; the job page polls until the report opens.
  await page.waitForURL(/\/imports\/\d+\?lang=vi/, { timeout: 120000 });
  await page.waitForSelector('#count-insert');
  const through = visited.filter((p) => p.startsWith('/imports/jobs/'));
  check(through.length > 0, `went through the progress page: ${visited.join(' → ')}`);
  check(polled.length > 0, 'the progress page asked for the progress');
  const last = polled[polled.length - 1];
  check(polled.every((s, i) => i === 0 || s.stage >= polled[i - 1].stage), `stages only move forward: ${polled.map((s) => s.stage)}`);
  step('progress page', { polls: polled.length, last });

  const inserted = await page.$eval('#count-insert', (d) => d.textContent.trim());
  const want = Number(expected).toLocaleString('de-DE');
  check(inserted === want, `the report counts ${want} new works (it says ${inserted})`);
  check(await page.$eval('#count-refused', (d) => d.textContent.trim()) === '0', 'nothing refused');
  check(await page.locator('#import-write').isVisible(), 'a clean check offers to write');
  await page.screenshot({ path: screenshot, fullPage: false });
  step('report', { inserted });

  const checked = new URL(page.url()).pathname;
  await page.click('#import-write');
  await page.waitForURL((u) => /^\/imports\/\d+$/.test(u.pathname) && u.pathname !== checked, { timeout: 120000 });
  await page.waitForSelector('#count-insert');
  await page.waitForFunction(() => /Đã ghi/.test(document.body.innerText), null, { timeout: 120000 });
  check(await page.locator('#import-write').count() === 0, 'nothing left to write');
  step('written', { url: new URL(page.url()).pathname });

  check(errors.length === 0, `no page errors or 5xx: ${errors.join('; ')}`);
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = err.message;
  const open = browser.contexts()[0]?.pages()[0];
  if (open) {
    report.at = open.url();
    report.text = (await open.evaluate(() => document.body.innerText).catch(() => '')).slice(0, 2000);
    await open.screenshot({ path: screenshot.replace(/\.png$/, '-failed.png') }).catch(() => {});
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);

// The viewer in Debian's headless Chromium: tiles render (clusters of works zoomed out,
// the works zoomed in), a layer toggles off, filters apply, a click opens the details,
// search flies to a site, the URL keeps the view, and nothing is fetched from anywhere but
// kvpt. Prints one JSON line; exits 1 on failure.
//
// node map.mjs BASE_URL SCREENSHOT.png
import { chromium } from 'playwright-core';

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: node map.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}

const report = { steps: [] };
const step = (name, detail = {}) => report.steps.push({ name, ...detail });
function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const foreign = [];
  const errors = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // The Content-Security-Policy must not block anything kvpt itself needs.
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 500) errors.push(`${r.status()} ${r.url()}`); });

  const idle = () => page.waitForFunction(
    () => window.kvptMap && window.kvptMap.loaded() && window.kvptMap.areTilesLoaded() && !window.kvptMap.isMoving(),
    null, { timeout: 60000 });
  // Rendered site features per group, through MapLibre itself.
  const counts = () => page.evaluate(() => {
    const out = {};
    for (const layer of window.kvptMap.getStyle().layers) {
      const group = layer.metadata && layer.metadata['kvpt:group'];
      if (!group || layer.type === 'symbol') continue;
      out[group] = (out[group] || 0) + window.kvptMap.queryRenderedFeatures({ layers: [layer.id] }).length;
    }
    return out;
  });

  // Anonymous visitors see public works only.
  const landing = await page.goto(`${base}/map#map=9.5/11.33/106.12`, { waitUntil: 'load' });
  const csp = landing.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && !/script-src[^;]*unsafe-inline/.test(csp), `a strict script policy: ${csp}`);
  await page.waitForFunction(() => document.body.dataset.mapReady === 'true', null, { timeout: 60000 });
  await idle();
  const anonymous = await counts();
  step('anonymous', { counts: anonymous });
  check(anonymous.border_markers > 0, `public border markers shown: ${JSON.stringify(anonymous)}`);
  check(!anonymous.defence_works && !anonymous.border_militia, `nothing above public: ${JSON.stringify(anonymous)}`);

  // Sign in through the form, as a planner does, and come back to the map.
  await page.click('header a.signin');
  await page.fill('input[name="username"]', process.env.KVPT_USER);
  await page.fill('input[name="password"]', process.env.KVPT_PASSWORD);
  await Promise.all([page.waitForURL(/\/map/), page.click('form.login button[type="submit"]')]);
  check(await page.locator('header .user').isVisible(), 'the header names the signed-in user');
  await page.goto(`${base}/map#map=9.5/11.33/106.12`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.mapReady === 'true', null, { timeout: 60000 });
  await idle();
  const before = await counts();
  const total = (c) => Object.values(c).reduce((a, b) => a + b, 0);
  check(total(before) > total(anonymous), `a signed-in planner sees more: ${JSON.stringify(before)}`);
  step('loaded', { counts: before });
  check(before.search_zones > 0, `search zones rendered: ${JSON.stringify(before)}`);
  check(before.border_markers > 0, `border markers rendered: ${JSON.stringify(before)}`);
  const districtLabels = await page.evaluate(() => window.kvptMap.queryRenderedFeatures({ layers: ['districts-label'] }).length);
  check(districtLabels > 0, 'district labels drawn (no glyph server needed)');

  // Toggling a layer removes exactly its features.
  await page.uncheck('#layers input[data-group="search_zones"]');
  await idle();
  const toggled = await counts();
  step('toggled search_zones off', { counts: toggled });
  check(!toggled.search_zones, `no search zones after toggling: ${JSON.stringify(toggled)}`);
  check(toggled.border_markers === before.border_markers, 'other layers untouched');
  check((await page.evaluate(() => location.hash)).includes('off=search_zones'), 'the URL keeps the layer state');

  // A status filter: the clusters count only that status (kvpt filters them), and zoomed
  // in only works of that status are drawn.
  await page.selectOption('#filter-status', 'completed');
  await page.waitForTimeout(300);
  await idle();
  const filtered = await page.evaluate(() => {
    const layers = window.kvptMap.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:cluster'] && l.type !== 'symbol').map((l) => l.id);
    return window.kvptMap.queryRenderedFeatures({ layers }).map((f) => [f.properties.count, f.properties.n_completed || 0]);
  });
  step('clusters filtered status=completed', { clusters: filtered.length });
  check(filtered.length > 0 && filtered.every(([count, done]) => count === done), `clusters count completed works only: ${JSON.stringify(filtered)}`);
  await page.evaluate(() => window.kvptMap.jumpTo({ zoom: 11.5 }));
  await page.waitForTimeout(300);
  await idle();
  const statuses = await page.evaluate(() => {
    const layers = window.kvptMap.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    return [...new Set(window.kvptMap.queryRenderedFeatures({ layers }).map((f) => f.properties.status))];
  });
  step('filtered status=completed', { statuses });
  check(statuses.length === 1 && statuses[0] === 'completed', `only completed works: ${statuses}`);
  check((await page.evaluate(() => location.hash)).includes('status=completed'), 'the URL keeps the filter');
  // A programme (the 2017–2020 scheme) and no status: only that scheme's works drawn.
  await page.selectOption('#filter-status', '');
  await page.selectOption('#filter-programme', 'kvpt_2017_2020');
  await page.waitForTimeout(300);
  await idle();
  const programmes = await page.evaluate(() => {
    const layers = window.kvptMap.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    return window.kvptMap.queryRenderedFeatures({ layers }).map((f) => f.properties.programme);
  });
  step('filtered programme=kvpt_2017_2020', { works: programmes.length });
  check(programmes.length > 0 && programmes.every((p) => p === 'kvpt_2017_2020'), `only the 2017–2020 scheme: ${[...new Set(programmes)]}`);
  check((await page.evaluate(() => location.hash)).includes('programme=kvpt_2017_2020'), 'the URL keeps the programme');
  await page.selectOption('#filter-programme', '');
  await page.selectOption('#filter-status', 'completed');
  await page.waitForTimeout(300);
  await idle();
  await page.evaluate(() => window.kvptMap.jumpTo({ zoom: 9.5 }));

  // A shared link restores layers and filters.
  const shared = page.url();
  const second = await context.newPage();
  await second.goto(shared, { waitUntil: 'load' });
  await second.waitForFunction(() => document.body.dataset.mapReady === 'true', null, { timeout: 60000 });
  check(await second.$eval('#filter-status', (s) => s.value) === 'completed', 'shared link keeps the status filter');
  check(!(await second.isChecked('#layers input[data-group="search_zones"]')), 'shared link keeps the layer off');
  await second.close();
  step('shared link restores the state', { url: shared.replace(base, '') });

  await page.click('#filter-reset');
  await page.check('#layers input[data-group="search_zones"]');
  await idle();

  // Status colours as of a past date: the tiles are rebuilt from the history (here the
  // clusters' counts by status).
  const statusCounts = () => page.evaluate(() => {
    const layers = window.kvptMap.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    const out = {};
    for (const f of window.kvptMap.queryRenderedFeatures({ layers })) {
      for (const [key, n] of Object.entries(f.properties)) {
        if (key.startsWith('n_')) out[key.slice(2)] = (out[key.slice(2)] || 0) + n;
      }
    }
    return out;
  });
  const today = await statusCounts();
  await page.fill('#filter-as_of', '2021-06-30');
  await page.dispatchEvent('#filter-as_of', 'change');
  await page.waitForFunction(() => document.body.dataset.asOf === '2021-06-30');
  await page.waitForTimeout(300);
  await idle();
  const past = await statusCounts();
  step('as of 2021-06-30', { today, past });
  check((past.planned || 0) > (today.planned || 0), `more works were still planned in mid-2021: ${JSON.stringify(past)} vs ${JSON.stringify(today)}`);
  check((await page.evaluate(() => location.hash)).includes('as_of=2021-06-30'), 'the URL keeps the date');
  await page.click('#filter-reset');
  await idle();

  // Zoomed out, the works are clusters; a cluster's popup counts them by status, and its
  // button zooms in to the works themselves.
  const zoomedOut = await page.evaluate(() => {
    const map = window.kvptMap;
    const { width, height } = map.getCanvas().getBoundingClientRect();
    const layers = map.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    const features = map.queryRenderedFeatures({ layers });
    const cluster = map.queryRenderedFeatures({ layers: ['defence_works-clusters'] })
      .map((f) => ({ count: f.properties.count, p: map.project(f.geometry.coordinates) }))
      .filter((h) => h.p.x > 60 && h.p.y > 60 && h.p.x < width - 60 && h.p.y < height - 60)
      .filter((h) => (map.queryRenderedFeatures(h.p, { layers })[0] || {}).layer?.id === 'defence_works-clusters')[0];
    return { all: features.length, clusters: features.filter((f) => f.properties.count !== undefined).length, cluster };
  });
  step('clusters at zoom 9.5', zoomedOut);
  check(zoomedOut.all > 0 && zoomedOut.all === zoomedOut.clusters, `only clusters zoomed out: ${JSON.stringify(zoomedOut)}`);
  check(zoomedOut.cluster, 'a defence works cluster on screen to click');
  const mapBox0 = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(mapBox0.x + zoomedOut.cluster.p.x, mapBox0.y + zoomedOut.cluster.p.y);
  await page.waitForSelector('.maplibregl-popup .cluster-counts', { timeout: 20000 });
  const clusterPopup = await page.$eval('.maplibregl-popup', (p) => p.innerText);
  check(clusterPopup.includes('công trình') && /Công trình phòng thủ/.test(clusterPopup), `the cluster popup counts works: ${clusterPopup}`);
  await page.click('.maplibregl-popup .zoom-in');
  await page.waitForTimeout(500);
  await idle();
  const zoomedIn = await page.evaluate(() => {
    const map = window.kvptMap;
    const layers = map.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    const features = map.queryRenderedFeatures({ layers });
    return { zoom: map.getZoom(), works: features.filter((f) => f.properties.code).length, clusters: features.filter((f) => f.properties.count !== undefined).length };
  });
  step('zoomed in from a cluster', zoomedIn);
  check(zoomedIn.zoom >= 11.5 && zoomedIn.works > 0 && zoomedIn.clusters === 0, `the works, not clusters, zoomed in: ${JSON.stringify(zoomedIn)}`);

  // Clicking a border marker opens its popup and details (zoomed in on one).
  const marker = await page.evaluate(async () => {
    const r = await fetch('/collections/border_markers/items?limit=1', { headers: { Accept: 'application/geo+json' } });
    return (await r.json()).features[0].geometry.coordinates;
  });
  await page.evaluate(([lon, lat]) => window.kvptMap.jumpTo({ center: [lon, lat], zoom: 14 }), marker);
  await page.waitForTimeout(300);
  await idle();
  const target = await page.evaluate(() => {
    const map = window.kvptMap;
    const { width, height } = map.getCanvas().getBoundingClientRect();
    const siteLayers = map.getStyle().layers.filter((l) => l.metadata && l.metadata['kvpt:group'] && l.type !== 'symbol').map((l) => l.id);
    // A marker well inside the map, drawn on top of whatever else is at its point.
    const hits = map.queryRenderedFeatures({ layers: ['border_markers-point'] })
      .map((f) => ({ code: f.properties.code, p: map.project(f.geometry.coordinates) }))
      .filter((h) => h.p.x > 40 && h.p.y > 40 && h.p.x < width - 40 && h.p.y < height - 40)
      .filter((h) => {
        const near = map.queryRenderedFeatures([[h.p.x - 6, h.p.y - 6], [h.p.x + 6, h.p.y + 6]], { layers: siteLayers });
        return near.length > 0 && near.every((f) => f.properties.code === h.code || f.geometry.type !== 'Point');
      })
      .filter((h) => (map.queryRenderedFeatures(h.p, { layers: siteLayers })[0] || {}).properties?.code === h.code);
    return hits[0] || null;
  });
  check(target, 'a border marker on screen to click');
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + target.p.x, box.y + target.p.y);
  await page.waitForSelector('.maplibregl-popup', { timeout: 20000 });
  await page.waitForFunction((code) => {
    const d = document.getElementById('details');
    return !d.hidden && d.querySelector('.code') && d.querySelector('.code').textContent === code;
  }, target.code, { timeout: 20000 });
  const panel = await page.$eval('#details', (d) => d.innerText);
  check(/Mốc biên giới/.test(panel), 'details name the kind in Vietnamese');
  check(await page.$('#details .bar span') !== null, 'percent shown as a bar');
  check(await page.$eval('#details a.site-link', (a) => a.getAttribute('href')) === `/sites/${target.code}?lang=vi`, 'link to the site page');
  step('clicked a site', { code: target.code });

  // Search without diacritics flies to the site and opens it.
  await page.fill('#search-input', 'lien ke chot');
  await page.waitForSelector('#results button', { timeout: 20000 });
  const first = await page.$eval('#results button strong', (s) => s.textContent);
  await page.click('#results button');
  await page.waitForFunction((code) => document.querySelector('#details .code')?.textContent === code, first, { timeout: 20000 });
  await idle();
  const zoom = await page.evaluate(() => window.kvptMap.getZoom());
  check(zoom > 12, `flew in to the site (zoom ${zoom})`);
  step('searched', { code: first, zoom });

  await page.screenshot({ path: screenshot });

  // "Export what I see": the form carries the view, downloads with a progress indicator.
  const exportHref = await page.$eval('#export-link', (a) => a.getAttribute('href'));
  check(/bbox=/.test(exportHref), `the export link carries the view: ${exportHref}`);
  await page.goto(`${base}/exports?lang=vi&layer=border_markers,border_militia`, { waitUntil: 'load' });
  for (const format of ['geojson', 'gpkg']) {
    await page.selectOption('select[name="profile"]', 'bien-phong');
    await page.selectOption('select[name="format"]', format);
    await page.evaluate(() => { delete document.getElementById('export-progress').dataset.done; });
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60000 }),
      page.click('#export-form button[type="submit"]'),
    ]);
    await page.waitForFunction(() => document.getElementById('export-progress').dataset.done === 'true', null, { timeout: 60000 });
    const text = await page.$eval('#export-text', (t) => t.textContent);
    check(/^Xong/.test(text), `the indicator says done: ${text}`);
    const file = await download.path();
    const { statSync } = await import('node:fs');
    check(statSync(file).size > 100, `the ${format} download has content`);
    check(download.suggestedFilename().startsWith('kvpt-bien-phong-'), `file name ${download.suggestedFilename()}`);
    step('exported', { format, text });
  }
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-export.png') });

  // A phone-sized screen: the panel is a drawer, the map still fills the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  await small.goto(`${base}/map?lang=en`, { waitUntil: 'load' });
  await small.waitForFunction(() => document.body.dataset.mapReady === 'true', null, { timeout: 60000 });
  const mapBox = await small.locator('#map').boundingBox();
  check(mapBox.width >= 380, `the map is full width on a phone (${mapBox.width})`);
  const header = await small.locator('header.top').boundingBox();
  check(header.height <= 70, `the header folds on a phone (${header.height} px high)`);
  check(!(await small.locator('#lang-switch').isVisible()), 'the language switch folded into the menu');
  await small.click('label.menu-button');
  check(await small.locator('#lang-switch').isVisible(), 'the menu opens');
  await small.click('label.menu-button');
  check(!(await small.locator('#panel').isVisible()) || (await small.locator('#panel').boundingBox()).x < 0, 'panel hidden until asked');
  await small.click('#panel-toggle');
  const opened = await small.waitForFunction(() => document.getElementById('panel').getBoundingClientRect().x >= 0,
    null, { timeout: 10000 }).then(() => true, () => false);
  check(opened, `panel opens (at x ${(await small.locator('#panel').boundingBox()).x})`);
  check(await small.$eval('#layers', (l) => l.innerText.includes('Border markers')), 'English labels');
  await small.screenshot({ path: screenshot.replace(/\.png$/, '-phone.png') });
  await phone.close();
  step('phone layout');

  check(errors.length === 0, `no page errors or 5xx: ${errors.join('; ')}`);
  check(foreign.length === 0, `nothing fetched from elsewhere: ${foreign.join(', ')}`);
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = err.message;
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);

// Drives the web console's DJ panel and live layer strips in headless Chromium (Debian's) with
// npm's puppeteer-core, against a real `soundstar serve`; checks what the server says over REST.
// Usage: node console_dj_test.mjs BASE_URL OUT_DIR PUPPETEER_DIR CHROMIUM
// Prints one JSON line of what it saw (test_console.cpp asserts on it); exits 1 on a failed step.
import { createRequire } from 'node:module';
import { sleep, stepper } from './steps.mjs';
import { writeFileSync } from 'node:fs';

const [base, outDir, puppeteerDir, chromium] = process.argv.slice(2);
const puppeteer = createRequire(`${puppeteerDir}/`)('puppeteer-core');
const report = { steps: [], consoleErrors: [], expectedErrors: [] };
const until = stepper(report);

async function rest(op, args = {}) {
  const r = await fetch(`${base}/v1/${op}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(args) });
  return (await r.json()).result;
}
const djEvents = async () => (await rest('dj_status')).dj?.events || [];

const browser = await puppeteer.launch({
  executablePath: chromium, headless: true,
  // --disable-dev-shm-usage: a container's /dev/shm is often 64 MB, too small for twenty-one
  // renderers' shared memory; Chromium then keeps it in /tmp instead.
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--mute-audio', '--disable-dev-shm-usage'],
});
let failed = null;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(90000);  // navigation and waits: 20 pages loading at once on a loaded 2-core machine took over puppeteer's 30 s
  let refusing = false;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    (refusing && m.text().includes('status of 400') ? report.expectedErrors : report.consoleErrors).push(m.text().slice(0, 300));
  });
  page.on('pageerror', (e) => report.consoleErrors.push(String(e.message).slice(0, 300)));
  await page.setViewport({ width: 1280, height: 720 });
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await until('console ready', () => page.$('body[data-ready="true"]'));
  await until('subscribed', () => page.$eval('#connection', (e) => e.textContent === 'connected'));
  report.buttonsHiddenBefore = await page.$eval('#dj-controls', (e) => e.hidden);

  // Start DJ: the server plays a set; the page shows its buttons.
  await page.$eval('#dj-profile', (e) => { e.value = ''; });
  await page.type('#dj-profile', 'techno_minimal');
  await page.click('#dj-start');
  report.started = await until('server DJ set', async () => (await rest('dj_status')).dj);
  await until('DJ buttons shown', () => page.$eval('#dj-controls', (e) => !e.hidden));
  report.djState = await until('DJ state shown', () => page.$eval('#dj-state', (e) => e.textContent.includes('techno_minimal') && e.textContent));

  // Drop: the server's set goes to its drop phase on a bar line; the page's events log shows it.
  await page.click('#dj-buttons button[data-dj="drop"]');
  report.dropEvent = await until('server drop phase', async () => (await djEvents()).find((e) => e.type === 'dj_phase' && e.label.startsWith('drop')), 6000);
  report.dropPhase = (await rest('dj_status')).dj.phase;
  report.dropLogged = await until('events log shows the drop', () => page.$$eval('#events li[data-kind="dj_phase"]', (l) => l.map((li) => li.textContent).find((t) => t.startsWith('dj_phasedrop'))), 6000);
  report.commandLogged = await until('events log shows the command', () => page.$eval('#events', (l) => l.querySelector('[data-kind="dj_command"]')?.textContent));
  // Break, effect throw, next move: each a dj_command the server takes.
  await page.click('#dj-buttons button[data-dj="break"]');
  report.breakEvent = await until('server breakdown phase', async () => (await djEvents()).find((e) => e.type === 'dj_phase' && e.label.startsWith('breakdown')), 6000);
  await page.click('#dj-buttons button[data-dj="x"]');
  report.effectEvent = await until('server effect throw', async () => (await djEvents()).find((e) => e.type === 'dj_effect'), 6000);
  await page.click('#dj-buttons button[data-dj="next"]');
  report.nextLogged = await until('next move sent', () => page.$$eval('#events li[data-kind="dj"]', (l) => l.map((li) => li.textContent).find((t) => t.includes('next → next'))));
  // Say: the text reaches the server, which speaks it on a bar line (a `dj_voice` event with the
  // text; where espeak-ng is missing, a warning naming it); the page's events log shows it.
  await page.type('#dj-say', 'hands up');
  await page.click('#dj-say-form button');
  report.sayEvent = await until('server heard the say', async () => (await djEvents()).find((e) => (e.type === 'dj_voice' || e.type === 'dj_warning') && e.label.includes('hands up')), 10000);
  report.sayLogged = (await until('page shows the say', () => page.$eval('#events', (l) => l.textContent.includes('hands up')))) && report.sayEvent.type;
  // A command the server refuses shows its reason.
  refusing = true;
  await page.type('#dj-line', 'z 5');
  await page.click('#dj-line-form button');
  report.refusal = await until('refusal shown', () => page.$eval('#warnings', (l) => l.textContent.includes('allowed commands') && l.textContent));
  await sleep(100);
  refusing = false;

  // A live layer's strip: gain and pan sliders drive live_mix.
  const setRange = (sel, v) => page.$eval(sel, (e, v) => { e.value = v; e.dispatchEvent(new Event('change')); }, v);
  await until('drums strip', () => page.$('.strip[data-kind="layer"][data-name="drums"] input[name="gain"]'));
  await setRange('.strip[data-kind="layer"][data-name="drums"] input[name="gain"]', '-12');
  await setRange('.strip[data-kind="layer"][data-name="drums"] input[name="pan"]', '-1');
  report.layerMix = await until('server trims the drums', async () => {
    const m = (await rest('live_status')).live.layer_mix.drums;
    return m.gain_db === -12 && m.pan === -1 ? m : null;
  });
  report.desktopOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: `${outDir}/console-dj-1280x720.png`, fullPage: true });
  await page.setViewport({ width: 390, height: 844 });
  await sleep(300);
  report.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: `${outDir}/console-dj-390x844.png` });
  await page.setViewport({ width: 1280, height: 720 });

  // Stop DJ: the set fades out; the buttons go.
  await page.click('#dj-stop');
  await until('server DJ gone', async () => !(await rest('dj_status')).dj, 5000);
  report.buttonsHiddenAfter = await until('DJ buttons hidden', () => page.$eval('#dj-controls', (e) => e.hidden), 5000);
} catch (e) {
  failed = e.message;
} finally {
  await browser.close();
}
report.failed = failed;
writeFileSync(`${outDir}/report-dj.json`, JSON.stringify(report, null, 1));
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);

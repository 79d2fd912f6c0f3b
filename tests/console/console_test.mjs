// Drives the web console in headless Chromium (Debian's) with npm's puppeteer-core, against a real
// `soundstar serve` on loopback, and checks what the server says independently over REST.
// Usage: node console_test.mjs BASE_URL OUT_DIR PUPPETEER_DIR CHROMIUM KEYED_BASE_URL API_KEY
// (KEYED_BASE_URL: another server started with --api-key API_KEY)
// Prints one JSON line of what it saw (test_console.cpp asserts on it); exits 1 on a failed step.
import { createRequire } from 'node:module';
import { sleep, stepper } from './steps.mjs';
import { writeFileSync } from 'node:fs';

const [base, outDir, puppeteerDir, chromium, keyedBase, apiKey] = process.argv.slice(2);
const puppeteer = createRequire(`${puppeteerDir}/`)('puppeteer-core');
const report = { steps: [], consoleErrors: [] };
const until = stepper(report);

async function rest(op, args = {}) {
  const r = await fetch(`${base}/v1/${op}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(args) });
  return (await r.json()).result;
}

/**
 * In the page: every visible element with its own text whose contrast with the background
 * behind it is under WCAG's 4.5:1 (returns "text: ratio" strings).
 */
function contrastFailures() {
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0.9) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = e.getBoundingClientRect();
    if (!own || box.width === 0 || getComputedStyle(e).visibility === 'hidden') continue;
    const style = getComputedStyle(e);
    const opacity = e.closest('button:disabled') ? 0.5 : 1;
    if (opacity < 1) continue;  // disabled controls may be dim
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(`${e.tagName.toLowerCase()} "${e.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
  }
  return out;
}

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
  // A request the test makes fail on purpose is logged by the browser as a failed load: those go apart.
  let refusing = false;
  report.expectedErrors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    (refusing && m.text().includes('status of 400') ? report.expectedErrors : report.consoleErrors).push(m.text().slice(0, 300));
  });
  page.on('pageerror', (e) => report.consoleErrors.push(String(e.message).slice(0, 300)));
  await page.setViewport({ width: 1280, height: 720 });
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await until('console ready', () => page.$('body[data-ready="true"]'));
  await until('subscribed', () => page.$eval('#connection', (e) => e.textContent === 'connected'));
  report.controls = await page.$$eval('#controls .control', (l) => l.length);

  // Play: type a vibe, press the button; the server's live session starts.
  await page.type('#vibe', 'rainy night in the city');
  await page.click('#play');
  report.live = await until('server live session', async () => (await rest('live_status')).live);
  const beatOf = () => page.$eval('#transport', (t) => t.dataset.live === 'true' ? Number(t.dataset.bar) * 4 + Number(t.dataset.beat) : null);
  const first = await until('transport shows the live music', beatOf);
  const later = await until('transport advances', async () => { const b = await beatOf(); return b !== null && b >= first + 1 ? b : null; });
  report.transportBeats = [first, later];
  report.positionText = await page.$eval('#position', (e) => e.textContent);
  report.firstEvent = await until('events log shows the vibe', () => page.$eval('#events', (l) => l.querySelector('[data-kind="live_vibe"]')?.textContent));

  // Steer: +bright (a quick step), then the space scale's "vast" button; the server's config follows.
  report.brightnessBefore = (await rest('live_status')).live.config.brightness;
  const eventsBefore = await page.$$eval('#events li', (l) => l.length);
  await page.click('button[data-line="+bright"]');
  report.brightnessAfter = await until('server brightness changed', async () => {
    const b = (await rest('live_status')).live.config.brightness;
    return b !== report.brightnessBefore ? b : null;
  });
  report.steerEvent = await until('events log shows the steer', () => page.$eval('#events', (l) => l.querySelector('[data-kind="steer"]')?.textContent));
  await page.click('#control-space button[data-value="vast"]');
  report.spaceAfter = await until('server space is vast', async () => (await rest('live_status')).live.config.space === 'vast' && 'vast');
  report.spacePressed = await until('space control shows vast', () => page.$eval('#control-space button[data-value="vast"]', (b) => b.getAttribute('aria-pressed') === 'true'));
  report.serverEvents = await until('a server event for the change', async () => {
    const kinds = await page.$$eval('#events li', (l) => l.map((li) => li.dataset.kind));
    return kinds.length > eventsBefore + 2 && kinds.filter((k) => k.startsWith('live_')).length >= 2 ? kinds.slice(0, 8) : null;
  }, 10000);

  // A steering line the server refuses shows its reason among the warnings.
  refusing = true;
  await page.type('#steer-line', 'frobnicate +1');
  await page.click('#line-form button');
  report.refusal = await until('warning names the refused step', () => page.$eval('#warnings', (l) => l.textContent.includes('frobnicate') && l.textContent));
  await sleep(100);
  refusing = false;

  // Morph: the next vibe with a 1-bar transition; the server starts a transition to it.
  const changes = (await rest('live_status')).live.changes;
  await page.type('#next-vibe', 'sunrise over the sea');
  await page.$eval('#transition-amount', (e) => { e.value = '1'; });
  await page.click('#morph');
  report.morph = await until('server transition to the next vibe', async () => {
    const l = (await rest('live_status')).live;
    return l.changes > changes && l.vibe.includes('sunrise over the sea') ? l.vibe : null;
  });
  report.transitionEvent = await until('events log shows the transition', () => page.$eval('#events', (l) => l.querySelector('[data-kind="live_transition"]')?.textContent));
  report.nowPlaying = await until('page names the next vibe', () => page.$eval('#now-playing', (e) => e.textContent.includes('sunrise over the sea') && e.textContent));

  // Listen: audio frames into the AudioWorklet; the analyser reads non-silence.
  await page.click('#listen');
  report.audio = await until('audio plays in the page', () => page.$eval('#audio-status', (e) =>
    Number(e.dataset.received) >= 8192 && Number(e.dataset.level) > 1e-4 ? { ...e.dataset, text: e.textContent } : null), 10000);
  // The arrangement: the sections the server reports (kind, energy, layers) listed and drawn; the playhead moves.
  report.sections = await until('timeline lists sections with energy', () => page.$$eval('#sections li', (l) =>
    l.length && l.every((li) => li.dataset.energy !== '') ? l.map((li) => ({ kind: li.dataset.kind, energy: Number(li.dataset.energy), text: li.textContent })) : null));
  report.serverSections = (await rest('live_status')).live.sections;
  const playhead = () => page.$eval('#timeline', (c) => Number(c.dataset.playhead));
  const head0 = await until('playhead placed', playhead);
  report.playheads = [head0, await until('playhead moves', async () => { const h = await playhead(); return h > head0 ? h : null; })];
  report.currentSection = await until('current section marked', () => page.$eval('#sections', (l) => l.querySelector('[aria-current]')?.dataset.kind));
  // The mixer: per-layer meters move; the live track's strip sets gain, pan, solo and mute through set_mix.
  report.layerMeters = await until('live layer meters show sound', () => page.$$eval('.strip[data-kind="layer"]', (l) => {
    const m = Object.fromEntries(l.map((r) => [r.dataset.name, Number(r.dataset.maxDb ?? -200)]));
    return Object.values(m).filter((v) => v > -60).length >= 2 ? m : null;
  }), 10000);
  report.liveTrackMeter = await until('live track meter', () => page.$eval('.strip[data-kind="track"][data-name="live"]', (r) => Number(r.dataset.maxDb) > -60 && Number(r.dataset.maxDb)));
  const setRange = (sel, v) => page.$eval(sel, (e, v) => { e.value = v; e.dispatchEvent(new Event('change')); }, v);
  const liveTrack = async () => (await rest('list_tracks')).tracks.find((t) => t.name === 'live');
  await setRange('.strip[data-name="live"] input[name="gain"]', '-6');
  await setRange('.strip[data-name="live"] input[name="pan"]', '0.5');
  await page.click('.strip[data-name="live"] button[data-field="solo"]');
  report.mixAfter = await until('server mixer follows the strip', async () => { const t = await liveTrack(); return t.gain_db === -6 && t.pan === 0.5 && t.solo ? t : null; });
  await page.click('.strip[data-name="live"] button[data-field="mute"]');
  report.muted = await until('server mutes the live track', async () => (await liveTrack()).mute);
  report.mutedMeter = await until('a muted track\'s meter reads silence', () => page.$eval('.strip[data-name="live"]', (r) => Number(r.dataset.db) < -150 && r.dataset.db));
  await page.click('.strip[data-name="live"] button[data-field="mute"]');
  await page.click('.strip[data-name="live"] button[data-field="solo"]');
  await until('server unmutes', async () => { const t = await liveTrack(); return !t.mute && !t.solo; });
  // A live layer's strip solos it through live_mix: the other layers' meters fall silent, the bass still sounds.
  const layerStrip = '.strip[data-kind="layer"][data-name="bass"] button[data-field="solo"]';
  await page.click(layerStrip);
  report.layerSolo = await until('server solos the bass layer', async () => (await rest('live_status')).live.layer_mix.bass.solo);
  await page.$$eval('.strip[data-kind="layer"]', (l) => l.forEach((r) => { delete r.dataset.maxDb; }));
  report.soloMeters = await until('only the soloed layer sounds', () => page.$$eval('.strip[data-kind="layer"]', (l) => {
    const m = Object.fromEntries(l.map((r) => [r.dataset.name, r.dataset.name === 'bass' ? Number(r.dataset.maxDb ?? -200) : Number(r.dataset.db)]));
    return m.bass > -60 && Object.entries(m).every(([k, v]) => k === 'bass' || v < -150) ? m : null;
  }), 10000);
  await page.click(layerStrip);
  await until('server unsolos the bass layer', async () => !(await rest('live_status')).live.layer_mix.bass.solo);
  // The spectrum of what the page hears.
  report.spectrum = await until('spectrum drawn', () => page.$eval('#spectrum', (c) => Number(c.dataset.peakDb) > -90 && { ...c.dataset }));

  // 20 more pages at once (each subscribed to transport, meters and events): once they are up, the
  // audio is not disturbed while they all run (their loading is the browser's own CPU burst).
  const quiet = async () => {
    const s = await rest('status');
    const heard = await page.$eval('#audio-status', (e) => ({ received: Number(e.dataset.received), underruns: Number(e.dataset.underruns) }));
    return { xruns: s.xruns, late: s.live.late_commands, lateStudio: s.late_commands, tapDropped: s.tap_dropped_frames, sample: s.sample, ...heard };
  };
  const crowd = await Promise.all(Array.from({ length: 20 }, async () => {
    const p = await browser.newPage();
    p.setDefaultTimeout(90000);  // navigation and waits: 20 pages loading at once on a loaded 2-core machine took over puppeteer's 30 s
    p.on('pageerror', (e) => report.consoleErrors.push(`crowd: ${String(e.message).slice(0, 300)}`));
    p.on('error', (e) => report.consoleErrors.push(`crowd page crashed: ${String(e.message).slice(0, 300)}`));
    await p.goto(`${base}/`, { waitUntil: 'load' });
    return p;
  }));
  report.crowdSubscribers = await until('20 more pages connected', async () => { const n = (await rest('status')).subscribers; return n >= 22 ? n : null; }, 20000);
  // Twenty niced pages loading at once on two cores beside the live session take their time:
  // 5 to 60 s after they connected here, in runs a minute apart, so the step allows two minutes
  // (twice 60 s), and each page is asked once a second, not ten times.
  await Promise.all(crowd.map((p) => until('a crowd page ready', () => p.$('body[data-ready="true"]'), 60000, 1000)));
  await sleep(500);
  const calm = await quiet();
  await sleep(3000);
  report.crowdAudio = { before: calm, after: await quiet() };
  await Promise.all(crowd.map((p) => p.close()));

  // Usable at 1280x720: no sideways scrolling, play and stop above the fold; readable contrast.
  report.desktopOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  report.playStopBottom = await page.evaluate(() => Math.max(...['#play', '#stop', '#vibe'].map((q) => document.querySelector(q).getBoundingClientRect().bottom)));
  report.lowContrast = await page.evaluate(contrastFailures);
  await page.screenshot({ path: `${outDir}/console-1280x720.png` });
  await page.setViewport({ width: 390, height: 844 });  // (isMobile would reload the page)
  await sleep(300);
  report.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: `${outDir}/console-390x844.png` });
  await page.setViewport({ width: 1280, height: 720 });

  // Stop with the button; then Space plays again and Esc stops (the keyboard shortcuts).
  await page.click('#stop');
  await until('server live session ended', async () => { const l = (await rest('live_status')).live; return !l || l.stopping; });
  await until('page shows nothing playing', () => page.$eval('body', (b) => b.dataset.playing === 'false'));
  await until('session gone', async () => !(await rest('live_status')).live, 5000);
  await page.focus('#listen');
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('Space');
  report.spaceKeyVibe = await until('Space plays', async () => (await rest('live_status')).live?.vibe);
  await page.keyboard.press('Escape');
  await until('Esc stops', async () => { const l = (await rest('live_status')).live; return !l || l.stopping; });
  // Render: a 2-second job to a file, its progress, then the download link the page shows.
  await page.type('#render-prompt', 'warm sunset over water');
  await page.$eval('#render-duration', (e) => { e.value = '2'; });
  await page.$eval('#render-file', (e) => { e.value = 'console-test.wav'; });
  await page.click('#render-stems');
  await page.click('#render-midi');
  await page.click('#render');
  const href = await until('render done with a download link', () => page.$eval('#render-result', (r) => r.querySelector('a[download]')?.getAttribute('href')), 30000);
  report.renderState = await page.$eval('#render-state', (e) => e.textContent);
  report.renderHref = href;
  writeFileSync(`${outDir}/console-test.wav`, Buffer.from(await (await fetch(`${base}${href}`)).arrayBuffer()));
  // Its MIDI file and stems through the page's links; its spectrogram drawn from the file.
  report.renderLinks = await page.$$eval('#render-result a[download]', (l) => l.map((a) => ({ kind: a.dataset.kind, href: a.getAttribute('href'), name: a.download })));
  for (const link of report.renderLinks.filter((l) => l.kind !== 'mix'))
    writeFileSync(`${outDir}/${link.kind}-${link.name}`, Buffer.from(await (await fetch(`${base}${link.href}`)).arrayBuffer()));
  report.spectrogram = await until('spectrogram drawn', () => page.$eval('#spectrogram', (c) => Number(c.dataset.columns) > 0 && { ...c.dataset }), 10000);
  await page.screenshot({ path: `${outDir}/console-render-1280x720.png`, fullPage: true });

  // The API panel: set_tempo from its generated form, then one the server refuses.
  report.tools = await page.$$eval('#tool option', (o) => o.length);
  await page.select('#tool', 'set_tempo');
  await page.type('#tool-form input[name="bpm"]', '100');
  await page.click('#tool-form button');
  report.toolAnswer = await until('the tool answered', () => page.$eval('#tool-answer', (a) => a.dataset.status === '200' && a.textContent));
  report.engineBpm = (await rest('status')).bpm;
  refusing = true;
  await page.$eval('#tool-form input[name="bpm"]', (e) => { e.value = ''; });
  await page.type('#tool-form input[name="bpm"]', '1000');
  await page.click('#tool-form button');
  report.toolRefusal = await until('the refusal is shown', () => page.$eval('#tool-answer', (a) => a.dataset.status === '400' && a.textContent));
  await sleep(100);
  refusing = false;

  // The page's WebSockets (streams and audio) are open until it goes; then the server drops them.
  report.subscribersOpen = (await rest('status')).subscribers;
  report.audioListenersOpen = (await rest('status')).audio_listeners;
  await page.close();
  report.subscribersAfterClose = await until('server dropped the page\'s sockets', async () => {
    const st = await rest('status');
    return st.subscribers === 0 && st.audio_listeners === 0 ? String(st.subscribers) : null;
  }, 5000);
  // A server with --api-key: the page asks for the key, then its WebSocket carries it (?key=).
  if (keyedBase) {
    const keyed = await browser.newPage();
    keyed.setDefaultTimeout(90000);  // navigation and waits: 20 pages loading at once on a loaded 2-core machine took over puppeteer's 30 s
    await keyed.goto(`${keyedBase}/`, { waitUntil: 'load' });
    report.keyedBefore = await until('keyed server asks for the key; its socket is refused', () => keyed.evaluate(() =>
      !document.getElementById('api-key-form').hidden && document.getElementById('connection').textContent === 'disconnected' && 'disconnected'));
    await keyed.type('#api-key', apiKey);
    await keyed.click('#api-key-form button');
    report.keyedAfter = await until('keyed page connected', () => keyed.$eval('#connection', (e) => e.textContent === 'connected' && e.textContent));
    const keyedStatus = await fetch(`${keyedBase}/v1/status`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey}` }, body: '{}' }).then((r) => r.json());
    report.keyedSubscribers = keyedStatus.result.subscribers;
    report.keyedTools = await until('keyed API panel loaded', () => keyed.$$eval('#tool option', (o) => o.length));
    report.wrongKeySocket = await keyed.evaluate(() => new Promise((resolve) => {
      const ws = new WebSocket(`ws://${location.host}/v1/ws?key=wrong`);
      ws.onopen = () => resolve('open'); ws.onerror = () => resolve('refused');
    }));
    await keyed.close();
  }
} catch (e) {
  failed = e.message;
  report.pageWarnings = await browser.pages().then((p) => p.at(-1)?.$eval('#warnings', (l) => l.textContent)).catch(() => null);
} finally {
  await browser.close();
}
report.failed = failed;
writeFileSync(`${outDir}/report.json`, JSON.stringify(report, null, 1));
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);

// The console's page: play a vibe, morph to the next, steer, watch the transport, meters and
// events, and listen. Everything goes through the public API (api.js).
import { Api, Subscription } from './api.js';
import { Listener } from './audio.js';
import { buildControls } from './controls.js';
import { buildToolsPanel } from './tools.js';
import { Mixer, Spectrum, Timeline, drawSpectrogram } from './views.js';

const api = new Api();
const $ = (id) => document.getElementById(id);
const kMaxEvents = 200;   // the log keeps the latest ones
const kLayers = ['drums', 'bass', 'pad', 'keys', 'arp', 'lead', 'texture'];
const kRoots = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const kQuickSteps = [['-bright', 'darker'], ['+bright', 'brighter'], ['-space', 'drier'], ['+space', 'wider room'],
  ['-tempo', 'slower'], ['+tempo', 'faster'], ['-density', 'sparser'], ['+density', 'denser'], ['+echo', 'more echo'], ['-echo', 'less echo']];

const state = { live: null, dj: null, vibe: '', controls: null, lastBpm: 120 };
let timeline, mixer, spectrum;   // views.js, made in main()

// ---- log and warnings ----

function logEvent(kind, text) {
  const li = document.createElement('li');
  const k = document.createElement('span');
  k.className = 'kind'; k.textContent = kind;
  li.append(k, text);
  li.dataset.kind = kind;
  const list = $('events');
  list.prepend(li);
  while (list.children.length > kMaxEvents) list.lastChild.remove();
}

function warn(text, error = false) {
  const li = document.createElement('li');
  li.textContent = text;
  if (error) li.className = 'error';
  const list = $('warnings');
  list.prepend(li);
  while (list.children.length > 5) list.lastChild.remove();
}

/** Calls an operation, logging a failure as a warning; resolves to the result or null. */
async function call(op, args = {}) {
  try {
    return await api.call(op, args);
  } catch (e) {
    warn(e.message.startsWith(op) ? e.message : `${op}: ${e.message}`, true);
    if (e.status === 401) { $('api-key-form').hidden = false; $('api-key').focus(); }
    return null;
  }
}

// ---- live session ----

async function refreshStatus() {
  const r = await api.call('live_status').catch(() => null);
  const live = r ? r.live : null;
  state.live = live && !live.stopping ? live : null;
  // A change sent as a steering object is labelled with its JSON: the vibe shown stays the last named one.
  if (state.live && !state.live.vibe.startsWith('{')) state.vibe = state.live.vibe;
  else if (state.live && !state.vibe) state.vibe = state.live.vibe;
  $('now-playing').textContent = state.live ? `Playing: ${state.vibe} (${Math.round(state.live.bpm)} bpm, ${state.live.section || 'starting'})`
    : 'Nothing playing. Type a vibe and press Play.';
  document.body.dataset.playing = String(Boolean(state.live));
  timeline?.setStatus(state.live);
  mixer?.setLayerMix(state.live?.layer_mix);
  mixer?.refresh();
  if (state.live) {
    state.lastBpm = state.live.bpm;
    state.controls?.show(state.live.config);
    if (document.activeElement !== $('bpm')) $('bpm').value = Math.round(state.live.bpm);
  }
  return state.live;
}

async function play() {
  const vibe = $('vibe').value.trim();
  if (!vibe) { $('vibe').focus(); return; }
  if (state.live) {
    const r = await steer({ vibe, at: $('quantize').value });   // a new vibe while playing morphs to it
    if (r && r.changed) { state.vibe = vibe; refreshStatus(); }
    return;
  }
  await call('status').then(async (s) => { if (s && !s.running) await call('start'); });
  const r = await call('live_start', { vibe });
  if (r) logEvent('play', `${r.vibe} at ${Math.round(r.bpm)} bpm`);
  await refreshStatus();
}

async function stop() {
  const r = await call('live_stop');
  if (r) logEvent('stop', 'fading out');
  setTimeout(refreshStatus, 400);
}

/** Sends a steering line or object; answers what changed. */
async function steer(line) {
  if (!state.live && !(await refreshStatus())) { warn('nothing is playing: press Play first'); return null; }
  const r = await call('live_steer', { line });
  if (r && r.changed) logEvent('steer', `${typeof line === 'string' ? line : JSON.stringify(line)} → ${r.kind}`);
  else if (r) logEvent('steer', `${typeof line === 'string' ? line : JSON.stringify(line)}: no change`);
  await refreshStatus();
  return r;
}

function transitionLength() {
  const amount = Math.max(1, Math.min(64, parseInt($('transition-amount').value, 10) || 1));
  if ($('transition-unit').value === 'bars') return `${amount}bars`;
  // Beats at the tempo playing now, as seconds (the server takes seconds or bars).
  return Math.min(600, Math.max(0.05, Math.round((amount * 60 / state.lastBpm) * 1000) / 1000));
}

async function morph() {
  const vibe = $('next-vibe').value.trim();
  if (!vibe) { $('next-vibe').focus(); return; }
  const at = $('quantize').value;
  const r = await steer({ vibe, transition: transitionLength(), at });
  if (r && r.changed) { state.vibe = vibe; refreshStatus(); }
}

// ---- the DJ ----

/** dj_status into the DJ panel: its buttons show while a set plays. */
async function refreshDj() {
  const r = await api.call('dj_status').catch(() => null);
  const dj = r && r.dj && !r.dj.stopping ? r.dj : null;
  state.dj = dj;
  $('dj-controls').hidden = !dj;
  document.body.dataset.dj = String(Boolean(dj));
  $('dj-state').textContent = dj ? `DJ: ${dj.profile}, ${dj.phase}, energy ${dj.energy.toFixed(2)}, bar ${dj.bar + 1}; playing ${dj.playing.join(', ') || 'nothing'}`
    : 'No DJ set. Start one: it plays the live track.';
  if (dj) $('dj-state').dataset.phase = dj.phase;
  return dj;
}

async function djStart() {
  await call('status').then(async (s) => { if (s && !s.running) await call('start'); });
  const args = { profile: $('dj-profile').value.trim() || 'techno_minimal' };
  const minutes = Number($('dj-minutes').value);
  if (minutes > 0) args.minutes = minutes;
  const r = await call('dj_start', args);
  if (r && r.dj) logEvent('dj', `${r.dj.profile} set started (${r.dj.phase})`);
  await refreshDj();
  await refreshStatus();
}

async function djCommand(command) {
  const r = await call('dj_command', { command });
  if (r) logEvent('dj', `${command || 'next'} → ${r.kind} at bar ${r.acts_at_bar + 1}`);
  await refreshDj();
  return r;
}

// ---- streams ----

function showTransport(t) {
  const live = t.live;
  if (live) {
    $('position').textContent = `${live.bar + 1}:${Math.floor(live.beat_in_bar) + 1}`;
    $('tempo').textContent = `${live.bpm.toFixed(1)} bpm`;
    $('section').textContent = live.section || live.vibe;
    $('transport').dataset.bar = live.bar;
    $('transport').dataset.beat = live.beat_in_bar.toFixed(3);
    $('transport').dataset.live = 'true';
    timeline?.setPlayhead(live.sample);
  } else {
    $('position').textContent = t.running ? `${t.bar + 1}:${Math.floor(t.beat_in_bar) + 1}` : '–:–';
    $('tempo').textContent = `${t.bpm.toFixed(1)} bpm`;
    $('section').textContent = t.running ? 'engine running, no music' : 'engine stopped';
    $('transport').dataset.live = 'false';
  }
}

function showMeters(m) {
  for (const [side, db] of [['left', m.peak_db_left], ['right', m.peak_db_right]]) {
    $(`meter-${side}`).value = Math.max(-60, db);
    $(`meter-${side}-db`).textContent = db <= -100 ? '–∞' : db.toFixed(1);
  }
  mixer?.meters(m);
}

function showEvent(e) {
  const type = e.type || 'event';
  const detail = { ...e };
  delete detail.type;
  let text;
  if (type.startsWith('live_')) text = `${e.label || ''} (bar ${e.bar + 1}, ${Math.round(e.bpm)} bpm)`;
  else if (type.startsWith('dj_') && type !== 'dj_command') text = `${e.label || ''} (set bar ${e.bar + 1}, ${e.phase}, energy ${Number(e.energy).toFixed(2)})`;
  else if (type === 'render_progress') text = `job ${e.job}: ${Math.round(100 * e.progress)}%`;
  else text = JSON.stringify(detail);
  logEvent(type, text);
  if (type === 'render' && e.state === 'failed') warn(`render ${e.job} failed: ${e.error || ''}`, true);
  if (e.warning || e.warnings) warn(String(e.warning || e.warnings));
  if (type === 'live_vibe' || type === 'live_transition' || type === 'live_glide' || type === 'live_end') refreshStatus();
  if (type === 'dj_phase' || type === 'dj_warning' || type === 'dj_profile') refreshDj();
  if (type === 'dj_warning') warn(`DJ: ${e.label}`);
}

function connect() {
  const conn = $('connection');
  return new Subscription(['transport', 'meters', 'events'], {
    open: () => { conn.textContent = 'connected'; conn.className = 'conn ok'; },
    close: (why) => { conn.textContent = 'disconnected'; conn.className = 'conn bad'; warn(why); },
    transport: showTransport,
    meters: showMeters,
    events: showEvent,
  }, 20);
}

// ---- steering widgets ----

function buildSteering(schema) {
  for (const [line, what] of kQuickSteps) {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = line; b.title = what; b.dataset.line = line;
    b.onclick = () => steer(line);
    $('quick-steps').append(b);
  }
  for (const r of kRoots) $('key-root').append(new Option(r, r));
  for (const m of schema.properties.mode.enum) $('key-mode').append(new Option(m.replace(/_/g, ' '), m));
  $('key-mode').value = 'minor';
  for (const name of kLayers) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox'; box.checked = true; box.value = name;
    label.append(box, name);
    $('layers').append(label);
  }
  const apply = document.createElement('button');
  apply.type = 'button'; apply.textContent = 'Apply';
  apply.onclick = () => {
    const on = [...$('layers').querySelectorAll('input:checked')].map((b) => b.value);
    if (on.length === 0) { warn('s: keep at least one layer playing'); return; }
    steer(on.length === kLayers.length ? 's all' : `s ${on.join(',')}`);
  };
  $('layers').append(apply);
  state.controls = buildControls($('controls'), schema, (update) => steer({ update, at: $('quantize').value }));
}

function bindForms() {
  const submit = (id, fn) => $(id).addEventListener('submit', (e) => { e.preventDefault(); fn(); });
  submit('play-form', play);
  submit('morph-form', morph);
  submit('bpm-form', () => $('bpm').value && steer(`b ${$('bpm').value}`));
  submit('key-form', () => steer(`k ${$('key-root').value} ${$('key-mode').value}`));
  submit('genre-form', () => $('genre').value.trim() && steer(`y ${$('genre').value.trim()}`));
  submit('line-form', () => { const l = $('steer-line').value.trim(); if (l) steer(l); });
  submit('render-form', render);
  submit('api-key-form', () => { api.setKey($('api-key').value); $('api-key-form').hidden = true; refreshStatus(); mixer?.refresh(); loadTools(); });
  submit('dj-start-form', djStart);
  $('dj-stop').onclick = async () => { if (await call('dj_stop')) logEvent('dj', 'stopping'); setTimeout(() => { refreshDj(); refreshStatus(); }, 400); };
  for (const b of $('dj-buttons').querySelectorAll('button[data-dj]')) b.onclick = () => djCommand(b.dataset.dj);
  submit('dj-say-form', () => { const t = $('dj-say').value.trim(); if (t) djCommand(`say ${t}`); });
  submit('dj-line-form', () => { const l = $('dj-line').value.trim(); if (l) djCommand(l); });
  $('stop').onclick = stop;
  $('listen').onclick = toggleListening;
}

// ---- render jobs ----

const kRenderPollMs = 300;

/** Starts a render job and follows it to its end: progress, then a player and a download link. */
async function render() {
  const file = $('render-file').value.trim();
  const args = { prompt: $('render-prompt').value.trim(), file, duration: Number($('render-duration').value) };
  if ($('render-stems').checked) args.stems = true;
  if ($('render-midi').checked) args.midi = true;
  const job = await call('render_start', args);
  if (!job) return;
  $('render-result').replaceChildren();
  $('render-cancel').hidden = false;
  $('render-cancel').onclick = () => call('render_cancel', { job: job.job });
  for (;;) {
    const st = await call('render_status', { job: job.job });
    if (!st) break;
    $('render-progress').value = st.progress;
    $('render-state').textContent = `job ${st.job}: ${st.state} ${Math.round(100 * st.progress)}%`;
    if (st.state === 'failed') warn(`render ${st.job} failed: ${st.error || 'no reason given'}`, true);
    if (st.state === 'done') { showRender(st); break; }
    if (['failed', 'cancelled'].includes(st.state)) break;
    await new Promise((r) => setTimeout(r, kRenderPollMs));
  }
  $('render-cancel').hidden = true;
}

const fileUrl = (file) => `/v1/files/${file.split('/').map(encodeURIComponent).join('/')}`;

function downloadLink(file, text, kind) {
  const link = document.createElement('a');
  link.href = fileUrl(file); link.download = file.split('/').pop(); link.textContent = text; link.dataset.kind = kind;
  return link;
}

/** A finished job: a player, download links for the mix, its MIDI file and stems, and its spectrogram. */
function showRender(job) {
  const file = job.file;
  const player = document.createElement('audio');
  player.controls = true; player.src = fileUrl(file); player.preload = 'metadata';
  const links = [downloadLink(file, `Download ${file}`, 'mix')];
  if (job.midi) links.push(downloadLink(job.midi, 'MIDI', 'midi'));
  for (const stem of job.stems || []) links.push(downloadLink(stem, `stem: ${stem.split('/').pop().replace(/\.wav$/, '')}`, 'stem'));
  $('render-result').replaceChildren(player, ...links);
  logEvent('render', `${file} is ready`);
  $('spectrogram').hidden = false;
  drawSpectrogram($('spectrogram'), fileUrl(file)).catch((e) => warn(`spectrogram: ${e.message}`, true));
}

// ---- audio ----

const listener = new Listener((s) => {
  $('audio-status').textContent = `${s.playing ? 'playing' : 'buffering'} · ${s.latencyMs} ms · level ${(20 * Math.log10(s.level + 1e-9)).toFixed(0)} dB` +
    (s.underruns ? ` · ${s.underruns} gaps` : '');
  Object.assign($('audio-status').dataset, { received: s.received, level: s.level.toFixed(6), underruns: s.underruns });
});

async function toggleListening() {
  const b = $('listen');
  try {
    if (listener.listening) { await listener.stop(); spectrum.attach(null); $('audio-status').textContent = 'audio off'; }
    else { await listener.start(); spectrum.attach(listener.analyser); }
  } catch (e) {
    warn(`audio: ${e.message}`, true);
    await listener.stop();
  }
  b.setAttribute('aria-pressed', String(listener.listening));
}

// ---- keys ----

function onKey(e) {
  const typing = e.target.closest('input, select, textarea');
  if (e.key === 'Escape') { e.preventDefault(); stop(); return; }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === ' ') { e.preventDefault(); state.live ? stop() : play(); }
  else if (e.key === 'l' || e.key === 'L') toggleListening();
  else if (e.key === '[') steer('-bright');
  else if (e.key === ']') steer('+bright');
}

/** The API panel; a server with --api-key first asks for the key (then the panel loads). */
async function loadTools() {
  $('tools').replaceChildren();
  await buildToolsPanel($('tools'), { list: () => api.tools(), raw: (op, args) => api.raw(op, args) }).catch((e) => {
    warn(`the API panel: ${e.message}`);
    if (e.status === 401) $('api-key-form').hidden = false;
  });
}

async function main() {
  bindForms();
  document.addEventListener('keydown', onKey);
  timeline = new Timeline($('timeline'), $('sections'));
  spectrum = new Spectrum($('spectrum'));
  mixer = new Mixer($('mixer'), (target, changes) => call('set_mix', { target, ...changes }),
    (layer, changes) => call('live_mix', { layer, ...changes }),
    () => api.call('list_tracks').then((r) => r.tracks));
  const schema = await fetch('/music_config.schema.json').then((r) => r.json());
  buildSteering(schema);
  connect();
  await loadTools();
  await refreshStatus();
  await refreshDj();
  setInterval(() => { refreshStatus(); refreshDj(); }, 2000);
  document.body.dataset.ready = 'true';
}

main().catch((e) => warn(`the console failed to start: ${e.message}`, true));

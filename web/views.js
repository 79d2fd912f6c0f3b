// What the console draws: the live arrangement as a timeline (sections with their energy and
// layers, and a playhead), the mixer (a strip per track and per live layer: meter, gain, pan, mute, solo; a meter
// per live layer), the live spectrum from the listener's analyser, and a render's spectrogram.
// Data comes from live_status, list_tracks and the transport and meters streams (public API).

const kBehindSeconds = 20;   // the timeline shows this much of the past...
const kAheadSeconds = 40;    // ...and this much of what is scheduled
const kFloorDb = -60;

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

/** A canvas sized to its box in device pixels; returns its 2D context and size in CSS pixels. */
function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { g, w, h };
}

// ---- arrangement timeline ----

/** The live arrangement: a list of its sections (readable, and what the tests read) and a drawing. */
export class Timeline {
  constructor(canvas, list) { this.canvas = canvas; this.list = list; this.live = null; this.sample = 0; }

  /** From live_status: sections [{sample, kind, bars, energy, layers}], sample_rate, layers. */
  setStatus(live) {
    this.live = live;
    const sections = live?.sections || [];
    const key = sections.map((s) => `${s.sample}:${s.kind}`).join(',');
    if (key === this.key) return;
    this.key = key;
    this.list.replaceChildren(...sections.map((s) => {
      const li = document.createElement('li');
      const layers = s.layers?.length ? s.layers.join(', ') : 'all layers';
      li.textContent = `${s.kind} · bar ${s.bar + 1}${s.bars ? ` · ${s.bars} bars` : ''} · energy ${Math.round(100 * (s.energy ?? 0.5))}% · ${layers}`;
      Object.assign(li.dataset, { sample: s.sample, kind: s.kind, energy: s.energy ?? '' });
      return li;
    }));
    this.draw();
  }

  /** From the transport stream's live part: moves the playhead. */
  setPlayhead(sample) {
    this.sample = sample;
    this.canvas.dataset.playhead = sample;
    for (const li of this.list.children) {
      const next = li.nextElementSibling;
      const on = Number(li.dataset.sample) <= sample && (!next || Number(next.dataset.sample) > sample);
      if (on) li.setAttribute('aria-current', 'true'); else li.removeAttribute('aria-current');
    }
    this.draw();
  }

  draw() {
    const { g, w, h } = fit(this.canvas);
    g.clearRect(0, 0, w, h);
    const live = this.live;
    if (!live) { g.fillStyle = css('--muted'); g.fillText('no live music', 8, h / 2); return; }
    const rate = live.sample_rate || 44100;
    const from = this.sample - kBehindSeconds * rate, to = this.sample + kAheadSeconds * rate;
    const x = (s) => ((s - from) / (to - from)) * w;
    const sections = live.sections || [];
    sections.forEach((s, i) => {
      const barSamples = 4 * 60 / s.bpm * rate;
      const end = i + 1 < sections.length ? sections[i + 1].sample : s.sample + (s.bars || 8) * barSamples;
      const energy = s.energy ?? 0.5;
      const top = h - 14 - (h - 30) * (0.25 + 0.75 * energy);
      g.fillStyle = i % 2 ? '#2b5d7e' : '#3a7aa3';
      g.fillRect(x(s.sample) + 1, top, Math.max(1, x(end) - x(s.sample) - 2), h - 14 - top);
      g.fillStyle = css('--text');
      g.font = '12px system-ui, sans-serif';
      g.fillText(`${s.kind} ${Math.round(100 * energy)}%`, Math.max(2, x(s.sample) + 4), Math.max(12, top - 4));
      g.fillStyle = css('--muted');
      g.fillText(`${s.layers?.length || (live.layers || []).length} layers`, Math.max(2, x(s.sample) + 4), h - 2);
    });
    g.fillStyle = css('--warn');
    g.fillRect(x(this.sample) - 1, 0, 2, h);
  }
}

// ---- mixer ----

function strip(name, kind) {
  const row = document.createElement('div');
  row.className = 'strip'; row.dataset.name = name; row.dataset.kind = kind;
  const label = document.createElement('span');
  label.className = 'name'; label.textContent = name;
  const meter = document.createElement('meter');
  Object.assign(meter, { min: kFloorDb, max: 0, low: -18, high: -6, optimum: -30, value: kFloorDb });
  meter.setAttribute('aria-label', `${name} level`);
  row.append(label, meter);
  return row;
}

function toggle(label, field, on, send) {
  const b = document.createElement('button');
  b.type = 'button'; b.textContent = label; b.dataset.field = field;
  b.setAttribute('aria-pressed', String(Boolean(on)));
  b.onclick = async () => {
    const want = b.getAttribute('aria-pressed') !== 'true';
    if (await send({ [field]: want })) b.setAttribute('aria-pressed', String(want));
  };
  return b;
}

/** A labelled range input that calls `send(value)` when it changes. */
function slider(owner, label, attrs, send) {
  const l = document.createElement('label');
  const input = document.createElement('input');
  Object.assign(input, { type: 'range', ...attrs });
  input.setAttribute('aria-label', `${owner} ${label}`);
  input.addEventListener('change', () => send(Number(input.value)));
  l.append(label, input);
  return l;
}

/** The mixer: a strip per track (set_mix: gain, pan, mute, solo) and per live layer (a meter; live_mix: gain, pan, mute, solo). */
export class Mixer {
  /** `mix(target, changes)` calls set_mix, `liveMix(layer, changes)` live_mix; `list()` resolves to list_tracks' tracks. */
  constructor(root, mix, liveMix, list) { Object.assign(this, { root, mix, liveMix, list, key: '', layerMix: {} }); }

  /** From live_status: {layer: {mute, solo, gain_db, pan}}. */
  setLayerMix(layerMix) {
    this.layerMix = layerMix || {};
    for (const row of this.root.querySelectorAll('.strip[data-kind="layer"]')) {
      const mix = this.layerMix[row.dataset.name];
      for (const b of row.querySelectorAll('button[data-field]')) b.setAttribute('aria-pressed', String(Boolean(mix?.[b.dataset.field])));
      if (!mix || row.contains(document.activeElement)) continue;
      row.querySelector('input[name="gain"]').value = mix.gain_db ?? 0;
      row.querySelector('input[name="pan"]').value = mix.pan ?? 0;
    }
  }

  async refresh() {
    const tracks = await this.list().catch(() => null);
    if (!tracks) return;
    const key = tracks.map((t) => t.name).join(',');
    if (key === this.key) {   // the same tracks: only what set_mix changed elsewhere
      for (const t of tracks) this.show(t);
      return;
    }
    this.key = key;
    this.root.querySelector('.tracks').replaceChildren(...tracks.map((t) => this.trackStrip(t)));
  }

  trackStrip(t) {
    const row = strip(t.name, 'track');
    const control = (label, attrs, send) => {
      const l = document.createElement('label');
      const input = document.createElement('input');
      Object.assign(input, attrs);
      input.setAttribute('aria-label', `${t.name} ${label}`);
      input.addEventListener('change', () => send(input));
      l.append(label, input);
      return l;
    };
    const send = (changes) => this.mix(t.name, changes);
    row.append(
      control('gain', { type: 'range', min: -60, max: 12, step: 0.5, value: t.gain_db, name: 'gain' }, (i) => this.mix(t.name, { gain_db: Number(i.value) })),
      control('pan', { type: 'range', min: -1, max: 1, step: 0.05, value: t.pan, name: 'pan' }, (i) => this.mix(t.name, { pan: Number(i.value) })),
      toggle('M', 'mute', t.mute, send), toggle('S', 'solo', t.solo, send));
    return row;
  }

  show(t) {
    const row = this.root.querySelector(`.strip[data-kind="track"][data-name="${CSS.escape(t.name)}"]`);
    if (!row || row.contains(document.activeElement)) return;
    row.querySelector('input[name="gain"]').value = t.gain_db;
    row.querySelector('input[name="pan"]').value = t.pan;
    for (const b of row.querySelectorAll('button[data-field]')) b.setAttribute('aria-pressed', String(Boolean(t[b.dataset.field])));
  }

  /** From the meters stream: {tracks: {name: dB}, layers: {layer: dB}}. */
  meters(m) {
    const layers = this.root.querySelector('.layers-meters');
    const names = Object.keys(m.layers || {});
    if (layers.dataset.names !== names.join(',')) {
      layers.dataset.names = names.join(',');
      layers.replaceChildren(...names.map((n) => {
        const row = strip(n, 'layer');
        const send = (changes) => this.liveMix(n, changes);
        const mix = this.layerMix[n] || {};
        row.append(
          slider(n, 'gain', { min: -60, max: 12, step: 0.5, value: mix.gain_db ?? 0, name: 'gain' }, (v) => send({ gain_db: v })),
          slider(n, 'pan', { min: -1, max: 1, step: 0.05, value: mix.pan ?? 0, name: 'pan' }, (v) => send({ pan: v })),
          toggle('M', 'mute', mix.mute, send), toggle('S', 'solo', mix.solo, send));
        return row;
      }));
    }
    for (const [kind, values] of [['track', m.tracks || {}], ['layer', m.layers || {}]]) {
      for (const [name, db] of Object.entries(values)) {
        const row = this.root.querySelector(`.strip[data-kind="${kind}"][data-name="${CSS.escape(name)}"]`);
        if (!row) continue;
        const meter = row.querySelector('meter');
        // A peak holds and falls back 1.5 dB a message, so a short hit stays visible.
        const shown = Math.max(kFloorDb, db, Number(meter.value) - 1.5);
        meter.value = shown;
        row.dataset.db = db.toFixed(1);
        row.dataset.maxDb = Math.max(Number(row.dataset.maxDb ?? -200), db).toFixed(1);
      }
    }
  }
}

// ---- spectrum and spectrogram ----

/** Draws the listener's analyser as a spectrum (log frequency) while it listens. */
export class Spectrum {
  constructor(canvas) { this.canvas = canvas; this.analyser = null; this.frame = 0; }

  attach(analyser) {
    this.analyser = analyser;
    cancelAnimationFrame(this.frame);
    if (!analyser) { this.canvas.dataset.peakDb = ''; return; }
    const bins = new Float32Array(analyser.frequencyBinCount);
    const draw = () => {
      if (this.analyser !== analyser) return;
      analyser.getFloatFrequencyData(bins);
      const { g, w, h } = fit(this.canvas);
      g.clearRect(0, 0, w, h);
      g.fillStyle = css('--accent');
      const nyquist = analyser.context.sampleRate / 2;
      let peak = -Infinity, peakHz = 0;
      for (let px = 0; px < w; px++) {
        const hz = 20 * (nyquist / 20) ** (px / w);   // 20 Hz .. Nyquist, log
        const db = bins[Math.min(bins.length - 1, Math.round(hz / nyquist * bins.length))];
        if (db > peak) { peak = db; peakHz = hz; }
        const y = h * Math.min(1, Math.max(0, (db + 100) / 80));
        g.fillRect(px, h - y, 1, y);
      }
      this.canvas.dataset.peakDb = peak.toFixed(1);
      this.canvas.dataset.peakHz = Math.round(peakHz);
      this.frame = requestAnimationFrame(draw);
    };
    draw();
  }
}

/** In place radix-2 FFT of re/im (length a power of two). */
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const step = -2 * Math.PI / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const c = Math.cos(step * k), s = Math.sin(step * k);
        const a = i + k, b = a + len / 2;
        const tr = re[b] * c - im[b] * s, ti = re[b] * s + im[b] * c;
        re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
      }
    }
  }
}

/**
 * The spectrogram of an audio file (fetched from `url`, decoded by the browser) drawn on
 * `canvas`: time across, log frequency up, level as brightness. Resolves to {columns, seconds}.
 */
export async function drawSpectrogram(canvas, url) {
  const bytes = await fetch(url).then((r) => { if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`); return r.arrayBuffer(); });
  const audio = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(bytes);
  const mono = audio.getChannelData(0);
  if (audio.numberOfChannels > 1) { const r = audio.getChannelData(1); for (let i = 0; i < mono.length; i++) mono[i] = 0.5 * (mono[i] + r[i]); }
  const size = 2048;
  const { g, w, h } = fit(canvas);
  const columns = Math.max(1, Math.min(Math.floor(w), 512));   // frames overlap in a short file
  const hop = Math.max(0, (mono.length - size) / columns);
  const image = g.createImageData(columns, h);
  const re = new Float32Array(size), im = new Float32Array(size);
  let loudest = -Infinity;
  for (let c = 0; c < columns; c++) {
    const start = Math.floor(c * hop);
    for (let i = 0; i < size; i++) { re[i] = (mono[start + i] || 0) * (0.5 - 0.5 * Math.cos(2 * Math.PI * i / size)); im[i] = 0; }
    fft(re, im);
    for (let y = 0; y < h; y++) {
      const hz = 30 * ((audio.sampleRate / 2) / 30) ** (1 - y / h);
      const bin = Math.min(size / 2 - 1, Math.round(hz / audio.sampleRate * size));
      const db = 10 * Math.log10((re[bin] ** 2 + im[bin] ** 2) / (size * size / 16) + 1e-12);
      loudest = Math.max(loudest, db);
      const v = Math.max(0, Math.min(1, (db + 90) / 90));
      const at = 4 * (y * columns + c);
      image.data[at] = 255 * v ** 0.6; image.data[at + 1] = 200 * v ** 1.5; image.data[at + 2] = 80 + 120 * v; image.data[at + 3] = 255;
    }
  }
  g.clearRect(0, 0, w, h);
  const off = new OffscreenCanvas(columns, h);
  off.getContext('2d').putImageData(image, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(off, 0, 0, w, h);
  Object.assign(canvas.dataset, { columns, seconds: audio.duration.toFixed(2), loudestDb: loudest.toFixed(1) });
  return { columns, seconds: audio.duration };
}

// Hearing the live music in the browser: the "audio" stream (1,024 interleaved stereo float32
// frames per binary message, at the server's rate) into an AudioWorklet with a jitter buffer,
// then an analyser (for a level) and the speakers.
import { Subscription } from './api.js';

export class Listener {
  /** `onStatus({latencyMs, level, received, underruns})` is called a few times a second. */
  constructor(onStatus) { this.onStatus = onStatus; this.context = null; this.subscription = null; }

  get listening() { return this.subscription !== null; }

  /** Starts hearing (call from a click: browsers only start audio on a gesture). */
  async start() {
    if (this.listening) return;
    let sampleRate = 44100;
    this.subscription = new Subscription(['audio'], {
      open: (r) => { if (r?.audio?.sample_rate) sampleRate = r.audio.sample_rate; },
      audio: (buffer) => this.node?.port.postMessage(buffer, [buffer]),
    });
    this.context = new AudioContext({ sampleRate, latencyHint: 'interactive' });
    await this.context.audioWorklet.addModule('/audio-worklet.js');
    this.node = new AudioWorkletNode(this.context, 'soundstar-player', {
      numberOfInputs: 0, outputChannelCount: [2], processorOptions: { targetFrames: 4096, maxFrames: 16384 },
    });
    this.analyser = new AnalyserNode(this.context, { fftSize: 2048 });
    this.node.connect(this.analyser).connect(this.context.destination);
    const samples = new Float32Array(this.analyser.fftSize);
    this.node.port.onmessage = (e) => {
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      const outputMs = 1000 * ((this.context.outputLatency || 0) + (this.context.baseLatency || 0));
      this.onStatus({ ...e.data, level: rms, latencyMs: Math.round(1000 * e.data.buffered / this.context.sampleRate + outputMs) });
    };
    await this.context.resume();
  }

  /** Stops hearing and closes the audio subscription. */
  async stop() {
    this.subscription?.close(); this.subscription = null;
    const context = this.context; this.context = null; this.node = null;
    await context?.close();
  }
}

// The console's player [audio thread of the browser]: interleaved stereo float32 blocks from the
// server's audio stream go into a ring, and are played once a small jitter buffer has filled.
// An underrun plays silence and refills the buffer; a buffer grown past `maxFrames` (the network
// caught up in a burst) drops its oldest frames so the delay stays small.
class SoundstarPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.targetFrames = o.targetFrames || 4096;
    this.maxFrames = o.maxFrames || 16384;
    this.ring = new Float32Array(2 * 65536);
    this.read = 0; this.write = 0;            // in frames, modulo 65536
    this.playing = false;
    this.received = 0; this.underruns = 0; this.dropped = 0; this.lastReport = 0;
    this.port.onmessage = (e) => this.push(new Float32Array(e.data));
  }
  buffered() { return (this.write - this.read + 65536) % 65536; }
  push(block) {
    const frames = block.length >> 1;
    for (let i = 0; i < frames; i++) {
      const at = ((this.write + i) % 65536) * 2;
      this.ring[at] = block[2 * i]; this.ring[at + 1] = block[2 * i + 1];
    }
    this.write = (this.write + frames) % 65536;
    this.received += frames;
    const over = this.buffered() - this.maxFrames;
    if (over > 0) { this.read = (this.read + over) % 65536; this.dropped += over; }
  }
  process(inputs, outputs) {
    const [left, right] = outputs[0];
    if (!this.playing && this.buffered() >= this.targetFrames) this.playing = true;
    for (let i = 0; i < left.length; i++) {
      if (this.playing && this.buffered() > 0) {
        left[i] = this.ring[this.read * 2]; right[i] = this.ring[this.read * 2 + 1];
        this.read = (this.read + 1) % 65536;
      } else {
        if (this.playing) { this.playing = false; this.underruns++; }
        left[i] = 0; right[i] = 0;
      }
    }
    if (currentTime - this.lastReport > 0.25) {
      this.lastReport = currentTime;
      this.port.postMessage({ buffered: this.buffered(), received: this.received, underruns: this.underruns, dropped: this.dropped, playing: this.playing });
    }
    return true;
  }
}
registerProcessor('soundstar-player', SoundstarPlayer);

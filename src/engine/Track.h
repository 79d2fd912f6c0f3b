#pragma once
// A mixer channel: an optional instrument (none on return buses and the master), an effect chain,
// fader gain, pan, mute, solo and post-fader sends. prepare() [control]; the rest [rt].
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/LowCut.h"
#include "engine/Command.h"
#include "engine/Effect.h"
#include "engine/Instrument.h"

namespace soundstar::engine {

class Track {
public:
    static constexpr int kMaxSends = 4;

    void prepare(double sampleRate, int maxBlock);
    /// Renders instrument (or the summed input already in buffer()) through the chain, leaving
    /// the post-fader, panned result in buffer().
    void render(int frames, bool clearFirst) { renderInto(buffer_.view(frames), clearFirst); }
    /// The same into `out` (at most the prepared block; not buffer() unless it is out): offline
    /// renders write a track straight into their chunk of output, with no copy [rt].
    void renderInto(StereoView out, bool clearFirst);
    /// dB (-inf..+12); pan -1..1; sends 0..1 [rt].
    void setGainDb(float db);
    void setPan(float pan);
    void setSend(int bus, float level);
    /// The trim after fader and pan: dB (-120 or below: silent) and a balance (-1 keeps the left
    /// channel only, 1 the right; 0 unity on both), smoothed over 20 ms [rt].
    void setTrim(float db, float balance);
    /// A low cut after the effect chain (before the fader, so the sends are cut too): a 2nd-order
    /// high-pass at `hz` blended in over 40 ms, or out with 0 (dsp::LowCut) [rt].
    void setLowCut(float hz) { lowCut_.setCutoff(hz); }
    float lowCutHz() const { return lowCut_.cutoffHz(); }
    float sendLevel(int bus) const { return sends_[static_cast<std::size_t>(bus)].value(); }
    /// Moves the gain to `gain` (linear) over exactly `samples` samples from the next rendered
    /// sample, along `shape`; replaces any ramp or fade in progress [rt].
    void fadeTo(float gain, int samples, FadeShape shape);
    /// The gain now: where a fade under way has got to, else the smoothed gain.
    float fadeGainNow() const;
    bool fading() const { return fadeLeft_ > 0; }
    /// Bypasses effect `slot` (or brings it back): its output is crossfaded with its input over
    /// 10 ms. A bypassed effect keeps running, so its tails are current when it comes back [rt].
    void setBypass(int slot, bool bypassed);
    bool bypassed(int slot) const {
        return slot >= 0 && static_cast<std::size_t>(slot) < wet_.size() && wet_[static_cast<std::size_t>(slot)].target() < 0.5f;
    }
    /// Exchanges effect chains (effects and their bypass states) with `other`, prepared for the
    /// same block size; nothing is allocated [rt].
    void swapChain(Track& other) noexcept {
        effects.swap(other.effects);
        wet_.swap(other.wet_);
    }
    /// Advances the send smoothers by a block (they ramp per block) [rt].
    float nextSend(int bus, int frames);
    /// Where the track's output goes: -1 the master, else return bus `bus` (0..kMaxSends-1). A
    /// change crossfades from the old destination to the new one over kOutputFadeMs from the next
    /// rendered sample, so neither side clicks [rt].
    void setOutput(int bus);
    int output() const { return output_; }
    /// Adds this block's buffer() to its destination(s): `dest(bus)` gives the view of bus
    /// (-1: the master) [rt].
    template <class Dest>
    void route(int frames, Dest&& dest) {
        StereoView v = buffer_.view(frames);
        if (outLeft_ <= 0) {
            dest(output_).addFrom(v);
            return;
        }
        StereoView from = dest(outFrom_), to = dest(output_);
        for (int i = 0; i < frames; ++i) {
            const float g = outLeft_ > 0 ? 1.0f - static_cast<float>(--outLeft_) / static_cast<float>(outLength_) : 1.0f;
            from.left[i] += (1.0f - g) * v.left[i], from.right[i] += (1.0f - g) * v.right[i];
            to.left[i] += g * v.left[i], to.right[i] += g * v.right[i];
        }
    }
    static constexpr float kOutputFadeMs = 10.0f;

    std::string name;
    std::unique_ptr<Instrument> instrument;
    std::vector<std::unique_ptr<Effect>> effects;
    bool mute = false, solo = false;
    /// Starting mix settings, applied without a ramp by prepare() [control].
    float initialGainDb = 0.0f, initialPan = 0.0f;
    float initialTrimDb = 0.0f, initialBalance = 0.0f;
    float initialLowCutHz = 0.0f;  // > 0: starts with its low cut engaged (no ramp)
    std::array<float, kMaxSends> initialSends{};
    int initialOutput = -1;  // -1 the master, else a return bus (no crossfade at prepare)
    /// A block of silence goes through the chain by Effect::processSilence (effects at rest skip
    /// it, to the same bytes) and skips the fader's multiplications. false: every stage runs on
    /// every block, as a reference for tests [control].
    bool skipSilence = true;
    StereoBuffer& buffer() { return buffer_; }

private:
    StereoBuffer buffer_;
    LinearSmoother gain_, panL_, panR_;
    LinearSmoother trimL_, trimR_;  // setTrim: per channel, after the fader
    dsp::LowCut lowCut_;            // setLowCut: after the effects
    void applyTrim(StereoView v, bool silent);
    std::array<LinearSmoother, kMaxSends> sends_{};
    std::vector<LinearSmoother> wet_;  // per effect: 1 in the chain, 0 bypassed
    StereoBuffer dry_;                 // an effect's input, while it is (being) bypassed
    void applyFade(StereoView v);
    float fadeFrom_ = 0.0f, fadeTo_ = 0.0f;
    int fadeLength_ = 0, fadeLeft_ = 0;
    FadeShape fadeShape_ = FadeShape::Linear;
    int output_ = -1, outFrom_ = -1;  // destination, and the one it is crossfading from
    int outLength_ = 1, outLeft_ = 0;
    double sampleRate_ = 48000.0;
};

}  // namespace soundstar::engine

#pragma once
// Synthesized drum voices in the analog-machine tradition (TR-808/909 topologies): kick, snare,
// clap, closed and open hat, tom, rim. One voice plays one drum; trigger() restarts it.
// prepare() [control]; trigger() and tick() [rt].
#include <array>
#include <cmath>

#include "dsp/Biquad.h"
#include "dsp/Noise.h"

namespace soundstar::dsp {

enum class DrumType { Kick, Snare, Clap, ClosedHat, OpenHat, Tom, Rim };

class DrumVoice {
public:
    void prepare(double sampleRate);
    void seed(std::uint64_t s) { noise_.seed(s); }
    void setType(DrumType t) { type_ = t; }
    DrumType type() const { return type_; }
    /// tune: multiplier on the base pitch (0.5..2); decay: multiplier on the base decay (0.2..4);
    /// tone: 0..1 (darker to brighter / more noise).
    void setShape(float tune, float decay, float tone) {
        tune_ = tune;
        decay_ = decay;
        tone_ = tone;
    }
    void trigger(float velocity);
    /// Chokes the voice quickly (an open hat cut by a closed one).
    void choke() { ampDecay_ = std::min(ampDecay_, chokeCoef_); }
    bool active() const { return active_; }
    void reset() { active_ = false; }
    float tick();
    /// n samples of tick() into out (written, not added): the voice's state stays in registers
    /// across a local buffer instead of being reloaded after every store to out.
    void process(float* out, int n);

private:
    float coef(float seconds) const;
    template <DrumType T>
    void run(float* out, int n);
    float metallic();
    DrumType type_ = DrumType::Kick;
    WhiteNoise noise_;
    Biquad bp_, hp_;
    double sampleRate_ = 48000.0;
    double phase_ = 0.0;
    // Six oscillator phases plus two still lanes (+1 and -1, cancelling) for 8-wide vectors.
    std::array<double, 8> hatPhase_{0, 0, 0, 0, 0, 0, 0.25, 0.75};
    float tune_ = 1.0f, decay_ = 1.0f, tone_ = 0.5f, velocity_ = 1.0f;
    float amp_ = 0.0f, ampDecay_ = 0.0f, pitchEnv_ = 0.0f, pitchDecay_ = 0.0f;
    float noiseAmp_ = 0.0f, noiseDecay_ = 0.0f, basePitch_ = 50.0f, chokeCoef_ = 0.0f;
    int clapCount_ = 0, clapTimer_ = 0, age_ = 0;
    bool active_ = false;
};

}  // namespace soundstar::dsp

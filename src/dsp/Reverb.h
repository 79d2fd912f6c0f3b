#pragma once
// Algorithmic reverb: an 8-line feedback delay network with a Householder mixing matrix and
// per-line damping set from the wanted T60 (Jot & Chaigne 1991, "Digital delay networks for
// designing artificial reverberators"), fed through input diffusion allpasses (Schroeder 1962).
// size 0..1 goes from a small room to a vast hall. prepare() [control]; the rest [rt].
#include <array>

#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/DelayLine.h"
#include "dsp/Lfo.h"

namespace soundstar::dsp {

class Reverb {
public:
    static constexpr int kLines = 8;

    void prepare(double sampleRate);
    void reset();
    /// size 0..1, decay T60 in seconds (0.1..30), damping 0..1 (bright to dark), predelay ms,
    /// mix 0..1 wet share.
    void set(float size, float decayS, float damping, float predelayMs, float mix);
    void setMix(float mix) { mix_.setTarget(mix); }
    void process(StereoView io);

private:
    void updateLines();
    void readLines(float (*y)[kLines], int n) const;
    void writeLines(const float (*fb)[kLines], int n);
    double sampleRate_ = 48000.0;
    float size_ = 0.5f, decayS_ = 2.0f, damping_ = 0.4f, predelay_ = 0.0f;
    std::array<DelayLine, kLines> lines_;
    std::array<float, kLines> lengths_{}, gains_{}, lpState_{}, lpCoef_{};
    std::array<DelayLine, 4> diffusers_;
    std::array<float, 4> diffLen_{};
    std::array<std::size_t, 4> diffIdx_{};
    std::array<std::size_t, kLines> lengthIdx_{};
    DelayLine preL_, preR_;
    Lfo mod_;
    LinearSmoother mix_;
};

}  // namespace soundstar::dsp

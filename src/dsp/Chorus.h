#pragma once
// Stereo chorus: two voices per side of an LFO-modulated short delay, quadrature LFOs left and
// right for width. [rt after prepare]
#include <algorithm>

#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/DelayLine.h"
#include "dsp/Lfo.h"

namespace soundstar::dsp {

class Chorus {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        l_.prepare(static_cast<std::size_t>(sampleRate * 0.05));
        r_.prepare(static_cast<std::size_t>(sampleRate * 0.05));
        lfoL_.prepare(sampleRate);
        lfoR_.prepare(sampleRate);
        lfoR_.reset(0.25);
        mix_.prepare(sampleRate, 20.0f);
        mix_.snap(0.5f);
        set(0.8f, 0.5f, 0.5f);
    }
    /// rateHz 0.05..5, depth 0..1 (up to 7 ms swing), mix 0..1.
    void set(float rateHz, float depth, float mix) {
        lfoL_.setRate(rateHz);
        lfoR_.setRate(rateHz);
        depth_ = depth * 0.007f * sampleRate_;
        mix_.setTarget(mix);
    }
    void process(StereoView io) {
        // The LFOs move slowly: evaluate them every 16 samples and ramp the delays in between.
        const float base = 0.012f * sampleRate_;
        constexpr int kStep = 16;
        for (int done = 0; done < io.frames; done += kStep) {
            const int n = std::min(kStep, io.frames - done);
            float ml = nextL_, mr = nextR_;
            for (int k = 0; k < n; ++k) {
                nextL_ = lfoL_.tick();
                nextR_ = lfoR_.tick();
            }
            const float dl = (nextL_ - ml) / static_cast<float>(n), dr = (nextR_ - mr) / static_cast<float>(n);
            for (int j = 0; j < n; ++j) {
                const int i = done + j;
                l_.push(io.left[i]);
                r_.push(io.right[i]);
                const float wl = 0.5f * (l_.read(base + depth_ * ml) + l_.read(base * 1.3f - depth_ * mr));
                const float wr = 0.5f * (r_.read(base + depth_ * mr) + r_.read(base * 1.3f - depth_ * ml));
                const float m = mix_.next();
                io.left[i] = io.left[i] * (1.0f - 0.5f * m) + wl * m * 0.7f;
                io.right[i] = io.right[i] * (1.0f - 0.5f * m) + wr * m * 0.7f;
                ml += dl;
                mr += dr;
            }
        }
    }

private:
    float sampleRate_ = 48000.0f, depth_ = 0.0f, nextL_ = 0.0f, nextR_ = 0.0f;
    DelayLine l_, r_;
    Lfo lfoL_, lfoR_;
    LinearSmoother mix_;
};

}  // namespace soundstar::dsp

#pragma once
// Flanger: a 0.1-10 ms modulated delay with feedback, summed with the dry signal to sweep a
// comb filter. [rt after prepare]
#include <algorithm>

#include "core/AudioBuffer.h"
#include "dsp/DelayLine.h"
#include "dsp/Lfo.h"

namespace soundstar::dsp {

class Flanger {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        l_.prepare(static_cast<std::size_t>(sampleRate * 0.02));
        r_.prepare(static_cast<std::size_t>(sampleRate * 0.02));
        lfo_.prepare(sampleRate);
        lfo_.setShape(LfoShape::Triangle);
        set(0.25f, 0.7f, 0.5f, 0.5f);
    }
    /// rateHz, depth 0..1, feedback -0.95..0.95, mix 0..1.
    void set(float rateHz, float depth, float feedback, float mix) {
        lfo_.setRate(rateHz);
        depth_ = std::clamp(depth, 0.0f, 1.0f);
        fb_ = std::clamp(feedback, -0.95f, 0.95f);
        mix_ = std::clamp(mix, 0.0f, 1.0f);
    }
    void process(StereoView io) {
        const float minD = 0.0001f * sampleRate_, maxD = 0.008f * sampleRate_;
        for (int i = 0; i < io.frames; ++i) {
            const float m = 0.5f + 0.5f * lfo_.tick();
            const float d = minD + (maxD - minD) * m * depth_;
            const float wl = l_.read(d + 1.0f), wr = r_.read(d * 0.97f + 1.0f);
            l_.push(io.left[i] + wl * fb_);
            r_.push(io.right[i] + wr * fb_);
            io.left[i] = io.left[i] * (1.0f - 0.5f * mix_) + wl * 0.5f * mix_;
            io.right[i] = io.right[i] * (1.0f - 0.5f * mix_) + wr * 0.5f * mix_;
        }
    }

private:
    float sampleRate_ = 48000.0f, depth_ = 0.7f, fb_ = 0.5f, mix_ = 0.5f;
    DelayLine l_, r_;
    Lfo lfo_;
};

}  // namespace soundstar::dsp

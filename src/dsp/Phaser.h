#pragma once
// Phaser: six first-order allpass stages swept by an LFO, with feedback; notches move through
// the spectrum. [rt after prepare]
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "core/AudioBuffer.h"
#include "dsp/Lfo.h"

namespace soundstar::dsp {

class Phaser {
public:
    static constexpr int kStages = 6;
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        lfo_.prepare(sampleRate);
        set(0.3f, 0.8f, 0.4f, 0.5f);
    }
    /// rateHz, depth 0..1 (sweep 200 Hz .. 200 Hz * 2^(6*depth)), feedback 0..0.9, mix 0..1.
    void set(float rateHz, float depth, float feedback, float mix) {
        lfo_.setRate(rateHz);
        depth_ = std::clamp(depth, 0.0f, 1.0f);
        fb_ = std::clamp(feedback, 0.0f, 0.9f);
        mix_ = std::clamp(mix, 0.0f, 1.0f);
    }
    /// State in locals for the loop (the buffer could alias the members: a store and a reload
    /// per stage and sample otherwise); the LFO is read only where a new coefficient is made.
    void process(StereoView io) {
        std::array<float, kStages> stL = stL_, stR = stR_;
        float fbL = fbL_, fbR = fbR_, a = a_;
        unsigned counter = counter_;
        const float fb = fb_, dry = 1.0f - 0.5f * mix_, wet = 0.5f * mix_;
        for (int i = 0; i < io.frames; ++i) {
            if ((counter++ & 15) == 0) {  // the sweep is slow: new allpass coefficient every 16 samples
                const float m = 0.5f + 0.5f * lfo_.tick();
                const float fc = 200.0f * std::exp2(6.0f * depth_ * m);
                const float t = std::tan(std::numbers::pi_v<float> * std::min(fc, sampleRate_ * 0.45f) / sampleRate_);
                a = (t - 1.0f) / (t + 1.0f);
            } else {
                lfo_.skip();
            }
            io.left[i] = run(io.left[i], a, stL, fbL, fb, dry, wet);
            io.right[i] = run(io.right[i], a, stR, fbR, fb, dry, wet);
        }
        stL_ = stL;
        stR_ = stR;
        fbL_ = fbL;
        fbR_ = fbR;
        a_ = a;
        counter_ = counter;
    }

private:
    static float run(float x, float a, std::array<float, kStages>& st, float& fbState, float fb, float dry, float wet) {
        float y = x + fbState * fb;
        for (auto& s : st) {
            // First-order allpass, transposed direct form: y = a*x + s; s = x - a*y.
            const float out = a * y + s;
            s = y - a * out;
            y = out;
        }
        fbState = y;
        return x * dry + y * wet;
    }
    float sampleRate_ = 48000.0f, depth_ = 0.8f, fb_ = 0.4f, mix_ = 0.5f;
    std::array<float, kStages> stL_{}, stR_{};
    float fbL_ = 0.0f, fbR_ = 0.0f, a_ = 0.0f;
    unsigned counter_ = 0;
    Lfo lfo_;
};

}  // namespace soundstar::dsp

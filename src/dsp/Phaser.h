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
    /// A block of zeros with the allpasses and feedback at rest comes out as zeros; only the
    /// sweep moves, by the same LFO steps and coefficient updates as process() [rt].
    bool processSilence(StereoView io) {
        const bool rest = fbL_ == 0.0f && fbR_ == 0.0f &&
                          std::all_of(stL_.begin(), stL_.end(), [](float v) { return v == 0.0f; }) &&
                          std::all_of(stR_.begin(), stR_.end(), [](float v) { return v == 0.0f; });
        if (!rest) {
            process(io);
            return false;
        }
        for (int i = 0; i < io.frames; ++i) {
            if ((counter_++ & 15) == 0) a_ = coefficient(lfo_.tick());
            else lfo_.skip();
        }
        return true;
    }
    /// State in locals for the loop (the buffer could alias the members: a store and a reload
    /// per stage and sample otherwise); the LFO is read only where a new coefficient is made.
    /// Left and right run as the two lanes of one vector: one instruction for both channels.
    void process(StereoView io) {
        std::array<F2, kStages> st{};
        for (std::size_t k = 0; k < kStages; ++k) st[k] = F2{stL_[k], stR_[k]};
        F2 fbState{fbL_, fbR_};
        float a = a_;
        unsigned counter = counter_;
        const float fb = fb_, dry = 1.0f - 0.5f * mix_, wet = 0.5f * mix_;
        std::array<float, kStages + 1> aPow{};  // a^0 .. a^6
        const auto powers = [&] {
            aPow[0] = 1.0f;
            for (int k = 1; k <= kStages; ++k) aPow[static_cast<std::size_t>(k)] = aPow[static_cast<std::size_t>(k) - 1] * a;
        };
        powers();
        for (int i = 0; i < io.frames; ++i) {
            if ((counter++ & 15) == 0) {  // the sweep is slow: new allpass coefficient every 16 samples
                a = coefficient(lfo_.tick());
                powers();
            } else {
                lfo_.skip();
            }
            const F2 y = run(F2{io.left[i], io.right[i]}, a, aPow, st, fbState, fb, dry, wet);
            io.left[i] = y[0];
            io.right[i] = y[1];
        }
        for (std::size_t k = 0; k < kStages; ++k) stL_[k] = st[k][0], stR_[k] = st[k][1];
        fbL_ = fbState[0];
        fbR_ = fbState[1];
        a_ = a;
        counter_ = counter;
    }

private:
    // The allpasses' coefficient for an LFO value.
    float coefficient(float lfo) const {
        const float m = 0.5f + 0.5f * lfo;
        const float fc = 200.0f * std::exp2(6.0f * depth_ * m);
        const float t = std::tan(std::numbers::pi_v<float> * std::min(fc, sampleRate_ * 0.45f) / sampleRate_);
        return (t - 1.0f) / (t + 1.0f);
    }
    // The six first-order allpasses (transposed direct form: out = a*in + s; s = in - a*out)
    // with one coefficient are linear in the chain's input y: out_k = a^k y + P_k, where
    // P_k = a P_(k-1) + s_k needs only the states. So one fused multiply-add lies between y and
    // the fed-back output, instead of six in a row. The same filter up to rounding.
    using F2 = float __attribute__((vector_size(8)));
    static F2 run(F2 x, float a, const std::array<float, kStages + 1>& aPow, std::array<F2, kStages>& st, F2& fbState, float fb,
                  float dry, float wet) {
        std::array<F2, kStages> p{};
        p[0] = st[0];
        for (std::size_t k = 1; k < kStages; ++k) p[k] = a * p[k - 1] + st[k];
        const F2 y = x + fbState * fb;
        F2 in = y;
        for (std::size_t k = 0; k < kStages; ++k) {
            const F2 out = aPow[k + 1] * y + p[k];
            st[k] = in - a * out;
            in = out;
        }
        fbState = in;
        return x * dry + in * wet;
    }
    float sampleRate_ = 48000.0f, depth_ = 0.8f, fb_ = 0.4f, mix_ = 0.5f;
    std::array<float, kStages> stL_{}, stR_{};
    float fbL_ = 0.0f, fbR_ = 0.0f, a_ = 0.0f;
    unsigned counter_ = 0;
    Lfo lfo_;
};

}  // namespace soundstar::dsp

#pragma once
// Stereo chorus: two voices per side of an LFO-modulated short delay, quadrature LFOs left and
// right for width. [rt after prepare]
#include <algorithm>

#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/DelayLine.h"
#include "dsp/Lfo.h"
#include "dsp/Simd.h"

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
        depth_ = std::clamp(depth, 0.0f, 1.0f) * 0.007f * sampleRate_;  // keeps every tap inside the ring
        mix_.setTarget(mix);
    }
    void process(StereoView io) {
        quiet_ = 0;
        run(io);
    }
    /// A block of zeros. Once the lines hold nothing but zeros (a ring's length of silence
    /// pushed) and the mix is steady, the output is zeros: the LFOs move on in the same steps
    /// and the lines take their zeros, with nothing read or mixed. Returns whether it skipped.
    bool processSilence(StereoView io) {
        if (quiet_ >= l_.size() && !mix_.ramping()) {
            for (int done = 0; done < io.frames; done += kStep) {
                const int n = std::min(kStep, io.frames - done);
                nextL_ = lfoL_.tickLast(n);
                nextR_ = lfoR_.tickLast(n);
            }
            l_.pushZeros(static_cast<std::size_t>(io.frames));
            r_.pushZeros(static_cast<std::size_t>(io.frames));
            return true;
        }
        run(io);
        quiet_ = std::min(quiet_ + static_cast<std::size_t>(io.frames), l_.size());
        return false;
    }

private:
    static constexpr int kStep = 16;
    void run(StereoView io) {
        // The LFOs move slowly: evaluate them every 16 samples and ramp the delays in between.
        // Each 16-sample step is pushed into the lines first and then read back (every read is
        // at least 1 ms old, far behind the step), with the ring indexed directly.
        const float base = 0.012f * sampleRate_;
        float* bl = l_.data();
        float* br = r_.data();
        const std::size_t mask = l_.mask();
        for (int done = 0; done < io.frames; done += kStep) {
            const int n = std::min(kStep, io.frames - done);
            float ml = nextL_, mr = nextR_;
            nextL_ = lfoL_.tickLast(n);
            nextR_ = lfoR_.tickLast(n);
            const float dl = (nextL_ - ml) / static_cast<float>(n), dr = (nextR_ - mr) / static_cast<float>(n);
            float* inL = io.left + done;
            float* inR = io.right + done;
            const std::size_t w0 = l_.writeIndex();  // both lines advance together
            l_.pushBlock(inL, n, 1);
            r_.pushBlock(inR, n, 1);
            alignas(32) float wetL[kStep], wetR[kStep];
            int j = 0;
            if (n == kStep) {  // two vectors of eight samples, four taps each
                using namespace simd;
                const v8 iota{0, 1, 2, 3, 4, 5, 6, 7};
                for (; j < kStep; j += 8) {
                    const v8 jv = iota + splat(static_cast<float>(j));
                    const v8 vl = splat(ml) + jv * splat(dl), vr = splat(mr) + jv * splat(dr);
                    // Sample j sits at w0 + j; a delay of D reads D - 1 samples before it.
                    const i8 at = splatInt(static_cast<int>(w0 & mask) + j + 1) + iotaInt();
                    const v8 dA = splat(base) + splat(depth_) * vl, dB = splat(base * 1.3f) - splat(depth_) * vr;
                    const v8 dC = splat(base) + splat(depth_) * vr, dD = splat(base * 1.3f) - splat(depth_) * vl;
                    const auto m = static_cast<int>(mask);
                    store(wetL + j, splat(0.5f) * (taps(bl, m, at, dA) + taps(bl, m, at, dB)));
                    store(wetR + j, splat(0.5f) * (taps(br, m, at, dC) + taps(br, m, at, dD)));
                }
                ml += dl * static_cast<float>(kStep);
                mr += dr * static_cast<float>(kStep);
            }
            for (; j < n; ++j) {
                const std::size_t at = w0 + static_cast<std::size_t>(j) + 1;
                const float dA = base + depth_ * ml, dB = base * 1.3f - depth_ * mr;
                const float dC = base + depth_ * mr, dD = base * 1.3f - depth_ * ml;
                wetL[j] = 0.5f * (tap(bl, mask, at, dA) + tap(bl, mask, at, dB));
                wetR[j] = 0.5f * (tap(br, mask, at, dC) + tap(br, mask, at, dD));
                ml += dl;
                mr += dr;
            }
            if (!mix_.ramping()) {
                const float m = mix_.value(), dry = 1.0f - 0.5f * m, wet = m * 0.7f;
                for (int j = 0; j < n; ++j) {
                    inL[j] = inL[j] * dry + wetL[j] * wet;
                    inR[j] = inR[j] * dry + wetR[j] * wet;
                }
            } else {
                for (int j = 0; j < n; ++j) {
                    const float m = mix_.next();
                    inL[j] = inL[j] * (1.0f - 0.5f * m) + wetL[j] * m * 0.7f;
                    inR[j] = inR[j] * (1.0f - 0.5f * m) + wetR[j] * m * 0.7f;
                }
            }
        }
    }

    // Linear-interpolated read `delay` samples back from ring index `at` (delay in 1..~1100,
    // always inside the 50 ms ring).
    static float tap(const float* buf, std::size_t mask, std::size_t at, float delay) {
        const auto di = static_cast<std::size_t>(delay);
        const float frac = delay - static_cast<float>(di);
        const float a = buf[(at - di) & mask];
        const float b = buf[(at - di - 1) & mask];
        return a + (b - a) * frac;
    }
    // The same read for eight samples: ring positions `at` (not yet wrapped), delays per lane.
    static simd::v8 taps(const float* buf, int mask, simd::i8 at, simd::v8 delay) {
        using namespace simd;
        const i8 di = __builtin_convertvector(delay, i8);  // delay > 0: truncation is floor
        const v8 frac = delay - __builtin_convertvector(di, v8);
        const i8 ia = (at - di) & mask, ib = (at - di - 1) & mask;
        v8 a, b;
        for (int k = 0; k < 8; ++k) {
            a[k] = buf[ia[k]];
            b[k] = buf[ib[k]];
        }
        return a + (b - a) * frac;
    }
    float sampleRate_ = 48000.0f, depth_ = 0.0f, nextL_ = 0.0f, nextR_ = 0.0f;
    std::size_t quiet_ = 0;  // zeros pushed since the last sound (up to the ring's size)
    DelayLine l_, r_;
    Lfo lfoL_, lfoR_;
    LinearSmoother mix_;
};

}  // namespace soundstar::dsp

#pragma once
// Low-frequency oscillator for modulation, output in [-1, 1] [rt].
#include <cmath>
#include <numbers>

#include "core/Rng.h"
#include "dsp/FastMath.h"
#include "dsp/Simd.h"

namespace soundstar::dsp {

enum class LfoShape { Sine, Triangle, Saw, Square, SampleHold };

class Lfo {
public:
    void prepare(double sampleRate) { sampleRate_ = sampleRate; }
    void setRate(float hz) { inc_ = hz / sampleRate_; }
    void setShape(LfoShape s) { shape_ = s; }
    void reset(double phase = 0.0) { phase_ = phase; }
    void seed(std::uint64_t s) { rng_.reseed(s); }
    float tick() {
        const double p = phase_;
        phase_ += inc_;
        if (phase_ >= 1.0) {
            phase_ -= 1.0;
            held_ = rng_.bipolar();
        }
        switch (shape_) {
            case LfoShape::Sine: return sinCycles(p);
            case LfoShape::Triangle: return static_cast<float>(p < 0.5 ? 4.0 * p - 1.0 : 3.0 - 4.0 * p);
            case LfoShape::Saw: return static_cast<float>(2.0 * p - 1.0);
            case LfoShape::Square: return p < 0.5 ? 1.0f : -1.0f;
            case LfoShape::SampleHold: return held_;
        }
        return 0.0f;
    }

    /// The last of n ticks (n >= 1), skipping the n - 1 before it: for modulation evaluated
    /// once per step of n samples.
    float tickLast(int n) {
        if (n > 1) advance(n - 1);
        return tick();
    }
    /// tick() without its output: the phase moves one sample exactly as tick() moves it (the
    /// same double additions), for modulation read only every few samples.
    void skip() { advance(1); }
    /// n samples of a sine LFO (tick() with the Sine shape, to 1e-6) in vectors of eight: the
    /// phase per sample from the block's start in double, the sine by polynomial.
    void processSine(float* out, int n) {
        using namespace simd;
        const v8d iota{0, 1, 2, 3, 4, 5, 6, 7};
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            // tick() returns the phase before its increment: out[i + k] = sin(phase + k * inc).
            const v8d p = splatd(phase_) + iota * splatd(inc_);
            store(out + i, sinCycles(__builtin_convertvector(p - floor(p), v8)));
            advance(8);
        }
        for (; i < n; ++i) {
            out[i] = sinCycles(phase_);
            advance(1);
        }
    }

private:
    // Moves the phase k samples on, wrapping (and drawing a sample-and-hold value per wrap) as
    // tick() does.
    void advance(int k) {
        phase_ += inc_ * k;
        while (phase_ >= 1.0) {
            phase_ -= 1.0;
            held_ = rng_.bipolar();
        }
    }
    double sampleRate_ = 48000.0, phase_ = 0.0, inc_ = 0.0;
    float held_ = 0.0f;
    LfoShape shape_ = LfoShape::Sine;
    Rng rng_{3};
};

}  // namespace soundstar::dsp

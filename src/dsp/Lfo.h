#pragma once
// Low-frequency oscillator for modulation, output in [-1, 1] [rt].
#include <cmath>
#include <numbers>

#include "core/Rng.h"
#include "dsp/FastMath.h"

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

private:
    double sampleRate_ = 48000.0, phase_ = 0.0, inc_ = 0.0;
    float held_ = 0.0f;
    LfoShape shape_ = LfoShape::Sine;
    Rng rng_{3};
};

}  // namespace soundstar::dsp

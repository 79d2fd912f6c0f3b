#pragma once
// Parameter smoothers so automation never clicks. Setters [rt], cheap; next() per sample [rt].
#include <cmath>

namespace soundstar {

/// One-pole exponential smoother for knobs; timeMs is the time to ~63% of a step. It keeps the
/// distance to its target and shrinks that, so it reaches any target: recomputing
/// target + (value - target) * coef from a float value stalls where the step rounds to nothing,
/// up to 0.5 / (1 - coef) ulps short (1.7 samples short of a 357 ms delay time at 44.1 kHz).
class OnePoleSmoother {
public:
    void prepare(double sampleRate, float timeMs) {
        coef_ = timeMs <= 0.0f ? 0.0f : std::exp(-1.0f / (static_cast<float>(sampleRate) * timeMs * 0.001f));
    }
    void setTarget(float t) {
        offset_ = value_ - t;
        target_ = t;
    }
    void snap(float v) {
        target_ = value_ = v;
        offset_ = 0.0f;
    }
    float next() {
        offset_ *= coef_;
        value_ = target_ + offset_;
        return value_;
    }
    float value() const { return value_; }
    float target() const { return target_; }

private:
    float coef_ = 0.0f, value_ = 0.0f, target_ = 0.0f, offset_ = 0.0f;
};

/// Linear ramp over a fixed number of samples for gains and coefficients.
class LinearSmoother {
public:
    void prepare(double sampleRate, float timeMs) {
        rampSamples_ = static_cast<int>(sampleRate * timeMs * 0.001);
        if (rampSamples_ < 1) rampSamples_ = 1;
    }
    void setTarget(float t) {
        if (t == target_) return;
        target_ = t;
        step_ = (target_ - value_) / static_cast<float>(rampSamples_);
        left_ = rampSamples_;
    }
    void snap(float v) {
        value_ = target_ = v;
        left_ = 0;
    }
    float next() {
        if (left_ > 0) {
            value_ += step_;
            if (--left_ == 0) value_ = target_;
        }
        return value_;
    }
    bool ramping() const { return left_ > 0; }
    float value() const { return value_; }
    float target() const { return target_; }

private:
    float value_ = 0.0f, target_ = 0.0f, step_ = 0.0f;
    int rampSamples_ = 1, left_ = 0;
};

}  // namespace soundstar

#pragma once
// State-variable filter, trapezoidal (TPT) form after Andrew Simper, "Linear Trapezoidal
// Integrated SVF" (Cytomic 2013): stable under fast modulation. LP/HP/BP/notch [rt].
#include <algorithm>
#include <cmath>
#include <numbers>

namespace soundstar::dsp {

enum class FilterMode { LowPass, HighPass, BandPass, Notch };

class Svf {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        update();
    }
    void reset() { ic1_ = ic2_ = 0.0f; }
    void setMode(FilterMode m) { mode_ = m; }
    /// Cutoff in Hz (clamped below Nyquist); q from 0.5 (gentle) to ~20 (ringing).
    void set(float cutoffHz, float q) {
        cutoffHz_ = cutoffHz;
        q_ = std::max(q, 0.05f);
        update();
    }
    void setCutoff(float cutoffHz) {
        cutoffHz_ = cutoffHz;
        update();
    }
    float tick(float x) {
        const float v3 = x - ic2_;
        const float v1 = a1_ * ic1_ + a2_ * v3;
        const float v2 = ic2_ + a2_ * ic1_ + a3_ * v3;
        ic1_ = 2.0f * v1 - ic1_;
        ic2_ = 2.0f * v2 - ic2_;
        switch (mode_) {
            case FilterMode::LowPass: return v2;
            case FilterMode::BandPass: return v1;
            case FilterMode::HighPass: return x - k_ * v1 - v2;
            case FilterMode::Notch: return x - k_ * v1;
        }
        return v2;
    }
    void process(const float* in, float* out, int n) {
        for (int i = 0; i < n; ++i) out[i] = tick(in[i]);
    }

private:
    void update() {
        const float fc = std::clamp(cutoffHz_, 5.0f, sampleRate_ * 0.49f);
        const float g = std::tan(std::numbers::pi_v<float> * fc / sampleRate_);
        k_ = 1.0f / q_;
        a1_ = 1.0f / (1.0f + g * (g + k_));
        a2_ = g * a1_;
        a3_ = g * a2_;
    }
    float sampleRate_ = 48000.0f, cutoffHz_ = 1000.0f, q_ = 0.707f;
    float k_ = 1.414f, a1_ = 0, a2_ = 0, a3_ = 0, ic1_ = 0, ic2_ = 0;
    FilterMode mode_ = FilterMode::LowPass;
};

}  // namespace soundstar::dsp

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
    /// `a` over `left` and `b` over `right`, in place, sample by sample together: each filter's
    /// recursion waits on its own last result, so two independent ones side by side run in about
    /// the time of one. The same arithmetic as process() on each, so the same samples [rt].
    static void processPair(Svf& a, Svf& b, float* left, float* right, int n) {
        if (a.mode_ != b.mode_) {
            a.process(left, left, n);
            b.process(right, right, n);
            return;
        }
        switch (a.mode_) {
            case FilterMode::LowPass: return pair<FilterMode::LowPass>(a, b, left, right, n);
            case FilterMode::HighPass: return pair<FilterMode::HighPass>(a, b, left, right, n);
            case FilterMode::BandPass: return pair<FilterMode::BandPass>(a, b, left, right, n);
            case FilterMode::Notch: return pair<FilterMode::Notch>(a, b, left, right, n);
        }
    }

private:
    // One filter's state in registers (the buffers could alias the members otherwise).
    struct Lane {
        float a1, a2, a3, k, ic1, ic2;
        template <FilterMode M>
        float tick(float x) {
            const float v3 = x - ic2;
            const float v1 = a1 * ic1 + a2 * v3;
            const float v2 = ic2 + a2 * ic1 + a3 * v3;
            ic1 = 2.0f * v1 - ic1;
            ic2 = 2.0f * v2 - ic2;
            if constexpr (M == FilterMode::LowPass) return v2;
            if constexpr (M == FilterMode::BandPass) return v1;
            if constexpr (M == FilterMode::HighPass) return x - k * v1 - v2;
            return x - k * v1;
        }
    };
    template <FilterMode M>
    static void pair(Svf& a, Svf& b, float* left, float* right, int n) {
        Lane la{a.a1_, a.a2_, a.a3_, a.k_, a.ic1_, a.ic2_}, lb{b.a1_, b.a2_, b.a3_, b.k_, b.ic1_, b.ic2_};
        for (int i = 0; i < n; ++i) {
            left[i] = la.template tick<M>(left[i]);
            right[i] = lb.template tick<M>(right[i]);
        }
        a.ic1_ = la.ic1, a.ic2_ = la.ic2, b.ic1_ = lb.ic1, b.ic2_ = lb.ic2;
    }
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

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
    void reset() { s_.ic1 = s_.ic2 = 0.0f; }
    /// Both integrators at zero: a block of zeros leaves them so and comes out as zeros [rt].
    bool atRest() const { return s_.ic1 == 0.0f && s_.ic2 == 0.0f; }
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
        switch (mode_) {
            case FilterMode::LowPass: return s_.tick<FilterMode::LowPass>(x);
            case FilterMode::BandPass: return s_.tick<FilterMode::BandPass>(x);
            case FilterMode::HighPass: return s_.tick<FilterMode::HighPass>(x);
            case FilterMode::Notch: return s_.tick<FilterMode::Notch>(x);
        }
        return s_.tick<FilterMode::LowPass>(x);
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
    // The coefficients and the two integrator states: one filter's whole recursion.
    struct State {
        float a1 = 0, a2 = 0, a3 = 0, k = 1.414f, ic1 = 0, ic2 = 0;
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
    // Copies of both states in locals (the buffers could alias the members otherwise).
    template <FilterMode M>
    static void pair(Svf& a, Svf& b, float* left, float* right, int n) {
        State la = a.s_, lb = b.s_;
        for (int i = 0; i < n; ++i) {
            left[i] = la.template tick<M>(left[i]);
            right[i] = lb.template tick<M>(right[i]);
        }
        a.s_ = la;
        b.s_ = lb;
    }
    void update() {
        const float fc = std::clamp(cutoffHz_, 5.0f, sampleRate_ * 0.49f);
        const float g = std::tan(std::numbers::pi_v<float> * fc / sampleRate_);
        s_.k = 1.0f / q_;
        s_.a1 = 1.0f / (1.0f + g * (g + s_.k));
        s_.a2 = g * s_.a1;
        s_.a3 = g * s_.a2;
    }
    float sampleRate_ = 48000.0f, cutoffHz_ = 1000.0f, q_ = 0.707f;
    State s_;
    FilterMode mode_ = FilterMode::LowPass;
};

}  // namespace soundstar::dsp

#pragma once
// Four-pole transistor-ladder filter, zero-delay feedback form (V. Zavalishin, "The Art of VA
// Filter Design", ch. 5), with tanh input saturation. Mode mixes stage outputs as in the
// Oberheim Xpander: LP (24 dB), HP, BP, notch [rt].
#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/Svf.h"

namespace soundstar::dsp {

class Ladder {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        update();
    }
    void reset() { s_[0] = s_[1] = s_[2] = s_[3] = 0.0f; }
    void setMode(FilterMode m) { mode_ = m; }
    /// Cutoff in Hz; resonance 0..1 (self-oscillation near 1).
    void set(float cutoffHz, float resonance) {
        cutoffHz_ = cutoffHz;
        k_ = 4.0f * std::clamp(resonance, 0.0f, 1.0f) * 0.98f;
        update();
    }
    void setCutoff(float cutoffHz) {
        cutoffHz_ = cutoffHz;
        update();
    }
    float tick(float x) {
        // Solve the instantaneous feedback loop linearly (G^4 path), then run the stages.
        const float sigma = G3_ * s_[0] * (1.0f - G_) + G2_ * s_[1] * (1.0f - G_) + G_ * s_[2] * (1.0f - G_) +
                            s_[3] * (1.0f - G_);
        // ^ sum of each stage state's contribution to the output (each one-pole: y = G*u + (1-G)*s').
        const float u = saturate((x - k_ * sigma) * feedbackNorm_);
        float in = u;
        float y[4];
        for (int i = 0; i < 4; ++i) {
            const float v = (in - s_[i]) * G_;
            y[i] = v + s_[i];
            s_[i] = y[i] + v;
            in = y[i];
        }
        switch (mode_) {
            case FilterMode::LowPass: return y[3];
            case FilterMode::HighPass: return u - 4.0f * y[0] + 6.0f * y[1] - 4.0f * y[2] + y[3];
            case FilterMode::BandPass: return 4.0f * y[1] - 8.0f * y[2] + 4.0f * y[3];
            case FilterMode::Notch: return u - 2.0f * y[0] + 2.0f * y[1];
        }
        return y[3];
    }
    void process(const float* in, float* out, int n) {
        for (int i = 0; i < n; ++i) out[i] = tick(in[i]);
    }

private:
    static float saturate(float x) {
        // Pade tanh approximation, accurate to ~1e-3 in [-3,3], clamped outside.
        x = std::clamp(x, -3.0f, 3.0f);
        const float x2 = x * x;
        return x * (27.0f + x2) / (27.0f + 9.0f * x2);
    }
    void update() {
        const float fc = std::clamp(cutoffHz_, 5.0f, sampleRate_ * 0.45f);
        const float g = std::tan(std::numbers::pi_v<float> * fc / sampleRate_);
        G_ = g / (1.0f + g);
        G2_ = G_ * G_;
        G3_ = G2_ * G_;
        G4_ = G3_ * G_;
        feedbackNorm_ = 1.0f / (1.0f + k_ * G4_);
    }
    float sampleRate_ = 48000.0f, cutoffHz_ = 1000.0f, k_ = 0.0f;
    float G_ = 0, G2_ = 0, G3_ = 0, G4_ = 0, feedbackNorm_ = 1.0f;
    float s_[4]{};
    FilterMode mode_ = FilterMode::LowPass;
};

}  // namespace soundstar::dsp

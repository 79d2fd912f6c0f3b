#pragma once
// Modal synthesis bell: a bank of two-pole resonators tuned to bell partials, struck by an
// impulse (J.-M. Adrien, "The missing link: modal synthesis", 1991). Partial ratios follow a
// tuned church bell (hum, prime, tierce, quint, nominal, ...). [rt] after prepare().
#include <array>
#include <cmath>
#include <numbers>

#include "dsp/Simd.h"

namespace soundstar::dsp {

class ModalBell {
public:
    static constexpr int kModes = 8;

    void prepare(double sampleRate) { sampleRate_ = static_cast<float>(sampleRate); }
    /// Strike at fundamental freqHz; decayS for the fundamental (higher modes decay faster);
    /// brightness 0..1 weights the upper partials.
    void strike(float freqHz, float velocity, float decayS, float brightness) {
        static constexpr std::array<float, kModes> kRatio{0.5f, 1.0f, 1.183f, 1.506f, 2.0f, 2.514f, 2.662f, 3.011f};
        static constexpr std::array<float, kModes> kAmp{0.6f, 1.0f, 0.7f, 0.45f, 0.55f, 0.3f, 0.25f, 0.2f};
        active_ = true;
        for (int m = 0; m < kModes; ++m) {
            const auto k = static_cast<std::size_t>(m);
            const float f = freqHz * kRatio[k];
            Mode& md = modes_[k];
            if (f >= sampleRate_ * 0.45f) {
                md = Mode{};
                continue;
            }
            const float decay = decayS / (1.0f + 0.6f * static_cast<float>(m));
            const float r = std::exp(std::log(0.001f) / (decay * sampleRate_));
            const float w = 2.0f * std::numbers::pi_v<float> * f / sampleRate_;
            md.b1 = 2.0f * r * std::cos(w);
            md.b2 = -r * r;
            const float weight = m <= 1 ? 1.0f : (0.25f + 0.75f * brightness);
            // Excite with an impulse into y1 so each mode starts as a sine of amplitude ~gain.
            md.y1 = kAmp[k] * weight * velocity * std::sin(w) * 0.35f;
            md.y2 = 0.0f;
            md.norm = 1.0f / (std::sin(w) * std::sin(w));
        }
    }
    bool active() const { return active_; }
    void reset() {
        for (auto& m : modes_) m = Mode{};
        active_ = false;
    }
    float tick() {
        if (!active_) return 0.0f;
        float sum = 0.0f, energy = 0.0f;
        for (auto& m : modes_) {
            const float y = m.b1 * m.y1 + m.b2 * m.y2;
            m.y2 = m.y1;
            m.y1 = y;
            sum += y;
            energy += amplitude2(m.b1, m.b2, m.y1, m.y2, m.norm);
        }
        if (energy < kSilent2) active_ = false;
        // Each mode rings at amplitude y1 / sin(w) = 0.35 * weight; the sum of weights is ~4.
        return sum * 0.7f;
    }

    /// n samples of tick(), times gain, added into out: the eight modes are the eight lanes
    /// of one vector. Silence is checked once per call rather than per sample.
    void process(float* out, int n, float gain) {
        if (!active_) return;
        using namespace simd;
        v8 b1, b2, y1, y2;
        for (int m = 0; m < kModes; ++m) {
            const auto& md = modes_[static_cast<std::size_t>(m)];
            b1[m] = md.b1;
            b2[m] = md.b2;
            y1[m] = md.y1;
            y2[m] = md.y2;
        }
        const float g = gain * 0.7f;
        for (int i = 0; i < n; ++i) {
            const v8 y = b1 * y1 + b2 * y2;
            y2 = y1;
            y1 = y;
            out[i] += hsum(y) * g;
        }
        for (int m = 0; m < kModes; ++m) {
            auto& md = modes_[static_cast<std::size_t>(m)];
            md.y1 = y1[m];
            md.y2 = y2[m];
        }
        // Silence: the same amplitude measure as tick(), once per block.
        v8 norm;
        for (int m = 0; m < kModes; ++m) norm[m] = modes_[static_cast<std::size_t>(m)].norm;
        if (hsum((y1 * y1 - b1 * y1 * y2 - b2 * y2 * y2) * norm) < kSilent2) active_ = false;
    }

private:
    // A resonator's squared amplitude from its last two outputs (the quadratic invariant of
    // y = b1 y1 + b2 y2, over sin^2 w): unlike |y| it does not dip at zero crossings.
    static float amplitude2(float b1, float b2, float y1, float y2, float norm) {
        return (y1 * y1 - b1 * y1 * y2 - b2 * y2 * y2) * norm;
    }
    static constexpr float kSilent2 = 1e-10f;  // all modes together below 1e-5 (-100 dB)
    struct Mode {
        float b1 = 0, b2 = 0, y1 = 0, y2 = 0, norm = 0;
    };
    std::array<Mode, kModes> modes_{};
    float sampleRate_ = 48000.0f;
    bool active_ = false;
};

}  // namespace soundstar::dsp

#pragma once
// Modal synthesis bell: a bank of two-pole resonators tuned to bell partials, struck by an
// impulse (J.-M. Adrien, "The missing link: modal synthesis", 1991). Partial ratios follow a
// tuned church bell (hum, prime, tierce, quint, nominal, ...). [rt] after prepare().
#include <array>
#include <cmath>
#include <numbers>

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
            energy += std::abs(y);
        }
        if (energy < 1e-6f) active_ = false;
        // Each mode rings at amplitude y1 / sin(w) = 0.35 * weight; the sum of weights is ~4.
        return sum * 0.7f;
    }

private:
    struct Mode {
        float b1 = 0, b2 = 0, y1 = 0, y2 = 0;
    };
    std::array<Mode, kModes> modes_{};
    float sampleRate_ = 48000.0f;
    bool active_ = false;
};

}  // namespace soundstar::dsp

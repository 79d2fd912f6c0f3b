#pragma once
// Band-limited oscillators. Saw and square/pulse use PolyBLEP (Valimaki & Huovilainen 2007,
// "Antialiasing oscillators in subtractive synthesis"); triangle is a leaky integral of the
// band-limited square. prepare() [control]; setters and tick() [rt].
#include <cmath>
#include <numbers>

#include "dsp/FastMath.h"

namespace soundstar::dsp {

enum class Waveform { Sine, Saw, Square, Triangle, Pulse };

/// Two-sample polynomial band-limited step residual; t is the phase in [0,1), dt the increment.
inline float polyBlep(double t, double dt) {
    if (t < dt) {
        const double x = t / dt;
        return static_cast<float>(x + x - x * x - 1.0);
    }
    if (t > 1.0 - dt) {
        const double x = (t - 1.0) / dt;
        return static_cast<float>(x * x + x + x + 1.0);
    }
    return 0.0f;
}

class Oscillator {
public:
    void prepare(double sampleRate) {
        sampleRate_ = sampleRate;
        setFrequency(freqHz_);
    }
    void reset(double phase = 0.0) {
        phase_ = phase;
        tri_ = 0.0f;
    }
    /// Frequency in Hz, clamped to [0, Nyquist).
    void setFrequency(float hz) {
        freqHz_ = hz;
        double dt = hz / sampleRate_;
        dt_ = dt < 0.0 ? 0.0 : (dt > 0.49 ? 0.49 : dt);
    }
    void setWaveform(Waveform w) { wave_ = w; }
    /// Duty cycle for Pulse, 0.05 to 0.95.
    void setPulseWidth(float w) { width_ = w < 0.05f ? 0.05f : (w > 0.95f ? 0.95f : w); }
    float frequency() const { return freqHz_; }

    /// Next sample in [-1, 1].
    float tick() {
        const double t = phase_;
        float y = 0.0f;
        switch (wave_) {
            case Waveform::Sine: y = sinCycles(t); break;
            case Waveform::Saw: y = static_cast<float>(2.0 * t - 1.0) - polyBlep(t, dt_); break;
            case Waveform::Square: y = square(t, 0.5); break;
            case Waveform::Pulse: y = square(t, width_); break;
            case Waveform::Triangle: {
                // Leaky integration of the band-limited square; 4*dt scales to +-1.
                tri_ = static_cast<float>(4.0 * dt_) * square(t, 0.5) + tri_ * 0.9995f;
                y = tri_;
                break;
            }
        }
        phase_ += dt_;
        if (phase_ >= 1.0) phase_ -= 1.0;
        return y;
    }
    void process(float* out, int n) {
        for (int i = 0; i < n; ++i) out[i] = tick();
    }

private:
    float square(double t, double w) const {
        double t2 = t + (1.0 - w);
        if (t2 >= 1.0) t2 -= 1.0;
        return (t < w ? 1.0f : -1.0f) + polyBlep(t, dt_) - polyBlep(t2, dt_);
    }
    double sampleRate_ = 48000.0, phase_ = 0.0, dt_ = 0.0;
    float freqHz_ = 440.0f, width_ = 0.5f, tri_ = 0.0f;
    Waveform wave_ = Waveform::Saw;
};

}  // namespace soundstar::dsp

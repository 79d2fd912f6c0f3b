#pragma once
// Biquad filter, coefficients from R. Bristow-Johnson's "Audio EQ Cookbook"; transposed direct
// form II. set() [rt] (computes coefficients), tick() [rt]. z1 sums the terms that need no y
// first, (b1 x + z2) - a1 y, so the recurrence is two fused multiply-adds a sample, y then z1
// (b1 x - a1 y + z2 put a multiply, a subtract and an add between one y and the next).
#include <algorithm>
#include <cmath>
#include <numbers>

namespace soundstar::dsp {

enum class BiquadType { LowPass, HighPass, BandPass, Notch, Peak, LowShelf, HighShelf };

class Biquad {
public:
    void prepare(double sampleRate) { sampleRate_ = sampleRate; }
    void reset() { z1_ = z2_ = 0.0f; }
    /// Its state is zero: a block of zeros leaves it so and comes out as zeros [rt].
    bool atRest() const { return z1_ == 0.0f && z2_ == 0.0f; }
    /// freqHz below Nyquist, q > 0, gainDb for Peak and shelves.
    void set(BiquadType type, float freqHz, float q, float gainDb = 0.0f) {
        const double f = std::clamp<double>(freqHz, 1.0, sampleRate_ * 0.49);
        const double w0 = 2.0 * std::numbers::pi * f / sampleRate_;
        const double cw = std::cos(w0), sw = std::sin(w0);
        const double alpha = sw / (2.0 * std::max(q, 0.01f));
        const double A = std::pow(10.0, gainDb / 40.0);
        double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
        switch (type) {
            case BiquadType::LowPass:
                b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = b0;
                a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
                break;
            case BiquadType::HighPass:
                b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = b0;
                a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
                break;
            case BiquadType::BandPass:
                b0 = alpha; b1 = 0; b2 = -alpha;
                a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
                break;
            case BiquadType::Notch:
                b0 = 1; b1 = -2 * cw; b2 = 1;
                a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
                break;
            case BiquadType::Peak:
                b0 = 1 + alpha * A; b1 = -2 * cw; b2 = 1 - alpha * A;
                a0 = 1 + alpha / A; a1 = -2 * cw; a2 = 1 - alpha / A;
                break;
            case BiquadType::LowShelf: {
                const double s = 2 * std::sqrt(A) * alpha;
                b0 = A * ((A + 1) - (A - 1) * cw + s); b1 = 2 * A * ((A - 1) - (A + 1) * cw);
                b2 = A * ((A + 1) - (A - 1) * cw - s); a0 = (A + 1) + (A - 1) * cw + s;
                a1 = -2 * ((A - 1) + (A + 1) * cw); a2 = (A + 1) + (A - 1) * cw - s;
                break;
            }
            case BiquadType::HighShelf: {
                const double s = 2 * std::sqrt(A) * alpha;
                b0 = A * ((A + 1) + (A - 1) * cw + s); b1 = -2 * A * ((A - 1) + (A + 1) * cw);
                b2 = A * ((A + 1) + (A - 1) * cw - s); a0 = (A + 1) - (A - 1) * cw + s;
                a1 = 2 * ((A - 1) - (A + 1) * cw); a2 = (A + 1) - (A - 1) * cw - s;
                break;
            }
        }
        b0_ = static_cast<float>(b0 / a0); b1_ = static_cast<float>(b1 / a0); b2_ = static_cast<float>(b2 / a0);
        a1_ = static_cast<float>(a1 / a0); a2_ = static_cast<float>(a2 / a0);
    }
    float tick(float x) {
        const float y = b0_ * x + z1_;
        z1_ = (b1_ * x + z2_) - a1_ * y;
        z2_ = b2_ * x - a2_ * y;
        return y;
    }
    /// In place over a block; the state lives in registers for the loop (the buffer could
    /// alias the members as far as the compiler knows).
    void process(float* io, int n) {
        float z1 = z1_, z2 = z2_;
        for (int i = 0; i < n; ++i) {
            const float x = io[i], y = b0_ * x + z1;
            z1 = (b1_ * x + z2) - a1_ * y;
            z2 = b2_ * x - a2_ * y;
            io[i] = y;
        }
        z1_ = z1;
        z2_ = z2;
    }
    /// Two filters (left and right, same or different coefficients) in one loop: their
    /// recurrences overlap, nearly halving the time of two process() calls.
    static void processPair(Biquad& fl, float* l, Biquad& fr, float* r, int n) {
        float lz1 = fl.z1_, lz2 = fl.z2_, rz1 = fr.z1_, rz2 = fr.z2_;
        for (int i = 0; i < n; ++i) {
            const float xl = l[i], yl = fl.b0_ * xl + lz1;
            const float xr = r[i], yr = fr.b0_ * xr + rz1;
            lz1 = (fl.b1_ * xl + lz2) - fl.a1_ * yl;
            lz2 = fl.b2_ * xl - fl.a2_ * yl;
            rz1 = (fr.b1_ * xr + rz2) - fr.a1_ * yr;
            rz2 = fr.b2_ * xr - fr.a2_ * yr;
            l[i] = yl;
            r[i] = yr;
        }
        fl.z1_ = lz1;
        fl.z2_ = lz2;
        fr.z1_ = rz1;
        fr.z2_ = rz2;
    }

private:
    double sampleRate_ = 48000.0;
    float b0_ = 1, b1_ = 0, b2_ = 0, a1_ = 0, a2_ = 0, z1_ = 0, z2_ = 0;
};

}  // namespace soundstar::dsp

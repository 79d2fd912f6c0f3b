#pragma once
// Fast math for the audio path [rt]: a table sine for oscillators, FM operators and LFOs (4096
// points, linear interpolation, error 3e-7 = -130 dB), a branch-free polynomial sine, a rational
// tanh for saturation, and log2/exp2 for dynamics detectors.
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace soundstar::dsp {

namespace detail {
constexpr int kSineTableSize = 4096;
/// Filled before main() by a static initialiser in FastSine.cpp (size + 1 for the wrap point).
extern const std::array<float, kSineTableSize + 1> kSineTable;
}  // namespace detail

/// sin(2*pi*cycles) for any finite `cycles`.
inline float sinCycles(double cycles) {
    const double wrapped = cycles - std::floor(cycles);
    const double pos = wrapped * detail::kSineTableSize;
    const int i = static_cast<int>(pos);
    const float frac = static_cast<float>(pos - i);
    const float a = detail::kSineTable[static_cast<std::size_t>(i)];
    const float b = detail::kSineTable[static_cast<std::size_t>(i + 1)];
    return a + (b - a) * frac;
}

/// sin(2*pi*x) by folding to a quarter period and an odd Taylor polynomial to x^11 (error
/// below 1e-7). Branch-free, so loops over it vectorize (no table gathers).
inline float sinCyclesPoly(float x) {
    float r = x - std::floor(x + 0.5f);  // [-0.5, 0.5)
    r = r > 0.25f ? 0.5f - r : r;        // sin(pi - t) = sin(t)
    r = r < -0.25f ? -0.5f - r : r;
    const float t = r * 6.2831853f, t2 = t * t;
    return t * (1.0f + t2 * (-1.6666667e-1f + t2 * (8.3333333e-3f + t2 * (-1.9841270e-4f +
                t2 * (2.7557319e-6f + t2 * -2.5052108e-8f)))));
}

/// tanh(x) by a clamped [7/6] Pade-style rational (Lambert's continued fraction): error below
/// 2e-4 everywhere, exactly +-1 beyond |x| = 4.97. For saturation stages.
inline float fastTanh(float x) {
    x = x < -4.97f ? -4.97f : (x > 4.97f ? 4.97f : x);
    const float x2 = x * x;
    const float num = x * (135135.0f + x2 * (17325.0f + x2 * (378.0f + x2)));
    const float den = 135135.0f + x2 * (62370.0f + x2 * (3150.0f + x2 * 28.0f));
    const float y = num / den;
    return y > 1.0f ? 1.0f : (y < -1.0f ? -1.0f : y);
}

/// log2(x) for x > 0 from the float's exponent and a least-squares quartic on the mantissa
/// (error < 2e-4, i.e. 0.001 dB): for level detectors, not for synthesis.
inline float fastLog2(float x) {
    // Exponent and mantissa straight from the IEEE-754 bits (x > 0, normal).
    const auto bits = std::bit_cast<std::uint32_t>(x);
    const auto e = static_cast<int>((bits >> 23) & 0xFF) - 127;
    const float t = std::bit_cast<float>((bits & 0x007FFFFFu) | 0x3F800000u) - 1.0f;  // [0, 1)
    return static_cast<float>(e) + t * (1.4385454f + t * (-0.6780715f + t * (0.3236105f + t * -0.0842731f)));
}

/// 2^x (relative error < 1e-5, least-squares quartic on the fraction): for gain computers.
inline float fastExp2(float x) {
    const float fl = std::floor(x);
    const float f = x - fl;
    const float p = 1.0f + f * (0.6930186f + f * (0.2414053f + f * (0.0520730f + f * 0.0134941f)));
    const int e = static_cast<int>(fl);
    if (e < -126) return 0.0f;
    if (e > 127) return std::numeric_limits<float>::infinity();
    return p * std::bit_cast<float>(static_cast<std::uint32_t>(e + 127) << 23);  // p * 2^e
}

}  // namespace soundstar::dsp

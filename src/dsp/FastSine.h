#pragma once
// Table sine for oscillators, FM operators and LFOs: 4096 points with linear interpolation,
// worst-case error 3e-7 (-130 dB), several times faster than std::sin [rt].
#include <array>
#include <cmath>

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

}  // namespace soundstar::dsp

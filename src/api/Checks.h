#pragma once
// Argument checks the facade's types share: each error names the value and what is allowed.
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace soundstar::api {

inline void checkRange(const char* what, double value, double lo, double hi, const char* unit) {
    if (!std::isfinite(value) || value < lo || value > hi)
        throw std::invalid_argument(fmt::format("{} {:g}{} is out of range; allowed: {:g} to {:g}{}", what, value, unit, lo, hi, unit));
}

inline void checkSampleRate(double hz) {
    checkRange("sample rate", hz, 8000.0, 192000.0, " Hz");
    if (hz != std::floor(hz)) throw std::invalid_argument(fmt::format("sample rate {:g} Hz is not a whole number; allowed: 8000 to 192000 Hz", hz));
}

}  // namespace soundstar::api

#include "dsp/FastMath.h"

#include <numbers>

namespace soundstar::dsp::detail {
namespace {
std::array<float, kSineTableSize + 1> build() {
    std::array<float, kSineTableSize + 1> t{};
    for (int i = 0; i <= kSineTableSize; ++i)
        t[static_cast<std::size_t>(i)] = static_cast<float>(std::sin(2.0 * std::numbers::pi * i / kSineTableSize));
    return t;
}
}  // namespace
const std::array<float, kSineTableSize + 1> kSineTable = build();
}  // namespace soundstar::dsp::detail

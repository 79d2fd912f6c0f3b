#include "engine/Param.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace soundstar::engine {

std::string describeParams(std::span<const ParamSpec> specs) {
    std::string out;
    for (const auto& s : specs) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{} ({:g}..{:g}{}{})", s.name, s.min, s.max, *s.unit ? " " : "", s.unit);
    }
    return out;
}

int checkParam(std::span<const ParamSpec> specs, std::string_view owner, std::string_view name, float value) {
    const int i = findParam(specs, name);
    if (i < 0)
        throw std::invalid_argument(
            fmt::format("{} has no parameter '{}'; it has: {}", owner, name, describeParams(specs)));
    const auto& s = specs[static_cast<std::size_t>(i)];
    if (!std::isfinite(value) || value < s.min || value > s.max)
        throw std::invalid_argument(fmt::format("{}.{} = {:g} is out of range: allowed {:g}..{:g}{}{}", owner, name,
                                                value, s.min, s.max, *s.unit ? " " : "", s.unit));
    return i;
}

}  // namespace soundstar::engine

#pragma once
// Named, ranged, unit-carrying parameters: everything an API or an LLM may set has one.
#include <span>
#include <string>
#include <string_view>

namespace soundstar::engine {

struct ParamSpec {
    const char* name;
    float min, max, def;
    const char* unit;
    const char* help;
};

/// Index of a parameter by name, or -1 [control].
inline int findParam(std::span<const ParamSpec> specs, std::string_view name) {
    for (std::size_t i = 0; i < specs.size(); ++i)
        if (name == specs[i].name) return static_cast<int>(i);
    return -1;
}

/// "cutoff (20..20000 Hz), resonance (0..1), ..." for error messages [control].
std::string describeParams(std::span<const ParamSpec> specs);

/// Throws std::invalid_argument naming the parameter, the value and the allowed range when
/// value is out of range or not finite; returns the index otherwise [control].
int checkParam(std::span<const ParamSpec> specs, std::string_view owner, std::string_view name, float value);

}  // namespace soundstar::engine

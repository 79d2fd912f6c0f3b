#include "server/Schema.h"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::server {
namespace {

using nlohmann::json;

std::string typeOf(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "boolean";
        case json::value_t::string: return "string";
        case json::value_t::array: return "array";
        case json::value_t::object: return "object";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "integer";
        case json::value_t::number_float: return "number";
        default: return "other";
    }
}

bool hasType(const json& v, const std::string& t) {
    if (t == "number") return v.is_number();
    if (t == "integer") {
        if (v.is_number_integer()) return true;
        if (!v.is_number_float()) return false;
        const double d = v.get<double>();
        return std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15;
    }
    return typeOf(v) == t;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::invalid_argument(fmt::format("{}: {}", music::clipText(path, 200), what));
}

void checkType(const json& schema, const json& v, const std::string& path) {
    const auto it = schema.find("type");
    if (it == schema.end()) return;
    if (it->is_string()) {
        if (!hasType(v, it->get<std::string>())) fail(path, fmt::format("{} is a {}; allowed a {}", music::quoteJson(v, 60), typeOf(v), it->get<std::string>()));
        return;
    }
    std::string names;
    for (const auto& t : *it) {
        if (hasType(v, t.get<std::string>())) return;
        names += (names.empty() ? "" : " or ") + t.get<std::string>();
    }
    fail(path, fmt::format("{} is a {}; allowed {}", music::quoteJson(v, 60), typeOf(v), names));
}

/// A bound as people write it: 30 rather than 30.0, 0.01 as it is.
std::string boundText(const json& b) {
    if (!b.is_number_float()) return b.dump();
    const double d = b.get<double>();
    return d == std::floor(d) && std::abs(d) <= 9007199254740992.0 ? fmt::format("{:.0f}", d) : fmt::format("{:g}", d);
}

void checkNumber(const json& schema, const json& v, const std::string& path) {
    if (!v.is_number()) return;
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(path, "the number is not finite");
    // With both bounds, the error names the whole range.
    const auto lo = schema.find("minimum"), hi = schema.find("maximum");
    const std::string range = lo != schema.end() && hi != schema.end() ? fmt::format(" (allowed {} to {})", boundText(*lo), boundText(*hi)) : std::string();
    if (lo != schema.end() && d < lo->get<double>()) fail(path, fmt::format("{} is below the minimum {}{}", music::quoteJson(v, 40), boundText(*lo), range));
    if (hi != schema.end() && d > hi->get<double>()) fail(path, fmt::format("{} is above the maximum {}{}", music::quoteJson(v, 40), boundText(*hi), range));
}

void checkString(const json& schema, const json& v, const std::string& path) {
    if (!v.is_string()) return;
    const std::size_t n = v.get_ref<const std::string&>().size();
    if (auto it = schema.find("minLength"); it != schema.end() && n < it->get<std::size_t>())
        fail(path, fmt::format("text of {} characters is shorter than the minimum {}", n, it->get<std::size_t>()));
    if (auto it = schema.find("maxLength"); it != schema.end() && n > it->get<std::size_t>())
        fail(path, fmt::format("text of {} characters is longer than the maximum {}", n, it->get<std::size_t>()));
    if (auto it = schema.find("pattern"); it != schema.end()) {
        // Patterns are ours (short, anchored) and only meet strings already within maxLength.
        const std::regex re(it->get<std::string>(), std::regex::ECMAScript);
        if (!std::regex_search(v.get_ref<const std::string&>(), re))
            fail(path, fmt::format("{} does not match the pattern {}", music::quoteJson(v, 60), it->get<std::string>()));
    }
}

void checkObject(const json& schema, const json& v, const std::string& path) {
    if (!v.is_object()) return;
    const json empty = json::object();
    const auto pit = schema.find("properties");
    const json& props = pit != schema.end() ? *pit : empty;
    if (auto it = schema.find("required"); it != schema.end())
        for (const auto& name : *it)
            if (!v.contains(name.get<std::string>())) fail(path, fmt::format("'{}' is required", name.get<std::string>()));
    if (auto it = schema.find("maxProperties"); it != schema.end() && v.size() > it->get<std::size_t>())
        fail(path, fmt::format("{} fields; at most {} allowed", v.size(), it->get<std::size_t>()));
    if (auto it = schema.find("minProperties"); it != schema.end() && v.size() < it->get<std::size_t>())
        fail(path, fmt::format("{} fields; at least {} needed", v.size(), it->get<std::size_t>()));
    const auto extra = schema.find("additionalProperties");
    for (const auto& [key, value] : v.items()) {
        const std::string sub = fmt::format("{}.{}", path, music::clipText(key, 60));
        if (auto p = props.find(key); p != props.end()) {
            validateJson(*p, value, sub);
        } else if (extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
            std::string allowed;
            for (const auto& [name, s] : props.items()) allowed += (allowed.empty() ? "" : ", ") + name;
            fail(path, fmt::format("unknown field '{}'; allowed: {}", music::clipText(key, 60), allowed.empty() ? "none" : allowed));
        } else if (extra != schema.end() && extra->is_object()) {
            validateJson(*extra, value, sub);
        }
    }
}

void checkArray(const json& schema, const json& v, const std::string& path) {
    if (!v.is_array()) return;
    if (auto it = schema.find("maxItems"); it != schema.end() && v.size() > it->get<std::size_t>())
        fail(path, fmt::format("{} items; at most {} allowed", v.size(), it->get<std::size_t>()));
    if (auto it = schema.find("minItems"); it != schema.end() && v.size() < it->get<std::size_t>())
        fail(path, fmt::format("{} items; at least {} needed", v.size(), it->get<std::size_t>()));
    if (auto it = schema.find("items"); it != schema.end())
        for (std::size_t i = 0; i < v.size(); ++i) validateJson(*it, v[i], fmt::format("{}[{}]", path, i));
}

void checkAlternatives(const json& schema, const json& v, const std::string& path) {
    for (const char* key : {"oneOf", "anyOf"}) {
        const auto it = schema.find(key);
        if (it == schema.end()) continue;
        int matches = 0;
        std::string firstError;
        for (const auto& alt : *it) {
            try {
                validateJson(alt, v, path);
                ++matches;
            } catch (const std::invalid_argument& e) {
                if (firstError.empty()) firstError = e.what();
            }
        }
        if (matches == 0) {
            std::string forms;
            for (const auto& alt : *it) forms += (forms.empty() ? "" : " | ") + music::clipText(alt.value("description", alt.dump()), 120);
            fail(path, fmt::format("{} matches none of the allowed forms: {}", music::quoteJson(v, 60), music::clipText(forms, 600)));
        }
        if (matches > 1 && std::string(key) == "oneOf") fail(path, fmt::format("{} matches more than one allowed form", music::quoteJson(v, 60)));
    }
}

}  // namespace

void validateJson(const json& schema, const json& v, const std::string& path) {
    if (!schema.is_object()) return;
    checkType(schema, v, path);
    if (auto it = schema.find("const"); it != schema.end() && *it != v)
        fail(path, fmt::format("{} is not allowed; allowed only {}", music::quoteJson(v, 60), it->dump()));
    if (auto it = schema.find("enum"); it != schema.end()) {
        bool found = false;
        for (const auto& e : *it) found = found || e == v;
        if (!found) fail(path, fmt::format("{} is not allowed; allowed: {}", music::quoteJson(v, 60), music::clipText(it->dump(), 600)));
    }
    checkNumber(schema, v, path);
    checkString(schema, v, path);
    checkObject(schema, v, path);
    checkArray(schema, v, path);
    checkAlternatives(schema, v, path);
}

}  // namespace soundstar::server

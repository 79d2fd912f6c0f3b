#pragma once
// Small JSON Schema builders for the rows of the sampler and analysis services [control].
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace soundstar::server::schema {

/// An object schema with these properties, these required, and nothing else.
inline nlohmann::json object(nlohmann::json properties, std::vector<std::string> required = {}) {
    if (properties.is_null()) properties = nlohmann::json::object();
    nlohmann::json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
    if (!required.empty()) s["required"] = required;
    return s;
}
inline nlohmann::json number(double lo, double hi, const char* what) {
    return {{"type", "number"}, {"minimum", lo}, {"maximum", hi}, {"description", what}};
}
inline nlohmann::json integer(double lo, double hi, const char* what) {
    return {{"type", "integer"}, {"minimum", lo}, {"maximum", hi}, {"description", what}};
}
inline nlohmann::json text(std::size_t maxLength, const char* what) {
    return {{"type", "string"}, {"minLength", 1}, {"maxLength", maxLength}, {"description", what}};
}
inline nlohmann::json name(const char* what) {
    return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]{1,40}$"}, {"maxLength", 40}, {"description", what}};
}
inline nlohmann::json choice(std::vector<std::string> values, const char* what) {
    return {{"type", "string"}, {"enum", values}, {"description", what}};
}

/// When a command applies, as the engine rows take it: "now", {"sample"}, {"beat"} or {"quantize"}.
inline nlohmann::json at() {
    return {{"description", "when it applies: \"now\" (default), {\"sample\": N}, {\"beat\": B} or {\"quantize\": \"beat\"|\"bar\"}"},
            {"oneOf", nlohmann::json::array({{{"type", "string"}, {"enum", {"now"}}},
                                             object({{"sample", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1e15}}}}, {"sample"}),
                                             object({{"beat", {{"type", "number"}, {"minimum", 0}, {"maximum", 1e7}}}}, {"beat"}),
                                             object({{"quantize", {{"type", "string"}, {"enum", {"beat", "bar"}}}}}, {"quantize"})})}};
}

}  // namespace soundstar::server::schema

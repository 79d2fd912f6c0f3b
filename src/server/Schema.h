#pragma once
// A JSON Schema validator for the subset the operation table uses [control]: type (one or a
// list), enum, const, minimum/maximum, minLength/maxLength, pattern (ECMAScript), properties,
// required, additionalProperties (false or a schema), minProperties/maxProperties, items,
// minItems/maxItems, oneOf, anyOf, description/title (ignored). The same schemas are published
// in /openapi.json and /v1/tools, so what a client reads is what the server checks. There is no
// C++ JSON Schema validator in Debian; tests cross-check decisions with python3-jsonschema.
#include <nlohmann/json.hpp>
#include <string>

namespace soundstar::server {

/// Throws std::invalid_argument naming the first place `value` breaks `schema` ("args.note:
/// 200 is above the maximum 127"), with bounded quotes of values.
void validateJson(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path = "args");

}  // namespace soundstar::server

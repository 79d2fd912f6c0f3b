#pragma once
// Reading JSON from users, files and LLMs with bounds [control]: a size and nesting-depth limit
// checked before nlohmann builds anything (so no input can exhaust the stack or memory), bounded
// quotes of values for error messages (never a recursive dump of untrusted data), and a bounded
// read of a text file (`--config /dev/zero` stops at the limit instead of reading forever).
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace soundstar::music {

/// Limits for one JSON text. Defaults: 1 MiB and 64 levels of arrays/objects.
struct JsonLimits {
    std::size_t maxBytes = std::size_t{1} << 20;
    int maxDepth = 64;
};

/// The nesting depth of a JSON text ([ and { outside strings), stopping early once past `limit`.
int jsonDepth(std::string_view text, int limit);

/// Parses JSON text within `limits`. Throws std::invalid_argument naming `origin`, the limit that
/// was passed, and the allowed value; or saying where the text is not valid JSON.
nlohmann::json parseJsonBounded(std::string_view text, const std::string& origin, const JsonLimits& limits = {});

/// A value as compact JSON for a message, cut to `maxChars` (with "..." when cut). Safe on any
/// value parsed within limits; values nested deeper than 64 levels are quoted by type only.
std::string quoteJson(const nlohmann::json& value, std::size_t maxChars = 80);

/// Text cut to `maxChars` with "..." when cut (for echoing user text in messages). The result is
/// always valid UTF-8 (see validUtf8), so it can go into any JSON reply.
std::string clipText(std::string_view text, std::size_t maxChars);

/// `text` with every byte that does not start a valid UTF-8 sequence replaced by '?'.
std::string validUtf8(std::string_view text);

/// Reads a whole text file of at most `maxBytes`. Throws std::invalid_argument naming `what`
/// (e.g. "--config") when it cannot be read or is larger than the limit (which is named).
std::string readTextFile(const std::filesystem::path& path, const std::string& what, std::size_t maxBytes = std::size_t{1} << 20);

}  // namespace soundstar::music

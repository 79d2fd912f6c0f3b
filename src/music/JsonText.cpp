#include "music/JsonText.h"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace soundstar::music {

int jsonDepth(std::string_view text, int limit) {
    int depth = 0, deepest = 0;
    bool inString = false, escaped = false;
    for (const char ch : text) {
        if (inString) {
            if (escaped) escaped = false;
            else if (ch == '\\') escaped = true;
            else if (ch == '"') inString = false;
            continue;
        }
        if (ch == '"') inString = true;
        else if (ch == '[' || ch == '{') {
            deepest = std::max(deepest, ++depth);
            if (deepest > limit) return deepest;
        } else if (ch == ']' || ch == '}') {
            depth = std::max(0, depth - 1);
        }
    }
    return deepest;
}

nlohmann::json parseJsonBounded(std::string_view text, const std::string& origin, const JsonLimits& limits) {
    if (text.size() > limits.maxBytes)
        throw std::invalid_argument(fmt::format("{}: the JSON text is {} bytes; the limit is {} bytes", origin, text.size(),
                                                limits.maxBytes));
    if (jsonDepth(text, limits.maxDepth) > limits.maxDepth)
        throw std::invalid_argument(fmt::format("{}: the JSON nests more than {} levels of arrays and objects (the limit)",
                                                origin, limits.maxDepth));
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // syntax errors and number overflow alike
        throw std::invalid_argument(fmt::format("{}: not valid JSON: {}", origin, clipText(e.what(), 200)));
    }
}

namespace {
// Depth of a parsed value, stopping once past `limit` (iterative: no recursion on deep input).
bool deeperThan(const nlohmann::json& root, int limit) {
    std::vector<std::pair<const nlohmann::json*, int>> todo{{&root, 0}};
    while (!todo.empty()) {
        const auto [v, d] = todo.back();
        todo.pop_back();
        if (!v->is_structured()) continue;
        if (d + 1 > limit) return true;
        for (const auto& child : *v) todo.emplace_back(&child, d + 1);
    }
    return false;
}
}  // namespace

std::string quoteJson(const nlohmann::json& value, std::size_t maxChars) {
    if (deeperThan(value, 64)) return value.is_array() ? "[...]" : "{...}";
    return clipText(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), maxChars);
}

namespace {
// The length of the valid UTF-8 sequence starting at `i` (1 to 4), or 0 when the bytes there are
// not one (a stray continuation byte, a truncated or overlong sequence, a surrogate, > U+10FFFF).
std::size_t utf8SequenceAt(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) n = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) n = 4, hi = 0x8F;
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    return n;
}
}  // namespace

std::string validUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8SequenceAt(text, i);
        if (n == 0) {
            out += '?';
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::string clipText(std::string_view text, std::size_t maxChars) {
    if (text.size() <= maxChars) return validUtf8(text);
    std::size_t cut = maxChars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    return validUtf8(text.substr(0, cut)) + "...";
}

std::string readTextFile(const std::filesystem::path& path, const std::string& what, std::size_t maxBytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(fmt::format("{}: cannot read {}", what, path.string()));
    std::string text;
    std::vector<char> chunk(64 * 1024);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
        if (text.size() > maxBytes)
            throw std::invalid_argument(fmt::format("{}: {} is larger than the limit of {} bytes", what, path.string(), maxBytes));
    }
    if (in.bad()) throw std::invalid_argument(fmt::format("{}: error while reading {}", what, path.string()));
    return text;
}

}  // namespace soundstar::music

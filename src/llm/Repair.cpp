#include "llm/Repair.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cmath>
#include <map>

#include "llm/LlmClient.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::llm {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r\n\"'`");
    if (a == std::string::npos) return "";
    const auto b = s.find_last_not_of(" \t\r\n\"'`.");
    return s.substr(a, b - a + 1);
}

/// Leading number of a string ("120 BPM" -> 120); nullopt if none.
std::optional<double> leadingNumber(const std::string& s, std::size_t* end = nullptr) {
    std::size_t i = s.find_first_of("0123456789");
    if (i == std::string::npos) return std::nullopt;
    if (i > 0 && s[i - 1] == '.') --i;
    try {
        std::size_t used = 0;
        const double v = std::stod(s.substr(i), &used);
        if (end) *end = i + used;
        return v;
    } catch (const std::logic_error&) {
        return std::nullopt;
    }
}

}  // namespace

std::string sanitizeUtf8(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xC0) == 0x80;
        if (ok && len > 1) {
            // Reject overlong forms, surrogates and code points above U+10FFFF.
            std::uint32_t cp = c & (0x7F >> len);
            for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
            ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
                   cp > 0x10FFFF);
        }
        if (ok) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

std::string clipUtf8(const std::string& text, std::size_t maxBytes) {
    if (text.size() <= maxBytes) return text;
    std::size_t end = maxBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return text.substr(0, end);
}

namespace {
/// Numbers a double cannot hold ("4E2618853750008130") made finite ("4E99" is still out of any
/// range, so the field is dropped later with a warning instead of the whole answer failing).
std::string tameNumbers(const std::string& in) {
    std::string out;
    bool str = false, esc = false;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (str) {
            out += c;
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') str = false;
            continue;
        }
        if (c == '"') str = true;
        if ((c == 'e' || c == 'E') && !out.empty() && std::isdigit(static_cast<unsigned char>(out.back()))) {
            std::size_t j = i + 1;
            std::string sign;
            if (j < in.size() && (in[j] == '+' || in[j] == '-')) sign = in[j++];
            std::size_t k = j;
            while (k < in.size() && std::isdigit(static_cast<unsigned char>(in[k]))) ++k;
            if (k - j > 2) {  // |exponent| >= 100: beyond any field, and maybe beyond a double
                out += c + sign + "99";
                i = k - 1;
                continue;
            }
        }
        out += c;
    }
    return out;
}
}  // namespace

std::optional<nlohmann::json> extractJson(const std::string& text) {
    // Top-level candidates only: a nested object of a broken answer is not the answer.
    for (std::size_t start = text.find_first_of("{["); start != std::string::npos;) {
        // Find the matching close, minding strings.
        int depth = 0;
        bool inString = false, escaped = false;
        std::size_t end = std::string::npos;
        for (std::size_t i = start; i < text.size(); ++i) {
            const char c = text[i];
            if (inString) {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            else if (c == '{' || c == '[') ++depth;
            else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    end = i;
                    break;
                }
            }
        }
        if (end == std::string::npos) return std::nullopt;  // unbalanced: cut off
        const std::size_t next = text.find_first_of("{[", end + 1);
        std::string candidate = tameNumbers(text.substr(start, end - start + 1));
        for (int pass = 0; pass < 2; ++pass) {
            try {
                return music::parseJsonBounded(candidate, "LLM answer", {kMaxAnswerBytes, 64});
            } catch (const std::invalid_argument&) {  // not JSON (yet), or past the size or depth limit
            }
            // Forgive trailing commas (outside strings).
            std::string fixed;
            bool str = false, esc = false;
            for (std::size_t i = 0; i < candidate.size(); ++i) {
                const char c = candidate[i];
                if (str) {
                    fixed += c;
                    if (esc) esc = false;
                    else if (c == '\\') esc = true;
                    else if (c == '"') str = false;
                    continue;
                }
                if (c == '"') str = true;
                if (c == ',') {
                    const auto next = candidate.find_first_not_of(" \t\r\n", i + 1);
                    if (next != std::string::npos && (candidate[next] == '}' || candidate[next] == ']')) continue;
                }
                fixed += c;
            }
            candidate = fixed;
        }
        start = next;
    }
    return std::nullopt;
}

std::optional<double> repairBpm(const nlohmann::json& v) {
    std::optional<double> bpm;
    if (v.is_number()) bpm = v.get<double>();
    else if (v.is_string()) {
        const std::string s = v.get<std::string>();
        std::size_t end = 0;
        bpm = leadingNumber(s, &end);
        if (bpm && end < s.size()) {
            const auto dash = s.find_first_of("-\xE2", end);  // "120-130", "120–130"
            std::size_t end2 = 0;
            if (dash != std::string::npos && dash <= end + 2)
                if (const auto hi = leadingNumber(s.substr(dash), &end2); hi && *hi > *bpm) bpm = (*bpm + *hi) / 2;
        }
    }
    if (!bpm || !std::isfinite(*bpm) || *bpm < 40 || *bpm > 220) return std::nullopt;
    return std::round(*bpm * 10) / 10;
}

std::optional<RepairedKey> repairKey(const std::string& text) {
    std::string s = lower(trim(text));
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"\xE2\x99\xAF", "#"}, {"\xE2\x99\xAD", "b"}, {" sharp", "#"}, {"-sharp", "#"}, {" flat", "b"}, {"-flat", "b"}, {"key of ", ""}, {" key", ""}})
        for (auto p = s.find(from); p != std::string::npos; p = s.find(from)) s.replace(p, from.size(), to);
    if (s.empty() || s[0] < 'a' || s[0] > 'g') return std::nullopt;
    std::string note(1, s[0]);
    std::size_t i = 1;
    if (i < s.size() && (s[i] == '#' || s[i] == 'b')) note += s[i++];
    const auto pc = music::parsePitchClass(note);
    if (!pc) return std::nullopt;
    std::string rest = trim(s.substr(i));
    if (rest.empty()) return RepairedKey{*pc, false, music::Mode::Minor};
    if (rest == "m" || rest == "min" || rest == "minor" || rest == "aeolian") return RepairedKey{*pc, true, music::Mode::Minor};
    if (rest == "maj" || rest == "major" || rest == "ionian") return RepairedKey{*pc, true, music::Mode::Major};
    std::replace(rest.begin(), rest.end(), ' ', '_');
    std::replace(rest.begin(), rest.end(), '-', '_');
    if (const auto m = music::parseMode(rest)) return RepairedKey{*pc, true, *m};
    return std::nullopt;
}

std::optional<std::string> repairLabel(const nlohmann::json& v, const std::vector<std::string>& labels) {
    if (!v.is_string()) return std::nullopt;
    std::string s = lower(trim(v.get<std::string>()));
    std::replace(s.begin(), s.end(), ' ', '_');
    std::replace(s.begin(), s.end(), '-', '_');
    if (std::find(labels.begin(), labels.end(), s) != labels.end()) return s;
    // "veryDark", "VERY_DARK" already lowered; "very dark!" trimmed; try without underscores.
    std::string squashed;
    for (char c : s)
        if (c != '_') squashed += c;
    for (const auto& l : labels) {
        std::string ls;
        for (char c : l)
            if (c != '_') ls += c;
        if (ls == squashed) return l;
    }
    return std::nullopt;
}

std::optional<double> repairNumber(const nlohmann::json& v, double lo, double hi) {
    std::optional<double> x;
    if (v.is_number()) x = v.get<double>();
    else if (v.is_boolean()) x = v.get<bool>() ? hi : lo;
    else if (v.is_string()) {
        const std::string s = v.get<std::string>();
        std::size_t end = 0;
        x = leadingNumber(s, &end);
        if (x && s.find('%') != std::string::npos && hi <= 1.0) *x /= 100.0;
        if (x && s.find('-') != std::string::npos && s.find('-') < s.find_first_of("0123456789")) *x = -*x;
    }
    if (!x || !std::isfinite(*x)) return std::nullopt;
    const double width = hi - lo;
    if (*x < lo - width || *x > hi + width) return std::nullopt;
    return std::clamp(*x, lo, hi);
}

std::optional<double> repairSeconds(const nlohmann::json& v) {
    double s = 0;
    if (v.is_number()) s = v.get<double>();
    else if (v.is_string()) {
        const std::string t = lower(trim(v.get<std::string>()));
        if (!t.empty() && t[0] == '-') return std::nullopt;
        if (const auto colon = t.find(':'); colon != std::string::npos) {
            const auto m = leadingNumber(t.substr(0, colon)), sec = leadingNumber(t.substr(colon + 1));
            if (!m || !sec) return std::nullopt;
            s = *m * 60 + *sec;
        } else {
            std::size_t end = 0;
            const auto n = leadingNumber(t, &end);
            if (!n) return std::nullopt;
            const std::string unit = trim(t.substr(end));
            s = *n * (unit.rfind("m", 0) == 0 && unit.rfind("ms", 0) != 0 ? 60.0 : 1.0);
        }
    } else {
        return std::nullopt;
    }
    if (!std::isfinite(s) || s <= 0 || s > 3600) return std::nullopt;
    return s;
}

std::optional<std::string> repairSection(const std::string& text) {
    std::string s = lower(trim(text));
    while (!s.empty() && (std::isdigit(static_cast<unsigned char>(s.back())) || s.back() == ' ')) s.pop_back();
    std::replace(s.begin(), s.end(), '_', ' ');
    const auto& kinds = music::sectionKinds();
    for (const auto& k : kinds)
        if (s == k) return k;
    static const std::map<std::string, std::string> kAlias{
        {"pre-chorus", "build"}, {"prechorus", "build"}, {"pre chorus", "build"}, {"buildup", "build"}, {"build-up", "build"},
        {"build up", "build"},   {"riser", "build"},     {"hook", "chorus"},      {"refrain", "chorus"},  {"coda", "outro"},
        {"ending", "outro"},     {"end", "outro"},       {"fade out", "outro"},   {"opening", "intro"},   {"break", "breakdown"},
        {"interlude", "bridge"}, {"middle eight", "bridge"}, {"solo", "bridge"},  {"instrumental", "bridge"}, {"climax", "drop"},
        {"main", "verse"},       {"theme", "a"},         {"section a", "a"},      {"section b", "b"},     {"a section", "a"},
        {"b section", "b"}};
    if (const auto it = kAlias.find(s); it != kAlias.end() &&
                                        std::find(kinds.begin(), kinds.end(), it->second) != kinds.end())
        return it->second;
    return std::nullopt;
}

std::optional<std::string> repairColour(const std::string& text) {
    std::string s = lower(trim(text));
    static const std::map<std::string, std::string> kNames{
        {"black", "#000000"}, {"white", "#ffffff"}, {"red", "#d32f2f"},    {"orange", "#f57c00"}, {"yellow", "#fbc02d"},
        {"green", "#388e3c"}, {"blue", "#1976d2"},  {"purple", "#7b1fa2"}, {"pink", "#e91e63"},   {"grey", "#757575"},
        {"gray", "#757575"},  {"brown", "#5d4037"}, {"teal", "#00796b"},   {"navy", "#1a237e"},   {"gold", "#c9a227"}};
    if (const auto it = kNames.find(s); it != kNames.end()) return it->second;
    if (!s.empty() && s[0] == '#') s.erase(0, 1);
    if (s.size() == 3) s = {s[0], s[0], s[1], s[1], s[2], s[2]};
    if (s.size() != 6 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    return "#" + s;
}

}  // namespace soundstar::llm

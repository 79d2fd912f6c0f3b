#include "interpret/Text.h"

#include <array>
#include <cstdint>
#include <utility>

namespace soundstar::interpret {
namespace {

// Emoji a prompt is likely to carry, as the words they stand for (UTF-8 byte strings).
constexpr std::array<std::pair<std::string_view, std::string_view>, 40> kEmoji{{
    {"\xF0\x9F\x8C\xA7", " rain "},      {"\xE2\x98\x94", " rain "},          {"\xE2\x9B\x88", " thunderstorm "},
    {"\xF0\x9F\x8C\xA9", " lightning "}, {"\xE2\x9D\x84", " snow "},          {"\xE2\x98\x83", " snow "},
    {"\xE2\x98\x80", " sunny "},         {"\xF0\x9F\x8C\x9E", " sunny "},     {"\xF0\x9F\x8C\x85", " sunrise "},
    {"\xF0\x9F\x8C\x87", " sunset "},    {"\xF0\x9F\x8C\x99", " night "},     {"\xF0\x9F\x8C\x83", " night "},
    {"\xE2\xAD\x90", " stars "},         {"\xF0\x9F\x8C\x8C", " galaxy "},    {"\xF0\x9F\x9A\x80", " space "},
    {"\xF0\x9F\x8C\x8A", " ocean "},     {"\xF0\x9F\x8F\x96", " beach "},     {"\xF0\x9F\x8C\xB2", " forest "},
    {"\xF0\x9F\x8C\xB8", " spring "},    {"\xF0\x9F\x8D\x82", " autumn "},    {"\xF0\x9F\x94\xA5", " intense "},
    {"\xE2\x9D\xA4", " love "},          {"\xF0\x9F\x92\x94", " heartbroken "}, {"\xF0\x9F\x98\xA2", " sad "},
    {"\xF0\x9F\x98\xAD", " sad "},       {"\xF0\x9F\x98\x8A", " happy "},     {"\xF0\x9F\x98\x84", " happy "},
    {"\xF0\x9F\x98\x81", " happy "},     {"\xF0\x9F\x98\x8C", " calm "},      {"\xF0\x9F\x98\xB4", " sleep "},
    {"\xF0\x9F\x98\xB1", " scary "},     {"\xF0\x9F\x91\xBB", " spooky "},    {"\xF0\x9F\x8E\x89", " party "},
    {"\xF0\x9F\x92\x83", " dancing "},   {"\xF0\x9F\x8E\xB9", " piano "},     {"\xF0\x9F\x8E\xB8", " guitar "},
    {"\xF0\x9F\x8E\xBB", " violin "},    {"\xF0\x9F\xA5\x81", " drums "},     {"\xE2\x98\x95", " coffee "},
    {"\xF0\x9F\x8E\xAE", " gaming "},
}};

bool isAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
    std::string s;
    s.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            s += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            ++i;
            continue;
        }
        bool matched = false;
        for (const auto& [bytes, word] : kEmoji)
            if (text.substr(i, bytes.size()) == bytes) {
                s += word;
                i += bytes.size();
                matched = true;
                break;
            }
        if (!matched) {
            s += ' ';
            ++i;
        }
    }
    std::vector<std::string> out;
    std::string cur;
    const auto flush = [&] {
        while (!cur.empty() && (cur.back() == '-' || cur.back() == '\'')) cur.pop_back();
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool word = isAlpha(c) || isDigit(c) || c == '#';
        const bool inner = (c == '-' || c == '\'') && !cur.empty();
        if (!word && !inner) {
            flush();
            continue;
        }
        if (!cur.empty() && word && c != '#') {
            const char p = cur.back();
            if ((isDigit(p) && isAlpha(c)) || (isAlpha(p) && isDigit(c))) {
                // "130bpm" -> "130" "bpm"; but keep "8-bit"-style joins and "3am" as one piece of time.
                if (!(isDigit(p) && (s.compare(i, 2, "am") == 0 || s.compare(i, 2, "pm") == 0))) flush();
            }
        }
        cur += c;
    }
    flush();
    return out;
}

std::string joinTokens(const std::vector<std::string>& tokens, std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < tokens.size() && i < to; ++i) {
        if (!out.empty()) out += ' ';
        out += tokens[i];
    }
    return out;
}

std::uint64_t textHash(std::string_view text) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511627776ull + 0x1b3;
    }
    return h;
}

}  // namespace soundstar::interpret

#include "interpret/StringTable.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

namespace soundstar::interpret {

StringList::StringList(std::span<const char> chars, std::span<const std::uint32_t> offsets, std::string_view what)
    : chars_(chars), offsets_(offsets) {
    if (offsets.empty() || offsets.front() != 0 || offsets.back() != chars.size())
        throw std::runtime_error(fmt::format("{}: the string offsets do not span the {} characters", what, chars.size()));
    for (std::size_t i = 1; i < offsets.size(); ++i)
        if (offsets[i] < offsets[i - 1]) throw std::runtime_error(fmt::format("{}: string offset {} goes backwards", what, i));
}

StringTable::StringTable(StringList strings, std::span<const std::uint32_t> slots, std::string_view what)
    : strings_(strings), slots_(slots) {
    if (slots.size() <= strings.size() || (slots.size() & (slots.size() - 1)) != 0)
        throw std::runtime_error(fmt::format("{}: {} hash slots for {} strings (need a power of two above the count)", what,
                                             slots.size(), strings.size()));
    for (const std::uint32_t s : slots)
        if (s > strings.size()) throw std::runtime_error(fmt::format("{}: a hash slot names string {} of {}", what, s, strings.size()));
}

std::uint64_t StringTable::hash(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: the strings are short words
    for (const unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::optional<std::uint32_t> StringTable::find(std::string_view s) const {
    if (slots_.empty()) return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    std::size_t at = static_cast<std::size_t>(hash(s)) & mask;
    for (std::size_t probes = 0; probes < slots_.size(); ++probes, at = (at + 1) & mask) {
        const std::uint32_t slot = slots_[at];
        if (slot == 0) return std::nullopt;
        if (strings_[slot - 1] == s) return slot - 1;
    }
    return std::nullopt;  // a full table (only a damaged file has one)
}

FlatStrings flattenStrings(const std::vector<std::string>& strings, bool withIndex) {
    FlatStrings out;
    out.offsets.reserve(strings.size() + 1);
    out.offsets.push_back(0);
    for (const auto& s : strings) {
        out.chars += s;
        if (out.chars.size() > std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("a string list passes 4 GiB of characters");
        out.offsets.push_back(static_cast<std::uint32_t>(out.chars.size()));
    }
    if (!withIndex) return out;
    std::size_t n = 2;
    while (n < 2 * strings.size() + 1) n *= 2;
    out.slots.assign(n, 0);
    const StringList list({out.chars.data(), out.chars.size()}, out.offsets, "strings");
    for (std::uint32_t i = 0; i < strings.size(); ++i) {
        std::size_t at = static_cast<std::size_t>(StringTable::hash(strings[i])) & (n - 1);
        bool seen = false;
        for (; out.slots[at] != 0; at = (at + 1) & (n - 1))
            if (list[out.slots[at] - 1] == strings[i]) {
                seen = true;
                break;
            }
        if (!seen) out.slots[at] = i + 1;
    }
    return out;
}

}  // namespace soundstar::interpret

#pragma once
// Read-only lists of strings laid out flat, so the interpreter's snapshot (Snapshot.h) can map
// them from a file instead of building a std::string per word: the characters in one block,
// n + 1 offsets into it, and (for lookup) an open-addressing hash index. A list is a view: it
// owns nothing, and whoever made it keeps the bytes alive. Every view is checked on creation
// (offsets rising and in bounds, slots naming real strings), so a damaged file can make a
// lookup miss but never read out of bounds [any thread, once built].
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace soundstar::interpret {

/// Strings i = 0..size()-1: chars[offsets[i], offsets[i + 1]).
class StringList {
public:
    StringList() = default;
    /// Throws std::runtime_error naming `what` when the offsets do not describe `chars`.
    StringList(std::span<const char> chars, std::span<const std::uint32_t> offsets, std::string_view what);

    std::size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
    std::string_view operator[](std::size_t i) const {
        return {chars_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
    }

private:
    std::span<const char> chars_;
    std::span<const std::uint32_t> offsets_;
};

/// A StringList with a hash index: slot = index + 1 of a string, 0 = empty; linear probing from
/// hash(s) & (slots - 1); the first of two equal strings wins, as std::unordered_map::emplace.
class StringTable {
public:
    StringTable() = default;
    /// Throws std::runtime_error naming `what` when the slots are not a power of two above the
    /// string count or name a string that does not exist.
    StringTable(StringList strings, std::span<const std::uint32_t> slots, std::string_view what);

    std::size_t size() const { return strings_.size(); }
    std::string_view operator[](std::size_t i) const { return strings_[i]; }
    std::optional<std::uint32_t> find(std::string_view s) const;

    static std::uint64_t hash(std::string_view s);

private:
    StringList strings_;
    std::span<const std::uint32_t> slots_;
};

/// The flat form of a list of strings, for writing: chars, offsets and the hash slots.
struct FlatStrings {
    std::string chars;
    std::vector<std::uint32_t> offsets;
    std::vector<std::uint32_t> slots;  // empty unless built with an index
};
/// Throws std::length_error when the characters pass 4 GiB (offsets are 32-bit).
FlatStrings flattenStrings(const std::vector<std::string>& strings, bool withIndex);

}  // namespace soundstar::interpret

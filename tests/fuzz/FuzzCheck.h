#pragma once
// Shared checks for the libFuzzer targets. An expected error (std::invalid_argument, the kind
// the programs print to users) is fine when its message is bounded; any other exception escapes
// to libFuzzer as a crash, and a broken property stops the run through finding() [control].
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace soundstar::fuzz {

/// Longest error or warning message a user should ever see: a message quotes a bounded prefix
/// of a bad value, never the whole value.
inline constexpr std::size_t kMaxMessageBytes = 2000;

/// Reports a broken property and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] inline void finding(std::string_view what, std::string_view detail = {}) {
    std::fprintf(stderr, "\n== fuzz finding: %.*s\n", static_cast<int>(what.size()), what.data());
    if (!detail.empty())
        std::fprintf(stderr, "%.*s\n", static_cast<int>(std::min<std::size_t>(detail.size(), 4000)),
                     detail.data());
    std::abort();
}

/// An error message the user will read: bounded, and not empty.
inline void checkMessage(std::string_view message) {
    if (message.empty()) finding("an empty error message");
    if (message.size() > kMaxMessageBytes)
        finding("an error message over 2000 bytes (it should quote a bounded prefix of the value)",
                message.substr(0, 400));
}

inline std::string asText(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace soundstar::fuzz

#pragma once
// OSC 1.0 packets, read strictly and written [control]: messages (address, type tags, arguments)
// and bundles (a timetag and elements, nested). A packet is read into a flat list of messages,
// each with the timetag of the bundle it came in (and of the outermost bundle, the anchor that
// keeps a bundle's offsets exact). Every error says what was wrong and what is allowed.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace soundstar::server::osc {

/// An NTP timestamp: seconds since 1900 in the high 32 bits, the fraction in the low 32.
/// The value 1 means "immediately".
struct TimeTag {
    std::uint64_t ntp = 1;
    bool immediate() const { return ntp == 1; }
    bool operator==(const TimeTag&) const = default;
};

struct Blob {
    std::vector<std::uint8_t> bytes;
    bool operator==(const Blob&) const = default;
};
/// One argument: i (int32), h (int64), f (float32), d (float64), s/S (string), b (blob),
/// T/F (bool), N (nil, as monostate), t (timetag), c (char as int32).
using Arg = std::variant<std::monostate, std::int32_t, std::int64_t, float, double, std::string, Blob, bool, TimeTag>;

struct Message {
    std::string address;
    std::vector<Arg> args;
};

/// A message read from a packet; `time` and `anchor` are empty outside bundles.
struct TimedMessage {
    Message message;
    std::optional<TimeTag> time;    // the innermost bundle's timetag
    std::optional<TimeTag> anchor;  // the outermost bundle's timetag
};

/// Limits on one packet (a UDP datagram holds at most 65,507 bytes).
inline constexpr std::size_t kMaxPacketBytes = 65507;
inline constexpr int kMaxBundleDepth = 8;
inline constexpr std::size_t kMaxMessages = 1024;
inline constexpr std::size_t kMaxArgs = 64;

/// Reads a packet. Throws std::invalid_argument naming what is wrong (truncated, misaligned,
/// an unknown type tag, a limit passed) and what is allowed.
std::vector<TimedMessage> decodePacket(std::span<const std::uint8_t> packet);

/// Writes a message; throws std::invalid_argument for an address not starting with '/'.
std::vector<std::uint8_t> encodeMessage(const Message& m);
/// Writes a bundle of already-encoded elements (messages or bundles).
std::vector<std::uint8_t> encodeBundle(TimeTag time, const std::vector<std::vector<std::uint8_t>>& elements);

/// The argument as text for messages ("i:42", "s:\"abc\""), bounded.
std::string describe(const Arg& a);

}  // namespace soundstar::server::osc

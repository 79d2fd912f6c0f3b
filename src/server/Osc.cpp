#include "server/Osc.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::server::osc {
namespace {

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
    bool done() const { return pos_ >= data_.size(); }
    std::size_t left() const { return data_.size() - pos_; }
    std::uint32_t u32(const char* what) {
        need(4, what);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_++];
        return v;
    }
    std::uint64_t u64(const char* what) {
        const std::uint64_t hi = u32(what);
        return (hi << 32) | u32(what);
    }
    /// A NUL-terminated string padded to a multiple of 4 bytes.
    std::string str(const char* what) {
        const std::size_t start = pos_;
        const void* nul = std::memchr(data_.data() + pos_, 0, left());
        if (!nul) throw std::invalid_argument(fmt::format("OSC {} at byte {} has no terminating NUL", what, start));
        const std::size_t end = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - data_.data());
        std::string s(reinterpret_cast<const char*>(data_.data() + start), end - start);
        pos_ = (end + 4) & ~std::size_t{3};
        if (pos_ > data_.size()) throw std::invalid_argument(fmt::format("OSC {} at byte {} is not padded to 4 bytes", what, start));
        return s;
    }
    std::span<const std::uint8_t> bytes(std::size_t n, const char* what) {
        need(n, what);
        auto s = data_.subspan(pos_, n);
        pos_ += (n + 3) & ~std::size_t{3};
        if (pos_ > data_.size()) throw std::invalid_argument(fmt::format("OSC {} is not padded to 4 bytes", what));
        return s;
    }

private:
    void need(std::size_t n, const char* what) const {
        if (left() < n) throw std::invalid_argument(fmt::format("OSC packet ends inside {} (needs {} bytes, {} left)", what, n, left()));
    }
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

Message readMessage(std::span<const std::uint8_t> data) {
    Reader r(data);
    Message m;
    m.address = r.str("address");
    if (m.address.empty() || m.address[0] != '/')
        throw std::invalid_argument(fmt::format("OSC address '{}' must start with '/'", music::clipText(m.address, 60)));
    if (r.done()) return m;  // OSC 1.0 allows a message without a type tag string
    const std::string tags = r.str("type tags");
    if (tags.empty() || tags[0] != ',') throw std::invalid_argument("OSC type tags must start with ','");
    if (tags.size() - 1 > kMaxArgs) throw std::invalid_argument(fmt::format("OSC message has {} arguments; at most {} allowed", tags.size() - 1, kMaxArgs));
    for (std::size_t i = 1; i < tags.size(); ++i) {
        switch (tags[i]) {
            case 'i': m.args.emplace_back(static_cast<std::int32_t>(r.u32("an int32"))); break;
            case 'c': m.args.emplace_back(static_cast<std::int32_t>(r.u32("a char"))); break;
            case 'f': m.args.emplace_back(std::bit_cast<float>(r.u32("a float32"))); break;
            case 'h': m.args.emplace_back(static_cast<std::int64_t>(r.u64("an int64"))); break;
            case 'd': m.args.emplace_back(std::bit_cast<double>(r.u64("a float64"))); break;
            case 't': m.args.emplace_back(TimeTag{r.u64("a timetag")}); break;
            case 's':
            case 'S': m.args.emplace_back(r.str("string argument")); break;
            case 'b': {
                const std::uint32_t n = r.u32("a blob size");
                if (n > r.left()) throw std::invalid_argument(fmt::format("OSC blob of {} bytes is longer than the packet", n));
                const auto b = r.bytes(n, "a blob");
                m.args.emplace_back(Blob{{b.begin(), b.end()}});
                break;
            }
            case 'T': m.args.emplace_back(true); break;
            case 'F': m.args.emplace_back(false); break;
            case 'N':
            case 'I': m.args.emplace_back(std::monostate{}); break;
            default:
                throw std::invalid_argument(fmt::format("OSC type tag '{}' is not supported; allowed i f s S b h d t c T F N I",
                                                        music::clipText(std::string(1, tags[i]), 4)));
        }
    }
    if (!r.done()) throw std::invalid_argument("OSC message has bytes after its last argument");
    return m;
}

void readElement(std::span<const std::uint8_t> data, int depth, std::optional<TimeTag> anchor, std::optional<TimeTag> time,
                 std::vector<TimedMessage>& out) {
    if (data.size() % 4 != 0) throw std::invalid_argument(fmt::format("OSC packet size {} is not a multiple of 4", data.size()));
    if (data.size() >= 8 && std::memcmp(data.data(), "#bundle\0", 8) == 0) {
        if (depth >= kMaxBundleDepth) throw std::invalid_argument(fmt::format("OSC bundles nest deeper than {} levels", kMaxBundleDepth));
        Reader r(data.subspan(8));
        const TimeTag t{r.u64("a bundle timetag")};
        if (!anchor) anchor = t;
        while (!r.done()) {
            const std::uint32_t n = r.u32("a bundle element size");
            if (n == 0 || n % 4 != 0 || n > r.left())
                throw std::invalid_argument(fmt::format("OSC bundle element size {} is not allowed: a positive multiple of 4 within the packet", n));
            readElement(r.bytes(n, "a bundle element"), depth + 1, anchor, t, out);
        }
        return;
    }
    if (out.size() >= kMaxMessages) throw std::invalid_argument(fmt::format("OSC packet holds more than {} messages", kMaxMessages));
    out.push_back({readMessage(data), time, anchor});
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void put64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    put32(out, static_cast<std::uint32_t>(v >> 32));
    put32(out, static_cast<std::uint32_t>(v));
}
void putStr(std::vector<std::uint8_t>& out, const std::string& s) {
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(0);
    while (out.size() % 4 != 0) out.push_back(0);
}

}  // namespace

std::vector<TimedMessage> decodePacket(std::span<const std::uint8_t> packet) {
    if (packet.empty()) throw std::invalid_argument("OSC packet is empty");
    if (packet.size() > kMaxPacketBytes)
        throw std::invalid_argument(fmt::format("OSC packet of {} bytes is over the limit of {} bytes", packet.size(), kMaxPacketBytes));
    std::vector<TimedMessage> out;
    readElement(packet, 0, std::nullopt, std::nullopt, out);
    return out;
}

std::vector<std::uint8_t> encodeMessage(const Message& m) {
    if (m.address.empty() || m.address[0] != '/') throw std::invalid_argument("an OSC address must start with '/'");
    std::vector<std::uint8_t> out;
    putStr(out, m.address);
    std::string tags = ",";
    std::vector<std::uint8_t> body;
    for (const auto& a : m.args) {
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>) tags += 'N';
                else if constexpr (std::is_same_v<T, std::int32_t>) tags += 'i', put32(body, static_cast<std::uint32_t>(v));
                else if constexpr (std::is_same_v<T, std::int64_t>) tags += 'h', put64(body, static_cast<std::uint64_t>(v));
                else if constexpr (std::is_same_v<T, float>) tags += 'f', put32(body, std::bit_cast<std::uint32_t>(v));
                else if constexpr (std::is_same_v<T, double>) tags += 'd', put64(body, std::bit_cast<std::uint64_t>(v));
                else if constexpr (std::is_same_v<T, std::string>) tags += 's', putStr(body, v);
                else if constexpr (std::is_same_v<T, bool>) tags += v ? 'T' : 'F';
                else if constexpr (std::is_same_v<T, TimeTag>) tags += 't', put64(body, v.ntp);
                else {
                    tags += 'b';
                    put32(body, static_cast<std::uint32_t>(v.bytes.size()));
                    body.insert(body.end(), v.bytes.begin(), v.bytes.end());
                    while (body.size() % 4 != 0) body.push_back(0);
                }
            },
            a);
    }
    putStr(out, tags);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::vector<std::uint8_t> encodeBundle(TimeTag time, const std::vector<std::vector<std::uint8_t>>& elements) {
    std::vector<std::uint8_t> out;
    putStr(out, "#bundle");
    put64(out, time.ntp);
    for (const auto& e : elements) {
        put32(out, static_cast<std::uint32_t>(e.size()));
        out.insert(out.end(), e.begin(), e.end());
    }
    return out;
}

std::string describe(const Arg& a) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) return "nil";
            else if constexpr (std::is_same_v<T, std::string>) return fmt::format("s:\"{}\"", music::clipText(v, 60));
            else if constexpr (std::is_same_v<T, Blob>) return fmt::format("blob of {} bytes", v.bytes.size());
            else if constexpr (std::is_same_v<T, TimeTag>) return fmt::format("t:{}", v.ntp);
            else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
            else return fmt::format("{}", v);
        },
        a);
}

}  // namespace soundstar::server::osc

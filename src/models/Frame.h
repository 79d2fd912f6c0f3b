#pragma once
// The model workers' wire format on stdio [any thread that owns the stream]. A frame is
//   "SSMF" | u32 LE header bytes | u32 LE payload bytes | JSON header | payload
// where the header is a JSON object whose "type" is one of the message kinds below, and the
// payload (chunk frames only) is interleaved little-endian float32 PCM of `frames` x `channels`.
// Every size and count is bounded and each limit is named in the error that enforces it, so a
// broken or hostile stream gives a clear std::invalid_argument, never a huge allocation.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace soundstar::models {

inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;         // one JSON header
inline constexpr std::size_t kMaxPayloadBytes = 8 * 1024 * 1024;  // one chunk's PCM (2M floats)
inline constexpr int kMaxChannels = 8;
inline constexpr std::size_t kFramePrefixBytes = 12;
inline constexpr int kProtocolVersion = 1;
/// The most takes (independent versions of one request, take t from seed + t) one request makes.
inline constexpr int kMaxTakes = 8;

/// What a frame means. Supervisor to worker: load, generate, cancel, status (a query).
/// Worker to supervisor: hello, status (the answer to load or status), progress, chunk, done, error.
enum class FrameType { Hello, Load, Generate, Progress, Chunk, Done, Cancel, Error, Status };

/// The wire name of a type ("hello", "chunk", ...) and back (nullopt for an unknown name).
const char* typeName(FrameType t);
std::optional<FrameType> typeFromName(std::string_view name);

struct Frame {
    FrameType type = FrameType::Hello;
    nlohmann::json header = nlohmann::json::object();  // always holds "type"
    std::vector<float> pcm;                             // chunk frames only: frames x channels, interleaved

    /// A frame of `type` with these header fields ("type" is set from `type`).
    static Frame make(FrameType type, nlohmann::json fields = nlohmann::json::object());
    /// A chunk frame: `channels` interleaved, `frames` = pcm.size() / channels.
    /// `take` (0 to kMaxTakes - 1) says which take of the request the audio belongs to.
    static Frame chunk(std::uint64_t id, int index, int channels, double sampleRate, std::vector<float> pcm, int take = 0);
    std::uint64_t id() const;  // the request id in the header (0 when none)
    int channels() const;      // chunk frames: the "channels" field
};

/// The bytes of a frame. Throws std::invalid_argument when it breaks the limits or the schema
/// (the same checks the decoder makes), so nothing undecodable is ever sent.
std::string encodeFrame(const Frame& f);

/// Checks a decoded header against its type's schema (required fields, their kinds and ranges)
/// and the payload against the header. Throws std::invalid_argument naming the field and the limit.
void checkFrame(const Frame& f);

/// Incremental decoder: feed() bytes as they arrive (any split), next() yields whole frames.
/// After an error the stream is out of step: the decoder stays failed (every call throws again).
class FrameDecoder {
public:
    /// Appends bytes. Throws std::invalid_argument as soon as a prefix is malformed or a size
    /// is over its limit (before buffering the body).
    void feed(const char* data, std::size_t size);
    /// The next complete frame, or nullopt when more bytes are needed. Throws on a bad frame.
    std::optional<Frame> next();
    /// Bytes held that do not yet make a frame.
    std::size_t pending() const { return buffer_.size() - start_; }

private:
    void checkPrefix();
    [[noreturn]] void fail(const std::string& message);
    std::string buffer_;
    std::size_t start_ = 0;
    std::string failed_;
};

}  // namespace soundstar::models

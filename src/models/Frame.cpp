#include "models/Frame.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::models {
namespace {
constexpr char kMagic[4] = {'S', 'S', 'M', 'F'};

// A header field's rule: its name, kind, range (for strings: the longest length) and whether a
// frame of its type must carry it. Behaviour as data: one row per field, one list per type.
enum class Kind { Id, Integer, Number, Text };
struct FieldRule {
    const char* name;
    Kind kind;
    double lo, hi;
    bool required;
};
struct TypeRules {
    FrameType type;
    const char* name;
    std::vector<FieldRule> fields;
};

const std::vector<TypeRules>& rules() {
    constexpr double kMaxId = 9007199254740991.0;  // 2^53 - 1: exact in a JSON number
    static const std::vector<TypeRules> kRules = {
        {FrameType::Hello, "hello", {{"protocol", Kind::Integer, 1, 1000, true}, {"pid", Kind::Integer, 0, 4194304, false}}},
        {FrameType::Load, "load", {{"id", Kind::Id, 1, kMaxId, true}, {"path", Kind::Text, 1, 4096, true}}},
        {FrameType::Generate,
         "generate",
         {{"id", Kind::Id, 1, kMaxId, true},
          {"prompt", Kind::Text, 0, 10000, true},
          {"seconds", Kind::Number, 0.1, 600, true},
          {"seed", Kind::Id, 0, 18446744073709551615.0, false},
          {"steps", Kind::Integer, 1, 1000, false},
          {"guidance", Kind::Number, 0, 30, false},
          {"top_k", Kind::Integer, 1, 65536, false},
          {"temperature", Kind::Number, 0.01, 10, false},
          {"takes", Kind::Integer, 1, kMaxTakes, false},
          {"threads", Kind::Integer, 1, 64, false}}},
        {FrameType::Progress,
         "progress",
         {{"id", Kind::Id, 1, kMaxId, true}, {"step", Kind::Integer, 0, 1000, true}, {"steps", Kind::Integer, 1, 1000, true}}},
        {FrameType::Chunk,
         "chunk",
         {{"id", Kind::Id, 1, kMaxId, true},
          {"index", Kind::Integer, 0, 1000000, true},
          {"channels", Kind::Integer, 1, kMaxChannels, true},
          {"frames", Kind::Integer, 0, static_cast<double>(kMaxPayloadBytes / 4), true},
          {"sample_rate", Kind::Number, 8000, 192000, true},
          {"take", Kind::Integer, 0, kMaxTakes - 1, false}}},
        {FrameType::Done,
         "done",
         {{"id", Kind::Id, 1, kMaxId, true},
          {"frames", Kind::Integer, 0, 600.0 * 192000.0, true},
          {"takes", Kind::Integer, 1, kMaxTakes, false},
          {"seconds", Kind::Number, 0, 1e6, false}}},
        {FrameType::Cancel, "cancel", {{"id", Kind::Id, 1, kMaxId, true}}},
        {FrameType::Error,
         "error",
         {{"id", Kind::Id, 0, kMaxId, false}, {"message", Kind::Text, 1, 2000, true}, {"code", Kind::Text, 1, 64, false}}},
        {FrameType::Status,
         "status",
         {{"id", Kind::Id, 0, kMaxId, false},
          {"model", Kind::Text, 0, 256, false},
          {"memory_bytes", Kind::Number, 0, 1e15, false},
          {"sample_rate", Kind::Number, 8000, 192000, false},
          {"load_seconds", Kind::Number, 0, 1e6, false},
          {"requests", Kind::Integer, 0, 1e15, false}}},
    };
    return kRules;
}

const TypeRules& rulesOf(FrameType t) { return rules()[static_cast<std::size_t>(t)]; }

void checkField(const TypeRules& r, const FieldRule& f, const nlohmann::json& v) {
    const auto where = fmt::format("a {} frame's \"{}\"", r.name, f.name);
    if (f.kind == Kind::Text) {
        if (!v.is_string()) throw std::invalid_argument(fmt::format("{} must be a string, not {}", where, music::quoteJson(v)));
        const auto n = v.get_ref<const std::string&>().size();
        if (n < f.lo || n > f.hi)
            throw std::invalid_argument(fmt::format("{} is {} bytes; allowed {:g} to {:g}", where, n, f.lo, f.hi));
        return;
    }
    if (!v.is_number()) throw std::invalid_argument(fmt::format("{} must be a number, not {}", where, music::quoteJson(v)));
    const double x = v.get<double>();
    const bool whole = f.kind != Kind::Number;
    if (whole && !(v.is_number_integer() || v.is_number_unsigned()))
        throw std::invalid_argument(fmt::format("{} must be a whole number, not {}", where, music::quoteJson(v)));
    if (!std::isfinite(x) || x < f.lo || x > f.hi)
        throw std::invalid_argument(fmt::format("{} is {}; allowed {:g} to {:g}", where, music::quoteJson(v), f.lo, f.hi));
}

std::uint32_t readU32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
void appendU32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

const char* typeName(FrameType t) { return rulesOf(t).name; }

std::optional<FrameType> typeFromName(std::string_view name) {
    for (const auto& r : rules())
        if (name == r.name) return r.type;
    return std::nullopt;
}

Frame Frame::make(FrameType type, nlohmann::json fields) {
    Frame f;
    f.type = type;
    f.header = fields.is_object() ? std::move(fields) : nlohmann::json::object();
    f.header["type"] = typeName(type);
    return f;
}

Frame Frame::chunk(std::uint64_t id, int index, int channels, double sampleRate, std::vector<float> pcm, int take) {
    const auto frames = channels > 0 ? pcm.size() / static_cast<std::size_t>(channels) : 0;
    Frame f = make(FrameType::Chunk, {{"id", id}, {"index", index}, {"channels", channels}, {"frames", frames}, {"sample_rate", sampleRate}});
    if (take != 0) f.header["take"] = take;  // take 0's chunks read as before
    f.pcm = std::move(pcm);
    return f;
}

std::uint64_t Frame::id() const {
    const auto it = header.find("id");
    return it != header.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

int Frame::channels() const { return header.value("channels", 0); }

void checkFrame(const Frame& f) {
    if (!f.header.is_object()) throw std::invalid_argument("a frame header must be a JSON object");
    const auto t = f.header.find("type");
    if (t == f.header.end() || !t->is_string())
        throw std::invalid_argument("a frame header needs \"type\": one of hello, load, generate, progress, chunk, done, cancel, error, status");
    const auto type = typeFromName(t->get_ref<const std::string&>());
    if (!type || *type != f.type)
        throw std::invalid_argument(fmt::format("unknown frame type {}; allowed hello, load, generate, progress, chunk, done, cancel, error, status",
                                                music::quoteJson(*t)));
    const auto& r = rulesOf(f.type);
    if (f.header.size() > 32) throw std::invalid_argument(fmt::format("a {} frame has {} header fields; at most 32 allowed", r.name, f.header.size()));
    for (const auto& field : r.fields) {
        const auto it = f.header.find(field.name);
        if (it == f.header.end()) {
            if (field.required) throw std::invalid_argument(fmt::format("a {} frame needs \"{}\"", r.name, field.name));
            continue;
        }
        checkField(r, field, *it);
    }
    if (f.type != FrameType::Chunk) {
        if (!f.pcm.empty()) throw std::invalid_argument(fmt::format("a {} frame carries no audio; only chunk frames do", r.name));
        return;
    }
    const auto channels = static_cast<std::size_t>(f.header["channels"].get<int>());
    const auto frames = f.header["frames"].get<std::size_t>();
    if (frames * channels != f.pcm.size())
        throw std::invalid_argument(fmt::format("a chunk frame says {} frames of {} channels but carries {} samples", frames, channels, f.pcm.size()));
    for (std::size_t i = 0; i < f.pcm.size(); ++i)
        if (!std::isfinite(f.pcm[i])) throw std::invalid_argument(fmt::format("a chunk frame's sample {} is not finite", i));
}

std::string encodeFrame(const Frame& f) {
    checkFrame(f);
    const std::string header = f.header.dump();
    if (header.size() > kMaxHeaderBytes)
        throw std::invalid_argument(fmt::format("a {} frame's header is {} bytes; at most {} allowed", typeName(f.type), header.size(), kMaxHeaderBytes));
    const std::size_t payload = f.pcm.size() * 4;
    if (payload > kMaxPayloadBytes)
        throw std::invalid_argument(fmt::format("a chunk of {} bytes of audio; at most {} allowed per frame", payload, kMaxPayloadBytes));
    std::string out;
    out.reserve(kFramePrefixBytes + header.size() + payload);
    out.append(kMagic, 4);
    appendU32(out, static_cast<std::uint32_t>(header.size()));
    appendU32(out, static_cast<std::uint32_t>(payload));
    out += header;
    for (const float x : f.pcm) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &x, 4);
        appendU32(out, bits);
    }
    return out;
}

void FrameDecoder::fail(const std::string& message) {
    failed_ = music::clipText(message, 1500);
    throw std::invalid_argument(failed_);
}

void FrameDecoder::checkPrefix() {
    const char* p = buffer_.data() + start_;
    if (std::memcmp(p, kMagic, 4) != 0) fail("not a model frame: it must start with \"SSMF\" (the stream is out of step or not from a model worker)");
    const auto header = readU32(p + 4), payload = readU32(p + 8);
    if (header == 0 || header > kMaxHeaderBytes) fail(fmt::format("a frame header of {} bytes; allowed 1 to {}", header, kMaxHeaderBytes));
    if (payload > kMaxPayloadBytes) fail(fmt::format("a frame payload of {} bytes; at most {} allowed", payload, kMaxPayloadBytes));
    if (payload % 4 != 0) fail(fmt::format("a frame payload of {} bytes is not whole float32 samples (a multiple of 4)", payload));
}

void FrameDecoder::feed(const char* data, std::size_t size) {
    if (!failed_.empty()) throw std::invalid_argument(failed_);
    if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    buffer_.append(data, size);
    if (pending() >= kFramePrefixBytes) checkPrefix();
}

std::optional<Frame> FrameDecoder::next() {
    if (!failed_.empty()) throw std::invalid_argument(failed_);
    if (pending() < kFramePrefixBytes) return std::nullopt;
    checkPrefix();
    const char* p = buffer_.data() + start_;
    const std::size_t header = readU32(p + 4), payload = readU32(p + 8);
    if (pending() < kFramePrefixBytes + header + payload) return std::nullopt;
    Frame f;
    const std::string_view text(p + kFramePrefixBytes, header);
    f.header = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (f.header.is_discarded()) fail(fmt::format("a frame header is not JSON: {}", music::clipText(text, 120)));
    if (!f.header.is_object()) fail("a frame header must be a JSON object");
    const auto t = f.header.find("type");
    if (t == f.header.end() || !t->is_string() || !typeFromName(t->get_ref<const std::string&>()))
        fail(fmt::format("a frame header's \"type\" is {}; allowed hello, load, generate, progress, chunk, done, cancel, error, status",
                         t == f.header.end() ? std::string("missing") : music::quoteJson(*t)));
    f.type = *typeFromName(t->get_ref<const std::string&>());
    f.pcm.resize(payload / 4);
    for (std::size_t i = 0; i < f.pcm.size(); ++i) {
        const std::uint32_t bits = readU32(p + kFramePrefixBytes + header + 4 * i);
        std::memcpy(&f.pcm[i], &bits, 4);
    }
    start_ += kFramePrefixBytes + header + payload;
    if (start_ > 1024 * 1024 && start_ * 2 > buffer_.size()) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    try {
        checkFrame(f);
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
    return f;
}

}  // namespace soundstar::models

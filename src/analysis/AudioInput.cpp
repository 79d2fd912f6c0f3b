#include "analysis/AudioInput.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace soundstar::analysis {

namespace {
using SndPtr = std::unique_ptr<SNDFILE, int (*)(SNDFILE*)>;

/// A float file's NaN or inf reads as 0 and its samples are held within +-kMaxSample (+80 dBFS):
/// either would otherwise overflow the spectra and poison every measure.
float sane(float x) {
    constexpr float kMaxSample = 1e4f;
    return std::isfinite(x) ? std::clamp(x, -kMaxSample, kMaxSample) : 0.0f;
}

DecodedAudio decode(SNDFILE* f, const SF_INFO& info, std::string_view origin, const InputLimits& limits) {
    if (info.channels < 1 || info.channels > limits.maxChannels)
        throw std::runtime_error(fmt::format("{}: {} channels; 1 to {} are allowed", origin, info.channels, limits.maxChannels));
    if (info.samplerate < 8000 || info.samplerate > 384000)
        throw std::runtime_error(fmt::format("{}: sample rate {} Hz; 8000 to 384000 Hz are allowed", origin, info.samplerate));
    if (info.frames < 0) throw std::runtime_error(fmt::format("{}: the file does not say its length", origin));
    const double seconds = static_cast<double>(info.frames) / info.samplerate;
    if (seconds > limits.maxSeconds)
        throw std::runtime_error(fmt::format("{}: {:.1f} s long; at most {:.0f} s can be analysed", origin, seconds, limits.maxSeconds));
    DecodedAudio a;
    a.sampleRate = info.samplerate;
    a.channels = info.channels;
    const auto frames = static_cast<std::size_t>(info.frames);
    const auto ch = static_cast<std::size_t>(info.channels);
    a.left.reserve(frames);
    a.right.reserve(frames);
    constexpr std::size_t kBlock = 4096;
    std::vector<float> block(kBlock * ch);
    while (a.left.size() < frames) {
        const std::size_t want = std::min(kBlock, frames - a.left.size());
        const sf_count_t got = sf_readf_float(f, block.data(), static_cast<sf_count_t>(want));
        if (got <= 0) break;  // a file shorter than its header says: what was there
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
            const float l = block[i * ch], r = block[i * ch + std::min<std::size_t>(1, ch - 1)];
            a.left.push_back(sane(l));
            a.right.push_back(sane(r));
        }
    }
    if (a.left.empty()) throw std::runtime_error(fmt::format("{}: no audio frames could be read", origin));
    return a;
}

struct Memory {
    std::string_view bytes;
    sf_count_t pos = 0;
};
sf_count_t memLength(void* u) { return static_cast<sf_count_t>(static_cast<Memory*>(u)->bytes.size()); }
sf_count_t memSeek(sf_count_t off, int whence, void* u) {
    auto* m = static_cast<Memory*>(u);
    const auto size = static_cast<sf_count_t>(m->bytes.size());
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : size + off;
    m->pos = std::clamp<sf_count_t>(p, 0, size);
    return m->pos;
}
sf_count_t memRead(void* ptr, sf_count_t count, void* u) {
    auto* m = static_cast<Memory*>(u);
    const sf_count_t n = std::clamp<sf_count_t>(count, 0, static_cast<sf_count_t>(m->bytes.size()) - m->pos);
    if (n > 0) std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<std::size_t>(n));
    m->pos += n;
    return n;
}
sf_count_t memWrite(const void*, sf_count_t, void*) { return 0; }
sf_count_t memTell(void* u) { return static_cast<Memory*>(u)->pos; }
}  // namespace

DecodedAudio readAudioForAnalysis(const std::filesystem::path& path, const InputLimits& limits) {
    const std::string name = path.string().size() > 300 ? path.string().substr(0, 300) + "..." : path.string();
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) throw std::runtime_error(fmt::format("cannot read {}: no such file", name));
    if (!std::filesystem::is_regular_file(status)) throw std::runtime_error(fmt::format("cannot read {}: not a regular file", name));
    const auto bytes = std::filesystem::file_size(path, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot read {}: {}", name, ec.message()));
    if (bytes > limits.maxFileBytes)
        throw std::runtime_error(fmt::format("{}: {} bytes; files up to {} bytes ({} MiB) can be analysed", name, bytes,
                                             limits.maxFileBytes, limits.maxFileBytes >> 20));
    SF_INFO info{};
    const SndPtr f(sf_open(path.c_str(), SFM_READ, &info), &sf_close);
    if (!f) throw std::runtime_error(fmt::format("cannot read {} as audio (WAV, FLAC, Ogg Vorbis, MP3, AIFF...): {}", name, sf_strerror(nullptr)));
    return decode(f.get(), info, name, limits);
}

DecodedAudio decodeAudioBytes(std::string_view bytes, std::string_view origin, const InputLimits& limits) {
    if (bytes.size() > limits.maxFileBytes)
        throw std::runtime_error(fmt::format("{}: {} bytes; up to {} can be analysed", origin, bytes.size(), limits.maxFileBytes));
    Memory m{bytes};
    SF_VIRTUAL_IO io{memLength, memSeek, memRead, memWrite, memTell};
    SF_INFO info{};
    const SndPtr f(sf_open_virtual(&io, SFM_READ, &info, &m), &sf_close);
    if (!f) throw std::runtime_error(fmt::format("cannot read {} as audio: {}", origin, sf_strerror(nullptr)));
    return decode(f.get(), info, origin, limits);
}

}  // namespace soundstar::analysis

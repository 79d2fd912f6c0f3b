#include "server/SampleBank.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>

#include "analysis/AudioInput.h"
#include "models/StretchModule.h"
#include "music/JsonText.h"
#include "server/Operations.h"

namespace soundstar::server {

using nlohmann::json;

namespace {
std::string mib(std::size_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }
}  // namespace

std::vector<float> resampleChannel(const std::vector<float>& x, double fromRate, double toRate) {
    if (fromRate == toRate || x.empty()) return x;
    const double step = fromRate / toRate;
    const auto n = static_cast<std::size_t>(std::floor(static_cast<double>(x.size()) / step));
    const auto at = [&](std::ptrdiff_t i) { return x[static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(i, 0, static_cast<std::ptrdiff_t>(x.size()) - 1))]; };
    std::vector<float> out(n);
    for (std::size_t o = 0; o < n; ++o) {
        const double pos = static_cast<double>(o) * step;
        const auto i = static_cast<std::ptrdiff_t>(pos);
        const auto t = static_cast<float>(pos - static_cast<double>(i));
        const float y0 = at(i - 1), y1 = at(i), y2 = at(i + 1), y3 = at(i + 2);
        const float a = -0.5f * y0 + 1.5f * y1 - 1.5f * y2 + 0.5f * y3, b = y0 - 2.5f * y1 + 2.0f * y2 - 0.5f * y3, c = -0.5f * y0 + 0.5f * y2;
        out[o] = ((a * t + b) * t + c) * t + y1;
    }
    return out;
}

engine::SampleBuffer stretchAudio(const engine::SampleBuffer& in, double sampleRate, double tempoRatio, double semitones) {
    const std::size_t frames = in.frames();
    const auto target = static_cast<std::size_t>(std::llround(static_cast<double>(frames) / tempoRatio));
    std::vector<float> inter(2 * frames), out;
    for (std::size_t i = 0; i < frames; ++i) {
        inter[2 * i] = in.left[i];
        inter[2 * i + 1] = in.right[i];
    }
    // SoundTouch's WSOLA with short sequences (its own advice for percussive material): a
    // transient is neither doubled nor moved by more than a few ms, so a loop's hits stay on the
    // grid (models/StretchModule.h).
    std::string error;
    if (!models::stretch::api().stretchStereo(inter.data(), frames, static_cast<unsigned>(std::lround(sampleRate)), tempoRatio, semitones, &out, &error))
        throw std::runtime_error(fmt::format("stretching the sample failed: {}", error));
    engine::SampleBuffer b;
    b.left.assign(target, 0.0f);
    b.right.assign(target, 0.0f);
    for (std::size_t i = 0; i < std::min(target, out.size() / 2); ++i) {
        b.left[i] = out[2 * i];
        b.right[i] = out[2 * i + 1];
    }
    return b;
}

void SampleBank::admit(const std::string& name, std::size_t bytes) const {
    if (samples_.count(name)) throw ApiError(409, fmt::format("a sample named '{}' is loaded; sample_free it first or choose another name", music::clipText(name, 60)));
    if (samples_.size() >= kMaxSamples) throw ApiError(413, fmt::format("too many samples: at most {} (sample_free releases one)", kMaxSamples));
    if (bytes + this->bytes() > maxBytes_)
        throw ApiError(413, fmt::format("sample '{}' needs {} at the engine rate; {} of the sample memory bound {} (--sample-memory-mb) is in use",
                                        music::clipText(name, 60), mib(bytes), mib(this->bytes()), mib(maxBytes_)));
}

const StoredSample& SampleBank::load(const std::string& name, const std::filesystem::path& file, const std::string& shownAs, std::optional<double> bpm) {
    // What it will take, from the header, before anything is decoded.
    SF_INFO info{};
    SNDFILE* f = sf_open(file.c_str(), SFM_READ, &info);
    if (!f) throw ApiError(400, fmt::format("'{}' is not an audio file libsndfile reads (WAV, FLAC, Ogg, MP3): {}", music::clipText(shownAs, 80), sf_strerror(nullptr)));
    sf_close(f);
    const double seconds = info.samplerate > 0 ? static_cast<double>(info.frames) / info.samplerate : 0.0;
    if (seconds > kMaxSeconds) throw ApiError(413, fmt::format("'{}' lasts {:.0f} s; samples may last at most {:.0f} s", music::clipText(shownAs, 80), seconds, kMaxSeconds));
    admit(name, static_cast<std::size_t>(seconds * rate_ + 1) * 2 * sizeof(float));
    analysis::DecodedAudio d;
    try {
        d = analysis::readAudioForAnalysis(file, {std::size_t{1} << 30, kMaxSeconds, 32});
    } catch (const std::exception& e) {
        throw ApiError(400, fmt::format("sample '{}': {}", music::clipText(shownAs, 80), music::clipText(e.what(), 300)));
    }
    auto audio = std::make_shared<engine::SampleBuffer>();
    audio->left = resampleChannel(d.left, d.sampleRate, rate_);
    audio->right = resampleChannel(d.right, d.sampleRate, rate_);
    if (audio->frames() < 2) throw ApiError(400, fmt::format("'{}' holds no audio (fewer than 2 frames)", music::clipText(shownAs, 80)));
    StoredSample s{std::move(audio), shownAs, d.sampleRate, d.channels, bpm};
    admit(name, s.bytes());
    return samples_[name] = std::move(s);
}

const StoredSample& SampleBank::stretch(const std::string& name, const std::string& source, double tempoRatio, double semitones, std::optional<double> bpm) {
    const StoredSample& src = get(source);
    admit(name, static_cast<std::size_t>(std::llround(static_cast<double>(src.audio->frames()) / tempoRatio)) * 2 * sizeof(float));
    auto audio = std::make_shared<engine::SampleBuffer>(stretchAudio(*src.audio, rate_, tempoRatio, semitones));
    StoredSample s{std::move(audio), fmt::format("{} at tempo x{:.4g}, {:+.4g} semitones", source, tempoRatio, semitones), rate_, src.channels, bpm};
    return samples_[name] = std::move(s);
}

const StoredSample& SampleBank::get(const std::string& name) const {
    if (const auto it = samples_.find(name); it != samples_.end()) return it->second;
    std::string names;
    for (const auto& [n, s] : samples_) {
        if (names.size() > 600) {
            names += ", ...";
            break;
        }
        names += (names.empty() ? "" : ", ") + n;
    }
    throw ApiError(404, fmt::format("no sample '{}'; loaded: {}", music::clipText(name, 60), names.empty() ? "none (sample_load loads one)" : names));
}

void SampleBank::free(const std::string& name) {
    get(name);
    samples_.erase(name);
}

std::size_t SampleBank::bytes() const {
    std::size_t n = 0;
    for (const auto& [name, s] : samples_) n += s.bytes();
    return n;
}

json SampleBank::list() const {
    json out = json::array();
    for (const auto& [name, s] : samples_) {
        json j = {{"name", name},    {"origin", s.origin}, {"frames", s.audio->frames()}, {"seconds", static_cast<double>(s.audio->frames()) / rate_},
                  {"bytes", s.bytes()}, {"source_rate", s.sourceRate}, {"channels", s.channels}};
        j["bpm"] = s.bpm ? json(*s.bpm) : json(nullptr);
        out.push_back(std::move(j));
    }
    return {{"samples", out}, {"bytes", bytes()}, {"max_bytes", maxBytes_}};
}

}  // namespace soundstar::server

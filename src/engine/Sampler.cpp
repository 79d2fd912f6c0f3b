// Sampler: plays WAV/FLAC/OGG files (e.g. Debian's sonic-pi-samples, CC0). Either one pitched
// sample ("sample" option, played at `root` and transposed by resampling) or a kit ("note36":
// "bd_haus", ...: one sample per MIDI note, played as recorded). Files are decoded with libsndfile
// and resampled to the engine rate in prepare() [control]; playback is linear interpolation [rt].
#include <sndfile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "engine/FileSearch.h"
#include "engine/SynthInstruments.h"
#include "engine/VoiceAllocator.h"

namespace soundstar::engine {
namespace {
enum SamplerParam { kRoot, kSamplerAttack, kSamplerRelease, kSamplerGain };
constexpr ParamSpec kSamplerParams[] = {
    {"root", 0, 127, 60, "note", "the pitch the single sample was recorded at"},
    {"attack", 0, 5, 0.0f, "s", ""},
    {"release", 0.001f, 10, 0.05f, "s", "fade after note off (kits play to the end)"},
    {"gain", -60, 12, 0, "dB", ""},
};
constexpr int kVoices = 24;

struct Sample {
    std::vector<float> left, right;  // at the engine's rate
};

/// Decodes a file and resamples it (cubic Hermite) to `rate`; throws naming the file.
Sample loadSample(const std::string& path, double rate) {
    SF_INFO info{};
    const std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> f(sf_open(path.c_str(), SFM_READ, &info), &sf_close);
    if (!f) throw std::runtime_error(fmt::format("cannot read sample {}: {}", path, sf_strerror(nullptr)));
    const auto frames = static_cast<std::size_t>(info.frames);
    const auto ch = static_cast<std::size_t>(info.channels);
    Sample s;
    if (static_cast<double>(info.samplerate) == rate) {
        // At the engine's rate already: the samples themselves (what the curve below gives at
        // t = 0; + 0 reads a float file's -0 as +0), read in blocks straight into the two
        // channels rather than through an interleaved copy of the whole file.
        s.left.resize(frames);
        s.right.resize(frames);
        constexpr std::size_t kBlock = 4096;
        std::vector<float> block(kBlock * ch);
        for (std::size_t at = 0; at < frames;) {
            const std::size_t want = std::min(kBlock, frames - at);
            const auto got = static_cast<std::size_t>(std::max<sf_count_t>(0, sf_readf_float(f.get(), block.data(), static_cast<sf_count_t>(want))));
            for (std::size_t i = 0; i < got; ++i) {
                s.left[at + i] = block[i * ch] + 0.0f;
                s.right[at + i] = block[i * ch + std::min<std::size_t>(1, ch - 1)] + 0.0f;
            }
            if (got < want) break;  // a short file: the rest stays silent
            at += got;
        }
        return s;
    }
    std::vector<float> inter(frames * ch);
    sf_readf_float(f.get(), inter.data(), info.frames);
    const auto channel = [&](std::size_t c, std::size_t i) { return inter[i * ch + std::min(c, ch - 1)]; };
    const double step = info.samplerate / rate;
    const auto outFrames = static_cast<std::size_t>(static_cast<double>(frames) / step);
    s.left.resize(outFrames);
    s.right.resize(outFrames);
    for (std::size_t o = 0; o < outFrames; ++o) {
        const double pos = static_cast<double>(o) * step;
        const auto i = static_cast<std::size_t>(pos);
        const auto t = static_cast<float>(pos - static_cast<double>(i));
        for (std::size_t c = 0; c < 2; ++c) {
            const float y0 = channel(c, i > 0 ? i - 1 : 0), y1 = channel(c, i), y2 = channel(c, std::min(i + 1, frames - 1)),
                        y3 = channel(c, std::min(i + 2, frames - 1));
            const float a = -0.5f * y0 + 1.5f * y1 - 1.5f * y2 + 0.5f * y3, b = y0 - 2.5f * y1 + 2.0f * y2 - 0.5f * y3,
                        cc = -0.5f * y0 + 0.5f * y2;
            (c == 0 ? s.left : s.right)[o] = ((a * t + b) * t + cc) * t + y1;
        }
    }
    return s;
}

/// Decoded samples by file and rate, shared by every sampler of the process, so a kit is read
/// once however many tracks, stems, renders or live changes use it. Up to 256 MiB stay cached;
/// past that a sample is decoded for its sampler alone. A file changed on disk while the
/// process runs keeps its first reading [control].
std::shared_ptr<const Sample> cachedSample(const std::string& path, double rate) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, double>, std::shared_ptr<const Sample>> cache;
    static std::size_t cachedBytes = 0;
    constexpr std::size_t kMaxCachedBytes = std::size_t{256} << 20;
    {
        const std::lock_guard lock(mutex);
        if (const auto it = cache.find({path, rate}); it != cache.end()) return it->second;
    }
    auto s = std::make_shared<const Sample>(loadSample(path, rate));
    const std::size_t bytes = (s->left.size() + s->right.size()) * sizeof(float);
    const std::lock_guard lock(mutex);
    if (cachedBytes + bytes <= kMaxCachedBytes && cache.emplace(std::make_pair(path, rate), s).second) cachedBytes += bytes;
    return s;
}

class Sampler final : public Instrument {
public:
    Sampler() {
        for (std::size_t i = 0; i < std::size(kSamplerParams); ++i) p_[i] = kSamplerParams[i].def;
    }
    void setOption(const std::string& key, const std::string& value) override {
        if (key == "notes_used") {  // offline renders: the kit's notes the score plays ("36,38,42")
            setNotesUsed(value);
            return;
        }
        const bool single = key == "sample";
        const bool kit = key.rfind("note", 0) == 0;
        int note = -1;
        if (kit) {
            try {
                note = std::stoi(key.substr(4));
            } catch (const std::exception&) {
                note = -1;
            }
        }
        if (!single && !(kit && note >= 0 && note <= 127))
            throw std::invalid_argument(fmt::format("sampler has no option '{}'; it has: sample, note0 .. note127, notes_used", key));
        const auto found = findDataFile(value, "SOUNDSTAR_SAMPLES", {"/usr/share/sonic-pi/samples"}, {".flac", ".wav", ".ogg"});
        if (!found)
            throw std::invalid_argument(fmt::format(
                "sample '{}' not found in $SOUNDSTAR_SAMPLES or /usr/share/sonic-pi/samples (Debian: sonic-pi-samples)", value));
        files_[single ? -1 : note] = found->string();
    }
    void prepare(double sampleRate, int) override {
        sampleRate_ = sampleRate;
        samples_.clear();
        // A kit decodes only the notes a score plays when it was told them (notes_used); those
        // it never plays stay silent, as notes without a sample always are.
        for (const auto& [note, file] : files_)
            if (note < 0 || !onlyUsed_ || used_.test(static_cast<std::size_t>(note))) samples_[note] = cachedSample(file, sampleRate);
        for (auto& v : voices_) v = Voice{};
    }
    void noteOn(float note, float velocity) override {
        const Sample* s = nullptr;
        double rate = 1.0;
        const int key = static_cast<int>(std::lround(note));
        if (auto it = samples_.find(key); it != samples_.end() && key >= 0) {
            s = it->second.get();
        } else if (auto single = samples_.find(-1); single != samples_.end()) {
            s = single->second.get();
            rate = std::exp2((note - p_[kRoot]) / 12.0);
        }
        if (!s || s->left.empty()) return;  // notes without a sample are silent, as on a kit
        const int v = alloc_.allocate(
            note, [&](int i) { return voices_[static_cast<std::size_t>(i)].sample != nullptr; },
            [&](int i) { return voices_[static_cast<std::size_t>(i)].gain; });
        auto& voice = voices_[static_cast<std::size_t>(v)];
        voice = Voice{};
        voice.sample = s;
        voice.rate = rate;
        voice.gain = velocity;
        voice.attackStep = attackStep();
        voice.env = voice.attackStep >= 1.0f ? 1.0f : 0.0f;
    }
    void noteOff(float note) override {
        alloc_.release(note, [&](int i) { release(i); });
    }
    void allNotesOff() override {
        alloc_.releaseAll([&](int i) { release(i); });
    }
    void setParam(int index, float value) override {
        if (index >= 0 && index < static_cast<int>(std::size(kSamplerParams))) p_[static_cast<std::size_t>(index)] = value;
    }
    void process(StereoView io) override {
        io.clear();
        const float g = std::pow(10.0f, p_[kSamplerGain] / 20.0f);
        for (auto& v : voices_) {
            if (!v.sample) continue;
            const auto len = static_cast<double>(v.sample->left.size() - 1);
            // The voice's state in locals for the loop: the output's stores could otherwise
            // alias it, and every sample would wait on a store and a reload of pos and env.
            const float* sl = v.sample->left.data();
            const float* sr = v.sample->right.data();
            const bool releasing = v.releasing;
            const float step = releasing ? -v.releaseStep : v.attackStep, gain = v.gain;
            const double rate = v.rate;
            double pos = v.pos;
            float env = v.env;
            for (int i = 0; i < io.frames; ++i) {
                if (pos >= len || (releasing && env <= 0.0f)) {
                    v.sample = nullptr;
                    break;
                }
                if (rate == 1.0 && env == 1.0f && !releasing && pos == std::floor(pos)) {
                    // A kit sample at its own pitch past its attack: whole samples at a steady
                    // gain, the loop below's arithmetic with t = 0 and env held at 1, as one run.
                    const auto k = static_cast<std::size_t>(pos);
                    const int m = static_cast<int>(std::min<double>(io.frames - i, len - pos));
                    addScaled(sl + k, sr + k, io.left + i, io.right + i, m, gain * env * g);
                    pos += m;
                    i += m - 1;
                    continue;
                }
                const auto k = static_cast<std::size_t>(pos);
                const auto t = static_cast<float>(pos - static_cast<double>(k));
                const float l = sl[k] + (sl[k + 1] - sl[k]) * t;
                const float r = sr[k] + (sr[k + 1] - sr[k]) * t;
                env = std::clamp(env + step, 0.0f, 1.0f);
                const float amp = gain * env * g;
                io.left[i] += l * amp;
                io.right[i] += r * amp;
                pos += rate;
            }
            v.pos = pos;
            v.env = env;
        }
    }
    std::span<const ParamSpec> params() const override { return kSamplerParams; }
    int activeVoices() const override {
        return static_cast<int>(std::count_if(voices_.begin(), voices_.end(), [](const Voice& v) { return v.sample != nullptr; }));
    }
    const char* kind() const override { return "sampler"; }

private:
    // The output channels and a sample's never overlap: said, so the loop is vectorised.
    static void addScaled(const float* __restrict sl, const float* __restrict sr, float* __restrict l, float* __restrict r, int n,
                          float amp) {
        for (int i = 0; i < n; ++i) {
            l[i] += sl[i] * amp;
            r[i] += sr[i] * amp;
        }
    }
    struct Voice {
        const Sample* sample = nullptr;
        double pos = 0.0, rate = 1.0;
        float gain = 1.0f, env = 1.0f, releaseStep = 0.0f, attackStep = 1.0f;
        bool releasing = false;
    };
    float attackStep() const {
        const float n = p_[kSamplerAttack] * static_cast<float>(sampleRate_);
        return n < 1.0f ? 1.0f : 1.0f / n;
    }
    void release(int i) {
        auto& v = voices_[static_cast<std::size_t>(i)];
        // Kit samples (played at their own pitch) ring to their end; pitched ones fade.
        if (!v.sample || samples_.count(-1) == 0) return;
        v.releasing = true;
        v.releaseStep = 1.0f / std::max(1.0f, p_[kSamplerRelease] * static_cast<float>(sampleRate_));
    }
    void setNotesUsed(const std::string& list) {
        constexpr std::size_t kMaxListBytes = 1024;  // 128 notes of three digits and a comma each, with room
        if (list.size() > kMaxListBytes)
            throw std::invalid_argument(
                fmt::format("sampler option 'notes_used' is {} bytes; at most {} (a comma-separated list of MIDI notes 0-127)", list.size(), kMaxListBytes));
        std::bitset<128> used;
        std::size_t at = 0;
        while (at <= list.size() && !list.empty()) {
            const std::size_t end = std::min(list.find(',', at), list.size());
            const std::string item = list.substr(at, end - at);
            const bool digits = !item.empty() && item.size() <= 3 && std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
            const int note = digits ? std::stoi(item) : -1;
            if (note < 0 || note > 127)
                throw std::invalid_argument(fmt::format("sampler option 'notes_used' is a comma-separated list of MIDI notes 0-127; "
                                                        "'{}' is not one",
                                                        item.substr(0, 20)));
            used.set(static_cast<std::size_t>(note));
            at = end + 1;
        }
        used_ = used;
        onlyUsed_ = true;
    }
    std::bitset<128> used_;
    bool onlyUsed_ = false;
    std::map<int, std::string> files_;  // note (-1: the single pitched sample) -> path
    std::map<int, std::shared_ptr<const Sample>> samples_;
    std::array<Voice, kVoices> voices_{};
    VoiceAllocator<kVoices> alloc_;
    std::array<float, std::size(kSamplerParams)> p_{};
    double sampleRate_ = 48000.0;
};
}  // namespace

std::unique_ptr<Instrument> makeSampler() { return std::make_unique<Sampler>(); }

}  // namespace soundstar::engine

// The zone sampler (SamplePlayer.h): linear interpolation, a per-voice linear crossfade into the
// loop start over the last frames before the loop end (the usual sampler loop crossfade: the
// tail fades out while the audio just before the loop start fades in, so the jump back is
// seamless), equal-power pan normalised to unity at the centre as the tracks do.
#include "engine/SamplePlayer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "dsp/Pan.h"
#include "engine/VoiceAllocator.h"

namespace soundstar::engine {
namespace {
constexpr ParamSpec kParams[] = {
    {"start", 0, 3600, 0, "s", "where the next notes start in the sample"},
    {"end", 0, 3600, 0, "s", "where they stop (0: the sample's end)"},
    {"rate", 0.0625f, 16, 1, "x", "playback rate of the next notes (times the key's transposition)"},
    {"gain", -60, 12, 0, "dB", "gain of the next notes"},
    {"pan", -1, 1, 0, "", "pan of the next notes, -1 left .. 1 right"},
    {"zone", -1, 255, -1, "", "zone of the next notes (-1: by key)"},
    {"attack", 0, 5, 0, "s", ""},
    {"release", 0.001f, 10, 0.01f, "s", "fade after note off (sustained loops; one-shots play to their end)"},
    {"gate", 0, 1, 0, "", "1: note off fades the next notes even when one-shot (audio clips)"},
};
constexpr int kVoices = 32;

class SamplePlayer final : public Instrument {
public:
    explicit SamplePlayer(std::vector<SampleZone> zones) : zones_(std::move(zones)) {
        for (std::size_t i = 0; i < std::size(kParams); ++i) p_[i] = kParams[i].def;
        for (auto& z : zones_) {
            if (!z.sample || z.sample->frames() < 2) throw std::invalid_argument(fmt::format("sample '{}' is empty", z.name));
            const std::size_t n = z.sample->frames();
            if (z.loopEnd == 0 || z.loopEnd > n) z.loopEnd = n;
            if (z.loopStart >= z.loopEnd)
                throw std::invalid_argument(fmt::format("sample '{}': loop start {} must be before loop end {} (it has {} frames)", z.name, z.loopStart, z.loopEnd, n));
            z.crossfade = std::min({z.crossfade, z.loopStart, (z.loopEnd - z.loopStart) / 2});
        }
    }
    void prepare(double sampleRate, int) override {
        sampleRate_ = sampleRate;
        for (auto& v : voices_) v = Voice{};
    }
    void noteOn(float note, float velocity) override {
        const SampleZone* z = pickZone(note);
        if (!z) return;
        const int v = alloc_.allocate(
            note, [&](int i) { return voices_[static_cast<std::size_t>(i)].zone != nullptr; },
            [&](int i) { return voices_[static_cast<std::size_t>(i)].amp; });
        auto& voice = voices_[static_cast<std::size_t>(v)];
        voice = Voice{};
        voice.zone = z;
        const auto last = static_cast<double>(z->sample->frames() - 1);
        voice.pos = std::min(last, p_[kSpStart] * sampleRate_);
        voice.end = p_[kSpEnd] > 0.0f ? std::min(last, p_[kSpEnd] * sampleRate_) : last;
        voice.rate = std::exp2((note - z->rootNote) / 12.0) * p_[kSpRate];
        voice.looping = z->mode == LoopMode::Sustain && voice.pos < static_cast<double>(z->loopEnd);
        voice.gated = p_[kSpGate] >= 0.5f;
        voice.amp = velocity * std::pow(10.0f, p_[kSpGain] / 20.0f);
        const auto pan = dsp::equalPowerPan(p_[kSpPan]);
        voice.gainL = voice.amp * pan.left * std::numbers::sqrt2_v<float>;
        voice.gainR = voice.amp * pan.right * std::numbers::sqrt2_v<float>;
        const float attack = p_[kSpAttack] * static_cast<float>(sampleRate_);
        voice.attackStep = attack < 1.0f ? 1.0f : 1.0f / attack;
        voice.env = voice.attackStep >= 1.0f ? 1.0f : 0.0f;
    }
    void noteOff(float note) override {
        alloc_.release(note, [&](int i) { release(i); });
    }
    void allNotesOff() override {
        alloc_.releaseAll([&](int i) { release(i); });
    }
    void setParam(int index, float value) override {
        if (index >= 0 && index < static_cast<int>(std::size(kParams))) p_[static_cast<std::size_t>(index)] = value;
    }
    void process(StereoView io) override {
        io.clear();
        for (auto& v : voices_)
            if (v.zone) render(v, io);
    }
    std::span<const ParamSpec> params() const override { return kParams; }
    int activeVoices() const override {
        return static_cast<int>(std::count_if(voices_.begin(), voices_.end(), [](const Voice& v) { return v.zone != nullptr; }));
    }
    const char* kind() const override { return "sample_player"; }

private:
    struct Voice {
        const SampleZone* zone = nullptr;
        double pos = 0.0, end = 0.0, rate = 1.0;
        float amp = 0.0f, gainL = 0.0f, gainR = 0.0f, env = 1.0f, attackStep = 1.0f, releaseStep = 0.0f;
        bool looping = false, releasing = false, gated = false;
    };
    const SampleZone* pickZone(float note) const {
        const int zone = static_cast<int>(p_[kSpZone]);
        if (zone >= 0) return zone < static_cast<int>(zones_.size()) ? &zones_[static_cast<std::size_t>(zone)] : nullptr;
        const int key = static_cast<int>(std::lround(note));
        for (const auto& z : zones_)
            if (key >= z.lowNote && key <= z.highNote) return &z;
        return nullptr;
    }
    static float at(const std::vector<float>& x, double pos) {
        const auto k = static_cast<std::size_t>(pos);
        const auto t = static_cast<float>(pos - static_cast<double>(k));
        const float a = x[k], b = x[std::min(k + 1, x.size() - 1)];
        return a + (b - a) * t;
    }
    void render(Voice& v, StereoView io) const {
        const SampleZone& z = *v.zone;
        const auto& s = *z.sample;
        const auto loopEnd = static_cast<double>(z.loopEnd), loopLen = static_cast<double>(z.loopEnd - z.loopStart);
        const double fadeFrom = loopEnd - static_cast<double>(z.crossfade);
        for (int i = 0; i < io.frames; ++i) {
            if ((!v.looping && v.pos >= v.end) || (v.releasing && v.env <= 0.0f)) {
                v.zone = nullptr;
                return;
            }
            float l = at(s.left, v.pos), r = at(s.right, v.pos);
            if (v.looping && z.crossfade > 0 && v.pos >= fadeFrom) {
                const auto w = static_cast<float>((v.pos - fadeFrom) / static_cast<double>(z.crossfade));
                l += (at(s.left, v.pos - loopLen) - l) * w;
                r += (at(s.right, v.pos - loopLen) - r) * w;
            }
            v.env = std::clamp(v.env + (v.releasing ? -v.releaseStep : v.attackStep), 0.0f, 1.0f);
            io.left[i] += l * v.gainL * v.env;
            io.right[i] += r * v.gainR * v.env;
            v.pos += v.rate;
            if (v.looping && v.pos >= loopEnd) v.pos -= loopLen;
        }
    }
    void release(int i) {
        auto& v = voices_[static_cast<std::size_t>(i)];
        if (!v.zone || (v.zone->mode == LoopMode::OneShot && !v.gated)) return;  // one-shots play to their end unless gated
        v.releasing = true;
        v.releaseStep = 1.0f / std::max(1.0f, p_[kSpRelease] * static_cast<float>(sampleRate_));
    }

    std::vector<SampleZone> zones_;
    std::array<Voice, kVoices> voices_{};
    VoiceAllocator<kVoices> alloc_;
    std::array<float, std::size(kParams)> p_{};
    double sampleRate_ = 48000.0;
};
}  // namespace

std::unique_ptr<Instrument> makeSamplePlayer(std::vector<SampleZone> zones) { return std::make_unique<SamplePlayer>(std::move(zones)); }

}  // namespace soundstar::engine

// Drum kit: General MIDI drum notes to synthesized drum voices, each placed in the stereo field.
#include <algorithm>
#include <array>
#include <cmath>

#include "dsp/DrumVoice.h"
#include "dsp/Pan.h"
#include "engine/SynthInstruments.h"

namespace soundstar::engine {
namespace {
using dsp::DrumType;
enum KitParam { kKickTune, kKickDecay, kKickClick, kSnareTune, kSnareTone, kSnareDecay, kClapDecay, kHatTune,
                kHatDecay, kTomTune, kRimTune, kGain };
constexpr ParamSpec kKitParams[] = {
    {"kick_tune", 0.5f, 2, 1, "x", "kick pitch multiplier"},
    {"kick_decay", 0.2f, 4, 1, "x", ""},
    {"kick_click", 0, 1, 0.5f, "", "beater click and drive"},
    {"snare_tune", 0.5f, 2, 1, "x", ""},
    {"snare_tone", 0, 1, 0.5f, "", "body to noise balance"},
    {"snare_decay", 0.2f, 4, 1, "x", ""},
    {"clap_decay", 0.2f, 4, 1, "x", ""},
    {"hat_tune", 0.5f, 2, 1, "x", ""},
    {"hat_decay", 0.2f, 4, 1, "x", ""},
    {"tom_tune", 0.5f, 2, 1, "x", ""},
    {"rim_tune", 0.5f, 2, 1, "x", ""},
    {"gain", -60, 12, -3, "dB", ""},
};
// Voice slots: kick, snare, clap, closed hat, open hat, tom low/mid/high, rim.
constexpr int kSlots = 9;
constexpr std::array<DrumType, kSlots> kSlotType{DrumType::Kick, DrumType::Snare, DrumType::Clap,
                                                 DrumType::ClosedHat, DrumType::OpenHat, DrumType::Tom,
                                                 DrumType::Tom, DrumType::Tom, DrumType::Rim};
constexpr std::array<float, kSlots> kSlotPan{0.0f, 0.05f, -0.1f, 0.3f, 0.3f, -0.35f, 0.0f, 0.35f, -0.2f};

int slotForNote(int note) {
    switch (note) {
        case 35: case 36: return 0;
        case 38: case 40: return 1;
        case 39: return 2;
        case 42: case 44: return 3;
        case 46: case 49: case 51: return 4;
        case 41: case 43: return 5;
        case 45: case 47: return 6;
        case 48: case 50: return 7;
        case 37: return 8;
        default: return -1;
    }
}

class DrumKit final : public Instrument {
public:
    DrumKit() {
        for (std::size_t i = 0; i < std::size(kKitParams); ++i) p_[i] = kKitParams[i].def;
    }
    void prepare(double sampleRate, int) override {
        for (int s = 0; s < kSlots; ++s) {
            auto& v = voices_[static_cast<std::size_t>(s)];
            v.prepare(sampleRate);
            v.setType(kSlotType[static_cast<std::size_t>(s)]);
            v.seed(static_cast<std::uint64_t>(s) + 101u);
            pans_[static_cast<std::size_t>(s)] = dsp::equalPowerPan(kSlotPan[static_cast<std::size_t>(s)]);
        }
    }
    void noteOn(float note, float velocity) override {
        const int s = slotForNote(static_cast<int>(std::lround(note)));
        if (s < 0) return;  // notes outside the kit are ignored, as on a GM drum channel
        if (s == 3) voices_[4].choke();  // closed hat cuts the open hat
        auto& v = voices_[static_cast<std::size_t>(s)];
        shape(s, v);
        v.trigger(velocity);
    }
    void noteOff(float) override {}
    void allNotesOff() override {
        for (auto& v : voices_) v.choke();
    }
    void setParam(int index, float value) override {
        if (index >= 0 && index < static_cast<int>(std::size(kKitParams))) p_[static_cast<std::size_t>(index)] = value;
    }
    void process(StereoView io) override {
        io.clear();
        const float g = std::pow(10.0f, p_[kGain] / 20.0f) * 1.41f;
        for (int s = 0; s < kSlots; ++s) {
            auto& v = voices_[static_cast<std::size_t>(s)];
            if (!v.active()) continue;
            const auto pg = pans_[static_cast<std::size_t>(s)];
            const float gl = g * pg.left, gr = g * pg.right;
            constexpr int kChunk = 256;
            float y[kChunk];
            for (int done = 0; done < io.frames; done += kChunk) {
                const int n = std::min(kChunk, io.frames - done);
                v.process(y, n);
                for (int i = 0; i < n; ++i) {
                    io.left[done + i] += y[i] * gl;
                    io.right[done + i] += y[i] * gr;
                }
            }
        }
    }
    std::span<const ParamSpec> params() const override { return kKitParams; }
    int activeVoices() const override {
        return static_cast<int>(std::count_if(voices_.begin(), voices_.end(), [](const auto& v) { return v.active(); }));
    }
    const char* kind() const override { return "drums"; }

private:
    void shape(int s, dsp::DrumVoice& v) const {
        switch (s) {
            case 0: v.setShape(p_[kKickTune], p_[kKickDecay], p_[kKickClick]); break;
            case 1: v.setShape(p_[kSnareTune], p_[kSnareDecay], p_[kSnareTone]); break;
            case 2: v.setShape(1.0f, p_[kClapDecay], 0.5f); break;
            case 3:
            case 4: v.setShape(p_[kHatTune], p_[kHatDecay], 0.4f); break;
            case 5: v.setShape(p_[kTomTune] * 0.8f, 1.0f, 0.5f); break;
            case 6: v.setShape(p_[kTomTune], 1.0f, 0.5f); break;
            case 7: v.setShape(p_[kTomTune] * 1.3f, 1.0f, 0.5f); break;
            default: v.setShape(p_[kRimTune], 1.0f, 0.5f); break;
        }
    }
    std::array<dsp::DrumVoice, kSlots> voices_{};
    std::array<dsp::PanGains, kSlots> pans_{};
    std::array<float, std::size(kKitParams)> p_{};
};
}  // namespace

std::unique_ptr<Instrument> makeDrumKit() { return std::make_unique<DrumKit>(); }

}  // namespace soundstar::engine

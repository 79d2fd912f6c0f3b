// Pad: each note is a stack of detuned saws (unison) spread across the stereo field, on the
// SIMD voice bank. Up to 10 notes of up to 8 lanes each.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "dsp/SawVoiceBank.h"
#include "engine/SynthInstruments.h"
#include "engine/VoiceAllocator.h"

namespace soundstar::engine {
namespace {
enum PadParam { kUnison, kDetune, kSpread, kCutoff, kQ, kAttack, kDecay, kSustain, kRelease, kGain };
constexpr ParamSpec kPadParams[] = {
    {"unison", 1, 8, 6, "voices", "detuned saws per note"},
    {"detune", 0, 100, 14, "cents", "spread of the unison voices"},
    {"spread", 0, 1, 0.8f, "", "stereo spread of the unison voices"},
    {"cutoff", 40, 20000, 2200, "Hz", "lowpass cutoff"},
    {"q", 0.5f, 10, 0.8f, "", "filter resonance (Q)"},
    {"attack", 0, 20, 0.8f, "s", ""},
    {"decay", 0, 20, 1.0f, "s", ""},
    {"sustain", 0, 1, 0.8f, "", ""},
    {"release", 0, 20, 1.5f, "s", ""},
    {"gain", -60, 12, -9, "dB", ""},
};
constexpr int kNotes = 10;
constexpr int kLanesPerNote = 8;

class PadSynth final : public Instrument {
public:
    PadSynth() {
        for (std::size_t i = 0; i < std::size(kPadParams); ++i) p_[i] = kPadParams[i].def;
    }
    void prepare(double sampleRate, int) override { bank_.prepare(sampleRate, kNotes * kLanesPerNote); }
    void noteOn(float note, float velocity) override {
        const int slot = alloc_.allocate(
            note, [&](int s) { return slotActive(s); }, [&](int s) { return bank_.level(s * kLanesPerNote); });
        const int unison = std::clamp(static_cast<int>(p_[kUnison]), 1, kLanesPerNote);
        const float amp = std::pow(10.0f, p_[kGain] / 20.0f) * velocity / std::sqrt(static_cast<float>(unison));
        const dsp::SawVoiceBank::Envelope env{p_[kAttack], p_[kDecay], p_[kSustain], p_[kRelease]};
        for (int u = 0; u < unison; ++u) {
            // Spread detune and pan symmetrically: -1..1 across the stack.
            const float x = unison == 1 ? 0.0f : 2.0f * static_cast<float>(u) / static_cast<float>(unison - 1) - 1.0f;
            const float hz = noteToHz(note + x * p_[kDetune] / 100.0f);
            bank_.start(slot * kLanesPerNote + u, hz, p_[kCutoff], p_[kQ], x * p_[kSpread], amp, env);
        }
    }
    void noteOff(float note) override {
        alloc_.release(note, [&](int s) { releaseSlot(s); });
    }
    void allNotesOff() override {
        alloc_.releaseAll([&](int s) { releaseSlot(s); });
    }
    void setParam(int index, float value) override {
        if (index < 0 || index >= static_cast<int>(std::size(kPadParams))) return;
        p_[static_cast<std::size_t>(index)] = value;
        if ((index == kCutoff || index == kQ) && bank_.capacity() > 0)  // retune held notes' filters too
            for (int v = 0; v < kNotes * kLanesPerNote; ++v)
                if (bank_.active(v)) bank_.setCutoff(v, p_[kCutoff], p_[kQ]);
    }
    void process(StereoView io) override {
        io.clear();
        bank_.process(io.left, io.right, io.frames);
    }
    std::span<const ParamSpec> params() const override { return kPadParams; }
    int activeVoices() const override {
        int n = 0;
        for (int s = 0; s < kNotes; ++s) n += slotActive(s) ? 1 : 0;
        return n;
    }
    const char* kind() const override { return "pad"; }

private:
    bool slotActive(int s) const {
        for (int u = 0; u < kLanesPerNote; ++u)
            if (bank_.active(s * kLanesPerNote + u)) return true;
        return false;
    }
    void releaseSlot(int s) {
        for (int u = 0; u < kLanesPerNote; ++u) bank_.release(s * kLanesPerNote + u);
    }
    dsp::SawVoiceBank bank_;
    std::array<float, std::size(kPadParams)> p_{};
    VoiceAllocator<kNotes> alloc_;
};
}  // namespace

std::unique_ptr<Instrument> makePad() { return std::make_unique<PadSynth>(); }

}  // namespace soundstar::engine

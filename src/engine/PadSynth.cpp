// Pad: each note is a stack of detuned saws (unison) spread across the stereo field, on the
// SIMD voice bank. Up to 10 notes of up to 8 lanes each, packed into the bank's lanes.
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
constexpr int kLanes = kNotes * kLanesPerNote;

class PadSynth final : public Instrument {
public:
    PadSynth() {
        for (std::size_t i = 0; i < std::size(kPadParams); ++i) p_[i] = kPadParams[i].def;
    }
    void prepare(double sampleRate, int) override {
        bank_.prepare(sampleRate, kLanes);
        owner_.fill(-1);
        first_.fill(0);
    }
    void noteOn(float note, float velocity) override {
        const int slot = alloc_.allocate(
            note, [&](int s) { return slotActive(s); }, [&](int s) { return bank_.level(first_[static_cast<std::size_t>(s)]); });
        const int unison = std::clamp(static_cast<int>(p_[kUnison]), 1, kLanesPerNote);
        const float amp = std::pow(10.0f, p_[kGain] / 20.0f) * velocity / std::sqrt(static_cast<float>(unison));
        const dsp::SawVoiceBank::Envelope env{p_[kAttack], p_[kDecay], p_[kSustain], p_[kRelease]};
        // Lanes are packed: a note takes free lanes anywhere in the bank, so six-voice stacks
        // share vectors instead of leaving two of every eight lanes idle. Order of preference:
        // the lanes this slot already holds (a stolen note is replaced, as before), idle lanes,
        // then lanes still ringing out for no slot. Ten notes of at most eight lanes fit in 80.
        std::array<int, kLanesPerNote> take{};
        int u = 0;
        const auto pick = [&](auto&& ok) {
            for (int lane = 0; lane < kLanes && u < unison; ++lane)
                if (ok(lane) && std::find(take.begin(), take.begin() + u, lane) == take.begin() + u) take[static_cast<std::size_t>(u++)] = lane;
        };
        pick([&](int l) { return owner_[static_cast<std::size_t>(l)] == slot; });
        pick([&](int l) { return !bank_.active(l); });
        pick([&](int l) { return owner_[static_cast<std::size_t>(l)] < 0; });
        if (u == 0) return;  // cannot happen with 80 lanes for ten notes; kept safe
        // Lanes of the stolen note beyond this stack ring out on their own.
        for (int lane = 0; lane < kLanes; ++lane) {
            if (owner_[static_cast<std::size_t>(lane)] != slot) continue;
            if (std::find(take.begin(), take.begin() + u, lane) != take.begin() + u) continue;
            bank_.release(lane);
            owner_[static_cast<std::size_t>(lane)] = -1;
        }
        first_[static_cast<std::size_t>(slot)] = take[0];
        for (int k = 0; k < u; ++k) {
            const int lane = take[static_cast<std::size_t>(k)];
            owner_[static_cast<std::size_t>(lane)] = slot;
            // Spread detune and pan symmetrically: -1..1 across the stack.
            const float x = unison == 1 ? 0.0f : 2.0f * static_cast<float>(k) / static_cast<float>(unison - 1) - 1.0f;
            const float hz = noteToHz(note + x * p_[kDetune] / 100.0f);
            bank_.start(lane, hz, p_[kCutoff], p_[kQ], x * p_[kSpread], amp, env);
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
        for (int l = 0; l < kLanes; ++l)
            if (owner_[static_cast<std::size_t>(l)] == s && bank_.active(l)) return true;
        return false;
    }
    void releaseSlot(int s) {
        for (int l = 0; l < kLanes; ++l)
            if (owner_[static_cast<std::size_t>(l)] == s) bank_.release(l);
    }
    dsp::SawVoiceBank bank_;
    std::array<int, kLanes> owner_{};   // the slot each lane plays for, -1 for none
    std::array<int, kNotes> first_{};   // a lane of each slot's note (its level steers stealing)
    std::array<float, std::size(kPadParams)> p_{};
    VoiceAllocator<kNotes> alloc_;
};
}  // namespace

std::unique_ptr<Instrument> makePad() { return std::make_unique<PadSynth>(); }

}  // namespace soundstar::engine

// Subtractive, FM, pluck and bell instruments: a parameter table and a voice each.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "dsp/Envelope.h"
#include "dsp/Fm.h"
#include "dsp/KarplusStrong.h"
#include "dsp/ModalBell.h"
#include "dsp/Noise.h"
#include "dsp/Svf.h"
#include "dsp/Oscillator.h"
#include "dsp/SubtractiveVoiceBank.h"
#include "engine/PolyInstrument.h"
#include "engine/VoiceAllocator.h"
#include "engine/SynthInstruments.h"

namespace soundstar::engine {
namespace {
using dsp::Waveform;

Waveform waveOf(float v) {
    switch (static_cast<int>(v)) {
        case 1: return Waveform::Square;
        case 2: return Waveform::Triangle;
        case 3: return Waveform::Sine;
        case 4: return Waveform::Pulse;
        default: return Waveform::Saw;
    }
}
float dbToGain(float db) { return std::pow(10.0f, db / 20.0f); }

// ---- subtractive: two oscillators -> ladder (with its own envelope) -> amp envelope, on the
// SIMD voice bank ----
enum SubParam { kWave1, kWave2, kDetune, kMix2, kPulseWidth, kCutoff, kResonance, kFilterMode, kFilterEnv,
                kFAttack, kFDecay, kFSustain, kFRelease, kAttack, kDecay, kSustain, kRelease, kKeyTrack, kGain };
constexpr ParamSpec kSubParams[] = {
    {"wave1", 0, 4, 0, "", "0 saw, 1 square, 2 triangle, 3 sine, 4 pulse"},
    {"wave2", 0, 4, 0, "", "second oscillator waveform"},
    {"detune", -1200, 1200, 7, "cents", "second oscillator detune"},
    {"mix2", 0, 1, 0.5f, "", "second oscillator level"},
    {"pulse_width", 0.05f, 0.95f, 0.5f, "", "pulse duty cycle"},
    {"cutoff", 20, 20000, 1800, "Hz", "filter cutoff"},
    {"resonance", 0, 1, 0.2f, "", "filter resonance"},
    {"filter_mode", 0, 3, 0, "", "0 lowpass, 1 highpass, 2 bandpass, 3 notch"},
    {"filter_env", -8, 8, 2, "octaves", "envelope amount on cutoff"},
    {"filter_attack", 0, 20, 0.005f, "s", ""},
    {"filter_decay", 0, 20, 0.3f, "s", ""},
    {"filter_sustain", 0, 1, 0.2f, "", ""},
    {"filter_release", 0, 20, 0.3f, "s", ""},
    {"attack", 0, 20, 0.005f, "s", ""},
    {"decay", 0, 20, 0.3f, "s", ""},
    {"sustain", 0, 1, 0.7f, "", ""},
    {"release", 0, 20, 0.25f, "s", ""},
    {"key_track", 0, 1, 0.5f, "", "cutoff follows pitch"},
    {"gain", -60, 12, -6, "dB", "output level"},
};
constexpr int kSubVoices = 32;

class SubtractiveSynth final : public Instrument {
public:
    SubtractiveSynth() {
        for (std::size_t i = 0; i < std::size(kSubParams); ++i) p_[i] = kSubParams[i].def;
        updatePatch();
    }
    void prepare(double sampleRate, int maxBlock) override {
        bank_.prepare(sampleRate, kSubVoices);
        bank_.setPatch(patch_);
        mono_.assign(static_cast<std::size_t>(maxBlock), 0.0f);
    }
    void noteOn(float note, float velocity) override {
        const int v = alloc_.allocate(
            note, [&](int i) { return bank_.active(i); }, [&](int i) { return bank_.level(i); });
        bank_.start(v, note, velocity);
    }
    void noteOff(float note) override {
        alloc_.release(note, [&](int i) { bank_.release(i); });
    }
    void allNotesOff() override {
        alloc_.releaseAll([&](int i) { bank_.release(i); });
    }
    void setParam(int index, float value) override {
        if (index < 0 || index >= static_cast<int>(std::size(kSubParams))) return;
        p_[static_cast<std::size_t>(index)] = value;
        updatePatch();
        bank_.setPatch(patch_);
    }
    void process(StereoView io) override {
        float* m = mono_.data();
        std::fill(m, m + io.frames, 0.0f);
        bank_.process(m, io.frames);
        std::copy(m, m + io.frames, io.left);
        std::copy(m, m + io.frames, io.right);
    }
    std::span<const ParamSpec> params() const override { return kSubParams; }
    int activeVoices() const override {
        int n = 0;
        for (int i = 0; i < kSubVoices; ++i) n += bank_.active(i) ? 1 : 0;
        return n;
    }
    const char* kind() const override { return "subtractive"; }

private:
    float p(int i) const { return p_[static_cast<std::size_t>(i)]; }
    void updatePatch() {
        patch_.wave1 = waveOf(p(kWave1));
        patch_.wave2 = waveOf(p(kWave2));
        patch_.detuneCents = p(kDetune);
        patch_.mix2 = p(kMix2);
        patch_.pulseWidth = p(kPulseWidth);
        patch_.mode = static_cast<dsp::FilterMode>(static_cast<int>(p(kFilterMode)));
        patch_.cutoffHz = p(kCutoff);
        patch_.resonance = p(kResonance);
        patch_.filterEnvOctaves = p(kFilterEnv);
        patch_.keyTrack = p(kKeyTrack);
        patch_.filter = {p(kFAttack), p(kFDecay), p(kFSustain), p(kFRelease)};
        patch_.amp = {p(kAttack), p(kDecay), p(kSustain), p(kRelease)};
        patch_.gain = dbToGain(p(kGain));
    }
    dsp::SubtractiveVoiceBank bank_;
    dsp::SubtractiveVoiceBank::Patch patch_;
    VoiceAllocator<kSubVoices> alloc_;
    std::array<float, std::size(kSubParams)> p_{};
    std::vector<float> mono_;
};

// ---- FM: four operators, algorithm, modulator brightness ----
enum FmParam { kAlgo, kR1, kR2, kR3, kR4, kL2, kL3, kL4, kFeedback, kFmAttack, kFmDecay, kFmSustain,
               kFmRelease, kModDecay, kModSustain, kFmGain };
constexpr ParamSpec kFmParams[] = {
    {"algorithm", 0, 4, 4, "", "0 stack, 1 two stacks, 2 three-to-one, 3 additive, 4 two-operator"},
    {"ratio1", 0.125f, 16, 1, "", "carrier frequency ratio"},
    {"ratio2", 0.125f, 16, 2, "", ""},
    {"ratio3", 0.125f, 16, 3, "", ""},
    {"ratio4", 0.125f, 16, 1, "", ""},
    {"level2", 0, 2, 0.6f, "", "modulation index of operator 2"},
    {"level3", 0, 2, 0.0f, "", ""},
    {"level4", 0, 2, 0.0f, "", ""},
    {"feedback", 0, 1, 0.0f, "", "self-modulation of the top operator"},
    {"attack", 0, 20, 0.003f, "s", ""},
    {"decay", 0, 20, 1.2f, "s", ""},
    {"sustain", 0, 1, 0.3f, "", ""},
    {"release", 0, 20, 0.4f, "s", ""},
    {"mod_decay", 0, 20, 0.5f, "s", "modulator envelope decay (brightness fades)"},
    {"mod_sustain", 0, 1, 0.2f, "", ""},
    {"gain", -60, 12, -6, "dB", ""},
};

class FmVoice {
public:
    void prepare(double sr, const float* p) {
        p_ = p;
        fm_.prepare(sr);
    }
    void start(float note, float velocity) {
        fm_.setAlgorithm(static_cast<dsp::FmAlgorithm>(static_cast<int>(p_[kAlgo])));
        const float levels[4] = {1.0f, p_[kL2] * velocity, p_[kL3] * velocity, p_[kL4] * velocity};
        for (int i = 0; i < 4; ++i) {
            dsp::Fm4::Operator op;
            op.ratio = p_[kR1 + i];
            op.level = levels[i];
            op.feedback = i == 3 ? p_[kFeedback] : 0.0f;
            const bool carrier = i == 0;
            op.attackS = p_[kFmAttack];
            op.decayS = carrier ? p_[kFmDecay] : p_[kModDecay];
            op.sustain = carrier ? p_[kFmSustain] : p_[kModSustain];
            op.releaseS = p_[kFmRelease];
            fm_.setOperator(i, op);
        }
        fm_.noteOn(noteToHz(note));
        vel_ = velocity;
    }
    void release() { fm_.noteOff(); }
    bool active() const { return fm_.active(); }
    float level() const { return fm_.level(); }
    void render(float* out, int n) { fm_.process(out, n, dbToGain(p_[kFmGain]) * vel_); }

private:
    const float* p_ = nullptr;
    dsp::Fm4 fm_;
    float vel_ = 1.0f;
};

class FmSynth final : public PolyInstrument<FmVoice, 12> {
public:
    FmSynth() { initParams(); }
    std::span<const ParamSpec> params() const override { return kFmParams; }
    const char* kind() const override { return "fm"; }
};

// ---- pluck: Karplus-Strong ----
enum PluckParam { kBrightness, kPluckDecay, kPluckGain };
constexpr ParamSpec kPluckParams[] = {
    {"brightness", 0, 1, 0.6f, "", "pick and string brightness"},
    {"decay", 0.05f, 20, 1.5f, "s", "time to -60 dB"},
    {"gain", -60, 12, -3, "dB", ""},
};

class PluckVoice {
public:
    void prepare(double sr, const float* p) {
        p_ = p;
        ks_.prepare(sr, 25.0f);
    }
    void start(float note, float velocity) {
        // Excitation noise is seeded by the note and the voice's pluck count: reproducible.
        ks_.seed(static_cast<std::uint64_t>(note * 131.0f) * 7919u + ++plucks_);
        ks_.pluck(noteToHz(note), velocity, p_[kBrightness], p_[kPluckDecay]);
        released_ = false;
    }
    void release() {
        if (!released_) ks_.damp();
        released_ = true;
    }
    bool active() const { return ks_.active(); }
    float level() const { return released_ ? 0.0f : 1.0f; }
    void render(float* out, int n) {
        const float g = dbToGain(p_[kPluckGain]);
        ks_.process(out, n, g);
    }

private:
    const float* p_ = nullptr;
    dsp::KarplusStrong ks_;
    std::uint64_t plucks_ = 0;
    bool released_ = false;
};

class PluckSynth final : public PolyInstrument<PluckVoice, 12> {
public:
    PluckSynth() { initParams(); }
    std::span<const ParamSpec> params() const override { return kPluckParams; }
    const char* kind() const override { return "pluck"; }
};

// ---- bell: modal resonators ----
enum BellParam { kBellDecay, kBellBrightness, kBellGain };
constexpr ParamSpec kBellParams[] = {
    {"decay", 0.05f, 30, 3.0f, "s", "fundamental decay to -60 dB"},
    {"brightness", 0, 1, 0.6f, "", "upper partial weight"},
    {"gain", -60, 12, -3, "dB", ""},
};

class BellVoice {
public:
    void prepare(double sr, const float* p) {
        p_ = p;
        bell_.prepare(sr);
    }
    void start(float note, float velocity) {
        bell_.strike(noteToHz(note), velocity, p_[kBellDecay], p_[kBellBrightness]);
    }
    void release() {}
    bool active() const { return bell_.active(); }
    float level() const { return 0.5f; }
    void render(float* out, int n) {
        const float g = dbToGain(p_[kBellGain]);
        bell_.process(out, n, g);
    }

private:
    const float* p_ = nullptr;
    dsp::ModalBell bell_;
};

class BellSynth final : public PolyInstrument<BellVoice, 12> {
public:
    BellSynth() { initParams(); }
    std::span<const ParamSpec> params() const override { return kBellParams; }
    const char* kind() const override { return "bell"; }
};
// ---- noise: pink/white noise through a resonant bandpass centred on the note, with an ADSR ----
enum NoiseParam { kColor, kNoiseQ, kNAttack, kNDecay, kNSustain, kNRelease, kNoiseGain };
constexpr ParamSpec kNoiseParams[] = {
    {"color", 0, 1, 0.7f, "", "0 white, 1 pink"},
    {"q", 0.3f, 30, 1.5f, "", "bandpass resonance: low = wide hiss, high = pitched whistle"},
    {"attack", 0, 20, 0.01f, "s", ""},
    {"decay", 0, 20, 0.3f, "s", ""},
    {"sustain", 0, 1, 0.6f, "", ""},
    {"release", 0, 20, 0.5f, "s", ""},
    {"gain", -60, 12, -6, "dB", ""},
};

class NoiseVoice {
public:
    void prepare(double sr, const float* p) {
        p_ = p;
        filter_.prepare(sr);
        filter_.setMode(dsp::FilterMode::BandPass);
        env_.prepare(sr);
    }
    void start(float note, float velocity) {
        // Noise is seeded by the note and the voice's start count: reproducible.
        const auto seed = static_cast<std::uint64_t>(note * 131.0f) * 7919u + ++starts_;
        white_.seed(seed);
        pink_.seed(seed + 1);
        filter_.set(noteToHz(note), p_[kNoiseQ]);
        env_.set(p_[kNAttack], p_[kNDecay], p_[kNSustain], p_[kNRelease]);
        env_.gateOn();
        vel_ = velocity;
    }
    void release() { env_.gateOff(); }
    bool active() const { return env_.active(); }
    float level() const { return env_.level(); }
    void render(float* out, int n) {
        // Bandpass output peaks at Q; divide it out so q changes colour, not loudness.
        const float g = dbToGain(p_[kNoiseGain]) * vel_ / std::max(1.0f, p_[kNoiseQ] * 0.5f);
        const float c = p_[kColor];
        // The states in locals for the loop: `out` could alias the members, which would put
        // every recursion through memory (a store and a reload a sample).
        auto white = white_;
        auto pink = pink_;
        auto filter = filter_;
        auto env = env_;
        for (int i = 0; i < n; ++i) {
            const float x = c * pink.tick() * 3.0f + (1.0f - c) * white.tick();
            out[i] += filter.tick(x) * env.tick() * g;
        }
        white_ = white;
        pink_ = pink;
        filter_ = filter;
        env_ = env;
    }

private:
    const float* p_ = nullptr;
    dsp::WhiteNoise white_;
    dsp::PinkNoise pink_;
    dsp::Svf filter_;
    dsp::Adsr env_;
    float vel_ = 1.0f;
    std::uint64_t starts_ = 0;
};

class NoiseSynth final : public PolyInstrument<NoiseVoice, 12> {
public:
    NoiseSynth() { initParams(); }
    std::span<const ParamSpec> params() const override { return kNoiseParams; }
    const char* kind() const override { return "noise"; }
};
}  // namespace

std::unique_ptr<Instrument> makeNoise() { return std::make_unique<NoiseSynth>(); }

std::unique_ptr<Instrument> makeSubtractive() { return std::make_unique<SubtractiveSynth>(); }
std::unique_ptr<Instrument> makeFm() { return std::make_unique<FmSynth>(); }
std::unique_ptr<Instrument> makePluck() { return std::make_unique<PluckSynth>(); }
std::unique_ptr<Instrument> makeBell() { return std::make_unique<BellSynth>(); }

}  // namespace soundstar::engine

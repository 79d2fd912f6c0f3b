#pragma once
// Subtractive voices eight at a time in SIMD lanes: two band-limited oscillators (PolyBLEP saw,
// square/pulse, leaky-integrated triangle, sine) -> four-pole zero-delay-feedback ladder (the
// same topology as dsp::Ladder) with its own envelope -> amplitude envelope. The patch is shared
// by all voices, so waveform and filter-mode choices are made outside the vector loops.
// prepare() [control]; everything else [rt].
#include <cmath>
#include <cstdint>
#include <vector>

#include "dsp/Oscillator.h"
#include "dsp/Simd.h"
#include "dsp/Svf.h"

namespace soundstar::dsp {

class SubtractiveVoiceBank {
public:
    static constexpr int kLanes = 8;
    static constexpr int kChunk = 16;  // samples between envelope-stage and cutoff updates

    struct Segments {
        float attackS = 0.005f, decayS = 0.3f, sustain = 0.7f, releaseS = 0.25f;
    };
    struct Patch {
        Waveform wave1 = Waveform::Saw, wave2 = Waveform::Saw;
        float detuneCents = 7.0f, mix2 = 0.5f, pulseWidth = 0.5f;
        FilterMode mode = FilterMode::LowPass;
        float cutoffHz = 1800.0f, resonance = 0.2f, filterEnvOctaves = 2.0f, keyTrack = 0.5f;
        Segments amp, filter;
        float gain = 0.5f;  // linear
    };

    void prepare(double sampleRate, int maxVoices);
    int capacity() const { return static_cast<int>(groups_.size()) * kLanes; }
    void reset();
    /// Takes effect at once for cutoff, resonance, mix and gain; envelopes at the next note.
    void setPatch(const Patch& p);
    void start(int v, float note, float velocity);
    void release(int v);
    bool active(int v) const;
    bool released(int v) const;
    float level(int v) const;
    /// Renders every active voice and adds the mono sum into out.
    void process(float* out, int frames);
    /// For tests: every group through the eight-lane loop, also where one or two voices sound.
    void setEightLanesAlways(bool on) { eightLanesAlways_ = on; }
    /// For tests: how many 16-sample chunks worked out their oscillators along time.
    long alongTimeChunks() const { return alongTimeChunks_; }

private:
    enum Stage : std::uint8_t { kIdle, kAttack, kDecay, kSustain, kRelease };
    struct Env {
        float level[kLanes], target[kLanes], coef[kLanes];
        float decayCoef[kLanes], releaseCoef[kLanes], sustain[kLanes];
        Stage stage[kLanes];
    };
    struct alignas(32) Group {
        float ph1[kLanes], ph2[kLanes], inc1[kLanes], inc2[kLanes], tri1[kLanes], tri2[kLanes];
        float s1[kLanes], s2[kLanes], s3[kLanes], s4[kLanes];
        float keyOct[kLanes], vel[kLanes];
        Env amp, filt;
        int activeCount;
    };
    void startEnv(Env& e, int lane, const Segments& s) const;
    void advance(Env& e, int lane, bool isAmp, Group& g);
    template <int G>
    void processGroups(Group* const* gs, float* out, int n);
    bool oscillatorsAlongTime(const Group& g, simd::v8& tri1, simd::v8& tri2, simd::v8* xs, int n);
    float coefFor(float seconds) const;
    std::vector<Group> groups_;
    Patch patch_;
    float baseOct_ = std::log2(Patch{}.cutoffHz);  // log2 of the patch's cutoff, from setPatch
    double sampleRate_ = 48000.0;
    bool eightLanesAlways_ = false;
    long alongTimeChunks_ = 0;
};

}  // namespace soundstar::dsp

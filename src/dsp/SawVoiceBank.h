#pragma once
// A bank of subtractive voices (band-limited saw -> 2-pole resonant TPT lowpass -> envelope ->
// equal-power pan), processed eight voices at a time with SIMD vectors (structure of arrays).
// Used by the pad instrument (unison lanes) and the voice benchmark. Departure from the
// "double phase" rule: lanes keep float phase in [0,1) so eight fit in one AVX register; the
// wrap keeps the error below 1e-7 cycles per sample (see docs/adr/0002-simd-voice-bank.md).
// prepare() [control]; everything else [rt].
#include <cstdint>
#include <vector>

namespace soundstar::dsp {

class SawVoiceBank {
public:
    static constexpr int kLanes = 8;
    static constexpr int kChunk = 16;  // samples between envelope-stage checks

    struct Envelope {
        float attackS = 0.01f, decayS = 0.2f, sustain = 0.7f, releaseS = 0.5f;
    };

    void prepare(double sampleRate, int maxVoices);
    int capacity() const { return static_cast<int>(groups_.size()) * kLanes; }
    void reset();
    /// Starts voice v: pitch, filter cutoff in Hz and Q (rq = 1/Q as SuperCollider's RLPF),
    /// pan -1..1, amplitude, envelope. Any previous sound on the lane is replaced.
    void start(int v, float freqHz, float cutoffHz, float q, float pan, float amp, const Envelope& env);
    void release(int v);
    void setFrequency(int v, float freqHz);
    void setCutoff(int v, float cutoffHz, float q);
    bool active(int v) const;
    bool released(int v) const;
    /// Current envelope level of a voice (for stealing the quietest).
    float level(int v) const;
    /// Renders all active voices and adds them into left/right.
    void process(float* left, float* right, int frames);

private:
    enum Stage : std::uint8_t { kIdle, kAttack, kDecay, kSustain, kRelease };
    struct alignas(32) Group {
        float phase[kLanes], inc[kLanes], invInc[kLanes];
        float ic1[kLanes], ic2[kLanes], a1[kLanes], a2[kLanes], a3[kLanes];
        float env[kLanes], envTarget[kLanes], envCoef[kLanes], gainL[kLanes], gainR[kLanes];
        float decayCoef[kLanes], releaseCoef[kLanes], sustain[kLanes];
        Stage stage[kLanes];
        int activeCount;
    };
    // acc: kChunk vectors of kLanes floats (kept opaque here to keep vector types out of the header).
    template <int G>
    void processGroups(Group* const* gs, void* accL, void* accR, int n);
    void advanceStages(Group& g);
    float coefFor(float seconds) const;
    std::vector<Group> groups_;
    double sampleRate_ = 48000.0;
};

}  // namespace soundstar::dsp

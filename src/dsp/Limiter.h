#pragma once
// Look-ahead true-peak brickwall limiter. Peaks are estimated between samples with a 4x
// polyphase windowed-sinc interpolator (as ITU-R BS.1770-4 Annex 2 measures true peak); the
// gain is a sliding minimum over the look-ahead window, smoothed by a box filter of the same
// length so it has reached its target when the peak leaves the delay line (the scheme of
// Signalsmith's and Sanfilippo's look-ahead limiters). Latency: lookahead samples.
// prepare() [control]; the rest [rt].
#include <array>
#include <vector>

#include "core/AudioBuffer.h"

namespace soundstar::dsp {

class Limiter {
public:
    static constexpr int kTapsPerPhase = 12;

    void prepare(double sampleRate, float lookaheadMs = 2.0f);
    void reset();
    /// ceilingDb: the highest true peak let out (e.g. -1 dBTP); releaseMs: recovery time.
    void set(float ceilingDb, float releaseMs);
    int latencySamples() const { return delayLen_; }
    /// Smallest gain applied so far since reset (for meters and tests).
    float minGain() const { return minGain_; }
    void process(StereoView io);

private:
    float truePeak(const float* oldestFirst) const;
    // True peaks of n samples at once: x holds kTapsPerPhase - 1 older samples, then the n.
    void truePeaks(const float* x, int n, float* peak) const;
    float slidingMin(float value);
    // The gain at rest over a chunk that asks for none: checked exactly, then applied directly.
    bool settled(const float* peak, int n) const;
    void passThrough(float* inL, float* inR, int n);
    template <typename Gain>
    void throughDelay(float* inL, float* inR, int n, Gain gain);
    double sampleRate_ = 48000.0;
    int lookahead_ = 96;
    float ceiling_ = 0.891f, releaseCoef_ = 0.999f, release_ = 1.0f, minGain_ = 1.0f;
    std::array<std::array<float, kTapsPerPhase>, 3> phases_{};  // fractional positions 1/4, 2/4, 3/4
    // The same taps interleaved by tap ([k][phase], phase 3 = 0) for 4-wide multiply-adds.
    alignas(16) std::array<float, kTapsPerPhase * 4> interleaved_{};
    // The last kTapsPerPhase - 1 input samples per channel, oldest first: with a chunk appended
    // they give every sample's interpolation window as one contiguous run.
    std::array<float, kTapsPerPhase - 1> tailL_{}, tailR_{};
    float tapBound_ = 1.0f;  // largest sum of |taps| over the phases: bounds any interpolated peak
    std::vector<float> delayL_, delayR_, boxWindow_;
    // Monotonic queue (ascending values) over the last `lookahead_` gains: O(1) sliding minimum.
    std::vector<float> minValues_;
    std::vector<long> minTimes_;
    int minHead_ = 0, minCount_ = 0;
    float lastHeld_ = 1.0f;  // the sliding minimum's last output, and for how many samples running
    int heldRun_ = 0;
    long tick_ = 0;
    int delayPos_ = 0, windowPos_ = 0, delayLen_ = 96;
    double boxSum_ = 0.0;
};

}  // namespace soundstar::dsp

#pragma once
// True peak as ITU-R BS.1770-4 Annex 2 measures it: the largest magnitude of the signal
// oversampled 4x, here by a polyphase windowed-sinc interpolator (16 taps per phase, Kaiser
// window, beta 8), eight output positions per vector. Stretches whose samples cannot reach the
// largest value found so far, even between samples, are skipped: the bound (sum of |taps|
// times the largest sample in reach) is exact, so skipping never changes the answer. [any]
#include <cstddef>

namespace soundstar::dsp {

class TruePeakMeter {
public:
    static constexpr int kFactor = 4, kTapsPerPhase = 16;

    /// Largest magnitude (linear) of one channel, oversampled 4x; samples outside read as 0.
    static float truePeak(const float* x, std::size_t frames);
    /// The larger of the two channels' true peaks, in dBTP (-inf for silence).
    static double truePeakDbtp(const float* left, const float* right, std::size_t frames);
    /// For a stream cut into blocks: the largest magnitude of x's samples and of the values
    /// between x[7] and x[frames - 8], the ones whose 16 taps all lie inside x. Keep the last 15
    /// samples of a block in front of the next one and every position is measured exactly once
    /// (scalar, 48 multiply-adds a sample) [any].
    static float truePeakInterior(const float* x, std::size_t frames);
    /// For a buffer measured in spans (by several threads, or behind a writer): the largest of
    /// `best` and the magnitudes of x's samples and oversampled values at positions
    /// [start, start + len) (at most 512); reads x[start - 8, start + len + 8) (within frames),
    /// and skips the interpolation when those samples cannot exceed `best`. The largest over
    /// all spans is truePeak(x, frames) exactly, however they were cut and ordered [any].
    static float truePeakSpan(const float* x, std::size_t frames, std::size_t start, std::size_t len, float best);
};

}  // namespace soundstar::dsp

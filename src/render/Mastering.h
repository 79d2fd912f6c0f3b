#pragma once
// Offline mastering: DC removal, loudness normalisation to a target integrated loudness
// (EBU R128 / ITU-R BS.1770-4, measured by dsp::LoudnessMeter) and a true-peak ceiling
// (dsp::TruePeakMeter): the gain comes from one measurement of the input, the look-ahead
// true-peak limiter runs once, its result is measured once and a plain gain lands the target
// within the ceiling; a second limiter pass only when the limiter took more loudness than the
// ceiling leaves room to restore [control].
#include "core/AudioBuffer.h"

namespace soundstar::render {

struct MasteringOptions {
    double targetLufs = -14.0;   // integrated loudness goal
    double ceilingDbtp = -1.0;   // true-peak ceiling
};

struct MasteringReport {
    double inputLufs = 0.0, outputLufs = 0.0, truePeakDbtp = 0.0, gainDb = 0.0;
    bool silent = false;  // nothing to normalise (loudness below the gate)
    int limiterPasses = 0;  // 1 unless the limiter took more loudness than the ceiling left room for
};

/// Measured integrated loudness (LUFS) and true peak (dBTP) of a stereo buffer.
struct Loudness {
    double lufs, truePeakDbtp;
};
/// truePeak false skips the 4x-oversampled true-peak scan and reports 0 dBTP.
Loudness measure(const StereoBuffer& audio, double sampleRate, bool truePeak = true);

/// Masters in place and reports what it did.
MasteringReport master(StereoBuffer& audio, double sampleRate, const MasteringOptions& o = {});

}  // namespace soundstar::render

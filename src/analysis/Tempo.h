#pragma once
// Tempo and beats [control]: the autocorrelation of the onset-strength envelope (spectral flux,
// its moving mean removed), scored at each beat period in 60-200 bpm together with its multiples
// and weighted by a log-normal preference around 120 bpm (Ellis 2007, "Beat Tracking by Dynamic
// Programming"); the period is refined at its largest multiple that fits; the beat phase is the
// one whose grid collects the most onset strength.
#include <span>
#include <vector>

#include "analysis/Onsets.h"

namespace soundstar::analysis {

inline constexpr double kMinBpm = 60.0, kMaxBpm = 200.0;

struct TempoEstimate {
    double bpm = 0.0;               ///< 0 when the material is too short or has no pulse
    double confidence = 0.0;        ///< normalised autocorrelation at the beat period (0..1)
    std::vector<double> beatsSeconds;
};

/// Needs at least 4 s of audio; shorter, or without onsets, gives bpm 0.
TempoEstimate estimateTempo(std::span<const float> mono, double sampleRate);

/// The onset options the tempo's envelope uses at a rate (a ~5.8 ms hop, frames of ~23 ms or more).
OnsetOptions tempoOnsetOptions(double sampleRate);

/// The same from spectralFlux(mono, tempoOnsetOptions(sampleRate)), of `frames` samples.
TempoEstimate tempoFromFlux(std::vector<double> env, double sampleRate, std::size_t frames);

}  // namespace soundstar::analysis

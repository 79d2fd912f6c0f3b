#pragma once
// Pitch of monophonic material [control]: YIN (de Cheveigne and Kawahara 2002), the cumulative
// mean normalised difference function with an absolute threshold and parabolic interpolation of
// the difference function at its dip; the difference function comes from an FFT correlation.
#include <cstddef>
#include <span>
#include <vector>

namespace soundstar::analysis {

struct PitchOptions {
    double minHz = 50.0, maxHz = 2000.0;
    std::size_t window = 1024, hop = 1024;  ///< integration window and hop, in samples
    double threshold = 0.15;                ///< YIN's absolute threshold on the normalised difference
    double silenceDb = -60.0;               ///< frames quieter than this (RMS dBFS) are unvoiced
};

struct PitchFrame {
    double seconds = 0.0;
    double hz = 0.0;          ///< 0 when unvoiced
    double confidence = 0.0;  ///< 1 - the normalised difference at the chosen period (0..1)
};

struct PitchSummary {
    double hz = 0.0;              ///< median of the voiced frames; 0 when none
    double confidence = 0.0;      ///< median confidence of the voiced frames
    double voicedFraction = 0.0;  ///< voiced frames / all frames
    std::vector<PitchFrame> frames;
};

PitchSummary trackPitch(std::span<const float> mono, double sampleRate, const PitchOptions& o = {});

/// MIDI note number (69 = A4 = 440 Hz) of a frequency, fractional.
double hzToMidi(double hz);

}  // namespace soundstar::analysis

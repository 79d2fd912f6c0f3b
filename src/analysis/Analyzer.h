#pragma once
// Analysis of a stereo buffer [control]: levels, BS.1770 loudness and true peak (the project's
// meters in src/dsp), a magnitude spectrum, onsets, pitch, tempo and beats, key. Never on the
// audio thread; the live service will feed it from ring buffers.
#include <array>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "analysis/Key.h"
#include "analysis/Pitch.h"
#include "analysis/Spectrum.h"
#include "analysis/Tempo.h"

namespace soundstar::analysis {

struct AnalysisOptions {
    std::size_t fftSize = 4096;  ///< a power of two in [kMinFftSize, kMaxFftSize]
    Window window = Window::Hann;
};

struct SpectrumPeak {
    double hz = 0.0, db = 0.0;
};

struct AnalysisReport {
    double sampleRate = 0.0;
    double seconds = 0.0;
    double rmsDbfs = 0.0, peakDbfs = 0.0;  ///< over both channels; -inf for silence
    double integratedLufs = 0.0, momentaryMaxLufs = 0.0, shortTermMaxLufs = 0.0, truePeakDbtp = 0.0;  ///< -inf when none
    std::size_t fftSize = 0;
    Window window = Window::Hann;
    std::vector<double> spectrumDb;  ///< fftSize/2 bins, dBFS (a full-scale sine's bin reads 0 dB); bin k at k*rate/fftSize
    std::vector<SpectrumPeak> spectrumPeaks;  ///< the five largest local maxima, loudest first, interpolated
    double centroidHz = 0.0;
    std::vector<double> onsetsSeconds;
    PitchSummary pitch;
    TempoEstimate tempo;
    KeyEstimate key;
    std::array<double, 12> chroma{};
};

/// Throws std::invalid_argument for an FFT size outside the allowed ones, or a sample rate
/// outside 8000-384000 Hz, naming the value and what is allowed.
AnalysisReport analyze(std::span<const float> left, std::span<const float> right, double sampleRate,
                       const AnalysisOptions& options = {});

/// The report as one JSON object (non-finite values as null).
nlohmann::json toJson(const AnalysisReport& r);

/// A few lines for people.
std::string summaryText(const AnalysisReport& r);

/// "C", "C#", ... for a pitch class.
const char* pitchClassName(int pc);

}  // namespace soundstar::analysis

#pragma once
// Onsets [control]: the half-wave rectified spectral flux of log-compressed magnitudes (Bello et
// al. 2005, "A Tutorial on Onset Detection in Music Signals"), peaks picked above an adaptive
// threshold (a moving median plus a fraction of the mean), at least `minGapSeconds` apart.
#include <cstddef>
#include <span>
#include <vector>

namespace soundstar::analysis {

struct OnsetOptions {
    std::size_t frameSize = 1024, hop = 256;
    double medianWeight = 1.5, meanWeight = 0.1;  ///< threshold = medianWeight * median + meanWeight * mean
    std::size_t medianRadius = 8;                  ///< frames either side in the moving median
    double minGapSeconds = 0.03;
    /// An onset's flux must also reach this mean rise per bin (in log1p(1000 |X|)): a steady
    /// sine's window leakage wobbles by under 0.01, music's flux runs at 0.1-0.3 between hits.
    double minFluxPerBin = 0.05;
    double silenceDb = -60.0;  ///< a frame quieter than this (RMS dBFS) holds no onset, however it changes
};

/// The onset-strength envelope: one spectral-flux value per hop; value i compares the frame
/// starting at i * hop with the one before (value 0 is 0).
std::vector<double> spectralFlux(std::span<const float> mono, const OnsetOptions& o = {});

/// Onset times in seconds (see fluxFrameSeconds).
std::vector<double> detectOnsets(std::span<const float> mono, double sampleRate, const OnsetOptions& o = {});

/// The same from a flux already computed with `o` (spectralFlux(mono, o)).
std::vector<double> pickOnsets(std::span<const double> flux, std::span<const float> mono, double sampleRate, const OnsetOptions& o = {});

/// The absolute floor minFluxPerBin gives for o's frame size.
double fluxFloor(const OnsetOptions& o);

/// Seconds of envelope value i: the middle of the last hop of frame i, the samples frame i-1 lacked.
double fluxFrameSeconds(std::size_t i, const OnsetOptions& o, double sampleRate);

}  // namespace soundstar::analysis

#pragma once
// Key from audio [control]: a 12-bin chroma of the average spectrum and the best correlation
// with the Krumhansl-Kessler major and minor profiles (Krumhansl 1990, "Cognitive Foundations
// of Musical Pitch"), tried at all twelve tonics.
#include <array>
#include <cstddef>
#include <span>

namespace soundstar::analysis {

/// 12-bin chroma (C = 0) from the average Hann spectrum between loHz and hiHz. The default band
/// (55-350 Hz) holds the fundamentals of bass and chords but not their fifth harmonics, which
/// would otherwise add a phantom major third to every minor chord.
std::array<double, 12> chroma(std::span<const float> x, double sampleRate, std::size_t n = 16384,
                              double loHz = 55.0, double hiHz = 350.0);

struct KeyEstimate {
    int tonic = 0;        ///< pitch class, C = 0
    bool minor = false;
    double correlation = 0.0;  ///< Pearson r with the winning profile, -1..1
};

/// Best-matching key of a chroma vector.
KeyEstimate estimateKey(const std::array<double, 12>& chroma);

}  // namespace soundstar::analysis

#pragma once
// Octave-band energies of a signal and how much two spectra overlap [control]: what the DJ's
// spectral check compares (a candidate layer against the mix it would join). Never on the audio
// thread: it allocates.
#include <array>
#include <span>
#include <string>

namespace soundstar::analysis {

/// Nine octave bands centred on 31.5, 63, 125, 250, 500, 1k, 2k, 4k and 8k Hz (edges at the
/// centres / sqrt 2 and * sqrt 2: 22 Hz to 11.3 kHz).
inline constexpr std::size_t kOctaveBands = 9;
using BandEnergies = std::array<double, kOctaveBands>;
/// The lower edge of band `b` (0..kOctaveBands) in Hz; band b spans [edge(b), edge(b + 1)).
double octaveBandEdgeHz(std::size_t b);

/// Mean power per band of mono `x` at `sampleRate` (Hann frames of 4096, hop 2048; the band's
/// share of the signal's mean square, so a full-scale sine in one band reads about 0.5 there).
/// Bins above Nyquist are simply absent (at 22.05 kHz the top band ends at 11 kHz).
BandEnergies octaveBandEnergies(std::span<const float> x, double sampleRate);

/// Each band's share of the total (all zero when the total is zero).
BandEnergies bandShares(const BandEnergies& e);

/// How much of `part` the `mix` covers: band by band the smaller of the two powers, summed, over
/// the part's total (0: the part sits where the mix is silent; 1: the mix is at least as strong
/// in every band the part has). Both at the levels they play; 0 for a silent part.
double spectralOverlap(const BandEnergies& part, const BandEnergies& mix);

/// The band where the two share the most power (the larger of the smaller powers).
std::size_t mostOverlappedBand(const BandEnergies& a, const BandEnergies& b);

/// "31.5Hz", "63Hz", ..., "8kHz": a band's name for events.
std::string octaveBandName(std::size_t b);

}  // namespace soundstar::analysis

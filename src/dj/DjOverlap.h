#pragma once
// The DJ's spectral-overlap check [control]: a layer's octave-band spectrum in a vibe (its part
// composed and rendered alone for a couple of bars, cached), the mix of the playing layers as the
// sum of theirs, and, among candidate styles for a layer that is replaced, the one whose spectrum
// shares the least with the mix (analysis::spectralOverlap). Deterministic: the same vibe gives
// the same bands on every clock and run (rendered offline, one thread).
#include <map>
#include <string>
#include <vector>

#include "analysis/Bands.h"
#include "engine/Preset.h"
#include "live/Stream.h"

namespace soundstar::dj {

/// Band energies of layers' parts, rendered offline and remembered per (layer, config).
class LayerSpectra {
public:
    explicit LayerSpectra(const engine::PresetLibrary& presets) : presets_(presets) {}
    /// `layer`'s band energies in `vibe` (all zero when its music has no such layer).
    analysis::BandEnergies of(const live::StreamVibe& vibe, const std::string& layer);
    static constexpr double kSampleRate = 22050.0;  // bands up to 11 kHz: enough to tell parts apart, and cheap
    static constexpr int kBars = 2;                 // rendered per estimate
    static constexpr std::size_t kMaxCached = 64;   // the oldest half is forgotten past it
    int renders() const { return renders_; }

private:
    const engine::PresetLibrary& presets_;
    std::map<std::string, analysis::BandEnergies> cache_;
    std::vector<std::string> order_;  // cache keys, oldest first
    int renders_ = 0;
};

/// What the check found for one layer change.
struct OverlapChoice {
    std::string layer, style;                                // the layer and the style chosen
    std::vector<std::pair<std::string, double>> candidates;  // each style with its overlap (0..1)
    analysis::BandEnergies mix{}, chosen{};                  // the mix's and the chosen part's bands
    std::vector<std::string> mixLayers;                      // what the mix was made of
    /// For the event: "pad vs drums+bass: warm_slow 0.612, thin_high 0.318 -> thin_high (most shared 250Hz);
    /// mix dB -31.0,...; thin_high dB ...".
    std::string label() const;
};

/// The styles of `layer` nearest to `intensity` (0..1) on stylesByIntensity(), never `current`,
/// at most `count`, nearest first (ties: the calmer first). Empty for a layer without styles.
std::vector<std::string> candidateStyles(const std::string& layer, double intensity, const std::string& current, std::size_t count = 3);

/// Among `candidates` (styles of `layer`; at least one), the one whose part overlaps the mix of
/// `mixLayers` in `vibe` least (a candidate with no sound at all is passed over; ties: the first).
OverlapChoice leastOverlapping(LayerSpectra& spectra, const live::StreamVibe& vibe, const std::string& layer,
                               const std::vector<std::string>& candidates, const std::vector<std::string>& mixLayers);

}  // namespace soundstar::dj

#include "dj/DjOverlap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "dj/DjStyles.h"
#include "live/Layers.h"
#include "music/JsonText.h"
#include "render/Renderer.h"

namespace soundstar::dj {
namespace {
std::string dbList(const analysis::BandEnergies& e) {
    std::string out;
    for (const double v : e) out += fmt::format("{}{:.1f}", out.empty() ? "" : ",", v > 0.0 ? 10.0 * std::log10(v) : -200.0);
    return out;
}
}  // namespace

analysis::BandEnergies LayerSpectra::of(const live::StreamVibe& vibe, const std::string& layer) {
    const std::string key = layer + "\n" + music::toJson(vibe.config);
    if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
    // Its part alone (and its sends' returns), from the start of a short loop of the vibe.
    const double bpm = vibe.config.resolvedBpm();
    const double seconds = kBars * live::barSamples(bpm, kSampleRate) / kSampleRate;
    const auto arrangement = compose::arrange(vibe.config, seconds * 2.0, compose::ArrangeOptions{"loop", true, 4});
    const music::Score score = compose::composeSketch(vibe.sketch, arrangement);
    analysis::BandEnergies e{};
    const auto t = std::find_if(score.tracks.begin(), score.tracks.end(), [&](const music::ScoreTrack& x) { return x.name == layer; });
    if (t != score.tracks.end()) {
        render::RenderOptions o;
        o.sampleRate = kSampleRate;
        o.durationSeconds = seconds;
        o.fadeOutSeconds = 0.0;
        o.masterChain = false;
        o.onlyTrack = static_cast<int>(t - score.tracks.begin());
        o.threads = 1;
        const StereoBuffer audio = render::renderScore(score, presets_, o);
        std::vector<float> mono(audio.left().size());
        for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = 0.5f * (audio.left()[i] + audio.right()[i]);
        e = analysis::octaveBandEnergies(mono, kSampleRate);
        ++renders_;
    }
    if (order_.size() >= kMaxCached) {
        for (std::size_t i = 0; i < kMaxCached / 2; ++i) cache_.erase(order_[i]);
        order_.erase(order_.begin(), order_.begin() + static_cast<long>(kMaxCached / 2));
    }
    cache_[key] = e;
    order_.push_back(key);
    return e;
}

std::vector<std::string> candidateStyles(const std::string& layer, double intensity, const std::string& current, std::size_t count) {
    const auto& styles = stylesByIntensity(styleFieldOf(layer));
    const double at = std::clamp(intensity, 0.0, 1.0) * static_cast<double>(std::max<std::size_t>(1, styles.size()) - 1);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < styles.size(); ++i)
        if (styles[i] != current) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::abs(static_cast<double>(a) - at) < std::abs(static_cast<double>(b) - at);
    });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < order.size() && out.size() < count; ++i) out.push_back(styles[order[i]]);
    return out;
}

OverlapChoice leastOverlapping(LayerSpectra& spectra, const live::StreamVibe& vibe, const std::string& layer,
                               const std::vector<std::string>& candidates, const std::vector<std::string>& mixLayers) {
    if (candidates.empty()) throw std::invalid_argument("leastOverlapping: no candidate styles");
    OverlapChoice c;
    c.layer = layer;
    c.mixLayers = mixLayers;
    for (const auto& l : mixLayers) {  // the playing parts' powers add (different parts: uncorrelated)
        const auto e = spectra.of(vibe, l);
        for (std::size_t b = 0; b < analysis::kOctaveBands; ++b) c.mix[b] += e[b];
    }
    double best = 2.0;
    for (const auto& style : candidates) {
        const auto e = spectra.of(withLayerStyle(vibe, layer, style), layer);
        double total = 0.0;
        for (const double v : e) total += v;
        const double overlap = total > 0.0 ? analysis::spectralOverlap(e, c.mix) : 1.0;  // silent: no help to the mix
        c.candidates.emplace_back(style, overlap);
        if (c.style.empty() || overlap < best) best = overlap, c.style = style, c.chosen = e;
    }
    return c;
}

std::string OverlapChoice::label() const {
    std::string mixNames, cands;
    for (const auto& l : mixLayers) mixNames += (mixNames.empty() ? "" : "+") + l;
    for (const auto& [s, o] : candidates) cands += fmt::format("{}{} {:.3f}", cands.empty() ? "" : ", ", s, o);
    return fmt::format("{} vs {}: {} -> {} (most shared {}); bands dB mix {}; {} {}", layer, mixNames.empty() ? "nothing" : mixNames, cands, style,
                       analysis::octaveBandName(analysis::mostOverlappedBand(chosen, mix)), dbList(mix), style, dbList(chosen));
}

}  // namespace soundstar::dj

// DjSet's mixing moves: the low cut on the other layers under the bass, and the spectral-overlap
// check that picks a replacement's style (declared in DjSet.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "dj/DjSet.h"
#include "dj/DjStyles.h"
#include "music/JsonText.h"

namespace soundstar::dj {
namespace {
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

void DjSet::cutUnderBass(SampleTime line) {
    // The bass is in when the DJ plays it and the music has one (nothing is placed before the
    // first pump: then the DJ's word stands).
    const auto placed = session_.placedLayers();
    const bool bassIn = bassLowCutHz_ > 0.0f && has(brain_.playing(), "bass") && (placed.empty() || has(placed, "bass"));
    if (bassIn == bassCut_) return;
    bassCut_ = bassIn;
    std::vector<std::string> cut;
    SampleTime at = line;
    for (const auto& layer : session_.layers()) {
        if (!lowRoleOf(layer).empty()) continue;  // the bass and the kick's drums keep their low end
        at = session_.setLayerLowCut(layer, bassIn ? bassLowCutHz_ : 0.0f, line);
        cut.push_back(layer);
    }
    if (session_.hasLoopTracks()) {  // a generated loop is mixed as a layer: cut under the bass too
        at = session_.setLayerLowCut(live::LiveSession::kLoopLayer, bassIn ? bassLowCutHz_ : 0.0f, line);
        cut.push_back(live::LiveSession::kLoopLayer);
    }
    event(at, "low_cut", bassIn ? fmt::format("{} high-passed at {:g} Hz (bass in)", fmt::join(cut, ","), bassLowCutHz_)
                                : fmt::format("{} released (bass out)", fmt::join(cut, ",")));
}

std::optional<std::string> DjSet::replacementStyle(const DjReplace& r, const std::string& was, SampleTime line) {
    const std::string nearest = pickStyle(r.layer, "", r.intensity, was);
    // A style the description names is what was asked for: it stands.
    if (const std::string named = pickStyle(r.layer, r.description, r.intensity, was); !r.description.empty() && named != nearest) return named;
    const auto candidates = candidateStyles(r.layer, r.intensity, was, kOverlapCandidates);
    if (!overlapCheck_ || candidates.size() < 2) return nearest;
    // The mix it would join: every other layer playing, as it sounds now.
    live::StreamVibe now = base_;
    now.config = music::parseMusicConfig(lastSound_, "dj");
    std::vector<std::string> others;
    for (const auto& l : brain_.playing())
        if (l != r.layer) others.push_back(l);
    if (others.empty()) return nearest;
    if (overlapOnWorker_) {
        // A real-time clock: the renders (up to a few hundred ms) go to a worker thread.
        if (check_) return nearest;  // one at a time
        check_ = OverlapCheck{r, was, "", std::async(std::launch::async, [this, now, layer = r.layer, candidates, others] {
                                  return leastOverlapping(spectra_, now, layer, candidates, others);
                              })};
        return std::nullopt;
    }
    const auto choice = leastOverlapping(spectra_, now, r.layer, candidates, others);
    event(line, "layer_overlap", choice.label());
    return choice.style;
}

void DjSet::finishOverlapCheck(SampleTime line) {
    if (!check_ || check_->choice.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    OverlapCheck done = std::move(*check_);
    check_.reset();
    OverlapChoice choice;
    try {
        choice = done.choice.get();
    } catch (const std::exception& e) {
        warn(line, fmt::format("replace {}: the overlap check failed: {}", done.replace.layer, e.what()));
        return;
    }
    event(line, "layer_overlap", choice.label());
    // The layer may have left, or been replaced another way, while it was checked.
    const auto& playing = brain_.playing();
    const std::string was = styleOf(base_.config, done.replace.layer);
    if (std::find(playing.begin(), playing.end(), done.replace.layer) == playing.end() || was != done.was || choice.style == was) return;
    base_ = withLayerStyle(base_, done.replace.layer, choice.style);
    if (nextVibe_) *nextVibe_ = withLayerStyle(*nextVibe_, done.replace.layer, choice.style);
    if (newMusic_) {  // a vibe change plays everything anew from this bar line: the style goes with it
        event(line, "layer_replace", fmt::format("{}: {} -> {} with the change at this bar line ({})", done.replace.layer, was, choice.style, done.why));
        return;
    }
    playReplacement(done.replace, was, choice.style, done.why, line);
}

}  // namespace soundstar::dj

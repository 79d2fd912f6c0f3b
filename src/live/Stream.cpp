#include "live/Stream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "live/Layers.h"
#include "live/LiveSession.h"
#include "live/TempoMap.h"
#include "music/Arrangement.h"

namespace soundstar::live {

StreamPlan planStream(const std::vector<StreamVibe>& vibes, const StreamOptions& o) {
    if (vibes.empty()) throw std::invalid_argument("a stream needs at least one vibe");
    double totalSeconds = 0.0;
    for (const auto& v : vibes) {
        if (!std::isfinite(v.seconds) || v.seconds <= 0.0)
            throw std::invalid_argument(fmt::format("vibe '{}': {:g} s is not a length; allowed above 0 s", v.label, v.seconds));
        totalSeconds += v.seconds;
    }
    if (totalSeconds > music::kMaxSeconds)
        throw std::invalid_argument(fmt::format("the stream would last {:.0f} s; the limit is {:g} s", totalSeconds, music::kMaxSeconds));
    StreamPlan plan;
    const double sr = o.sampleRate;
    plan.total = std::llround(totalSeconds * sr);
    double boundarySeconds = 0.0;
    SampleTime start = 0, previousEnd = 0;
    // The playing vibe's beats from its start, as the live session counts them (a beat-matched
    // transition into it ramps from the outgoing tempo to its own).
    TempoMap tempo(0.0, vibes.front().config.resolvedBpm(), sr);
    for (std::size_t i = 0; i < vibes.size(); ++i) {
        StreamPlan::Segment s;
        s.start = start;
        s.bpm = vibes[i].config.resolvedBpm();
        const double bar = barSamples(s.bpm, sr);
        boundarySeconds += vibes[i].seconds;
        if (i + 1 == vibes.size()) {
            s.transitionStart = s.end = plan.total;
            if (plan.total < previousEnd + static_cast<SampleTime>(bar))
                throw std::invalid_argument(fmt::format("vibe '{}' is too short: it must outlast the transition into it by a bar", vibes[i].label));
            plan.segments.push_back(s);
            break;
        }
        // As LiveSession::change times it: the length asked for, in the outgoing vibe's beats;
        // to another tempo both vibes ramp over those beats, which takes another time.
        const double lengthSeconds = o.transitionBars > 0 ? o.transitionBars * bar / sr : o.transitionSeconds;
        const SampleTime asked = std::max<SampleTime>(1, std::llround(lengthSeconds * sr));
        const double nextBpm = vibes[i + 1].config.resolvedBpm();
        const double beats = static_cast<double>(asked) / sr * s.bpm / 60.0;
        const bool ramps = std::abs(nextBpm - s.bpm) > 1e-9;
        TempoMap ramp(0.0, s.bpm, sr);
        if (ramps) ramp.rampTo(0.0, nextBpm, beats);
        const double expected = ramps ? ramp.sampleAt(beats) : static_cast<double>(asked);
        // The transition starts on the last bar line that lets it centre on the vibes' boundary.
        const double target = boundarySeconds * sr - 0.5 * expected;
        const double bars = std::floor(tempo.beatAt(target + 0.5) / 4.0 + 1e-9);
        s.transitionStart = std::llround(tempo.sampleAt(bars * 4.0));
        if (bars < 1.0 || s.transitionStart < previousEnd)
            throw std::invalid_argument(fmt::format(
                "vibe '{}' holds {:g} s: too short for its transitions ({:.2f} s each, starting on bar lines of {:.2f} s); give each "
                "vibe more time or a shorter transition",
                vibes[i].label, vibes[i].seconds, lengthSeconds, bar / sr));
        s.transitionLength = asked;
        if (ramps) {
            tempo.rampTo(bars * 4.0, nextBpm, beats);
            s.transitionLength = std::max<SampleTime>(1, std::llround(tempo.sampleAt(bars * 4.0 + beats)) - s.transitionStart);
        }
        s.end = s.transitionStart + s.transitionLength;
        plan.segments.push_back(s);
        tempo = TempoMap(static_cast<double>(s.transitionStart), ramps ? s.bpm : nextBpm, sr);
        if (ramps) tempo.rampTo(0.0, nextBpm, beats);
        start = s.transitionStart;
        previousEnd = s.end;
    }
    return plan;
}

StreamResult renderStream(const std::vector<StreamVibe>& vibes, const engine::PresetLibrary& presets, const StreamOptions& o) {
    const StreamPlan plan = planStream(vibes, o);
    const double sr = o.sampleRate;
    LiveOptions lo;
    lo.sampleRate = sr;
    lo.blockSize = o.blockSize;
    lo.transitionSeconds = o.transitionSeconds;
    lo.transitionBars = o.transitionBars;
    lo.targetLufs = o.targetLufs;
    lo.masterChain = o.masterChain;
    lo.initialLayers = o.layers;
    LiveSession session(presets, vibes.front(), lo);

    // The last vibe fades out over its last two bars (1 to 4 s), ending on the total's sample.
    const SampleTime total = plan.total;
    const auto fade = std::clamp<SampleTime>(std::llround(2.0 * barSamples(plan.segments.back().bpm, sr)), std::llround(sr), std::llround(4.0 * sr));
    const SampleTime fadeStart = std::max<SampleTime>(plan.segments.size() > 1 ? plan.segments[plan.segments.size() - 2].end : 0, total - fade);
    // Commands go to the engine this far ahead of the playhead; a change is asked for twice as
    // far ahead, before anything at its start has been posted.
    const SampleTime ahead = 16 * static_cast<SampleTime>(o.blockSize);
    std::vector<SampleTime> starts{0};  // where each vibe's change started
    StreamResult result;
    result.audio.resize(static_cast<int>(total));
    std::size_t next = 1;
    bool fading = false;
    for (SampleTime pos = 0; pos < total;) {
        const int n = static_cast<int>(std::min<SampleTime>(o.blockSize, total - pos));
        for (; next < vibes.size() && plan.segments[next - 1].transitionStart <= pos + 2 * ahead; ++next)
            starts.push_back(session.change(vibes[next], plan.segments[next - 1].transitionStart, Grid::Bar));
        if (!fading && next == vibes.size() && fadeStart <= pos + 2 * ahead) {
            session.fadeOut(fadeStart, static_cast<double>(total - fadeStart) / sr);
            fading = true;
        }
        if (session.scheduledUntil() < pos + n && !session.pump(pos + ahead))
            for (int tries = 0; tries < 8 && !session.pump(pos + n); ++tries) {
            }
        session.engine().render(result.audio.view().offset(static_cast<int>(pos), n));
        pos += n;
    }
    // The session counts its own vibes (a glide keeps the one playing); events name the stream's.
    const auto vibeAt = [&](SampleTime at) {
        return static_cast<int>(std::upper_bound(starts.begin(), starts.end(), at) - starts.begin()) - 1;
    };
    int change = 0;
    for (auto e : session.events()) {
        e.vibe = e.kind == "transition" || e.kind == "glide" ? ++change : std::max(0, vibeAt(e.sample));
        result.events.push_back(std::move(e));
    }
    for (auto e : session.sections()) {
        e.vibe = std::max(0, vibeAt(e.sample));
        result.events.push_back(std::move(e));
    }
    std::stable_sort(result.events.begin(), result.events.end(), [](const StreamEvent& a, const StreamEvent& b) { return a.sample < b.sample; });
    result.events.push_back({total, "end", static_cast<int>(vibes.size()) - 1, 0, session.bpmAt(total), 0.0, vibes.back().label});
    result.lateCommands = session.lateCommands();
    return result;
}

std::string eventsToJsonLines(const std::vector<StreamEvent>& events, double sampleRate) {
    std::string out;
    for (const auto& e : events) {
        nlohmann::json j{{"sample", e.sample}, {"time", static_cast<double>(e.sample) / sampleRate}, {"event", e.kind}, {"vibe", e.vibe},
                         {"bar", e.bar}, {"bpm", e.bpm}, {"label", e.label}};
        if (e.kind == "transition" || e.kind == "glide") j["seconds"] = e.seconds;
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
}

}  // namespace soundstar::live

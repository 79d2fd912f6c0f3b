#include "live/Stream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "live/Layers.h"
#include "music/Arrangement.h"
#include "render/Renderer.h"

namespace soundstar::live {
namespace {

// One command due at a sample; at equal times the order is replace, fade, note off, note on.
struct Timed {
    enum class Kind { Replace, Fade, NoteOff, NoteOn, AllOff, Clear } kind;  // Clear: back to silence, so a faded-out layer costs nothing
    SampleTime time;
    int address;
    float note = 0.0f, velocity = 0.0f;  // NoteOn/NoteOff; Fade: velocity = target dB, note = seconds
    int vibe = 0, track = 0;             // Replace: which score track to build
};

bool before(const Timed& a, const Timed& b) {
    if (a.time != b.time) return a.time < b.time;
    return static_cast<int>(a.kind) < static_cast<int>(b.kind);
}
}  // namespace

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
    plan.total = std::llround(totalSeconds * o.sampleRate);
    double boundarySeconds = 0.0;
    SampleTime start = 0, previousTransition = 0;
    for (std::size_t i = 0; i < vibes.size(); ++i) {
        StreamPlan::Segment s;
        s.start = start;
        s.bpm = vibes[i].config.resolvedBpm();
        const double bar = barSamples(s.bpm, o.sampleRate);
        boundarySeconds += vibes[i].seconds;
        if (i + 1 == vibes.size()) {
            s.transitionStart = s.end = plan.total;
            if (plan.total - start < previousTransition + static_cast<SampleTime>(bar))
                throw std::invalid_argument(fmt::format("vibe '{}' is too short: it must outlast the transition into it by a bar", vibes[i].label));
            plan.segments.push_back(s);
            break;
        }
        const double lengthSeconds = o.transitionBars > 0 ? o.transitionBars * bar / o.sampleRate : o.transitionSeconds;
        s.transitionLength = std::max<SampleTime>(1, std::llround(lengthSeconds * o.sampleRate));
        // The transition starts on the last bar line that lets it centre on the vibes' boundary.
        const double target = boundarySeconds * o.sampleRate - 0.5 * static_cast<double>(s.transitionLength);
        const auto bars = static_cast<long long>(std::floor((target - static_cast<double>(start)) / bar));
        s.transitionStart = start + std::llround(static_cast<double>(bars) * bar);
        if (bars < 1 || s.transitionStart < start + previousTransition)
            throw std::invalid_argument(fmt::format(
                "vibe '{}' holds {:g} s: too short for its transitions ({:.2f} s each, starting on bar lines of {:.2f} s); give each "
                "vibe more time or a shorter transition",
                vibes[i].label, vibes[i].seconds, lengthSeconds, bar / o.sampleRate));
        s.end = s.transitionStart + s.transitionLength;
        plan.segments.push_back(s);
        start = s.transitionStart;
        previousTransition = s.transitionLength;
    }
    return plan;
}

namespace {
// Whole bars of a vibe covering its segment; every vibe but the last loops (no ending).
music::Score composeSegment(const StreamVibe& v, const StreamPlan::Segment& s, bool last, double sampleRate) {
    const double seconds = static_cast<double>(s.end - s.start) / sampleRate;
    music::Arrangement a;
    if (last) {
        a = compose::arrange(v.config, seconds, {"auto", false});
    } else {
        const double bar = barSamples(s.bpm, sampleRate) / sampleRate;
        a = compose::arrange(v.config, std::ceil(seconds / bar - 1e-9) * bar, {"auto", true});
    }
    return compose::composeSketch(v.sketch, a);
}
}  // namespace

StreamResult renderStream(const std::vector<StreamVibe>& vibes, const engine::PresetLibrary& presets, const StreamOptions& o) {
    const StreamPlan plan = planStream(vibes, o);
    std::vector<music::Score> scores;
    for (std::size_t i = 0; i < vibes.size(); ++i) scores.push_back(composeSegment(vibes[i], plan.segments[i], i + 1 == vibes.size(), o.sampleRate));

    // Two slots per layer: a vibe plays on slot (vibe % 2) of each of its layers.
    std::vector<std::string> layers;
    for (const auto& sc : scores)
        for (const auto& t : sc.tracks)
            if (std::find(layers.begin(), layers.end(), t.name) == layers.end()) layers.push_back(t.name);
    const auto slotOf = [&](const std::string& layer, std::size_t vibe) {
        return 2 * static_cast<int>(std::find(layers.begin(), layers.end(), layer) - layers.begin()) + static_cast<int>(vibe % 2);
    };

    engine::AudioEngine eng(1 << 15);
    eng.prepare(o.sampleRate, o.blockSize);
    engine::Controller ctl(eng);
    for (const auto& layer : layers)
        for (const char* side : {"a", "b"}) ctl.addTrack(fmt::format("{}.{}", layer, side), std::make_unique<Silence>(), kSilentDb);
    render::addReturnsAndMaster(ctl, scores.front().mix, scores.front().secondsPerBeat(), o.masterChain);
    ctl.commit();

    StreamResult result;
    std::vector<Timed> timeline;
    for (std::size_t v = 0; v < vibes.size(); ++v) {
        const auto& seg = plan.segments[v];
        const auto& sc = scores[v];
        const double bar = barSamples(seg.bpm, o.sampleRate);
        const auto& previous = v > 0 ? plan.segments[v - 1] : seg;
        for (std::size_t t = 0; t < sc.tracks.size(); ++t) {
            const int slot = slotOf(sc.tracks[t].name, v);
            timeline.push_back({Timed::Kind::Replace, seg.start, slot, 0.0f, 0.0f, static_cast<int>(v), static_cast<int>(t)});
            if (v > 0) {  // fade in over the transition into this vibe, staggered by whole bars of the outgoing one
                const double prevBar = barSamples(previous.bpm, o.sampleRate);
                const int transitionBars = static_cast<int>(static_cast<double>(previous.transitionLength) / prevBar + 1e-9);
                const int offsetBars = staggerBars(sc.tracks[t].name, transitionBars);
                const SampleTime at = seg.start + std::llround(offsetBars * prevBar);
                const float seconds = static_cast<float>(static_cast<double>(previous.transitionLength - (at - seg.start)) / o.sampleRate);
                timeline.push_back({Timed::Kind::Fade, at, slot, seconds, sc.tracks[t].gainDb});
            }
            if (v + 1 < vibes.size()) {  // fade out with the same stagger over the transition out
                const int transitionBars = static_cast<int>(static_cast<double>(seg.transitionLength) / bar + 1e-9);
                const int offsetBars = staggerBars(sc.tracks[t].name, transitionBars);
                const SampleTime at = seg.transitionStart + std::llround(offsetBars * bar);
                const float seconds = static_cast<float>(static_cast<double>(seg.end - at) / o.sampleRate);
                timeline.push_back({Timed::Kind::Fade, at, slot, seconds, kSilentDb});
                timeline.push_back({Timed::Kind::AllOff, seg.end, slot});
                timeline.push_back({Timed::Kind::Clear, seg.end, slot});
            }
        }
        for (const auto& n : render::schedule(sc, o.sampleRate, seg.end - seg.start)) {
            const int slot = slotOf(sc.tracks[static_cast<std::size_t>(n.track)].name, v);
            timeline.push_back({n.velocity > 0.0f ? Timed::Kind::NoteOn : Timed::Kind::NoteOff, seg.start + n.time, slot, n.note, n.velocity});
        }
        if (v == 0) result.events.push_back({0, "vibe", 0, 0, seg.bpm, 0.0, vibes[0].label});
        else
            result.events.push_back({seg.start, "transition", static_cast<int>(v),
                                     static_cast<int>(std::llround(static_cast<double>(seg.start - previous.start) / barSamples(previous.bpm, o.sampleRate))),
                                     seg.bpm, static_cast<double>(previous.transitionLength) / o.sampleRate, vibes[v].label});
    }
    std::stable_sort(timeline.begin(), timeline.end(), before);

    result.audio.resize(static_cast<int>(plan.total));
    std::size_t next = 0;
    for (SampleTime pos = 0; pos < plan.total;) {
        const int n = static_cast<int>(std::min<SampleTime>(o.blockSize, plan.total - pos));
        for (; next < timeline.size() && timeline[next].time < pos + n; ++next) {
            const Timed& e = timeline[next];
            bool posted = true;
            switch (e.kind) {
                case Timed::Kind::Replace: {
                    auto track = render::makeScoreTrack(ctl, scores[static_cast<std::size_t>(e.vibe)].tracks[static_cast<std::size_t>(e.track)], presets);
                    track->name = ctl.trackNames()[static_cast<std::size_t>(e.address)];
                    if (e.vibe > 0) track->initialGainDb = kSilentDb;  // faded in by its Fade
                    ctl.replaceTrack(e.address, std::move(track), e.time);
                    break;
                }
                case Timed::Kind::Fade: posted = ctl.fadeGain(e.address, e.velocity, e.note, engine::FadeShape::EqualPower, e.time); break;
                case Timed::Kind::NoteOn: posted = ctl.noteOn(e.address, e.note, e.velocity, e.time); break;
                case Timed::Kind::NoteOff: posted = ctl.noteOff(e.address, e.note, e.time); break;
                case Timed::Kind::AllOff: posted = ctl.allNotesOff(e.address, e.time); break;
                case Timed::Kind::Clear:
                    ctl.replaceTrack(e.address, ctl.makeTrack(ctl.trackNames()[static_cast<std::size_t>(e.address)], std::make_unique<Silence>(), kSilentDb), e.time);
                    break;
            }
            if (!posted) break;  // the queue is full: render this block, post the rest after
        }
        eng.render(result.audio.view().offset(static_cast<int>(pos), n));
        pos += n;
        ctl.collect();
    }
    // The last vibe ends with its arrangement's ending; a short fade makes sure nothing is cut.
    const auto fade = std::min<SampleTime>(plan.total, std::llround(0.5 * o.sampleRate));
    for (SampleTime i = 0; i < fade; ++i) {
        const float g = static_cast<float>(i) / static_cast<float>(std::max<SampleTime>(1, fade));
        const auto k = static_cast<std::size_t>(plan.total - 1 - i);
        result.audio.left()[k] *= g;
        result.audio.right()[k] *= g;
    }
    result.events.push_back({plan.total, "end", static_cast<int>(vibes.size()) - 1, 0, plan.segments.back().bpm, 0.0, vibes.back().label});
    return result;
}

std::string eventsToJsonLines(const std::vector<StreamEvent>& events, double sampleRate) {
    std::string out;
    for (const auto& e : events) {
        nlohmann::json j{{"sample", e.sample}, {"time", static_cast<double>(e.sample) / sampleRate}, {"event", e.kind}, {"vibe", e.vibe},
                         {"bar", e.bar}, {"bpm", e.bpm}, {"label", e.label}};
        if (e.kind == "transition") j["seconds"] = e.seconds;
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
}

}  // namespace soundstar::live

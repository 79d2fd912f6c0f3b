#include "live/LiveSession.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "live/Layers.h"
#include "music/Arrangement.h"
#include "render/Renderer.h"

namespace soundstar::live {

constexpr SampleTime kNever = std::numeric_limits<SampleTime>::max() / 4;

struct LiveSession::Voice {
    StreamVibe vibe;
    int id = 0, parity = 0;
    SampleTime start = 0, end = kNever;  // end: its fade-out is over (kNever while it plays on)
    SampleTime fadeOutStart = kNever;    // no layer enters from here on
    double bpm = 120.0, bar = 0.0;       // bar in samples
    SampleTime fadeInStart = 0, fadeInEnd = 0;
    int fadeInBars = 0;  // the transition into it in whole bars of the outgoing vibe (for the stagger)
    double outgoingBar = 0.0;
    int chunk = 0;
    SampleTime composedUntil = 0;
    std::vector<bool> placed;                          // per layer: its track is in its slot
};

struct LiveSession::Action {
    enum class Kind { Replace, Fade, NoteOff, NoteOn, AllOff, Clear } kind;  // Clear: back to silence, so a faded-out layer costs nothing
    SampleTime time;
    int address;
    float note = 0.0f, velocity = 0.0f;  // notes; Fade: note = seconds, velocity = target dB
    int voice = 0;
    std::shared_ptr<const music::ScoreTrack> track = nullptr;  // Replace: what to build
    bool silentStart = false;                        // Replace: starts silent (a Fade brings it in)
};

LiveSession::LiveSession(const engine::PresetLibrary& presets, const StreamVibe& first, const LiveOptions& o)
    : presets_(presets), options_(o), layers_(music::layerNames()) {
    if (o.chunkBars < 1 || o.chunkBars > 256) throw std::invalid_argument("chunkBars: allowed 1 to 256");
    engine_ = std::make_unique<engine::AudioEngine>(1 << 15);
    engine_->prepare(o.sampleRate, o.blockSize);
    controller_ = std::make_unique<engine::Controller>(*engine_);
    for (const auto& layer : layers_)
        for (const char* side : {"a", "b"}) controller_->addTrack(fmt::format("{}.{}", layer, side), std::make_unique<Silence>(), kSilentDb);
    auto v = std::make_unique<Voice>();
    v->vibe = first;
    v->bpm = first.config.resolvedBpm();
    v->bar = barSamples(v->bpm, o.sampleRate);
    v->placed.assign(layers_.size(), false);
    voices_.push_back(std::move(v));
    // The returns take the first vibe's settings (a first chunk is composed for them).
    const auto a = compose::arrange(first.config, o.chunkBars * voices_.back()->bar / o.sampleRate, {"auto", true});
    const auto mixOf = compose::composeSketch(first.sketch, a);
    render::addReturnsAndMaster(*controller_, mixOf.mix, mixOf.secondsPerBeat(), true);
    controller_->commit();
    events_.push_back({0, "vibe", 0, 0, voices_.back()->bpm, 0.0, first.label});
    ++vibesStarted_;
}

LiveSession::~LiveSession() = default;

const StreamVibe& LiveSession::current() const { return voices_.back()->vibe; }

SampleTime LiveSession::nextBarLine(SampleTime at, int every) const {
    const Voice& v = *voices_.back();
    // Within half a sample of a (rounded) bar line counts as on it.
    double bars = std::max(0.0, std::ceil((static_cast<double>(at - v.start) - 0.5) / v.bar));
    if (every > 1) bars = std::ceil(bars / every) * every;
    return v.start + std::llround(bars * v.bar);
}

SampleTime LiveSession::barLine(long long bar) const {
    const Voice& v = *voices_.back();
    return v.start + std::llround(static_cast<double>(std::clamp(bar, 0LL, 1LL << 40)) * v.bar);
}

void LiveSession::schedule(Action a) {
    const auto at = std::upper_bound(pending_.begin(), pending_.end(), a, [](const Action& x, const Action& y) {
        return x.time != y.time ? x.time < y.time : static_cast<int>(x.kind) < static_cast<int>(y.kind);
    });
    pending_.insert(at, std::move(a));
}

void LiveSession::composeNext(Voice& v) {
    const double chunkSamples = options_.chunkBars * v.bar;
    const SampleTime chunkStart = v.start + std::llround(v.chunk * chunkSamples);
    music::MusicConfig cfg = v.vibe.config;
    cfg.seed = cfg.seed.value_or(1) + static_cast<std::uint64_t>(v.chunk);  // each chunk its own variation
    const auto arrangement = compose::arrange(cfg, chunkSamples / options_.sampleRate, {"auto", true});
    const auto score = compose::composeSketch(v.vibe.sketch, arrangement);
    for (std::size_t t = 0; t < score.tracks.size(); ++t) {
        const auto li = static_cast<std::size_t>(std::find(layers_.begin(), layers_.end(), score.tracks[t].name) - layers_.begin());
        if (li >= layers_.size()) continue;  // a layer this session has no slot for
        const int slot = 2 * static_cast<int>(li) + v.parity;
        if (!v.placed[li]) {
            if (chunkStart >= v.fadeOutStart) continue;  // a layer never enters while its vibe is leaving
            const bool fadingIn = chunkStart < v.fadeInEnd;
            schedule({Action::Kind::Replace, chunkStart, slot, 0.0f, 0.0f, v.id, std::make_shared<music::ScoreTrack>(score.tracks[t]), fadingIn});
            if (fadingIn) {
                const SampleTime at = std::max(chunkStart, v.fadeInStart + static_cast<SampleTime>(std::llround(staggerBars(layers_[li], v.fadeInBars) * v.outgoingBar)));
                schedule({Action::Kind::Fade, at, slot, static_cast<float>(static_cast<double>(v.fadeInEnd - at) / options_.sampleRate),
                          score.tracks[t].gainDb, v.id});
            }
            v.placed[li] = true;
        }
    }
    for (const auto& n : render::schedule(score, options_.sampleRate, kNever)) {
        const auto li = static_cast<std::size_t>(
            std::find(layers_.begin(), layers_.end(), score.tracks[static_cast<std::size_t>(n.track)].name) - layers_.begin());
        const SampleTime at = chunkStart + n.time;
        if (li >= layers_.size() || !v.placed[li] || at >= v.end) continue;
        schedule({n.velocity > 0.0f ? Action::Kind::NoteOn : Action::Kind::NoteOff, at, 2 * static_cast<int>(li) + v.parity, n.note, n.velocity, v.id});
    }
    ++v.chunk;
    v.composedUntil = v.start + std::llround(v.chunk * chunkSamples);
}

SampleTime LiveSession::change(const StreamVibe& next, SampleTime earliest) {
    Voice& cur = *voices_.back();
    const SampleTime start = nextBarLine(std::max({earliest, busyUntil_, posted_}));
    const SampleTime length = std::max<SampleTime>(
        1, std::llround(options_.transitionBars > 0 ? options_.transitionBars * cur.bar : options_.transitionSeconds * options_.sampleRate));
    cur.end = start + length;
    cur.fadeOutStart = start;
    // What the outgoing vibe had composed past its end is dropped, and so is any layer it would
    // have brought in during its fade-out (it would enter at full gain); its layers fade out, staggered.
    std::erase_if(pending_, [&](const Action& a) {
        return a.voice == cur.id && a.kind != Action::Kind::AllOff && a.kind != Action::Kind::Clear && (a.time >= cur.end || (a.kind == Action::Kind::Replace && a.time >= start));
    });
    const int bars = static_cast<int>(static_cast<double>(length) / cur.bar + 1e-9);
    for (std::size_t li = 0; li < layers_.size(); ++li) {
        if (!cur.placed[li]) continue;
        const int slot = 2 * static_cast<int>(li) + cur.parity;
        const SampleTime at = start + std::llround(staggerBars(layers_[li], bars) * cur.bar);
        schedule({Action::Kind::Fade, at, slot, static_cast<float>(static_cast<double>(cur.end - at) / options_.sampleRate), kSilentDb, cur.id});
        schedule({Action::Kind::AllOff, cur.end, slot, 0.0f, 0.0f, cur.id});
        schedule({Action::Kind::Clear, cur.end, slot, 0.0f, 0.0f, cur.id});
    }
    auto v = std::make_unique<Voice>();
    v->vibe = next;
    v->id = vibesStarted_++;
    v->parity = 1 - cur.parity;
    v->start = v->fadeInStart = start;
    v->fadeInEnd = cur.end;
    v->fadeInBars = bars;
    v->outgoingBar = cur.bar;
    v->bpm = next.config.resolvedBpm();
    v->bar = barSamples(v->bpm, options_.sampleRate);
    v->placed.assign(layers_.size(), false);
    v->composedUntil = start;
    events_.push_back({start, "transition", v->id, static_cast<int>(std::llround(static_cast<double>(start - cur.start) / cur.bar)), v->bpm,
                       static_cast<double>(length) / options_.sampleRate, next.label});
    busyUntil_ = cur.end;
    voices_.push_back(std::move(v));
    composeNext(*voices_.back());
    return start;
}

void LiveSession::fadeOut(SampleTime at, double seconds) {
    at = std::max(at, posted_);
    const SampleTime end = at + std::max<SampleTime>(1, std::llround(seconds * options_.sampleRate));
    for (auto& v : voices_) {
        v->end = std::min(v->end, end);
        v->fadeOutStart = std::min(v->fadeOutStart, at);
    }
    std::erase_if(pending_, [&](const Action& a) { return a.time >= end && a.kind != Action::Kind::AllOff; });
    schedule({Action::Kind::Fade, at, engine::kMasterAddress, static_cast<float>(seconds), kSilentDb, -1});
    events_.push_back({at, "fade_out", voices_.back()->id, 0, voices_.back()->bpm, seconds, voices_.back()->vibe.label});
}

bool LiveSession::pump(SampleTime horizon) {
    controller_->collect();
    for (auto& v : voices_)  // compose a chunk ahead of the horizon
        while (v->composedUntil < std::min(v->end, horizon + static_cast<SampleTime>(std::llround(options_.chunkBars * v->bar)))) composeNext(*v);
    std::size_t done = 0;
    bool all = true;
    for (; done < pending_.size() && pending_[done].time < horizon; ++done) {
        const Action& a = pending_[done];
        bool ok = true;
        switch (a.kind) {
            case Action::Kind::Replace: {
                auto track = render::makeScoreTrack(*controller_, *a.track, presets_);
                track->name = controller_->trackNames()[static_cast<std::size_t>(a.address)];
                if (a.silentStart) track->initialGainDb = kSilentDb;
                controller_->replaceTrack(a.address, std::move(track), a.time);
                break;
            }
            case Action::Kind::Fade: ok = controller_->fadeGain(a.address, a.velocity, a.note, engine::FadeShape::EqualPower, a.time); break;
            case Action::Kind::NoteOn: ok = controller_->noteOn(a.address, a.note, a.velocity, a.time); break;
            case Action::Kind::NoteOff: ok = controller_->noteOff(a.address, a.note, a.time); break;
            case Action::Kind::AllOff: ok = controller_->allNotesOff(a.address, a.time); break;
            case Action::Kind::Clear:
                controller_->replaceTrack(a.address,
                                          controller_->makeTrack(controller_->trackNames()[static_cast<std::size_t>(a.address)], std::make_unique<Silence>(), kSilentDb),
                                          a.time);
                break;
        }
        if (!ok) {
            all = false;
            break;
        }
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(done));
    if (all) posted_ = std::max(posted_, horizon);
    std::erase_if(voices_, [&](const std::unique_ptr<Voice>& v) { return v.get() != voices_.back().get() && v->end <= posted_; });
    return all;
}

}  // namespace soundstar::live

#include "live/LiveSession.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "live/Layers.h"
#include "live/LiveSessionParts.h"
#include "live/TempoMap.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"
#include "render/Renderer.h"

namespace soundstar::live {
namespace {
constexpr int kPhraseBars = 8;         // a share of a form in a live cycle (verse 16, chorus 16, bridge 8...)
constexpr double kFormSeconds = 240.0;  // the length the form is chosen for (a whole piece, not a short one)
constexpr std::size_t kMaxSectionShapes = 512;  // energy and layers kept for the latest sections

/// `c` with the fields a glide may move (the continuous ones and the tempo) taken from `like`.
music::MusicConfig withGlideFieldsOf(music::MusicConfig c, const music::MusicConfig& like) {
    for (auto [field, from] : {std::pair{&c.brightness, &like.brightness}, {&c.space, &like.space}, {&c.motion, &like.motion},
                               {&c.stereo, &like.stereo}, {&c.echo, &like.echo}, {&c.grain, &like.grain}, {&c.attack, &like.attack},
                               {&c.human, &like.human}, {&c.tempo, &like.tempo}})
        *field = *from;
    c.bpm = like.bpm;
    return c;
}

/// The same music (composition, harmony, style, layers): only glide fields differ.
bool sameMusic(const music::MusicConfig& a, const music::MusicConfig& b) { return music::toJson(withGlideFieldsOf(b, a)) == music::toJson(a); }

/// Parameters of one instrument can glide from `a` to `b`: the same preset, effects and names.
bool sameInstrument(const music::ScoreTrack& a, const music::ScoreTrack& b) {
    if (a.preset != b.preset || a.replacePresetEffects != b.replacePresetEffects || a.effects.size() != b.effects.size() ||
        a.params.size() != b.params.size())
        return false;
    for (std::size_t i = 0; i < a.params.size(); ++i)
        if (a.params[i].first != b.params[i].first) return false;
    for (std::size_t i = 0; i < a.effects.size(); ++i) {
        if (a.effects[i].type != b.effects[i].type || a.effects[i].params.size() != b.effects[i].params.size()) return false;
        for (std::size_t p = 0; p < a.effects[i].params.size(); ++p)
            if (a.effects[i].params[p].first != b.effects[i].params[p].first) return false;
    }
    return true;
}

/// Frequencies and times glide geometrically (as they are heard); the rest linearly.
bool glidesGeometrically(const std::string& name) {
    for (const char* word : {"cutoff", "tone", "freq", "time", "attack", "decay", "release"})
        if (name.find(word) != std::string::npos) return true;
    return false;
}

}  // namespace

LiveSession::LiveSession(const engine::PresetLibrary& presets, const StreamVibe& first, const LiveOptions& o)
    : presets_(presets), options_(o), layers_(music::layerNames()), wanted_(layers_.size(), true) {
    if (o.chunkBars < 1 || o.chunkBars > 256) throw std::invalid_argument("chunkBars: allowed 1 to 256");
    if (!(o.targetLufs >= -36.0f && o.targetLufs <= -6.0f)) throw std::invalid_argument("target loudness: allowed -36 to -6 LUFS");
    (void)presets.names();  // every preset read now, not the first time a morph needs one
    engine_ = std::make_unique<engine::AudioEngine>(1 << 15);
    engine_->prepare(o.sampleRate, o.blockSize);
    controller_ = std::make_unique<engine::Controller>(*engine_);
    for (const auto& name : o.initialLayers) {
        const auto it = std::find(layers_.begin(), layers_.end(), name);
        if (it == layers_.end())
            throw std::invalid_argument(fmt::format("initial layers: '{}' is not a layer; allowed: {}", music::clipText(name, 40), fmt::join(layers_, ", ")));
    }
    if (!o.initialLayers.empty())
        for (std::size_t li = 0; li < layers_.size(); ++li)
            wanted_[li] = std::find(o.initialLayers.begin(), o.initialLayers.end(), layers_[li]) != o.initialLayers.end();
    for (const auto& layer : layers_)
        for (const char* side : {"a", "b"}) controller_->addTrack(fmt::format("{}.{}", layer, side), std::make_unique<Silence>(), kSilentDb);
    if (o.voiceTrack) voiceAddress_ = controller_->addTrack("voice", std::make_unique<Silence>(), 0.0f);
    if (o.loopTracks) {
        loopAddress_ = controller_->addTrack("loop.a", std::make_unique<Silence>(), kSilentDb);
        controller_->addTrack("loop.b", std::make_unique<Silence>(), kSilentDb);
    }
    auto v = std::make_unique<Voice>(first, 0, 0, o.sampleRate, layers_.size());
    for (std::size_t li = 0; li < layers_.size(); ++li) v->slot[li] = 2 * static_cast<int>(li);
    slotFreeAt_.assign(2 * layers_.size(), 0);
    // The returns and the master take the first vibe's settings, and glide with every change.
    auto firstCycle = composeCycle(first, 0);
    mix_ = firstCycle.score->mix;
    v->cycleScore = std::move(firstCycle.score);
    v->cycleBeats = firstCycle.beats;
    v->sections = std::move(firstCycle.sections);
    mix_.targetLufs = o.targetLufs;
    mixBpm_ = v->tempo.bpmAt(0.0);
    render::addReturnsAndMaster(*controller_, mix_, 60.0 / mixBpm_, o.masterChain, true);
    controller_->commit();
    events_.push_back({0, "vibe", 0, 0, mixBpm_, 0.0, first.label});
    voices_.push_back(std::move(v));
    ++vibesStarted_;
}

LiveSession::~LiveSession() = default;

const StreamVibe& LiveSession::current() const { return voices_.back()->vibe; }

SampleTime LiveSession::nextGridLine(SampleTime at, Grid grid) const {
    const Voice& v = *voices_.back();
    if (grid == Grid::Now) return std::max(at, v.start);
    const double unit = grid == Grid::Beat ? 1.0 : kBarBeats;
    const int every = grid == Grid::Phrase ? 4 : 1;
    // Within half a sample of a (rounded) grid line counts as on it.
    double n = std::max(0.0, std::ceil(v.tempo.beatAt(static_cast<double>(at) - 0.5) / unit - 1e-9));
    if (every > 1) n = std::ceil(n / every) * every;
    return std::max(at, static_cast<SampleTime>(std::llround(v.tempo.sampleAt(n * unit))));
}

SampleTime LiveSession::nextBarLine(SampleTime at, int every) const {
    // The bars of the vibe playing at `at`. A transition is scheduled ahead of its start and its
    // vibe is last from then on, but its grid has no line before its start: read from there, a
    // DJ set's bar lines jumped from the bar the change was asked on to the transition's start
    // (and a key change waits for a phrase), skipping the outgoing vibe's bars in between.
    const Voice* v = voices_.front().get();
    for (const auto& x : voices_)
        if (x->start <= at) v = x.get();
    every = std::max(1, every);
    double bars = std::max(0.0, std::ceil(v->tempo.beatAt(static_cast<double>(at) - 0.5) / kBarBeats - 1e-9));
    bars = std::ceil(bars / every) * every;
    SampleTime line = std::max(at, static_cast<SampleTime>(std::llround(v->tempo.sampleAt(bars * kBarBeats))));
    if (every == 1)  // a later vibe's start is a bar line too (its bar 0)
        for (const auto& x : voices_)
            if (x->start > at) line = std::min(line, x->start);
    return line;
}

SampleTime LiveSession::barLine(long long bar) const {
    const Voice& v = *voices_.back();
    return std::llround(v.tempo.sampleAt(static_cast<double>(std::clamp(bar, 0LL, 1LL << 40)) * kBarBeats));
}

void LiveSession::noteTempoChange(SampleTime sample, double bpm, double beats) {
    const std::uint64_t made = tempoChanges_.empty() ? 1 : tempoChanges_.back().made + 1;
    tempoChanges_.push_back({made, sample, bpm, beats});
    if (tempoChanges_.size() > 64) tempoChanges_.erase(tempoChanges_.begin());
}

double LiveSession::bpmAt(SampleTime at) const {
    const Voice& v = *voices_.back();
    return v.tempo.bpmAt(v.tempo.beatAt(static_cast<double>(at)));
}

double LiveSession::beatAt(SampleTime at) const { return std::max(0.0, voices_.back()->tempo.beatAt(static_cast<double>(at))); }

std::string LiveSession::sectionAt(SampleTime at) const {
    // Sections are kept in the order they were scheduled, so the last one begun is the latest start.
    const StreamEvent* playing = nullptr;
    for (const auto& e : sections_)
        if (e.sample <= at && (!playing || e.sample >= playing->sample)) playing = &e;
    return playing ? playing->label : std::string();
}

void LiveSession::schedule(Action a) {
    // Appended, and sorted (stably: equal times keep the order they were scheduled in) when
    // pump() next posts: one sort per chunk instead of an insertion per note.
    pending_.push_back(std::move(a));
    sorted_ = false;
}

void LiveSession::sortPending() {
    if (sorted_) return;
    std::stable_sort(pending_.begin(), pending_.end(), [](const Action& x, const Action& y) {
        return x.time != y.time ? x.time < y.time : static_cast<int>(x.kind) < static_cast<int>(y.kind);
    });
    sorted_ = true;
}

LiveSession::Cycle LiveSession::composeCycle(const StreamVibe& vibe, int cycle) const {
    music::MusicConfig cfg = vibe.config;
    cfg.seed = cfg.seed.value_or(1) + static_cast<std::uint64_t>(cycle);  // each cycle its own variation
    compose::ArrangeOptions o{options_.form, true, kPhraseBars};
    const auto arrangement = compose::arrange(cfg, kFormSeconds, o);
    Cycle c{std::make_shared<const music::Score>(compose::composeSketch(vibe.sketch, arrangement)), arrangement.totalBars * kBarBeats, {}};
    c.sections = arrangement.sections;
    return c;
}

void LiveSession::dropSections(int id, SampleTime from) {
    std::erase_if(sections_, [&](const StreamEvent& e) { return e.vibe == id && e.sample >= from; });
}

void LiveSession::composeNext(Voice& v) {
    if (!v.cycleScore || v.composedBeat >= v.cycleBeat + v.cycleBeats - 1e-9) {
        if (v.cycleScore) v.cycleBeat += v.cycleBeats, ++v.cycle;
        auto c = composeCycle(v.vibe, v.cycle);
        v.cycleScore = std::move(c.score);
        v.cycleBeats = c.beats;
        v.sections = std::move(c.sections);
    }
    // The next chunkBars of the cycle (or what is left of it), by where notes start.
    const double from = v.composedBeat - v.cycleBeat, to = std::min(from + options_.chunkBars * kBarBeats, v.cycleBeats);
    const double beat0 = v.composedBeat;
    const SampleTime chunkStart = std::llround(v.tempo.sampleAt(beat0));
    const music::Score& score = *v.cycleScore;
    for (const auto& section : v.sections) {
        const double at = section.startBar * kBarBeats;
        const SampleTime sample = std::llround(v.tempo.sampleAt(v.cycleBeat + at));
        if (at >= from && at < to && sample < std::min(v.end, v.fadeOutStart)) {
            sections_.push_back({sample, "section", v.id, barOf(v, sample), v.tempo.bpmAt(v.cycleBeat + at), 0.0, section.kind});
            if (sectionShapes_.size() >= kMaxSectionShapes) sectionShapes_.erase(sectionShapes_.begin());  // the oldest vibe's first
            sectionShapes_[{v.id, sections_.back().bar}] = section;
        }
    }
    for (const auto& t : score.tracks) {
        const auto li = static_cast<std::size_t>(std::find(layers_.begin(), layers_.end(), t.name) - layers_.begin());
        if (li >= layers_.size() || v.look[li]) continue;  // a layer this session has no slot for, or in place
        if (chunkStart >= v.fadeOutStart) continue;       // a layer never enters while its vibe is leaving
        const bool fadingIn = chunkStart < v.fadeInEnd;
        Action put{Action::Kind::Replace, chunkStart, v.slot[li], 0.0f, 0.0f, v.id, std::make_shared<music::ScoreTrack>(withoutNotes(t)),
                   fadingIn || !wanted_[li]};
        put.beat = beat0;
        schedule(std::move(put));
        if (fadingIn && wanted_[li]) {
            // The incoming vibe's bars are the outgoing one's from the transition's start (the same tempo ramp).
            const SampleTime at = std::min(v.fadeInEnd - 1, std::max(chunkStart, static_cast<SampleTime>(std::llround(v.tempo.sampleAt(v.fadeInBeat + staggerBars(layers_[li], v.fadeInBars) * kBarBeats)))));
            schedule({Action::Kind::Fade, at, v.slot[li], static_cast<float>(static_cast<double>(v.fadeInEnd - at) / options_.sampleRate), t.gainDb, v.id});
        }
        v.look[li] = withoutNotes(t);
    }
    for (const auto& t : score.tracks) {
        const auto li = static_cast<std::size_t>(std::find(layers_.begin(), layers_.end(), t.name) - layers_.begin());
        if (li >= layers_.size() || !v.look[li]) continue;
        for (const auto& n : t.notes) {
            if (!(n.note >= 0.0f && n.note <= 127.0f)) continue;  // outside MIDI range: unplayable
            if (n.start >= to || (n.start < from && from > 0.0)) continue;  // another chunk's (a humanised first note may lean early)
            const double onBeat = v.cycleBeat + std::max(0.0, n.start), offBeat = v.cycleBeat + n.start + n.length;
            const SampleTime on = std::llround(v.tempo.sampleAt(onBeat));
            const SampleTime off = std::max<SampleTime>(on + 1, std::llround(v.tempo.sampleAt(offBeat)));
            if (on < v.end) {
                Action a{Action::Kind::NoteOn, on, v.slot[li], n.note, std::max(n.velocity, 0.001f), v.id};
                a.beat = onBeat;
                schedule(std::move(a));
            }
            if (off < v.end) {
                Action a{Action::Kind::NoteOff, off, v.slot[li], n.note, 0.0f, v.id};
                a.beat = offBeat;
                schedule(std::move(a));
            }
        }
    }
    v.composedBeat = v.cycleBeat + to;
    v.composedUntil = std::llround(v.tempo.sampleAt(v.composedBeat));
}

SampleTime LiveSession::transitionLength(const Voice& v, double seconds, SampleTime at) const {
    const double sr = options_.sampleRate;
    if (seconds > 0.0) return std::max<SampleTime>(1, std::llround(seconds * sr));
    if (options_.transitionBars > 0) return std::max<SampleTime>(1, std::llround(options_.transitionBars * v.barSamplesAt(at)));
    return std::max<SampleTime>(1, std::llround(options_.transitionSeconds * sr));
}

void LiveSession::rampParam(int address, int slot, const std::string& name, float from, float to, SampleTime start, SampleTime length) {
    // A ramp still under way is taken over: its steps after `start` are dropped, and this one
    // starts from the value it had reached (its last step at or before `start`, else the last
    // value posted, else `from`).
    const auto same = [&](const Action& a) { return a.kind == Action::Kind::Param && a.address == address && a.slot == slot && a.param == name; };
    SampleTime reachedAt = -1;
    for (const auto& a : pending_)
        if (same(a) && a.time <= start && a.time >= reachedAt) reachedAt = a.time, from = a.velocity;
    if (reachedAt < 0)
        if (const auto it = postedValue_.find({address, slot, name}); it != postedValue_.end()) from = it->second;
    std::erase_if(pending_, [&](const Action& a) { return same(a) && a.time > start; });
    if (from == to || !std::isfinite(from) || !std::isfinite(to)) return;
    // Steps every ~30 ms (each smoothed by the engine), at most 64 per glide.
    const int steps = static_cast<int>(std::clamp<double>(std::round(static_cast<double>(length) / options_.sampleRate / 0.03), 1.0, 64.0));
    const bool geometric = glidesGeometrically(name) && from > 0.0f && to > 0.0f;
    for (int k = 1; k <= steps; ++k) {
        const double x = static_cast<double>(k) / steps;
        const double value = geometric ? from * std::pow(static_cast<double>(to) / from, x) : from + (to - from) * x;
        Action a{Action::Kind::Param, start + std::llround(static_cast<double>(length) * x), address, 0.0f, static_cast<float>(value), -1};
        a.slot = slot;
        a.param = name;
        schedule(std::move(a));
    }
}

void LiveSession::glideMix(const music::MixSettings& to, double bpm, SampleTime start, SampleTime length) {
    const music::MixSettings& from = mix_;
    // The reverb's size is its delay lengths: it stays as the session began (moving it would
    // click); space moves its decay instead, which the size does not limit.
    rampParam(render::kReverbBus, 0, "decay", from.reverbDecayS, to.reverbDecayS, start, length);
    rampParam(render::kReverbBus, 0, "damping", from.reverbDamping, to.reverbDamping, start, length);
    rampParam(render::kDelayBus, 0, "feedback", from.delayFeedback, to.delayFeedback, start, length);
    rampParam(render::kDelayBus, 0, "tone", from.delayToneHz, to.delayToneHz, start, length);
    const auto delayMs = [](double beats, double tempo) { return static_cast<float>(std::clamp(beats * 60000.0 / tempo, 1.0, 4000.0)); };
    rampParam(render::kDelayBus, 0, "time_left", delayMs(from.delayBeatsLeft, mixBpm_), delayMs(to.delayBeatsLeft, bpm), start, length);
    rampParam(render::kDelayBus, 0, "time_right", delayMs(from.delayBeatsRight, mixBpm_), delayMs(to.delayBeatsRight, bpm), start, length);
    const auto driveDb = [](const music::MixSettings& m) { return m.driveDb > 0.0f ? m.driveDb : 2.0f; };
    const auto driveMix = [](const music::MixSettings& m) { return m.driveDb > 0.0f ? 0.5f : 0.0f; };
    if (options_.masterChain) {
        rampParam(engine::kMasterAddress, render::kDriveSlot, "drive", driveDb(from), driveDb(to), start, length);
        rampParam(engine::kMasterAddress, render::kDriveSlot, "mix", driveMix(from), driveMix(to), start, length);
        rampParam(engine::kMasterAddress, render::kWidthSlot, "width", std::clamp(from.width, 0.0f, 2.0f), std::clamp(to.width, 0.0f, 2.0f), start, length);
    }
    const float target = mix_.targetLufs;
    mix_ = to;
    mix_.targetLufs = target;
    mixBpm_ = bpm;
}

SampleTime LiveSession::glide(Voice& v, const StreamVibe& next, const Cycle& cycle, SampleTime start, SampleTime length) {
    const double sr = options_.sampleRate;
    const music::Score& target = *cycle.score;
    const double startBeat = v.tempo.beatAt(static_cast<double>(start));
    const double oldBpm = v.tempo.bpmAt(startBeat), newBpm = next.config.resolvedBpm();
    const double bar = barSamples(oldBpm, sr);
    v.vibe = next;
    const SampleTime end = start + length;
    if (std::abs(newBpm - oldBpm) > 1e-9) {
        // The tempo ramps in beat time over the glide; what was composed after its start is re-timed.
        const double beats = std::max(1.0, std::round(static_cast<double>(length) / sr * oldBpm / 60.0));
        v.tempo.rampTo(startBeat, newBpm, beats);
        noteTempoChange(start, newBpm, beats);
        for (auto& a : pending_)
            if (a.voice == v.id && a.beat >= 0.0 && a.time >= start) a.time = std::llround(v.tempo.sampleAt(a.beat));
        for (auto& e : sections_)  // sections start on their bar
            if (e.vibe == v.id && e.sample > start) {
                e.sample = std::llround(v.tempo.sampleAt(e.bar * kBarBeats));
                e.bpm = v.tempo.bpmAt(e.bar * kBarBeats);
            }
        sorted_ = false;
        v.composedUntil = std::llround(v.tempo.sampleAt(v.composedBeat));
    }
    // The rest of the cycle is scheduled from its new composition (same form, seed and bars).
    v.cycleScore = cycle.score;
    v.sections = cycle.sections;
    // Every placed layer moves to what the next chunk will sound like.
    for (std::size_t li = 0; li < layers_.size(); ++li) {
        if (!v.look[li]) continue;
        const auto t = std::find_if(target.tracks.begin(), target.tracks.end(), [&](const music::ScoreTrack& x) { return x.name == layers_[li]; });
        if (t == target.tracks.end()) continue;  // it plays out what it has and falls silent
        music::ScoreTrack& was = *v.look[li];
        const int address = v.slot[li];
        if (sameInstrument(was, *t)) {
            for (std::size_t i = 0; i < t->params.size(); ++i) rampParam(address, -1, t->params[i].first, was.params[i].second, t->params[i].second, start, length);
            const int base = t->replacePresetEffects ? 0 : static_cast<int>(presets_.get(t->preset).effects.size());
            for (std::size_t e = 0; e < t->effects.size(); ++e)
                for (std::size_t p = 0; p < t->effects[e].params.size(); ++p)
                    rampParam(address, base + static_cast<int>(e), t->effects[e].params[p].first, was.effects[e].params[p].second, t->effects[e].params[p].second,
                              start, length);
            rampParam(address, 0, kPan, was.pan, t->pan, start, length);
            rampParam(address, render::kReverbBus - engine::kReturnBase, kSend, was.reverbSend, t->reverbSend, start, length);
            rampParam(address, render::kDelayBus - engine::kReturnBase, kSend, was.delaySend, t->delaySend, start, length);
            if (was.gainDb != t->gainDb && wanted_[li])
                schedule({Action::Kind::Fade, start, address, static_cast<float>(static_cast<double>(length) / sr), t->gainDb, v.id, nullptr, false, -1.0, -1, {},
                          engine::FadeShape::Linear});
        } else {
            // Another instrument: it comes in on the layer's other slot playing the same notes,
            // crossfaded, and the old one is cleared when the glide is over.
            const int to = address ^ 1;
            Action put{Action::Kind::Replace, start, to, 0.0f, 0.0f, v.id, std::make_shared<music::ScoreTrack>(withoutNotes(*t)), true};
            schedule(std::move(put));
            if (wanted_[li]) schedule({Action::Kind::Fade, start, to, static_cast<float>(static_cast<double>(length) / sr), t->gainDb, v.id});
            schedule({Action::Kind::Fade, start, address, static_cast<float>(static_cast<double>(length) / sr), kSilentDb, v.id});
            std::vector<Action> copies;
            for (const auto& a : pending_)
                if (a.voice == v.id && a.address == address && a.time >= start && (a.kind == Action::Kind::NoteOn || a.kind == Action::Kind::NoteOff)) {
                    copies.push_back(a);
                    copies.back().address = to;
                }
            std::erase_if(pending_, [&](const Action& a) {
                return a.voice == v.id && a.address == address && a.time >= end && a.kind != Action::Kind::AllOff && a.kind != Action::Kind::Clear;
            });
            for (auto& c : copies) schedule(std::move(c));
            schedule({Action::Kind::AllOff, end, address, 0.0f, 0.0f, v.id});
            schedule({Action::Kind::Clear, end, address, 0.0f, 0.0f, v.id});
            slotFreeAt_[static_cast<std::size_t>(address)] = end;
            v.slot[li] = to;
        }
        was = withoutNotes(*t);
    }
    glideMix(target.mix, newBpm, start, length);
    // Layers the new settings bring in enter faded over the glide.
    v.fadeInStart = start;
    v.fadeInEnd = end;
    v.fadeInBars = static_cast<int>(static_cast<double>(length) / bar + 1e-9);
    v.fadeInBeat = startBeat;
    events_.push_back({start, "glide", v.id, barOf(v, start), newBpm, static_cast<double>(length) / sr, next.label});
    return start;
}

SampleTime LiveSession::change(const StreamVibe& next, SampleTime earliest, Grid grid, double transitionSeconds) {
    Voice& cur = *voices_.back();
    if (grid == Grid::Auto)
        grid = next.config.root != cur.vibe.config.root || next.config.mode != cur.vibe.config.mode ? Grid::Phrase : Grid::Bar;
    if (sameMusic(cur.vibe.config, next.config)) {
        // What the next chunk will sound like; a layer changing instrument needs its other slot.
        const auto target = composeCycle(next, cur.cycle);
        const auto& tracks = target.score->tracks;
        SampleTime free = 0;
        for (std::size_t li = 0; li < layers_.size(); ++li) {
            const auto t = std::find_if(tracks.begin(), tracks.end(), [&](const music::ScoreTrack& x) { return x.name == layers_[li]; });
            if (cur.look[li] && t != tracks.end() && !sameInstrument(*cur.look[li], *t))
                free = std::max(free, slotFreeAt_[static_cast<std::size_t>(cur.slot[li] ^ 1)]);
        }
        const SampleTime start = nextGridLine(std::max({earliest, posted_, free}), grid);
        return glide(cur, next, target, start, transitionLength(cur, transitionSeconds, start));
    }
    // Other music comes in on every layer's other slot. Where one is still fading out (an older
    // vibe, or an instrument a glide replaced), it is hurried out over a beat from the grid line,
    // and the change starts on the grid line after that; the playing vibe plays on meanwhile.
    const SampleTime asked = nextGridLine(std::max(earliest, posted_), grid);
    const SampleTime beat = std::llround(cur.barSamplesAt(asked) / kBarBeats);
    SampleTime free = asked;
    for (std::size_t li = 0; li < layers_.size(); ++li) {
        const int slot = cur.slot[li] ^ 1;
        SampleTime& freeAt = slotFreeAt_[static_cast<std::size_t>(slot)];
        if (freeAt <= asked) continue;
        const SampleTime hurried = std::min(freeAt, asked + beat);
        std::erase_if(pending_, [&](const Action& a) {
            return a.address == slot && (a.time >= hurried || (a.kind == Action::Kind::Fade && a.time >= asked));
        });
        schedule({Action::Kind::Fade, asked, slot, static_cast<float>(static_cast<double>(hurried - asked) / options_.sampleRate), kSilentDb, -1});
        schedule({Action::Kind::AllOff, hurried, slot, 0.0f, 0.0f, -1});
        schedule({Action::Kind::Clear, hurried, slot, 0.0f, 0.0f, -1});
        freeAt = hurried;
        free = std::max(free, hurried);
    }
    for (auto& old : voices_)
        if (old.get() != &cur && old->end > free) old->end = free, old->fadeOutStart = std::min(old->fadeOutStart, asked), dropSections(old->id, asked);
    const SampleTime start = free > asked ? nextGridLine(free, grid) : asked;
    SampleTime length = transitionLength(cur, transitionSeconds, start);
    const double startBeat = cur.tempo.beatAt(static_cast<double>(start));
    const double fromBpm = cur.tempo.bpmAt(startBeat), toBpm = next.config.resolvedBpm();
    const double beats = static_cast<double>(length) / options_.sampleRate * fromBpm / 60.0;  // in the outgoing vibe's beats
    auto v = std::make_unique<Voice>(next, vibesStarted_++, start, options_.sampleRate, layers_.size());
    if (std::abs(toBpm - fromBpm) > 1e-9) {
        // Beat-matched, as a DJ mixes: both vibes follow one tempo ramp, from the outgoing tempo
        // to the incoming one over the transition, so their beats and bar lines coincide all
        // through it. What the outgoing vibe had composed past the start is re-timed.
        cur.tempo.rampTo(startBeat, toBpm, beats);
        noteTempoChange(start, toBpm, beats);
        v->tempo = TempoMap(static_cast<double>(start), fromBpm, options_.sampleRate);
        v->tempo.rampTo(0.0, toBpm, beats);
        for (auto& a : pending_)
            if (a.voice == cur.id && a.beat >= 0.0 && a.time >= start) a.time = std::llround(cur.tempo.sampleAt(a.beat));
        sorted_ = false;
        cur.composedUntil = std::llround(cur.tempo.sampleAt(cur.composedBeat));
        length = std::max<SampleTime>(1, std::llround(cur.tempo.sampleAt(startBeat + beats)) - start);
    }
    cur.end = start + length;
    cur.fadeOutStart = start;
    dropSections(cur.id, start);
    // What the outgoing vibe had composed past its end is dropped, and so is any layer it would
    // have brought in during its fade-out (it would enter at full gain); its layers fade out, staggered.
    // Its own fades still to come (a layer it was bringing in) give way to the fade-out.
    std::erase_if(pending_, [&](const Action& a) {
        return a.voice == cur.id && a.kind != Action::Kind::AllOff && a.kind != Action::Kind::Clear &&
               (a.time >= cur.end || ((a.kind == Action::Kind::Replace || a.kind == Action::Kind::Fade) && a.time >= start));
    });
    const int bars = static_cast<int>(beats / kBarBeats + 1e-9);
    for (std::size_t li = 0; li < layers_.size(); ++li) {
        if (!cur.look[li]) continue;
        const int slot = cur.slot[li];
        const SampleTime at = std::min(cur.end, static_cast<SampleTime>(std::llround(cur.tempo.sampleAt(startBeat + staggerBars(layers_[li], bars) * kBarBeats))));
        schedule({Action::Kind::Fade, at, slot, static_cast<float>(static_cast<double>(cur.end - at) / options_.sampleRate), kSilentDb, cur.id});
        schedule({Action::Kind::AllOff, cur.end, slot, 0.0f, 0.0f, cur.id});
        schedule({Action::Kind::Clear, cur.end, slot, 0.0f, 0.0f, cur.id});
        slotFreeAt_[static_cast<std::size_t>(slot)] = cur.end;
    }
    for (std::size_t li = 0; li < layers_.size(); ++li) v->slot[li] = cur.slot[li] ^ 1;
    v->fadeInStart = start;
    v->fadeInEnd = cur.end;
    v->fadeInBars = bars;
    const double bpm = toBpm;
    events_.push_back({start, "transition", v->id, barOf(cur, start), bpm,
                       static_cast<double>(length) / options_.sampleRate, next.label});
    auto firstCycle = composeCycle(next, 0);
    glideMix(firstCycle.score->mix, bpm, start, length);  // the returns move with the music
    v->cycleScore = std::move(firstCycle.score);
    v->cycleBeats = firstCycle.beats;
    v->sections = std::move(firstCycle.sections);
    voices_.push_back(std::move(v));
    composeNext(*voices_.back());
    return start;
}

void LiveSession::fadeOut(SampleTime at, double seconds, bool urgent) {
    if (!urgent) at = std::max(at, posted_);
    const SampleTime end = at + std::max<SampleTime>(1, std::llround(seconds * options_.sampleRate));
    for (auto& v : voices_) {
        v->end = std::min(v->end, end);
        v->fadeOutStart = std::min(v->fadeOutStart, at);
    }
    std::erase_if(pending_, [&](const Action& a) { return a.time >= end && a.kind != Action::Kind::AllOff; });
    if (!urgent || !controller_->fadeGain(engine::kMasterAddress, kSilentDb, seconds, engine::FadeShape::EqualPower, at, true))
        schedule({Action::Kind::Fade, std::max(at, posted_), engine::kMasterAddress, static_cast<float>(seconds), kSilentDb, -1});
    // Changes that would have started after the end were never heard.
    std::erase_if(events_, [&](const StreamEvent& e) { return e.sample >= end; });
    std::erase_if(sections_, [&](const StreamEvent& e) { return e.sample >= at; });
    // What was playing when it faded (a change due after the end never came).
    const Voice* playing = voices_.front().get();
    for (const auto& v : voices_)
        if (v->start <= at) playing = v.get();
    events_.push_back({at, "fade_out", playing->id, 0, bpmAt(at), seconds, playing->vibe.label});
}

void LiveSession::note(SampleTime at, const std::string& kind, const std::string& label) {
    events_.push_back({at, kind, voices_.back()->id, std::max(0, barOf(*voices_.back(), at)), bpmAt(at), 0.0, label});
}

bool LiveSession::pump(SampleTime horizon) {
    const auto forgetPosted = [&](int address) {
        std::erase_if(postedValue_, [&](const auto& kv) { return std::get<0>(kv.first) == address; });
    };
    controller_->collect();
    for (auto& v : voices_)  // compose a chunk ahead of the horizon
        while (v->composedUntil < std::min(v->end, horizon + static_cast<SampleTime>(std::llround(options_.chunkBars * v->barSamplesAt(v->composedUntil)))))
            composeNext(*v);
    sortPending();
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
                if (const auto li = static_cast<std::size_t>(a.address / 2); li < layerMix_.size()) {  // a layer keeps its mute and solo
                    track->mute = layerMix_[li].mute;
                    track->solo = layerMix_[li].solo;
                    track->initialTrimDb = layerMix_[li].gainDb + duckAt(a.time);
                    track->initialBalance = layerMix_[li].pan;
                }
                track->initialLowCutHz = lowCutAt(lowCutLineOf(a.address), a.time);
                controller_->replaceTrack(a.address, std::move(track), a.time);
                forgetPosted(a.address);
                break;
            }
            case Action::Kind::Speech: {
                engine::SampleZone zone;
                zone.sample = a.speech;
                zone.name = "voice";
                controller_->replaceTrack(a.address, controller_->makeTrack("voice", engine::makeSamplePlayer({zone}), 0.0f), a.time);
                break;
            }
            case Action::Kind::Loop: {  // the whole buffer loops, sample-exact (rate 1, no crossfade of its own)
                engine::SampleZone zone;
                zone.sample = a.speech;
                zone.name = "loop";
                zone.mode = engine::LoopMode::Sustain;
                const auto name = controller_->trackNames()[static_cast<std::size_t>(a.address)];
                auto track = controller_->makeTrack(name, engine::makeSamplePlayer({zone}), kSilentDb);
                track->initialLowCutHz = lowCutAt(lowCutLineOf(a.address), a.time);  // under the bass from its first sample
                controller_->replaceTrack(a.address, std::move(track), a.time);
                break;
            }
            case Action::Kind::Fade: ok = controller_->fadeGain(a.address, a.velocity, a.note, a.shape, a.time); break;
            case Action::Kind::Param:
                if (a.param == kTrim) {  // a duck under the voice: on top of the user's trim
                    const auto li = static_cast<std::size_t>(a.address / 2);
                    const LayerMix mix = li < layerMix_.size() ? layerMix_[li] : LayerMix{};
                    ok = controller_->setTrim(a.address, mix.gainDb + a.velocity, mix.pan, a.time);
                    break;
                }
                if (a.param == kLowCut) {
                    ok = controller_->setLowCut(a.address, a.velocity, a.time);
                    break;
                }
                try {
                    postedValue_[{a.address, a.slot, a.param}] = a.velocity;
                    if (a.param == kPan) ok = controller_->setPan(a.address, a.velocity, a.time);
                    else if (a.param == kSend) ok = controller_->setSend(a.address, a.slot + engine::kReturnBase, a.velocity, a.time);
                    else ok = controller_->setParam(a.address, a.slot, a.param, a.velocity, a.time);
                } catch (const std::invalid_argument& e) {  // a setting out of an instrument's range is skipped, and said
                    events_.push_back({a.time, "warning", a.voice, 0, 0.0, 0.0, music::clipText(e.what(), 300)});
                }
                break;
            case Action::Kind::NoteOn: ok = controller_->noteOn(a.address, a.note, a.velocity, a.time); break;
            case Action::Kind::NoteOff: ok = controller_->noteOff(a.address, a.note, a.time); break;
            case Action::Kind::AllOff: ok = controller_->allNotesOff(a.address, a.time); break;
            case Action::Kind::Clear:
                controller_->replaceTrack(a.address,
                                          controller_->makeTrack(controller_->trackNames()[static_cast<std::size_t>(a.address)], std::make_unique<Silence>(), kSilentDb),
                                          a.time);
                forgetPosted(a.address);
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

#include "sequencer/Sequencer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "sequencer/SequenceJson.h"

namespace soundstar::sequencer {

using nlohmann::json;

namespace {
constexpr BeatTime kForever = std::numeric_limits<BeatTime>::infinity();
constexpr std::size_t kMaxCuts = 4096, kMaxPieces = 256, kMaxRuns = 1024;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A uniform draw in [0, 1) from (seed, repetition, step): splitmix64's finaliser.
double chance(std::uint64_t seed, std::uint64_t repetition, std::uint64_t step) {
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + repetition * 0xBF58476D1CE4E5B9ull + step * 0x94D049BB133111EBull + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) / 9007199254740992.0;
}
}  // namespace

// ---- editing ----

void Sequencer::setClip(Clip c) {
    if (!clips_.count(c.id) && clips_.size() >= kMaxClips)
        throw std::invalid_argument(fmt::format("too many clips: at most {} (remove one first)", kMaxClips));
    clips_[c.id] = std::move(c);
}

void Sequencer::removeClip(const std::string& id) {
    if (!clips_.erase(id)) throw std::invalid_argument(fmt::format("no clip '{}'", id));
    for (auto& [scene, slots] : scenes_)
        for (auto it = slots.begin(); it != slots.end();) it = it->second == id ? slots.erase(it) : std::next(it);
}

void Sequencer::setLane(Lane l) {
    for (std::size_t i = 0; i < lanes_.size(); ++i)
        if (lanes_[i].id == l.id || lanes_[i].target == l.target) {
            lanes_[i] = std::move(l);
            lastValue_[i] = kNaN;
            return;
        }
    if (lanes_.size() >= kMaxLanes) throw std::invalid_argument(fmt::format("too many automation lanes: at most {} (remove one first)", kMaxLanes));
    lanes_.push_back(std::move(l));
    lastValue_.push_back(kNaN);
}

void Sequencer::removeLane(const std::string& id) {
    for (std::size_t i = 0; i < lanes_.size(); ++i)
        if (lanes_[i].id == id) {
            lanes_.erase(lanes_.begin() + static_cast<std::ptrdiff_t>(i));
            lastValue_.erase(lastValue_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
    throw std::invalid_argument(fmt::format("no automation lane '{}'", id));
}

void Sequencer::setMarker(Marker m) {
    for (auto& k : markers_)
        if (k.name == m.name) {
            k = m;
            return;
        }
    if (markers_.size() >= kMaxMarkers) throw std::invalid_argument(fmt::format("too many markers: at most {}", kMaxMarkers));
    markers_.push_back(std::move(m));
}

void Sequencer::removeMarker(const std::string& name) {
    const auto n = std::erase_if(markers_, [&](const Marker& m) { return m.name == name; });
    if (n == 0) throw std::invalid_argument(fmt::format("no marker '{}'", name));
}

BeatTime Sequencer::markerBeat(const std::string& name) const {
    for (const auto& m : markers_)
        if (m.name == name) return m.beat;
    std::string names;
    for (const auto& m : markers_) names += (names.empty() ? "" : ", ") + m.name;
    throw std::invalid_argument(fmt::format("no marker '{}'; markers: {}", name, names.empty() ? "none" : names.substr(0, 1500)));
}

void Sequencer::setTempoLane(TempoLane lane) {
    if (lane.points.size() > kMaxTempoPoints)
        throw std::invalid_argument(fmt::format("the tempo lane has {} points: at most {}", lane.points.size(), kMaxTempoPoints));
    tempoEdited_ = tempoEdited_ || !(lane == tempo_);
    tempo_ = std::move(lane);
}

void Sequencer::setLoop(std::optional<std::pair<BeatTime, BeatTime>> loop) {
    if (loop && !(loop->second - loop->first >= kMinClipBeats))
        throw std::invalid_argument(fmt::format("a loop needs end > start by at least {:g} beats", kMinClipBeats));
    loop_ = loop;
}

void Sequencer::setSlot(int scene, const std::string& track, const std::string& clipId) {
    if (scene < 0 || scene >= kMaxScenes) throw std::invalid_argument(fmt::format("scene {} does not exist: scenes are 0 to {}", scene, kMaxScenes - 1));
    if (clipId.empty()) {
        scenes_[scene].erase(track);
        return;
    }
    const auto it = clips_.find(clipId);
    if (it == clips_.end()) throw std::invalid_argument(fmt::format("no clip '{}' (seq_set_clip makes one)", clipId));
    scenes_[scene][it->second.track] = clipId;
}

// ---- cutting what was rendered ----

void Sequencer::cut(std::uint64_t run, BeatTime at) {
    auto [it, added] = cuts_.emplace(run, at);
    if (!added) it->second = std::min(it->second, at);
    while (cuts_.size() > kMaxCuts) cuts_.erase(cuts_.begin());  // the oldest runs: long handed over
}

bool Sequencer::current(const Event& e) const {
    const auto it = cuts_.find(e.run);
    return it == cuts_.end() || e.beat < it->second;
}

void Sequencer::allNotesOff(const std::vector<std::string>& tracks, BeatTime at, std::vector<Event>& out) const {
    for (const auto& t : tracks) {
        Event e;
        e.kind = Event::Kind::AllNotesOff;
        e.beat = at;
        e.track = t;
        out.push_back(std::move(e));
    }
}

std::vector<std::string> Sequencer::arrangementTracks() const {
    std::set<std::string> tracks;
    for (const auto& [id, c] : clips_)
        if (c.start) tracks.insert(c.track);
    return {tracks.begin(), tracks.end()};
}

// ---- the arrangement's transport ----

void Sequencer::play(BeatTime at, BeatTime fromSongBeat, std::vector<Event>& out) {
    if (state_ == State::Playing) {
        cut(arrangementRun_, at);
        allNotesOff(arrangementTracks(), at, out);
    }
    state_ = State::Playing;
    arrangementRun_ = nextRun_++;
    cursorT_ = autoNext_ = at;
    cursorS_ = fromSongBeat;
    offset_ = at - fromSongBeat;  // transport beat = song beat + offset_ until the next wrap
    fresh_ = true;
    pieces_.clear();
    std::fill(lastValue_.begin(), lastValue_.end(), kNaN);
}

void Sequencer::stop(BeatTime at, std::vector<Event>& out) {
    if (state_ == State::Playing) {
        cut(arrangementRun_, at);
        allNotesOff(arrangementTracks(), at, out);
        holdTempo(at, out);
    }
    state_ = State::Stopped;
    position_ = 0.0;
    stopClips("", at, out);
}

void Sequencer::pause(BeatTime at, std::vector<Event>& out) {
    if (state_ != State::Playing) return;
    position_ = songBeatAt(at);
    cut(arrangementRun_, at);
    allNotesOff(arrangementTracks(), at, out);
    holdTempo(at, out);
    state_ = State::Paused;
}

void Sequencer::resume(BeatTime at, std::vector<Event>& out) {
    if (state_ == State::Playing) return;
    play(at, position_, out);
}

void Sequencer::seek(BeatTime at, BeatTime songBeat, std::vector<Event>& out) {
    if (state_ == State::Playing) play(at, songBeat, out);
    else position_ = songBeat;
}

BeatTime Sequencer::songBeatAt(BeatTime t) const {
    if (state_ != State::Playing) return position_;
    for (auto it = pieces_.rbegin(); it != pieces_.rend(); ++it)
        if (t >= it->t0 && t < it->t1) return it->s0 + (t - it->t0);
    if (!pieces_.empty() && t < pieces_.front().t0) return pieces_.front().s0;
    return cursorS_ + (t - cursorT_);
}

// ---- the session ----

BeatTime Sequencer::quantise(BeatTime earliest, double bars) const { return meters_.quantise(earliest, bars); }

void Sequencer::launchClip(const std::string& clipId, BeatTime at, std::vector<Event>& out, int scene) {
    const auto it = clips_.find(clipId);
    if (it == clips_.end()) throw std::invalid_argument(fmt::format("no clip '{}' (seq_set_clip makes one)", clipId));
    if (runs_.size() >= kMaxRuns)
        throw std::invalid_argument(fmt::format("too many session clips playing or waiting to start: at most {} (stop some first)", kMaxRuns));
    const Clip& c = it->second;
    stopClips(c.track, at, out);
    if (scene < 0)
        for (const auto& [s, slots] : scenes_)
            if (const auto slot = slots.find(c.track); slot != slots.end() && slot->second == clipId) {
                scene = s;
                break;
            }
    const BeatTime followAt = c.follow ? meters_.beatOfBar(meters_.barAt(at) + c.follow->afterBars) : kForever;
    runs_.push_back({clipId, c.track, at, kForever, at, nextRun_++, scene, followAt, 0});
}

std::string Sequencer::followTarget(const Run& r, const Follow& f, int& scene) const {
    std::vector<std::pair<int, std::string>> slots;  // the track's slots, by scene
    for (const auto& [s, bySlot] : scenes_)
        if (const auto it = bySlot.find(r.track); it != bySlot.end()) slots.emplace_back(s, it->second);
    scene = r.scene;
    if (f.action == FollowAction::Again || slots.empty()) return r.clipId;  // a clip in no slot plays again
    std::size_t pick = 0;
    switch (f.action) {
        case FollowAction::Next: {
            const auto it = std::find_if(slots.begin(), slots.end(), [&](const auto& p) { return p.first > r.scene; });
            pick = it == slots.end() ? 0 : static_cast<std::size_t>(it - slots.begin());  // after the last: the first
            break;
        }
        case FollowAction::Previous: {
            const auto it = std::find_if(slots.rbegin(), slots.rend(), [&](const auto& p) { return p.first < r.scene; });
            pick = it == slots.rend() ? slots.size() - 1 : static_cast<std::size_t>(slots.rend() - it) - 1;  // before the first: the last
            break;
        }
        case FollowAction::Random:
            pick = std::min(slots.size() - 1, static_cast<std::size_t>(chance(f.seed, r.followed, 0) * static_cast<double>(slots.size())));
            break;
        default: break;  // First: 0 (Again and Stop are handled by the caller or above)
    }
    scene = slots[pick].first;
    return slots[pick].second;
}

void Sequencer::follow(std::size_t index, std::vector<Event>& out) {
    Run& r = runs_[index];
    const BeatTime at = r.followAt;
    renderRun(r, at, out);
    const auto it = clips_.find(r.clipId);
    const BeatTime end = r.end;
    r.end = at;
    r.followAt = kForever;
    allNotesOff({r.track}, at, out);
    if (it == clips_.end() || !it->second.follow || it->second.follow->action == FollowAction::Stop) return;
    int scene = -1;
    const std::string next = followTarget(r, *it->second.follow, scene);
    const auto c = clips_.find(next);
    if (c == clips_.end()) return;
    const BeatTime followAt = c->second.follow ? meters_.beatOfBar(meters_.barAt(at) + c->second.follow->afterBars) : kForever;
    const Run n{next, r.track, at, end, at, nextRun_++, scene, followAt, r.followed + 1};
    runs_.push_back(n);  // r is not used after this
}

int Sequencer::launchScene(int scene, BeatTime at, std::vector<Event>& out) {
    const auto it = scenes_.find(scene);
    if (it == scenes_.end() || it->second.empty()) throw std::invalid_argument(fmt::format("scene {} has no clips (seq_set_slot puts one there)", scene));
    for (const auto& [track, clip] : it->second) launchClip(clip, at, out, scene);
    return static_cast<int>(it->second.size());
}

void Sequencer::stopClips(const std::string& track, BeatTime at, std::vector<Event>& out) {
    std::vector<std::string> stopped;
    for (auto& r : runs_) {
        if ((!track.empty() && r.track != track) || r.end <= at) continue;
        r.end = at;
        if (r.cursor > at) cut(r.id, at);
        if (at > r.start) stopped.push_back(r.track);  // a run that never started has nothing sounding
        else r.end = r.start;
    }
    allNotesOff(stopped, at, out);
}

bool Sequencer::sessionOwns(const std::string& track, BeatTime t) const {
    return std::any_of(runs_.begin(), runs_.end(), [&](const Run& r) { return r.track == track && t >= r.start && t < r.end; });
}

// ---- rendering ----

void Sequencer::renderClip(const Clip& c, BeatTime songFrom, BeatTime songTo, BeatTime clipStart, BeatTime toTransport,
                           std::uint64_t run, bool session, std::vector<Event>& out) const {
    if (c.audio) {
        renderAudio(c, songFrom, songTo, clipStart, toTransport, run, session, out);
        return;
    }
    // Repetitions of the clip that overlap [songFrom, songTo): repetition k starts at clipStart + k * length.
    const long long reps = session ? std::numeric_limits<long long>::max() : c.repeats;
    long long k = std::max(0LL, static_cast<long long>(std::floor((songFrom - clipStart) / c.length)));
    for (; k < reps; ++k) {
        const BeatTime rep = clipStart + static_cast<double>(k) * c.length;
        if (rep >= songTo) break;
        const auto emit = [&](float note, float velocity, BeatTime offset, BeatTime duration) {
            const BeatTime s = rep + offset;
            if (s < songFrom || s >= songTo || offset >= c.length) return;
            const BeatTime t = s + toTransport;
            if (!session && sessionOwns(c.track, t)) return;
            Event on;
            on.kind = Event::Kind::NoteOn;
            on.beat = t;
            on.track = c.track;
            on.note = note;
            on.velocity = velocity;
            on.run = run;
            Event off = on;
            off.kind = Event::Kind::NoteOff;
            off.beat = t + std::min(duration, c.length - offset);
            out.push_back(std::move(on));
            out.push_back(std::move(off));
        };
        if (c.pattern) {
            const Pattern& p = *c.pattern;
            for (std::size_t i = 0; i < p.steps.size(); ++i) {
                const Step& st = p.steps[i];
                if (st.velocity <= 0.0f || chance(p.seed, static_cast<std::uint64_t>(k), i) >= st.probability) continue;
                const BeatTime offset = (static_cast<double>(i) + (i % 2 == 1 ? p.swing : 0.0)) * p.stepBeats;
                emit(st.note.value_or(p.note), st.velocity, offset, p.gate * p.stepBeats);
            }
        } else {
            const auto first = std::lower_bound(c.notes.begin(), c.notes.end(), songFrom - rep, [](const Note& n, BeatTime b) { return n.start < b; });
            for (auto n = first; n != c.notes.end() && n->start < c.length && rep + n->start < songTo; ++n) emit(n->note, n->velocity, n->start, n->duration);
        }
    }
}

void Sequencer::renderAudio(const Clip& c, BeatTime songFrom, BeatTime songTo, BeatTime clipStart, BeatTime toTransport,
                            std::uint64_t run, bool session, std::vector<Event>& out) const {
    // Each repetition starts the sample at its first beat and releases it at its last; a play or
    // a loop that begins inside a repetition (fresh_) starts the sample that far into it.
    const long long reps = session ? std::numeric_limits<long long>::max() : c.repeats;
    const long long k = std::max(0LL, static_cast<long long>(std::floor((songFrom - clipStart) / c.length)));
    for (long long i = k; i < reps; ++i) {
        const BeatTime rep = clipStart + static_cast<double>(i) * c.length;
        if (rep >= songTo) break;
        const bool joins = !session && fresh_ && rep < songFrom && songFrom < rep + c.length - 1e-9;
        if (rep < songFrom && !joins) continue;
        const BeatTime s = std::max(rep, songFrom), t = s + toTransport;
        if (!session && sessionOwns(c.track, t)) continue;
        Event on;
        on.kind = Event::Kind::SampleOn;
        on.beat = t;
        on.track = c.track;
        on.velocity = 1.0f;
        on.run = run;
        on.sample = c.audio->sample;
        on.offsetSeconds = c.audio->offsetSeconds;
        on.gainDb = c.audio->gainDb;
        on.intoBeats = s - rep;
        Event off = on;
        off.kind = Event::Kind::NoteOff;
        off.beat = rep + c.length + toTransport;
        out.push_back(std::move(on));
        out.push_back(std::move(off));
    }
}

void Sequencer::holdTempo(BeatTime at, std::vector<Event>& out) const {
    if (tempo_.points.empty() && !tempoEdited_) return;  // no lane moves the tempo
    Event e;
    e.kind = Event::Kind::Tempo;
    e.beat = at;
    e.value = kNaN;
    out.push_back(std::move(e));  // no run: a hold is never cut
}

void Sequencer::renderTempo(BeatTime songFrom, BeatTime songTo, bool fromScratch, std::vector<Event>& out) const {
    const auto& p = tempo_.points;
    const auto emit = [&](BeatTime song, double bpm, long next) {
        Event e;
        e.kind = Event::Kind::Tempo;
        e.beat = song + offset_;
        e.value = bpm;
        e.run = arrangementRun_;
        if (next > 0 && static_cast<std::size_t>(next) < p.size() && p[static_cast<std::size_t>(next) - 1].ramp) {
            e.rampToBpm = p[static_cast<std::size_t>(next)].bpm;
            e.rampBeats = p[static_cast<std::size_t>(next)].beat - song;
        }
        out.push_back(std::move(e));
    };
    if (fromScratch) {  // a play, a loop's wrap or an edited lane: the tempo (or the ramp) in force there
        if (p.empty()) {
            holdTempo(songFrom + offset_, out);
            return;
        }
        emit(songFrom, tempo_.bpmAt(songFrom), tempo_.indexAt(songFrom) + 1);
    }
    auto it = std::lower_bound(p.begin(), p.end(), songFrom, [](const TempoPoint& a, BeatTime b) { return a.beat < b; });
    for (; it != p.end() && it->beat < songTo; ++it)
        if (!fromScratch || it->beat > songFrom) emit(it->beat, it->bpm, static_cast<long>(it - p.begin()) + 1);
}

void Sequencer::renderArrangement(BeatTime until, BeatTime step, std::vector<Event>& out) {
    while (cursorT_ < until) {
        const bool inside = loop_ && cursorS_ < loop_->second - 1e-9;
        const BeatTime end = inside ? std::min(until, cursorT_ + (loop_->second - cursorS_)) : until;
        const BeatTime songTo = cursorS_ + (end - cursorT_), toTransport = offset_;
        if (tempoEdited_ || !tempo_.points.empty()) renderTempo(cursorS_, songTo, fresh_ || tempoEdited_, out);
        tempoEdited_ = false;
        for (const auto& [id, c] : clips_)
            if (c.start && *c.start < songTo && *c.start + c.length * c.repeats > cursorS_)
                renderClip(c, cursorS_, songTo, *c.start, toTransport, arrangementRun_, false, out);
        for (; autoNext_ < end; autoNext_ += step) {
            const BeatTime s = autoNext_ - offset_;
            for (std::size_t i = 0; i < lanes_.size(); ++i) {
                const double v = lanes_[i].valueAt(s);
                if (v == lastValue_[i]) continue;
                lastValue_[i] = v;
                Event e;
                e.kind = Event::Kind::Param;
                e.beat = autoNext_;
                e.target = lanes_[i].target;
                e.value = v;
                e.run = arrangementRun_;
                out.push_back(std::move(e));
            }
        }
        fresh_ = false;
        pieces_.push_back({cursorT_, end, cursorS_});
        if (pieces_.size() > kMaxPieces) pieces_.pop_front();
        cursorS_ = songTo;
        cursorT_ = end;
        if (inside && cursorS_ >= loop_->second - 1e-9) {
            // Like a seek: what the pass before rendered past its end (note-offs, an audio clip's
            // release) is cut and its notes released, so it cannot end the next pass's notes.
            cut(arrangementRun_, cursorT_);
            std::vector<std::string> tracks = arrangementTracks();
            std::erase_if(tracks, [&](const std::string& t) { return sessionOwns(t, cursorT_); });
            allNotesOff(tracks, cursorT_, out);
            arrangementRun_ = nextRun_++;
            cursorS_ = loop_->first;
            offset_ = cursorT_ - cursorS_;
            fresh_ = true;
        }
    }
}

void Sequencer::renderRun(Run& r, BeatTime until, std::vector<Event>& out) const {
    const BeatTime to = std::min(until, r.end);
    if (r.cursor >= to) return;
    const auto it = clips_.find(r.clipId);
    if (it != clips_.end()) renderClip(it->second, r.cursor - r.start, to - r.start, 0.0, r.start, r.id, true, out);
    r.cursor = to;
}

void Sequencer::render(BeatTime until, BeatTime automationStep, std::vector<Event>& out) {
    if (!(automationStep > 0.0)) throw std::invalid_argument("the automation step must be positive");
    for (std::size_t i = 0; i < runs_.size(); ++i) {  // follows append runs, which this loop then renders
        if (runs_[i].followAt < until && runs_[i].followAt < runs_[i].end && runs_[i].followAt >= runs_[i].cursor) follow(i, out);
        renderRun(runs_[i], until, out);
    }
    if (state_ == State::Playing) renderArrangement(until, automationStep, out);
    std::erase_if(runs_, [&](const Run& r) { return r.end <= r.cursor || !clips_.count(r.clipId); });
}

json Sequencer::contentJson() const {
    json clips = json::array(), lanes = json::array(), markers = json::array(), scenes = json::object();
    for (const auto& [id, c] : clips_) clips.push_back(sequencer::toJson(c));
    for (const auto& l : lanes_) lanes.push_back(sequencer::toJson(l));
    for (const auto& m : markers_) markers.push_back({{"name", m.name}, {"beat", m.beat}});
    for (const auto& [scene, slots] : scenes_)
        if (!slots.empty()) scenes[std::to_string(scene)] = slots;
    return {{"loop", loop_ ? json{{"start", loop_->first}, {"end", loop_->second}} : json(nullptr)},
            {"clips", clips},
            {"automation", lanes},
            {"markers", markers},
            {"scenes", scenes},
            {"time_signatures", sequencer::toJson(meters_.changes())},
            {"tempo", sequencer::toJson(tempo_)}};
}

void Sequencer::adoptContent(const Sequencer& other) {
    clips_ = other.clips_;
    lanes_ = other.lanes_;
    lastValue_.assign(lanes_.size(), kNaN);
    markers_ = other.markers_;
    loop_ = other.loop_;
    scenes_ = other.scenes_;
    meters_ = other.meters_;
    setTempoLane(other.tempo_);
}

json Sequencer::toJson(BeatTime now) const {
    json playing = json::array();
    for (const auto& r : runs_)
        if (r.end > now) {
            json run = {{"clip", r.clipId}, {"track", r.track}, {"from_beat", r.start}, {"scene", r.scene >= 0 ? json(r.scene) : json(nullptr)}};
            if (std::isfinite(r.followAt)) run["follow_beat"] = r.followAt;
            playing.push_back(run);
        }
    const BeatTime pos = songBeatAt(now);
    static const char* kStates[] = {"stopped", "playing", "paused"};
    json out = contentJson();
    out["state"] = kStates[static_cast<int>(state_)];
    out["position_beat"] = pos;
    out["position_bar"] = std::floor(meters_.barAt(pos) + 1e-9);
    const Meter& m = meters_.meterAt(pos);
    out["time_signature"] = fmt::format("{}/{}", m.numerator, m.denominator);
    out["beats_per_bar"] = m.barBeats();
    out["session_playing"] = playing;
    return out;
}

}  // namespace soundstar::sequencer

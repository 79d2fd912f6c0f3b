// LiveSession's layer controls: mute, solo and trim of a layer, the set of layers placed, a
// layer's part replaced, speech over the mix, generated loops, and the low cut under the bass.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "live/LiveSessionParts.h"
#include "music/JsonText.h"

namespace soundstar::live {

SampleTime LiveSession::setLayerMix(const std::string& layer, std::optional<bool> mute, std::optional<bool> solo) {
    const auto it = std::find(layers_.begin(), layers_.end(), layer);
    if (it == layers_.end()) throw std::invalid_argument(fmt::format("no layer '{}': the layers are {}", music::clipText(layer, 40), fmt::join(layers_, ", ")));
    const auto li = static_cast<std::size_t>(it - layers_.begin());
    layerMix_.resize(layers_.size());
    // After every command already posted (the engine's queue is applied in order).
    const SampleTime at = std::max(posted_, engine_->now());
    for (const int address : {2 * static_cast<int>(li), 2 * static_cast<int>(li) + 1}) {
        const bool ok = (!mute || controller_->setMute(address, *mute, at)) && (!solo || controller_->setSolo(address, *solo, at));
        if (!ok) throw std::runtime_error("the live engine's command queue is full; try again in a moment");
    }
    if (mute) layerMix_[li].mute = *mute;
    if (solo) layerMix_[li].solo = *solo;
    return at;
}

SampleTime LiveSession::setLayerTrim(const std::string& layer, std::optional<float> gainDb, std::optional<float> pan) {
    const auto it = std::find(layers_.begin(), layers_.end(), layer);
    if (it == layers_.end()) throw std::invalid_argument(fmt::format("no layer '{}': the layers are {}", music::clipText(layer, 40), fmt::join(layers_, ", ")));
    if (gainDb && !(*gainDb >= -60.0f && *gainDb <= 12.0f)) throw std::invalid_argument(fmt::format("gain_db {:g} is out of range: allowed -60..12", *gainDb));
    if (pan && !(*pan >= -1.0f && *pan <= 1.0f)) throw std::invalid_argument(fmt::format("pan {:g} is out of range: allowed -1..1", *pan));
    const auto li = static_cast<std::size_t>(it - layers_.begin());
    layerMix_.resize(layers_.size());
    const float g = gainDb.value_or(layerMix_[li].gainDb), p = pan.value_or(layerMix_[li].pan);
    const SampleTime at = std::max(posted_, engine_->now());
    for (const int address : {2 * static_cast<int>(li), 2 * static_cast<int>(li) + 1})
        if (!controller_->setTrim(address, g, p, at)) throw std::runtime_error("the live engine's command queue is full; try again in a moment");
    layerMix_[li].gainDb = g;
    layerMix_[li].pan = p;
    return at;
}

std::vector<std::string> LiveSession::placedLayers() const {
    std::vector<std::string> out;
    for (std::size_t li = 0; li < layers_.size(); ++li)
        if (voices_.back()->look[li]) out.push_back(layers_[li]);
    return out;
}

SampleTime LiveSession::setLayers(const std::vector<std::string>& layers, SampleTime earliest, double fadeSeconds) {
    std::vector<bool> want(layers_.size(), layers.empty());
    for (const auto& name : layers) {
        const auto it = std::find(layers_.begin(), layers_.end(), name);
        if (it == layers_.end())
            throw std::invalid_argument(fmt::format("'{}' is not a layer; allowed: {}, or all", music::clipText(name, 40), fmt::join(layers_, ", ")));
        want[static_cast<std::size_t>(it - layers_.begin())] = true;
    }
    Voice& v = *voices_.back();
    const SampleTime start = nextGridLine(std::max(earliest, posted_), Grid::Bar);
    const SampleTime length = transitionLength(v, fadeSeconds, start);
    for (std::size_t li = 0; li < layers_.size(); ++li) {
        if (want[li] == wanted_[li] || !v.look[li]) continue;
        // A fade still to come on the layer (a transition bringing it in) would undo this one.
        std::erase_if(pending_, [&](const Action& a) { return a.kind == Action::Kind::Fade && a.address == v.slot[li] && a.time >= start; });
        schedule({Action::Kind::Fade, start, v.slot[li], static_cast<float>(static_cast<double>(length) / options_.sampleRate),
                  want[li] ? v.look[li]->gainDb : kSilentDb, v.id});
    }
    wanted_ = want;
    std::string label;
    for (std::size_t li = 0; li < layers_.size(); ++li)
        if (wanted_[li]) label += (label.empty() ? "" : ",") + layers_[li];
    events_.push_back({start, "layers", v.id, barOf(v, start),
                       bpmAt(start), static_cast<double>(length) / options_.sampleRate, label});
    return start;
}

void LiveSession::scheduleNotesFrom(const music::ScoreTrack& t, const Voice& v, int address, double cycleBeat, double fromBeat) {
    for (const auto& n : t.notes) {
        // A note already sounding at `fromBeat` starts there (the slot fades in from silence).
        const double offBeat = cycleBeat + n.start + n.length, onBeat = std::max(cycleBeat + n.start, fromBeat);
        if (!(n.note >= 0.0f && n.note <= 127.0f) || offBeat <= fromBeat + 1e-6 || onBeat >= v.composedBeat) continue;
        Action on{Action::Kind::NoteOn, std::llround(v.tempo.sampleAt(onBeat)), address, n.note, std::max(n.velocity, 0.001f), v.id};
        on.beat = onBeat;
        Action off{Action::Kind::NoteOff, std::max(on.time + 1, static_cast<SampleTime>(std::llround(v.tempo.sampleAt(offBeat)))), address, n.note, 0.0f, v.id};
        off.beat = offBeat;
        schedule(std::move(on)), schedule(std::move(off));
    }
}

SampleTime LiveSession::replaceLayer(const std::string& layer, const StreamVibe& next, SampleTime earliest, double fadeSeconds) {
    const auto it = std::find(layers_.begin(), layers_.end(), layer);
    if (it == layers_.end()) throw std::invalid_argument(fmt::format("'{}' is not a layer; allowed: {}", music::clipText(layer, 40), fmt::join(layers_, ", ")));
    const auto li = static_cast<std::size_t>(it - layers_.begin());
    Voice& v = *voices_.back();
    const int from = v.slot[li], to = from ^ 1;
    const SampleTime start = nextGridLine(std::max({earliest, posted_, slotFreeAt_[static_cast<std::size_t>(to)]}), Grid::Bar);
    const SampleTime length = std::max<SampleTime>(1, std::llround(fadeSeconds * options_.sampleRate)), end = start + length;
    const double startBeat = v.tempo.beatAt(static_cast<double>(start));
    auto cycle = composeCycle(next, v.cycle);
    const auto& tracks = cycle.score->tracks;
    const auto t = std::find_if(tracks.begin(), tracks.end(), [&](const music::ScoreTrack& x) { return x.name == layer; });
    const float seconds = static_cast<float>(static_cast<double>(length) / options_.sampleRate);
    if (v.look[li]) {  // the old part fades out (cos) and its slot is cleared after the fade
        std::erase_if(pending_, [&](const Action& a) {
            return a.address == from && ((a.kind == Action::Kind::Fade && a.time >= start) || ((a.kind == Action::Kind::NoteOn || a.kind == Action::Kind::NoteOff) && a.time >= end));
        });
        schedule({Action::Kind::Fade, start, from, seconds, kSilentDb, v.id});
        schedule({Action::Kind::AllOff, end, from, 0.0f, 0.0f, v.id});
        schedule({Action::Kind::Clear, end, from, 0.0f, 0.0f, v.id});
        slotFreeAt_[static_cast<std::size_t>(from)] = end;
    }
    if (v.look[li] && t != tracks.end()) {  // the new part comes in (sin) on the other slot, from its notes at the bar line
        Action put{Action::Kind::Replace, start, to, 0.0f, 0.0f, v.id, std::make_shared<music::ScoreTrack>(withoutNotes(*t)), true};
        put.beat = startBeat;
        schedule(std::move(put));
        if (wanted_[li]) schedule({Action::Kind::Fade, start, to, seconds, t->gainDb, v.id});
        // Its notes from the bar line to what is composed so far: this cycle's, and the cycle
        // before's when the bar line is still in it (composing runs ahead across cycles).
        std::vector<std::pair<double, std::shared_ptr<const music::Score>>> parts{{v.cycleBeat, cycle.score}};
        for (int back = 1; back <= 2 && parts.front().first > startBeat && v.cycle - back >= 0; ++back) {
            auto earlier = composeCycle(next, v.cycle - back);
            parts.insert(parts.begin(), {parts.front().first - earlier.beats, earlier.score});
        }
        for (const auto& [base, score] : parts)
            for (const auto& track : score->tracks)
                if (track.name == layer) scheduleNotesFrom(track, v, to, base, startBeat);
        v.look[li] = withoutNotes(*t);
        v.slot[li] = to;
    } else if (v.look[li]) {
        v.look[li].reset();  // placed again (on the free slot) when the music to come has it
        v.slot[li] = to;
    }
    v.vibe = next;
    v.cycleScore = std::move(cycle.score);
    v.sections = std::move(cycle.sections);
    events_.push_back({start, "replace", v.id, barOf(v, start), bpmAt(start), static_cast<double>(length) / options_.sampleRate, layer});
    return start;
}

SampleTime LiveSession::playVoice(std::shared_ptr<const engine::SampleBuffer> speech, SampleTime earliest, float duckDb) {
    if (voiceAddress_ < 0) throw std::logic_error("playVoice: the session has no voice track (LiveOptions::voiceTrack)");
    if (!speech || speech->frames() == 0) throw std::invalid_argument("playVoice: no speech");
    const SampleTime start = nextGridLine(std::max(earliest, posted_), Grid::Bar), end = start + static_cast<SampleTime>(speech->frames());
    Action put{Action::Kind::Speech, start, voiceAddress_, 0.0f, 0.0f, -1};
    put.speech = std::move(speech);
    schedule(std::move(put));
    schedule({Action::Kind::NoteOn, start, voiceAddress_, 60.0f, 1.0f, -1});
    // The duck: each step is ramped over the trim's 20 ms, so down is two ramps and back is five.
    const auto ms = [&](double m) { return static_cast<SampleTime>(std::llround(m * 0.001 * options_.sampleRate)); };
    const std::vector<std::pair<SampleTime, float>> steps{{start, 0.5f}, {start + ms(20), 1.0f}, {end, 0.8f}, {end + ms(20), 0.6f},
                                                          {end + ms(40), 0.4f}, {end + ms(60), 0.2f}, {end + ms(80), 0.0f}};
    for (int address = 0; address < 2 * static_cast<int>(layers_.size()); ++address)
        for (const auto& [at, share] : steps) {
            Action a{Action::Kind::Param, at, address, 0.0f, -duckDb * share, -1};
            a.param = kTrim;
            schedule(std::move(a));
        }
    ducks_.push_back({start, end + ms(100), -duckDb});
    std::erase_if(ducks_, [&](const Duck& d) { return d.to < posted_; });
    events_.push_back({start, "voice", voices_.back()->id, barOf(*voices_.back(), start), bpmAt(start), static_cast<double>(end - start) / options_.sampleRate, ""});
    return start;
}

SampleTime LiveSession::playLoop(std::shared_ptr<const engine::SampleBuffer> loop, SampleTime earliest, double fadeSeconds) {
    if (loopAddress_ < 0) throw std::logic_error("playLoop: the session has no loop tracks (LiveOptions::loopTracks)");
    if (!loop || loop->frames() < 2) throw std::invalid_argument("playLoop: the loop is empty");
    const int side = loopSide_ ^ 1, to = loopAddress_ + side;
    const SampleTime start = nextGridLine(std::max({earliest, posted_, loopFreeAt_[side]}), Grid::Bar);
    const SampleTime length = std::max<SampleTime>(1, std::llround(fadeSeconds * options_.sampleRate));
    if (loopPlaying_) fadeLoopOut(loopAddress_ + loopSide_, start, length);
    Action put{Action::Kind::Loop, start, to, 0.0f, 0.0f, -1};
    put.speech = std::move(loop);
    schedule(std::move(put));
    schedule({Action::Kind::NoteOn, start, to, 60.0f, 1.0f, -1});
    schedule({Action::Kind::Fade, start, to, static_cast<float>(static_cast<double>(length) / options_.sampleRate), 0.0f, -1});
    loopSide_ = side;
    loopPlaying_ = true;
    events_.push_back({start, "loop", voices_.back()->id, barOf(*voices_.back(), start), bpmAt(start), static_cast<double>(length) / options_.sampleRate, ""});
    return start;
}

SampleTime LiveSession::stopLoop(SampleTime earliest, double fadeSeconds) {
    if (!loopPlaying_) return -1;
    const SampleTime start = nextGridLine(std::max(earliest, posted_), Grid::Bar);
    const SampleTime length = std::max<SampleTime>(1, std::llround(fadeSeconds * options_.sampleRate));
    fadeLoopOut(loopAddress_ + loopSide_, start, length);
    loopPlaying_ = false;
    events_.push_back({start, "loop_out", voices_.back()->id, barOf(*voices_.back(), start), bpmAt(start), static_cast<double>(length) / options_.sampleRate, ""});
    return start;
}

void LiveSession::fadeLoopOut(int address, SampleTime start, SampleTime length) {
    // A fade still to come on it (its own fade in, when it has not started yet) would undo this one.
    // A loop queued on it to start later (after the other side's fade) would start again, silent, for ever.
    std::erase_if(pending_, [&](const Action& a) {
        return (a.kind == Action::Kind::Fade || a.kind == Action::Kind::Loop || a.kind == Action::Kind::NoteOn) && a.address == address && a.time >= start;
    });
    schedule({Action::Kind::Fade, start, address, static_cast<float>(static_cast<double>(length) / options_.sampleRate), kSilentDb, -1});
    schedule({Action::Kind::AllOff, start + length, address, 0.0f, 0.0f, -1});
    schedule({Action::Kind::Clear, start + length, address, 0.0f, 0.0f, -1});
    loopFreeAt_[address - loopAddress_] = start + length;
}

std::size_t LiveSession::lowCutLine(const std::string& layer) const {
    if (layer == kLoopLayer && loopAddress_ >= 0) return layers_.size();
    const auto it = std::find(layers_.begin(), layers_.end(), layer);
    if (it == layers_.end())
        throw std::invalid_argument(fmt::format("no layer '{}': the layers are {}{}", music::clipText(layer, 40), fmt::join(layers_, ", "),
                                                loopAddress_ >= 0 ? fmt::format(", {}", kLoopLayer) : ""));
    return static_cast<std::size_t>(it - layers_.begin());
}

std::size_t LiveSession::lowCutLineOf(int address) const {
    if (address >= 0 && address < 2 * static_cast<int>(layers_.size())) return static_cast<std::size_t>(address / 2);
    if (loopAddress_ >= 0 && (address == loopAddress_ || address == loopAddress_ + 1)) return layers_.size();
    return std::string::npos;
}

SampleTime LiveSession::setLayerLowCut(const std::string& layer, float cutoffHz, SampleTime at) {
    const std::size_t li = lowCutLine(layer);
    if (!std::isfinite(cutoffHz) || (cutoffHz != 0.0f && (cutoffHz < 20.0f || cutoffHz > 1000.0f)))
        throw std::invalid_argument(fmt::format("low cut {:g} Hz is out of range: allowed 20..1000 Hz, or 0 (off)", cutoffHz));
    at = std::max(at, posted_);
    lowCuts_.resize(layers_.size() + 1);
    auto& line = lowCuts_[li];
    // A later change asked for earlier is taken back (changes come in time order); what was
    // settled before everything posted is forgotten, but for the last of it.
    std::erase_if(line, [&](const auto& c) { return c.first >= at; });
    while (line.size() > 1 && line[1].first <= posted_) line.erase(line.begin());
    std::erase_if(pending_, [&](const Action& a) { return a.kind == Action::Kind::Param && a.param == kLowCut && lowCutLineOf(a.address) == li && a.time >= at; });
    line.emplace_back(at, cutoffHz);
    const int first = li == layers_.size() ? loopAddress_ : 2 * static_cast<int>(li);
    for (const int address : {first, first + 1}) {
        Action a{Action::Kind::Param, at, address, 0.0f, cutoffHz, -1};
        a.param = kLowCut;
        schedule(std::move(a));
    }
    return at;
}

float LiveSession::lowCutAt(std::size_t line, SampleTime at) const {
    float hz = 0.0f;
    if (line < lowCuts_.size())
        for (const auto& [from, cut] : lowCuts_[line])
            if (from <= at) hz = cut;
    return hz;
}

float LiveSession::layerLowCutAt(const std::string& layer, SampleTime at) const {
    try {
        return lowCutAt(lowCutLine(layer), at);
    } catch (const std::invalid_argument&) {
        return 0.0f;
    }
}

float LiveSession::duckAt(SampleTime at) const {
    float db = 0.0f;
    for (const auto& d : ducks_)
        if (at >= d.from && at < d.to) db = std::min(db, d.db);
    return db;
}

}  // namespace soundstar::live

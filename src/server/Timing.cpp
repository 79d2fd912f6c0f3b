#include "server/Timing.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace soundstar::server {

Transport::Transport(double sampleRate, double bpm, int beatsPerBar)
    : sampleRate_(sampleRate), beatsPerBar_(beatsPerBar), map_(0.0, bpm, sampleRate) {
    // A tempo lane with points close together (or a short loop wrapping often) plans hundreds of
    // changes in the 250 ms the sequencer renders ahead: forget only what is seconds old.
    map_.keepAtMost(4096);
}

double Transport::bpmAt(SampleTime s) const { return map_.bpmAt(map_.beatAt(static_cast<double>(s))); }

double Transport::beatAt(SampleTime s) const { return map_.beatAt(static_cast<double>(s)); }

SampleTime Transport::sampleAtBeat(double beat) const { return static_cast<SampleTime>(std::llround(map_.sampleAt(beat))); }

namespace {
void checkTempo(double bpm, double rampBeats) {
    if (!std::isfinite(bpm) || bpm < 20.0 || bpm > 400.0) throw std::invalid_argument(fmt::format("bpm {:g} is out of range: allowed 20 to 400", bpm));
    if (!std::isfinite(rampBeats) || rampBeats < 0.0 || rampBeats > Transport::kMaxRampBeats)
        throw std::invalid_argument(fmt::format("a ramp of {:g} beats is out of range: allowed 0 to {:g}", rampBeats, Transport::kMaxRampBeats));
}
}  // namespace

void Transport::planTempo(double bpm, double beat, double rampBeats) {
    if (std::isnan(bpm)) bpm = map_.bpmAt(beat);
    checkTempo(bpm, rampBeats);
    if (!std::isfinite(beat)) throw std::invalid_argument("a tempo change needs a finite beat");
    map_.rampTo(beat, bpm, rampBeats);
    lastChange_ = sampleAtBeat(beat);
}

void Transport::setTempo(double bpm, SampleTime at, double rampBeats) {
    checkTempo(bpm, rampBeats);
    if (at < lastChange_)
        throw std::invalid_argument(fmt::format("a tempo change at sample {} comes before the last one (sample {}); changes go forward in time", at, lastChange_));
    map_.rampTo(beatAt(at), bpm, rampBeats);
    lastChange_ = at;
}

osc::TimeTag WallClock::nowNtp() {
    using namespace std::chrono;
    const auto ns = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
    const std::uint64_t secs = static_cast<std::uint64_t>(ns / 1000000000) + 2208988800ull;  // 1900 -> 1970
    const std::uint64_t frac = (static_cast<std::uint64_t>(ns % 1000000000) << 32) / 1000000000ull;
    return {(secs << 32) | frac};
}

void WallClock::anchor(SampleTime s, double sampleRate) {
    anchorSample_ = s;
    anchorNtp_ = nowNtp().ntp;
    sampleRate_ = sampleRate;
}

SampleTime WallClock::sampleAt(osc::TimeTag t) const {
    if (t.immediate()) return anchorSample_;
    const auto diff = static_cast<std::int64_t>(t.ntp - anchorNtp_);  // wraps correctly for nearby times
    return anchorSample_ + static_cast<SampleTime>(std::llround(static_cast<double>(diff) / 4294967296.0 * sampleRate_));
}

void Scheduler::schedule(SampleTime time, Post post, std::optional<double> beat) {
    if (pending_.size() >= kMaxPending)
        throw std::length_error(fmt::format("too many queued commands: at most {} wait for their time", kMaxPending));
    pending_.emplace(time, Entry{std::move(post), beat});
    lastScheduled_ = std::max(lastScheduled_, time);
}

std::size_t Scheduler::retime(const std::function<SampleTime(double)>& sampleAtBeat, SampleTime earliest) {
    std::multimap<SampleTime, Entry> moved;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.beat) {
            const SampleTime t = std::max(earliest, sampleAtBeat(*it->second.beat));
            if (t != it->first) {
                moved.emplace(t, std::move(it->second));
                it = pending_.erase(it);
                continue;
            }
        }
        ++it;
    }
    const std::size_t n = moved.size();
    for (auto& [t, e] : moved) {
        lastScheduled_ = std::max(lastScheduled_, t);
        pending_.emplace(t, std::move(e));
    }
    return n;
}

void Scheduler::pump(SampleTime now) {
    while (!pending_.empty() && pending_.begin()->first < now + lookahead_) {
        auto it = pending_.begin();
        if (!it->second.post(it->first)) return;  // the engine's queue is full: the rest wait for the next pump
        lastPosted_ = std::max(lastPosted_, it->first);
        pending_.erase(it);
    }
}

}  // namespace soundstar::server

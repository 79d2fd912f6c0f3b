#pragma once
// When server commands apply [control]. The Transport maps beats to samples through a tempo map
// (beat 0 at sample 0; each tempo change, a step or a ramp, starts a new segment). The Scheduler holds commands
// stamped with a sample and hands them to the engine in time order a little ahead of the
// playhead, because the engine applies its queue in order: a far-future note posted first would
// hold back every later "now" behind it.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/Time.h"
#include "live/TempoMap.h"
#include "server/Osc.h"

namespace soundstar::server {

class Transport {
public:
    explicit Transport(double sampleRate, double bpm = 120.0, int beatsPerBar = 4);
    double sampleRate() const { return sampleRate_; }
    int beatsPerBar() const { return beatsPerBar_; }
    /// The tempo playing at sample `s` (inside a ramp, where the ramp has got to).
    double bpmAt(SampleTime s) const;
    /// The beat (from 0) playing at sample `s`.
    double beatAt(SampleTime s) const;
    /// The sample where `beat` falls, rounded to the nearest sample.
    SampleTime sampleAtBeat(double beat) const;
    /// The tempo from sample `at` on (20..400 bpm): at once, or moving linearly in beat time to
    /// `bpm` over `rampBeats` beats (0..kMaxRampBeats), as the live session's TempoMap does. A
    /// change replaces whatever was planned after it; one before the last change's sample is
    /// refused (std::invalid_argument). The map keeps the recent past only (live::TempoMap).
    void setTempo(double bpm, SampleTime at, double rampBeats = 0.0);
    static constexpr double kMaxRampBeats = 4096.0;
    /// The sequencer's tempo lane [control]: as setTempo from transport beat `beat` (a NaN bpm:
    /// the tempo playing there holds), but it may come before the last change, replacing every
    /// change planned after `beat` (the lane re-plans what it rendered ahead after a stop or seek).
    /// The caller keeps `beat` at or after what the engine has been sent.
    void planTempo(double bpm, double beat, double rampBeats = 0.0);
    /// The tempo at transport beat `beat`.
    double bpmAtBeat(double beat) const { return map_.bpmAt(beat); }

private:
    double sampleRate_;
    int beatsPerBar_;
    live::TempoMap map_;
    SampleTime lastChange_ = 0;
};

/// Converts OSC timetags (NTP, wall clock) to samples of a running device.
class WallClock {
public:
    /// Anchors sample `s` to the current wall time (called when the device starts).
    void anchor(SampleTime s, double sampleRate);
    /// The sample at NTP time `ntp` (rounded); the current sample for "immediately".
    SampleTime sampleAt(osc::TimeTag t) const;
    /// The current wall time as an NTP timetag.
    static osc::TimeTag nowNtp();

private:
    SampleTime anchorSample_ = 0;
    std::uint64_t anchorNtp_ = 0;
    double sampleRate_ = 44100.0;
};

class Scheduler {
public:
    /// post(t) hands one command to the engine stamped with sample t; false when its queue is full.
    using Post = std::function<bool(SampleTime)>;
    static constexpr std::size_t kMaxPending = 100000;

    /// `lookahead`: how far ahead of the playhead commands are handed over.
    explicit Scheduler(SampleTime lookahead) : lookahead_(lookahead) {}
    /// The earliest sample a new command may be stamped with, given the playhead `now` and the
    /// engine's block: after the block in progress and after every command already handed over.
    SampleTime earliest(SampleTime now, int block) const { return std::max(now + block, lastPosted_); }
    /// Queues a command at `time` (>= earliest()); `beat`: it was asked for on that beat, and
    /// retime() moves it with tempo changes until it is handed over. Throws std::length_error
    /// past kMaxPending.
    void schedule(SampleTime time, Post post, std::optional<double> beat = std::nullopt);
    /// Moves every queued beat-timed command to where its beat now falls (after a tempo change),
    /// never before `earliest`. Returns how many moved.
    std::size_t retime(const std::function<SampleTime(double)>& sampleAtBeat, SampleTime earliest);
    /// Hands over, in time order, every queued command due before now + lookahead.
    void pump(SampleTime now);
    std::size_t pending() const { return pending_.size(); }
    /// The latest sample any queued or handed-over command is stamped with.
    SampleTime lastScheduled() const { return lastScheduled_; }

private:
    SampleTime lookahead_;
    struct Entry {
        Post post;
        std::optional<double> beat;
    };
    std::multimap<SampleTime, Entry> pending_;  // equal times keep their order of arrival
    SampleTime lastPosted_ = 0, lastScheduled_ = 0;
};

}  // namespace soundstar::server

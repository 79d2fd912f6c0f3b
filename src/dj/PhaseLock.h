#pragma once
// Keeps a DJ set in phase with a clock it follows (MIDI clock) [control, the session's thread].
// Following the clock's tempo alone lets the set drift (a tempo read 0.001 bpm off is 5 ms over
// ten minutes) and keeps any start-up lateness; so once per set bar line, before the line is
// decided, the clock's beat where that line will play is read from the follower (extrapolated
// from its fitted tick grid) and compared with the bar grid the set started on. The bar after the
// line is played at the clock's tempo nudged by the error (a proportional correction, ramped over
// that bar), at most 2% off the clock's tempo: 100 ms off settles within 2 ms in about ten bars
// (one overshoot), and a locked set stays within a jittered clock's noise (test_dj_sync). A
// phase-locked loop in bars, as a DJ nudges a platter.
// The first bar is different: a clock that sends no ticks before Start (jack_midi_clock) gives
// no tempo until the set has started at its profile's (126 bpm against a 120 bpm clock puts
// bar 2's line 95 ms early), and 2% nudges would take ten bars to pull that in. So while bar 2's
// line is not decided, the rest of bar 1 is re-tempoed to land it on the clock's bar line: from
// the next beat line not yet handed to the engine, a ramp over one beat to the tempo that makes it
// so, and back to the clock's over the beats left (at least two). It is planned again from each
// later beat line while two are left, with the ticks that came meanwhile.
#include <functional>

#include "core/Time.h"
#include "dj/ClockFollower.h"
#include "dj/DjSet.h"

namespace soundstar::dj {

class PhaseLock {
public:
    static constexpr double kGain = 0.8;          // of the error (in bars) corrected per bar
    static constexpr double kMaxNudge = 0.02;     // the tempo asked for stays this close to the clock's
    static constexpr double kBeatsPerBar = 4.0;

    /// `startBeat`: the clock's song beat at the set's sample 0 (0 after Start; a Continue's
    /// position). `secondsOf(sample)`: the time on the follower's clock that the set's `sample`
    /// plays at (the declared latency already taken off).
    PhaseLock(double startBeat, std::function<double(SampleTime)> secondsOf) : startBeat_(startBeat), secondsOf_(std::move(secondsOf)) {}

    /// Acts once per set bar line: when the set's next undecided line is new and the clock is
    /// playing with a tempo, asks the set for the corrected tempo from that line (a one-bar ramp).
    /// Returns true when it did. In bar 1 it first re-tempos the rest of the bar (see above).
    bool update(const ClockFollower& follower, DjSet& set);
    /// The same for a clock that can say its beat at any time (Ableton Link): `clockBeatAt(seconds)`
    /// on the clock secondsOf() maps to, at `clockBpm`.
    bool update(double clockBpm, const std::function<double(double)>& clockBeatAt, DjSet& set);
    /// The phase error at the last line looked at, in ms (positive: the clock ahead of the set).
    double lastErrorMs() const { return lastErrorMs_; }
    double lastBpm() const { return lastBpm_; }
    /// Another start (a Continue): the set's bar grid is kept, the clock's beat there moves.
    void restart(double startBeat, std::function<double(SampleTime)> secondsOf) {
        startBeat_ = startBeat, secondsOf_ = std::move(secondsOf), lastLine_ = -1, catchUpFrom_ = -1;
    }

    /// The first-bar catch-up for any clock: re-tempos the rest of the bar playing, from the next
    /// beat line not yet handed to the engine (at least two beats before the set's next line),
    /// so that the next line plays `errorBeats` beats of `clockBpm` earlier (the clock's beat there
    /// less where it should be: positive, the clock ahead), arriving at the clock's tempo. Once
    /// per beat line; false when it cannot (too late in the bar, already planned from this beat).
    bool catchUpTo(DjSet& set, double clockBpm, double errorBeats);

    /// The last first-bar catch-up: from `from` the tempo went to `bpm` over a beat and back to
    /// `clockBpm` over the rest of bar 1, so bar 2's line moved from `wasLine` to `line`.
    struct CatchUp {
        int plans = 0;  // how many times it was planned (0: never)
        SampleTime from = 0, wasLine = 0, line = 0;
        double bpm = 0.0, clockBpm = 0.0;
    };
    const CatchUp& catchUp() const { return catchUp_; }

    /// The tempo to ramp to over one beat from `fromBpm`, before ramping back to `clockBpm` over
    /// `beatsAfter` beats (both linear in beats), so that the two take `seconds`; within half and
    /// one and a half times the clock's tempo (and 40..220 bpm), the nearest when out of reach.
    static double catchUpBpm(double fromBpm, double clockBpm, double beatsAfter, double seconds);
    /// How long a tempo ramp linear in beats from `bpm0` to `bpm1` over `beats` beats takes (s).
    static double rampSeconds(double bpm0, double bpm1, double beats);

    /// The error in beats of a clock `beatsFromStart` beats on at a set bar line, wrapped to the
    /// nearest bar: in [-2, 2).
    static double phaseErrorBeats(double beatsFromStart);
    /// The tempo that closes `errorBeats` over about a bar at `clockBpm` (within kMaxNudge).
    static double correctedBpm(double clockBpm, double errorBeats);

private:
    bool planCatchUp(const ClockFollower& follower, DjSet& set, double clockBpm);
    double startBeat_;
    std::function<double(SampleTime)> secondsOf_;
    SampleTime lastLine_ = -1;
    double lastErrorMs_ = 0.0, lastBpm_ = 0.0;
    SampleTime catchUpFrom_ = -1;  // the beat line the last catch-up was planned from
    CatchUp catchUp_;
};

}  // namespace soundstar::dj

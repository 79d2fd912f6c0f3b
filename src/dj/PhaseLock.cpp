#include "dj/PhaseLock.h"

#include <algorithm>
#include <cmath>

#include "live/Grid.h"

namespace soundstar::dj {

double PhaseLock::phaseErrorBeats(double beatsFromStart) {
    if (!std::isfinite(beatsFromStart)) return 0.0;
    return beatsFromStart - kBeatsPerBar * std::floor(beatsFromStart / kBeatsPerBar + 0.5);
}

double PhaseLock::correctedBpm(double clockBpm, double errorBeats) {
    const double nudge = std::clamp(kGain * errorBeats / kBeatsPerBar, -kMaxNudge, kMaxNudge);
    return clockBpm * (1.0 + nudge);
}

double PhaseLock::rampSeconds(double bpm0, double bpm1, double beats) {
    if (std::abs(bpm1 - bpm0) < 1e-9) return beats * 60.0 / bpm0;
    return 60.0 * beats / (bpm1 - bpm0) * std::log(bpm1 / bpm0);
}

double PhaseLock::catchUpBpm(double fromBpm, double clockBpm, double beatsAfter, double seconds) {
    // The two ramps take less time the faster the tempo between them: bisect for it.
    double lo = std::max(40.0, 0.5 * clockBpm), hi = std::min(220.0, 1.5 * clockBpm);
    const auto takes = [&](double bpm) { return rampSeconds(fromBpm, bpm, 1.0) + rampSeconds(bpm, clockBpm, beatsAfter); };
    if (!(lo < hi) || !std::isfinite(seconds)) return std::clamp(clockBpm, 40.0, 220.0);
    if (takes(lo) <= seconds) return lo;
    if (takes(hi) >= seconds) return hi;
    for (int i = 0; i < 60; ++i) {
        const double mid = 0.5 * (lo + hi);
        (takes(mid) > seconds ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

bool PhaseLock::planCatchUp(const ClockFollower& follower, DjSet& set, double clockBpm) {
    // The clock's bar line after the set's start, on the set's samples: from the clock's beat
    // where bar 2's line would play now, on at the clock's tempo.
    const double clockBeatThere = follower.beatAt(secondsOf_(set.nextLine())) - startBeat_;
    return catchUpTo(set, clockBpm, clockBeatThere - kBeatsPerBar);
}

bool PhaseLock::catchUpTo(DjSet& set, double clockBpm, double errorBeats) {
    const auto& session = set.session();
    const double rate = set.sampleRate();
    const SampleTime from = session.nextGridLine(session.scheduledUntil(), live::Grid::Beat);
    const SampleTime line = set.nextLine();
    if (from == catchUpFrom_ || from >= line || !(clockBpm > 0.0) || !std::isfinite(errorBeats)) return false;
    const double beatsLeft = std::round(session.beatAt(line) - session.beatAt(from));  // in the bar playing (the session's beats count on)
    if (beatsLeft < 2.0) return false;  // one beat left: the next line is the phase lock's
    catchUpFrom_ = from;
    const double target = static_cast<double>(line) - errorBeats * 60.0 / clockBpm * rate;
    const double seconds = (target - static_cast<double>(from)) / rate;
    if (!(seconds > 0.0)) return false;
    const double bpm = catchUpBpm(session.bpmAt(from), clockBpm, beatsLeft - 1.0, seconds);
    set.retimeTempo(from, bpm, 1.0);
    set.retimeTempo(session.nextGridLine(from + 1, live::Grid::Beat), clockBpm, beatsLeft - 1.0);
    catchUp_ = {catchUp_.plans + 1, from, line, set.nextLine(), bpm, clockBpm};
    lastLine_ = -1;  // the moved line is read again
    return true;
}

bool PhaseLock::update(const ClockFollower& follower, DjSet& set) {
    const auto bpm = follower.bpm();
    if (!bpm || !follower.playing() || follower.lost()) return false;
    // Bar 1: its rest re-tempoed so bar 2's line lands on the clock's; that line is then read again.
    if (set.nextBar() == 1) planCatchUp(follower, set, *bpm);
    return update(*bpm, [&follower](double seconds) { return follower.beatAt(seconds); }, set);
}

bool PhaseLock::update(double clockBpm, const std::function<double(double)>& clockBeatAt, DjSet& set) {
    const SampleTime line = set.nextLine();
    if (line == lastLine_ || !(clockBpm > 0.0)) return false;
    lastLine_ = line;
    const double error = phaseErrorBeats(clockBeatAt(secondsOf_(line)) - startBeat_);
    lastErrorMs_ = error * 60000.0 / clockBpm;
    lastBpm_ = correctedBpm(clockBpm, error);
    set.followTempo(lastBpm_, 1);
    return true;
}

}  // namespace soundstar::dj

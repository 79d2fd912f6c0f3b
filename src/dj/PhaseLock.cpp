#include "dj/PhaseLock.h"

#include <algorithm>
#include <cmath>

namespace soundstar::dj {

double PhaseLock::phaseErrorBeats(double beatsFromStart) {
    if (!std::isfinite(beatsFromStart)) return 0.0;
    return beatsFromStart - kBeatsPerBar * std::floor(beatsFromStart / kBeatsPerBar + 0.5);
}

double PhaseLock::correctedBpm(double clockBpm, double errorBeats) {
    const double nudge = std::clamp(kGain * errorBeats / kBeatsPerBar, -kMaxNudge, kMaxNudge);
    return clockBpm * (1.0 + nudge);
}

bool PhaseLock::update(const ClockFollower& follower, DjSet& set) {
    const auto bpm = follower.bpm();
    if (set.nextLine() == lastLine_ || !bpm || !follower.playing() || follower.lost()) return false;
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

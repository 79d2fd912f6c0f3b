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
    const SampleTime line = set.nextLine();
    if (line == lastLine_) return false;
    const auto bpm = follower.bpm();
    if (!bpm || !follower.playing() || follower.lost()) return false;
    lastLine_ = line;
    const double error = phaseErrorBeats(follower.beatAt(secondsOf_(line)) - startBeat_);
    lastErrorMs_ = error * 60000.0 / *bpm;
    lastBpm_ = correctedBpm(*bpm, error);
    set.followTempo(lastBpm_, 1);
    return true;
}

}  // namespace soundstar::dj

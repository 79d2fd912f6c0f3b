#pragma once
// Time signatures over a beat axis [control]: a signature from bar 0 and changes at later bars.
// Beats are quarter notes (the transport's tempo counts them), so a bar of n/d lasts n * 4 / d
// beats: 3/4 three beats, 7/8 three and a half. Bars may be fractional (bar 2.5 is half way
// through bar 2), which gives launch quantisation to parts of a bar its grid.
#include <string>
#include <vector>

#include "core/Time.h"

namespace soundstar::sequencer {

inline constexpr std::size_t kMaxMeterChanges = 64;
inline constexpr int kMaxNumerator = 32;
inline constexpr double kMaxMeterBar = 250000.0;  // a change's bar (the song's last bar at 4/4)

/// A time signature in force from `bar` (a whole bar).
struct Meter {
    long long bar = 0;
    int numerator = 4, denominator = 4;
    /// Quarter-note beats per bar.
    double barBeats() const { return numerator * 4.0 / denominator; }
    bool operator==(const Meter&) const = default;
};

class MeterMap {
public:
    MeterMap() : changes_{Meter{}}, starts_{0.0} {}
    /// Replaces the map: the first at bar 0, bars strictly rising, numerators 1..32,
    /// denominators 1, 2, 4, 8 or 16, at most kMaxMeterChanges; throws std::invalid_argument
    /// naming the change and what is allowed.
    void set(std::vector<Meter> changes);
    const std::vector<Meter>& changes() const { return changes_; }
    /// The beat where (fractional) bar `bar` starts.
    BeatTime beatOfBar(double bar) const;
    /// The fractional bar at `beat` (bar index + the fraction of that bar gone by).
    double barAt(BeatTime beat) const;
    /// The signature in force at `beat`.
    const Meter& meterAt(BeatTime beat) const;
    /// The first beat at or after `earliest` on the grid of every `bars` bars (0: `earliest`).
    BeatTime quantise(BeatTime earliest, double bars) const;
    bool operator==(const MeterMap& o) const { return changes_ == o.changes_; }

private:
    std::size_t indexAtBeat(BeatTime beat) const;
    std::vector<Meter> changes_;
    std::vector<BeatTime> starts_;  // the beat each change starts on
};

}  // namespace soundstar::sequencer

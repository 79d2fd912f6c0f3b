#pragma once
// Ableton Link for `soundstar dj --clock link` [control, one thread]. Link is GPL-2+ (Debian's
// ableton-link-dev), so it is an optional build (-DSOUNDSTAR_LINK=ON, off by default) and its
// headers are included in LinkClock.cpp alone; the default build compiles LinkClockMissing.cpp,
// whose constructor throws an error saying how to enable it. Times are Link's host clock in
// microseconds (CLOCK_MONOTONIC_RAW on Linux); beats are the session's, with bar lines on
// multiples of kQuantum (Link's phase per bar).
#include <cstddef>
#include <memory>

namespace soundstar::dj {

class LinkClock {
public:
    static constexpr double kQuantum = 4.0;  // beats a bar: the phase shared with the peers

    /// Joins (or founds, at `bpm`) the Link session on this network, with start/stop sync on.
    /// Joining takes the session's tempo and timeline as they are. Throws std::runtime_error when
    /// this build has no Link.
    explicit LinkClock(double bpm);
    ~LinkClock();
    LinkClock(const LinkClock&) = delete;
    LinkClock& operator=(const LinkClock&) = delete;

    /// Whether this build has Link (-DSOUNDSTAR_LINK=ON).
    static bool available();

    std::size_t peers() const;
    /// Link's host clock now (microseconds).
    double nowMicros() const;
    /// The session's tempo, and whether its transport plays (start/stop sync).
    double bpm() const;
    bool playing() const;
    /// The session's beat at host time `micros` (bar lines on multiples of kQuantum).
    double beatAt(double micros) const;
    /// The host time of the session's first bar line at or after `micros`, and that bar's beat.
    double nextBarAt(double micros, double* beat = nullptr) const;
    /// Starts the session's transport at `micros` (peers with start/stop sync start with it),
    /// keeping the timeline: no beat moves.
    void startPlaying(double micros);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::dj

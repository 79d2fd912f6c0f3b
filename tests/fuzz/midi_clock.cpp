// Fuzz target: the MIDI clock follower (dj::ClockFollower) fed messages at times from the input:
// each record is a time step (two bytes, 10 us units), a length (1..3) and that many bytes.
// Properties: no crash; a tempo, once reported, is finite and positive; the song position is
// finite and never negative; at most kMaxEvents events wait at a time.
#include <cmath>
#include <cstdint>

#include "FuzzCheck.h"
#include "dj/ClockFollower.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    soundstar::dj::ClockFollower f;
    double t = 0.0;
    for (std::size_t i = 0; i + 3 <= size;) {
        t += (data[i] | (data[i + 1] << 8)) * 1e-5;
        const std::size_t n = 1 + data[i + 2] % 3;
        i += 3;
        if (i + n > size) break;
        f.onMessage(data + i, n, t);
        i += n;
        f.check(t);
        if (const auto bpm = f.bpm(); bpm && !(std::isfinite(*bpm) && *bpm > 0)) soundstar::fuzz::finding("a tempo that is not finite and positive");
        const double beat = f.beatAt(t);
        if (!std::isfinite(beat) || beat < -1e-9) soundstar::fuzz::finding("a song position that is not finite or is negative");
        if (data[i - 1] == 0xFE && f.takeEvents().size() > soundstar::dj::ClockFollower::kMaxEvents) soundstar::fuzz::finding("too many events");
    }
    return 0;
}

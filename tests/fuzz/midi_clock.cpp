// Fuzz target: the MIDI clock follower (dj::ClockFollower) fed messages at times from the input:
// each record is a time step (two bytes, 10 us units), a length (1..3) and that many bytes.
// Properties: no crash; a tempo, once reported, is finite and positive; the song position is
// finite and never negative; at most kMaxEvents events wait at a time. The same messages drive
// io::ClockHold (the held DJ engine), its cycle asked for after each (256 frames at 48 kHz, the
// message's frame in it): every span lies in the cycle, and the start frame, once set, stays.
#include <cmath>
#include <cstdint>

#include "FuzzCheck.h"
#include "dj/ClockFollower.h"
#include "io/ClockHold.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    soundstar::dj::ClockFollower f;
    soundstar::io::ClockHold hold;
    hold.setDelay(size > 0 ? data[0] * 10 : 0);
    hold.setFadeFrames(480);
    long long cycle = 0, startFrame = -1;
    double t = 0.0;
    for (std::size_t i = 0; i + 3 <= size;) {
        t += (data[i] | (data[i + 1] << 8)) * 1e-5;
        const std::size_t n = 1 + data[i + 2] % 3;
        i += 3;
        if (i + n > size) break;
        f.onMessage(data + i, n, t);
        const auto frame = static_cast<long long>(t * 48000.0);
        for (; cycle + 256 <= frame; cycle += 256) {
            const auto span = hold.cycle(cycle, 256);
            if (span.from < 0 || span.to > 256 || span.from > span.to) soundstar::fuzz::finding("a span outside its cycle");
        }
        hold.onMessage(data + i, static_cast<int>(n), frame);
        if (data[i] == 0xF9) hold.setResumePhase(data[i - 1] * 0.5);  // an undefined status byte: the control side's phase
        if (data[i] == 0xFD) hold.forceRun();
        if (startFrame >= 0 && hold.startFrame() != startFrame) soundstar::fuzz::finding("the start frame moved");
        startFrame = hold.startFrame();
        i += n;
        f.check(t);
        if (const auto bpm = f.bpm(); bpm && !(std::isfinite(*bpm) && *bpm > 0)) soundstar::fuzz::finding("a tempo that is not finite and positive");
        const double beat = f.beatAt(t);
        if (!std::isfinite(beat) || beat < -1e-9) soundstar::fuzz::finding("a song position that is not finite or is negative");
        if (data[i - 1] == 0xFE && f.takeEvents().size() > soundstar::dj::ClockFollower::kMaxEvents) soundstar::fuzz::finding("too many events");
    }
    return 0;
}

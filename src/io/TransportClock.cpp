#include "io/TransportClock.h"

#include <algorithm>
#include <cmath>

namespace soundstar::io {

void TransportClock::setFallbackBpm(double bpm) { fallbackBpm_ = std::isfinite(bpm) ? std::clamp(bpm, 20.0, 400.0) : 120.0; }

int TransportClock::cycle(long long first, long long frames, const Position& p, Message* out, int max) {
    const int n = step(first, frames, p, out, max);
    lastEnd_ = std::max(lastEnd_, first + frames);
    return n;
}

int TransportClock::step(long long first, long long frames, const Position& p, Message* out, int max) {
    int n = 0;
    const auto send = [&](long long frame, std::uint8_t status, int data = -1) {
        if (n >= max) return;
        Message& m = out[n++];
        m.frame = std::max(frame, lastEnd_), m.bytes[0] = status, m.size = 1;  // in order: never before the last cycle's end
        if (data >= 0) m.bytes[1] = static_cast<std::uint8_t>(data & 0x7F), m.bytes[2] = static_cast<std::uint8_t>((data >> 7) & 0x7F), m.size = 3;
    };
    const double rate = p.frameRate > 0 && std::isfinite(p.frameRate) ? p.frameRate : 48000.0;
    const bool bbt = p.bbt && std::isfinite(p.bpm) && p.bpm > 0 && p.ticksPerBeat > 0 && p.beatsPerBar > 0;
    bpm_ = std::clamp(bbt ? p.bpm : fallbackBpm_, 20.0, 400.0);
    songBeat_ = bbt ? (p.bar - 1) * p.beatsPerBar + (p.beat - 1) + p.tick / p.ticksPerBeat : static_cast<double>(p.frame) / rate * bpm_ / 60.0;
    songBeat_ = std::max(0.0, songBeat_);
    const double tickFrames = rate * 60.0 / (bpm_ * kTicksPerBeat);
    // JACK2 moves the transport on by a period only in the cycles it runs: after an xrun the frame
    // time has jumped and the transport has not. A client running late can also read the frame
    // time and the transport on either side of the server's next cycle (JackMidiInput reads the
    // frame time again to avoid it, a few tries): the two then differ by a period for that read.
    // Only a transport frame that is none of these is a relocation.
    const long long straddle = kStraddlePeriods * frames;
    // Held: the frame time moved on more than a period since the last cycle, the transport one.
    const bool transportHeld = lastFrames_ > 0 && p.frame - lastTransportFrame_ == lastFrames_ && first - lastFirst_ > lastFrames_;
    const bool stoppedBefore = lastFrames_ > 0 && !lastRolling_;
    const long long movedSince = p.frame - lastTransportFrame_;  // while stopped before: since it rolled
    lastTransportFrame_ = p.frame, lastFrames_ = frames, lastRolling_ = p.rolling, lastFirst_ = first;
    if (!p.rolling) {
        if (rolling_) send(first, 0xFC);
        rolling_ = false, resumeAfter_ = -1, driftCycles_ = 0;
        return n;
    }
    if (const long long jump = first - p.frame - offset_; rolling_ && jump != 0) {
        const bool straddled = std::llabs(jump) <= straddle;
        driftCycles_ = straddled && jump == drift_ ? driftCycles_ + 1 : 1, drift_ = jump;
        if ((transportHeld && jump > 0) || (straddled && driftCycles_ >= kDriftCycles)) {
            // Skipped cycles the transport sat out (or a small offset that stayed): its ticks wait too.
            offset_ += jump, nextTickFrame_ += static_cast<double>(jump), driftCycles_ = 0;
        } else if (!straddled) {  // relocated while rolling: stop now, go on later
            send(first, 0xFC);
            rolling_ = false, resumeAfter_ = first + relocateGap_, driftCycles_ = 0;
        }  // else a read across a cycle's edge: the ticks keep the grid they had
    } else {
        driftCycles_ = 0;
    }
    if (!rolling_) {
        if (resumeAfter_ > first) return n;
        resumeAfter_ = -1;
        const double songTick = songBeat_ * kTicksPerBeat;
        // Rolled from bar 1 beat 1 in cycles this client missed (stopped there in the last one it
        // saw): a Start then, on the frame it rolled at (at the earliest, the last cycle's end).
        const long long rolledAt = first - movedSince;
        const bool missedStart = stoppedBefore && movedSince > 0 && rolledAt >= lastEnd_ - frames &&
                                 songTick - static_cast<double>(movedSince) / tickFrames < 0.5;
        if (songTick < 1e-6 || missedStart) {
            const long long at = std::max(songTick < 1e-6 ? first : rolledAt, lastEnd_);
            send(at, 0xFA);
            nextTick_ = 0, nextTickFrame_ = static_cast<double>(at);
            rolling_ = true, offset_ = at - (p.frame - (songTick < 1e-6 ? 0 : movedSince)), tickFrames_ = tickFrames;
        } else {  // the next sixteenth: its position, then Continue, then its tick
            const auto sixteenth = static_cast<long long>(std::ceil(songTick / 6.0 - 1e-9));
            send(first, 0xF2, static_cast<int>(std::min(sixteenth, 16383LL)));
            send(first, 0xFB);
            nextTick_ = sixteenth * 6;
            nextTickFrame_ = static_cast<double>(first) + (static_cast<double>(nextTick_) - songTick) * tickFrames;
            rolling_ = true, offset_ = first - p.frame, tickFrames_ = tickFrames;
        }
    } else if (tickFrames != tickFrames_) {  // another tempo: the next tick's distance in ticks kept
        nextTickFrame_ = static_cast<double>(first) + (nextTickFrame_ - static_cast<double>(first)) / tickFrames_ * tickFrames;
        tickFrames_ = tickFrames;
    }
    // Cycles JACK skipped that moved both clocks (a transport that keeps to the frame time, or a
    // late client's cycles): their ticks are sent now, each with its own frame, as a clock that
    // never misses one would have (a follower counts ticks: a tick left out is a beat off by a
    // 24th). Beyond a bar of them (a client stalled for seconds) the rest are let go.
    if (const long long behind = static_cast<long long>(std::ceil((static_cast<double>(first) - 0.5 - nextTickFrame_) / tickFrames_)); behind > kMaxLateTicks) {
        nextTick_ += behind - kMaxLateTicks, nextTickFrame_ += static_cast<double>(behind - kMaxLateTicks) * tickFrames_;
    }
    for (long long at; (at = std::llround(nextTickFrame_)) < first + frames;) {
        send(at, 0xF8);
        ++nextTick_, nextTickFrame_ += tickFrames_;
    }
    return n;
}

}  // namespace soundstar::io

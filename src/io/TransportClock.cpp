#include "io/TransportClock.h"

#include <algorithm>
#include <cmath>

namespace soundstar::io {

void TransportClock::setFallbackBpm(double bpm) { fallbackBpm_ = std::isfinite(bpm) ? std::clamp(bpm, 20.0, 400.0) : 120.0; }

int TransportClock::cycle(long long first, long long frames, const Position& p, Message* out, int max) {
    int n = 0;
    const auto send = [&](long long frame, std::uint8_t status, int data = -1) {
        if (n >= max) return;
        Message& m = out[n++];
        m.frame = frame, m.bytes[0] = status, m.size = 1;
        if (data >= 0) m.bytes[1] = static_cast<std::uint8_t>(data & 0x7F), m.bytes[2] = static_cast<std::uint8_t>((data >> 7) & 0x7F), m.size = 3;
    };
    const double rate = p.frameRate > 0 && std::isfinite(p.frameRate) ? p.frameRate : 48000.0;
    const bool bbt = p.bbt && std::isfinite(p.bpm) && p.bpm > 0 && p.ticksPerBeat > 0 && p.beatsPerBar > 0;
    bpm_ = std::clamp(bbt ? p.bpm : fallbackBpm_, 20.0, 400.0);
    songBeat_ = bbt ? (p.bar - 1) * p.beatsPerBar + (p.beat - 1) + p.tick / p.ticksPerBeat : static_cast<double>(p.frame) / rate * bpm_ / 60.0;
    songBeat_ = std::max(0.0, songBeat_);
    const double tickFrames = rate * 60.0 / (bpm_ * kTicksPerBeat);
    // JACK2 moves the transport on by a period only in the cycles it runs: after an xrun the frame
    // time has jumped and the transport has not. Only a transport frame that is neither that nor
    // moved with the frame time is a relocation.
    const bool transportHeld = p.frame == lastTransportFrame_ + lastFrames_;
    lastTransportFrame_ = p.frame, lastFrames_ = frames;
    if (!p.rolling) {
        if (rolling_) send(first, 0xFC);
        rolling_ = false, resumeAfter_ = -1;
        return n;
    }
    if (rolling_ && first - p.frame != offset_ && transportHeld) {  // skipped cycles the transport sat out: its ticks wait too
        const long long jump = first - p.frame - offset_;
        offset_ += jump, nextTickFrame_ += static_cast<double>(jump);
    } else if (rolling_ && first - p.frame != offset_) {  // relocated while rolling: stop now, go on later
        send(first, 0xFC);
        rolling_ = false, resumeAfter_ = first + relocateGap_;
    }
    if (!rolling_) {
        if (resumeAfter_ > first) return n;
        resumeAfter_ = -1;
        const double songTick = songBeat_ * kTicksPerBeat;
        if (songTick < 1e-6) {
            send(first, 0xFA);
            nextTick_ = 0, nextTickFrame_ = static_cast<double>(first);
        } else {  // the next sixteenth: its position, then Continue, then its tick
            const auto sixteenth = static_cast<long long>(std::ceil(songTick / 6.0 - 1e-9));
            send(first, 0xF2, static_cast<int>(std::min(sixteenth, 16383LL)));
            send(first, 0xFB);
            nextTick_ = sixteenth * 6;
            nextTickFrame_ = static_cast<double>(first) + (static_cast<double>(nextTick_) - songTick) * tickFrames;
        }
        rolling_ = true, offset_ = first - p.frame, tickFrames_ = tickFrames;
    } else if (tickFrames != tickFrames_) {  // another tempo: the next tick's distance in ticks kept
        nextTickFrame_ = static_cast<double>(first) + (nextTickFrame_ - static_cast<double>(first)) / tickFrames_ * tickFrames;
        tickFrames_ = tickFrames;
    }
    // Cycles JACK skipped that moved both clocks (a transport that keeps to the frame time): their
    // ticks are not sent late.
    if (nextTickFrame_ < static_cast<double>(first) - 0.5) {
        const auto missed = static_cast<long long>(std::ceil((static_cast<double>(first) - 0.5 - nextTickFrame_) / tickFrames_));
        nextTick_ += missed, nextTickFrame_ += static_cast<double>(missed) * tickFrames_;
    }
    for (long long at; (at = std::llround(nextTickFrame_)) < first + frames;) {
        send(std::max(at, first), 0xF8);
        ++nextTick_, nextTickFrame_ += tickFrames_;
    }
    return n;
}

}  // namespace soundstar::io

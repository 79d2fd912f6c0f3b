#include "io/ClockHold.h"

#include <algorithm>
#include <cmath>

namespace soundstar::io {

void ClockHold::setResumePhase(double ticksInBar) {
    const double t = std::isfinite(ticksInBar) ? std::fmod(std::fmod(ticksInBar, kTicksPerBar) + kTicksPerBar, kTicksPerBar) : 0.0;
    resumePhase_.store(t, std::memory_order_release);
}

void ClockHold::onMessage(const std::uint8_t* bytes, int size, long long frame) {
    if (size < 1) return;
    const State s = state_.load(std::memory_order_relaxed);
    if (bytes[0] != 0xF8) lastTickFrame_ = -1;  // no tick interval across a transport change
    switch (bytes[0]) {
        case 0xFA:  // Start: song position 0, the next tick is the set's sample 0 (a fresh set only)
            songTick_ = 0, clockPlaying_ = true;
            armed_ = s == State::Waiting || pausedBy(s, frame);
            continuing_ = pausedBy(s, frame);
            break;
        case 0xFB:
            clockPlaying_ = true;
            armed_ = s == State::Waiting || pausedBy(s, frame);
            continuing_ = true;
            break;
        case 0xF2:
            if (size >= 3) songTick_ = 6LL * ((bytes[1] & 0x7F) | ((bytes[2] & 0x7F) << 7));
            break;
        case 0xFC:
            armed_ = false, pending_ = -1, clockPlaying_ = false;
            if (s == State::Running) {
                stopAt_ = frame + fade_.load(std::memory_order_relaxed);
                resumePhase_.store(-1.0, std::memory_order_release);  // the control side says where it pauses
                state_.store(State::Stopping, std::memory_order_release);
            }
            break;
        case 0xF8: {
            // A tick lost on the way (a cycle this client missed on a loaded machine) still moves
            // the song: the gap counts in whole intervals of the tempo so far.
            if (lastTickFrame_ >= 0 && frame > lastTickFrame_) {
                const auto gap = static_cast<double>(frame - lastTickFrame_);
                const double whole = tickFrames_ > 0 ? std::round(gap / tickFrames_) : 1.0;
                if (tickFrames_ <= 0 || std::abs(gap - tickFrames_) < 0.3 * tickFrames_) tickFrames_ = gap;
                else if (clockPlaying_ && whole >= 2 && whole <= 8 && std::abs(gap - whole * tickFrames_) < 0.3 * tickFrames_) songTick_ += static_cast<long long>(whole) - 1;
                else if (gap < 48000) tickFrames_ = gap;  // a new tempo
            }
            lastTickFrame_ = frame;
            if (armed_ && pending_ < 0) {
                if (!continuing_) {
                    pending_ = frame + delay_.load(std::memory_order_relaxed);
                } else {
                    // Resume where the song position reaches the set's phase: this tick, or a
                    // fraction of a tick after it.
                    const double phase = continuing_ && s == State::Waiting ? 0.0 : resumePhase_.load(std::memory_order_acquire);
                    const double ahead = phase < 0 ? 1e9 : std::fmod(phase - static_cast<double>(songTick_ % kTicksPerBar) + kTicksPerBar, kTicksPerBar);
                    if (ahead < 1.0) pending_ = frame + delay_.load(std::memory_order_relaxed) + std::llround(ahead * tickFrames_);
                }
                if (pending_ >= 0) armed_ = false, resumeSongTick_.store(songTick_, std::memory_order_relaxed);
            }
            if (clockPlaying_) ++songTick_;  // a stopped clock's ticks keep the tempo, not the song
            break;
        }
        default:
            break;
    }
}

ClockHold::Span ClockHold::cycle(long long first, long long frames) {
    State s = state_.load(std::memory_order_relaxed);
    Span span{frames, frames, false};
    if (force_.exchange(false, std::memory_order_acq_rel) && s != State::Running) {
        pending_ = first, armed_ = false, forced_ = true;
        if (s == State::Stopping) s = State::Paused;
    }
    // A start frame before this cycle: in cycles this client missed (after the last one it saw),
    // caught up by rendering the frames since unheard; otherwise the first tick came before the
    // engine was handed over (a cycle before playEngine): its frame has passed, so the set starts
    // on the clock's next bar line instead, still on a tick.
    const bool passed = pending_ >= 0 && pending_ < first;
    const bool missed = passed && lastEnd_ >= 0 && pending_ >= lastEnd_ && first - pending_ <= kMaxUnheardFrames;
    if (s == State::Waiting && passed && !forced_ && !missed) pending_ = -1, armed_ = true, continuing_ = true;
    lastEnd_ = first + frames;
    if ((s == State::Waiting || s == State::Paused) && pending_ >= 0 && pending_ < first + frames) {
        span.from = std::max(0LL, pending_ - first);
        span.unheard = missed && !forced_ ? first - pending_ : 0;
        span.started = true, span.forced = forced_;
        pending_ = -1, forced_ = false;
        const long long at = first + span.from - span.unheard;
        if (startFrame_.load(std::memory_order_relaxed) < 0) startFrame_.store(at, std::memory_order_release);
        resumeFrame_.store(at, std::memory_order_release);
        state_.store(s = State::Running, std::memory_order_release);
    } else if (s == State::Running) {
        span.from = 0;
    } else if (s == State::Stopping) {
        // The fade's last frames render in the cycle that holds stopAt_; the pause is told in the
        // first cycle after it, once that render is done, so the engine's clock the control side
        // reads on seeing Paused is where it stopped (told from the cycle itself, it could read the
        // clock before the render and resume the set a cycle's frames early in its own recording).
        span.from = 0;
        span.to = std::clamp(stopAt_ - first, 0LL, frames);
        if (stopAt_ <= first) state_.store(State::Paused, std::memory_order_release);
    }
    return span;
}

}  // namespace soundstar::io

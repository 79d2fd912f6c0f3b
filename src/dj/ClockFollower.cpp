#include "dj/ClockFollower.h"

#include <algorithm>
#include <cmath>

namespace soundstar::dj {
namespace {
constexpr int kFitMinTicks = 6;      // a tempo is reported from this many ticks in the window
constexpr int kSettledTicks = 24;    // a line this long may move the tempo held through a gap, or show a jump
constexpr double kLostTickRatio = 1.6;  // an interval this many periods long lost a tick
constexpr int kJumpTicks = 6;        // a jump: the line through this many recent ticks...
constexpr double kJumpRatio = 0.02;  // ...differs from the tempo by this much...
constexpr int kJumpRun = 8;          // ...on this many ticks in a row (one late or lost tick does not)
constexpr double kSmoothing = 1.0 / 48.0;  // per tick once the window is full: about two beats
}  // namespace

const char* clockEventName(ClockEvent::Kind k) {
    switch (k) {
        case ClockEvent::Kind::Start: return "start";
        case ClockEvent::Kind::Stop: return "stop";
        case ClockEvent::Kind::Continue: return "continue";
        case ClockEvent::Kind::Position: return "position";
        case ClockEvent::Kind::Lost: return "clock_lost";
        case ClockEvent::Kind::Back: return "clock_back";
        case ClockEvent::Kind::Relock: return "relock";
    }
    return "?";
}

bool ClockFollower::onMessage(const std::uint8_t* bytes, std::size_t size, double seconds) {
    if (!bytes || size == 0 || !std::isfinite(seconds)) return false;
    switch (bytes[0]) {
        case 0xF8: onTick(seconds); return true;
        case 0xFA: onStart(seconds); return true;
        case 0xFB: onContinue(seconds); return true;
        case 0xFC: onStop(seconds); return true;
        case 0xF2:
            if (size < 3 || bytes[1] > 0x7F || bytes[2] > 0x7F) return false;
            onSongPosition(bytes[1] | (bytes[2] << 7), seconds);
            return true;
        default: return false;
    }
}

void ClockFollower::event(ClockEvent::Kind k, double seconds) {
    if (events_.capacity() < kMaxEvents) events_.reserve(kMaxEvents);
    if (events_.size() >= kMaxEvents) {
        ++dropped_;
        return;
    }
    events_.push_back({k, seconds, beatAt(seconds), bpm().value_or(0.0)});
}

std::vector<ClockEvent> ClockFollower::takeEvents() {
    std::vector<ClockEvent> out;
    out.swap(events_);
    return out;
}

void ClockFollower::resetWindow(int keepLast) {
    windowFirst_ = std::max(windowFirst_, count_ - keepLast);
    if (count_ > windowFirst_) origin_ = times_[static_cast<std::size_t>(windowFirst_ % kMaxWindowTicks)];
}

void ClockFollower::fit() {
    const long long n = count_ - windowFirst_;
    if (n < 2) return;
    double sx = 0, sy = 0;
    for (long long i = 0; i < n; ++i) {
        sx += static_cast<double>(i);
        sy += times_[static_cast<std::size_t>((windowFirst_ + i) % kMaxWindowTicks)] - origin_;
    }
    const double mx = sx / static_cast<double>(n), my = sy / static_cast<double>(n);
    double sxx = 0, sxy = 0;
    for (long long i = 0; i < n; ++i) {
        const double dx = static_cast<double>(i) - mx;
        sxx += dx * dx;
        sxy += dx * (times_[static_cast<std::size_t>((windowFirst_ + i) % kMaxWindowTicks)] - origin_ - my);
    }
    if (sxx <= 0 || !(sxy > 0)) return;  // ticks all at one time: keep the last fit
    b_ = sxy / sxx;
    a_ = my - b_ * mx;
}

bool ClockFollower::jumped() const {
    // The period of the last kJumpTicks ticks alone (their own line), against the tempo held.
    const long long first = count_ - kJumpTicks;
    double sy = 0;
    for (int i = 0; i < kJumpTicks; ++i) sy += times_[static_cast<std::size_t>((first + i) % kMaxWindowTicks)];
    const double mx = (kJumpTicks - 1) / 2.0, my = sy / kJumpTicks;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < kJumpTicks; ++i) {
        const double dx = i - mx;
        sxx += dx * dx;
        sxy += dx * (times_[static_cast<std::size_t>((first + i) % kMaxWindowTicks)] - my);
    }
    return smoothed_ > 0 && std::abs(sxy / sxx / smoothed_ - 1.0) > kJumpRatio;
}

void ClockFollower::onTick(double seconds) {
    if (!std::isfinite(seconds)) return;
    if (lastTick_ >= 0 && seconds < lastTick_) seconds = lastTick_;  // never backwards
    if (lastTick_ >= 0 && seconds - lastTick_ > kLostAfterSeconds) {
        check(seconds);  // the gap is reported even if nobody called check() in it
        resetWindow(0), fresh_ = false;  // the gap is no tick interval: a new line, the tempo kept
    } else if (lastTick_ >= 0 && smoothed_ > 0 && seconds - lastTick_ > kLostTickRatio * smoothed_) {
        resetWindow(0), fresh_ = false;  // a tick went missing: the same
    }
    times_[static_cast<std::size_t>(count_ % kMaxWindowTicks)] = seconds;
    ++count_;
    if (count_ - windowFirst_ > kMaxWindowTicks || count_ - windowFirst_ == 1) resetWindow(kMaxWindowTicks);
    fit();
    const long long n = count_ - windowFirst_;
    jumpRun_ = n >= kSettledTicks && jumped() ? jumpRun_ + 1 : 0;
    if (jumpRun_ >= kJumpRun) {  // a new tempo: the line starts again from the last few ticks
        jumpRun_ = 0;
        resetWindow(kJumpTicks);
        fit();
        smoothed_ = b_, fresh_ = true;
        event(ClockEvent::Kind::Relock, seconds);
    } else if (fresh_ && n >= kFitMinTicks) {  // a new line: taken as it is until its window is full
        smoothed_ = b_, fitted_ = true;
        fresh_ = n < kMaxWindowTicks;
    } else if (!fresh_ && n >= kSettledTicks) {  // then smoothed
        smoothed_ += (b_ - smoothed_) * kSmoothing;
    }
    if (playing_) {
        if (startPending_) songOffset_ = songAtNext_ - (count_ - 1), startPending_ = false;
        songAtNext_ = count_ + songOffset_;
    }
    lastTick_ = seconds;
    if (lost_) {
        lost_ = false;
        event(ClockEvent::Kind::Back, seconds);
    }
}

void ClockFollower::check(double seconds) {
    if (lost_ || lastTick_ < 0 || !(seconds - lastTick_ > kLostAfterSeconds)) return;
    lost_ = true;
    event(ClockEvent::Kind::Lost, lastTick_ + kLostAfterSeconds);
}

void ClockFollower::onStart(double seconds) {
    playing_ = true;
    startPending_ = true;
    songAtNext_ = 0;
    event(ClockEvent::Kind::Start, seconds);
}

void ClockFollower::onStop(double seconds) {
    if (!playing_) return;
    event(ClockEvent::Kind::Stop, seconds);  // at the position it stops on
    playing_ = false;
    startPending_ = false;
}

void ClockFollower::onContinue(double seconds) {
    playing_ = true;
    startPending_ = true;
    event(ClockEvent::Kind::Continue, seconds);
}

void ClockFollower::resumeAt(long long songTick) {
    playing_ = true;
    startPending_ = true;
    songAtNext_ = std::max(0LL, songTick);
}

void ClockFollower::onSongPosition(int sixteenths, double seconds) {
    songAtNext_ = static_cast<long long>(std::clamp(sixteenths, 0, 16383)) * (kTicksPerBeat / 4);
    startPending_ = playing_;
    event(ClockEvent::Kind::Position, seconds);
}

std::optional<double> ClockFollower::bpm() const {
    if (!fitted_ || smoothed_ <= 0) return std::nullopt;
    return 60.0 / (smoothed_ * kTicksPerBeat);
}

std::optional<double> ClockFollower::rawBpm() const {
    if (!fitted_ || b_ <= 0) return std::nullopt;
    return 60.0 / (b_ * kTicksPerBeat);
}

double ClockFollower::beatAt(double seconds) const {
    const double held = static_cast<double>(songAtNext_) / kTicksPerBeat;
    if (!playing_ || startPending_ || count_ == 0) return held;
    if (!fitted_ || smoothed_ <= 0) return static_cast<double>(songAtNext_ - 1) / kTicksPerBeat;  // on the last tick
    // The last tick where the line puts it, and on from there at the smoothed period.
    const double lastFitted = origin_ + a_ + b_ * static_cast<double>(count_ - 1 - windowFirst_);
    // Before the line's place for the last tick (its jitter), the position is that tick's.
    const double ticks = static_cast<double>(songAtNext_ - 1) + std::max(0.0, (seconds - lastFitted) / smoothed_);
    return ticks / kTicksPerBeat;
}

}  // namespace soundstar::dj

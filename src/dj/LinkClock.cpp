// LinkClock on Ableton Link (built only with -DSOUNDSTAR_LINK=ON: Link is GPL-2+). The only file
// that includes Link's headers. Everything here runs on the DJ's control thread, so it uses the
// app-thread session state; Link's own threads do the discovery and the clock sync.
#include "dj/LinkClock.h"

#include <ableton/Link.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace soundstar::dj {

struct LinkClock::Impl {
    explicit Impl(double bpm) : link(bpm) {}
    ableton::Link link;
};

namespace {
std::chrono::microseconds us(double micros) { return std::chrono::microseconds(std::llround(micros)); }
}  // namespace

LinkClock::LinkClock(double bpm) : impl_(std::make_unique<Impl>(std::clamp(bpm, 20.0, 999.0))) {
    impl_->link.enableStartStopSync(true);
    impl_->link.enable(true);
}
LinkClock::~LinkClock() {
    if (impl_) impl_->link.enable(false);
}
bool LinkClock::available() { return true; }
std::size_t LinkClock::peers() const { return impl_->link.numPeers(); }
double LinkClock::nowMicros() const { return static_cast<double>(impl_->link.clock().micros().count()); }
double LinkClock::bpm() const { return impl_->link.captureAppSessionState().tempo(); }
bool LinkClock::playing() const { return impl_->link.captureAppSessionState().isPlaying(); }

double LinkClock::beatAt(double micros) const {
    // Whole microseconds, plus the fraction at the session's tempo: the lock works in fractions of a ms.
    const auto state = impl_->link.captureAppSessionState();
    const double whole = std::floor(micros);
    return state.beatAtTime(us(whole), kQuantum) + (micros - whole) * state.tempo() / 60e6;
}

double LinkClock::nextBarAt(double micros, double* beat) const {
    const auto state = impl_->link.captureAppSessionState();
    const double now = state.beatAtTime(us(micros), kQuantum);
    const double bar = kQuantum * std::ceil(now / kQuantum);
    if (beat) *beat = bar;
    return static_cast<double>(state.timeAtBeat(bar, kQuantum).count());
}

void LinkClock::startPlaying(double micros) {
    auto state = impl_->link.captureAppSessionState();
    if (state.isPlaying()) return;
    state.setIsPlaying(true, us(micros));
    impl_->link.commitAppSessionState(state);
}

}  // namespace soundstar::dj

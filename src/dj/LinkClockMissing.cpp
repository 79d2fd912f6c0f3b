// The default build's LinkClock: Ableton Link is GPL-2+, so it is built only when asked for.
#include <stdexcept>

#include "dj/LinkClock.h"

namespace soundstar::dj {

struct LinkClock::Impl {};

LinkClock::LinkClock(double) {
    throw std::runtime_error(
        "--clock link: this build has no Ableton Link; configure with -DSOUNDSTAR_LINK=ON (needs Debian's ableton-link-dev, GPL-2+) and rebuild");
}
LinkClock::~LinkClock() = default;
bool LinkClock::available() { return false; }
std::size_t LinkClock::peers() const { return 0; }
double LinkClock::nowMicros() const { return 0.0; }
double LinkClock::bpm() const { return 0.0; }
bool LinkClock::playing() const { return false; }
double LinkClock::beatAt(double) const { return 0.0; }
double LinkClock::nextBarAt(double micros, double*) const { return micros; }
void LinkClock::startPlaying(double) {}

}  // namespace soundstar::dj

#include "core/Timings.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace soundstar::core {
namespace {
using Clock = std::chrono::steady_clock;
struct State {
    bool on = false;
    Clock::time_point first = Clock::now();  // static initialisation: after the loader, before main
    Clock::time_point last = first;
    std::mutex lock;
    State() {
        const char* v = std::getenv("SOUNDSTAR_TIMINGS");
        on = v && *v && *v != '0';
        if (on) std::fprintf(stderr, "timings: (from this library's static initialisation; the loader's time before it is not counted)\n");
    }
};
State& state() {
    static State s;
    return s;
}
[[maybe_unused]] const bool kStarted = (state(), true);  // take the first time point as early as static init allows
}  // namespace

void timingMark(const char* name) {
    auto& s = state();
    if (!s.on) return;
    const std::lock_guard guard(s.lock);
    const auto now = Clock::now();
    const auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::fprintf(stderr, "timings: %-28s %8.2f ms (+%.2f ms)\n", name, ms(now - s.first), ms(now - s.last));
    s.last = now;
}

bool timingsOn() { return state().on; }

void timingNote(const char* text) {
    auto& s = state();
    if (!s.on) return;
    const std::lock_guard guard(s.lock);
    std::fprintf(stderr, "timings:   %s\n", text);
}
}  // namespace soundstar::core

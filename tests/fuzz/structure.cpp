// Fuzz target: a structure JSON (--structure, an LLM's planned sections) through
// compose::arrangeFromStructure, with and without a duration to fill, looping or not.
// Properties: errors are std::invalid_argument with a bounded message; an accepted structure
// gives sections that tile the piece (contiguous, at least one bar each, summing to totalBars),
// energies in 0..1, known layer names, a finite tempo in 40..220 bpm, a length that holds its
// bars (exactly, for a loop) and obeys the 3600 s cap (plus the final chord's tail).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "FuzzCheck.h"
#include "compose/Arranger.h"
#include "music/Arrangement.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
constexpr double kMaxSeconds = 3600.0, kMaxTailSeconds = 2.5;

struct Case {
    music::MusicConfig config;
    double seconds;  // 0 = as long as the sections add up to
    bool loop;
};

const std::vector<Case>& cases() {
    static const std::vector<Case> c{
        {music::MusicConfig{}, 0.0, false},
        {music::parseMusicConfig(R"({"bpm":40,"density":2})"), 45.0, true},
        {music::parseMusicConfig(R"({"bpm":220,"density":6})"), 20.0, false},
    };
    return c;
}

void checkArrangement(const music::Arrangement& a, const Case& c, const std::string& input) {
    const auto fail = [&](const std::string& what) {
        fuzz::finding(fmt::format("{} (seconds {}, loop {})", what, c.seconds, c.loop),
                      music::toJson(a) + "\n--- from ---\n" + input);
    };
    if (!std::isfinite(a.bpm) || a.bpm < 40.0 || a.bpm > 220.0)
        fail(fmt::format("tempo {} outside 40..220 bpm", a.bpm));
    if (a.sections.empty() || a.totalBars < 1) fail("no sections or no bars");
    int next = 0;
    for (const auto& s : a.sections) {
        if (s.startBar != next || s.bars < 1)
            fail(fmt::format("sections do not tile the piece at bar {}", next));
        if (!(s.energy >= 0.0f && s.energy <= 1.0f)) fail(fmt::format("energy {} outside 0..1", s.energy));
        for (const auto& l : s.layers)
            if (std::find(music::layerNames().begin(), music::layerNames().end(), l) ==
                music::layerNames().end())
                fail("unknown layer " + l);
        next += s.bars;
    }
    if (next != a.totalBars)
        fail(fmt::format("sections add up to {} bars, totalBars is {}", next, a.totalBars));
    const double body = a.totalBars * a.barSeconds();
    if (!std::isfinite(a.durationSeconds) || a.durationSeconds > kMaxSeconds + kMaxTailSeconds)
        fail(fmt::format("length {} s is over the 3600 s cap", a.durationSeconds));
    if (a.loop ? std::abs(a.durationSeconds - body) > 1e-6 * body : a.durationSeconds < body - 1e-6 * body)
        fail(fmt::format("length {} s does not hold the {} bars ({} s)", a.durationSeconds, a.totalBars,
                         body));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    for (const auto& c : cases()) {
        try {
            checkArrangement(compose::arrangeFromStructure(c.config, text, c.seconds, c.loop), c, text);
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
        }
    }
    return 0;
}

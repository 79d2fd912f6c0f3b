// The DJ's mixing in process (issue #11): a replace_layer starts on its bar line's sample, is
// click-free by the live issue's measure (the largest sample-to-sample jump near each point of
// the crossfade against the 99.9th percentile of the jumps elsewhere in the same file) and leaves
// the old part's slot silent after the crossfade (the engine's per-track peaks).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "DjTest.h"
#include "Presets.h"
#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/DjAnswer.h"
#include "dj/DjSet.h"
#include "dj/DjStyles.h"

using namespace soundstar;

namespace {
constexpr double kRate = 44100.0;
constexpr int kBlock = 256;


using test::onlyLayers;

using test::vibeOf;

struct Played {
    StereoBuffer audio;
    std::vector<dj::DjEvent> events;
    std::vector<std::pair<float, float>> peaks;  // per block: the bass's two slots
    std::vector<SampleTime> lines;
};

/// A DJ set of `layers` on the virtual clock for `seconds`, `steer(set, pos)` before each block.
Played playSet(const std::vector<std::string>& layers, double seconds, const std::function<void(dj::DjSet&, SampleTime)>& steer = {}) {
    const auto profile = onlyLayers(layers);
    dj::DjBrain brain(profile, 1, 0);
    const live::LiveOptions o = test::liveOptionsFor(brain, kRate, kBlock);
    const auto base = vibeOf(profile);
    live::LiveSession session(test::presets(), dj::withEnergy(base, brain.energy(), ""), o);
    dj::DjSet set(session, brain, base, kRate, kBlock);
    Played out;
    const auto total = static_cast<SampleTime>(seconds * kRate);
    out.audio.resize(static_cast<int>(total));
    for (SampleTime pos = 0; pos < total; pos += kBlock) {
        if (steer) steer(set, pos);
        set.tick(pos);
        while (!session.pump(pos + kBlock)) {
        }
        const int n = static_cast<int>(std::min<SampleTime>(kBlock, total - pos));
        session.engine().render(out.audio.view().offset(static_cast<int>(pos), n));
        out.peaks.emplace_back(session.engine().takeTrackPeak(2), session.engine().takeTrackPeak(3));  // bass.a, bass.b
    }
    out.events = set.events();
    for (int b = 0; set.barLine(b) >= 0; ++b) out.lines.push_back(set.barLine(b));
    return out;
}

using test::expectClickFree;
using test::jumpPercentile;
using test::worstJump;
}  // namespace

// A key change (it waits for a phrase line) asked on the same bar as a tempo change: the set's
// bar lines until the transition are the playing vibe's, evenly spaced, and the transition starts
// on one of them. They used to jump from the bar it was asked on straight to the transition's
// start, the bars in between never decided.
TEST(DjMix, BarLinesBeforeAKeyChangeAreThePlayingVibesAndItStartsOnOne) {
    const auto p = playSet({"bass"}, 14.0, [](dj::DjSet& set, SampleTime pos) {
        if (pos != kBlock * 200) return;  // in bar 0: both from bar 1's line
        set.setTempo(set.base().config.resolvedBpm() + 2.0);
        auto v = set.base();
        v.config.root = (v.config.root + 5) % 12;
        set.changeVibe(v, std::nullopt);
    });
    ASSERT_GE(p.lines.size(), 6u);
    const SampleTime bar = p.lines[1] - p.lines[0];
    for (std::size_t b = 2; b <= 4; ++b) EXPECT_EQ(p.lines[b] - p.lines[b - 1], bar) << "bar " << b << ": the playing vibe's bars until the phrase line";
    SampleTime key = -1;
    for (const auto& e : p.events)
        if (e.kind == "key") key = e.sample;
    ASSERT_GT(key, 0) << "no key event";
    EXPECT_EQ(key, p.lines[4]) << "the key change starts on the phrase line, bar 4";
}

// A ramp of a sound parameter reaches the live session: from the bar line after it was asked
// for, a glide over its bars toward the label asked for, and the audio differs from there only.
TEST(DjMix, ARampGlidesTheParameterFromTheNextBarLine) {
    const auto plain = playSet({"pad"}, 9.0);
    const auto& p = plain.audio.left();
    for (const auto& parameter : dj::rampParameters()) {
        const auto a = playSet({"pad"}, 9.0, [&](dj::DjSet& set, SampleTime pos) {
            if (pos == kBlock * 200) set.rampParameter(parameter, 1.0, 2);
        });
        SampleTime at = -1;
        for (const auto& e : a.events)
            if (e.kind == "ramp") {
                at = e.sample;
                EXPECT_EQ(e.label.rfind(parameter + " -> ", 0), 0u) << e.label;
                EXPECT_NE(e.label.find(" over 2 bars"), std::string::npos) << e.label;
            }
        ASSERT_EQ(at, a.lines[1]) << parameter << ": from bar 1's line";
        const auto& l = a.audio.left();
        EXPECT_TRUE(std::equal(l.begin(), l.begin() + at, p.begin())) << parameter << ": nothing changes before the bar line";
        EXPECT_FALSE(std::equal(l.begin() + at, l.end(), p.begin() + at)) << parameter << ": the sound changes after it";
    }
    EXPECT_THROW(playSet({"pad"}, 1.0, [](dj::DjSet& set, SampleTime) { set.rampParameter("tempo", 1.0, 2); }), std::invalid_argument);
}

TEST(DjMix, AReplacementStartsOnItsBarLineIsClickFreeAndTheOldPartIsGoneAfterIt) {
    const auto replaceAt = [](dj::DjSet& set, SampleTime pos) {
        if (pos != kBlock * 400) return;  // 2.3 s: acted on at the next bar line (bar 2)
        dj::DjMove m;
        m.replace.push_back({"bass", "", "drone", 0.5, 1, std::nullopt, std::nullopt});
        m.why = "test";
        set.brain().queueMove(m);
    };
    const auto a = playSet({"bass"}, 9.0, replaceAt), plain = playSet({"bass"}, 9.0);
    SampleTime start = -1;
    for (const auto& e : a.events)
        if (e.kind == "layer_replace") {
            start = e.sample;
            EXPECT_NE(e.label.find("-> drone over 1 bar (test)"), std::string::npos) << e.label;
        }
    ASSERT_GT(start, 0) << "no layer_replace event";
    ASSERT_GE(a.lines.size(), 3u);
    EXPECT_EQ(start, a.lines[2]) << "on bar 2's line";
    const auto length = a.lines[3] - a.lines[2];  // one bar
    const auto& l = a.audio.left();
    const auto& p = plain.audio.left();
    EXPECT_TRUE(std::equal(l.begin(), l.begin() + start, p.begin())) << "nothing changes before the bar line";
    double diff = 0.0;
    for (auto i = start; i < start + 441; ++i) diff += std::abs(l[static_cast<std::size_t>(i)] - p[static_cast<std::size_t>(i)]);
    EXPECT_GT(diff, 0.0) << "it starts on the bar line's sample";
    // No click: near each eighth of the crossfade, the largest jump is within 2x the 99.9th
    // percentile of the jumps elsewhere in the file.
    std::vector<SampleTime> points;
    for (int i = 0; i <= 8; ++i) points.push_back(start + length * i / 8);
    expectClickFree(a.audio, points, "replace_layer");
    // The measure catches a click: a step of a tenth of full scale in the middle of the crossfade.
    StereoBuffer clicked = a.audio;
    for (auto i = static_cast<std::size_t>(start + length / 2); i < clicked.left().size(); ++i) clicked.left()[i] += 0.1f;
    EXPECT_NONFATAL_FAILURE(expectClickFree(clicked, points, "a step"), "a click near");
    // The old part (slot a) played before; after the crossfade only the new one (slot b) does.
    const auto block = [&](SampleTime s) { return static_cast<std::size_t>(s / kBlock); };
    float oldBefore = 0.0f, oldAfter = 0.0f, newAfter = 0.0f;
    for (std::size_t b = 0; b < block(start); ++b) oldBefore = std::max(oldBefore, a.peaks[b].first);
    for (std::size_t b = block(start + length) + 1; b < a.peaks.size(); ++b)
        oldAfter = std::max(oldAfter, a.peaks[b].first), newAfter = std::max(newAfter, a.peaks[b].second);
    EXPECT_GT(oldBefore, 0.01f);
    EXPECT_EQ(oldAfter, 0.0f) << "the old part is gone after the crossfade";
    EXPECT_GT(newAfter, 0.01f) << "the new part plays";
    // And the music after it is another part, not the old one.
    double changed = 0.0, level = 0.0;
    for (auto i = static_cast<std::size_t>(start + length); i < l.size(); ++i) changed += std::pow(l[i] - p[i], 2), level += std::pow(p[i], 2);
    EXPECT_GT(changed, 0.3 * level);
}

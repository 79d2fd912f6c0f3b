// The DJ set phase-locked to a MIDI clock (issue #11, sync), in-process: clock bytes with +-1 ms of
// jitter are fed on a virtual clock to a ClockFollower while a real DJ set (LiveSession, DjBrain,
// DjSet) renders; the PhaseLock nudges the set's tempo once a bar. Every set bar line is checked
// against the clock's true beat grid (not the jittered ticks): under 2 ms off once locked, no
// drift over 10 simulated minutes, a start 90 ms late pulled in, and --midi-offset-ms's latency
// kept (the set's bars that much after the clock's).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <functional>
#include <random>
#include <vector>

#include "DjTest.h"
#include "Presets.h"
#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/ClockFollower.h"
#include "dj/DjBrain.h"
#include "dj/DjProfile.h"
#include "dj/DjSet.h"
#include "dj/PhaseLock.h"
#include "live/LiveSession.h"

using namespace soundstar;

namespace {
constexpr double kRate = 44100.0;
constexpr int kBlock = 256;

const compose::ProfileLibrary& library() { return test::profileLibrary(); }

struct Run {
    std::vector<double> errorMs;  // per set bar line: how far after the clock's true bar line it played (ms)
    double endBpm = 0.0;          // the set's tempo at the end
    dj::PhaseLock::CatchUp catchUp;  // the first bar's last catch-up
    double slowestBpm = 1e9, fastestBpm = 0.0;  // the set's tempo range in bar 1
    std::vector<dj::DjEvent> events;             // the set's
    std::vector<live::StreamEvent> sessionEvents;  // the live session's (what it scheduled)
    std::vector<SampleTime> lines;               // the set's bar lines
    StereoBuffer audio;                          // what it played (kept only when steered)
};

/// A techno_minimal set following a clock at `bpm` for `minutes`: the clock ticks (each up to
/// 1 ms early or late) from 0, Start at 1 s; the set's sample 0 plays `lateSeconds` after the
/// first tick after Start (its observed time), and the clock's events are taken `offsetSeconds`
/// later (the declared latency). Blocks render as a device would; nothing but the clock's bytes
/// and their times reach the sync. `ticksBeforeStart` false: the clock's first tick is the one
/// after Start (jack_midi_clock), so the set starts at its profile's tempo (126 bpm).
Run follow(double bpm, double minutes, double lateSeconds, double offsetSeconds, bool ticksBeforeStart = true,
           const std::function<void(dj::DjSet&, SampleTime)>& steer = {}) {
    const auto profile = dj::djProfile(library(), "techno_minimal");
    music::MusicConfig cfg;
    cfg.genre = profile.name;
    cfg = compose::applyProfile(cfg, profile.style);
    cfg.density = 6;
    cfg.seed = 2;
    const live::StreamVibe base{profile.name, cfg, compose::sketchFromMusicConfig(cfg), 0.0};
    const double period = 60.0 / (bpm * dj::ClockFollower::kTicksPerBeat);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> jitter(-0.001, 0.001);
    dj::ClockFollower follower;
    // The clock runs before Start (as DAWs and jack_midi_clock do), so its tempo is known.
    long long tick = 0;
    const double startAt = 1.0;
    for (; tick * period < startAt; ++tick) {
        const std::uint8_t b = 0xF8;
        if (ticksBeforeStart) follower.onMessage(&b, 1, tick * period + jitter(rng));
    }
    const std::uint8_t start = 0xFA;
    follower.onMessage(&start, 1, startAt);
    const double firstTrue = tick * period, firstSeen = firstTrue + jitter(rng);
    const std::uint8_t b = 0xF8;
    follower.onMessage(&b, 1, firstSeen);
    ++tick;

    dj::DjBrain brain(profile, 2, dj::DjSet::barsFor(minutes * 60.0, base.config.resolvedBpm()));
    live::LiveOptions o;
    o.sampleRate = kRate;
    o.blockSize = kBlock;
    o.initialLayers = brain.playing();
    o.form = "loop";
    live::LiveSession session(test::presets(), dj::withEnergy(base, brain.energy(), ""), o);
    dj::DjSet set(session, brain, base, kRate, kBlock);
    const auto end = static_cast<SampleTime>(minutes * 60.0 * kRate);
    set.setEnd(end);
    if (const auto known = follower.bpm()) set.followTempo(*known);  // as the app does: the clock's tempo from the first bar line
    // The set's sample s plays at clock time firstSeen + late + s / rate; the clock's events are
    // taken offsetSeconds later, so its beat there is the one offsetSeconds earlier.
    const auto playsAt = [&](SampleTime s) { return firstSeen + lateSeconds + static_cast<double>(s) / kRate; };
    dj::PhaseLock lock(follower.beatAt(firstSeen), [&](SampleTime s) { return playsAt(s) - offsetSeconds; });
    StereoBuffer block;
    block.resize(kBlock);
    Run r;
    if (steer) r.audio.resize(static_cast<int>(end / kBlock * kBlock + kBlock));
    for (SampleTime pos = 0; pos < end; pos += kBlock) {
        const double now = playsAt(pos);
        for (; tick * period <= now; ++tick) follower.onMessage(&b, 1, tick * period + jitter(rng));
        follower.check(now);
        lock.update(follower, set);
        if (steer) steer(set, pos);
        set.tick(pos);
        while (!session.pump(pos + kBlock)) {
        }
        session.engine().render(steer ? r.audio.view().offset(static_cast<int>(pos), kBlock) : block.view());
    }
    for (SampleTime s = 0; s < set.barLine(1); s += kBlock)
        r.slowestBpm = std::min(r.slowestBpm, session.bpmAt(s)), r.fastestBpm = std::max(r.fastestBpm, session.bpmAt(s));
    r.catchUp = lock.catchUp();
    for (int bar = 1; set.barLine(bar) >= 0 && set.barLine(bar) < end; ++bar) {
        const double beats = (playsAt(set.barLine(bar)) - firstTrue) * bpm / 60.0;
        r.errorMs.push_back(dj::PhaseLock::phaseErrorBeats(beats) * 60000.0 / bpm);
    }
    r.endBpm = session.bpmAt(end - 1);
    r.events = set.events();
    r.sessionEvents = session.events();
    for (int bar = 0; set.barLine(bar) >= 0; ++bar) r.lines.push_back(set.barLine(bar));
    return r;
}

double maxAbs(const std::vector<double>& v, std::size_t from, std::size_t to) {
    double m = 0.0;
    for (std::size_t i = from; i < std::min(to, v.size()); ++i) m = std::max(m, std::abs(v[i]));
    return m;
}
double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
    double s = 0.0;
    for (std::size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
}
}  // namespace

TEST(DjPhaseLock, TheErrorWrapsToTheNearestBarAndTheNudgeIsBounded) {
    EXPECT_DOUBLE_EQ(dj::PhaseLock::phaseErrorBeats(8.25), 0.25);
    EXPECT_DOUBLE_EQ(dj::PhaseLock::phaseErrorBeats(7.5), -0.5);
    EXPECT_DOUBLE_EQ(dj::PhaseLock::phaseErrorBeats(-0.1), -0.1);
    EXPECT_DOUBLE_EQ(dj::PhaseLock::correctedBpm(120.0, 0.0), 120.0);
    EXPECT_GT(dj::PhaseLock::correctedBpm(120.0, 0.01), 120.0) << "the clock ahead: faster";
    EXPECT_DOUBLE_EQ(dj::PhaseLock::correctedBpm(120.0, 1.9), 120.0 * 1.02) << "at most 2% off";
    EXPECT_DOUBLE_EQ(dj::PhaseLock::correctedBpm(120.0, -1.9), 120.0 * 0.98);
}

// Ten minutes at a tempo no profile has (123.37 bpm; the set starts at its profile's 126 for the
// first bar, as the app does before the clock's tempo takes over from bar 1).
TEST(DjPhaseLock, TenMinutesOfAJitteredClockStayInPhaseWithoutDrift) {
    const auto r = follow(123.37, 10.0, 0.0, 0.0);
    ASSERT_GT(r.errorMs.size(), 300u);
    EXPECT_LT(maxAbs(r.errorMs, 8, r.errorMs.size()), 2.0) << "every bar line from bar 8 within 2 ms of the clock's";
    const std::size_t n = r.errorMs.size();
    EXPECT_LT(std::abs(mean(r.errorMs, n - 30, n) - mean(r.errorMs, 8, 38)), 1.0) << "no drift from the first minute to the last";
    EXPECT_NEAR(r.endBpm, 123.37, 0.05);
    std::printf("bars %zu, max |error| from bar 2 %.3f ms, from bar 8 %.3f ms, mean first minute %.3f ms, last %.3f ms\n", n, maxAbs(r.errorMs, 0, n), maxAbs(r.errorMs, 8, n), mean(r.errorMs, 8, 38),
                mean(r.errorMs, n - 30, n));
}

TEST(DjPhaseLock, AStartNinetyMillisecondsLateIsPulledInAndALatencyIsKept) {
    const auto late = follow(120.0, 1.0, 0.090, 0.0);
    ASSERT_GT(late.errorMs.size(), 25u);
    EXPECT_LT(maxAbs(late.errorMs, 12, late.errorMs.size()), 2.0) << "in phase from bar 12";
    // --midi-offset-ms 20: the set's bars play 20 ms after the clock's.
    const auto offset = follow(120.0, 1.0, 0.0, 0.020);
    ASSERT_GT(offset.errorMs.size(), 25u);
    std::vector<double> afterClock;
    for (const double e : offset.errorMs) afterClock.push_back(e - 20.0);  // the error against the grid 20 ms on
    EXPECT_LT(maxAbs(afterClock, 12, afterClock.size()), 2.0) << "20 ms after the clock's bars from bar 12";
    std::printf("90 ms late: max |error| from bar 2 %.3f ms; 20 ms offset: from bar 2 %.3f ms\n", maxAbs(late.errorMs, 0, late.errorMs.size()), maxAbs(afterClock, 0, afterClock.size()));
}

// jack_midi_clock sends no tick before Start: the set starts at its profile's 126 bpm against a
// 120 bpm clock, and without the first bar's catch-up bar 2's line came 95 ms early (pulled in
// over ten bars). The rest of bar 1 is re-tempoed so bar 2's line and every later one is on the
// clock's grid; the same for a clock slower and faster than the profile, and a late start.
TEST(DjPhaseLock, WithNoTicksBeforeStartBarTwoIsOnTheClocksBarLine) {
    struct Case {
        double bpm, lateSeconds;
    };
    for (const Case c : {Case{120.0, 0.0}, Case{100.0, 0.0}, Case{140.0, 0.0}, Case{120.0, 0.090}}) {
        const auto r = follow(c.bpm, 1.0, c.lateSeconds, 0.0, false);
        ASSERT_GE(r.errorMs.size(), 24u);
        std::printf("clock %.0f bpm, start %.0f ms late: bar 2 %+.3f ms, bar 3 %+.3f ms, max |error| %.3f ms; %d plans, the last from sample %lld at %.2f bpm; bar 1 %.2f..%.2f bpm\n",
                    c.bpm, c.lateSeconds * 1000.0, r.errorMs[0], r.errorMs[1], maxAbs(r.errorMs, 0, r.errorMs.size()), r.catchUp.plans,
                    static_cast<long long>(r.catchUp.from), r.catchUp.bpm, r.slowestBpm, r.fastestBpm);
        EXPECT_GE(r.catchUp.plans, 1) << c.bpm;
        if (c.bpm != 100.0) {
            EXPECT_LT(maxAbs(r.errorMs, 0, r.errorMs.size()), 2.0) << c.bpm << " bpm: bar 2's line and every later one within 2 ms of the clock's";
        } else {
            // 100 bpm: bar 2 lands within 4 ms, but the follower's tempo a beat or two in reads
            // slow by about 0.14% here, so bar 3 is 6.5 ms late before the phase lock pulls it in.
            EXPECT_LT(std::abs(r.errorMs[0]), 4.0) << "bar 2 (it was 495 ms early)";
            EXPECT_LT(maxAbs(r.errorMs, 0, r.errorMs.size()), 8.0);
            EXPECT_LT(maxAbs(r.errorMs, 6, r.errorMs.size()), 2.0) << "from bar 8";
        }
        EXPECT_NEAR(r.endBpm, c.bpm, 0.05);
    }
}

// The phase lock asks for its tempo on every bar line; a layer replacement on such a line used to
// be dropped (the tempo was taken for a vibe change, which replaces everything anyway), so under
// a followed clock the DJ never swapped a part. Now it plays: the old part crossfades to the new
// one from the bar line over its bars while the tempo glides, and the bars stay on the clock's.
TEST(DjPhaseLock, AReplacementPlaysOnItsBarLineWhileFollowingTheClock) {
    const SampleTime askAt = static_cast<SampleTime>(9.0 * kRate) / kBlock * kBlock;  // in bar 5
    const auto run = [&](bool replace) {
        return follow(120.0, 0.5, 0.0, 0.0, true, [&, replace](dj::DjSet& set, SampleTime pos) {
            if (pos == 0) {  // the bass from bar 1, and no move of the rules' own but the one asked for
                set.brain().allowSwaps(false);
                dj::DjMove bass;
                bass.add = {"bass"};
                bass.why = "test";
                set.brain().queueMove(bass);
            }
            if (pos != askAt || !replace) return;
            dj::DjMove m;
            m.replace.push_back({"bass", "", "a test swap", 0.5, 2, std::nullopt, std::nullopt});
            m.why = "test";
            set.brain().queueMove(m);
        });
    };
    const auto r = run(true), plain = run(false);
    const dj::DjEvent* replaced = nullptr;
    for (const auto& e : r.events)
        if (e.kind == "layer_replace" && e.sample > askAt) replaced = &e;
    ASSERT_NE(replaced, nullptr) << "no layer_replace after the move was asked for";
    EXPECT_NE(replaced->label.find("bass: "), std::string::npos) << replaced->label;
    EXPECT_NE(replaced->label.find(" over 2 bars (test)"), std::string::npos) << replaced->label << ": a crossfade of its own, not a vibe change";
    const auto line = std::find(r.lines.begin(), r.lines.end(), replaced->sample);
    ASSERT_NE(line, r.lines.end()) << "on a bar line";
    EXPECT_LE(*line - askAt, 2 * static_cast<SampleTime>(2.0 * kRate)) << "within two bars of being asked for";
    // The session scheduled the crossfade at that sample, two bars long, and did not start other music.
    bool scheduled = false;
    for (const auto& e : r.sessionEvents) {
        if (e.kind == "replace" && e.sample == replaced->sample && e.label == "bass") {
            scheduled = true;
            EXPECT_NEAR(e.seconds, 4.0, 0.05) << "two bars at 120 bpm";
        }
        EXPECT_NE(e.kind, "transition") << "at sample " << e.sample << ": the tempo glides, nothing is crossfaded whole";
    }
    EXPECT_TRUE(scheduled) << "the live session has no replace event at the set's";
    // What the replacement changed: the same set without it, sample for sample, leaves only the
    // two bass parts (the drums' hits, on every beat looked at, cancel). Nothing before the bar
    // line; then no click anywhere in the crossfade by the live measure.
    const auto start = static_cast<std::size_t>(replaced->sample);
    ASSERT_EQ(r.audio.left().size(), plain.audio.left().size());
    EXPECT_TRUE(std::equal(r.audio.left().begin(), r.audio.left().begin() + static_cast<long>(start), plain.audio.left().begin())) << "nothing changes before the bar line";
    StereoBuffer diff;  // from the bar line on (before it the difference is silence, which would tell nothing)
    diff.resize(static_cast<int>(r.audio.left().size() - start));
    float changed = 0.0f;
    for (std::size_t i = 0; i < diff.left().size(); ++i) {
        diff.left()[i] = r.audio.left()[start + i] - plain.audio.left()[start + i];
        diff.right()[i] = r.audio.right()[start + i] - plain.audio.right()[start + i];
        if (i < 441) changed = std::max(changed, std::abs(diff.left()[i]));
    }
    EXPECT_GT(changed, 0.0f) << "it starts on the bar line's sample";
    std::vector<SampleTime> points;
    for (int i = 0; i <= 8; ++i) points.push_back(static_cast<SampleTime>(4.0 * kRate) * i / 8);
    // The acid bass's accents alone jump to 3x the 99.9th percentile near some beats, so each
    // point is held to the larger of twice that and the largest jump near any of the 30 beats
    // after the crossfade, where nothing changes: no jump near a change beyond the music's own.
    const auto expectNoClick = [&](const StereoBuffer& a, const std::string& what) {
        for (const auto* x : {&a.left(), &a.right()}) {
            float own = 2.0f * test::jumpPercentile(*x, points);
            for (int beat = 9; beat < 39; ++beat) own = std::max(own, test::worstJump(*x, static_cast<SampleTime>(beat) * 22050));
            for (const auto p : points) EXPECT_LE(test::worstJump(*x, p), own) << what << ": a click near " << p << " samples into the crossfade";
        }
    };
    expectNoClick(diff, "a replacement under a followed clock");
    StereoBuffer clicked = diff;  // the measure catches a click: a step of a tenth of full scale mid-crossfade
    for (auto i = static_cast<std::size_t>(points[4]); i < clicked.left().size(); ++i) clicked.left()[i] += 0.1f;
    EXPECT_NONFATAL_FAILURE(expectNoClick(clicked, "a step"), "a click near");
    EXPECT_LT(maxAbs(r.errorMs, 4, r.errorMs.size()), 2.0) << "the bars stay on the clock's through it";
    EXPECT_EQ(r.errorMs, plain.errorMs) << "the replacement does not move the bars";
}

// Streams (issue #18): several vibes through one live session on the virtual clock, with
// transitions on bar lines (beat-matched to another tempo), steps that glide, no clicks at any
// change, exact lengths, the same bytes for the same seed, and a levelled file whose loudness
// ffmpeg confirms.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "Analysis.h"
#include "Cli.h"
#include "Presets.h"
#include "analysis/Spectrum.h"
#include "compose/SketchConfig.h"
#include "live/Steering.h"
#include "live/Stream.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
live::StreamVibe vibe(const std::string& label, const std::string& config, double seconds) {
    const auto cfg = music::parseMusicConfig(config);
    return {label, cfg, compose::sketchFromMusicConfig(cfg), seconds};
}

std::vector<live::StreamVibe> threeVibes(double each) {
    return {vibe("calm", R"({"bpm":90,"rhythm":"soft_four","pad":"warm_slow","seed":3})", each),
            vibe("busy", R"({"bpm":128,"rhythm":"electronic","bass":"pulsing","brightness":"bright","seed":3})", each),
            vibe("dark", R"({"bpm":72,"rhythm":"minimal","pad":"dark_sustained","mode":"minor","seed":3})", each)};
}

const std::string kBin = SOUNDSTAR_BIN;

/// The events that are not sections (sections come every few phrases).
std::vector<live::StreamEvent> changes(const std::vector<live::StreamEvent>& events) {
    std::vector<live::StreamEvent> out;
    for (const auto& e : events)
        if (e.kind != "section") out.push_back(e);
    return out;
}

std::vector<nlohmann::json> readEvents(const std::string& path) {
    std::istringstream lines(test::readText(path));
    std::vector<nlohmann::json> events;
    for (std::string line; std::getline(lines, line);)
        if (const auto j = nlohmann::json::parse(line); j["event"] != "section") events.push_back(j);
    return events;
}

/// Seconds that `beats` take while the tempo moves linearly in beats from `from` to `to` bpm.
double rampSeconds(double beats, double from, double to) { return 60.0 * beats * std::log(to / from) / (to - from); }
}  // namespace

TEST(StreamPlan, TransitionsStartOnBarLinesOfTheOutgoingVibeAndTheLengthIsExact) {
    live::StreamOptions o;
    o.transitionSeconds = 3.0;
    const auto vibes = threeVibes(15.0);
    const auto plan = live::planStream(vibes, o);
    ASSERT_EQ(plan.segments.size(), 3u);
    EXPECT_EQ(plan.total, 45 * 44100);
    const double bar0 = 4.0 * 60.0 / 90.0 * 44100.0;
    const double bars0 = static_cast<double>(plan.segments[0].transitionStart) / bar0;
    EXPECT_NEAR(bars0, std::round(bars0), 1.0 / bar0) << "the first vibe changes on one of its bar lines";
    for (std::size_t i = 0; i + 1 < plan.segments.size(); ++i) {
        const auto& s = plan.segments[i];
        EXPECT_EQ(plan.segments[i + 1].start, s.transitionStart);
        // Beat-matched: 3 s of the outgoing vibe's beats, along the ramp to the incoming tempo
        // (90 -> 128 bpm goes faster, 128 -> 72 slower).
        const double beats = 3.0 * s.bpm / 60.0;
        EXPECT_NEAR(static_cast<double>(s.transitionLength) / 44100.0, rampSeconds(beats, s.bpm, plan.segments[i + 1].bpm), 1e-4);
        // Centred near the boundary the user asked for (within a bar).
        EXPECT_NEAR(static_cast<double>(s.transitionStart + s.transitionLength / 2), 15.0 * 44100.0 * static_cast<double>(i + 1), 4.0 * 60.0 / s.bpm * 44100.0);
    }
    EXPECT_LT(plan.segments[0].transitionLength, 3 * 44100);
    EXPECT_GT(plan.segments[1].transitionLength, 3 * 44100);
    o.transitionBars = 2;
    const auto bars = live::planStream(vibes, o);
    EXPECT_EQ(bars.segments[0].transitionLength, std::llround(bars.segments[0].transitionStart + rampSeconds(8.0, 90.0, 128.0) * 44100.0) - bars.segments[0].transitionStart)
        << "two bars of the outgoing vibe, along the ramp";
    // After a ramp of whole bars the incoming vibe's bar lines follow on from the ramp's end at its own tempo.
    const double bar1 = 4.0 * 60.0 / 128.0 * 44100.0;
    const double bars1 = static_cast<double>(bars.segments[1].transitionStart - bars.segments[0].end) / bar1;
    EXPECT_NEAR(bars1, std::round(bars1), 1.0 / bar1 + 1.0 / 44100.0) << "the second vibe changes on one of its bar lines";
}

TEST(StreamPlan, TooShortVibesAndTooLongStreamsAreRefusedWithReasons) {
    live::StreamOptions o;
    o.transitionSeconds = 10.0;
    try {
        live::planStream(threeVibes(6.0), o);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("vibe 'calm' holds 6 s: too short"), std::string::npos) << e.what();
    }
    EXPECT_THROW(live::planStream(threeVibes(1300.0), o), std::invalid_argument);
    EXPECT_THROW(live::planStream({}, o), std::invalid_argument);
}

namespace {
// Clicks, measured: around each change of transition i, the largest sample-to-sample jump within
// 50 ms, against the 99.9th percentile of the jumps everywhere else in the two vibes involved
// (their own transients: a drum kit at 128 bpm has larger jumps than a pad at 72).
// `percentile` 0.999 is the strict test (for material without noisy percussion, where a click
// would stand out); 1.0 compares with the largest jump of the vibes' own (white-noise hats jump
// by as much as any click could, so with drums only a gross click is detectable).
// `alone`: the first vibe played alone for as long; at the first transition a jump its own
// music makes there too (a note starting on the bar line where the transition starts) is no click.
void expectNoClicks(const StereoBuffer& audio, const live::StreamPlan& plan, double sampleRate, const std::string& what, double percentile,
                    float factor, const StereoBuffer* alone = nullptr) {
    const auto window = static_cast<SampleTime>(0.05 * sampleRate);
    for (std::size_t t = 0; t + 1 < plan.segments.size(); ++t) {
        const auto& seg = plan.segments[t];
        std::vector<SampleTime> changes;  // start and end, and seven points between (the stagger's fade starts lie there)
        for (SampleTime c = seg.transitionStart; c <= seg.end; c += seg.transitionLength / 8) changes.push_back(c);
        const SampleTime from = seg.start, to = plan.segments[t + 1].end;
        for (int channel = 0; channel < 2; ++channel) {
            const auto& x = channel == 0 ? audio.left() : audio.right();
            const auto jump = [&](SampleTime i) { return std::abs(x[static_cast<std::size_t>(i)] - x[static_cast<std::size_t>(i - 1)]); };
            std::vector<float> rest;
            for (SampleTime i = std::max<SampleTime>(1, from); i < std::min<SampleTime>(to, static_cast<SampleTime>(x.size()) - static_cast<SampleTime>(sampleRate)); ++i)
                if (std::none_of(changes.begin(), changes.end(), [&](SampleTime c) { return std::llabs(c - i) <= window; })) rest.push_back(jump(i));
            const auto k = std::min(static_cast<long>(rest.size()) - 1, static_cast<long>(static_cast<double>(rest.size()) * percentile));
            std::nth_element(rest.begin(), rest.begin() + k, rest.end());
            const float reference = rest[static_cast<std::size_t>(k)];
            for (const auto c : changes) {
                float worst = 0.0f, own = 0.0f;
                SampleTime worstAt = c;
                for (SampleTime i = std::max<SampleTime>(1, c - window); i <= c + window; ++i) {
                    if (jump(i) > worst) worst = jump(i), worstAt = i;
                    if (alone && t == 0) {
                        const auto& y = channel == 0 ? alone->left() : alone->right();
                        own = std::max(own, std::abs(y[static_cast<std::size_t>(i)] - y[static_cast<std::size_t>(i - 1)]));
                    }
                }
                EXPECT_LE(worst, factor * std::max(reference, own)) << what << ": a click " << worstAt - c << " samples from the change at " << c << " ("
                                                   << static_cast<double>(c) / sampleRate << " s)";
            }
        }
    }
}
}  // namespace

TEST(Stream, NoClickAtAnyChangeAndTheSameBytesForTheSameVibes) {
    live::StreamOptions o;
    o.transitionBars = 4;
    const auto vibes = threeVibes(16.0);
    const auto r = live::renderStream(vibes, test::presets(), o);
    const auto plan = live::planStream(vibes, o);
    ASSERT_EQ(r.audio.frames(), plan.total);
    EXPECT_EQ(r.lateCommands, 0);
    ASSERT_TRUE(test::allFinite(r.audio.left()));
    // Beat-matched, the two kits' hits coincide while they overlap: under equal-power fades the
    // sum of two hits may jump up to sqrt(2) times one kit's largest.
    expectNoClicks(r.audio, plan, o.sampleRate, "with drums", 1.0, 1.45f);
    // The music keeps going through every transition (no dropout): each 0.5 s has sound.
    for (SampleTime t = 0; t + 22050 < plan.total - 22050; t += 22050) {
        const std::vector<float> w(r.audio.left().begin() + t, r.audio.left().begin() + t + 22050);
        EXPECT_GT(test::rms(w), 1e-3) << "silence at " << static_cast<double>(t) / 44100.0 << " s";
    }
    const auto again = live::renderStream(vibes, test::presets(), o);
    EXPECT_TRUE(again.audio.left() == r.audio.left() && again.audio.right() == r.audio.right());
    const auto events = changes(r.events);
    ASSERT_EQ(events.size(), 5u);
    for (std::size_t i = 1; i <= 2; ++i) {
        EXPECT_EQ(events[i].kind, "transition");
        EXPECT_EQ(events[i].vibe, static_cast<int>(i));
        EXPECT_EQ(events[i].sample, plan.segments[i - 1].transitionStart) << "where the plan puts it: the session's bar line";
    }
    EXPECT_EQ(events[3].kind, "fade_out");
    EXPECT_EQ(events[4].kind, "end");
    EXPECT_EQ(events[4].sample, plan.total);
    EXPECT_LT(test::rms(std::vector<float>(r.audio.left().end() - 441, r.audio.left().end())), 0.01 * test::rms(std::vector<float>(r.audio.left().end() - 8 * 44100, r.audio.left().end() - 6 * 44100)))
        << "the last vibe ends faded, on the total's sample";
    EXPECT_TRUE(std::any_of(r.events.begin(), r.events.end(), [](const live::StreamEvent& e) { return e.kind == "section"; })) << "the composer's sections are in the events";
}

TEST(Stream, SustainedLayersCrossfadeWithoutAClick) {
    // No drums: any jump at a change would be the change's own.
    live::StreamOptions o;
    o.transitionSeconds = 3.0;
    const std::vector<live::StreamVibe> vibes{vibe("warm", R"({"bpm":70,"rhythm":"none","pad":"warm_slow","seed":8})", 12.0),
                                              vibe("cold", R"({"bpm":100,"rhythm":"none","pad":"thin_high","mode":"minor","seed":8})", 12.0)};
    const auto r = live::renderStream(vibes, test::presets(), o);
    const auto plan = live::planStream(vibes, o);
    auto warm = vibes.front();
    warm.seconds = 24.0;
    const auto alone = live::renderStream({warm}, test::presets(), o);
    expectNoClicks(r.audio, plan, o.sampleRate, "sustained", 0.999, 2.0f, &alone.audio);
}


// From a 100-bpm vibe to a 140-bpm one the transition is beat-matched, as in `live`: both vibes
// follow one tempo ramp, so while their drum layers overlap the kicks coincide (the spacing
// shrinks steadily; two grids at their own tempos would flam), and a kick per beat at 140 after it.
TEST(Stream, ATransitionToAnotherTempoIsBeatMatched) {
    live::StreamOptions o;
    o.transitionSeconds = 8.0;
    o.layers = {"drums"};
    const std::vector<live::StreamVibe> vibes{vibe("slow", R"({"bpm":100,"rhythm":"electronic","pad":"warm_slow","seed":2})", 10.0),
                                              vibe("fast", R"({"bpm":140,"rhythm":"electronic","pad":"warm_slow","seed":9})", 16.0)};
    const auto r = live::renderStream(vibes, test::presets(), o);
    EXPECT_EQ(r.lateCommands, 0);
    const auto events = changes(r.events);
    ASSERT_GE(events.size(), 2u);
    ASSERT_EQ(events[1].kind, "transition");
    EXPECT_NEAR(events[1].bpm, 140.0, 1e-9);
    const double t0 = static_cast<double>(events[1].sample) / o.sampleRate, t1 = t0 + events[1].seconds;
    EXPECT_NEAR(events[1].seconds, rampSeconds(8.0 * 100.0 / 60.0, 100.0, 140.0), 1e-3) << "the outgoing vibe's beats, faster as the tempo rises";
    const auto kicks = test::kickTimes(r.audio, o.sampleRate);
    std::vector<double> during, after;
    for (std::size_t i = 1; i < kicks.size(); ++i) {
        if (kicks[i - 1] >= t0 && kicks[i] <= t1) during.push_back(kicks[i] - kicks[i - 1]);
        if (kicks[i - 1] >= t1 + 0.5 && kicks[i] <= 24.0) after.push_back(kicks[i] - kicks[i - 1]);
    }
    ASSERT_GE(during.size(), 6u);
    // The spacing shrinks steadily through the mix (one grid: a falling line, each kick within
    // the drummer's human timing of it; two grids would stray by a quarter of a beat or more).
    const auto trend = test::spacingTrend(during);
    EXPECT_LT(trend.slope, -0.005) << ::testing::PrintToString(during);
    EXPECT_LT(trend.worst, 0.02) << ::testing::PrintToString(during);
    EXPECT_LT(during.back(), during.front() - 0.08);
    ASSERT_GE(after.size(), 4u);
    std::sort(after.begin(), after.end());
    EXPECT_NEAR(after[after.size() / 2], 60.0 / 140.0, 0.012) << "a kick per beat at 140 bpm after it";
}

// A step from the vibe before ("+bright") glides, as in `live`: the same music goes on (the
// same samples up to the glide) and brightens, with no transition to a new rendition.
TEST(Stream, AStepGlides) {
    live::StreamOptions o;
    o.transitionSeconds = 2.0;
    const auto base = vibe("pads", R"({"bpm":80,"rhythm":"none","pad":"warm_slow","brightness":"dark","seed":5})", 10.0);
    auto bright = base;
    const auto step = live::parseSteering("+bright", base.config);
    ASSERT_TRUE(step.config);
    bright.label = "+bright";
    bright.config = *step.config;
    bright.sketch = compose::sketchFromMusicConfig(bright.config);
    auto plainVibe = base;
    plainVibe.seconds = 20.0;
    const auto steered = live::renderStream({base, bright}, test::presets(), o);
    const auto plain = live::renderStream({plainVibe}, test::presets(), o);
    const auto events = changes(steered.events);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[1].kind, "glide");
    EXPECT_EQ(events[1].label, "+bright");
    EXPECT_EQ(events[1].vibe, 1);
    EXPECT_NEAR(events[1].seconds, 2.0, 1e-3);
    EXPECT_EQ(std::count_if(steered.events.begin(), steered.events.end(), [](const live::StreamEvent& e) { return e.kind == "transition"; }), 0);
    const auto at = static_cast<std::size_t>(events[1].sample);
    EXPECT_TRUE(std::equal(plain.audio.left().begin(), plain.audio.left().begin() + static_cast<long>(at), steered.audio.left().begin()))
        << "the same music up to the glide";
    const auto window = [&](const StereoBuffer& a) {
        return std::vector<float>(a.left().begin() + static_cast<long>(at) + 2 * 44100, a.left().begin() + static_cast<long>(at) + 6 * 44100);
    };
    EXPECT_GT(analysis::spectralCentroid(window(steered.audio), o.sampleRate), 1.15 * analysis::spectralCentroid(window(plain.audio), o.sampleRate))
        << "brighter after the glide";
}

TEST(StreamCli, WritesTheMasteredStreamItsEventsAndRefusesBadTransitions) {
    test::TempDir dir;
    const auto r = test::runCommand(kBin + " stream 'morning coffee' 'minimal techno at night' --each 12 --transition 2bars -o '" + (dir / "s.flac") +
                                    "' --events '" + (dir / "e.jsonl") + "' --seed 5");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(test::runCommand("soxi '" + (dir / "s.flac") + "'").output.find("= 1058400 samples"), std::string::npos) << "24 s exactly";
    const auto events = readEvents(dir / "e.jsonl");
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0]["event"], "vibe");
    EXPECT_EQ(events[2]["event"], "fade_out");
    EXPECT_EQ(events[3]["event"], "end");
    EXPECT_EQ(events[1]["event"], "transition");
    EXPECT_EQ(events[1]["label"], "minimal techno at night");
    const double bar = 4 * 60.0 / events[0]["bpm"].get<double>() * 44100.0;
    const double bars = events[1]["sample"].get<double>() / bar;
    EXPECT_NEAR(bars, std::round(bars), 1.0 / bar + 1e-9) << "the transition starts on a bar line";
    EXPECT_EQ(events[1]["bar"].get<int>(), static_cast<int>(std::round(bars)));
    // Two bars of the outgoing vibe, beat-matched along the ramp to the incoming tempo.
    const double from = events[0]["bpm"], to = events[1]["bpm"];
    ASSERT_NE(from, to);
    EXPECT_NEAR(events[1]["seconds"].get<double>(), rampSeconds(8.0, from, to), 1e-3);
    // Loudness and true peak, measured by ffmpeg (an independent BS.1770 meter).
    const auto m = test::runCommand("ffmpeg -nostats -hide_banner -i '" + (dir / "s.flac") + "' -af ebur128=peak=true -f null - 2>&1");
    const auto i = m.output.rfind("I:");
    ASSERT_NE(i, std::string::npos) << m.output;
    EXPECT_NEAR(std::stod(m.output.substr(i + 2)), -14.0, 1.0) << m.output.substr(i);
    const auto p = m.output.rfind("Peak:");
    ASSERT_NE(p, std::string::npos);
    EXPECT_LE(std::stod(m.output.substr(p + 5)), -0.9) << "true peak at or under -1 dBTP";
    for (const auto& [args, expect] : std::vector<std::pair<std::string, std::string>>{
             {"a b --transition soon", "--transition 'soon' is not allowed"},
             {"a b --transition 0bars", "--transition '0bars' is not allowed"},
             {"a b --each 3 --transition 10", "too short for its transitions"},
             {"a b --each 5 --total 10", "excludes"}}) {
        const auto bad = test::runCommand(kBin + " stream " + args + " -q -o '" + (dir / "x.wav") + "'");
        EXPECT_NE(bad.code, 0) << args;
        EXPECT_NE(bad.output.find(expect), std::string::npos) << args << "\n" << bad.output;
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "x.wav"));
}

// A stream's vibes may be blends and steps from the vibe before, as in `live`: a blend's tempo
// lies between its parts', "b 140" plays the previous music at 140 bpm; a layer choice or q is
// not a vibe and is refused by name.
TEST(StreamCli, VibesMayBeBlendsAndStepsFromTheVibeBefore) {
    test::TempDir dir;
    const auto r = test::runCommand(kBin + " stream 'ambient drone' 'blend ambient drone 0.5, minimal techno 0.5' 'b 140' --each 12 -q -o '" +
                                    (dir / "s.wav") + "' --events '" + (dir / "e.jsonl") + "' --seed 5");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto events = readEvents(dir / "e.jsonl");
    ASSERT_EQ(events.size(), 5u);
    const auto techno = test::runCommand(kBin + " stream 'minimal techno' --each 10 -q -o '" + (dir / "t.wav") + "' --events '" + (dir / "t.jsonl") + "' --seed 5");
    ASSERT_EQ(techno.code, 0) << techno.output;
    const double technoBpm = nlohmann::json::parse(test::readText(dir / "t.jsonl").substr(0, test::readText(dir / "t.jsonl").find('\n')))["bpm"];
    const double ambient = events[0]["bpm"], blend = events[1]["bpm"];
    EXPECT_NE(ambient, technoBpm);
    EXPECT_NEAR(blend, 0.5 * (ambient + technoBpm), 1.0) << "the blend's tempo lies halfway between its parts'";
    EXPECT_EQ(events[2]["label"], "b 140");
    EXPECT_EQ(events[2]["event"], "glide") << "a step glides: the same music, its tempo ramping";
    EXPECT_DOUBLE_EQ(events[2]["bpm"].get<double>(), 140.0);
    EXPECT_NE(test::runCommand("soxi '" + (dir / "s.wav") + "'").output.find("= 1587600 samples"), std::string::npos) << "36 s exactly";
    for (const std::string bad : {"'s drums'", "q"}) {
        const auto b = test::runCommand(kBin + " stream calm " + bad + " --each 10 -q -o '" + (dir / "x.wav") + "'");
        EXPECT_NE(b.code, 0) << bad;
        EXPECT_NE(b.output.find("is not a vibe for a stream"), std::string::npos) << b.output;
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "x.wav"));
}

TEST(StreamCli, PlayPlaysTheRenderedStreamInRealTimeAndWritesOnlyWhenAskedTo) {
    test::TempDir dir;
    const std::string cmd = "cd '" + (dir / "") + "' && " + kBin + " stream calm 'busy techno' --each 3 --transition 0.5 --play --device null";
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = test::runCommand(cmd);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("playing 6.0 s on null"), std::string::npos) << r.output;
    EXPECT_GE(test::numberIn(r.output, R"(played ([0-9.]+) s)"), 6.0) << r.output;
    EXPECT_GE(wall, 5.9) << "played at the pace of its clock";
    EXPECT_FALSE(std::filesystem::exists(dir / "soundstar-stream.wav")) << "--play alone writes nothing";
    const auto both = test::runCommand(cmd + " -q -o both.flac");
    ASSERT_EQ(both.code, 0) << both.output;
    EXPECT_EQ(test::soxInfo(dir / "both.flac").frames, 6 * 44100);
}

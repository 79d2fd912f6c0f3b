// Live sessions steered in process (issue #18): the tempo map, glides of continuous fields
// (the music goes on; parameters, sends and returns move; no click), tempo ramps in beat time
// (kick spacing shrinks monotonically, aubio finds the new tempo), key changes on a phrase,
// `s` choosing the layers, `now` within one block, weighted blends.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "Analysis.h"
#include "analysis/Key.h"
#include "analysis/Spectrum.h"
#include "Cli.h"
#include "Loudness.h"
#include "Presets.h"
#include "compose/SketchConfig.h"
#include "core/AudioRing.h"
#include "core/Rng.h"
#include "dsp/Leveller.h"
#include "io/AudioFile.h"
#include "live/LiveSession.h"
#include "live/Steering.h"
#include "live/TempoMap.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
constexpr double kRate = 44100.0;

live::StreamVibe vibe(const std::string& label, const music::MusicConfig& cfg) { return {label, cfg, compose::sketchFromMusicConfig(cfg), 0.0}; }
live::StreamVibe vibe(const std::string& label, const std::string& json) { return vibe(label, music::parseMusicConfig(json)); }

/// Plays a session on a virtual clock for `seconds`, calling `steer(pos)` before each block.
StereoBuffer play(live::LiveSession& s, double seconds, const std::function<void(SampleTime)>& steer = {}, int block = 256) {
    const auto total = static_cast<SampleTime>(seconds * kRate);
    StereoBuffer out;
    out.resize(static_cast<int>(total));
    for (SampleTime pos = 0; pos < total; pos += block) {
        if (steer) steer(pos);
        while (!s.pump(pos + block)) {
        }
        const int n = static_cast<int>(std::min<SampleTime>(block, total - pos));
        s.engine().render(out.view().offset(static_cast<int>(pos), n));
    }
    return out;
}

std::vector<float> slice(const std::vector<float>& x, double from, double to) {
    return {x.begin() + static_cast<long>(from * kRate), x.begin() + static_cast<long>(std::min<double>(to * kRate, static_cast<double>(x.size())))};
}

/// Clicks, measured against the same session left alone: changes start on bar lines, where the
/// music's own notes start too, so the largest sample-to-sample jump within 50 ms of each point
/// of a change is compared with the unsteered session's largest jump there, scaled by how much
/// the sound itself changed (the 99.9th percentile of the jumps in the second after the window,
/// steered over unsteered). A click from the change would add a jump the music does not have.
void expectNoClicks(const StereoBuffer& a, const StereoBuffer& plain, const std::vector<SampleTime>& changes, float factor, const std::string& what) {
    const auto window = static_cast<SampleTime>(0.05 * kRate), second = static_cast<SampleTime>(kRate);
    for (int c = 0; c < 2; ++c) {
        const auto& x = c == 0 ? a.left() : a.right();
        const auto& y = c == 0 ? plain.left() : plain.right();
        const auto n = static_cast<SampleTime>(x.size());
        const auto jump = [&](const std::vector<float>& v, SampleTime i) { return std::abs(v[static_cast<std::size_t>(i)] - v[static_cast<std::size_t>(i - 1)]); };
        const auto worstNear = [&](const std::vector<float>& v, SampleTime at) {
            float worst = 0.0f;
            for (SampleTime i = std::max<SampleTime>(1, at - window); i <= std::min<SampleTime>(at + window, n - 1); ++i) worst = std::max(worst, jump(v, i));
            return worst;
        };
        const auto p999 = [&](const std::vector<float>& v, SampleTime from) {
            std::vector<float> j;
            for (SampleTime i = std::max<SampleTime>(1, from); i < std::min(from + second, n); ++i) j.push_back(jump(v, i));
            const auto k = static_cast<long>(static_cast<double>(j.size()) * 0.999);
            std::nth_element(j.begin(), j.begin() + k, j.end());
            return j[static_cast<std::size_t>(k)];
        };
        for (const auto at : changes) {
            const SampleTime after = std::min(at + window + 1, n - second);
            const float scale = std::max(1.0f, p999(x, after) / std::max(p999(y, after), 1e-6f));
            EXPECT_LE(worstNear(x, at), factor * scale * worstNear(y, at)) << what << ": a click near " << static_cast<double>(at) / kRate << " s";
        }
    }
}

/// Points to check for clicks over a change from `start` lasting `length`: its ends and eight between.
std::vector<SampleTime> pointsOf(SampleTime start, SampleTime length) {
    std::vector<SampleTime> out;
    for (int i = 0; i <= 8; ++i) out.push_back(start + length * i / 8);
    return out;
}


const char* kPads = R"({"bpm":80,"rhythm":"none","pad":"warm_slow","brightness":"dark","seed":5})";
}  // namespace

TEST(TempoMap, ARampIsContinuousMonotonicAndLandsOnTheNewTempo) {
    live::TempoMap m(1000.0, 120.0, kRate);
    EXPECT_DOUBLE_EQ(m.sampleAt(4.0), 1000.0 + 2.0 * kRate);
    m.rampTo(8.0, 150.0, 8.0);  // from beat 8, 120 -> 150 bpm over 8 beats
    EXPECT_DOUBLE_EQ(m.sampleAt(8.0), 1000.0 + 4.0 * kRate) << "before the ramp nothing moves";
    double last = m.sampleAt(8.0), lastGap = 1e9;
    for (int b = 9; b <= 24; ++b) {
        const double s = m.sampleAt(b), gap = s - last;
        EXPECT_LT(gap, lastGap + 1e-6) << "beats only get shorter while the tempo rises";
        EXPECT_NEAR(m.beatAt(s), b, 1e-9) << "beatAt inverts sampleAt";
        last = s, lastGap = gap;
    }
    EXPECT_NEAR(m.bpmAt(12.0), 135.0, 1e-9);
    EXPECT_NEAR(m.sampleAt(21.0) - m.sampleAt(20.0), 60.0 / 150.0 * kRate, 1e-6) << "after the ramp: the new tempo";
    // The ramp's length in time: the integral of 60/bpm over 8 beats.
    EXPECT_NEAR(m.sampleAt(16.0) - m.sampleAt(8.0), 60.0 * 8.0 / 30.0 * std::log(150.0 / 120.0) * kRate, 1e-6);
    // A later ramp replaces what followed; the beat is continuous through it.
    const double at10 = m.sampleAt(10.0);
    m.rampTo(10.0, 90.0, 4.0);
    EXPECT_NEAR(m.sampleAt(10.0), at10, 1e-6);
    EXPECT_NEAR(m.sampleAt(15.0) - m.sampleAt(14.0), 60.0 / 90.0 * kRate, 1e-6);
}

TEST(LiveSession, AGlideKeepsTheMusicAndMovesTheSoundWithoutAClick) {
    live::LiveOptions o;
    o.transitionSeconds = 3.0;
    const auto first = vibe("pads", kPads);
    live::LiveSession control(test::presets(), first, o), steered(test::presets(), first, o);
    const auto plain = play(control, 20.0);
    SampleTime start = -1, start2 = -1;
    const auto a = play(steered, 20.0, [&](SampleTime pos) {
        if (pos == 256 * 1000) start = steered.change(vibe("+1", music::applyUpdate(first.config, R"({"brightness":"+1","space":"+2"})")), pos);
        if (pos == 256 * 2200)  // medium -> bright changes the bass and pad instruments: crossfaded, the same notes
            start2 = steered.change(vibe("+1 more", music::applyUpdate(steered.current().config, R"({"brightness":"+2"})")), pos);
    });
    ASSERT_GT(start, 0);
    ASSERT_GT(start2, start);
    ASSERT_EQ(steered.events().size(), 3u);
    EXPECT_EQ(steered.events()[1].kind, "glide");
    EXPECT_EQ(steered.events()[2].kind, "glide");
    EXPECT_EQ(steered.events()[1].sample, start);
    EXPECT_EQ(std::llround(std::fmod(static_cast<double>(start), 4 * 60.0 / 80.0 * kRate)), 0) << "on a bar line";
    // Until the glide starts both sessions played the same samples: it lands on its sample.
    EXPECT_TRUE(std::equal(plain.left().begin(), plain.left().begin() + start, a.left().begin()));
    EXPECT_FALSE(std::equal(plain.left().begin(), plain.left().begin() + start + 4410, a.left().begin())) << "and it does something";
    // The same composition goes on (no new vibe): the notes are the same, only brighter.
    const auto before = slice(plain.left(), 17.0, 20.0), after = slice(a.left(), 17.0, 20.0);
    EXPECT_GT(analysis::spectralCentroid(after, kRate), 1.3 * analysis::spectralCentroid(before, kRate));
    const auto ch = analysis::chroma(before, kRate), ch2 = analysis::chroma(after, kRate);
    const auto k1 = analysis::estimateKey(ch), k2 = analysis::estimateKey(ch2);
    EXPECT_EQ(k1.tonic, k2.tonic) << "the harmony went on";
    EXPECT_EQ(k1.minor, k2.minor) << "the harmony went on";
    const SampleTime length = static_cast<SampleTime>(3.0 * kRate);
    auto points = pointsOf(start, length);
    const auto more = pointsOf(start2, length);
    points.insert(points.end(), more.begin(), more.end());
    expectNoClicks(a, plain, points, 1.5f, "glide");
    // The measurement finds a click of a tenth of full scale (a step, as a parameter jump makes).
    StereoBuffer clicked = a;
    const auto at = static_cast<std::size_t>(start + length / 2);
    for (std::size_t i = at; i < at + 2000; ++i) clicked.left()[i] += 0.1f * static_cast<float>(at + 2000 - i) / 2000.0f;
    EXPECT_NONFATAL_FAILURE(expectNoClicks(clicked, plain, {start + length / 2}, 1.5f, "a step"), "a click near");
    EXPECT_EQ(steered.lateCommands(), 0);
}

// A change asked for while another is under way does not wait for it: a glide takes every ramp
// over from where it has got to, and a transition during a transition starts on the next bar,
// hurrying the oldest vibe out over a beat; no clicks and no hole in the sound.
TEST(LiveSession, AChangeDuringAnotherTakesOverWithoutWaiting) {
    live::LiveOptions o;
    o.transitionSeconds = 3.0;
    const auto first = vibe("pads", kPads);  // 80 bpm: a bar is 3 s
    live::LiveSession control(test::presets(), first, o), s(test::presets(), first, o);
    const auto plain = play(control, 30.0);
    std::vector<SampleTime> starts;
    const auto a = play(s, 30.0, [&](SampleTime pos) {
        if (pos == 256 * 600) starts.push_back(s.change(vibe("brighter", music::applyUpdate(first.config, R"({"brightness":"+1","space":"+2"})")), pos));
        if (pos == 256 * 1300)
            starts.push_back(s.change(vibe("drier", music::applyUpdate(s.current().config, R"({"space":"-3","echo":"+2"})")), pos, live::Grid::Beat));
        if (pos == 256 * 2100) starts.push_back(s.change(vibe("beat", R"({"bpm":120,"rhythm":"electronic","seed":9})"), pos, live::Grid::Auto, 8.0));
        if (pos == 256 * 2800) starts.push_back(s.change(vibe("jazz", R"({"bpm":120,"rhythm":"brush","pad":"warm_slow","seed":3})"), pos));
    });
    ASSERT_EQ(starts.size(), 4u);
    ASSERT_EQ(s.events().size(), 5u);
    EXPECT_EQ(s.events()[2].kind, "glide");
    EXPECT_EQ(s.events()[4].kind, "transition");
    const SampleTime length = static_cast<SampleTime>(3.0 * kRate);
    EXPECT_LT(starts[1], starts[0] + length) << "the second glide began while the first was under way";
    EXPECT_LE(starts[1] - 256 * 1300, static_cast<SampleTime>(0.75 * kRate) + 256) << "on the next beat";
    // The first transition lasts 8 s; the second, asked for 2.9 s into it, hurries the pads out
    // over a beat from the next bar and starts on the bar after (120 bpm: bars of 2 s).
    EXPECT_LT(starts[3], starts[2] + static_cast<SampleTime>(8.0 * kRate)) << "the second transition began while the first was under way";
    EXPECT_LE(starts[3] - 256 * 2800, static_cast<SampleTime>(4.0 * kRate) + 256) << "within two bars";
    std::vector<SampleTime> glides;
    for (const auto at : {starts[0], starts[1]}) {
        const auto p = pointsOf(at, length);
        glides.insert(glides.end(), p.begin(), p.end());
    }
    expectNoClicks(a, plain, glides, 1.5f, "overlapping glides");
    // Around the transitions the music changes altogether, so the file is its own reference: the
    // largest jump within 50 ms of each point stays within 2x the 99.9th percentile elsewhere.
    std::vector<SampleTime> points = pointsOf(starts[2], static_cast<SampleTime>(8.0 * kRate)), more = pointsOf(starts[3], length);
    points.insert(points.end(), more.begin(), more.end());
    points.push_back(starts[3] - static_cast<SampleTime>(2.0 * kRate));  // where the pads were hurried out
    for (const auto* x : {&a.left(), &a.right()}) {
        const auto window = static_cast<SampleTime>(0.05 * kRate);
        std::vector<char> near(x->size(), 0);
        for (const auto p : points)
            for (SampleTime i = std::max<SampleTime>(1, p - window); i <= std::min<SampleTime>(p + window, static_cast<SampleTime>(x->size()) - 1); ++i)
                near[static_cast<std::size_t>(i)] = 1;
        std::vector<float> rest;
        float worst = 0.0f;
        for (std::size_t i = static_cast<std::size_t>(starts[2]); i < x->size(); ++i) {
            const float j = std::abs((*x)[i] - (*x)[i - 1]);
            if (near[i]) worst = std::max(worst, j);
            else rest.push_back(j);
        }
        const auto k = static_cast<long>(static_cast<double>(rest.size()) * 0.999);
        std::nth_element(rest.begin(), rest.begin() + k, rest.end());
        EXPECT_LE(worst, 2.0f * rest[static_cast<std::size_t>(k)]) << "a click around the transitions";
    }
    // No hole: from the first transition to the end, no 100 ms is more than 15 dB under the median.
    std::vector<double> rms;
    for (double t = static_cast<double>(starts[2]) / kRate; t + 0.1 < 30.0; t += 0.1) {
        const auto x = slice(a.left(), t, t + 0.1);
        double e = 0.0;
        for (const float v : x) e += static_cast<double>(v) * v;
        rms.push_back(10.0 * std::log10(e / static_cast<double>(x.size()) + 1e-20));
    }
    auto sorted = rms;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2), sorted.end());
    const double median = sorted[sorted.size() / 2];
    for (std::size_t i = 0; i < rms.size(); ++i)
        EXPECT_GT(rms[i], median - 15.0) << "a hole at " << static_cast<double>(starts[2]) / kRate + 0.1 * static_cast<double>(i) << " s";
    EXPECT_EQ(s.lateCommands(), 0);
}

TEST(LiveSession, ATempoChangeRampsInBeatTimeAndTheKicksFollow) {
    live::LiveOptions o;
    o.transitionSeconds = 0.5;
    const auto first = vibe("beat", R"({"bpm":100,"rhythm":"electronic","pad":"warm_slow","seed":2})");
    live::LiveSession s(test::presets(), first, o);
    SampleTime rampStart = -1;
    const auto a = play(s, 30.0, [&](SampleTime pos) {
        if (pos == 0) s.setLayers({"drums"}, 0);
        if (pos == 256 * 400) rampStart = s.change(vibe("b 140", music::mergeMusicConfig(first.config, R"({"bpm":140})")), pos, live::Grid::Bar, 8.0);
    });
    ASSERT_GT(rampStart, 0);
    EXPECT_EQ(s.events().back().kind, "glide");
    EXPECT_NEAR(s.bpmAt(static_cast<SampleTime>(29.0 * kRate)), 140.0, 1e-9);
    const double mid = s.bpmAt(rampStart + static_cast<SampleTime>(4.0 * kRate));
    EXPECT_GT(mid, 105.0);
    EXPECT_LT(mid, 135.0);
    const auto kicks = test::kickTimes(a, kRate);
    ASSERT_GT(kicks.size(), 30u);
    const double t0 = static_cast<double>(rampStart) / kRate;
    std::vector<double> during;
    for (std::size_t i = 1; i < kicks.size(); ++i)
        if (kicks[i - 1] >= t0 && kicks[i] <= t0 + 7.0) during.push_back(kicks[i] - kicks[i - 1]);
    ASSERT_GE(during.size(), 4u);
    // The spacing shrinks steadily through the ramp: a falling line, each kick within the
    // drummer's human timing (a few ms) of it.
    const auto trend = test::spacingTrend(during);
    EXPECT_LT(trend.slope, -0.005) << ::testing::PrintToString(during);
    EXPECT_LT(trend.worst, 0.02) << ::testing::PrintToString(during);
    EXPECT_LT(during.back(), during.front() - 0.05);
    // After the ramp aubio (an independent tool) finds the new tempo.
    test::TempDir dir;
    StereoBuffer tail;
    tail.resize(static_cast<int>(12.0 * kRate));
    for (int i = 0; i < tail.frames(); ++i)
        tail.left()[static_cast<std::size_t>(i)] = a.left()[static_cast<std::size_t>(i) + static_cast<std::size_t>(18.0 * kRate)],
        tail.right()[static_cast<std::size_t>(i)] = a.right()[static_cast<std::size_t>(i) + static_cast<std::size_t>(18.0 * kRate)];
    io::writeAudioFile(dir / "tail.wav", tail, kRate, io::FileFormat::Wav16);
    const auto r = test::runCommand("aubio tempo '" + (dir / "tail.wav") + "'");
    const double bpm = std::atof(r.output.c_str());
    EXPECT_TRUE(std::abs(bpm - 140.0) < 3.0 || std::abs(bpm - 70.0) < 2.0) << r.output;
    EXPECT_EQ(s.lateCommands(), 0);
}

// A transition to other music at another tempo is beat-matched, as a DJ mixes: both vibes follow
// one tempo ramp over the transition, so while the two drum layers overlap their kicks coincide
// (the spacing shrinks steadily: no flams, no second grid) and the new tempo holds after it.
TEST(LiveSession, ATransitionToAnotherTempoIsBeatMatched) {
    live::LiveOptions o;
    const auto first = vibe("beat", R"({"bpm":100,"rhythm":"electronic","pad":"warm_slow","seed":2})");
    live::LiveSession s(test::presets(), first, o);
    SampleTime start = -1;
    const auto a = play(s, 30.0, [&](SampleTime pos) {
        if (pos == 0) s.setLayers({"drums"}, 0);
        if (pos == 256 * 400) start = s.change(vibe("other", R"({"bpm":140,"rhythm":"electronic","pad":"warm_slow","seed":9})"), pos, live::Grid::Bar, 8.0);
    });
    ASSERT_GT(start, 0);
    ASSERT_EQ(s.events().back().kind, "transition");
    EXPECT_NEAR(s.events().back().bpm, 140.0, 1e-9);
    const double t0 = static_cast<double>(start) / kRate, t1 = t0 + s.events().back().seconds;
    EXPECT_LT(t1 - t0, 8.0) << "the transition's beats go faster as the tempo rises";
    const double mid = s.bpmAt(start + static_cast<SampleTime>(3.0 * kRate));
    EXPECT_GT(mid, 105.0);
    EXPECT_LT(mid, 135.0);
    const auto kicks = test::kickTimes(a, kRate);
    std::vector<double> during, after;
    for (std::size_t i = 1; i < kicks.size(); ++i) {
        if (kicks[i - 1] >= t0 && kicks[i] <= t1) during.push_back(kicks[i] - kicks[i - 1]);
        if (kicks[i - 1] >= t1 + 1.0) after.push_back(kicks[i] - kicks[i - 1]);
    }
    ASSERT_GE(during.size(), 6u);
    for (std::size_t i = 1; i < during.size(); ++i) EXPECT_LE(during[i], during[i - 1] + 0.012) << "kick " << i << ": spacing shrinks through the mix";
    ASSERT_GE(after.size(), 4u);
    std::sort(after.begin(), after.end());
    EXPECT_NEAR(after[after.size() / 2], 60.0 / 140.0, 0.012) << "a kick per beat at 140 bpm after it";
    EXPECT_EQ(s.lateCommands(), 0);
}

TEST(LiveSession, AKeyChangeWaitsForAPhraseAndNowLandsOnTheNextBlock) {
    live::LiveOptions o;
    const auto first = vibe("pads", kPads);
    live::LiveSession s(test::presets(), first, o);
    SampleTime key = -1, now = -1, asked = -1;
    play(s, 40.0, [&](SampleTime pos) {
        if (pos == 256 * 300) key = s.change(vibe("k E", music::mergeMusicConfig(first.config, R"({"key":"e"})")), pos);
        if (pos == 256 * 4000) {
            asked = pos + 256;  // what is queued already plays; the next block is free
            now = s.change(vibe("other", R"({"bpm":120,"rhythm":"electronic","seed":9})"), asked, live::Grid::Now);
        }
    });
    const double bar = 4 * 60.0 / 80.0 * kRate;
    ASSERT_GT(key, 0);
    EXPECT_EQ(s.events()[1].kind, "transition");
    EXPECT_EQ(s.events()[1].bar % 4, 0) << "a key change lands on a phrase";
    EXPECT_GT(static_cast<double>(key), 256.0 * 300 + bar) << "not on the next bar: bar 1 would have come first";
    EXPECT_EQ(now, asked);
    EXPECT_EQ(s.events()[2].sample, asked);
}

TEST(LiveSession, SChoosesTheLayersThatPlayAndAllBringsThemBack) {
    live::LiveOptions o;
    o.transitionSeconds = 1.0;
    const auto first = vibe("full", R"({"bpm":90,"rhythm":"none","pad":"warm_slow","melody":"contemplative","brightness":"bright","seed":4})");
    live::LiveSession control(test::presets(), first, o), s(test::presets(), first, o);
    const auto plain = play(control, 30.0);
    const auto a = play(s, 30.0, [&](SampleTime pos) {
        if (pos == 256 * 800) s.setLayers({"bass"}, pos);
        if (pos == 256 * 2600) s.setLayers({}, pos);
    });
    EXPECT_EQ(s.events()[1].kind, "layers");
    EXPECT_EQ(s.events()[1].label, "bass");
    EXPECT_THROW(s.setLayers({"tuba"}, 0), std::invalid_argument);
    // The bass is mono in the middle; every other layer is panned or wide. With the bass alone the
    // side signal (L - R) falls away; after `s all` it is back.
    const auto side = [](const StereoBuffer& x, double from, double to) {
        double e = 0.0;
        for (auto i = static_cast<std::size_t>(from * kRate); i < static_cast<std::size_t>(to * kRate); ++i) e += std::pow(x.left()[i] - x.right()[i], 2);
        return e;
    };
    EXPECT_LT(side(a, 9.0, 14.0), 0.01 * side(plain, 9.0, 14.0)) << "more than 20 dB less";
    EXPECT_NEAR(10.0 * std::log10(side(a, 20.0, 28.0) / side(plain, 20.0, 28.0)), 0.0, 1.5);
    expectNoClicks(a, plain, pointsOf(s.events()[1].sample, static_cast<SampleTime>(kRate)), 1.5f, "layers");
}

// A DJ's replace_layer: the bass part changes style (sustained to walking) over a bar, the new one fading in while the
// old fades out, equal-power. Over each quarter of the crossfade the power is the weighted sum of
// the two parts' (cos^2 and sin^2, measured on a session left alone and on one that cuts to the new
// part on the same bar line) within 1.5 dB: a linear crossfade dips ~2.7 dB in its middle half; and no click.
TEST(LiveSession, ReplacingALayerCrossfadesItEqualPowerOnABarLine) {
    live::LiveOptions o;
    o.form = "loop";
    o.masterChain = false;
    o.initialLayers = {"bass"};
    const auto oldVibe = vibe("old", R"({"bpm":100,"rhythm":"none","bass":"sustained","seed":5})");
    const auto newVibe = vibe("new", music::applyUpdate(oldVibe.config, R"({"bass":"walking"})"));
    live::LiveSession plainOld(test::presets(), oldVibe, o), cut(test::presets(), oldVibe, o), s(test::presets(), oldVibe, o);
    const double bar = 4 * 60.0 / 100.0 * kRate;
    SampleTime start = -1;
    const auto a = play(s, 16.0, [&](SampleTime pos) {
        if (pos == 256 * 700) start = s.replaceLayer("bass", newVibe, pos, bar / kRate);
    });
    const auto x = play(plainOld, 16.0), y = play(cut, 16.0, [&](SampleTime pos) {
        if (pos == 256 * 700) cut.replaceLayer("bass", newVibe, pos, 1.0 / kRate);
    });
    ASSERT_GT(start, 256 * 700);
    EXPECT_EQ(std::llround(std::fmod(static_cast<double>(start), bar)), 0) << "on a bar line";
    EXPECT_EQ(s.events().back().kind, "replace");
    EXPECT_EQ(s.events().back().sample, start);
    EXPECT_THROW(s.replaceLayer("tuba", newVibe, 0, 1.0), std::invalid_argument);
    EXPECT_TRUE(std::equal(x.left().begin(), x.left().begin() + start, a.left().begin())) << "nothing changes before the bar line";
    const auto power = [](const StereoBuffer& b, SampleTime from, SampleTime to) {
        double e = 0.0;
        for (auto i = from; i < to; ++i) e += std::pow(b.left()[static_cast<std::size_t>(i)], 2) + std::pow(b.right()[static_cast<std::size_t>(i)], 2);
        return e / static_cast<double>(to - from);
    };
    const auto length = static_cast<SampleTime>(std::llround(bar));
    for (int q = 0; q < 4; ++q) {
        const SampleTime from = start + length * q / 4, to = start + length * (q + 1) / 4;
        // The mean of cos^2 over the quarter (sin^2 is one minus it).
        const double t0 = q / 4.0, t1 = (q + 1) / 4.0, pi = 3.14159265358979;
        const double wOld = 0.5 + (std::sin(pi * t1) - std::sin(pi * t0)) / (2.0 * pi * (t1 - t0));
        const double expected = wOld * power(x, from, to) + (1.0 - wOld) * power(y, from, to);
        EXPECT_NEAR(10.0 * std::log10(power(a, from, to) / expected), 0.0, 1.5) << "quarter " << q << " of the crossfade";
    }
    // After it the new part plays: the steered session sounds like the new vibe, not the old.
    const SampleTime after = start + 2 * length, end = after + length;
    const auto diff = [&](const StereoBuffer& u) {
        double e = 0.0;
        for (auto i = after; i < end; ++i) e += std::pow(a.left()[static_cast<std::size_t>(i)] - u.left()[static_cast<std::size_t>(i)], 2);
        return e;
    };
    EXPECT_LT(diff(y), 0.1 * diff(x)) << "closer to the new part than to the old";
    // No click: near each point of the crossfade the largest sample-to-sample jump is no more
    // than 1.5 times the old part's plus the new part's there (the crossfade is their sum, scaled
    // by gains that move smoothly); at its start, where the new part is still silent, the old one's.
    const auto worst = [](const StereoBuffer& b, SampleTime at) {
        float w = 0.0f;
        for (auto i = at - 2205; i <= at + 2205; ++i) w = std::max(w, std::abs(b.left()[static_cast<std::size_t>(i)] - b.left()[static_cast<std::size_t>(i - 1)]));
        return w;
    };
    const auto clickFree = [&](const StereoBuffer& b) {
        bool ok = worst(b, start) <= 1.5f * worst(x, start);
        for (int i = 1; i <= 8; ++i) ok = ok && worst(b, start + length * i / 8) <= 1.5f * (worst(x, start + length * i / 8) + worst(y, start + length * i / 8));
        return ok;
    };
    EXPECT_TRUE(clickFree(a));
    StereoBuffer clicked = a;  // the measure finds a step of a twentieth of full scale
    for (std::size_t i = 0; i < 2000; ++i) clicked.left()[static_cast<std::size_t>(start + length / 2) + i] += 0.05f * static_cast<float>(2000 - i) / 2000.0f;
    EXPECT_FALSE(clickFree(clicked));
    EXPECT_EQ(s.lateCommands(), 0);
}

TEST(Blend, TheHeaviestPartsMusicWithContinuousFieldsAndTempoInBetween) {
    const auto a = music::parseMusicConfig(R"({"bpm":70,"brightness":"very_dark","space":"vast","genre":"ambient","seed":1})");
    const auto b = music::parseMusicConfig(R"({"bpm":130,"brightness":"very_bright","space":"dry","genre":"techno","seed":2})");
    const auto m = live::blendConfigs({{a, 0.7}, {b, 0.3}});
    EXPECT_EQ(m.genre, "ambient");
    EXPECT_EQ(m.seed, a.seed);
    EXPECT_NEAR(m.resolvedBpm(), 0.7 * 70 + 0.3 * 130, 0.01);
    EXPECT_NEAR(m.level("brightness"), 0.3, 0.13);
    const auto n = live::blendConfigs({{a, 0.2}, {b, 0.8}});
    EXPECT_EQ(n.genre, "techno");
    EXPECT_GT(n.level("brightness"), m.level("brightness"));
    // Parsing: the typed and the JSON forms, normalised; bad weights and too many parts refused.
    const auto c = live::parseSteering("blend ambient drone 3, minimal techno 1", music::MusicConfig{});
    ASSERT_EQ(c.blend.size(), 2u);
    EXPECT_EQ(c.blend[0].first, "ambient drone");
    EXPECT_DOUBLE_EQ(c.blend[0].second, 0.75);
    const auto j = live::parseSteering(R"({"vibes":[["a",1],["b",1]],"transition":"2bars","at":"beat"})", music::MusicConfig{});
    EXPECT_DOUBLE_EQ(j.blend[1].second, 0.5);
    EXPECT_EQ(j.grid, live::Grid::Beat);
    ASSERT_TRUE(j.transition.has_value());
    EXPECT_EQ(j.transition->bars, 2);
    EXPECT_THROW(live::parseSteering("blend a 0, b 1", music::MusicConfig{}), std::invalid_argument);
    EXPECT_THROW(live::parseSteering("blend a", music::MusicConfig{}), std::invalid_argument);
    EXPECT_THROW(live::parseSteering(R"({"vibes":[["a",1],["b",1],["c",1],["d",1],["e",1],["f",1],["g",1],["h",1],["i",1]]})", music::MusicConfig{}),
                 std::invalid_argument);
    const auto layers = live::parseSteering("s drums, bass", music::MusicConfig{});
    ASSERT_TRUE(layers.layers.has_value());
    EXPECT_EQ(*layers.layers, (std::vector<std::string>{"drums", "bass"}));
    EXPECT_TRUE(live::parseSteering("s all", music::MusicConfig{}).layers->empty());
    try {
        live::parseSteering("s drums,tuba", music::MusicConfig{});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'tuba' is not a layer; allowed: drums"), std::string::npos) << e.what();
    }
}

TEST(Leveller, BringsASteadySignalToTheTargetSlowlyAndHoldsInQuietPassages) {
    const double sr = 48000.0;
    const auto run = [&](float amplitude, double seconds, dsp::Leveller& l, std::vector<float>* gains = nullptr) {
        Rng rng(7);
        std::vector<float> left(static_cast<std::size_t>(seconds * sr)), right(left.size());
        for (std::size_t i = 0; i < left.size(); ++i) left[i] = right[i] = amplitude * (2.0f * rng.uniform() - 1.0f);
        for (std::size_t pos = 0; pos < left.size(); pos += 256) {
            l.process({left.data() + pos, right.data() + pos, static_cast<int>(std::min<std::size_t>(256, left.size() - pos))});
            if (gains) gains->push_back(l.gainDb());
        }
        return std::vector<std::vector<float>>{left, right};
    };
    dsp::Leveller l;
    l.prepare(sr);
    l.set(-14.0f, 12.0f, 6.0f);
    std::vector<float> gains;
    const auto out = run(0.05f, 60.0, l, &gains);
    // The last 20 s, measured by the tests' own BS.1770 meter, sit at the target.
    std::vector<std::vector<float>> tail{{out[0].end() - static_cast<long>(20 * sr), out[0].end()}, {out[1].end() - static_cast<long>(20 * sr), out[1].end()}};
    EXPECT_NEAR(test::integratedLufs(tail, sr), -14.0, 0.5);
    // Slowly: after one second it has moved less than half way; the gain never steps by more
    // than 0.05 dB from one block to the next.
    const std::size_t oneSecond = static_cast<std::size_t>(sr / 256);
    EXPECT_LT(gains[oneSecond], 0.5f * gains.back());
    for (std::size_t i = 1; i < gains.size(); ++i) EXPECT_LT(std::abs(gains[i] - gains[i - 1]), 0.05f) << i;
    // A signal ~16 dB under the target is boosted by no more than max_gain; a quiet passage
    // (more than 20 LU under the target) after it holds the gain.
    dsp::Leveller q;
    q.prepare(sr);
    q.set(-14.0f, 12.0f, 2.0f);
    run(0.03f, 30.0, q);
    EXPECT_NEAR(q.gainDb(), 12.0f, 0.1f);
    const float held = q.gainDb();
    run(0.0001f, 10.0, q);
    EXPECT_NEAR(q.gainDb(), held, 0.01f) << "nearly silent: the gain is held, not pumped";
}

// A layer's trim (live_mix gain_db and pan) sits after the session's own fades and pans: the same
// session with the pad trimmed -12 dB plays that layer exactly 12 dB lower, and with a hard-left
// balance its right channel is silent while its left is unchanged. Read from the layer's own
// post-fader output (the engine's track tap), so the returns and the master do not blur it.
TEST(LiveSession, ALayersTrimSetsItsGainAndBalanceAfterTheSessionsOwn) {
    struct Levels {
        double left = 0.0, right = 0.0;  // RMS, linear
    };
    const auto run = [](std::optional<float> gainDb, std::optional<float> pan) {
        live::LiveOptions o;
        o.masterChain = false;
        live::LiveSession s(test::presets(), vibe("pads", kPads), o);
        const auto& layers = s.layers();
        const auto li = static_cast<int>(std::find(layers.begin(), layers.end(), "pad") - layers.begin());
        AudioRing ring(1 << 20);
        s.engine().setTrackTap(2 * li, &ring);  // the first vibe plays on each layer's first slot
        if (gainDb || pan) {
            EXPECT_EQ(s.setLayerTrim("pad", gainDb, pan), 0);
        }
        play(s, 6.0);
        s.engine().setTrackTap(-1, nullptr);
        std::vector<float> frames(2 << 20);
        const std::size_t n = ring.read(frames.data(), frames.size() / 2);
        Levels l;
        for (std::size_t i = static_cast<std::size_t>(kRate); i < n; ++i) {  // after the first second (the trim's 20 ms ramp)
            l.left += frames[2 * i] * frames[2 * i];
            l.right += frames[2 * i + 1] * frames[2 * i + 1];
        }
        l.left = std::sqrt(l.left / static_cast<double>(n)), l.right = std::sqrt(l.right / static_cast<double>(n));
        return l;
    };
    const auto db = [](double x) { return 20.0 * std::log10(std::max(x, 1e-12)); };
    const Levels plain = run(std::nullopt, std::nullopt), quiet = run(-12.0f, std::nullopt), left = run(std::nullopt, -1.0f);
    ASSERT_GT(db(plain.left), -50.0) << "the pad plays on its first slot";
    EXPECT_NEAR(db(quiet.left) - db(plain.left), -12.0, 0.05);
    EXPECT_NEAR(db(quiet.right) - db(plain.right), -12.0, 0.05);
    EXPECT_NEAR(db(left.left) - db(plain.left), 0.0, 0.05);
    EXPECT_LT(db(left.right), -120.0) << "hard left: nothing on the right";
    live::LiveSession s(test::presets(), vibe("pads", kPads), live::LiveOptions{});
    EXPECT_THROW(s.setLayerTrim("tuba", -3.0f, std::nullopt), std::invalid_argument);
    EXPECT_THROW(s.setLayerTrim("pad", 20.0f, std::nullopt), std::invalid_argument);
    EXPECT_THROW(s.setLayerTrim("pad", std::nullopt, 1.5f), std::invalid_argument);
}

TEST(Leveller, CutsQuicklyWhenTheMusicJumpsUpAndBoostsSlowly) {
    // A DJ set's layers coming in at once: the level jumps 12 dB. The leveller cuts within a few
    // seconds (a symmetric 6 s leveller is still ~7 dB short after 4 s), smoothly, and the way
    // back up (12 dB down again) stays slow.
    const double sr = 48000.0;
    Rng rng(11);
    dsp::Leveller l;
    l.prepare(sr);
    l.set(-14.0f, 12.0f, 6.0f);
    std::vector<float> left(256), right(256), gains;
    const auto run = [&](float amplitude, double seconds) {
        for (int b = 0; b < static_cast<int>(seconds * sr / 256); ++b) {
            for (std::size_t i = 0; i < 256; ++i) left[i] = right[i] = amplitude * (2.0f * rng.uniform() - 1.0f);
            l.process({left.data(), right.data(), 256});
            gains.push_back(l.gainDb());
        }
    };
    run(0.05f, 40.0);
    const float settled = l.gainDb();
    run(0.2f, 4.0);
    EXPECT_LT(l.gainDb(), settled - 8.0f) << "cut quickly after a 12 dB jump";
    run(0.2f, 30.0);
    EXPECT_NEAR(l.gainDb(), settled - 12.0f, 0.5f);
    const float cut = l.gainDb();
    run(0.05f, 4.0);
    EXPECT_LT(l.gainDb(), cut + 7.0f) << "boosted slowly";
    for (std::size_t i = 1; i < gains.size(); ++i) EXPECT_LT(std::abs(gains[i] - gains[i - 1]), 0.05f) << i;
}

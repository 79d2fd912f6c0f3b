// Conforming generated audio (issue #12, src/models/Conform): a drum pattern with a held chord,
// synthesized here at 100 bpm, is fitted to other tempos, bars, keys and loudness; the results are
// written and read back with independent tools (soxi for the length, aubioonset for the onsets,
// ffmpeg's ebur128 for the loudness) and YIN from src/analysis for the pitch. Then `soundstar
// render --generator` end to end with the shipped procedural model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "Cli.h"
#include "analysis/Pitch.h"
#include "core/AudioBuffer.h"
#include "io/AudioFile.h"
#include "models/Conform.h"
#include "music/Arrangement.h"
#include "pipeline/RenderJob.h"

using namespace soundstar;
using namespace soundstar::models;

namespace {
constexpr double kRate = 44100.0;
constexpr double kOffset = 0.37;  // the first downbeat, seconds into the source

/// Stereo interleaved: 100 bpm, a kick on every beat (the downbeat louder), a hat on every off-beat,
/// a held A minor chord (A3 C4 E4) under it; `seconds` long, the first downbeat at kOffset.
std::vector<float> drumLoop(double bpm, double seconds, bool chord = true) {
    const auto n = static_cast<std::size_t>(seconds * kRate);
    std::vector<float> mono(n, 0.0f);
    const double beat = 60.0 / bpm;
    std::uint32_t noise = 12345;
    for (int k = 0; kOffset + k * beat < seconds; ++k) {
        const auto at = static_cast<std::size_t>(std::llround((kOffset + k * beat) * kRate));
        const float accent = k % 4 == 0 ? 1.0f : 0.6f;
        double phase = 0.0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(0.5 * kRate) && at + i < n; ++i) {
            const double t = static_cast<double>(i) / kRate, taper = std::min(1.0, (0.5 - t) / 0.1);  // no step at its end
            phase += 2.0 * std::numbers::pi * (50.0 + 120.0 * std::exp(-t / 0.03)) / kRate;
            mono[at + i] += accent * 0.8f * static_cast<float>(taper * std::exp(-t / 0.08) * std::sin(phase));
        }
        const auto hat = at + static_cast<std::size_t>(std::llround(beat / 2.0 * kRate));
        for (std::size_t i = 0; i < static_cast<std::size_t>(0.04 * kRate) && hat + i < n; ++i) {
            noise = noise * 1664525u + 1013904223u;
            const float w = static_cast<float>(noise >> 8) / 8388608.0f - 1.0f;
            mono[hat + i] += 0.3f * w * static_cast<float>(std::exp(-static_cast<double>(i) / kRate / 0.01));
        }
    }
    if (chord)
        for (std::size_t i = 0; i < n; ++i) {
            const double t = static_cast<double>(i) / kRate;
            for (double hz : {220.0, 261.63, 329.63}) mono[i] += 0.08f * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * t));
        }
    std::vector<float> st(2 * n);
    for (std::size_t i = 0; i < n; ++i) st[2 * i] = st[2 * i + 1] = mono[i];
    return st;
}

/// A plain sine, stereo interleaved.
std::vector<float> tone(double hz, double seconds) {
    const auto n = static_cast<std::size_t>(seconds * kRate);
    std::vector<float> st(2 * n);
    for (std::size_t i = 0; i < n; ++i)
        st[2 * i] = st[2 * i + 1] = 0.3f * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * static_cast<double>(i) / kRate));
    return st;
}

std::string writeLoop(const ConformedLoop& loop, const test::TempDir& dir, const std::string& name) {
    StereoBuffer b;
    b.resize(static_cast<int>(loop.left.size()));
    std::copy(loop.left.begin(), loop.left.end(), b.left().begin());
    std::copy(loop.right.begin(), loop.right.end(), b.right().begin());
    const auto path = dir / name;
    io::writeAudioFile(path, b, loop.report.sampleRateHz, io::FileFormat::WavFloat);
    return path;
}

/// aubioonset's onsets (s) in a file.
std::vector<double> aubioOnsets(const std::string& path) {
    const auto r = test::runShell("aubioonset -i '" + path + "' 2>/dev/null");
    std::vector<double> t;
    std::istringstream in(r.output);
    for (double v; in >> v;) t.push_back(v);
    return t;
}

/// The distance (s) from t to the nearest point of a grid with this step starting at 0.
double offGrid(double t, double step) { return std::abs(t - std::round(t / step) * step); }

template <class E>
std::string messageOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    ADD_FAILURE() << "nothing thrown of the expected type";
    return {};
}
}  // namespace

TEST(Conform, ADrumLoopAt100BpmBecomesExactly4BarsAt128WithItsOnsetsOnTheGrid) {
    const auto src = drumLoop(100.0, 16.0);
    // aubio's own latency, measured on the source's onsets (the loop cut at 100 bpm, unstretched):
    // the control for the check below, which must be within 10 ms of the grid after it.
    test::TempDir dir;
    double bias = 0.0;
    {
        ConformOptions same;
        same.targetBpm = 100.0, same.sourceBpm = 100.0, same.targetLufs.reset();
        const auto plain = conformLoop(src, 2, kRate, same);
        EXPECT_NEAR(plain.report.startSeconds, kOffset, 0.005) << "the loop starts on the accented downbeat";
        const auto on = aubioOnsets(writeLoop(plain, dir, "plain.wav"));
        ASSERT_GE(on.size(), 30u);
        std::vector<double> off;
        for (double t : on)
            if (t > 0.02) off.push_back(t - std::round(t / 0.3) * 0.3);
        std::nth_element(off.begin(), off.begin() + static_cast<long>(off.size() / 2), off.end());
        bias = off[off.size() / 2];
        for (double t : on)  // (aubio reports an onset at the file's first sample at 0, not before it)
            if (t > 0.02) {
                EXPECT_LT(std::abs(offGrid(t, 0.3) - std::abs(bias)), 0.004) << "aubioonset itself at " << t;
            }
        EXPECT_LT(std::abs(bias), 0.015);
    }
    ConformOptions o;
    o.targetBpm = 128.0, o.bars = 4;
    const auto loop = conformLoop(src, 2, kRate, o);
    EXPECT_NEAR(loop.report.sourceBpm, 100.0, 0.2);
    EXPECT_NEAR(loop.report.startSeconds, kOffset, 0.005) << "the loop starts on the accented downbeat";
    const auto path = writeLoop(loop, dir, "128.wav");
    // 16 beats at 128 bpm: 7.5 s, 330750 frames exactly.
    EXPECT_EQ(test::soxInfo(path).frames, 330750);
    EXPECT_EQ(loop.report.frames, 330750u);
    const double half = 60.0 / 128.0 / 2.0;
    const auto on = aubioOnsets(path);
    ASSERT_GE(on.size(), 28u) << "16 kicks and 16 hats";
    for (double t : on)
        if (t > 0.02) {
            EXPECT_LT(offGrid(t - bias, half), 0.010) << "an onset at " << t << " s is off the 128 bpm half-beat grid";
        }
    for (int k = 1; k < 16; ++k) {  // and every beat has its onset
        const double beat = k * 2 * half;
        EXPECT_TRUE(std::any_of(on.begin(), on.end(), [&](double t) { return std::abs(t - bias - beat) < 0.010; })) << "no onset at beat " << k;
    }
}

TEST(Conform, TheLoopWrapsWithoutAJumpLargerThanTheAudioItself) {
    for (double bpm : {100.0, 87.0, 128.0}) {
        ConformOptions o;
        o.targetBpm = bpm, o.bars = 2;
        const auto loop = conformLoop(drumLoop(100.0, 14.0), 2, kRate, o);
        for (const auto* ch : {&loop.left, &loop.right}) {
            const auto& x = *ch;
            std::vector<float> d(x.size() - 1);
            for (std::size_t i = 0; i + 1 < x.size(); ++i) d[i] = std::abs(x[i + 1] - x[i]);
            std::nth_element(d.begin(), d.begin() + static_cast<long>(d.size() * 999 / 1000), d.end());
            const float p999 = d[d.size() * 999 / 1000];
            const float wrap = std::abs(x.front() - x.back());
            EXPECT_LT(wrap, p999) << bpm << " bpm: the wrap jumps " << wrap << ", the 99.9th percentile elsewhere is " << p999;
        }
    }
    // The held chord alone (steps of a few thousandths): the seam's crossfade keeps the wrap among
    // them; without it (the control) the cut is a click.
    const auto wrapOverP999 = [](double crossfadeMs) {
        ConformOptions o;
        o.targetBpm = 87.0, o.sourceBpm = 100.0, o.bars = 2, o.crossfadeMs = crossfadeMs;
        std::vector<float> chord(2 * static_cast<std::size_t>(14.0 * kRate));
        const auto drums = drumLoop(100.0, 14.0, true), bare = drumLoop(100.0, 14.0, false);
        for (std::size_t i = 0; i < chord.size(); ++i) chord[i] = drums[i] - bare[i];
        const auto x = conformLoop(chord, 2, kRate, o).left;
        std::vector<float> d(x.size() - 1);
        for (std::size_t i = 0; i + 1 < x.size(); ++i) d[i] = std::abs(x[i + 1] - x[i]);
        std::nth_element(d.begin(), d.begin() + static_cast<long>(d.size() * 999 / 1000), d.end());
        return std::abs(x.front() - x.back()) / d[d.size() * 999 / 1000];
    };
    EXPECT_LT(wrapOverP999(20.0), 1.0);
    EXPECT_GT(wrapOverP999(0.0), 2.0) << "the control: a cut without the crossfade should click";
}

TEST(Conform, AKeyShiftOfThreeSemitonesMovesThePitchBy300Cents) {
    for (double bpm : {100.0, 128.0}) {
        ConformOptions o;
        o.targetBpm = bpm, o.sourceBpm = 100.0, o.bars = 2;
        o.sourceKey = MusicalKey{9, true};  // A minor
        o.targetKey = MusicalKey{0, true};  // C minor: up 3
        const auto loop = conformLoop(tone(220.0, 8.0), 2, kRate, o);
        EXPECT_EQ(loop.report.semitones, 3);
        const auto p = analysis::trackPitch(loop.left, kRate, {.minHz = 100.0, .maxHz = 800.0, .window = 2048, .hop = 1024});
        ASSERT_GT(p.voicedFraction, 0.9);
        const double cents = 1200.0 * std::log2(p.hz / 220.0);
        EXPECT_NEAR(cents, 300.0, 10.0) << bpm << " bpm: " << p.hz << " Hz";
        EXPECT_EQ(loop.left.size(), static_cast<std::size_t>(std::llround(8 * 60.0 / bpm * kRate)));
    }
    // The key analysed: the A minor chord of the drum loop to C minor is the same 3 semitones.
    ConformOptions o;
    o.targetBpm = 100.0, o.bars = 2, o.targetKey = MusicalKey{0, true};
    const auto loop = conformLoop(drumLoop(100.0, 12.0), 2, kRate, o);
    EXPECT_EQ(keyName(loop.report.sourceKey), "A minor");
    EXPECT_GT(loop.report.keyCorrelation, o.minKeyCorrelation);
    EXPECT_EQ(loop.report.semitones, 3);
    // A key the analysis is unsure of is left alone, with a warning that says so.
    o.minKeyCorrelation = 0.99;
    const auto unsure = conformLoop(drumLoop(100.0, 12.0), 2, kRate, o);
    EXPECT_EQ(unsure.report.semitones, 0);
    ASSERT_FALSE(unsure.report.warnings.empty());
    EXPECT_NE(unsure.report.warnings.front().find("key is unclear"), std::string::npos) << unsure.report.warnings.front();
}

TEST(Conform, TheLoudnessReachesTheTargetAsFfmpegMeasuresIt) {
    test::TempDir dir;
    for (double lufs : {-20.0, -12.0}) {
        ConformOptions o;
        o.targetBpm = 120.0, o.bars = 4, o.targetLufs = lufs, o.ceilingDbfs = 0.0;
        const auto loop = conformLoop(drumLoop(100.0, 16.0), 2, kRate, o);
        const auto path = writeLoop(loop, dir, "loud.wav");
        const auto r = test::runCommand("ffmpeg -hide_banner -nostats -i '" + path + "' -af ebur128 -f null -");
        const auto summary = r.output.find("Summary:");
        ASSERT_NE(summary, std::string::npos) << r.output;
        const double measured = test::numberIn(r.output.substr(summary), R"(I:\s+(-?[0-9.]+) LUFS)");
        if (loop.report.warnings.empty()) {
            EXPECT_NEAR(measured, lufs, 0.5) << r.output.substr(r.output.size() > 600 ? r.output.size() - 600 : 0);
        } else {  // held by the peak ceiling: it says so, and stays under it
            EXPECT_LT(measured, lufs);
            EXPECT_LE(test::soxStats(path).peakDb, 0.01);
        }
    }
}

TEST(Conform, BadInputIsRefusedNamingTheLimit) {
    const auto src = drumLoop(100.0, 12.0);
    const auto bad = [&](auto change) {
        ConformOptions o;
        change(o);
        return messageOf<std::invalid_argument>([&] { conformLoop(src, 2, kRate, o); });
    };
    EXPECT_NE(bad([](ConformOptions& o) { o.targetBpm = 1000.0; }).find("40 to 300 bpm"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.targetBpm = std::nan(""); }).find("40 to 300 bpm"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.sourceBpm = 5.0; }).find("source_bpm"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.bars = 0; }).find("1 to 64"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.bars = 65; }).find("1 to 64"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.crossfadeMs = 1000.0; }).find("0 to 250 ms"), std::string::npos);
    EXPECT_NE(bad([](ConformOptions& o) { o.targetLufs = 6.0; }).find("-70 to 0 LUFS"), std::string::npos);

    const std::vector<float> none;
    EXPECT_NE(messageOf<std::invalid_argument>([&] { conformLoop(none, 2, kRate, {}); }).find("no audio"), std::string::npos);
    EXPECT_NE(messageOf<std::invalid_argument>([&] { conformLoop(src, 0, kRate, {}); }).find("1 to 8"), std::string::npos);
    EXPECT_NE(messageOf<std::invalid_argument>([&] { conformLoop(src, 2, std::nan(""), {}); }).find("8000 to 384000 Hz"), std::string::npos);
    // Too long: 1201 s (mono at 8 kHz, to keep the test small).
    const std::vector<float> tooLong(static_cast<std::size_t>(1201 * 8000), 0.0f);
    EXPECT_NE(messageOf<std::invalid_argument>([&] { conformLoop(tooLong, 1, 8000.0, {}); }).find("at most 1200 s"), std::string::npos);
    // Too short for the bars asked: says what it has and what it needs.
    ConformOptions four;
    four.targetBpm = 100.0, four.sourceBpm = 100.0, four.bars = 4;
    const auto shortMsg = messageOf<std::runtime_error>([&] { conformLoop(drumLoop(100.0, 6.0), 2, kRate, four); });
    EXPECT_NE(shortMsg.find("4 bars"), std::string::npos) << shortMsg;
    EXPECT_NE(shortMsg.find("need 9."), std::string::npos) << shortMsg;
    // No beat and no source_bpm: a clear error, not a loop of noise.
    const auto noBeat = messageOf<std::runtime_error>([&] { conformLoop(tone(220.0, 8.0), 2, kRate, {}); });
    EXPECT_NE(noBeat.find("no steady beat"), std::string::npos) << noBeat;
}

// conformOrCut: audio with a beat is conformed exactly as conformLoop does it; audio without one
// (a tone) is cut to whole bars at its own pace instead of refused, and the report says so.
TEST(Conform, WithoutABeatTheLoopIsCutToWholeBarsAndSaysSo) {
    ConformOptions o;
    o.targetBpm = 120.0, o.bars = 2;
    const auto drums = drumLoop(100.0, 12.0);
    const auto a = conformLoop(drums, 2, kRate, o), b = conformOrCut(drums, 2, kRate, o);
    EXPECT_EQ(a.left, b.left) << "a beat: conformed as conformLoop does";
    EXPECT_EQ(a.report.warnings, b.report.warnings);
    const auto pad = conformOrCut(tone(220.0, 8.0), 2, kRate, o);
    EXPECT_EQ(pad.left.size(), static_cast<std::size_t>(std::llround(2 * 4 * 0.5 * kRate))) << "two bars at 120 bpm to the sample";
    ASSERT_FALSE(pad.report.warnings.empty());
    EXPECT_NE(pad.report.warnings.front().find("no steady beat"), std::string::npos) << pad.report.warnings.front();
    EXPECT_DOUBLE_EQ(pad.report.tempoRatio, 1.0) << "not stretched";
    // Too short even to cut: conformLoop's error, naming what it needs.
    ConformOptions eight = o;
    eight.bars = 8;
    EXPECT_NE(messageOf<std::runtime_error>([&] { conformOrCut(tone(220.0, 3.0), 2, kRate, eight); }).find("8 bars"), std::string::npos);
    // Only a missing beat is cut: audio with a beat but too short, or a tempo given, stays an
    // error (cutting it at the target's tempo would drop the tempo found or given).
    ConformOptions four;
    four.targetBpm = 120.0, four.bars = 4;
    const auto shortBeat = messageOf<std::runtime_error>([&] { conformOrCut(drumLoop(100.0, 6.0), 2, kRate, four); });
    EXPECT_NE(shortBeat.find("need"), std::string::npos) << shortBeat;
    four.sourceBpm = 100.0;
    const auto given = messageOf<std::runtime_error>([&] { conformOrCut(drumLoop(100.0, 6.0), 2, kRate, four); });
    EXPECT_NE(given.find("at its 100.0 bpm"), std::string::npos) << given;
    EXPECT_THROW(conformLoop(tone(220.0, 8.0), 2, kRate, {}), NoBeatFound);
    // For layers nobody asked for by hand (render --generator, the DJ): cut rather than fail, saying why.
    four.sourceBpm.reset();
    const auto cut = conformOrCut(drumLoop(100.0, 9.0), 2, kRate, four, CutWhen::AnyFailure);
    EXPECT_EQ(cut.left.size(), static_cast<std::size_t>(std::llround(4 * 4 * 0.5 * kRate)));
    ASSERT_FALSE(cut.report.warnings.empty());
    EXPECT_NE(cut.report.warnings.front().find("could not be conformed"), std::string::npos) << cut.report.warnings.front();
    EXPECT_DOUBLE_EQ(generatorSecondsFor(4, 2.0), 1.45 * (6 * 2.0 + 0.25) + 1.0);
    EXPECT_DOUBLE_EQ(generatorSecondsFor(1, 0.1), 8.0) << "8 s at least";
    EXPECT_DOUBLE_EQ(generatorSecondsFor(64, 30.0), 600.0) << "600 s at most";
}

TEST(Conform, KeysAndJsonOptionsParseStrictly) {
    EXPECT_EQ(keyShiftSemitones({9, true}, {0, true}), 3);
    EXPECT_EQ(keyShiftSemitones({0, false}, {7, false}), -5);
    EXPECT_EQ(keyShiftSemitones({9, true}, {7, false}), -5);  // A minor's notes are C major's
    EXPECT_EQ(keyShiftSemitones({0, false}, {6, false}), 6);
    ASSERT_TRUE(parseKey("F#m"));
    EXPECT_EQ(keyName(*parseKey("F#m")), "F# minor");
    EXPECT_EQ(keyName(*parseKey("Bb major")), "A# major");
    EXPECT_FALSE(parseKey("H minor"));
    EXPECT_FALSE(parseKey("C lydian"));
    const auto o = conformOptionsFromJson(nlohmann::json::parse(R"({"target_bpm":128,"bars":2,"key":"Eb minor","lufs":null})"));
    EXPECT_EQ(o.targetBpm, 128.0);
    EXPECT_EQ(o.bars, 2);
    EXPECT_EQ(o.targetKey->tonic, 3);
    EXPECT_FALSE(o.targetLufs);
    const auto unknown = messageOf<std::invalid_argument>([] { conformOptionsFromJson(nlohmann::json::parse(R"({"tempo":1})")); });
    EXPECT_NE(unknown.find("known: target_bpm"), std::string::npos) << unknown;
    const auto badKey = messageOf<std::invalid_argument>([] { conformOptionsFromJson(nlohmann::json::parse(R"({"key":"H"})")); });
    EXPECT_NE(badKey.find("is no key"), std::string::npos) << badKey;
    const auto badBpm = messageOf<std::invalid_argument>([] { conformOptionsFromJson(nlohmann::json::parse(R"({"target_bpm":"fast"})")); });
    EXPECT_NE(badBpm.find("40 to 300"), std::string::npos) << badBpm;
}

// `soundstar render --generator`: the shipped procedural model through a real model-worker.
namespace {
const std::string kBin = SOUNDSTAR_BIN;
const std::string kPrompt = "deep house groove in F minor";
const std::string kRender = kBin + " render '" + kPrompt + "' -d 20 --seed 3 --format wav32f --no-master";

/// The share of aubio's onsets in a file within 10 ms of a grid of `step` s shifted by their median
/// offset (aubio's own latency, whatever it is).
double shareOnGrid(const std::string& path, double step) {
    std::vector<double> off;
    for (double t : aubioOnsets(path))
        if (t > 0.02) off.push_back(t - std::round(t / step) * step);
    if (off.size() < 20) return 0.0;
    auto sorted = off;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2), sorted.end());
    const double bias = sorted[sorted.size() / 2];
    return static_cast<double>(std::count_if(off.begin(), off.end(), [&](double o) { return offGrid(o - bias, step) < 0.010; })) /
           static_cast<double>(off.size());
}
}  // namespace

TEST(RenderGenerator, AddsAConformedLayerAndKeepsTheLength) {
    test::TempDir dir;
    const auto without = dir / "without.wav", with = dir / "with.wav", stems = dir / "stems";
    ASSERT_EQ(test::runCommand(kRender + " -q -o '" + without + "'").code, 0);
    const auto r = test::runCommandSplit(kRender + " -o '" + with + "' --stems '" + stems + "' --generator procedural --generator-gain 0");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("generated layer: a 4-bar loop"), std::string::npos) << r.err;
    const double bpm = test::numberIn(r.err, R"(Hz, ([0-9.]+) bpm)");
    ASSERT_GT(bpm, 100.0) << r.err;
    // The same length to the sample, and the difference is the generated stem (the mix is its plain sum, unmastered).
    EXPECT_EQ(test::soxInfo(with).frames, test::soxInfo(without).frames);
    const auto gen = stems + "/_generated.wav";
    EXPECT_EQ(test::soxInfo(gen).frames, test::soxInfo(without).frames);
    // The generated stem's name is no layer's: every other stem is a layer's name.
    const auto& layers = music::layerNames();
    std::size_t layerStems = 0;
    for (const auto& e : std::filesystem::directory_iterator(stems)) {
        const auto name = e.path().stem().string();
        if (name == "_generated") continue;
        EXPECT_NE(std::find(layers.begin(), layers.end(), name), layers.end()) << name;
        ++layerStems;
    }
    EXPECT_GE(layerStems, 3u);
    const auto diff = test::runCommand("ffmpeg -hide_banner -nostats -i '" + with + "' -i '" + without + "' -i '" + gen +
                                       "' -filter_complex '[0:a][1:a][2:a]amerge=inputs=3,aformat=sample_fmts=flt,pan=stereo|c0=c0-c2-c4|c1=c1-c3-c5,"
                                       "aformat=sample_fmts=flt,astats=measure_overall=Peak_level:measure_perchannel=none' -f null -");
    EXPECT_LT(test::numberIn(diff.output, R"(Peak level dB:\s+(-?[0-9.]+|-inf))"), -100.0) << diff.output;
    EXPECT_GT(test::soxStats(gen).rmsDb, -40.0) << "the generated layer is there";
    // On the track's sixteenth-note grid, as aubio hears it; the model's own audio for the same
    // prompt (the control) is not: the interpreter's 122 bpm comes out of it near 111-113 bpm.
    const double sixteenth = 60.0 / bpm / 4.0;
    EXPECT_GT(shareOnGrid(gen, sixteenth), 0.75);
    const auto raw = dir / "raw.wav";
    ASSERT_EQ(test::runCommand(kBin + " generate '" + kPrompt + ", 122 bpm' -d 20 --seed 3 -q -o '" + raw + "'").code, 0);
    EXPECT_LT(shareOnGrid(raw, sixteenth), 0.5);
    // A mastered render keeps its length too.
    const auto mastered = dir / "mastered.wav";
    ASSERT_EQ(test::runCommand(kBin + " render '" + kPrompt + "' -d 20 --seed 3 -q --generator procedural -o '" + mastered + "'").code, 0);
    EXPECT_EQ(test::soxInfo(mastered).frames, test::soxInfo(without).frames);
}

TEST(RenderGenerator, ABadModelIsAClearErrorAndWritesNothing) {
    test::TempDir dir;
    const auto out = dir / "out.wav";
    auto r = test::runCommandSplit(kRender + " -o '" + out + "' --generator '" + (dir / "no-such-model") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("no-such-model' is no model folder"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    // A folder whose manifest is broken: named, before any rendering.
    std::filesystem::create_directories(dir / "broken");
    std::ofstream(dir / "broken/manifest.json") << "{\"name\": \"broken\", \"kind\": ";
    r = test::runCommandSplit(kRender + " -o '" + out + "' --generator '" + (dir / "broken") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("manifest.json"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
    r = test::runCommandSplit(kRender + " -o '" + out + "' --generator procedural --generator-gain 50");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("generator-gain"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
}

// The generated stem cannot take a track's name: "_generated", with more underscores while a track
// has it (a track named "generated" keeps generated.wav).
TEST(RenderGenerator, TheGeneratedStemsNameNeverClashesWithATracks) {
    EXPECT_EQ(pipeline::generatedStemName({"drums", "bass", "generated"}), "_generated");
    EXPECT_EQ(pipeline::generatedStemName({"generated", "_generated"}), "__generated");
    EXPECT_EQ(pipeline::generatedStemName({"_generated", "__generated"}), "___generated");
    for (const auto& layer : music::layerNames()) EXPECT_NE(layer.front(), '_') << "a layer's stem could be the generated one's";
}

// The analysis library and `soundstar analyze` (issue #16): a sox sine measured against its
// known level, frequency and ffmpeg's ebur128 loudness; onsets against aubio's on a drum render;
// tempo and key of Soundstar's own renders against their configs; bad files and options.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "Analysis.h"
#include "Cli.h"
#include "analysis/Onsets.h"
#include "analysis/Pitch.h"

using namespace soundstar;
using nlohmann::json;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

json analyzeJson(const std::string& file, const std::string& extra = "") {
    const auto r = test::runCommandSplit(kBin + " analyze --json " + extra + " '" + file + "'");
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out);
}

std::string renderConfig(const test::TempDir& dir, const std::string& name, const std::string& config, double seconds) {
    {
        std::ofstream(dir / (name + ".json")) << config;
    }
    const auto wav = dir / (name + ".wav");
    const auto r = test::runCommand(fmt::format("{} render --config '{}' -d {} -q -o '{}'", kBin, dir / (name + ".json"), seconds, wav));
    EXPECT_EQ(r.code, 0) << r.output;
    return wav;
}
}  // namespace

TEST(Analysis, ClicksAtKnownTimesAreFoundWithin5Ms) {
    const double sr = 44100.0;
    std::vector<float> x(static_cast<std::size_t>(4 * sr), 0.0f);
    const std::vector<double> at{0.5, 1.25, 2.0, 2.6, 3.3};
    for (double t : at)
        for (std::size_t i = 0; i < 4000; ++i)  // decays to -114 dB
            x[static_cast<std::size_t>(t * sr) + i] = 0.8f * std::exp(-static_cast<float>(i) / 300.0f) * std::sin(0.3f * static_cast<float>(i));
    const auto found = analysis::detectOnsets(x, sr);
    ASSERT_EQ(found.size(), at.size()) << ::testing::PrintToString(found);
    for (std::size_t i = 0; i < at.size(); ++i) EXPECT_NEAR(found[i], at[i], 0.005) << "click " << i;
    // The same clicks at -70 dBFS are under the silence gate.
    for (auto& v : x) v *= 0.0005f;
    EXPECT_TRUE(analysis::detectOnsets(x, sr).empty());
}

TEST(Analysis, YinFindsA440WithinACentAndNothingInNoise) {
    const auto s = analysis::trackPitch(test::sine(440.0, 48000.0, 48000, 0.5f), 48000.0);
    EXPECT_NEAR(1200.0 * std::log2(s.hz / 440.0), 0.0, 1.0);
    EXPECT_GT(s.confidence, 0.95);
    std::vector<float> noise(48000);
    std::uint32_t state = 1;
    for (auto& v : noise) v = static_cast<float>((state = state * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    EXPECT_LT(analysis::trackPitch(noise, 48000.0).voicedFraction, 0.2);
}

TEST(Analysis, SoxSineAtMinus12Dbfs) {
    test::TempDir dir;
    const auto wav = dir / "sine.wav";
    ASSERT_EQ(test::runCommand("sox -n -r 44100 -c 2 -e float -b 32 '" + wav + "' synth 6 sine 1000 vol -12dB").code, 0);
    const auto j = analyzeJson(wav, "--fft-size 4096 --window blackman");
    EXPECT_NEAR(j["rms_dbfs"].get<double>(), -15.0, 0.1);
    EXPECT_NEAR(j["peak_dbfs"].get<double>(), -12.0, 0.05);
    const double binHz = j["spectrum"]["bin_hz"].get<double>();
    const auto& mags = j["spectrum"]["magnitudes_db"];
    ASSERT_EQ(mags.size(), 2048u);
    std::size_t best = 0;
    for (std::size_t k = 1; k < mags.size(); ++k)
        if (mags[k].get<double>() > mags[best].get<double>()) best = k;
    EXPECT_LE(std::abs(static_cast<double>(best) - 1000.0 / binHz), 1.0) << "peak bin " << best;
    EXPECT_NEAR(mags[best].get<double>(), -12.0, 1.5);  // Blackman's scalloping is under 1.1 dB
    const auto ff = test::runCommand("ffmpeg -hide_banner -nostats -i '" + wav + "' -af ebur128=metadata=1,ametadata=mode=print -f null - 2>&1");
    const auto at = ff.output.rfind("lavfi.r128.I=");
    ASSERT_NE(at, std::string::npos) << ff.output.substr(0, 500);
    const double ffmpegI = std::stod(ff.output.substr(at + 13));
    EXPECT_NEAR(j["loudness"]["integrated_lufs"].get<double>(), ffmpegI, 0.2);
    EXPECT_NEAR(1200.0 * std::log2(j["pitch"]["hz"].get<double>() / 1000.0), 0.0, 1.0);
    // A steady tone has no onsets and no tempo.
    EXPECT_TRUE(j["onsets_s"].empty()) << j["onsets_s"].dump();
    EXPECT_TRUE(j["tempo"]["bpm"].is_null()) << j["tempo"].dump();
}

TEST(Analysis, OnsetsOfADrumRenderAgreeWithAubio) {
    if (test::runCommand("command -v aubio").code != 0) GTEST_SKIP() << "aubio (aubio-tools) is not installed";
    test::TempDir dir;
    const auto wav = dir / "drums.wav";
    ASSERT_EQ(test::runCommand(kBin + " render 'minimal techno drums' --seed 7 -d 10 -q -o '" + wav + "'").code, 0);
    const auto ours = analyzeJson(wav)["onsets_s"].get<std::vector<double>>();
    // aubio with our frame (1024) and hop (256): with its default 512-sample frame it reports
    // drum hits about 8 ms earlier than ours, which sit on the render's grid (median 0.2 ms).
    std::istringstream in(test::runShell("aubio onset -B 1024 -H 256 -i '" + wav + "' 2>/dev/null").output);
    std::vector<double> theirs;
    for (double v; in >> v;) theirs.push_back(v);
    ASSERT_GT(theirs.size(), 10u);
    std::size_t matched = 0;
    for (double t : theirs) {
        double nearest = 1e9;
        for (double o : ours) nearest = std::min(nearest, std::abs(o - t));
        matched += nearest <= 0.010 ? 1 : 0;
    }
    EXPECT_GE(static_cast<double>(matched), 0.8 * static_cast<double>(theirs.size()))
        << matched << " of aubio's " << theirs.size() << " onsets within 10 ms of ours (" << ours.size() << ")";
}

TEST(Analysis, TempoOfRendersMatchesTheirConfiguredBpm) {
    test::TempDir dir;
    for (double bpm : {95.0, 120.0, 140.0}) {
        const auto wav = renderConfig(dir, fmt::format("t{}", bpm), fmt::format(R"({{"bpm":{},"rhythm":"kit_medium","seed":3}})", bpm), 20.0);
        const auto j = analyzeJson(wav);
        const double found = j["tempo"]["bpm"].get<double>();
        EXPECT_NEAR(found / bpm, 1.0, 0.02) << "asked " << bpm << " bpm, found " << found;
        EXPECT_GT(j["tempo"]["beats_s"].size(), 20u);
        // The render's beats fall on multiples of 60/bpm from its start.
        const double period = 60.0 / bpm;
        for (double b : j["tempo"]["beats_s"].get<std::vector<double>>())
            EXPECT_LT(std::abs(b - std::round(b / period) * period), 0.025) << bpm << " bpm: beat at " << b << " s";
    }
}

TEST(Analysis, KeyOfRendersMatchesTheirConfiguredKey) {
    test::TempDir dir;
    for (const auto& [root, mode, name] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"a", "minor", "A minor"}, {"eb", "major", "Eb major"}, {"f#", "minor", "F# minor"}}) {
        const auto wav = renderConfig(dir, "k" + root, fmt::format(R"({{"root":"{}","mode":"{}","rhythm":"none","density":4,"seed":5}})", root, mode), 20.0);
        EXPECT_EQ(analyzeJson(wav)["key"]["name"].get<std::string>(), name) << root << " " << mode;
    }
}

TEST(Analysis, BadFilesAndOptionsGetClearErrors) {
    test::TempDir dir;
    const auto missing = test::runCommandSplit(kBin + " analyze '" + (dir / "nope.wav") + "'");
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
    {
        std::ofstream(dir / "text.wav") << "this is not audio";
    }
    const auto text = test::runCommandSplit(kBin + " analyze '" + (dir / "text.wav") + "'");
    EXPECT_EQ(text.code, 1);
    EXPECT_NE(text.err.find("as audio"), std::string::npos) << text.err;
    const auto folder = test::runCommandSplit(kBin + " analyze '" + (dir / "") + "'");
    EXPECT_NE(folder.err.find("not a regular file"), std::string::npos) << folder.err;
    ASSERT_EQ(test::runCommand("sox -n -r 8000 -c 1 '" + (dir / "s.wav") + "' synth 1 sine 300").code, 0);
    const auto size = test::runCommandSplit(kBin + " analyze --fft-size 1000 '" + (dir / "s.wav") + "'");
    EXPECT_EQ(size.code, 2);
    EXPECT_NE(size.err.find("a power of two from 64 to 65536"), std::string::npos) << size.err;
    const auto window = test::runCommandSplit(kBin + " analyze --window kaiser '" + (dir / "s.wav") + "'");
    EXPECT_EQ(window.code, 2);
    EXPECT_NE(window.err.find("hann, hamming or blackman"), std::string::npos) << window.err;
    // A short mono file still analyses: both sides read the one channel.
    const auto j = analyzeJson(dir / "s.wav", "--fft-size 256");
    EXPECT_EQ(j["channels"].get<int>(), 1);
    EXPECT_EQ(j["spectrum"]["magnitudes_db"].size(), 128u);
}

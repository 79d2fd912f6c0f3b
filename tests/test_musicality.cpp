// Does the music do what the config says? An independent beat tracker (aubio) finds the tempo;
// notes and a chroma analysis agree with the key; brightness moves the spectral centroid; space
// and echo lengthen the decay.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "Analysis.h"
#include "analysis/Key.h"
#include "analysis/Spectrum.h"
#include "Presets.h"
#include "Cli.h"
#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "engine/Preset.h"
#include "io/AudioFile.h"
#include "music/MusicConfig.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
using test::presets;

StereoBuffer renderConfig(const std::string& json, double seconds, bool masterChain = true) {
    const auto cfg = music::parseMusicConfig(json);
    render::RenderOptions o;
    o.durationSeconds = seconds;
    o.masterChain = masterChain;
    return render::renderScore(compose::composeFromConfig(cfg, seconds), presets(), o);
}

/// Tempo from aubio's beat times: a line fitted through the longest run of steady beats.
double aubioTempo(const std::string& wav) {
    const auto r = test::runCommand("aubio beat -H 128 -i '" + wav + "' 2>/dev/null");
    std::vector<double> t;
    std::istringstream in(r.output);
    for (double v; in >> v;) t.push_back(v);
    if (t.size() < 8) return 0.0;
    std::vector<double> d;
    for (std::size_t i = 1; i < t.size(); ++i) d.push_back(t[i] - t[i - 1]);
    auto sorted = d;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    std::vector<double> best, cur{t[0]};
    for (std::size_t i = 1; i < t.size(); ++i) {
        if (std::abs(d[i - 1] - median) < 0.1 * median) {
            cur.push_back(t[i]);
        } else {
            if (cur.size() > best.size()) best = cur;
            cur = {t[i]};
        }
    }
    if (cur.size() > best.size()) best = cur;
    const double n = static_cast<double>(best.size());
    double mx = (n - 1) / 2.0, my = 0.0, sxy = 0.0, sxx = 0.0;
    for (double v : best) my += v;
    my /= n;
    for (std::size_t i = 0; i < best.size(); ++i) {
        sxy += (static_cast<double>(i) - mx) * (best[i] - my);
        sxx += (static_cast<double>(i) - mx) * (static_cast<double>(i) - mx);
    }
    return 60.0 / (sxy / sxx);
}
}  // namespace

TEST(Musicality, BeatTrackerFindsTheRequestedTempo) {
    if (test::runCommand("command -v aubio").code != 0) GTEST_SKIP() << "aubio (aubio-tools) is not installed";
    test::TempDir dir;
    for (double bpm : {60.0, 90.0, 100.0, 120.0, 135.0, 150.0, 165.0, 180.0}) {
        const auto audio = renderConfig(fmt::format(R"({{"bpm":{},"rhythm":"kit_medium","seed":3}})", bpm), 30.0);
        const auto wav = dir / fmt::format("t{}.wav", bpm);
        io::writeAudioFile(wav, audio, 44100.0, io::FileFormat::Wav16);
        const double found = aubioTempo(wav);
        const bool extreme = bpm <= 60.0 || bpm >= 180.0;
        bool ok = std::abs(found / bpm - 1.0) < 0.02;
        if (extreme) ok = ok || std::abs(found / (2 * bpm) - 1.0) < 0.02 || std::abs(found / (bpm / 2) - 1.0) < 0.02;
        EXPECT_TRUE(ok) << "asked " << bpm << " bpm, aubio found " << found;
    }
}

TEST(Musicality, EveryPitchedNoteIsInTheKeyAndMode) {
    for (const char* mode : {"major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "harmonic_minor",
                             "major_pentatonic", "minor_pentatonic"})
        for (const char* root : {"c", "f#", "bb"}) {
            const auto cfg = music::parseMusicConfig(
                fmt::format(R"({{"root":"{}","mode":"{}","density":6,"melody":"procedural","chromatic_prob":0,"seed":9}})", root, mode));
            const auto score = compose::composeFromConfig(cfg, 40.0);
            int checked = 0;
            for (const auto& t : score.tracks) {
                if (t.name == "drums") continue;
                for (const auto& n : t.notes) {
                    const int pc = static_cast<int>(std::lround(n.note)) % 12;
                    ASSERT_TRUE(music::inScale(cfg.root, cfg.mode, pc)) << t.name << " note " << n.note << " in " << root << " " << mode;
                    ++checked;
                }
            }
            EXPECT_GT(checked, 50);
        }
}

TEST(Musicality, ChromaticProbAddsPassingTonesOutsideTheScale) {
    const auto count = [](double prob) {
        const auto cfg = music::parseMusicConfig(fmt::format(R"({{"key":"c major","density":6,"melody":"procedural","chromatic_prob":{},"seed":9}})", prob));
        int out = 0;
        for (const auto& t : compose::composeFromConfig(cfg, 60.0).tracks)
            if (t.name == "lead")
                for (const auto& n : t.notes) out += music::inScale(0, music::Mode::Major, static_cast<int>(std::lround(n.note)) % 12) ? 0 : 1;
        return out;
    };
    EXPECT_EQ(count(0.0), 0);
    EXPECT_GT(count(1.0), 5);
}

TEST(Musicality, ChromaOfTheAudioMatchesTheRequestedKey) {
    const std::vector<std::tuple<const char*, const char*, int, bool>> keys{
        {"c", "major", 0, false}, {"a", "minor", 9, true}, {"f#", "minor", 6, true},
        {"eb", "major", 3, false}, {"d", "minor", 2, true}, {"g", "major", 7, false}};
    for (const auto& [root, mode, pc, minor] : keys) {
        const auto audio = renderConfig(fmt::format(R"({{"root":"{}","mode":"{}","rhythm":"none","density":4,"seed":5}})", root, mode), 30.0);
        std::vector<float> mono(audio.left());
        for (std::size_t i = 0; i < mono.size(); ++i) mono[i] += audio.right()[i];
        const auto key = analysis::estimateKey(analysis::chroma(mono, 44100.0));
        const int tonic = key.tonic;
        const bool isMinor = key.minor;
        EXPECT_EQ(tonic, pc) << root << " " << mode << ": found " << music::pitchClassName(tonic) << (isMinor ? " minor" : " major");
        EXPECT_EQ(isMinor, minor) << root << " " << mode;
    }
}

TEST(Musicality, BrightnessRaisesTheSpectralCentroidStepByStep) {
    double prev = 0.0;
    for (const char* b : {"very_dark", "dark", "medium", "bright", "very_bright"}) {
        const auto audio = renderConfig(fmt::format(R"({{"brightness":"{}","rhythm":"none","density":5,"seed":2}})", b), 20.0, false);
        const double c = analysis::spectralCentroid(audio.left(), 44100.0);
        EXPECT_GT(c, prev * 1.05) << b << " centroid " << c << " Hz after " << prev << " Hz";
        prev = c;
    }
}

TEST(Musicality, SpaceAndEchoLengthenTheDecay) {
    // One short note through each mix: the energy 0.5-2 s after it grows with space and echo.
    const auto tailEnergy = [](const char* json) {
        const auto cfg = music::parseMusicConfig(json);
        auto score = compose::composeFromConfig(cfg, 10.0);
        music::ScoreTrack pluck = score.tracks.front();
        for (const auto& t : score.tracks)
            if (t.name == "arp" || t.name == "keys") pluck = t;
        pluck.notes = {{0.0, 0.1, 64.0f, 1.0f}};
        pluck.reverbSend = 0.5f;
        pluck.delaySend = std::max(pluck.delaySend, 0.0f);
        score.tracks = {pluck};
        render::RenderOptions o;
        o.durationSeconds = 3.0;
        o.masterChain = false;
        o.fadeOutSeconds = 0.0;
        const auto a = render::renderScore(score, presets(), o);
        const std::vector<float> early(a.left().begin(), a.left().begin() + 8820),
            late(a.left().begin() + 22050, a.left().begin() + 88200);
        return test::rms(late) / test::rms(early);
    };
    const double dry = tailEnergy(R"({"space":"dry","echo":"none","density":6,"seed":1})");
    const double vast = tailEnergy(R"({"space":"vast","echo":"none","density":6,"seed":1})");
    const double echo = tailEnergy(R"({"space":"dry","echo":"heavy","density":6,"seed":1})");
    EXPECT_GT(vast, dry * 2.0) << "dry " << dry << " vast " << vast;
    EXPECT_GT(echo, dry * 1.5) << "dry " << dry << " echo " << echo;
}

TEST(Musicality, StereoGoesFromMonoToWide) {
    const auto correlation = [](const char* stereo) {
        const auto a = renderConfig(fmt::format(R"({{"stereo":"{}","density":6,"accent":"pluck","seed":2}})", stereo), 10.0);
        double lr = 0, ll = 0, rr = 0;
        for (std::size_t i = 0; i < a.left().size(); ++i) {
            lr += a.left()[i] * a.right()[i];
            ll += a.left()[i] * a.left()[i];
            rr += a.right()[i] * a.right()[i];
        }
        return lr / std::sqrt(ll * rr);
    };
    const double mono = correlation("mono"), medium = correlation("medium"), wide = correlation("ultra_wide");
    EXPECT_GT(mono, 0.999);
    EXPECT_LT(wide, medium);
    EXPECT_LT(medium, mono);
}

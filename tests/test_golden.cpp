// Golden renders: three short pieces at fixed seeds, rendered as the CLI renders them (before
// loudness normalisation), reduced to spectral features (energy in eight bands, an RMS envelope
// in 50 ms frames, onset times, integrated loudness, spectral centroid) and compared with the
// features stored in tests/data/golden/*.json. An unintended change in sound (a preset's cutoff,
// the tempo, a level, an envelope) fails here with the feature that moved; an intended one is
// recorded deliberately:
//     SOUNDSTAR_UPDATE_GOLDEN=1 ./build/release/tests/test_golden
// rewrites the files (review and commit the diff). Features, not bytes: they survive rounding
// differences between compilers and CPUs, yet the tolerances below are tight enough that a 3 %
// change of a preset's filter cutoff or of the tempo fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "Analysis.h"
#include "analysis/Spectrum.h"
#include "Loudness.h"
#include "Presets.h"
#include "compose/Arranger.h"
#include "compose/Profiles.h"
#include "compose/SketchComposer.h"
#include "render/Renderer.h"

using namespace soundstar;
using nlohmann::json;

namespace {
constexpr double kSeconds = 4.0, kSampleRate = 44100.0;
constexpr double kBandEdgesHz[] = {20, 60, 150, 400, 1000, 2500, 6000, 12000, 20000};
constexpr double kFrameSeconds = 0.05;

// Tolerances: far above the differences rounding can make, far below what a musical change makes.
constexpr double kBandTolDb = 0.25;          // each band's energy
constexpr double kEnvelopeTolDb = 1.0;       // each 50 ms frame louder than -50 dBFS
constexpr double kEnvelopeMeanTolDb = 0.25;  // the mean absolute frame difference
constexpr double kOnsetTolS = 0.012;         // an onset matches one within two analysis hops
constexpr double kOnsetMatched = 0.9;        // of the stored onsets, at least this share match
constexpr double kLufsTol = 0.15;
constexpr double kCentroidTol = 0.01;  // relative
constexpr double kQuietBandDb = 40.0;  // bands this far under a spectrum's loudest are not compared

struct GoldenCase {
    const char* name;
    const char* profile;  // a style profile applied to the config ("" = none)
    const char* config;
};
const GoldenCase kCases[] = {
    {"techno_minimal", "techno_minimal", R"({"seed":3,"genre":"techno_minimal"})"},
    {"ambient", "ambient", R"({"seed":5,"genre":"ambient"})"},
    {"dorian_brass_lead", "",
     R"({"density":6,"bpm":100,"root":"d","mode":"dorian","rhythm":"kit_light","accent":"brass_hit","instrumentation":["synth lead"],"seed":7})"},
};

/// The score the CLI would compose for this config (and profile), in a loop form: every layer plays.
music::Score scoreFor(const GoldenCase& g) {
    auto cfg = music::parseMusicConfig(g.config);
    compose::ProfileLibrary profiles;
    profiles.loadDirectory(SOUNDSTAR_DATA "/profiles");
    const compose::StyleProfile* p = *g.profile ? profiles.find(g.profile) : nullptr;
    if (p) cfg = compose::applyProfile(cfg, *p);
    auto sketch = compose::sketchFromMusicConfig(cfg);
    if (p) {
        sketch.groove = p->groove;
        sketch.effects = p->effects;
        for (const auto& [layer, preset] : p->presets) sketch.presets.emplace(layer, preset);
    }
    return compose::composeSketch(sketch, compose::arrange(cfg, kSeconds, {"loop", false}));
}

/// Onset times (s) from the half-wave rectified log-spectral flux of the mono mix, peaks above a
/// local median (1024-point frames, 256 hop).
std::vector<double> onsets(const std::vector<float>& mono, double sr) {
    constexpr std::size_t kN = 1024, kHop = 256;
    std::vector<double> flux;
    std::vector<double> prev(kN / 2, 0.0);
    std::vector<std::complex<double>> buf(kN);
    for (std::size_t pos = 0; pos + kN <= mono.size(); pos += kHop) {
        for (std::size_t i = 0; i < kN; ++i)
            buf[i] =
                mono[pos + i] * (0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / kN));
        analysis::fft(buf);
        double f = 0.0;
        for (std::size_t k = 1; k < kN / 2; ++k) {
            const double m = std::log1p(1000.0 * std::abs(buf[k]));
            f += std::max(0.0, m - prev[k]);
            prev[k] = m;
        }
        flux.push_back(f);
    }
    std::vector<double> out;
    const double mean =
        flux.empty() ? 0.0
                     : std::accumulate(flux.begin(), flux.end(), 0.0) / static_cast<double>(flux.size());
    for (std::size_t i = 1; i + 1 < flux.size(); ++i) {
        const std::size_t lo = i > 8 ? i - 8 : 0, hi = std::min(flux.size(), i + 9);
        std::vector<double> around(flux.begin() + static_cast<long>(lo),
                                   flux.begin() + static_cast<long>(hi));
        std::nth_element(around.begin(), around.begin() + static_cast<long>(around.size() / 2), around.end());
        const double threshold = around[around.size() / 2] * 1.5 + 0.1 * mean;
        if (flux[i] > threshold && flux[i] >= flux[i - 1] && flux[i] > flux[i + 1]) {
            const double t = static_cast<double>(i * kHop + kN / 2) / sr;
            if (out.empty() || t - out.back() > 0.04) out.push_back(t);
        }
    }
    return out;
}

json features(const StereoBuffer& audio, double sr) {
    std::vector<float> mono(audio.left().size());
    for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = 0.5f * (audio.left()[i] + audio.right()[i]);
    constexpr std::size_t kN = 8192;
    const auto spectrum = analysis::averageSpectrum(mono, kN);
    std::vector<double> bands;
    for (std::size_t b = 0; b + 1 < std::size(kBandEdgesHz); ++b) {
        double e = 0.0;
        for (std::size_t k = 1; k < spectrum.size(); ++k) {
            const double f = static_cast<double>(k) * sr / kN;
            if (f >= kBandEdgesHz[b] && f < kBandEdgesHz[b + 1]) e += spectrum[k] * spectrum[k];
        }
        bands.push_back(std::round(100.0 * 10.0 * std::log10(std::max(e, 1e-20))) / 100.0);
    }
    std::vector<double> envelope;
    const auto frame = static_cast<std::size_t>(kFrameSeconds * sr);
    for (std::size_t pos = 0; pos + frame <= mono.size(); pos += frame) {
        double s = 0.0;
        for (std::size_t i = pos; i < pos + frame; ++i) s += static_cast<double>(mono[i]) * mono[i];
        envelope.push_back(std::round(100.0 * test::db(std::sqrt(s / static_cast<double>(frame)))) / 100.0);
    }
    std::vector<double> onsetTimes;
    for (double t : onsets(mono, sr)) onsetTimes.push_back(std::round(t * 10000.0) / 10000.0);
    return {{"band_edges_hz", kBandEdgesHz},
            {"bands_db", bands},
            {"rms_frame_s", kFrameSeconds},
            {"rms_db", envelope},
            {"onsets_s", onsetTimes},
            {"lufs", std::round(1000.0 * test::integratedLufs({audio.left(), audio.right()}, sr)) / 1000.0},
            {"centroid_hz", std::round(analysis::spectralCentroid(mono, sr))}};
}

/// Each layer alone (its stem, through its chain and the returns): energy in the eight bands and
/// the centroid. A preset's filter moves its own layer's spectrum even where the mix hides it.
json layerFeatures(const music::Score& score, const render::RenderOptions& o) {
    json out = json::object();
    const auto stems = render::renderStems(score, test::presets(), o);
    for (std::size_t i = 0; i < stems.size(); ++i) {
        const auto f = features(stems[i], o.sampleRate);
        out[score.tracks[i].name] = {
            {"bands_db", f["bands_db"]}, {"centroid_hz", f["centroid_hz"]}, {"lufs", f["lufs"]}};
    }
    return out;
}

/// tests/data/golden, or $SOUNDSTAR_GOLDEN_DIR (to record a candidate elsewhere and diff it).
std::filesystem::path goldenPath(const std::string& name) {
    if (const char* d = std::getenv("SOUNDSTAR_GOLDEN_DIR"); d && *d)
        return std::filesystem::path(d) / (name + ".json");
    return std::filesystem::path(SOUNDSTAR_TESTS_DIR) / "data" / "golden" / (name + ".json");
}

/// Band energies and centroid beyond their tolerances, one line each, prefixed with `what`.
void compareSpectrum(std::ostringstream& why, const std::string& what, const json& want, const json& got) {
    const auto& wb = want["bands_db"];
    double loudest = -1e9;
    for (const auto& v : wb) loudest = std::max(loudest, v.get<double>());
    for (std::size_t b = 0; b < wb.size(); ++b) {
        const double w = wb[b].get<double>(), d = got["bands_db"][b].get<double>() - w;
        if (w < loudest - kQuietBandDb) continue;  // nearly empty bands move freely
        if (std::abs(d) > kBandTolDb)
            why << what << "band " << kBandEdgesHz[b] << "-" << kBandEdgesHz[b + 1]
                << " Hz: " << got["bands_db"][b] << " dB, stored " << wb[b] << " (" << d << " dB)\n";
    }
    const double dc = got["centroid_hz"].get<double>() / want["centroid_hz"].get<double>() - 1.0;
    if (std::abs(dc) > kCentroidTol)
        why << what << "centroid: " << got["centroid_hz"] << " Hz, stored " << want["centroid_hz"] << "\n";
    const double dl = got["lufs"].get<double>() - want["lufs"].get<double>();
    if (std::abs(dl) > kLufsTol)
        why << what << "loudness: " << got["lufs"] << " LUFS, stored " << want["lufs"] << "\n";
}

/// Every difference beyond its tolerance, one line each ("" when none).
std::string compare(const json& want, const json& got) {
    std::ostringstream why;
    compareSpectrum(why, "", want, got);
    const auto& we = want["rms_db"];
    double sum = 0.0, worst = 0.0;
    int counted = 0;
    std::size_t worstAt = 0;
    for (std::size_t i = 0; i < we.size() && i < got["rms_db"].size(); ++i) {
        if (we[i].get<double>() < -50.0) continue;
        const double d = std::abs(got["rms_db"][i].get<double>() - we[i].get<double>());
        sum += d;
        ++counted;
        if (d > worst) worst = d, worstAt = i;
    }
    if (we.size() != got["rms_db"].size())
        why << "envelope frames: " << got["rms_db"].size() << ", stored " << we.size() << "\n";
    if (worst > kEnvelopeTolDb || (counted && sum / counted > kEnvelopeMeanTolDb))
        why << "RMS envelope: mean difference " << (counted ? sum / counted : 0.0) << " dB, worst " << worst
            << " dB at " << static_cast<double>(worstAt) * kFrameSeconds << " s\n";
    const auto& wo = want["onsets_s"];
    const auto& go = got["onsets_s"];
    int matched = 0;
    for (const auto& t : wo) {
        const bool hit = std::any_of(go.begin(), go.end(), [&](const json& u) {
            return std::abs(u.get<double>() - t.get<double>()) <= kOnsetTolS;
        });
        matched += hit;
    }
    const auto need = static_cast<int>(std::ceil(kOnsetMatched * static_cast<double>(wo.size())));
    if (matched < need || std::abs(static_cast<int>(go.size()) - static_cast<int>(wo.size())) >
                              std::max<int>(1, static_cast<int>(wo.size()) / 10))
        why << "onsets: " << go.size() << " found, " << wo.size() << " stored, " << matched
            << " of them within " << kOnsetTolS * 1000 << " ms\n";
    if (want.contains("layers"))
        for (const auto& [name, w] : want["layers"].items()) {
            if (!got["layers"].contains(name)) {
                why << "layer " << name << " is missing\n";
                continue;
            }
            compareSpectrum(why, "layer " + name + " ", w, got["layers"][name]);
        }
    return why.str();
}

bool updating() {
    const char* u = std::getenv("SOUNDSTAR_UPDATE_GOLDEN");
    return u && std::string(u) == "1";
}
}  // namespace

TEST(Golden, RendersSoundAsRecorded) {
    for (const auto& g : kCases) {
        SCOPED_TRACE(g.name);
        const auto score = scoreFor(g);
        render::RenderOptions o;
        o.durationSeconds = kSeconds;
        o.sampleRate = kSampleRate;
        const auto audio = render::renderScore(score, test::presets(), o);
        json got = features(audio, kSampleRate);
        got["layers"] = layerFeatures(score, o);
        const auto path = goldenPath(g.name);
        if (updating()) {
            std::filesystem::create_directories(path.parent_path());
            json doc{{"name", g.name},      {"profile", g.profile},       {"config", json::parse(g.config)},
                     {"seconds", kSeconds}, {"sample_rate", kSampleRate}, {"layers", json::array()},
                     {"features", got}};
            for (const auto& t : score.tracks) doc["layers"].push_back(t.name + ":" + t.preset);
            std::ofstream(path) << doc.dump(1) << "\n";
            std::printf("wrote %s\n", path.c_str());
            continue;
        }
        std::ifstream in(path);
        ASSERT_TRUE(in) << "no golden file " << path << "; record it with SOUNDSTAR_UPDATE_GOLDEN=1";
        const json want = json::parse(in);
        std::vector<std::string> layers;
        for (const auto& t : score.tracks) layers.push_back(t.name + ":" + t.preset);
        EXPECT_EQ(json(layers), want["layers"]) << "the composer chose other layers or presets";
        const auto why = compare(want["features"], got);
        EXPECT_EQ(why, "") << g.name << " sounds different from " << path
                           << " (if intended, rerun with SOUNDSTAR_UPDATE_GOLDEN=1 and commit the files):\n"
                           << why;
    }
}

// The comparison itself can fail: a copy of a render with 1 dB less level, or shifted by 30 ms,
// is caught.
TEST(Golden, TheComparisonCatchesSmallChanges) {
    const auto score = scoreFor(kCases[2]);
    render::RenderOptions o;
    o.durationSeconds = kSeconds;
    o.sampleRate = kSampleRate;
    const auto audio = render::renderScore(score, test::presets(), o);
    const json base = features(audio, kSampleRate);
    EXPECT_EQ(compare(base, base), "");
    auto quieter = audio;
    for (auto* ch : {&quieter.left(), &quieter.right()})
        for (auto& v : *ch) v *= 0.891f;  // -1 dB
    EXPECT_NE(compare(base, features(quieter, kSampleRate)), "");
    auto later = audio;
    const auto shift = static_cast<std::size_t>(0.03 * kSampleRate);
    for (auto* ch : {&later.left(), &later.right()}) {
        std::rotate(ch->rbegin(), ch->rbegin() + static_cast<long>(shift), ch->rend());
        std::fill(ch->begin(), ch->begin() + static_cast<long>(shift), 0.0f);
    }
    EXPECT_NE(compare(base, features(later, kSampleRate)), "");
}

// The DJ's mixing, part two (issue #11): while a bass layer plays the other layers are high-passed
// (their low end does not fight it), engaged and released on the bass's bar lines without a
// click; and a replacement's style is the candidate whose spectrum overlaps the mix least.
// Sets play in process on the virtual clock; bands are measured by sox (sinc band filters) on
// the set's own audio, apart from the DJ's own analysis.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <regex>

#include "DjTest.h"
#include "Cli.h"
#include "Presets.h"
#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/DjSet.h"
#include "dj/DjStyles.h"
#include "dsp/LowCut.h"

using namespace soundstar;

namespace {
constexpr double kRate = 44100.0;
constexpr int kBlock = 256;


using test::onlyLayers;

struct SetOptions {
    std::vector<std::string> layers;
    std::vector<std::string> muted;  // in the session's mix (the DJ still plays them)
    float lowCutHz = dj::DjSet::kBassLowCutHz;
    std::string padStyle;  // the vibe's pad style ("" the profile's)
    std::function<void(dj::DjSet&, SampleTime)> steer;
    bool overlapOnWorker = false;
};

struct Played {
    StereoBuffer audio;
    std::vector<dj::DjEvent> events;
    std::vector<SampleTime> lines;
    std::string eventLines;
};

Played playSet(const SetOptions& so, double seconds) {
    const auto profile = onlyLayers(so.layers);
    dj::DjBrain brain(profile, 1, 0);
    const live::LiveOptions o = test::liveOptionsFor(brain, kRate, kBlock);
    music::MusicConfig cfg;
    cfg.genre = profile.name;
    cfg = compose::applyProfile(cfg, profile.style);
    cfg.density = 6;
    cfg.seed = 4;
    if (!so.padStyle.empty()) cfg = dj::withStyle(cfg, "pad", so.padStyle);
    const live::StreamVibe base{profile.name, cfg, compose::sketchFromMusicConfig(cfg), 0.0};
    live::LiveSession session(test::presets(), dj::withEnergy(base, brain.energy(), ""), o);
    for (const auto& m : so.muted) session.setLayerMix(m, true, std::nullopt);
    dj::DjSet set(session, brain, base, kRate, kBlock);
    set.setBassLowCut(so.lowCutHz);
    set.setOverlapCheckOnWorker(so.overlapOnWorker);
    Played out;
    const auto total = static_cast<SampleTime>(seconds * kRate);
    out.audio.resize(static_cast<int>(total));
    for (SampleTime pos = 0; pos < total; pos += kBlock) {
        if (so.steer) so.steer(set, pos);
        set.tick(pos);
        while (!session.pump(pos + kBlock)) {
        }
        const int n = static_cast<int>(std::min<SampleTime>(kBlock, total - pos));
        session.engine().render(out.audio.view().offset(static_cast<int>(pos), n));
    }
    out.events = set.events();
    out.eventLines = set.eventsJsonLines();
    for (int b = 0; set.barLine(b) >= 0; ++b) out.lines.push_back(set.barLine(b));
    return out;
}

std::vector<SampleTime> samplesOf(const Played& p, const std::string& kind, const std::string& labelStart = "") {
    std::vector<SampleTime> out;
    for (const auto& e : p.events)
        if (e.kind == kind && e.label.rfind(labelStart, 0) == 0) out.push_back(e.sample);
    return out;
}

std::filesystem::path tempDir() {
    auto d = std::filesystem::temp_directory_path() / ("soundstar_dj_mixing_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

/// The set's audio (mono: the channels' mean) through a sox effect, read back.
std::vector<float> throughSox(const StereoBuffer& a, const std::string& effect) {
    static int n = 0;
    const auto dir = tempDir();
    const auto in = dir / ("in" + std::to_string(++n) + ".f32"), out = dir / ("out" + std::to_string(n) + ".f32");
    std::vector<float> mono(a.left().size());
    for (std::size_t i = 0; i < mono.size(); ++i) mono[i] = 0.5f * (a.left()[i] + a.right()[i]);
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(mono.data()), static_cast<std::streamsize>(mono.size() * sizeof(float)));
    const auto r = test::runCommand("sox -t f32 -r 44100 -c 1 '" + in.string() + "' -t f32 '" + out.string() + "' " + effect);
    EXPECT_EQ(r.code, 0) << r.output;
    const std::string bytes = test::readText(out.string());
    std::vector<float> x(bytes.size() / sizeof(float));
    std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
    std::filesystem::remove(in), std::filesystem::remove(out);
    return x;
}

/// Mean square of x over [from, to) samples.
double power(const std::vector<float>& x, SampleTime from, SampleTime to) {
    double s = 0.0;
    to = std::min<SampleTime>(to, static_cast<SampleTime>(x.size()));
    for (auto i = from; i < to; ++i) s += static_cast<double>(x[static_cast<std::size_t>(i)]) * x[static_cast<std::size_t>(i)];
    return s / static_cast<double>(std::max<SampleTime>(1, to - from));
}
double db(double p) { return 10.0 * std::log10(std::max(p, 1e-30)); }

using test::expectClickFree;
using test::jumpPercentile;
using test::worstJump;

/// Octave bands (centre 31.5 Hz .. 8 kHz) by sox's sinc band-pass, mean square over [from, to).
std::vector<double> soxBands(const StereoBuffer& a, SampleTime from, SampleTime to) {
    std::vector<double> out;
    for (int b = 0; b < 9; ++b) {
        const double centre = 1000.0 * std::pow(2.0, b - 5.0), lo = centre / std::sqrt(2.0), hi = centre * std::sqrt(2.0);
        // Transition bands a quarter of each edge wide (sox's default, 5% of Nyquist, leaks a low band).
        const auto edges = fmt::format("sinc -t {:.1f} {:.1f}-{:.1f} -t {:.1f}", lo / 4.0, lo, hi, hi / 4.0);
        out.push_back(power(throughSox(a, edges), from, to));
    }
    return out;
}

/// The share of `part`'s power in bands where `mix` is at least as strong (band by band the
/// smaller power, over the part's total).
double overlapOf(const std::vector<double>& part, const std::vector<double>& mix) {
    double covered = 0.0, total = 0.0;
    for (std::size_t i = 0; i < part.size(); ++i) covered += std::min(part[i], mix[i]), total += part[i];
    return covered / total;
}
}  // namespace

TEST(DjMixing, OtherLayersAreHighPassedWhileTheBassPlaysOnItsBarLinesWithoutAClick) {
    // The pad (cinematic: its chords' root and fifth an octave below) and a bass that enters on bar 4 (the intro's
    // second phrase) and leaves on the bar line after the user asks for the pad alone (~12.8 s).
    // The bass is muted in the session's own mix, so the recording is the pad's stem.
    SetOptions so;
    so.layers = {"pad", "bass"};
    so.muted = {"bass"};
    so.padStyle = "cinematic";
    so.steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kBlock * 2200) set.brain().wantLayers({"pad"});
    };
    const Played cut = playSet(so, 17.5);
    SetOptions plainOptions = so;
    plainOptions.lowCutHz = 0.0f;
    const Played plain = playSet(plainOptions, 17.5);

    const auto in = samplesOf(cut, "layer_in", "bass"), out = samplesOf(cut, "layer_out", "bass");
    const auto engaged = samplesOf(cut, "low_cut"), none = samplesOf(plain, "low_cut");
    ASSERT_EQ(in.size(), 1u);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(engaged.size(), 2u) << "in and out";
    EXPECT_TRUE(none.empty()) << "no low cut when it is off";
    EXPECT_EQ(engaged[0], in[0]) << "engaged on the bar line where the bass enters";
    EXPECT_EQ(engaged[1], out[0]) << "released on the bar line where it leaves";
    EXPECT_EQ(in[0], cut.lines[4]);
    EXPECT_TRUE(std::find(cut.lines.begin(), cut.lines.end(), out[0]) != cut.lines.end());
    ASSERT_GT(out[0] - in[0], 4 * 44100);

    // Nothing changes before the bass's bar line; the first samples after it differ.
    const auto& l = cut.audio.left();
    const auto& p = plain.audio.left();
    EXPECT_TRUE(std::equal(l.begin(), l.begin() + in[0], p.begin())) << "bit-identical before the bar line";
    double diff = 0.0;
    for (auto i = in[0]; i < in[0] + 441; ++i) diff += std::abs(l[static_cast<std::size_t>(i)] - p[static_cast<std::size_t>(i)]);
    EXPECT_GT(diff, 0.0) << "it starts on the bar line's sample";

    // Below 100 Hz (sox sinc): 6 dB or more lower while the bass plays (a
    // 2nd-order high-pass at 120 Hz takes 65 Hz down 10.6 dB, 90 Hz 5.4 dB),
    // the same (within 0.5 dB) once it has left.
    const auto lowCut = throughSox(cut.audio, "sinc -100 -t 20"), lowPlain = throughSox(plain.audio, "sinc -100 -t 20");
    const SampleTime settle = 4410;  // past the 40 ms blend and the filter's own settling
    const double plainIn = db(power(lowPlain, in[0] + settle, out[0])), cutIn = db(power(lowCut, in[0] + settle, out[0]));
    const double plainOut = db(power(lowPlain, out[0] + settle, out[0] + 3 * 44100)), cutOut = db(power(lowCut, out[0] + settle, out[0] + 3 * 44100));
    const double fullIn = db(power(throughSox(plain.audio, "gain 0"), in[0] + settle, out[0]));
    // The pad's low band is weak (about -74 dBFS, ~49 dB under the whole pad: its lowest notes sit
    // near 100 Hz) but well above the measure's floor, so the cut is measured, not the floor.
    EXPECT_GT(plainIn, -90.0) << "the pad has measurable content below 100 Hz (" << plainIn << " vs all " << fullIn << " dB)";
    EXPECT_LT(cutIn, plainIn - 6.0) << "cut while the bass plays: " << cutIn << " vs " << plainIn << " dB";
    EXPECT_NEAR(cutOut, plainOut, 0.5) << "back after the bass has left";
    std::cout << "below 100 Hz, bass in: " << plainIn << " -> " << cutIn << " dB; bass out: " << plainOut << " -> " << cutOut << " dB (whole pad " << fullIn << " dB)\n";

    // No click at the engage and release points (the live issue's measure), which catches a step.
    expectClickFree(cut.audio, {engaged[0], engaged[1]}, "low cut");
    StereoBuffer clicked = cut.audio;
    for (auto i = static_cast<std::size_t>(engaged[0]); i < clicked.left().size(); ++i) clicked.left()[i] += 0.1f;
    EXPECT_NONFATAL_FAILURE(expectClickFree(clicked, {engaged[0], engaged[1]}, "a step"), "a click near");
}

TEST(DjMixing, AReplacementTakesTheStyleThatOverlapsTheMixLeastAndTheSetStaysTheSame) {
    // Drums, bass and pad play; at bar 12 the pad is replaced with no style named: the check
    // weighs the styles nearest the intensity against the mix of drums and bass.
    const auto replaceWith = [](const std::string& style) {
        return [style](dj::DjSet& set, SampleTime pos) {
            if (pos != kBlock * 3600) return;  // ~20.9 s: acted on at the next bar line
            dj::DjMove m;
            m.replace.push_back({"pad", style, "", 0.5, 1, std::nullopt, std::nullopt});
            m.why = "test";
            set.brain().queueMove(m);
        };
    };
    SetOptions so;
    so.layers = {"drums", "bass", "pad"};
    so.steer = replaceWith("");
    const double seconds = 30.0;
    const Played a = playSet(so, seconds), again = playSet(so, seconds);
    EXPECT_EQ(a.eventLines, again.eventLines) << "the same events twice";
    EXPECT_TRUE(a.audio.left() == again.audio.left() && a.audio.right() == again.audio.right()) << "the same samples twice";

    std::string label;
    for (const auto& e : a.events)
        if (e.kind == "layer_overlap") label = e.label;
    ASSERT_FALSE(label.empty()) << a.eventLines;
    std::cout << label << "\n";
    // "pad vs bass+drums: s1 0.123, s2 0.456, s3 0.789 -> s2 (...)"
    std::smatch m;
    ASSERT_TRUE(std::regex_search(label, m, std::regex(R"(pad vs [a-z+]+: (.*) -> (\w+) )"))) << label;
    const std::string chosen = m[2];
    std::vector<std::pair<std::string, double>> candidates;
    const std::string list = m[1];
    const std::regex pair(R"((\w+) ([0-9.]+))");
    for (std::sregex_iterator it(list.begin(), list.end(), pair), end; it != end; ++it)
        candidates.emplace_back((*it)[1], std::stod((*it)[2]));
    ASSERT_GE(candidates.size(), 2u);
    // The alternative the check liked least.
    const auto worst = *std::max_element(candidates.begin(), candidates.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
    ASSERT_NE(worst.first, chosen);
    SampleTime start = -1;
    for (const auto& e : a.events)
        if (e.kind == "layer_replace") {
            start = e.sample;
            EXPECT_NE(e.label.find("-> " + chosen), std::string::npos) << e.label;
        }
    ASSERT_GT(start, 0);

    // Independently: the pad's stem in the chosen style and in the worst one (the others muted),
    // and the mix without the pad, after the crossfade; bands by sox.
    SetOptions stem = so;
    stem.muted = {"drums", "bass"};
    stem.steer = replaceWith(chosen);
    const Played chosenStem = playSet(stem, seconds);
    stem.steer = replaceWith(worst.first);
    const Played worstStem = playSet(stem, seconds);
    SetOptions mixOnly = so;
    mixOnly.muted = {"pad"};
    const Played mix = playSet(mixOnly, seconds);
    const SampleTime from = start + static_cast<SampleTime>(2.0 * kRate), to = static_cast<SampleTime>(seconds * kRate);
    const auto mixBands = soxBands(mix.audio, from, to);
    const double oChosen = overlapOf(soxBands(chosenStem.audio, from, to), mixBands), oWorst = overlapOf(soxBands(worstStem.audio, from, to), mixBands);
    std::cout << "overlap with the mix by sox: " << chosen << " " << oChosen << ", " << worst.first << " " << oWorst << "\n";
    EXPECT_LT(oChosen, oWorst - 0.03) << "the chosen style masks the mix less";
}

// On a real-time clock the check renders on a worker thread: the bar line it was decided on goes
// to the engine at once, and the replacement plays from the first bar line after the check is
// done, with the style the check at the bar line would have chosen.
TEST(DjMixing, OnARealTimeClockTheOverlapCheckRunsOnAWorkerAndTheReplacementFollowsOnABarLine) {
    constexpr SampleTime kDecided = kBlock * 3600;  // ~20.9 s: the replacement is asked for at the next bar line
    SetOptions so;
    so.layers = {"drums", "bass", "pad"};
    so.steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kDecided) {
            dj::DjMove m;
            m.replace.push_back({"pad", "", "", 0.5, 1, std::nullopt, std::nullopt});
            m.why = "test";
            set.brain().queueMove(m);
        }
    };
    const Played atLine = playSet(so, 30.0);
    so.overlapOnWorker = true;
    auto steer = so.steer;
    so.steer = [steer](dj::DjSet& set, SampleTime pos) {
        steer(set, pos);
        if (pos > kDecided) std::this_thread::sleep_for(std::chrono::microseconds(500));  // about 1/10 of real time
    };
    const Played onWorker = playSet(so, 30.0);
    const auto find = [](const Played& p, const std::string& kind) {
        for (const auto& e : p.events)
            if (e.kind == kind) return e;
        return dj::DjEvent{};
    };
    const auto syncReplace = find(atLine, "layer_replace"), syncOverlap = find(atLine, "layer_overlap");
    const auto workReplace = find(onWorker, "layer_replace"), workOverlap = find(onWorker, "layer_overlap");
    ASSERT_FALSE(syncReplace.kind.empty() || workReplace.kind.empty() || workOverlap.kind.empty()) << onWorker.eventLines;
    const SampleTime decidedLine = syncReplace.sample;  // the bar line after kDecided
    EXPECT_EQ(syncOverlap.sample, decidedLine);
    // The worker's replacement: on a later bar line, the one its check finished by.
    EXPECT_GT(workReplace.sample, decidedLine);
    EXPECT_EQ(workReplace.sample, workOverlap.sample);
    std::cout << "on the worker: replaced " << static_cast<double>(workReplace.sample - decidedLine) / kRate << " s of audio after the bar line it was asked for\n";
    EXPECT_NE(std::find(onWorker.lines.begin(), onWorker.lines.end(), workReplace.sample), onWorker.lines.end()) << "not on a bar line";
    // The same choice as at the bar line (the same mix and candidates).
    const auto chosen = [](const std::string& label) { return label.substr(label.find("->")); };
    EXPECT_EQ(chosen(workReplace.label), chosen(syncReplace.label)) << workReplace.label << " vs " << syncReplace.label;
    // Until the bar line before the worker's replacement the two sets are the same sample for sample.
    const auto until = static_cast<std::size_t>(workReplace.sample);
    EXPECT_TRUE(std::equal(onWorker.audio.left().begin(), onWorker.audio.left().begin() + static_cast<std::ptrdiff_t>(std::min(until, static_cast<std::size_t>(decidedLine))),
                           atLine.audio.left().begin()));
}

TEST(LowCut, CutsTheLowEndPassesTheRestAndReleasesToTheDrySignalAtAnyRateAndBlockSize) {
    for (const double rate : {44100.0, 48000.0, 96000.0})
        for (const int block : {1, 64, 512}) {
            dsp::LowCut cut;
            cut.prepare(rate);
            const std::size_t n = static_cast<std::size_t>(rate);  // a second
            const auto run = [&](double hz, bool engage) {
                std::vector<float> l(n), r(n);
                for (std::size_t i = 0; i < n; ++i) l[i] = r[i] = static_cast<float>(0.5 * std::sin(2.0 * 3.14159265358979 * hz * static_cast<double>(i) / rate));
                cut.reset();
                cut.snap(0.0f);
                if (engage) cut.setCutoff(120.0f);
                for (std::size_t at = 0; at < n; at += static_cast<std::size_t>(block)) {
                    const int frames = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(block), n - at));
                    cut.process(StereoView{l.data() + at, r.data() + at, frames});
                }
                double s = 0.0;
                for (std::size_t i = n / 2; i < n; ++i) s += static_cast<double>(l[i]) * l[i];
                return 10.0 * std::log10(s / static_cast<double>(n / 2) / 0.125);  // dB against the sine's own power
            };
            EXPECT_LT(run(40.0, true), -18.0) << rate << " Hz, block " << block;   // 12 dB/octave, 1.6 octaves down
            EXPECT_NEAR(run(1000.0, true), 0.0, 0.1) << rate << " Hz, block " << block;
            EXPECT_NEAR(run(40.0, false), 0.0, 0.01) << "released: the dry signal";
            // Released after being engaged: the dry signal again, to the sample, once the blend is out.
            const int half = static_cast<int>(0.05 * rate);  // past the 40 ms blend
            std::vector<float> l(static_cast<std::size_t>(2 * half), 0.25f), r(static_cast<std::size_t>(2 * half), -0.25f);
            cut.setCutoff(120.0f);
            cut.process(StereoView{l.data(), r.data(), half});
            cut.setCutoff(0.0f);
            cut.process(StereoView{l.data() + half, r.data() + half, half});
            EXPECT_FALSE(cut.engaged());
            EXPECT_EQ(l.back(), 0.25f);
            EXPECT_EQ(r.back(), -0.25f);
            std::vector<float> big{1e5f, -1e5f, 0.0f, 1e5f}, big2 = big;
            cut.setCutoff(500.0f);
            cut.process(StereoView{big.data(), big2.data(), 4});
            for (const float v : big) EXPECT_TRUE(std::isfinite(v));
        }
}

// A generated, conformed loop as a DJ layer (issues #11 and #12), with the procedural model in real
// `soundstar model-worker` processes, on the virtual clock. In process (no master chain, so the set
// with the loop minus the same set without it is the loop as played): `g` starts the loop on the
// next bar line's sample (cross-correlation of the difference against the conformed loop), the
// loop is exactly N bars at the set's tempo and plays on across its wrap (the difference is the
// loop, scaled, sample for sample), no click at the wrap by test_dj_mix's measure, `g off` takes
// it out over a bar from the next bar line, a tempo change takes it out, a model error gives a
// warning and the set sample for sample as without it. From the CLI: `dj --generator` with
// `g 2 ...` in a script (the event on the bar line, read back with sox), and a bad model folder
// gives a warning and the whole set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>

#include "DjTest.h"
#include "Cli.h"
#include "Presets.h"
#include "analysis/Bands.h"
#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/DjCommands.h"
#include "dj/DjSet.h"
#include "models/WorkerSupervisor.h"

using namespace soundstar;

namespace {
constexpr double kRate = 44100.0;
constexpr int kBlock = 256;
const std::string kBin = SOUNDSTAR_BIN;
const std::filesystem::path kModel = std::filesystem::path(SOUNDSTAR_DATA) / "models" / "procedural";


/// techno_minimal's music (126 bpm) with a DJ that plays drums and bass (one long intro).
dj::DjProfile drumsAndBass() { return test::onlyLayers({"drums", "bass"}); }

using test::vibeOf;

/// The procedural model through a real worker process.
dj::LoopGenerator workerGenerator(models::WorkerSupervisor& service) {
    return [&service](const dj::LoopAsk& ask) {
        models::GenerateRequest r;
        r.model = kModel;
        r.prompt = ask.prompt;
        r.seconds = ask.seconds;
        r.seed = ask.seed;
        auto got = service.generate(r);
        if (!got.ok) throw std::runtime_error(got.error);
        return dj::LoopAudio{std::move(got.interleaved), got.channels, got.sampleRateHz};
    };
}

/// The procedural model in real `soundstar model-worker` processes, and a generator asking it.
struct ProceduralService {
    models::WorkerSupervisor service{[] {
        models::WorkerSupervisor::Options o;
        o.workerCommand = {kBin, "model-worker"};
        return o;
    }()};
    dj::LoopGenerator generate = workerGenerator(service);
};

struct Played {
    StereoBuffer audio;
    std::vector<dj::DjEvent> events;
    std::vector<SampleTime> lines;
    std::optional<dj::GeneratedLoop> loop;
};

/// Drums and bass (no swaps) on a live session with loop tracks, no master chain, and its DJ.
struct LoopSet {
    dj::DjProfile profile = drumsAndBass();
    dj::DjBrain brain{profile, 1, 0};
    live::StreamVibe base = vibeOf(profile);
    live::LiveSession session{test::presets(), dj::withEnergy(base, brain.energy(), ""), [this] {
                                  auto o = test::liveOptionsFor(brain, kRate, kBlock);
                                  o.loopTracks = true;
                                  return o;
                              }()};
    dj::DjSet set{session, brain, base, kRate, kBlock};
};

/// A set on the virtual clock for `seconds` with loop tracks and `generate`; `steer(set, pos)` before each block.
/// `bassLowCutHz`: the DJ's low cut on the other layers (and the loop) while the bass plays (0: off).
Played playSet(double seconds, const dj::LoopGenerator& generate, const std::function<void(dj::DjSet&, SampleTime)>& steer = {},
               float bassLowCutHz = dj::DjSet::kBassLowCutHz) {
    LoopSet ls;
    auto& session = ls.session;
    auto& set = ls.set;
    set.waitForSpeech(true);
    set.setBassLowCut(bassLowCutHz);
    if (generate) set.setGenerator(generate, -20.0, 7);
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
    }
    out.events = set.events();
    for (int b = 0; set.barLine(b) >= 0; ++b) out.lines.push_back(set.barLine(b));
    if (set.lastLoop()) out.loop = *set.lastLoop();
    return out;
}

const dj::DjEvent* findEvent(const Played& p, const std::string& kind) {
    for (const auto& e : p.events)
        if (e.kind == kind) return &e;
    return nullptr;
}

// The click measure of test_dj_mix: the largest jump within 50 ms of a point against 2x the 99.9th
// percentile of the jumps elsewhere in the same signal.
float worstJump(const std::vector<float>& x, SampleTime at) {
    float w = 0.0f;
    const auto from = static_cast<std::size_t>(std::max<SampleTime>(1, at - 2205)), to = std::min(x.size(), static_cast<std::size_t>(at + 2205));
    for (auto i = from; i < to; ++i) w = std::max(w, std::abs(x[i] - x[i - 1]));
    return w;
}
float jumpPercentile(const std::vector<float>& x, const std::vector<SampleTime>& points, std::size_t from, std::size_t to) {
    std::vector<float> jumps;
    for (std::size_t i = std::max<std::size_t>(1, from); i < to; ++i) {
        const auto near = std::any_of(points.begin(), points.end(), [&](SampleTime p) { return std::llabs(static_cast<SampleTime>(i) - p) <= 2205; });
        if (!near) jumps.push_back(std::abs(x[i] - x[i - 1]));
    }
    auto at = jumps.begin() + static_cast<long>(static_cast<double>(jumps.size()) * 0.999);
    std::nth_element(jumps.begin(), at, jumps.end());
    return *at;
}

std::vector<nlohmann::json> readEvents(const std::string& path) {
    std::istringstream lines(test::readText(path));
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

std::vector<float> readMono(const std::string& wav) {
    const std::string raw = wav + ".f32";
    test::runCommand("sox '" + wav + "' -t f32 -c 1 '" + raw + "'");
    const std::string bytes = test::readText(raw);
    std::vector<float> x(bytes.size() / sizeof(float));
    std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
    return x;
}
}  // namespace

TEST(DjGenLoop, ALoopStartsOnTheBarLineIsExactlyNBarsWrapsWithoutAClickAndLeavesOverABar) {
    ProceduralService model;
    const auto& generate = model.generate;
    const auto steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kBlock * 400) set.generateLoop("dub chord stabs and a shaker", 2);  // 2.3 s: bar 2's line (3.81 s)
        if (pos == kBlock * 1550) {  // 9.0 s: out from bar 5's line (9.52 s)
            EXPECT_TRUE(set.stopLoop());
        }
    };
    // The low cut under the bass off: the loop as played is then the conformed loop itself.
    const auto with = playSet(12.0, generate, steer, 0.0f), without = playSet(12.0, generate, {}, 0.0f);
    ASSERT_TRUE(with.loop) << "no loop was played";
    const auto* in = findEvent(with, "gen_layer_in");
    const auto* out = findEvent(with, "gen_layer_out");
    ASSERT_TRUE(in && out);
    ASSERT_GE(with.lines.size(), 7u);
    const SampleTime line = with.lines[2];
    EXPECT_EQ(in->sample, line) << in->label;
    EXPECT_EQ(out->sample, with.lines[5]);
    EXPECT_NE(in->label.find("2 bars of 'dub chord stabs and a shaker, 126 bpm'"), std::string::npos) << in->label;
    // Exactly two bars at the set's tempo (126 bpm: 84000 samples a bar), and two of the set's bars.
    const auto& loop = *with.loop->audio;
    EXPECT_EQ(with.loop->plan.bpm, 126.0);
    EXPECT_EQ(loop.frames(), static_cast<std::size_t>(std::llround(2 * 4 * 60.0 / 126.0 * kRate)));
    EXPECT_EQ(static_cast<SampleTime>(loop.frames()), with.lines[4] - with.lines[2]);
    // Nothing changes before the bar line.
    const auto& l = with.audio.left();
    const auto& p = without.audio.left();
    EXPECT_TRUE(std::equal(l.begin(), l.begin() + line, p.begin()));
    std::vector<float> d(l.size());
    for (std::size_t i = 0; i < l.size(); ++i) d[i] = l[i] - p[i];
    // Where the loop starts: the difference cross-correlated with the loop (1 s from its end of
    // fade, a beat in), over +-50 ms around the bar line.
    const auto beat = static_cast<SampleTime>(std::llround(60.0 / 126.0 * kRate));
    long best = -1;
    double bestCorr = -1e30;
    for (long lag = line - 2205; lag <= line + 2205; ++lag) {
        double c = 0.0;
        for (SampleTime i = beat; i < beat + 44100; ++i) c += static_cast<double>(d[static_cast<std::size_t>(lag + i)]) * loop.left[static_cast<std::size_t>(i)];
        if (c > bestCorr) bestCorr = c, best = lag;
    }
    EXPECT_EQ(best, line) << "the loop starts " << best - line << " samples from the bar line";
    // From the end of the fade in to the start of the fade out, across the wrap (bar 4's line),
    // the difference is the loop (at the track's gain) sample for sample.
    const SampleTime from = line + beat, to = with.lines[5];
    double dl = 0.0, ll = 0.0;
    for (SampleTime i = from; i < to; ++i) {
        const float x = loop.left[static_cast<std::size_t>((i - line) % static_cast<SampleTime>(loop.frames()))];
        dl += static_cast<double>(d[static_cast<std::size_t>(i)]) * x, ll += static_cast<double>(x) * x;
    }
    const double gain = dl / ll;
    EXPECT_GT(gain, 0.5);
    double residual = 0.0, energy = 0.0;
    for (SampleTime i = from; i < to; ++i) {
        const double x = loop.left[static_cast<std::size_t>((i - line) % static_cast<SampleTime>(loop.frames()))];
        residual += std::pow(d[static_cast<std::size_t>(i)] - gain * x, 2), energy += std::pow(d[static_cast<std::size_t>(i)], 2);
    }
    EXPECT_LT(residual, 1e-8 * energy) << "the difference is the loop, wrapping after exactly two bars";
    // No click at the wrap, in the loop as played and in the whole mix.
    const std::vector<SampleTime> wrap{with.lines[4]};
    EXPECT_LE(worstJump(d, wrap[0]), 2.0f * jumpPercentile(d, wrap, static_cast<std::size_t>(from), static_cast<std::size_t>(to))) << "a click at the loop's wrap";
    EXPECT_LE(worstJump(l, wrap[0]), 2.0f * jumpPercentile(l, wrap, 0, l.size())) << "a click at the loop's wrap in the mix";
    // The fade in is equal-power over a beat: a quarter beat in, the loop is at sin(pi/8) of its gain (+-10%).
    double early = 0.0, earlyRef = 0.0;
    for (SampleTime i = line + beat / 4 - 441; i < line + beat / 4 + 441; ++i) {
        const double x = loop.left[static_cast<std::size_t>(i - line)];
        early += static_cast<double>(d[static_cast<std::size_t>(i)]) * x, earlyRef += x * x;
    }
    EXPECT_NEAR(early / earlyRef / gain, std::sin(std::numbers::pi / 8.0), 0.1 * std::sin(std::numbers::pi / 8.0));
    // Out over a bar from bar 5's line: silent after it.
    EXPECT_TRUE(std::all_of(d.begin() + with.lines[6], d.end(), [](float x) { return x == 0.0f; })) << "the loop is gone a bar after g off";
}

// A generated loop is mixed as a layer: while the bass plays it is high-passed at the DJ's corner
// (120 Hz) like the other layers, from its first sample; above the corner it plays as conformed.
TEST(DjGenLoop, UnderTheBassTheLoopIsHighPassedLikeTheOtherLayers) {
    ProceduralService model;
    const auto& generate = model.generate;
    const auto steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kBlock * 400) set.generateLoop("deep dub chords with a sub bass line", 2);
    };
    const auto with = playSet(9.5, generate, steer), without = playSet(9.5, generate);
    ASSERT_TRUE(with.loop) << "no loop was played";
    const auto* cut = findEvent(with, "low_cut");
    ASSERT_TRUE(cut);
    EXPECT_NE(cut->label.find("loop"), std::string::npos) << cut->label;
    // The bass enters on bar 4's line, two bars after the loop.
    const SampleTime line = with.lines[2], bassLine = with.lines[4], beat = static_cast<SampleTime>(std::llround(60.0 / 126.0 * kRate));
    ASSERT_EQ(findEvent(with, "gen_layer_in")->sample, line);
    ASSERT_EQ(cut->sample, bassLine);
    // The loop as played (the set with it minus the set without it) against the conformed loop
    // over the same samples: octave-band powers, and the track's gain read from the bands from
    // 1 kHz up (far above the corner).
    const auto& l = with.audio.left();
    const auto& p = without.audio.left();
    const auto& loop = with.loop->audio->left;
    struct Heard {
        analysis::BandEnergies played, conformed;
        double gain;
    };
    const auto heard = [&](SampleTime from, SampleTime to) {
        std::vector<float> played, conformed;
        for (SampleTime i = from; i < to; ++i) {
            played.push_back(l[static_cast<std::size_t>(i)] - p[static_cast<std::size_t>(i)]);
            conformed.push_back(loop[static_cast<std::size_t>((i - line) % static_cast<SampleTime>(loop.size()))]);
        }
        Heard h{analysis::octaveBandEnergies(played, kRate), analysis::octaveBandEnergies(conformed, kRate), 0.0};
        h.gain = (h.played[5] + h.played[6] + h.played[7]) / (h.conformed[5] + h.conformed[6] + h.conformed[7]);
        return h;
    };
    const auto dB = [](double x) { return 10.0 * std::log10(x); };
    // Before the bass (from the end of its fade in): the loop as conformed, low end and all.
    const Heard before = heard(line + beat, bassLine);
    double total = 0.0;
    for (double x : before.conformed) total += x;
    ASSERT_GT(before.conformed[0] + before.conformed[1], 1e-3 * total) << "the loop has too little low end for this test";
    EXPECT_GT(before.gain, 0.01);
    for (std::size_t b = 0; b < 8; ++b)
        EXPECT_NEAR(before.played[b] / before.conformed[b] / before.gain, 1.0, 0.1) << analysis::octaveBandName(b) << " before the bass";
    // With the bass (from 50 ms after its line: the 40 ms blend is over): 2nd order at 120 Hz is
    // about -24 dB at 31.5 Hz and -12 dB at 63 Hz in band power (asserted -12 and -6); the rest as before.
    const Heard under = heard(bassLine + 2205, static_cast<SampleTime>(l.size()));
    for (std::size_t b = 5; b < 8; ++b) EXPECT_NEAR(under.played[b] / under.conformed[b] / under.gain, 1.0, 0.1) << analysis::octaveBandName(b);
    EXPECT_NEAR(under.gain, before.gain, 0.1 * before.gain);
    EXPECT_LT(under.played[0] / under.conformed[0] / under.gain, 0.063) << "31.5 Hz band: " << dB(under.played[0] / under.conformed[0] / under.gain) << " dB";
    EXPECT_LT(under.played[1] / under.conformed[1] / under.gain, 0.25) << "63 Hz band: " << dB(under.played[1] / under.conformed[1] / under.gain) << " dB";
    // No click where the cut blends in, in the loop as played and in the whole mix.
    std::vector<float> d(l.size());
    for (std::size_t i = 0; i < l.size(); ++i) d[i] = l[i] - p[i];
    const std::vector<SampleTime> at{bassLine};
    EXPECT_LE(worstJump(d, bassLine), 2.0f * jumpPercentile(d, at, static_cast<std::size_t>(line + beat), d.size())) << "a click in the loop as the cut engages";
    EXPECT_LE(worstJump(l, bassLine), 2.0f * jumpPercentile(l, at, 0, l.size())) << "a click in the mix as the cut engages";
}

// Quitting does not wait for the model: a set that ends with a loop still being made cancels it
// (a generator that would otherwise block for a minute).
TEST(DjGenLoop, EndingTheSetCancelsALoopStillBeingMade) {
    std::mutex m;
    std::condition_variable cv;
    bool started = false, cancelled = false;
    const dj::LoopGenerator slow = [&](const dj::LoopAsk&) -> dj::LoopAudio {
        std::unique_lock hold(m);
        started = true;
        cv.notify_all();
        cv.wait_for(hold, std::chrono::seconds(60), [&] { return cancelled; });
        throw std::runtime_error(cancelled ? "cancelled" : "never cancelled");
    };
    const auto cancel = [&] {
        const std::scoped_lock hold(m);
        cancelled = true;
        cv.notify_all();
    };
    const auto t0 = std::chrono::steady_clock::now();
    {
        LoopSet ls;
        ls.set.setGenerator(slow, -20.0, 7, cancel);
        ls.set.generateLoop("a long ambient swell", 8);
        std::unique_lock hold(m);
        ASSERT_TRUE(cv.wait_for(hold, std::chrono::seconds(30), [&] { return started; })) << "the generator was never asked";
    }  // the set ends here, its loop still being made
    EXPECT_TRUE(cancelled) << "the set waited for the generator instead of cancelling it";
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 50.0);
}

TEST(DjGenLoop, AModelErrorGivesAWarningAndTheSetPlaysOnUnchanged) {
    const dj::LoopGenerator broken = [](const dj::LoopAsk&) -> dj::LoopAudio { throw std::runtime_error("the worker was killed by signal 9"); };
    const auto steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kBlock * 400) set.generateLoop("dub chords", 4);
    };
    const auto a = playSet(6.0, broken, steer), b = playSet(6.0, broken);
    const auto* w = findEvent(a, "warning");
    ASSERT_TRUE(w);
    EXPECT_NE(w->label.find("generated loop not played: the worker was killed by signal 9"), std::string::npos) << w->label;
    EXPECT_EQ(findEvent(a, "gen_layer_in"), nullptr);
    EXPECT_EQ(a.audio.left(), b.audio.left()) << "the set plays on as without it";
}

TEST(DjGenLoop, ATempoChangeTakesTheLoopOutAndGIsRefusedWithItsLimits) {
    // A loop fitted to 126 bpm leaves when the set moves to 130 (from that bar line, over a bar).
    int calls = 0;
    const dj::LoopGenerator tone = [&calls](const dj::LoopAsk& ask) {
        ++calls;
        dj::LoopAudio a;  // a kick at 126 bpm, a beat every 21000 samples
        a.channels = 1, a.sampleRateHz = kRate;
        a.interleaved.assign(static_cast<std::size_t>(ask.seconds * kRate), 0.0f);
        for (std::size_t i = 0; i < a.interleaved.size(); ++i) {
            const double t = static_cast<double>(i % 21000) / kRate;
            a.interleaved[i] = static_cast<float>(0.8 * std::exp(-t * 30.0) * std::sin(2.0 * std::numbers::pi * 55.0 * t) + 0.05 * std::sin(2.0 * std::numbers::pi * 440.0 * i / kRate));
        }
        return a;
    };
    const auto steer = [](dj::DjSet& set, SampleTime pos) {
        if (pos == kBlock * 100) set.generateLoop("kick", 1);
        if (pos == kBlock * 700) set.setTempo(130.0);  // 4.06 s: from bar 3's line
    };
    const auto a = playSet(8.0, tone, steer);
    EXPECT_EQ(calls, 1);
    const auto* in = findEvent(a, "gen_layer_in");
    const auto* out = findEvent(a, "gen_layer_out");
    ASSERT_TRUE(in && out);
    EXPECT_EQ(in->sample, a.lines[1]);
    EXPECT_EQ(out->sample, a.lines[3]);
    EXPECT_NE(out->label.find("the tempo moves to"), std::string::npos) << out->label;
    // The command's limits, each named; the set is unchanged by a refused one.
    const auto profile = drumsAndBass();
    dj::DjBrain brain(profile, 1, 0);
    live::LiveOptions o;
    o.initialLayers = brain.playing();
    o.loopTracks = true;
    live::LiveSession session(test::presets(), dj::withEnergy(vibeOf(profile), brain.energy(), ""), o);
    dj::DjSet set(session, brain, vibeOf(profile), kRate, kBlock);
    const dj::DjVibes vibes{[](const std::string&) -> std::pair<dj::DjProfile, live::StreamVibe> { throw std::invalid_argument("no"); },
                            [](const std::string&) -> live::StreamVibe { throw std::invalid_argument("no"); }};
    const auto refusal = [&](const std::string& line) {
        try {
            dj::applyDjCommand(set, line, vibes);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(refusal("g dub chords").find("there is no generator; start the set with --generator MODEL"), std::string::npos);
    set.setGeneratorProblem("--generator 'nope' is no model folder");
    EXPECT_NE(refusal("g dub chords").find("there is no generator: --generator 'nope' is no model folder"), std::string::npos);
    set.setGenerator(tone, -20.0, 1);
    EXPECT_NE(refusal("g 3 dub chords").find("a loop is 1, 2, 4 or 8 bars (not 3)"), std::string::npos);
    EXPECT_NE(refusal("g 16 dub").find("a loop is 1, 2, 4 or 8 bars (not 16)"), std::string::npos);
    EXPECT_NE(refusal("g").find("g needs a description"), std::string::npos);
    EXPECT_NE(refusal("g 8").find("g needs a description"), std::string::npos);
    EXPECT_NE(refusal("g off").find("no generated loop plays"), std::string::npos);
    EXPECT_NE(refusal("g " + std::string(301, 'a')).find("at most 300 bytes"), std::string::npos);
    EXPECT_NE(refusal("g 0 x").find("allowed commands"), std::string::npos) << "a refusal lists the commands";
    EXPECT_EQ(refusal("g 8 deep dub chords"), "accepted");
    EXPECT_NE(refusal("g 2 more").find("one at a time"), std::string::npos);
    EXPECT_NE(std::string(dj::djCommandHelp()).find("g [BARS] DESCRIPTION"), std::string::npos);
}

TEST(DjGenLoop, TheCliPlaysALoopOnABarLineAndABadModelFolderOnlyWarns) {
    test::TempDir dir;
    std::ofstream(dir / "g.txt") << "2 g 2 dub chord stabs\n";
    const auto run = [&](const std::string& args) {
        const auto r = test::runCommand(kBin + " dj --clock virtual --profile techno_minimal --minutes 0.15 --seed 3 -q " + args);
        EXPECT_EQ(r.code, 0) << r.output;
        return r;
    };
    run("--generator '" + kModel.string() + "' --script '" + (dir / "g.txt") + "' -o '" + (dir / "g.wav") + "' --events '" + (dir / "g.jsonl") + "'");
    run("--generator '" + kModel.string() + "' -o '" + (dir / "p.wav") + "'");
    const long line = std::lround(2 * 4.0 * 60.0 / 126.0 * kRate);
    long at = -1;
    for (const auto& e : readEvents(dir / "g.jsonl"))
        if (e["event"] == "gen_layer_in") at = e["sample"].get<long>();
    EXPECT_EQ(at, line) << test::readText(dir / "g.jsonl");
    const auto g = readMono(dir / "g.wav"), p = readMono(dir / "p.wav");
    ASSERT_EQ(g.size(), p.size());
    EXPECT_TRUE(std::equal(g.begin(), g.begin() + line, p.begin())) << "nothing changes before the bar line";
    double diff = 0.0;
    for (long i = line; i < line + 4410; ++i) diff += std::abs(g[static_cast<std::size_t>(i)] - p[static_cast<std::size_t>(i)]);
    EXPECT_GT(diff, 0.0) << "the loop comes in on the bar line";
    // The same bytes every run (the virtual clock waits for the model).
    run("--generator '" + kModel.string() + "' --script '" + (dir / "g.txt") + "' -o '" + (dir / "g2.wav") + "'");
    EXPECT_EQ(test::readText(dir / "g.wav"), test::readText(dir / "g2.wav"));
    // A folder that is no model: a warning at the start, g refused with the reason, the whole set.
    std::filesystem::create_directories(dir / "empty");
    run("--generator '" + (dir / "empty") + "' --script '" + (dir / "g.txt") + "' -o '" + (dir / "b.wav") + "' --events '" + (dir / "b.jsonl") + "'");
    bool warned = false, refused = false;
    for (const auto& e : readEvents(dir / "b.jsonl")) {
        const auto label = e["label"].get<std::string>();
        warned = warned || (e["event"] == "warning" && label.find("no generated loops:") != std::string::npos && label.find("manifest.json") != std::string::npos);
        refused = refused || (e["event"] == "warning" && label.find("g: there is no generator:") != std::string::npos);
    }
    EXPECT_TRUE(warned) << test::readText(dir / "b.jsonl");
    EXPECT_TRUE(refused) << test::readText(dir / "b.jsonl");
    EXPECT_EQ(test::soxInfo(dir / "b.wav").frames, test::soxInfo(dir / "p.wav").frames) << "the whole set";
    // A followed clock nudges the tempo every bar, so a loop fitted to one tempo could never stay:
    // refused before anything plays, naming the clocks it works with, and no file written.
    for (const std::string clock : {"midi", "jack", "link"}) {
        const auto r = test::runCommand(kBin + " dj --clock " + clock + " --device null --minutes 0.1 -q --generator '" + kModel.string() + "' -o '" +
                                        (dir / "c.wav") + "'");
        EXPECT_NE(r.code, 0) << clock;
        EXPECT_NE(r.output.find("--generator plays with --clock internal or virtual only, not " + clock), std::string::npos) << r.output;
        EXPECT_FALSE(std::filesystem::exists(dir / "c.wav")) << clock;
    }
}

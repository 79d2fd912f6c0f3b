// soundstar dj end to end (issue #11, first part), on the virtual clock: a set moves through its
// phases; layers enter exactly on bar lines (by the events and by a rise in the audio on that
// bar and not the bars around it); `break` and `drop` change the layers and the low end
// measurably; every DJ profile plays a set that is not silent and near the target loudness; an
// LLM that is not there gives a warning event and the set goes on. Audio is read back with sox,
// loudness with ffmpeg.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "Cli.h"

using namespace soundstar::test;

namespace {
const std::string kBin = SOUNDSTAR_BIN;
constexpr double kRate = 44100.0;

std::vector<nlohmann::json> readEvents(const std::string& path) {
    std::istringstream lines(readText(path));
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

/// The file as mono floats, by sox (optionally through a sox effect such as "lowpass 150").
std::vector<float> readMono(const std::string& wav, const std::string& effect = "") {
    const std::string raw = wav + ".f32";
    runCommand("sox '" + wav + "' -t f32 -c 1 '" + raw + "' " + effect);
    const std::string bytes = readText(raw);
    std::vector<float> x(bytes.size() / sizeof(float));
    std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
    return x;
}

double rmsDb(const std::vector<float>& x, long from, long to) {
    from = std::max(0L, from), to = std::min(static_cast<long>(x.size()), to);
    double s = 0.0;
    for (long i = from; i < to; ++i) s += static_cast<double>(x[static_cast<std::size_t>(i)]) * x[static_cast<std::size_t>(i)];
    return 10.0 * std::log10(std::max(1e-20, s / std::max(1L, to - from)));
}

std::string runDj(const std::string& args) {
    const auto r = runCommand(kBin + " dj --clock virtual " + args);
    EXPECT_EQ(r.code, 0) << r.output;
    return r.output;
}

/// An OpenAI-compatible chat endpoint on loopback that answers every request with `content`
/// after `delaySeconds` (a real HTTP server; the model it plays is a fake).
class FakeLlm {
public:
    explicit FakeLlm(std::string content, double delaySeconds = 0.0) {
        server_.Post("/v1/chat/completions", [this, content, delaySeconds](const httplib::Request&, httplib::Response& res) {
            ++asked_;
            for (auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(delaySeconds); !stop_ && std::chrono::steady_clock::now() < until;)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            const nlohmann::json body = {{"choices", {{{"message", {{"role", "assistant"}, {"content", content}}}}}}};
            res.set_content(body.dump(), "application/json");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~FakeLlm() {
        stop_ = true;
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    int asked() const { return asked_; }

private:
    httplib::Server server_;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> asked_{0};
    std::thread thread_;
};

/// The first warning's sample (-1: none) and whether layers or phases moved after it.
std::pair<long, bool> warningAndMovesAfter(const std::vector<nlohmann::json>& events, const std::string& says) {
    long warning = -1, lastMove = -1;
    for (const auto& e : events) {
        if (e["event"] == "warning" && warning < 0 && e["label"].get<std::string>().find(says) != std::string::npos) warning = e["sample"].get<long>();
        if (e["event"] == "layer_in" || e["event"] == "layer_out" || e["event"] == "phase") lastMove = e["sample"].get<long>();
    }
    return {warning, warning >= 0 && lastMove > warning};
}

double ffmpegLufs(const std::string& wav) {
    const auto m = runCommand("ffmpeg -hide_banner -nostats -i '" + wav + "' -af ebur128 -f null - 2>&1");
    return numberIn(m.output.substr(std::min(m.output.size(), m.output.rfind("Summary:"))), R"(I:\s+(-?[0-9.]+) LUFS)");
}
}  // namespace

TEST(DjCli, ASetMovesThroughItsPhasesWithEveryMoveOnABarLine) {
    TempDir dir;
    runDj("--profile techno_minimal --minutes 2 --seed 3 -q -o '" + (dir / "a.wav") + "' --events '" + (dir / "a.jsonl") + "'");
    const auto events = readEvents(dir / "a.jsonl");
    const double bar = 4.0 * 60.0 / 126.0 * kRate;
    std::vector<std::string> phases;
    int moves = 0;
    for (const auto& e : events) {
        if (e["event"] == "phase") phases.push_back(e["label"].get<std::string>().substr(0, e["label"].get<std::string>().find(' ')));
        if (e["event"] != "layer_in" && e["event"] != "layer_out" && e["event"] != "phase" && e["event"] != "energy") continue;
        EXPECT_EQ(e["sample"].get<long>(), std::lround(e["bar"].get<int>() * bar)) << "on its bar line: " << e.dump();
        ++moves;
    }
    EXPECT_EQ(phases, (std::vector<std::string>{"intro", "build", "drop", "breakdown", "build", "drop", "outro"}));
    EXPECT_GT(moves, 20);
    EXPECT_EQ(soxInfo(dir / "a.wav").frames, 5292000) << "two minutes to the sample";
    // The same seed, the same set.
    runDj("--profile techno_minimal --minutes 2 --seed 3 -q -o '" + (dir / "b.wav") + "'");
    EXPECT_EQ(readText(dir / "a.wav"), readText(dir / "b.wav"));
}

TEST(DjCli, ALayerAskedForIsHeardFromItsBarLine) {
    // Only the pad from bar 1, then the drums asked back: their kick is the first onset below
    // 90 Hz (sox's lowpass; the pad has nothing there), and it comes on bar 2's line, within the
    // 10 ms fade-in.
    TempDir dir;
    std::ofstream(dir / "s.txt") << "0.5 s pad\n3 s pad,drums\n";
    runDj("--profile techno_minimal --minutes 0.2 --seed 3 -q --script '" + (dir / "s.txt") + "' -o '" + (dir / "o.wav") + "' --events '" + (dir / "o.jsonl") + "'");
    const long line = std::lround(2 * 4.0 * 60.0 / 126.0 * kRate);
    bool eventThere = false;
    for (const auto& e : readEvents(dir / "o.jsonl")) eventThere = eventThere || (e["event"] == "layer_in" && e["label"] == "drums (user)" && e["sample"] == line);
    EXPECT_TRUE(eventThere) << readText(dir / "o.jsonl");
    const auto high = readMono(dir / "o.wav", "lowpass 90 lowpass 90");
    const long frame = 44, from = line - std::lround(0.5 * kRate);
    double floorDb = -200.0;
    for (long i = from; i + frame < line - 220; i += frame) floorDb = std::max(floorDb, rmsDb(high, i, i + frame));
    long onset = -1;
    for (long i = from; i + frame < line + std::lround(0.5 * kRate) && onset < 0; i += frame / 4)
        if (rmsDb(high, i, i + frame) > floorDb + 15.0) onset = i + frame;
    ASSERT_GE(onset, 0) << "no onset; the floor before was " << floorDb << " dB";
    EXPECT_GE(onset, line) << "nothing before the bar line";
    EXPECT_LE(onset, line + std::lround(0.012 * kRate)) << "heard within 12 ms of it (onset at " << onset - line << " samples)";
}

TEST(DjCli, BreakTakesTheRhythmOutAndDropBringsItBackAtTheNextBar) {
    TempDir dir;
    std::ofstream(dir / "s.txt") << "20 break\n33 drop\n";
    runDj("--profile techno_minimal --minutes 1 --seed 5 -q --script '" + (dir / "s.txt") + "' -o '" + (dir / "d.wav") + "' --events '" + (dir / "d.jsonl") + "'");
    const auto events = readEvents(dir / "d.jsonl");
    const double bar = 4.0 * 60.0 / 126.0 * kRate;
    const auto phaseAfter = [&](double seconds, const std::string& label) -> long {
        for (const auto& e : events)
            if (e["event"] == "phase" && e["time"].get<double>() >= seconds) {
                EXPECT_EQ(e["label"], label);
                EXPECT_LT(e["time"].get<double>(), seconds + bar / kRate) << "at the next bar line";
                return e["sample"].get<long>();
            }
        ADD_FAILURE() << "no phase after " << seconds << " s";
        return 0;
    };
    const long brk = phaseAfter(20, "breakdown (break)"), drop = phaseAfter(33, "drop (drop)");
    const auto movedAt = [&](long at, const std::string& kind, const std::string& layer) {
        for (const auto& e : events)
            if (e["sample"] == at && e["event"] == kind && e["label"].get<std::string>().rfind(layer, 0) == 0) return true;
        return false;
    };
    EXPECT_TRUE(movedAt(brk, "layer_out", "drums") && movedAt(brk, "layer_out", "bass"));
    EXPECT_TRUE(movedAt(drop, "layer_in", "drums") && movedAt(drop, "layer_in", "bass"));
    // The low end (below 120 Hz, by sox): down after the break, back after the drop.
    const auto low = readMono(dir / "d.wav", "lowpass 120 lowpass 120");
    const long span = std::lround(2.5 * kRate), skip = std::lround(0.2 * kRate);
    const double before = rmsDb(low, brk - span - skip, brk - skip), inBreak = rmsDb(low, brk + skip, brk + skip + span),
                 inDrop = rmsDb(low, drop + skip, drop + skip + span);
    EXPECT_LT(inBreak, before - 8.0) << "before " << before << " dB, in the break " << inBreak << " dB";
    EXPECT_GT(inDrop, inBreak + 8.0) << "in the break " << inBreak << " dB, in the drop " << inDrop << " dB";
    // The drop has more energy than the break (the brightness glides with it).
    double dropEnergy = 0, breakEnergy = 1;
    for (const auto& e : events) {
        if (e["event"] == "energy" && e["sample"] == drop) dropEnergy = e["energy"].get<double>();
        if (e["event"] == "energy" && e["sample"] == brk) breakEnergy = e["energy"].get<double>();
    }
    EXPECT_GT(dropEnergy, breakEnergy + 0.3);
}

TEST(DjCli, EveryProfilePlaysASetThatIsNotSilentAndNearTheTargetLoudness) {
    // Two-minute sets, all ten started at once (the machine's cores share them).
    TempDir dir;
    const std::vector<std::string> profiles{"techno_minimal", "experimental", "rock", "hip_hop", "jungle_dnb", "dub", "deep_house", "downtempo_ambient", "classical", "trip_hop"};
    std::string all;
    for (const auto& p : profiles) all += kBin + " dj --clock virtual --profile " + p + " --minutes 2 --seed 2 -q -o '" + (dir / (p + ".wav")) + "' & ";
    ASSERT_EQ(runCommand(all + "wait").code, 0);
    for (const auto& p : profiles) {
        const std::string wav = dir / (p + ".wav");
        EXPECT_EQ(soxInfo(wav).frames, 5292000) << p;
        const auto stats = soxStats(wav);
        EXPECT_GT(stats.rmsDb, -30.0) << p;
        EXPECT_LT(stats.peakDb, -0.9) << p;
        // The live master's leveller: every profile within 1 LU (a set that starts with one layer
        // and doubles its layers in the build is cut quickly, not over a slow leveller's seconds).
        EXPECT_NEAR(ffmpegLufs(wav), -14.0, 1.0) << p;
    }
}

TEST(DjCli, ARealTimeSetOnTheNullDeviceTakesCommandsFromStdin) {
    TempDir dir;
    const auto r = runCommand("printf 'drop\\n' | " + kBin + " dj --device null --minutes 0.1 --profile dub -o '" + (dir / "rt.wav") + "' --events '" + (dir / "rt.jsonl") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NEAR(numberIn(r.output, R"(played ([0-9.]+) s)"), 6.0, 0.05) << r.output;  // the device may run a block past the end
    EXPECT_EQ(soxInfo(dir / "rt.wav").frames, 264600);
    bool dropped = false;
    for (const auto& e : readEvents(dir / "rt.jsonl")) dropped = dropped || (e["event"] == "phase" && e["label"] == "drop (drop)");
    EXPECT_TRUE(dropped) << readText(dir / "rt.jsonl");
}

TEST(DjCli, AnLlmThatIsNotThereGivesAWarningEventAndTheSetGoesOn) {
    TempDir dir;
    const auto out = runDj("--profile deep_house --minutes 0.5 --seed 1 --llm http://127.0.0.1:9/v1 --llm-timeout 2 -o '" + (dir / "l.wav") + "' --events '" +
                           (dir / "l.jsonl") + "'");
    EXPECT_NE(out.find("warning: the LLM gave no usable plan"), std::string::npos) << out;
    const auto [warning, movedOn] = warningAndMovesAfter(readEvents(dir / "l.jsonl"), "llm:");
    EXPECT_GE(warning, 0);
    EXPECT_TRUE(movedOn) << "the rules kept the set moving";
    EXPECT_EQ(soxInfo(dir / "l.wav").frames, 1323000) << "no gap, no early end";
}

TEST(DjCli, AnLlmPlanIsPlayedOnABarLineAndProseOrASlowAnswerOnlyWarns) {
    TempDir dir;
    const double bar = 4.0 * 60.0 / 124.0 * kRate;
    {
        FakeLlm llm(R"({"actions": [{"type": "add_layer", "layer": "lead"}, {"type": "ramp", "parameter": "energy", "to": 0.9, "bars": 2}]})");
        runDj("--profile deep_house --minutes 0.25 --seed 1 -q --llm " + llm.url() + " --llm-model fake --events '" + (dir / "p.jsonl") + "'");
        EXPECT_GE(llm.asked(), 1);
        bool played = false;
        for (const auto& e : readEvents(dir / "p.jsonl"))
            if (e["event"] == "layer_in" && e["label"] == "lead (llm)") {
                played = true;
                EXPECT_EQ(e["sample"].get<long>(), std::lround(e["bar"].get<int>() * bar)) << e.dump();
                EXPECT_TRUE(e["phase"] != "drop" && e["phase"] != "breakdown") << "by the rules the lead plays only in drops and breakdowns: the LLM brought it";
            }
        EXPECT_TRUE(played) << readText(dir / "p.jsonl");
    }
    {
        FakeLlm llm("Sure! Let's bring in the bass.");
        runDj("--profile deep_house --minutes 0.25 --seed 1 -q --llm " + llm.url() + " --llm-model fake --events '" + (dir / "g.jsonl") + "'");
        const auto [warning, movedOn] = warningAndMovesAfter(readEvents(dir / "g.jsonl"), "not a JSON object");
        EXPECT_GE(warning, 0) << readText(dir / "g.jsonl");
        EXPECT_TRUE(movedOn);
    }
    {
        FakeLlm llm(R"({"actions": []})", 10.0);  // answers after 10 s; the DJ waits 1 s
        runDj("--profile deep_house --minutes 0.15 --seed 1 -q --llm " + llm.url() + " --llm-model fake --llm-timeout 1 -o '" + (dir / "s.wav") + "' --events '" +
              (dir / "s.jsonl") + "'");
        const auto [warning, movedOn] = warningAndMovesAfter(readEvents(dir / "s.jsonl"), "llm:");
        EXPECT_GE(warning, 0) << readText(dir / "s.jsonl");
        EXPECT_TRUE(movedOn);
        EXPECT_EQ(soxInfo(dir / "s.wav").frames, 396900) << "no gap, no early end";
    }
}

TEST(DjCli, BadCommandsAreReportedAndTheSetPlaysOn) {
    TempDir dir;
    std::ofstream(dir / "s.txt") << "2 y polka\n3 b 300\n4 b 60\n5 s drums,flute\n6 say hello\n";
    const auto out = runDj("--profile techno_minimal --minutes 0.2 --script '" + (dir / "s.txt") + "' -o '" + (dir / "b.wav") + "'");
    for (const char* expect : {"'polka' is not a DJ profile; allowed: classical", "field 'bpm' = 300.0 is invalid",
                               "tempo 60 bpm is outside techno_minimal's range: allowed 120 to 132 bpm", "'flute' is not a layer"})
        EXPECT_NE(out.find(expect), std::string::npos) << expect << "\n" << out;
    EXPECT_EQ(soxInfo(dir / "b.wav").frames, 529200);
    const auto r = runCommand(kBin + " dj --profile nope --clock virtual --minutes 0.1");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("'nope' is not a DJ profile; allowed: classical, deep_house"), std::string::npos) << r.output;
}

std::vector<float> readF32(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    std::vector<float> x(bytes.size() / sizeof(float));
    std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
    return x;
}

// --clock midi on a real JACK server (dummy backend): Debian's jack_midi_clock sends a 120 bpm
// clock once the JACK transport rolls (jack_transport play), Stop when it stops, and Continue
// when it rolls again. The set plays in the clock's own JACK client; a probe client
// (tests/jack_probe.cpp) hears its left output and the clock on the same
// frame clock, connected before Start: the set's timing is measured outside the set.
TEST(DjCli, FollowsAMidiClockOnJackPausesOnStopAndResumesOnContinue) {
    if (runCommand("command -v jackd && command -v jack_midi_clock && command -v jack_transport").code != 0)
        GTEST_SKIP() << "jackd, jack_midi_clock or jack_transport is not installed";
#ifndef JACK_PROBE
    GTEST_SKIP() << "built without JACK's headers and library (tests/jack_probe)";
#else
    TempDir dir;
    const std::string server = "soundstar-djclock-" + std::to_string(getpid());
    const std::string wav = dir / "set.wav", events = dir / "set.jsonl", probe = dir / "probe.json", fifo = dir / "stdin", jackLog = dir / "jackd.log";
    // The clock is read with JACK's frame times, so the period does not matter; 256 keeps the
    // dummy backend clear of xruns on a loaded machine. Stop pauses the set, so it ends on q.
    const auto r = runCommand(
        "{ export JACK_DEFAULT_SERVER=" + server + " JACK_NO_AUDIO_RESERVATION=1 JACK_NO_START_SERVER=1; jackd " + kJackdScheduling + " -n " + server +
        " -d dummy -r 48000 -p 256 >'" + jackLog + "' 2>&1 & J=$!; for i in $(seq 60); do jack_lsp >/dev/null 2>&1 && break; sleep 0.25; done; "
        "jack_midi_clock -b 120 -B >/dev/null 2>&1 & C=$!; for i in $(seq 40); do jack_lsp | grep -q mclk && break; sleep 0.1; done; mkfifo '" + fifo + "'; "
        "timeout 40 " + kBin + " dj --clock midi --midi-in jack_midi_clock --midi-offset-ms 40 --device jack --sample-rate 48000 --seed 2 -o '" + wav + "' --events '" + events +
        "' <'" + fifo + "' & D=$!; exec 3>'" + fifo + "'; " + std::string(JACK_PROBE) + " '" + probe +
        "' soundstar-dj:out_L jack_midi_clock:mclk_out 11.5 & P=$!; for i in $(seq 300); do [ -e '" + probe + ".ready' ] && break; sleep 0.1; done; sleep 0.3; "
        "echo play | jack_transport >/dev/null 2>&1; sleep 4; echo stop | jack_transport >/dev/null 2>&1; sleep 1; echo play | jack_transport >/dev/null 2>&1; "
        "sleep 4; echo stop | jack_transport >/dev/null 2>&1; sleep 0.5; echo q >&3; exec 3>&-; wait $D; R=$?; wait $P; kill $C; wait $C; kill $J; wait $J; exit $R; }");
    {
        const auto log = runCommand("cat '" + jackLog + "'").output;
        std::size_t xruns = 0;
        for (auto at = log.find("xrun"); at != std::string::npos; at = log.find("xrun", at + 1)) ++xruns;
        std::printf("jackd: %s, %zu xrun lines\n", log.find("non-realtime") == std::string::npos ? "real time" : "not in real time", xruns);
    }
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("waiting for MIDI Start on jack_midi_clock"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("the clock's client, held until the first tick"), std::string::npos) << r.output;
    const auto ev = readEvents(events);
    const nlohmann::json *tempo = nullptr, *resume = nullptr;
    int stops = 0;
    for (const auto& e : ev) {
        if (e["event"] == "clock_tempo") tempo = &e;
        if (e["event"] == "clock_continue") resume = &e;
        stops += e["event"] == "clock_stop";
    }
    ASSERT_TRUE(tempo && resume) << r.output;
    EXPECT_EQ(stops, 2);
    // The clock's tempo two beats after Start, and the set takes it.
    // Within 0.3 bpm: the dummy backend without real-time scheduling xruns when the machine is
    // loaded (other tests run beside this one), which moves ticks by a period; the follower's own
    // precision under +-1 ms jitter (0.014 bpm) is checked in test_dj_clock.
    EXPECT_NEAR(numberIn(tempo->at("label").get<std::string>(), R"(([0-9.]+) bpm)"), 120.0, 0.3) << tempo->dump();
    EXPECT_LT(tempo->at("time").get<double>(), 1.1) << "read within two beats (and a poll) of Start";
    std::vector<double> phaseMs;
    for (const auto& e : ev)
        if (e["event"] == "clock_phase") phaseMs.push_back(numberIn(e["label"].get<std::string>(), R"(([-+0-9.]+) ms)"));
    EXPECT_GE(phaseMs.size(), 4u) << "a phase reading every bar line";

    // What the probe heard: the clock's messages and the set's audio, on JACK's frames.
    std::ifstream in(probe);
    ASSERT_TRUE(in.good()) << "the probe wrote nothing\n" << r.output;
    const auto heard = nlohmann::json::parse(in);
    const auto audio = readF32(probe + ".f32");
    const long long origin = heard["audio_first_frame"].get<long long>();
    std::vector<long long> ticks;  // every tick's frame; the song position counts them (no SPP)
    long long start = -1, stop1 = -1, cont = -1, stop2 = -1;
    for (const auto& m : heard["messages"]) {
        const long long frame = m[0].get<long long>();
        const int status = m[1].get<int>();
        if (status == 0xFA && start < 0) start = frame;
        if (status == 0xFC && start >= 0 && stop1 < 0) stop1 = frame;
        else if (status == 0xFC && cont >= 0 && stop2 < 0) stop2 = frame;  // (it sends another Stop before Continue)
        if (status == 0xFB && stop1 >= 0 && cont < 0) cont = frame;
        if (status == 0xF8 && start >= 0 && (stop1 < 0 || (cont >= 0 && stop2 < 0))) ticks.push_back(frame);
    }
    ASSERT_TRUE(start >= 0 && stop1 > start && cont > stop1 && stop2 > cont && ticks.size() > 200) << start << " " << stop1 << " " << cont << " " << stop2 << " " << ticks.size() << " of " << heard["messages"].size() << " messages";
    const auto heardAt = [&](long long frame) { return frame - origin >= 0 && frame - origin < static_cast<long long>(audio.size()) ? audio[frame - origin] : 0.0f; };
    const auto peak = [&](long long from, long long to) {
        float p = 0.0f;
        for (long long f = from; f < to; ++f) p = std::max(p, std::abs(heardAt(f)));
        return p;
    };
    // 1. The first downbeat: the set's sample 0 is due on the first tick after Start plus the
    // declared 40 ms, so its first sound comes where its own recording has it after sample 0 (the
    // kick's onset, a few ms into the bar). Within 1 ms.
    const auto own = readF32([&] {
        runCommand("sox '" + wav + "' -t f32 '" + (dir / "set.f32") + "' remix 1");
        return dir / "set.f32";
    }());
    ASSERT_GT(own.size(), 48000u * 5);
    long long ownOnset = 0;
    while (ownOnset < static_cast<long long>(own.size()) && std::abs(own[ownOnset]) <= 1e-3f) ++ownOnset;
    ASSERT_TRUE(heard["first_sound_frame"].is_number()) << "the probe heard no sound";
    const double heardMs = static_cast<double>(heard["first_sound_frame"].get<long long>() - ticks[0]) / 48.0;
    EXPECT_LT(ownOnset / 48.0, 10.0) << "the first bar's kick starts the set";
    std::printf("first sound %.3f ms after the first tick (40 ms declared, the set's own onset %.3f ms)\n", heardMs, ownOnset / 48.0);
    // Sample for sample: the set's first second is what the probe heard from the tick's frame
    // plus 40 ms on (a cycle the probe itself missed on a loaded machine is zeros there: skipped).
    const auto sameFrom = [&](long long frame, long long sample, long long count) {
        long long compared = 0;
        float worst = 0.0f;
        for (long long k = 0; k < count && sample + k < static_cast<long long>(own.size()); ++k)
            if (const float h = heardAt(frame + k); h != 0.0f) ++compared, worst = std::max(worst, std::abs(h - own[sample + k]));
        return std::pair{compared, worst};
    };
    const auto [firstCompared, firstWorst] = sameFrom(ticks[0] + 1920, 0, 48000);
    EXPECT_GT(firstCompared, 24000) << "the probe heard the set's first second";
    EXPECT_LT(firstWorst, 1e-4f) << "the set's sample 0 is on the first tick's frame plus 40 ms; " << [&] {
        // Where the set's first second does line up, for the record (within 100 ms either way).
        std::string where = "no shift within 100 ms lines it up";
        for (long long shift = -4800; shift <= 4800; ++shift)
            if (const auto [c, w] = sameFrom(ticks[0] + 1920 + shift, 0, 48000); c > 24000 && w < 1e-4f) {
                where = fmt::format("it lines up {} frames {}", std::abs(shift), shift < 0 ? "earlier" : "later");
                break;
            }
        std::string first;
        for (std::size_t k = 0; k < std::min<std::size_t>(4, ticks.size()); ++k) first += fmt::format(" {}", ticks[k] - start);
        return fmt::format("{} (Start at frame {}, the first ticks {} frames after it, the probe's audio from frame {})", where, start, first, origin);
    }();
    // 2. Stop: music before it, silence (below -60 dBFS) from a period plus the 10 ms fade after
    // it until the set resumes, and after the second Stop to the end.
    EXPECT_GT(peak(stop1 - 48000, stop1), 0.05f);
    const long long quiet = 256 + 480 + 64;
    const auto resumeAt = numberIn(resume->at("label").get<std::string>(), R"(JACK frame ([0-9]+))");
    EXPECT_LT(peak(stop1 + quiet, static_cast<long long>(resumeAt)), 0.001f) << "silent while paused";
    EXPECT_LT(peak(stop2 + quiet, origin + static_cast<long long>(audio.size())), 0.001f) << "silent after the second Stop";
    // 3. Continue: the set resumes where it paused, sample for sample (the probe hears the
    // recording's samples from the pause on), on the clock's phase in the bar that the set was at.
    const long long pausedAt = resume->at("sample").get<long long>();
    const auto [backCompared, backWorst] = sameFrom(static_cast<long long>(resumeAt), pausedAt, 4800);
    EXPECT_GT(backCompared, 2400);
    EXPECT_LT(backWorst, 1e-4f) << "the probe hears the set's own samples from the pause on";
    EXPECT_GT(static_cast<long long>(resumeAt), cont);
    EXPECT_LT(static_cast<double>(static_cast<long long>(resumeAt) - cont) / 48000.0, 2.2) << "within a bar of Continue";
    // The clock's song position at the resume (jack_midi_clock sends no SPP here: the ticks
    // since Start, without the stopped ones) against the set's place in its bar, 40 ms earlier on
    // the clock. Counted from the ticks' frames and their median interval: the probe, a Python
    // client, may miss a cycle's messages on a loaded machine.
    std::vector<long long> gaps;
    for (std::size_t k = 1; k < ticks.size(); ++k) gaps.push_back(ticks[k] - ticks[k - 1]);
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
    const double period = static_cast<double>(gaps[gaps.size() / 2]);
    // `ticks` holds those before the Stop message and after the Continue in the order they came,
    // so a tick on the Stop's own frame (sent before it) counts, as the clock's song position does.
    long long lastBefore = ticks[0], firstAfter = -1;
    for (const long long t : ticks) {
        if (t <= stop1) lastBefore = t;
        if (t >= cont && firstAfter < 0) firstAfter = t;
    }
    ASSERT_GT(firstAfter, 0);
    const double beforeStop = std::round(static_cast<double>(lastBefore - ticks[0]) / period) + 1.0;
    const double songTicks = beforeStop + (static_cast<double>(resumeAt) - 1920.0 - static_cast<double>(firstAfter)) / period;
    const double clockBeatInBar = std::fmod(songTicks / 24.0, 4.0) + 1.0;
    const double setBeatInBar = numberIn(resume->at("label").get<std::string>(), R"(beat ([0-9.]+) resumes)");
    // Compared around the bar (beat 4.99 is 0.02 beats before the next bar's 1.01).
    const double apart = std::fmod(clockBeatInBar - setBeatInBar + 6.0, 4.0) - 2.0;
    EXPECT_NEAR(apart, 0.0, 0.02) << "the clock at beat " << clockBeatInBar << " of its bar, the set at " << setBeatInBar << "; " << resume->dump();
    std::printf("resumed at the clock's beat %.4f of its bar, the set's %.4f\n", clockBeatInBar, setBeatInBar);
#endif
}

// --midi-out: the set's clock read back through JACK by Debian's jack_mclk_dump, which prints
// each message with the JACK frame it came on.
TEST(DjCli, SendsAMidiClockThatJackMclkDumpReadsAtTheSetsTempo) {
    if (runCommand("command -v jackd && command -v jack_mclk_dump").code != 0) GTEST_SKIP() << "jackd or jack_mclk_dump is not installed";
    TempDir dir;
    const std::string server = "soundstar-djout-" + std::to_string(getpid());
    const std::string dump = dir / "dump.txt";
    const auto r = runCommand(
        "{ export JACK_DEFAULT_SERVER=" + server + " JACK_NO_AUDIO_RESERVATION=1 JACK_NO_START_SERVER=1; jackd " + kJackdScheduling + " -n " + server +
        " -d dummy -r 48000 -p 256 >/dev/null 2>&1 & J=$!; for i in $(seq 60); do jack_lsp >/dev/null 2>&1 && break; sleep 0.25; done; "
        "stdbuf -oL jack_mclk_dump -n > '" + dump + "' 2>&1 & M=$!; for i in $(seq 40); do jack_lsp | grep -q mclk_in && break; sleep 0.1; done; "
        "timeout 30 " + kBin + " dj --device jack --midi-out mclk_dump --sample-rate 48000 --minutes 0.06 --seed 2 </dev/null; R=$?; sleep 0.3; "
        "kill $M; wait $M; kill $J; wait $J; exit $R; }");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("sending MIDI clock on jack_mclk_dump:mclk_in"), std::string::npos) << r.output;
    const double bpm = nlohmann::json::parse(readText(std::string(SOUNDSTAR_DATA) + "/profiles/techno_minimal.json"))["config"]["bpm"];
    std::vector<double> ticks;
    double start = -1, stop = -1;
    std::istringstream lines(readText(dump));
    for (std::string line; std::getline(lines, line);) {
        const double frame = numberIn(line, R"(@ ([0-9]+))");
        if (line.rfind("CLK", 0) == 0) ticks.push_back(frame);
        if (line.find("(0xfa) start") != std::string::npos) start = frame;
        if (line.find("(0xfc) stop") != std::string::npos) stop = frame;
    }
    ASSERT_GT(ticks.size(), 100u) << readText(dump);
    EXPECT_EQ(start, ticks.front()) << "Start and the first tick on the set's first sample";
    EXPECT_GT(stop, ticks.back());
    EXPECT_NEAR(ticks.size(), 0.06 * 60 * bpm / 60 * 24, 24) << "about the set's length in ticks";
    // The tempo from the frames: the intervals are the set's tick period to the frame (952 or 953
    // frames at 126 bpm), but for the odd one where the engine missed a JACK cycle (an xrun on
    // the loaded dummy backend moves a tick by a period; the music moves with it).
    const double period = 60.0 * 48000 / (bpm * 24);
    std::vector<double> intervals;
    for (std::size_t i = 1; i < ticks.size(); ++i) intervals.push_back(ticks[i] - ticks[i - 1]);
    const auto onGrid = std::count_if(intervals.begin(), intervals.end(), [&](double d) { return std::abs(d - period) < 1.0; });
    // Most of them (a wrong tempo puts none on the grid; xruns on a loaded machine moved 18% once).
    EXPECT_GT(static_cast<double>(onGrid), 0.7 * static_cast<double>(intervals.size())) << readText(dump).substr(0, 1500);
    std::sort(intervals.begin(), intervals.end());
    EXPECT_NEAR(60.0 * 48000 / (intervals[intervals.size() / 2] * 24), bpm, 0.07) << "the median interval's tempo";
}

// Voice drops (espeak-ng as a separate program): `say` at 2 s is spoken from bar 2's line. The
// voice is found in the set minus the same set without it by cross-correlation with espeak-ng's
// own rendering of the text (resampled by sox): within 3 ms of the line. Under it the music below
// 60 Hz (sox's sinc: the voice has nothing there) is 6 to 9 dB lower than without the voice.
// Without espeak-ng on PATH: a warning event saying so, and the set plays on.
TEST(DjCli, SayIsSpokenFromTheNextBarLineWithTheMusicDucked) {
    if (runCommand("command -v espeak-ng").code != 0) GTEST_SKIP() << "espeak-ng is not installed (scripts/setup installs it)";
    TempDir dir;
    const std::string text = "hello and welcome to the set";
    std::ofstream(dir / "s.txt") << "2 say " << text << "\n";
    runDj("--profile techno_minimal --minutes 0.15 --seed 3 -q --script '" + (dir / "s.txt") + "' -o '" + (dir / "v.wav") + "' --events '" + (dir / "v.jsonl") + "'");
    runDj("--profile techno_minimal --minutes 0.15 --seed 3 -q -o '" + (dir / "p.wav") + "'");
    const long line = std::lround(2 * 4.0 * 60.0 / 126.0 * kRate);
    long voiceAt = -1;
    for (const auto& e : readEvents(dir / "v.jsonl"))
        if (e["event"] == "voice" && e.contains("phase")) {
            voiceAt = e["sample"].get<long>();
            EXPECT_EQ(e["label"], text);
        }
    EXPECT_EQ(voiceAt, line) << readText(dir / "v.jsonl");
    const auto v = readMono(dir / "v.wav"), p = readMono(dir / "p.wav");
    ASSERT_EQ(v.size(), p.size());
    EXPECT_TRUE(std::equal(v.begin(), v.begin() + line, p.begin())) << "nothing changes before the bar line";
    ASSERT_EQ(runCommand("espeak-ng -w '" + (dir / "ref.wav") + "' '" + text + "'").code, 0);
    const auto ref = readMono(dir / "ref.wav", "rate 44100");
    const long n = std::min<long>(static_cast<long>(ref.size()), std::lround(0.6 * kRate));
    long best = -1;
    double bestCorr = -1e30;
    for (long lag = line - 2205; lag <= line + 2205; ++lag) {
        double c = 0.0;
        for (long i = 0; i < n; ++i) c += static_cast<double>(v[static_cast<std::size_t>(lag + i)] - p[static_cast<std::size_t>(lag + i)]) * ref[static_cast<std::size_t>(i)];
        if (c > bestCorr) bestCorr = c, best = lag;
    }
    EXPECT_LE(std::abs(best - line), std::lround(0.003 * kRate)) << "the voice starts " << (best - line) / kRate * 1000.0 << " ms from the bar line";
    // The duck, from 50 ms in to 50 ms before the voice ends (espeak-ng's own length).
    const auto low = [&](const std::string& wav) { return readMono(dir / wav, "sinc -60"); };
    const auto lv = low("v.wav"), lp = low("p.wav");
    const long from = line + std::lround(0.05 * kRate), to = line + static_cast<long>(ref.size()) - std::lround(0.05 * kRate);
    const double duck = rmsDb(lv, from, to) - rmsDb(lp, from, to);
    EXPECT_LE(duck, -6.0) << "the music under the voice is " << duck << " dB from the set without it";
    EXPECT_GE(duck, -9.0) << "the music under the voice is " << duck << " dB from the set without it";
    // And back after it: within 1.5 dB a second later.
    const long after = line + static_cast<long>(ref.size()) + std::lround(0.3 * kRate);
    EXPECT_NEAR(rmsDb(lv, after, after + std::lround(kRate)), rmsDb(lp, after, after + std::lround(kRate)), 1.5);
    // No espeak-ng on PATH: a warning saying so, and the whole set.
    const auto r = runCommand("PATH=/nonexistent " + kBin + " dj --clock virtual --profile techno_minimal --minutes 0.15 --seed 3 -q --script '" + (dir / "s.txt") +
                              "' -o '" + (dir / "m.wav") + "' --events '" + (dir / "m.jsonl") + "'");
    EXPECT_EQ(r.code, 0) << r.output;
    bool warned = false;
    for (const auto& e : readEvents(dir / "m.jsonl"))
        warned = warned || (e["event"] == "warning" && e["label"].get<std::string>().find("espeak-ng is not installed") != std::string::npos);
    EXPECT_TRUE(warned) << readText(dir / "m.jsonl");
    EXPECT_EQ(soxInfo(dir / "m.wav").frames, soxInfo(dir / "p.wav").frames) << "the set plays on";
}

// The LLM asks for a generated loop: played from a bar line with --generator; without one a
// warning event says why, and the set plays on.
TEST(DjCli, AnLlmsGenerateLoopIsPlayedOnABarLineOrRefusedWithoutAGenerator) {
    TempDir dir;
    FakeLlm llm(R"({"actions": [{"type": "generate_loop", "description": "dub chord stabs and a shaker", "bars": 2}]})");
    const std::string model = std::string(SOUNDSTAR_DATA) + "/models/procedural";
    runDj("--profile techno_minimal --minutes 0.25 --seed 1 -q --generator '" + model + "' --llm " + llm.url() + " --llm-model fake --events '" +
          (dir / "g.jsonl") + "'");
    const double bar = 4.0 * 60.0 / 126.0 * kRate;
    bool played = false;
    for (const auto& e : readEvents(dir / "g.jsonl"))
        if (e["event"] == "gen_layer_in") {
            played = true;
            EXPECT_NE(e["label"].get<std::string>().find("2 bars of 'dub chord stabs and a shaker"), std::string::npos) << e.dump();
            EXPECT_EQ(e["sample"].get<long>(), std::lround(e["bar"].get<int>() * bar)) << e.dump();
        }
    EXPECT_TRUE(played) << readText(dir / "g.jsonl");
    runDj("--profile techno_minimal --minutes 0.25 --seed 1 -q --llm " + llm.url() + " --llm-model fake --events '" + (dir / "n.jsonl") + "'");
    bool warned = false;
    for (const auto& e : readEvents(dir / "n.jsonl")) {
        EXPECT_NE(e["event"], "gen_layer_in");
        if (e["event"] == "warning" && e["label"].get<std::string>().find("llm generate_loop: g: there is no generator") != std::string::npos) warned = true;
    }
    EXPECT_TRUE(warned) << readText(dir / "n.jsonl");
}

// The LLM's set_key, set_tempo and a ramp of another parameter, played as `k`, `b` and a glide:
// the tempo and the ramp from the next bar line, the key from a phrase line; events say each.
TEST(DjCli, AnLlmsKeyTempoAndRampArePlayed) {
    TempDir dir;
    FakeLlm llm(R"({"actions": [{"type": "set_key", "key": "F minor"}, {"type": "set_tempo", "bpm": 128}, {"type": "ramp", "parameter": "space", "to": 1, "bars": 2}]})");
    runDj("--profile techno_minimal --minutes 0.4 --seed 1 -q --llm " + llm.url() + " --llm-model fake --events '" + (dir / "k.jsonl") + "'");
    const auto events = readEvents(dir / "k.jsonl");
    long tempoAt = -1, rampAt = -1, keyAt = -1;
    for (const auto& e : events) {
        const std::string kind = e["event"], label = e["label"];
        if (kind == "tempo" && tempoAt < 0) {
            tempoAt = e["sample"];
            EXPECT_EQ(label, "128.00 bpm");
        }
        if (kind == "ramp" && rampAt < 0) {
            rampAt = e["sample"];
            EXPECT_EQ(label, "space -> vast over 2 bars");
        }
        if (kind == "key" && keyAt < 0) {
            keyAt = e["sample"];
            EXPECT_EQ(label, "f minor");
        }
        EXPECT_NE(kind, "warning") << e.dump();
    }
    const double bar = 4.0 * 60.0 / 126.0 * kRate;  // before the tempo change
    ASSERT_GE(tempoAt, 0) << readText(dir / "k.jsonl");
    ASSERT_GE(rampAt, 0) << readText(dir / "k.jsonl");
    ASSERT_GE(keyAt, 0) << readText(dir / "k.jsonl");
    EXPECT_EQ(tempoAt, rampAt) << "both from the bar line after the answer";
    EXPECT_NEAR(std::fmod(static_cast<double>(tempoAt), bar), 0.0, 1.0) << "on a bar line of the set's first tempo";
    EXPECT_GE(keyAt, tempoAt) << "the key waits for a phrase line";
}

TEST(DjCli, AnLlmsReplaceLayerIsPlayedOnABarLine) {
    TempDir dir;
    FakeLlm llm(R"({"actions": [{"type": "replace_layer", "role": "kick", "description": "electronic kit", "bars": 2, "intensity": 0.6, "volume": -2}]})");
    runDj("--profile deep_house --minutes 0.25 --seed 1 -q --llm " + llm.url() + " --llm-model fake --events '" + (dir / "r.jsonl") + "'");
    const double bar = 4.0 * 60.0 / 124.0 * kRate;
    bool replaced = false;
    for (const auto& e : readEvents(dir / "r.jsonl"))
        if (e["event"] == "layer_replace" && e["label"].get<std::string>().find("drums: ") == 0 && e["label"].get<std::string>().find("-> electronic over 2 bars (llm)") != std::string::npos) {
            replaced = true;
            EXPECT_EQ(e["sample"].get<long>(), std::lround(e["bar"].get<int>() * bar)) << e.dump();
        }
    EXPECT_TRUE(replaced) << readText(dir / "r.jsonl");
}

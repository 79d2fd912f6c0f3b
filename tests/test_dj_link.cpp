// soundstar dj --clock link (issue #11): Ableton Link sync, an optional build (-DSOUNDSTAR_LINK=ON).
// With Link, this test process is a peer of its own (a session at 123 bpm, transport playing, start/
// stop sync on) and runs `soundstar dj --clock link` on the null device beside it: the set joins,
// the session's tempo and beat grid do not move (read by the peer every 20 ms while the set
// plays), the set's first bar is at the session's tempo, and from its third bar every bar line is
// heard within 3 ms of the session's bar line. Without Link, `--clock link` must say how to get it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "Cli.h"

#ifdef SOUNDSTAR_HAVE_LINK
#include <ableton/Link.hpp>
#endif
#ifdef SOUNDSTAR_LINK_JACK
#include <jack/jack.h>
#include <sndfile.h>
#endif

namespace {
const std::string kBin = SOUNDSTAR_BIN;

[[maybe_unused]] std::vector<nlohmann::json> readEvents(const std::string& path) {
    std::vector<nlohmann::json> events;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) events.push_back(nlohmann::json::parse(line));
    return events;
}
}  // namespace

#ifndef SOUNDSTAR_HAVE_LINK
TEST(DjLink, WithoutLinkTheClockSaysHowToBuildIt) {
    const auto r = soundstar::test::runCommand(kBin + " dj --clock link --device null --minutes 0.1 -q");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("this build has no Ableton Link"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("-DSOUNDSTAR_LINK=ON"), std::string::npos) << r.output;
}
#else
namespace {
/// `peer` enabled, with start/stop sync, playing, and left to run for a second: a set joins a
/// session running for a while (Link keeps the older of two sessions that meet, but calls two
/// founded within 0.5 s of each other a tie, and the lower id wins).
void startPlayingSession(ableton::Link& peer) {
    peer.enableStartStopSync(true);
    peer.enable(true);
    auto s = peer.captureAppSessionState();
    s.setIsPlaying(true, peer.clock().micros());
    peer.commitAppSessionState(s);
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
}  // namespace

TEST(DjLink, JoinsWithoutMovingTheSessionAndKeepsItsBarsWithin3Ms) {
    constexpr double kBpm = 123.0;
    ableton::Link peer(kBpm);
    startPlayingSession(peer);
    const auto dir = std::filesystem::temp_directory_path() / ("soundstar-link-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto events = (dir / "set.jsonl").string();
    std::atomic<bool> done{false};
    soundstar::test::CommandResult run;
    std::thread dj([&] {
        run = soundstar::test::runCommand(kBin + " dj --clock link --device null --sample-rate 48000 --minutes 0.3 --profile techno_minimal --seed 3 --events " + events + " </dev/null");
        done = true;
    });
    // The peer's view while the set plays: its tempo, its beat grid (beat less elapsed beats), peers.
    const auto t0 = peer.clock().micros();
    const double beat0 = peer.captureAppSessionState().beatAtTime(t0, 4.0);
    double worstTempo = 0.0, worstGrid = 0.0;
    std::size_t mostPeers = 0;
    bool stopped = false;
    while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto t = peer.clock().micros();
        const auto s = peer.captureAppSessionState();
        worstTempo = std::max(worstTempo, std::abs(s.tempo() - kBpm));
        const double expected = beat0 + static_cast<double>((t - t0).count()) / 60e6 * kBpm;
        worstGrid = std::max(worstGrid, std::abs(s.beatAtTime(t, 4.0) - expected));
        mostPeers = std::max(mostPeers, peer.numPeers());
        stopped = stopped || !s.isPlaying();
    }
    dj.join();
    ASSERT_EQ(run.code, 0) << run.output;
    EXPECT_EQ(mostPeers, 1u) << "the peer never saw the set";
    EXPECT_EQ(worstTempo, 0.0) << "joining changed the session's tempo";
    EXPECT_LT(worstGrid * 60000.0 / kBpm, 1.0) << "the session's beat moved by " << worstGrid << " beats";
    EXPECT_FALSE(stopped) << "the set stopped the session's transport";

    EXPECT_NE(run.output.find("Ableton Link: 1 peers at 123.00 bpm"), std::string::npos) << run.output;

    // The set's bar lines (the clock_phase readings are at them) in bars of the session's tempo.
    const double barSamples = 4.0 * 60.0 / kBpm * 48000.0;
    int follows = 0;
    std::vector<std::pair<double, double>> phases;  // bar line (in session bars), error ms
    for (const auto& e : readEvents(events)) {
        const std::string kind = e.value("event", "");
        const std::string label = e.value("label", "");
        if (kind == "clock_follow") {
            ++follows;
            EXPECT_NE(label.find("(1 peers, 123.00 bpm, transport"), std::string::npos) << label;
        }
        if (kind == "clock_phase") phases.emplace_back(static_cast<double>(e.value("sample", 0LL)) / barSamples, std::stod(label));
    }
    EXPECT_EQ(follows, 1);
    // 0.3 minutes at 123 bpm: 9 bars, a reading at each line decided after the engine was looked at.
    ASSERT_GE(phases.size(), 5u) << run.output;
    // Bar 1 plays at the session's tempo (the profile's 126 bpm would put the line 2.4% early).
    EXPECT_NEAR(phases.front().first, std::round(phases.front().first), 0.002) << "the first reading's line is not on the session's tempo";
    EXPECT_LE(std::round(phases.front().first), 2.0);
    for (const auto& [bars, ms] : phases)
        if (bars > 2.5) {
            EXPECT_LT(std::abs(ms), 3.0) << "the bar line " << bars << " bars in was " << ms << " ms off the session's";
        }
    std::filesystem::remove_all(dir);
}

#ifdef SOUNDSTAR_LINK_JACK
namespace {
// A JACK client in the test process that records what it hears, indexed by JACK frame, and when
// each cycle ran on Link's host clock (the same clock the peer's beats are read on).
struct LinkProbe {
    jack_client_t* client = nullptr;
    jack_port_t* in = nullptr;
    const ableton::Link* link = nullptr;
    std::vector<float> heard;
    std::vector<std::pair<long long, long long>> cycles;  // frame, host micros
    std::atomic<std::size_t> cycleCount{0};
    std::atomic<long long> origin{-1};

    static int process(jack_nframes_t frames, void* arg) {
        auto& p = *static_cast<LinkProbe*>(arg);
        const long long host = p.link->clock().micros().count();
        const long long first = jack_last_frame_time(p.client);
        long long origin = p.origin.load(std::memory_order_relaxed);
        if (origin < 0) p.origin.store(origin = first, std::memory_order_relaxed);
        const auto* in = static_cast<const float*>(jack_port_get_buffer(p.in, frames));
        for (jack_nframes_t i = 0; i < frames; ++i)
            if (first - origin + i < static_cast<long long>(p.heard.size())) p.heard[static_cast<std::size_t>(first - origin + i)] = in[i];
        if (const std::size_t n = p.cycleCount.load(std::memory_order_relaxed); n < p.cycles.size()) {
            p.cycles[n] = {first, host};
            p.cycleCount.store(n + 1, std::memory_order_release);
        }
        return 0;
    }
};

std::vector<float> leftChannel(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) return {};
    std::vector<float> all(static_cast<std::size_t>(info.frames * info.channels));
    sf_readf_float(f, all.data(), info.frames);
    sf_close(f);
    std::vector<float> left(static_cast<std::size_t>(info.frames));
    for (std::size_t i = 0; i < left.size(); ++i) left[i] = all[i * static_cast<std::size_t>(info.channels)];
    return left;
}
}  // namespace

// Read outside the set: a JACK client in this process hears the set's output (RtAudio on a dummy
// jackd) on JACK's frames and stamps each cycle with Link's clock; where the set's bar lines (its
// recording's samples, found sample for sample in what JACK carried) were heard, plus the output
// latency JACK declares for the set's port, is compared with the peer's bar grid.
TEST(DjLink, OnJackTheBarLinesAreHeardWithin3MsOfTheSessionsBars) {
    if (soundstar::test::runCommand("command -v jackd").code != 0) GTEST_SKIP() << "jackd is not installed";
    constexpr double kBpm = 123.0, kRate = 48000.0;
    const auto dir = std::filesystem::temp_directory_path() / ("soundstar-linkjack-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string server = "soundstar-link-" + std::to_string(getpid());
    setenv("JACK_DEFAULT_SERVER", server.c_str(), 1);
    setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
    setenv("JACK_NO_START_SERVER", "1", 1);
    const auto pidFile = (dir / "jackd.pid").string();
    std::system(("jackd " + soundstar::test::kJackdScheduling + " -n " + server + " -d dummy -r 48000 -p 256 >/dev/null 2>&1 & echo $! > '" + pidFile + "'; for i in $(seq 60); do jack_lsp >/dev/null 2>&1 && break; sleep 0.25; done").c_str());
    struct KillJack {
        std::string pidFile;
        ~KillJack() {
            std::system(("kill $(cat '" + pidFile + "') 2>/dev/null").c_str());
            std::filesystem::remove_all(std::filesystem::path(pidFile).parent_path());
        }
    } killJack{pidFile};

    ableton::Link peer(kBpm);
    startPlayingSession(peer);
    LinkProbe probe;
    probe.link = &peer;
    probe.heard.assign(static_cast<std::size_t>(40 * kRate), 0.0f);
    probe.cycles.assign(static_cast<std::size_t>(40 * kRate / 256), {0, 0});
    jack_status_t status{};
    probe.client = jack_client_open("soundstar-link-probe", JackNoStartServer, &status);
    ASSERT_NE(probe.client, nullptr) << "no JACK server";
    probe.in = jack_port_register(probe.client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    ASSERT_TRUE(probe.in && jack_set_process_callback(probe.client, &LinkProbe::process, &probe) == 0 && jack_activate(probe.client) == 0);

    const auto wav = (dir / "set.wav").string(), events = (dir / "set.jsonl").string();
    std::atomic<bool> done{false};
    soundstar::test::CommandResult run;
    std::thread dj([&] {
        run = soundstar::test::runCommand("timeout 50 " + kBin + " dj --clock link --device jack --sample-rate 48000 --minutes 0.3 --seed 3 -o '" + wav + "' --events '" +
                                          events + "' </dev/null");
        done = true;
    });
    // Connect to the set's left output as soon as it exists; JACK's declared latency for it.
    jack_latency_range_t latency{0, 0};
    bool connected = false;
    while (!done && !connected) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (const char** ports = jack_get_ports(probe.client, "RtApiJack", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput)) {
            if (ports[0] && jack_connect(probe.client, ports[0], jack_port_name(probe.in)) == 0) {
                connected = true;
                jack_port_get_latency_range(jack_port_by_name(probe.client, ports[0]), JackPlaybackLatency, &latency);
            }
            jack_free(ports);
        }
    }
    dj.join();
    jack_deactivate(probe.client);
    jack_client_close(probe.client);
    ASSERT_EQ(run.code, 0) << run.output;
    ASSERT_TRUE(connected) << run.output;

    // The probe's cycles on Link's clock: the earliest (host - frame) is the least delayed callback.
    const std::size_t nCycles = probe.cycleCount.load();
    ASSERT_GT(nCycles, 100u);
    double offset = 1e300;
    for (std::size_t i = 0; i < nCycles; ++i)
        offset = std::min(offset, static_cast<double>(probe.cycles[i].second) - static_cast<double>(probe.cycles[i].first) * 1e6 / kRate);
    const long long origin = probe.origin.load();
    const auto set = leftChannel(wav);
    ASSERT_GT(set.size(), static_cast<std::size_t>(10 * kRate));
    // The output latency the set says it counted (RtAudio's for its stream), against JACK's own.
    double declaredMs = -1.0;
    for (const auto& e : readEvents(events))
        if (e.value("event", "") == "clock_follow") declaredMs = soundstar::test::numberIn(e.value("label", ""), R"(output latency ([0-9.]+) ms)");
    ASSERT_GE(declaredMs, 0.0) << run.output;
    const auto state = peer.captureAppSessionState();
    int measured = 0;
    double worst = 0.0;
    for (const auto& e : readEvents(events)) {
        const auto line = e.value("sample", 0LL);
        if (e.value("event", "") != "clock_phase" || line < 2.5 * 4.0 * 60.0 / kBpm * kRate) continue;
        // The set's 1024 samples from its bar line, found in what JACK carried (the same floats).
        const std::size_t at = static_cast<std::size_t>(line);
        if (at + 1024 > set.size()) continue;
        long long found = -1;
        for (std::size_t j = 0; j + 1024 <= probe.heard.size() && found < 0; ++j) {
            if (probe.heard[j] != set[at]) continue;
            bool same = true;
            for (std::size_t k = 1; k < 1024 && same; ++k) same = probe.heard[j + k] == set[at + k];
            if (same) found = static_cast<long long>(j);
        }
        if (found < 0) continue;  // a cycle the probe missed
        const double host = offset + static_cast<double>(origin + found) * 1e6 / kRate + declaredMs * 1000.0;
        const double beat = state.beatAtTime(std::chrono::microseconds(std::llround(host)), 4.0);
        const double errorMs = (beat - 4.0 * std::round(beat / 4.0)) * 60000.0 / kBpm;
        worst = std::max(worst, std::abs(errorMs));
        ++measured;
        EXPECT_LT(std::abs(errorMs), 3.0) << "the bar line at sample " << line << " was heard " << errorMs << " ms off the session's";
    }
    EXPECT_GE(measured, 4) << run.output;
    for (const auto& e : readEvents(events))  // what the set read and did, for a failure's reader
        if (e.value("event", "").rfind("clock_", 0) == 0) std::printf("  %lld %s: %s\n", e.value("sample", 0LL), e.value("event", "").c_str(), e.value("label", "").c_str());
    std::printf("bar lines heard within %.3f ms of the session's (%d measured; latency counted %.3f ms, JACK's for the port %u frames)\n", worst, measured,
                declaredMs, latency.max);
}
#endif
#endif

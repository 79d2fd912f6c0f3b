// soundstar live (issue #18, first part): a long virtual-clock session steered by a timed script,
// changes landing on bar lines, no late commands, the same bytes for the same script and seed,
// q fading out within 100 ms, bad lines reported while the music plays on, a real-time session
// on the null device that quits on q.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "Cli.h"

using namespace soundstar::test;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

/// The events of an --events file: the changes, or (sections true) only the "section" events.
std::vector<nlohmann::json> readEvents(const std::string& path, bool sections = false) {
    std::istringstream lines(readText(path));
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(lines, line);) {
        auto e = nlohmann::json::parse(line);
        if ((e["event"] == "section") == sections) out.push_back(std::move(e));
    }
    return out;
}
}  // namespace

TEST(LiveCli, TenVirtualMinutesWithAChangeEvery30SecondsLandOnBarLinesWithNothingLate) {
    TempDir dir;
    std::ofstream script(dir / "script.txt");
    const char* lines[] = {"afternoon focus", "+bright", "b 128", "k F minor", "-space", "y dub", "rainy night jazz", "tempo slow",
                           R"({"at":"phrase","vibe":"dark ambient drone"})", R"({"update":{"density":"+1"}})"};
    for (int i = 1; i < 20; ++i) script << i * 30 << " " << lines[i % 10] << "\n";
    script.close();
    const std::string cmd = kBin + " live 'morning coffee' --clock virtual --minutes 10 --seed 9 --script '" + (dir / "script.txt") + "' -o '";
    const auto r = runCommand(cmd + (dir / "a.wav") + "' --events '" + (dir / "a.jsonl") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("played 600.00 s; 0 late commands"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("soundstar live:"), std::string::npos) << "every line was understood:\n" << r.output;
    EXPECT_NE(runCommand("soxi '" + (dir / "a.wav") + "'").output.find("= 26460000 samples"), std::string::npos);
    const auto events = readEvents(dir / "a.jsonl");
    ASSERT_EQ(events.size(), 20u) << "the first vibe and 19 changes";
    // Steps, tempo and the continuous fields glide (the music goes on); other music, a key or a
    // density change is a transition. A key change and "phrase" wait for a bar number divisible by 4.
    const std::vector<std::string> kinds{"transition", "glide", "glide", "transition", "glide", "transition", "transition", "glide", "transition", "transition"};
    for (std::size_t i = 1; i < events.size(); ++i) {
        const auto& e = events[i];
        EXPECT_EQ(e["event"], kinds[i % 10]) << "change " << i << ": " << e["label"];
        EXPECT_GE(e["time"].get<double>(), 30.0 * static_cast<double>(i)) << "never before it was asked for";
        EXPECT_LT(e["time"].get<double>(), 30.0 * static_cast<double>(i) + 10.0) << "and within the change under way and a phrase";
        if (i % 10 == 3 || i % 10 == 8) {
            EXPECT_EQ(e["bar"].get<int>() % 4, 0) << e["label"];
        }
    }
    EXPECT_EQ(events[8]["label"], "dark ambient drone");
    EXPECT_NEAR(events[2]["bpm"].get<double>(), 128.0, 1e-9);
    // Sections: the form's shares in whole 8-bar phrases from each vibe's start, running on across
    // the 16-bar chunks the music is scheduled in (some start mid-chunk).
    const auto sections = readEvents(dir / "a.jsonl", true);
    ASSERT_GE(sections.size(), 20u);
    int midChunk = 0;
    for (const auto& s : sections) {
        EXPECT_EQ(s["bar"].get<int>() % 8, 0) << s;
        midChunk += s["bar"].get<int>() % 16 == 8;
    }
    EXPECT_GT(midChunk, 0);
    // The same script and seed give the same bytes.
    // Memory stays flat: once every kind of change has happened (the script repeats after five
    // minutes), ten minutes peak at no more than six minutes do (plus 5%).
    const auto peakKb = [](const std::string& out) { return numberIn(out, R"(maxrss ([0-9]+))"); };
    const auto ten = runCommand("/usr/bin/time -f 'maxrss %M' " + cmd + (dir / "b.wav") + "' -q");
    ASSERT_EQ(ten.code, 0) << ten.output;
    const auto six = runCommand("/usr/bin/time -f 'maxrss %M' " + kBin + " live 'morning coffee' --clock virtual --minutes 6 --seed 9 -q --script '" +
                                (dir / "script.txt") + "' -o '" + (dir / "c.wav") + "'");
    ASSERT_EQ(six.code, 0) << six.output;
    EXPECT_LT(peakKb(ten.output), 1.05 * peakKb(six.output)) << ten.output << six.output;
    EXPECT_EQ(readText(dir / "a.wav"), readText(dir / "b.wav"));
}

TEST(LiveCli, QuitFadesOutWithin100msAndBadLinesAreReportedWhileItPlays) {
    TempDir dir;
    std::ofstream(dir / "s.txt") << "5 brightness +9x\n6 frobnicate +1\n7 b 500\n8 {\"at\": 3}\n9.5 q\n";
    const auto r = runCommand(kBin + " live 'warm pads' --clock virtual --minutes 1 --script '" + (dir / "s.txt") + "' -o '" + (dir / "q.wav") +
                              "' --events '" + (dir / "q.jsonl") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char* expect : {"soundstar live: brightness +9x: field 'brightness'", "soundstar live: 'frobnicate' is not a field",
                               "b 500: field 'bpm' = 500.0 is invalid", "steering JSON: 'at' = 3 is invalid"})
        EXPECT_NE(r.output.find(expect), std::string::npos) << expect << "\n" << r.output;
    const auto info = runCommand("{ soxi -s '" + (dir / "q.wav") + "' 2>/dev/null; }");
    const double seconds = std::stod(info.output) / 44100.0;
    EXPECT_GT(seconds, 9.5);
    EXPECT_LT(seconds, 9.5 + 0.2) << "ends right after the fade";
    // Silent 100 ms after q was read (at the first block boundary after 9.5 s, so at most 6 ms
    // later); the second before q was not.
    const auto tail = runCommand("sox '" + (dir / "q.wav") + "' -n trim 9.606 stats");
    EXPECT_NE(tail.output.find("Pk lev dB       -inf"), std::string::npos) << tail.output;
    const auto before = runCommand("sox '" + (dir / "q.wav") + "' -n trim 8.4 1 stats");
    const auto at = before.output.find("RMS lev dB");
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(std::stod(before.output.substr(at + 10)), -40.0);
}

TEST(LiveCli, ARealTimeSessionOnTheNullDeviceQuitsOnQ) {
    const auto play = [] { return runCommand("(sleep 1; echo '+bright'; sleep 1; echo q) | timeout 20 " + kBin + " live 'calm' --device null"); };
    auto r = play();
    // A machine loaded by other work can starve the feeding thread past the 200 ms it feeds
    // ahead (CI once saw 1 late command with a build running beside the tests): one more try.
    // Lateness the session causes itself shows in both.
    if (r.code == 0 && r.output.find("; 0 late commands") == std::string::npos) r = play();
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("+bright -> glide at"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("; 0 late commands"), std::string::npos) << r.output;
    const auto played = std::stod(r.output.substr(r.output.find("played ") + 7));
    EXPECT_GT(played, 1.5);
    EXPECT_LT(played, 5.0);
    const auto bad = runCommand(kBin + " live calm --clock virtual");
    EXPECT_NE(bad.output.find("--clock virtual needs --minutes"), std::string::npos) << bad.output;
}

// On the real clock, a typed q and Ctrl-C (SIGINT) fade out from the next block, ahead of the
// 0.2 s of music already scheduled: the events file says where the key or signal was read
// ("stop") and where the fade started; the recording is silent 100 ms after the read, ends right
// after, and sox reads it.
TEST(LiveCli, TypedQuitAndSigintFadeOutWithin100msOfBeingRead) {
    TempDir dir;
    for (const bool signal : {true, false}) {
        const std::string wav = dir / (signal ? "int.wav" : "q.wav"), events = dir / (signal ? "int.jsonl" : "q.jsonl");
        const std::string cmd = kBin + " live 'lofi beats' --device null -o '" + wav + "' --events '" + events + "'";
        // (A shell's background job starts with SIGINT ignored; the session installs its own handler.)
        const auto r = signal ? runCommand(cmd + " --minutes 1 < /dev/null 2>&1 & pid=$!; sleep 2.5; kill -INT $pid; wait $pid")
                              : runCommand("(sleep 2.5; echo q) | timeout 20 " + cmd);
        ASSERT_EQ(r.code, 0) << r.output;
        long stop = -1, fade = -1;
        for (const auto& e : readEvents(events)) {
            if (e["event"] == "stop") stop = e["sample"];
            if (e["event"] == "fade_out") fade = e["sample"];
        }
        ASSERT_GT(stop, 0) << readText(events);
        EXPECT_NE(readText(events).find(signal ? "interrupted (SIGINT)" : "\"quit\""), std::string::npos) << readText(events);
        EXPECT_GE(fade, stop);
        EXPECT_LE(fade - stop, 512) << "the fade starts on the next block, not behind what is scheduled";
        const double read = static_cast<double>(stop) / 44100.0;
        const auto frames = std::stod(runCommand("{ soxi -s '" + wav + "' 2>/dev/null; }").output);
        EXPECT_GT(frames / 44100.0, read);
        EXPECT_LT(frames / 44100.0, read + 0.1) << "ends right after the fade";
        const auto tail = runCommand("sox '" + wav + "' -n trim " + std::to_string(read + 0.06) + " stats");
        const auto pk = tail.output.find("Pk lev dB");
        ASSERT_NE(pk, std::string::npos) << tail.output;
        const auto level = tail.output.substr(pk + 9, 20);
        EXPECT_TRUE(level.find("-inf") != std::string::npos || std::stod(level) < -60.0)
            << (signal ? "SIGINT" : "q") << ": silent from 60 ms after the read: " << tail.output << r.output << readText(events);
        const auto before = runCommand("sox '" + wav + "' -n trim " + std::to_string(read - 1.0) + " 1 stats");
        const auto rms = before.output.find("RMS lev dB");
        ASSERT_NE(rms, std::string::npos) << before.output;
        EXPECT_GT(std::stod(before.output.substr(rms + 10)), -40.0) << "music until then";
    }
}

// What the device plays is tapped off the audio thread: the recording holds exactly what was
// played, and --stdout carries the same frames as raw PCM.
TEST(LiveCli, ARealTimeSessionRecordsWhatItPlays) {
    TempDir dir;
    const auto r = runCommand("(sleep 1.5; echo 'b 128'; sleep 1; echo q) | timeout 20 " + kBin + " live 'lofi beats' --device null -o '" +
                              (dir / "rt.wav") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const double played = std::stod(r.output.substr(r.output.find("played ") + 7));
    const auto frames = std::stod(runCommand("{ soxi -s '" + (dir / "rt.wav") + "' 2>/dev/null; }").output);
    EXPECT_NEAR(frames / 44100.0, played, 0.01) << "the recording is what was played";
    const auto stats = runCommand("sox '" + (dir / "rt.wav") + "' -n trim 0.5 1 stats");
    const auto at = stats.output.find("RMS lev dB");
    ASSERT_NE(at, std::string::npos) << stats.output;
    EXPECT_GT(std::stod(stats.output.substr(at + 10)), -40.0) << "music, not silence";
    const auto raw = runCommand("(sleep 1; echo q) | timeout 20 " + kBin + " live calm --device null --stdout s16 -q | wc -c");
    ASSERT_EQ(raw.code, 0) << raw.output;
    const double bytes = std::stod(raw.output);
    EXPECT_GT(bytes, 4 * 44100 * 0.9) << "about a second of 16-bit stereo";
    EXPECT_EQ(static_cast<long long>(bytes) % 4, 0) << "whole frames";
}

// A timed script played in real time on the null device records the same bytes as the same
// script and seed on the virtual clock: the script is fed block by block ahead of the device, so
// every command lands on the same sample either way. The events agree too.
TEST(LiveCli, AScriptPlayedInRealTimeRecordsTheSameBytesAsOnTheVirtualClock) {
    TempDir dir;
    std::ofstream(dir / "s.txt") << "1.5 +bright\n"
                                    "3 {\"at\":\"bar\",\"vibe\":\"minimal techno at night\",\"transition\":\"1bars\"}\n"
                                    "6 b 132\n"
                                    "7.25 {\"at\":\"now\",\"update\":{\"brightness\":\"dark\"}}\n"
                                    "8 s drums,bass\n"
                                    "9 blend ambient drone 0.6, minimal techno 0.4\n"
                                    "11 q\n";
    const std::string script = " --script '" + (dir / "s.txt") + "'";
    const auto virt = runCommand(kBin + " live 'calm ambient' --clock virtual --minutes 1 --seed 7" + script + " -o '" + (dir / "v.wav") +
                                 "' --events '" + (dir / "v.jsonl") + "'");
    ASSERT_EQ(virt.code, 0) << virt.output;
    const auto real = runCommand("timeout 60 " + kBin + " live 'calm ambient' --device null --minutes 1 --seed 7" + script + " -o '" +
                                 (dir / "r.wav") + "' --events '" + (dir / "r.jsonl") + "' </dev/null");
    ASSERT_EQ(real.code, 0) << real.output;
    EXPECT_NE(real.output.find("; 0 late commands"), std::string::npos) << real.output;
    const std::string v = readText(dir / "v.wav"), r = readText(dir / "r.wav");
    const double seconds = static_cast<double>(v.size()) / (8.0 * 44100.0);
    EXPECT_GT(seconds, 11.0) << "it played until the script's q";
    EXPECT_LT(seconds, 11.3) << "and stopped within its fade";
    EXPECT_TRUE(v == r) << "the real-time capture differs from the virtual run (" << v.size() << " vs " << r.size() << " bytes)";
    EXPECT_EQ(readText(dir / "v.jsonl"), readText(dir / "r.jsonl"));
    EXPECT_EQ(readEvents(dir / "v.jsonl").size(), 7u) << readText(dir / "v.jsonl");
    EXPECT_GT(soxStats(dir / "v.wav").rmsDb, -40.0) << "music, not silence";
    // Not the same bytes whatever happens: another seed plays other music.
    const auto other = runCommand(kBin + " live 'calm ambient' --clock virtual --minutes 1 --seed 8" + script + " -o '" + (dir / "o.wav") + "'");
    ASSERT_EQ(other.code, 0) << other.output;
    EXPECT_FALSE(readText(dir / "o.wav") == v);
}

TEST(LiveCli, AnLlmThatIsDownLeavesTheInterpretersReadingPlayingAndSaysSo) {
    TempDir dir;
    std::ofstream(dir / "s.txt") << "3 rainy night jazz\n9 +bright\n";
    const std::string base = kBin + " live 'morning coffee' --clock virtual --minutes 0.4 --seed 4 --script '" + (dir / "s.txt") + "'";
    const auto r = runCommand(base + " --llm http://127.0.0.1:9/v1 --llm-timeout 5 -o '" + (dir / "llm.wav") + "' --events '" + (dir / "llm.jsonl") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("the LLM did not read 'rainy night jazz'"), std::string::npos) << r.output;
    const auto events = readEvents(dir / "llm.jsonl");
    int fallbacks = 0, changes = 0;
    for (const auto& e : events) {
        if (e["event"] == "llm_fallback") {
            ++fallbacks;
            EXPECT_NE(e["label"].get<std::string>().find("LLM unavailable"), std::string::npos) << e.dump();
        }
        changes += e["event"] == "transition" || e["event"] == "glide";
    }
    EXPECT_EQ(fallbacks, 2) << "the first vibe and the second were both asked for";
    EXPECT_EQ(changes, 2) << "both changes happened all the same";
    // Nothing of the LLM reached the music: the same bytes as without --llm.
    ASSERT_EQ(runCommand(base + " -q -o '" + (dir / "plain.wav") + "'").code, 0);
    EXPECT_EQ(readText(dir / "llm.wav"), readText(dir / "plain.wav"));
}

TEST(LiveCli, SteeringArrivesOverAUnixSocketFromSeveralClients) {
    TempDir dir;
    const std::string sock = dir / "ctl.sock";
    const std::string client = "/usr/bin/python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
                               "s.sendall(sys.argv[2].encode().replace(b'|', b'\\n')); s.close()\" '" + sock + "' ";
    const auto r = runCommand("{ (sleep 1.2; " + client + "'+bright|b 120|'; " + client + "'" + std::string(3000, 'x') + "'; " + client +
                              "'s drums,bass|') & timeout 30 " + kBin + " live calm --device null --minutes 0.1 --control unix:" + sock +
                              " --events '" + (dir / "c.jsonl") + "'; wait; }");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("a control line over 2000 bytes was refused"), std::string::npos) << r.output;
    const auto events = readEvents(dir / "c.jsonl");
    std::vector<std::string> labels;
    for (const auto& e : events) labels.push_back(e["label"]);
    EXPECT_EQ(labels, (std::vector<std::string>{"calm", "+bright", "b 120", "drums,bass"}));
    EXPECT_FALSE(std::filesystem::exists(sock)) << "the socket is removed at the end";
    EXPECT_NE(runCommand(kBin + " live calm --device null --minutes 0.01 --control tcp:1").output.find("--control tcp:1: allowed unix:PATH"), std::string::npos);
}

TEST(LiveCli, PlaysThroughARealJackServerAndRecordsWhatItPlayed) {
    if (runCommand("command -v jackd").code != 0) GTEST_SKIP() << "jackd is not installed";
    TempDir dir;
    std::ofstream(dir / "s.txt") << "1 +bright\n";
    const std::string server = "soundstar-live-" + std::to_string(getpid());
    // JACK's period (1024) is a multiple of the session's block (256): the same bytes as the virtual clock.
    const auto r = runCommand("{ export JACK_DEFAULT_SERVER=" + server + " JACK_NO_AUDIO_RESERVATION=1; jackd " + kJackdScheduling + " -n " + server +
                              " -d dummy -r 48000 -p 1024 >/dev/null 2>&1 & J=$!; for i in $(seq 60); do jack_lsp >/dev/null 2>&1 && break; sleep 0.25; done; "
                              "timeout 40 " + kBin + " live calm --device jack --sample-rate 48000 --minutes 0.08 --seed 3 --script '" + (dir / "s.txt") +
                              "' -o '" + (dir / "jack.wav") + "' --events '" + (dir / "jack.jsonl") + "' </dev/null; R=$?; kill $J; wait $J; exit $R; }");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("playing on RtAudio"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("; 0 late commands"), std::string::npos) << r.output;
    const auto info = runCommand("soxi '" + (dir / "jack.wav") + "' 2>/dev/null");
    EXPECT_NE(info.output.find("Sample Rate    : 48000"), std::string::npos) << info.output;
    const auto frames = std::stod(runCommand("{ soxi -s '" + (dir / "jack.wav") + "' 2>/dev/null; }").output);
    EXPECT_NEAR(frames, 0.08 * 60 * 48000, 48000 * 0.5) << "what JACK pulled was recorded";
    const auto stats = runCommand("sox '" + (dir / "jack.wav") + "' -n trim 1 2 stats");
    EXPECT_GT(numberIn(stats.output, R"(RMS lev dB\s+(-?[0-9.]+))"), -40.0) << stats.output;
    const auto events = readEvents(dir / "jack.jsonl");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1]["event"], "glide");
    const auto virt = runCommand(kBin + " live calm --clock virtual --sample-rate 48000 --minutes 0.08 --seed 3 --script '" + (dir / "s.txt") + "' -q -o '" +
                                 (dir / "virtual.wav") + "'");
    ASSERT_EQ(virt.code, 0) << virt.output;
    EXPECT_TRUE(readText(dir / "jack.wav") == readText(dir / "virtual.wav")) << "the capture through JACK differs from the virtual clock's bytes";
}

TEST(LiveCli, FiveMinutesOfChangingVibesAreLevelledToTheTargetLoudnessUnderTheTruePeakCeiling) {
    TempDir dir;
    std::ofstream script(dir / "five.txt");
    const char* vibes[] = {"loud energetic techno", "soft piano lullaby", "quiet ambient drone"};
    for (int i = 1; i < 10; ++i) script << i * 30 << " " << vibes[i % 3] << "\n";
    script.close();
    for (const double target : {-14.0, -20.0}) {
        const std::string wav = dir / ("five" + std::to_string(static_cast<int>(-target)) + ".wav");
        const auto r = runCommand(kBin + " live 'morning coffee' --clock virtual --minutes 5 --seed 2 -q --script '" + (dir / "five.txt") +
                                  "' --target-lufs " + std::to_string(target) + " -o '" + wav + "'");
        ASSERT_EQ(r.code, 0) << r.output;
        const auto m = runCommand("ffmpeg -hide_banner -nostats -i '" + wav + "' -af ebur128=peak=true -f null - 2>&1");
        const std::string summary = m.output.substr(std::min(m.output.size(), m.output.rfind("Summary:")));
        const double lufs = numberIn(summary, R"(I:\s+(-?[0-9.]+) LUFS)");
        const double peak = numberIn(summary, R"(Peak:\s+(-?[0-9.]+) dBFS)");
        EXPECT_NEAR(lufs, target, 1.0) << "integrated loudness of five minutes, by ffmpeg";
        EXPECT_LE(peak, -1.0) << "true peak, by ffmpeg";
    }
}

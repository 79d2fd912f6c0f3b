// Live output: the null clock device and a real JACK server (jackd with its dummy backend, so no
// sound card is needed) each pull blocks from the engine on their own thread.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>
#include <unistd.h>
#include <sys/wait.h>

#include "Cli.h"
#include "engine/Controller.h"
#include "engine/Instruments.h"
#include "io/AudioDevice.h"

using namespace soundstar;
using namespace soundstar::engine;

namespace {
/// Plays a note through the device for a while; returns {frames rendered, loudest block peak}.
std::pair<SampleTime, float> playThrough(io::AudioDevice& dev, double sampleRate) {
    AudioEngine e;
    e.prepare(sampleRate, 256);
    Controller c(e);
    const int t = c.addTrack("lead", makeInstrument("pluck"));
    c.commit();
    dev.start(e);
    c.noteOn(t, 60.0f, 1.0f, e.now() + 512);
    float loudest = 0.0f;
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        c.collect();
        loudest = std::max(loudest, c.lastPeak());
    }
    dev.stop();
    return {e.now(), loudest};
}
}  // namespace

TEST(NullDevice, RendersContinuouslyOnItsClockThread) {
    auto dev = io::makeNullDevice();
    const auto [frames, peak] = playThrough(*dev, 48000.0);
    EXPECT_GT(frames, 4800);            // at least 0.1 s of audio in 0.5 s of wall time
    EXPECT_LT(frames, 48000 * 30);      // and it is paced by a clock, not free-running
    EXPECT_GT(peak, 0.01f);
}

TEST(RtAudioDevice, PlaysThroughARealJackServer) {
    if (soundstar::test::runCommand("command -v jackd").code != 0) GTEST_SKIP() << "jackd is not installed";
    const std::string server = "soundstar-test-" + std::to_string(getpid());
    setenv("JACK_DEFAULT_SERVER", server.c_str(), 1);
    setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
    const pid_t pid = fork();
    if (pid == 0) {
        execlp("jackd", "jackd", "--no-realtime", "-n", server.c_str(), "-d", "dummy", "-r", "48000", "-p", "256",
               static_cast<char*>(nullptr));
        _exit(127);
    }
    ASSERT_GT(pid, 0);
    std::pair<SampleTime, float> got{0, 0.0f};
    std::string error;
    // The server takes a moment to come up: retry opening the device for up to 15 s.
    for (int attempt = 0; attempt < 30; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        try {
            auto dev = io::makeRtAudioDevice();
            ASSERT_NE(dev, nullptr) << "built without RtAudio";
            got = playThrough(*dev, 48000.0);
            error.clear();
            break;
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_GT(got.first, 4800);
    EXPECT_GT(got.second, 0.01f);
}

// `soundstar serve` model jobs (issue #12): generate_start / generate_status / generate_cancel on
// the real server, with the built-in procedural model run by the model service's worker process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "Cli.h"
#include "ServerClient.h"

namespace soundstar::test {
namespace {

using nlohmann::json;

class ServeModels : public ServerTest {
protected:
    json waitWhile(long job, const std::string& state) const {
        json st;
        for (int i = 0; i < 1500; ++i) {
            st = ok("generate_status", {{"job", job}});
            if (st["state"] != state && st["state"] != "queued") break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return st;
    }
    /// generate_start's arguments: a prompt, a file, seconds and seed, then `more` on top.
    static json generateArgs(const std::string& prompt, double seconds, int seed, const std::string& file, const json& more) {
        json a = {{"prompt", prompt}, {"file", file}, {"seconds", seconds}, {"seed", seed}};
        a.update(more);
        return a;
    }
    std::vector<std::string> dataFiles() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(dir / "data")) names.push_back(e.path().filename().string());
        return names;
    }
};

TEST_F(ServeModels, AJobWritesItsWavWithProgressEvents) {
    startServer();
    // Events over the WebSocket while a 20-second job runs to its end.
    const std::string script =
        "import json,sys,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=60)\n"
        "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['events']}}))\n"
        "ws.recv()\n"
        "urllib.request.urlopen(urllib.request.Request(base+'/v1/generate_start',data=json.dumps({'prompt':'slow warm pad','file':'pad.wav',"
        "'model':'procedural','seconds':20,'seed':7,'steps':16}).encode(),method='POST')).read()\n"
        "out=[]\n"
        "while True:\n"
        "    m=json.loads(ws.recv())['data']\n"
        "    out.append(m)\n"
        "    if m['type']=='generate' and m['state'] in ('done','failed','cancelled'): break\n"
        "print(json.dumps(out))\n";
    std::ofstream(dir / "events.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "events.py") + "' " + server->base);
    ASSERT_EQ(r.code, 0) << r.output;
    const json events = json::parse(r.output);
    std::vector<std::string> states;
    std::vector<double> progress;
    for (const auto& e : events) {
        if (e["type"] == "generate") states.push_back(e["state"]);
        if (e["type"] == "generate_progress") progress.push_back(e["progress"]);
    }
    ASSERT_FALSE(states.empty()) << r.output;
    EXPECT_EQ(states.back(), "done") << r.output;
    ASSERT_GE(progress.size(), 1u) << r.output;
    for (std::size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i], progress[i - 1]);
    for (double p : progress) EXPECT_LE(p, 1.0);
    // soxi reads back the asked length at the model's rate; nothing but the WAV is left.
    const auto info = soxInfo(dir / "data/pad.wav");
    EXPECT_EQ(info.sampleRate, 44100.0);
    EXPECT_EQ(info.frames, 20 * 44100);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(dataFiles(), std::vector<std::string>{"pad.wav"});
    const json st = ok("generate_status", {{"job", 1}});
    EXPECT_EQ(st["state"], "done");
    EXPECT_EQ(st["progress"], 1.0);
    EXPECT_EQ(st["model"], "procedural");
    // An unknown job.
    EXPECT_EQ(post("generate_status", {{"job", 99}}).status, 404);
}

TEST_F(ServeModels, CancelStopsAJobAndLeavesNoFile) {
    startServer();
    const json job = ok("generate_start", {{"prompt", "a long evening drone"}, {"file", "long.wav"}, {"seconds", 300}});
    const json queued = ok("generate_start", {{"prompt", "never"}, {"file", "never.wav"}, {"seconds", 2}});
    EXPECT_EQ(ok("generate_cancel", {{"job", queued["job"]}})["state"], "cancelled");
    json st;
    for (int i = 0; i < 1500; ++i) {
        st = ok("generate_status", {{"job", job["job"]}});
        if (st["state"] != "queued") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(st["state"], "running") << st.dump();
    EXPECT_EQ(ok("generate_cancel", {{"job", job["job"]}})["state"], "cancelling");
    st = waitWhile(job["job"], "running");
    EXPECT_EQ(st["state"], "cancelled") << st.dump();
    EXPECT_LT(st["progress"].get<double>(), 1.0);
    EXPECT_EQ(post("generate_cancel", {{"job", job["job"]}}).status, 409);
    EXPECT_TRUE(dataFiles().empty()) << "a cancelled job writes nothing, not even a temp file";
    // The service still works after a cancel.
    const json next = ok("generate_start", {{"prompt", "short bell"}, {"file", "bell.wav"}, {"seconds", 1.5}});
    st = waitWhile(next["job"], "running");
    ASSERT_EQ(st["state"], "done") << st.dump();
    EXPECT_EQ(soxInfo(dir / "data/bell.wav").frames, 66150);
}

TEST_F(ServeModels, BadRequestsAreRefusedWithReasons) {
    startServer();
    // Model folders outside the model roots and --data.
    std::filesystem::create_directories(dir / "elsewhere");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"model", dir / "elsewhere"}}, 403, "outside the server's model roots");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"model", "../elsewhere"}}, 403, "outside the server's model roots");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"model", "/etc"}}, 403, "outside the server's model roots");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"model", "no-such-model"}}, 404, "no model folder");
    // Lengths out of bounds name the bound.
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"seconds", 301}}, 400, "300");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"seconds", 0.01}}, 400, "0.1");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.flac"}}, 400, ".wav");
    refused("generate_start", {{"prompt", "x"}, {"file", "../x.wav"}}, 403, "..");
    EXPECT_TRUE(dataFiles().empty());
}

// The model settings the CLI takes (steps, guidance, top_k, temperature, seed): each out of range
// is refused with its range named; in range they reach the model: with the same seed, guidance 0
// (the unconditional prompt alone) gives other audio than guidance 8, while the step count does not
// change the procedural model's samples (its windows join seamlessly), so a job at guidance 8 with
// 4 steps, top_k and temperature is byte-identical to one at guidance 8 with the default steps.
TEST_F(ServeModels, ModelSettingsAreCheckedWithTheirRangeAndReachTheModel) {
    startServer();
    const auto ask = [](const std::string& file, const json& more) { return generateArgs("bright funky disco groove", 2, 5, file, more); };
    refused("generate_start", ask("x.wav", {{"guidance", 31}}), 400, "guidance: 31 is above the maximum 30 (allowed 0 to 30)");
    refused("generate_start", ask("x.wav", {{"guidance", -0.5}}), 400, "(allowed 0 to 30)");
    refused("generate_start", ask("x.wav", {{"top_k", 0}}), 400, "top_k: 0 is below the minimum 1 (allowed 1 to 65536)");
    refused("generate_start", ask("x.wav", {{"top_k", 70000}}), 400, "(allowed 1 to 65536)");
    refused("generate_start", ask("x.wav", {{"top_k", 2.5}}), 400, "integer");
    refused("generate_start", ask("x.wav", {{"temperature", 0.001}}), 400, "temperature: 0.001 is below the minimum 0.01 (allowed 0.01 to 10)");
    refused("generate_start", ask("x.wav", {{"temperature", 11}}), 400, "(allowed 0.01 to 10)");
    refused("generate_start", ask("x.wav", {{"steps", 0}}), 400, "steps: 0 is below the minimum 1 (allowed 1 to 1000)");
    refused("generate_start", ask("x.wav", {{"steps", 1001}}), 400, "(allowed 1 to 1000)");
    refused("generate_start", ask("x.wav", {{"seed", -1}}), 400, "(allowed 0 to 9007199254740991)");
    EXPECT_TRUE(dataFiles().empty());
    const json plain = ok("generate_start", ask("g0.wav", {{"guidance", 0}}));
    const json tuned = ok("generate_start", ask("g8.wav", {{"guidance", 8}, {"steps", 4}, {"top_k", 40}, {"temperature", 0.7}}));
    const json again = ok("generate_start", ask("g8b.wav", {{"guidance", 8}}));
    for (const auto& j : {plain, tuned, again}) ASSERT_EQ(waitWhile(j["job"], "running")["state"], "done");
    const json st = ok("generate_status", {{"job", tuned["job"]}});
    EXPECT_EQ(st["guidance"], 8.0);
    EXPECT_EQ(st["steps"], 4);
    EXPECT_EQ(st["top_k"], 40);
    EXPECT_EQ(st["temperature"], 0.7);
    EXPECT_EQ(st["seed"], 5);
    EXPECT_EQ(soxInfo(dir / "data/g8.wav").frames, 2 * 44100);
    EXPECT_NE(readText(dir / "data/g0.wav"), readText(dir / "data/g8.wav")) << "guidance reaches the model";
    EXPECT_EQ(readText(dir / "data/g8.wav"), readText(dir / "data/g8b.wav")) << "the same settings and seed, the same audio";
}

// takes: a job makes several versions, written beside each other (x.wav, x-2.wav ...), take t
// byte for byte the one-take job of seed + t; threads is a job setting too; both bounded.
TEST_F(ServeModels, TakesAreWrittenBesideTheFileAndEachIsTheOneTakeJobOfItsSeed) {
    startServer();
    const auto ask = [](const std::string& file, const json& more) { return generateArgs("dusty lofi keys", 1.5, 11, file, more); };
    refused("generate_start", ask("x.wav", {{"takes", 9}}), 400, "takes: 9 is above the maximum 8 (allowed 1 to 8)");
    refused("generate_start", ask("x.wav", {{"takes", 0}}), 400, "(allowed 1 to 8)");
    refused("generate_start", ask("x.wav", {{"threads", 65}}), 400, "threads: 65 is above the maximum 64 (allowed 1 to 64)");
    EXPECT_TRUE(dataFiles().empty());
    const json three = ok("generate_start", ask("song.wav", {{"takes", 3}, {"threads", 1}}));  // (and sample_rate below)
    EXPECT_EQ(three["files"], json::array({"song.wav", "song-2.wav", "song-3.wav"}));
    const json one = ok("generate_start", ask("one.wav", {{"seed", 12}}));
    refused("generate_start", ask("x.wav", {{"sample_rate", 4000}}), 400, "sample_rate: 4000 is below the minimum 8000 (allowed 8000 to 192000)");
    const json low = ok("generate_start", ask("low.wav", {{"sample_rate", 22050}}));
    for (const auto& j : {three, one, low}) ASSERT_EQ(waitWhile(j["job"], "running")["state"], "done");
    EXPECT_EQ(ok("generate_status", {{"job", low["job"]}})["sample_rate"], 22050);
    EXPECT_EQ(soxInfo(dir / "data/low.wav").sampleRate, 22050);
    EXPECT_EQ(soxInfo(dir / "data/low.wav").frames, static_cast<long>(1.5 * 22050));
    const json st = ok("generate_status", {{"job", three["job"]}});
    EXPECT_EQ(st["takes"], 3);
    EXPECT_EQ(st["threads"], 1);
    EXPECT_EQ(st["files"], three["files"]);
    for (const std::string f : {"song.wav", "song-2.wav", "song-3.wav"}) EXPECT_EQ(soxInfo(dir / ("data/" + f)).frames, static_cast<long>(1.5 * 44100)) << f;
    EXPECT_EQ(readText(dir / "data/song-2.wav"), readText(dir / "data/one.wav")) << "take 2 is the one-take job of seed + 1";
    EXPECT_NE(readText(dir / "data/song.wav"), readText(dir / "data/song-2.wav"));
}

// A model job with `loop`: the audio fitted into whole bars at the transport's tempo (or the one
// given) before it is written, so a sampler track can loop it in time; bad loop options are 400s
// naming the option, before anything runs.
TEST_F(ServeModels, ALoopJobIsWholeBarsAtTheTransportsTempoForASamplerTrack) {
    startServer();
    ok("set_tempo", {{"bpm", 100}});
    const json job = ok("generate_start", {{"prompt", "four on the floor techno drums"}, {"file", "loop.wav"}, {"seconds", 12}, {"seed", 3}, {"loop", {{"bars", 2}}}});
    const json st = waitWhile(job["job"], "running");
    ASSERT_EQ(st["state"], "done") << st.dump();
    EXPECT_EQ(st["loop_options"]["target_bpm"], 100.0) << "the transport's tempo";
    // soxi: exactly two bars of four beats at 100 bpm, at the model's rate.
    const auto info = soxInfo(dir / "data/loop.wav");
    EXPECT_EQ(info.sampleRate, 44100.0);
    EXPECT_EQ(info.frames, std::llround(2 * 4 * 60.0 / 100.0 * 44100.0));
    ASSERT_TRUE(st.contains("loop")) << st.dump();
    EXPECT_EQ(st["loop"]["frames"], info.frames);
    EXPECT_GT(st["loop"]["source_bpm"].get<double>(), 0.0) << st.dump();
    // Its loudness as ffmpeg measures it: the report's, at the default -14 LUFS or, held by the
    // -1 dBFS peak ceiling, under it with a warning saying so.
    const auto meter = runCommand("ffmpeg -hide_banner -nostats -i '" + (dir / "data/loop.wav") + "' -af ebur128 -f null -");
    const auto summary = meter.output.find("Summary:");
    ASSERT_NE(summary, std::string::npos) << meter.output;
    const double lufs = numberIn(meter.output.substr(summary), R"(I:\s+(-?[0-9.]+) LUFS)");
    EXPECT_NEAR(st["loop"]["lufs"].get<double>(), lufs, 0.5);
    if (st["loop"]["warnings"].empty()) EXPECT_NEAR(lufs, -14.0, 0.5) << st.dump();
    else EXPECT_LT(lufs, -13.5) << st.dump();
    // A tempo given wins over the transport's; the same audio fitted to 120 bpm is 4 s.
    const json fast = ok("generate_start", {{"prompt", "four on the floor techno drums"}, {"file", "fast.wav"}, {"seconds", 12}, {"seed", 3},
                                           {"loop", {{"bars", 2}, {"target_bpm", 120}}}});
    ASSERT_EQ(waitWhile(fast["job"], "running")["state"], "done");
    EXPECT_EQ(soxInfo(dir / "data/fast.wav").frames, 4 * 44100);
    // The loop plays on a sampler track (the file is read and accepted as its sample).
    const json track = ok("create_track", {{"name", "loop"}, {"instrument", "sampler"}, {"options", {{"sample", "loop.wav"}}}});
    EXPECT_EQ(track["track"], "loop") << track.dump();
    // Bad loops: refused before a job is queued, naming the option and what is allowed.
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"loop", {{"bars", 0}}}}, 400, "loop: bars is a whole number, 1 to 64");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"loop", {{"colour", 1}}}}, 400, "unknown conform option");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"seconds", 4}, {"loop", {{"bars", 8}}}}, 400, "longer than the 4 seconds asked for");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"loop", {{"key", "H minor"}}}}, 400, "is no key");
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"loop", 4}}, 400, "loop");
    ok("set_tempo", {{"bpm", 350}});  // the transport may run faster than a loop is fitted to
    refused("generate_start", {{"prompt", "x"}, {"file", "x.wav"}, {"loop", {{"bars", 1}}}}, 400, "the transport's tempo 350 bpm is outside the 40 to 300 bpm");
    EXPECT_FALSE(std::filesystem::exists(dir / "data/x.wav"));
}

}  // namespace
}  // namespace soundstar::test

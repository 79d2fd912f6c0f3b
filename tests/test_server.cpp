// `soundstar serve` for real: the binary on loopback (port 0, null device), driven by curl,
// python3-websocket, oscsend and UDP packets; recordings read back with sox.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "Cli.h"
#include "ServerClient.h"
#include "server/AssistantTools.h"
#include "server/Osc.h"
#include "server/Timing.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;
namespace osc = soundstar::server::osc;

namespace {

class Serve : public ::testing::Test {
protected:
    void start(const std::string& extra = "") {
        server = std::make_unique<ServeProcess>("--port 0 --device null --osc-port 0 --data '" + (dir / "data") + "' " + extra, dir / "err.txt");
        ASSERT_TRUE(server->up()) << readText(dir / "err.txt");
    }
    HttpResult post(const std::string& op, const json& args = json::object()) const { return curl("POST", server->base + "/v1/" + op, args.dump()); }
    json ok(const std::string& op, const json& args = json::object()) const {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, 200) << op << ": " << r.raw;
        return r.body.value("result", json());
    }
    json osc(const std::string& op, std::vector<osc::Arg> args) const {
        OscClient c;
        c.send(server->oscPort, osc::encodeMessage({"/soundstar/" + op, std::move(args)}));
        const auto reply = osc::decodePacket(c.receive());
        return json::parse(std::get<std::string>(reply.at(0).message.args.at(1)));
    }
    // A 16-bit mono WAV of one full-scale sample and silence, at the server's rate, under --data.
    void writeImpulse(const std::string& name) const {
        const auto r = runCommand("/usr/bin/python3 -c \"import wave,struct; w=wave.open('" + (dir / "data") + "/" + name +
                                  "','wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(44100); "
                                  "w.writeframes(struct.pack('<h',32767)+bytes(126)); w.close()\"");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    // The frames of a recording whose left channel is not silent (read back by sox as raw floats).
    std::vector<long> nonSilentFrames(const std::string& wav) const {
        const auto raw = dir / "rec.f32";
        EXPECT_EQ(runCommand("sox '" + wav + "' -t f32 -e floating-point '" + raw + "'").code, 0);
        const std::string bytes = readText(raw);
        std::vector<long> frames;
        for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
            float l = 0;
            std::memcpy(&l, bytes.data() + i, 4);
            if (std::abs(l) > 1e-4f) frames.push_back(static_cast<long>(i / 8));
        }
        return frames;
    }
    TempDir dir;
    std::unique_ptr<ServeProcess> server;
};

}  // namespace

TEST_F(Serve, AnswersHealthWithin200msOfPrintingItsPort) {
    start();
    const auto r = curl("GET", server->base + "/v1/health");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - server->listenedAt).count();
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["ok"], true);
    EXPECT_LT(ms, 200.0);
    EXPECT_NE(server->base.find("127.0.0.1:"), std::string::npos);
    EXPECT_GT(server->port, 0);
}

TEST(ServeRefusals, NonLoopbackBindNeedsAKeyAndBadHostsAreNamed) {
    TempDir dir;
    auto r = runCommandSplit(std::string(SOUNDSTAR_BIN) + " serve --host 0.0.0.0 --port 0 --device null --data '" + (dir / "d") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("--api-key"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("listening"), std::string::npos);
    r = runCommandSplit(std::string(SOUNDSTAR_BIN) + " serve --host 0.0.0.0 --api-key 0123456789 --osc-port 0 --port 0 --device null --data '" + (dir / "d") + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("OSC has no API key"), std::string::npos) << r.err;
    r = runCommandSplit(std::string(SOUNDSTAR_BIN) + " serve --host my-laptop --port 0 --device null");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("not an IP address"), std::string::npos) << r.err;
    r = runCommandSplit(std::string(SOUNDSTAR_BIN) + " serve --host 127.0.0.1 --api-key short --port 0 --device null");
    EXPECT_NE(r.err.find("8 to 256"), std::string::npos) << r.err;
}

TEST_F(Serve, ApiKeyIsNeededOnEveryRouteButHealthAndWebSocket) {
    ::setenv("SOUNDSTAR_API_KEY", "s3cret-key-123", 1);  // from the environment: not in the process list
    start();
    ::unsetenv("SOUNDSTAR_API_KEY");
    EXPECT_EQ(curl("GET", server->base + "/v1/health").status, 200);
    EXPECT_EQ(curl("POST", server->base + "/v1/status", "{}").status, 401);
    EXPECT_EQ(curl("POST", server->base + "/v1/status", "{}", "Authorization: Bearer s3cret-key-124").status, 401);
    EXPECT_EQ(curl("GET", server->base + "/v1/tools").status, 401);
    const auto r = curl("POST", server->base + "/v1/status", "{}", "Authorization: Bearer s3cret-key-123");
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["result"]["running"], true);
    const std::string ws = "ws://127.0.0.1:" + std::to_string(server->port) + "/v1/ws";
    auto replies = websocket(ws, {{{"id", 1}, {"op", "status"}}});
    ASSERT_FALSE(replies.empty());
    EXPECT_TRUE(replies.back().contains("client_error")) << replies.back().dump();  // the upgrade was refused
    replies = websocket(ws, {{{"id", 1}, {"op", "status"}}}, "Authorization: Bearer s3cret-key-123");
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0]["result"]["running"], true);
}

TEST_F(Serve, BadRequestsGetClear4xxNamingTheLimitOrTheField) {
    start();
    auto r = post("status", json::object());
    EXPECT_EQ(r.status, 200);
    // curl asks "Expect: 100-continue" for bodies over 1 KiB: the server says go (no 1 s wait) or 413 at once.
    const auto t0 = std::chrono::steady_clock::now();
    r = curl("POST", server->base + "/v1/list_tracks", "{" + std::string(4000, ' ') + "}");
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.9);
    r = curl("POST", server->base + "/v1/status", std::string(2 << 20, ' '));
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.raw.find("1048576 bytes"), std::string::npos) << r.raw;
    // A WebSocket message over the limit closes the connection with 1009 (message too big).
    std::ofstream(dir / "big.py") << "import sys,websocket\n"
                                  "ws=websocket.create_connection(sys.argv[1])\n"
                                  "try:\n    ws.send('x'*(2<<20))\nexcept Exception:\n    pass\n"
                                  "f=ws.recv_frame()\nprint(f.opcode, f.data[:2].hex())\n";
    const auto big = runCommand("/usr/bin/python3 '" + (dir / "big.py") + "' ws://127.0.0.1:" + std::to_string(server->port) + "/v1/ws");
    EXPECT_NE(big.output.find("8 03f1"), std::string::npos) << big.output;  // a close frame, code 1009
    r = curl("POST", server->base + "/v1/play_note", "{\"track\": ");
    EXPECT_EQ(r.status, 400);
    r = curl("POST", server->base + "/v1/warp_drive", "{}");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.raw.find("play_note"), std::string::npos) << r.raw;  // lists the operations
    r = post("play_note", {{"track", "bass"}, {"note", 200}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body["error"].get<std::string>().find("args.note: 200 is above the maximum 127"), std::string::npos) << r.raw;
    r = post("play_note", {{"track", "bass"}, {"note", 60}});
    EXPECT_EQ(r.status, 404);  // no such track
    EXPECT_NE(r.raw.find("no track 'bass'"), std::string::npos) << r.raw;
    EXPECT_EQ(curl("GET", server->base + "/v1/play_note").status, 405);
    r = post("set_mix", {{"target", "master"}, {"gain_db", 40}});
    EXPECT_EQ(r.status, 400);
    // Files stay under --data.
    for (const std::string bad : {"../escape.wav", "/tmp/abs.wav", "a/../../b.wav"}) {
        r = post("record_start", {{"file", bad}});
        EXPECT_EQ(r.status, 403) << bad << ": " << r.raw;
    }
    std::filesystem::create_directory_symlink("/tmp", dir / "data/out");
    r = post("record_start", {{"file", "out/x.wav"}});
    EXPECT_EQ(r.status, 403) << r.raw;
    r = post("create_track", {{"name", "s"}, {"instrument", "sampler"}, {"options", {{"sample", "../../etc/passwd"}}}});
    EXPECT_EQ(r.status, 403) << r.raw;
    // The server is still there.
    EXPECT_EQ(curl("GET", server->base + "/v1/health").status, 200);
}

TEST_F(Serve, TheSameOperationGivesTheSameResultOverRestWebSocketAndOsc) {
    start();
    const std::string ws = "ws://127.0.0.1:" + std::to_string(server->port) + "/v1/ws";
    const json rest = post("list_instruments").body;
    const auto wsReplies = websocket(ws, {{{"id", "a"}, {"op", "list_instruments"}, {"args", json::object()}},
                                          {{"id", 7}, {"op", "play_note"}, {"args", {{"track", "nobody"}, {"note", 60}}}},
                                          {{"op", "nothing_such"}}});
    ASSERT_EQ(wsReplies.size(), 3u);
    EXPECT_EQ(wsReplies[0]["id"], "a");
    EXPECT_EQ(wsReplies[0]["result"], rest["result"]);
    EXPECT_GT(rest["result"]["instruments"].size(), 5u);
    const json oscReply = osc("list_instruments", {});
    EXPECT_EQ(oscReply["result"], rest["result"]);
    // Errors too: the same status and message everywhere.
    const json restError = post("play_note", {{"track", "nobody"}, {"note", 60}}).body;
    EXPECT_EQ(wsReplies[1]["id"], 7);
    EXPECT_EQ(wsReplies[1]["error"], restError["error"]);
    EXPECT_EQ(osc("play_note", {std::string("nobody"), 60.0f})["error"], restError["error"]);
    EXPECT_EQ(wsReplies[2]["status"], 404);
    // Tools and OpenAPI list every operation of the table.
    const auto tools = curl("GET", server->base + "/v1/tools").body;
    const auto doc = curl("GET", server->base + "/openapi.json").body;
    std::set<std::string> names;
    for (const auto& t : tools) names.insert(t["function"]["name"].get<std::string>());
    for (const char* op : {"status", "start", "stop", "sync", "create_track", "play_note", "set_params", "set_mix", "live_start", "live_steer", "render_start"}) {
        EXPECT_TRUE(names.count(op)) << op;
        EXPECT_TRUE(doc["paths"].contains(std::string("/v1/") + op)) << op;
    }
}

TEST_F(Serve, AnOscBundleOfNotesLandsOnExactSampleOffsets) {
    start();
    writeImpulse("impulse.wav");
    auto created = ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    ASSERT_EQ(created["instrument"], "sampler");
    const json rec = ok("record_start", {{"file", "bundle.wav"}});
    const long first = rec["first_sample"];
    // An outer bundle 0.3 s ahead holding one bundle per note, each at its offset in samples.
    const std::vector<long> offsets = {0, 1, 17, 64, 1000};
    const osc::TimeTag anchor{server::WallClock::nowNtp().ntp + (static_cast<std::uint64_t>(0.3 * 4294967296.0))};
    std::vector<std::vector<std::uint8_t>> inner;
    for (long off : offsets) {
        const osc::TimeTag t{anchor.ntp + static_cast<std::uint64_t>(std::llround(off / 44100.0 * 4294967296.0))};
        inner.push_back(osc::encodeBundle(t, {osc::encodeMessage({"/soundstar/play_note", {std::string("click"), 60.0f, 1.0f, 0.01f}})}));
    }
    OscClient c;
    c.send(server->oscPort, osc::encodeBundle(anchor, inner));
    std::vector<long> applied;
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        const auto reply = json::parse(std::get<std::string>(osc::decodePacket(c.receive()).at(0).message.args.at(1)));
        ASSERT_TRUE(reply.contains("result")) << reply.dump();
        EXPECT_EQ(reply["result"]["late_by_samples"], 0);
        applied.push_back(reply["result"]["applied_at_sample"]);
    }
    for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(applied[i] - applied[0], offsets[i]);
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const json stopped = ok("record_stop");
    const auto onsets = nonSilentFrames(dir / "data/bundle.wav");
    std::vector<long> expected;
    for (long a : applied) expected.push_back(a - first);
    EXPECT_EQ(onsets, expected) << "recording starts at sample " << first << ", " << stopped.dump();
}

TEST_F(Serve, RestNotesAtSamplesBeatsAndInThePast) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    const long first = ok("record_start", {{"file", "rest.wav"}})["first_sample"];
    const long base = ok("status")["sample"].get<long>() + 22050;
    std::vector<long> expected;
    for (long off : {0L, 1L, 17L, 64L, 1000L}) {
        const json r = ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", {{"sample", base + off}}}});
        EXPECT_EQ(r["applied_at_sample"], base + off);
        EXPECT_EQ(r["late_by_samples"], 0);
        expected.push_back(base + off - first);
    }
    // On a beat: 120 bpm at 44.1 kHz puts beat B at B * 22050 samples.
    const double beat = std::ceil(static_cast<double>(base + 4000) / 22050.0) + 1.0;
    const json onBeat = ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", {{"beat", beat}}}});
    EXPECT_EQ(onBeat["applied_at_sample"], std::llround(beat * 22050.0));
    expected.push_back(std::llround(beat * 22050.0) - first);
    // A session latency puts "now" that much later.
    ok("set_latency", {{"seconds", 0.1}});
    const long before = ok("status")["sample"];
    const json delayed = ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}});
    EXPECT_GE(delayed["applied_at_sample"].get<long>(), before + 4410);
    EXPECT_LT(delayed["applied_at_sample"].get<long>(), before + 4410 + 44100 / 4);
    expected.push_back(delayed["applied_at_sample"].get<long>() - first);
    ok("set_latency", {{"seconds", 0}});
    // In the past: applied at the next block, and it says how late.
    const json past = ok("play_note", {{"track", "click"}, {"note", 60}, {"at", {{"sample", 10}}}});
    EXPECT_GT(past["late_by_samples"].get<long>(), 1000);
    EXPECT_EQ(past["applied_at_sample"].get<long>() - past["late_by_samples"].get<long>(), 10);
    const json synced = ok("sync");
    EXPECT_GT(synced["synced_at_sample"].get<long>(), std::llround(beat * 22050.0));
    const json stop = ok("record_stop");
    auto onsets = nonSilentFrames(dir / "data/rest.wav");
    // The past note sounds too, at its applied sample (before or after the others).
    expected.push_back(past["applied_at_sample"].get<long>() - first);
    // On a loaded machine the engine can move past the latency note's sample before the past note
    // arrives; both then land on the same block start and sound as one impulse there.
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    EXPECT_EQ(onsets, expected) << stop.dump();
    const json st = ok("status");
    EXPECT_EQ(st["late_commands"], 0);
    EXPECT_EQ(st["sample_rate"], 44100.0);
    EXPECT_EQ(st["running"], true);
    for (const char* k : {"cpu_load", "xruns", "voices", "block_size", "latency_samples", "bpm", "beat"}) EXPECT_TRUE(st.contains(k)) << k;
}

TEST_F(Serve, OscsendDrivesNotesAndParameters) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    ok("record_start", {{"file", "osc.wav"}});
    const std::string to = "oscsend localhost " + std::to_string(server->oscPort) + " ";
    ASSERT_EQ(runCommand(to + "/soundstar/play_note sfff click 60 1.0 0.05").code, 0);
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(runCommand(to + "/soundstar/set_param ssf click gain -40").code, 0);
    ASSERT_EQ(runCommand(to + "/soundstar/play_note sfff click 60 1.0 0.05").code, 0);
    const json synced = osc("sync", {});  // answered over OSC once the note has been applied
    EXPECT_TRUE(synced["result"].contains("synced_at_sample")) << synced.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ok("record_stop");
    const auto onsets = nonSilentFrames(dir / "data/osc.wav");
    ASSERT_EQ(onsets.size(), 2u);
    const auto raw = readText(dir / "rec.f32");
    float a = 0, b = 0;
    std::memcpy(&a, raw.data() + onsets[0] * 8, 4);
    std::memcpy(&b, raw.data() + onsets[1] * 8, 4);
    EXPECT_NEAR(20.0 * std::log10(std::abs(b) / std::abs(a)), -40.0, 0.1);  // the parameter change is heard
}

TEST_F(Serve, LiveSessionStartsSteersAndStops) {
    start();
    ok("record_start", {{"file", "live.wav"}});
    const json started = ok("live_start", {{"vibe", "energetic techno with drums"}, {"seed", 3}});
    EXPECT_EQ(started["vibe"], "energetic techno with drums");
    EXPECT_EQ(started["track"], "live");
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["instrument"], "live");  // it plays through the studio's mixer
    const json steered = ok("live_steer", {{"line", "+bright"}});
    EXPECT_EQ(steered["changed"], true);
    EXPECT_GT(steered["starts_at_sample"].get<long>(), steered["live_sample"].get<long>());
    const json byJson = ok("live_steer", {{"line", {{"at", "phrase"}, {"vibe", "dark techno"}}}});
    EXPECT_EQ(byJson["changed"], true);
    const auto bad = post("live_steer", {{"line", "brightness sideways"}});
    EXPECT_EQ(bad.status, 400) << bad.raw;
    EXPECT_EQ(post("live_start", {{"vibe", "second"}}).status, 429);
    EXPECT_EQ(post("free_track", {{"track", "live"}}).status, 409);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const json live = ok("live_status")["live"];
    EXPECT_GT(live["sample"].get<long>(), 44100);
    EXPECT_EQ(live["late_commands"], 0);
    ok("set_mix", {{"target", "live"}, {"gain_db", -6}});  // the mixer reaches it like any track
    EXPECT_GT(ok("live_stop")["stops_at_sample"].get<long>(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_TRUE(ok("live_status")["live"].is_null());
    EXPECT_TRUE(ok("list_tracks")["tracks"].empty());
    ok("record_stop");
    // What the session played is in the studio's recording.
    EXPECT_GT(soxStats(dir / "data/live.wav").rmsDb, -50.0);
}

TEST_F(Serve, RenderJobsWriteFilesUnderData) {
    start();
    const json job = ok("render_start", {{"prompt", "warm sunset over water"}, {"file", "sunset.wav"}, {"duration", 2}, {"seed", 1}});
    json st;
    for (int i = 0; i < 600; ++i) {
        st = ok("render_status", {{"job", job["job"]}});
        if (st["state"] == "done" || st["state"] == "failed") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(st["state"], "done") << st.dump();
    EXPECT_EQ(st["progress"], 1.0);
    const auto info = soxInfo(dir / "data/sunset.wav");
    EXPECT_EQ(info.sampleRate, 44100.0);
    EXPECT_GE(info.frames, 2 * 44100);
    // Downloaded over HTTP, byte for byte.
    const auto got = runCommand("curl -s -o '" + (dir / "down.wav") + "' -w '%{http_code} %{content_type}' " + server->base + "/v1/files/sunset.wav");
    EXPECT_EQ(got.output, "200 audio/wav");
    EXPECT_EQ(readText(dir / "down.wav"), readText(dir / "data/sunset.wav"));
    EXPECT_EQ(curl("GET", server->base + "/v1/files/nothing.wav").status, 404);
    EXPECT_EQ(curl("GET", server->base + "/v1/files/%2E%2E/err.txt").status, 403);
    EXPECT_EQ(post("render_cancel", {{"job", job["job"]}}).status, 409);  // done already
    // A job behind a long one waits in the queue, where it can be cancelled.
    ok("render_start", {{"prompt", "long ambient drone"}, {"file", "long.wav"}, {"duration", 120}});
    const json queued = ok("render_start", {{"prompt", "never"}, {"file", "never.wav"}, {"duration", 5}});
    EXPECT_EQ(ok("render_cancel", {{"job", queued["job"]}})["state"], "cancelled");
    EXPECT_EQ(ok("render_status", {{"job", queued["job"]}})["state"], "cancelled");
    // A running one stops at its next progress report, and leaves no file.
    const json running = ok("render_start", {{"prompt", "a long evening"}, {"file", "evening.wav"}, {"duration", 600}});
    json state;
    for (int i = 0; i < 600; ++i) {
        state = ok("render_status", {{"job", running["job"]}});
        if (state["state"] == "running") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(state["state"], "running") << state.dump();
    EXPECT_EQ(ok("render_cancel", {{"job", running["job"]}})["state"], "cancelling");
    for (int i = 0; i < 600; ++i) {
        state = ok("render_status", {{"job", running["job"]}});
        if (state["state"] != "running") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(state["state"], "cancelled") << state.dump();
    EXPECT_FALSE(std::filesystem::exists(dir / "data/evening.wav"));
    EXPECT_EQ(post("render_start", {{"prompt", "x"}, {"file", "x.txt"}}).status, 400);
    EXPECT_EQ(post("render_status", {{"job", 999}}).status, 404);
}

TEST_F(Serve, OpenApiDocumentLintsCleanUnderRedocly) {
    start();
    const auto doc = curl("GET", server->base + "/openapi.json");
    ASSERT_EQ(doc.status, 200);
    std::ofstream(dir / "openapi.json") << doc.raw;
    const char* home = std::getenv("HOME");
    const std::string cache = std::getenv("SOUNDSTAR_CACHE") ? std::getenv("SOUNDSTAR_CACHE") : std::string(home ? home : "/tmp") + "/.cache/soundstar";
    const std::string redocly = cache + "/redocly/node_modules/.bin/redocly";
    if (!std::filesystem::exists(redocly)) {
        const auto inst = runCommand("mkdir -p '" + cache + "/redocly' && cd '" + cache +
                                     "/redocly' && npm install --no-save --ignore-scripts --no-audit --no-fund @redocly/cli@2.77.0");
        if (inst.code != 0) GTEST_SKIP() << "@redocly/cli does not install from npm here: " << inst.output.substr(inst.output.size() > 1500 ? inst.output.size() - 1500 : 0);
    }
    const auto lint = runCommand("cd '" + (dir / "") + "' && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true '" + redocly + "' lint --format=stylish openapi.json");
    EXPECT_EQ(lint.code, 0) << lint.output;
    const std::string report = lint.output.substr(std::min(lint.output.size(), lint.output.find("validating openapi.json")));
    EXPECT_NE(report.find("Your API description is valid"), std::string::npos) << lint.output;
    EXPECT_EQ(report.find("warning"), std::string::npos) << lint.output;  // the recommended rules, warnings included
}

TEST_F(Serve, SigtermStopsCleanlyAndKeepsTheRecording) {
    start();
    ok("record_start", {{"file", "kept.wav"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(server->signalAndWait(SIGTERM, 5.0), 0);
    EXPECT_NE(readText(dir / "err.txt").find("stopped cleanly"), std::string::npos) << readText(dir / "err.txt");
    const auto info = soxInfo(dir / "data/kept.wav");
    EXPECT_EQ(info.channels, 2);
    EXPECT_GT(info.frames, 4410);
}

TEST_F(Serve, WebSocketSubscribersGetTransportMetersAndEvents) {
    start();
    const std::string script =
        "import json,sys,time,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "def post(op,args):\n"
        "    urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST')).read()\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
        "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['transport','meters','events'],'rate_hz':30}}))\n"
        "out=[json.loads(ws.recv())]\n"
        "post('create_track',{'name':'pad','preset':'pad_warm'})\n"
        "post('play_note',{'track':'pad','note':60,'velocity':1,'duration':0.5})\n"
        "end=time.time()+1.0\n"
        "while time.time()<end: out.append(json.loads(ws.recv()))\n"
        "ws.send(json.dumps({'id':2,'op':'unsubscribe'}))\n"
        "print(json.dumps(out))\n";
    std::ofstream(dir / "sub.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "sub.py") + "' " + server->base);
    ASSERT_EQ(r.code, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got[0]["id"], 1);
    EXPECT_EQ(got[0]["result"]["rate_hz"], 30.0);
    std::vector<long> samples;
    float loudest = 0.0f;
    bool created = false;
    for (const auto& m : got) {
        if (m.value("stream", "") == "transport") samples.push_back(m["data"]["sample"]);
        if (m.value("stream", "") == "meters") loudest = std::max(loudest, m["data"]["peak_left"].get<float>());
        if (m.value("stream", "") == "events" && m["data"]["type"] == "track_created" && m["data"]["track"] == "pad") created = true;
    }
    // 30 a second of engine time, about 1 s of it (the note's 0.5 s is heard on the meters).
    EXPECT_GE(samples.size(), 24u);
    EXPECT_LE(samples.size(), 36u);
    for (std::size_t i = 1; i < samples.size(); ++i) EXPECT_GE(samples[i] - samples[i - 1], 1470 - 256) << i;
    EXPECT_GT(loudest, 0.01f);
    EXPECT_TRUE(created);
    // Subscriptions are a WebSocket thing: REST says why not.
    const auto rest = post("subscribe", {{"streams", {"meters"}}});
    EXPECT_EQ(rest.status, 409);
    EXPECT_NE(rest.raw.find("WebSocket"), std::string::npos);
}

TEST_F(Serve, ConnectionsAreBoundedAndTheLimitIsNamed) {
    start();
    // 256 idle connections take every slot; the 257th is answered 503 naming the limit, and once
    // they close the server answers again.
    const std::string script =
        "import socket,sys\n"
        "port=int(sys.argv[1])\n"
        "held=[socket.create_connection(('127.0.0.1',port)) for _ in range(256)]\n"
        "import time; time.sleep(0.3)\n"
        "s=socket.create_connection(('127.0.0.1',port)); s.settimeout(5)\n"
        "s.sendall(b'GET /v1/health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
        "print(s.recv(4096).decode(errors='replace'))\n"
        "for h in held: h.close()\n";
    std::ofstream(dir / "conns.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "conns.py") + "' " + std::to_string(server->port));
    EXPECT_NE(r.output.find("503"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("at most 256"), std::string::npos) << r.output;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(curl("GET", server->base + "/v1/health").status, 200);
}

TEST_F(Serve, BeatTimedNotesStayOnTheirBeatsThroughATempoChange) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    const long first = ok("record_start", {{"file", "tempo.wav"}})["first_sample"];
    const double next = std::ceil(ok("status")["beat"].get<double>()) + 1.0;
    const double beat = next + 3.0;
    // At 120 bpm and 44.1 kHz a beat is 22050 samples.
    const json note = ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", {{"beat", beat}}}});
    EXPECT_EQ(note["applied_at_sample"], std::llround(beat * 22050.0));
    // Twice as fast from the next beat on: the note (on and off) moves with its beat.
    const json tempo = ok("set_tempo", {{"bpm", 240}, {"at", {{"beat", next}}}});
    EXPECT_EQ(tempo["applied_at_sample"], std::llround(next * 22050.0));
    EXPECT_EQ(tempo["moved_commands"], 2);
    const long expected = std::llround(next * 22050.0) + 3 * 11025;
    EXPECT_EQ(ok("status")["bpm"], 120.0);  // not yet
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(ok("status")["bpm"], 240.0);
    ok("record_stop");
    EXPECT_EQ(nonSilentFrames(dir / "data/tempo.wav"), std::vector<long>{expected - first});
}

// A tempo ramp on the transport (120 -> 240 bpm over 8 beats, linear in beats as the live
// session's TempoMap): notes asked for on beats before the ramp was set move with it, and every
// onset in the recording falls where the integral of 60/bpm over the beats puts it.
TEST_F(Serve, BeatTimedNotesStayOnTheirBeatsThroughATempoRamp) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    const long first = ok("record_start", {{"file", "ramp.wav"}})["first_sample"];
    const double next = std::ceil(ok("status")["beat"].get<double>()) + 1.0;
    const auto note = [&](double beat) { ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", {{"beat", beat}}}}); };
    const std::vector<double> beats = {next + 1.0, next + 2.5, next + 5.0, next + 8.0, next + 10.0};
    for (const double b : beats) note(b);
    const json tempo = ok("set_tempo", {{"bpm", 240}, {"ramp_bars", 2}, {"at", {{"beat", next}}}});
    EXPECT_EQ(tempo["ramp_beats"], 8.0);
    EXPECT_EQ(tempo["moved_commands"], 10);  // each note's on and off
    note(next + 6.0);                        // asked for inside the ramp, after it was set
    EXPECT_EQ(post("set_tempo", {{"bpm", 100}, {"ramp_beats", 4}, {"ramp_bars", 1}}).status, 400);
    EXPECT_EQ(post("set_tempo", {{"bpm", 100}, {"ramp_beats", 5000}}).status, 400);
    // The expected samples, independently: 120 bpm up to `next` (22050 samples a beat), then
    // seconds = the integral of 60 / bpm(beat), bpm rising linearly from 120 to 240 over 8 beats.
    const auto expected = [&](double beat) {
        const auto bpm = [&](double x) { return x < next + 8.0 ? 120.0 + 15.0 * (x - next) : 240.0; };
        const int n = 20000;  // Simpson's rule
        const double h = (beat - next) / n;
        double sum = 60.0 / bpm(next) + 60.0 / bpm(beat);
        for (int i = 1; i < n; ++i) sum += (i % 2 ? 4.0 : 2.0) * 60.0 / bpm(next + i * h);
        return std::llround(next * 22050.0 + sum * h / 3.0 * 44100.0);
    };
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(ok("status")["bpm"], 240.0);
    ok("record_stop");
    const auto onsets = nonSilentFrames(dir / "data/ramp.wav");
    std::vector<double> all = beats;
    all.insert(all.begin() + 3, next + 6.0);
    ASSERT_EQ(onsets.size(), all.size());
    for (std::size_t i = 0; i < all.size(); ++i)
        EXPECT_NEAR(static_cast<double>(onsets[i] + first), static_cast<double>(expected(all[i])), 1.0) << "beat " << all[i] - next << " after the ramp's start";
    // Not where a sudden 240 bpm would have put them: the ramp is heard.
    EXPECT_GT(std::abs(static_cast<double>(onsets[2] + first) - (next * 22050.0 + 5.0 * 11025.0)), 10000.0);
}

// The master chain through the table: a low-pass inserted on the master takes the highs out of
// what plays (sox measures bands of the recording), removed they come back; slots and effect
// types that do not exist are refused naming what does.
TEST_F(Serve, MasterChainEffectsAreInsertedMovedAndRemovedWhileMusicPlays) {
    start();
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 -b 16 '" + (dir / "data/noise.wav") + "' synth 4 whitenoise vol 0.3").code, 0);
    ok("create_track", {{"name", "noise"}, {"instrument", "sampler"}, {"options", {{"sample", "noise.wav"}}}});
    const long first = ok("record_start", {{"file", "master.wav"}})["first_sample"];
    const long base = ok("status")["sample"].get<long>() + 8820;
    ok("play_note", {{"track", "noise"}, {"note", 60}, {"velocity", 1}, {"duration", 3.5}, {"at", {{"sample", base}}}});
    const json in = ok("insert_effect", {{"track", "master"}, {"type", "filter"}, {"params", {{"mode", 0}, {"cutoff", 500}}}, {"at", {{"sample", base + 44100}}}});
    EXPECT_EQ(in["effects"], json({"filter"}));
    EXPECT_EQ(in["chain_at_sample"], base + 44100 + 220);  // after a 5 ms dip
    // Bad names and slots: 4xx naming what exists, and nothing changes.
    auto r = post("insert_effect", {{"track", "master"}, {"type", "lowpass"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("known: eq"), std::string::npos) << r.raw;
    r = post("remove_effect", {{"track", "master"}, {"effect", 3}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("its chain: 0 filter"), std::string::npos) << r.raw;
    r = post("set_param", {{"track", "master"}, {"effect", 0}, {"name", "cutof"}, {"value", 100}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("cutoff"), std::string::npos) << r.raw;
    r = post("set_param", {{"track", "master"}, {"name", "cutoff"}, {"value", 100}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("0 filter"), std::string::npos) << r.raw;
    EXPECT_EQ(post("insert_effect", {{"track", "nope"}, {"type", "filter"}}).status, 404);
    EXPECT_EQ(post("move_effect", {{"track", "reverb"}, {"effect", 0}, {"to", 1}}).status, 400);  // the reverb bus's chain has one effect
    EXPECT_EQ(post("move_effect", {{"track", "master"}, {"effect", 0}, {"to", 1}}).status, 400);
    r = post("insert_effect", {{"track", "master"}, {"type", "eq"}, {"position", 2}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("allowed 0..1"), std::string::npos) << r.raw;
    EXPECT_EQ(ok("list_tracks")["master"]["effects"], json::array({{{"type", "filter"}, {"params", {{"mode", 0}, {"cutoff", 500}}}}}));
    ok("remove_effect", {{"track", "master"}, {"effect", 0}, {"at", {{"sample", base + 88200}}}});
    while (ok("status")["sample"].get<long>() < base + 3 * 44100 + 4410) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ok("record_stop");
    // RMS of one band over 0.7 s windows: before, with and after the low-pass.
    const auto band = [&](long from, const std::string& filter) {
        const auto out = runCommand("sox '" + (dir / "data/master.wav") + "' -n trim " + std::to_string(from - first) + "s 30870s " + filter + " stats");
        return numberIn(out.output, R"(RMS lev dB\s+(-?[0-9.]+|-inf))");
    };
    const std::string highs = "highpass 5000 highpass 5000", lows = "lowpass 150 lowpass 150";
    const double highBefore = band(base + 8820, highs), highWith = band(base + 44100 + 8820, highs), highAfter = band(base + 88200 + 8820, highs);
    const double lowBefore = band(base + 8820, lows), lowWith = band(base + 44100 + 8820, lows);
    EXPECT_LT(highWith, highBefore - 30.0) << "the master low-pass at 500 Hz takes the highs out";
    EXPECT_NEAR(lowWith, lowBefore, 3.0) << "and leaves the lows";
    EXPECT_NEAR(highAfter, highBefore, 3.0) << "removed, the highs come back";
    // Move: the chain's order follows, and the moved slots take parameters and bypass.
    ok("insert_effect", {{"track", "master"}, {"type", "filter"}});
    ok("insert_effect", {{"track", "master"}, {"type", "width"}, {"params", {{"width", 1}}}});
    const json moved = ok("move_effect", {{"track", "master"}, {"effect", 1}, {"to", 0}});
    EXPECT_EQ(moved["effects"], json({"width", "filter"}));
    ok("set_param", {{"track", "master"}, {"effect", 1}, {"name", "cutoff"}, {"value", 8000}});
    ok("set_bypass", {{"track", "master"}, {"effect", 0}, {"bypass", true}});
    EXPECT_EQ(ok("list_tracks")["master"]["effects"][1]["params"]["cutoff"], 8000);
    ok("set_effects", {{"track", "master"}, {"effects", json::array()}});
    EXPECT_EQ(ok("list_tracks")["master"]["effects"], json::array());
}

TEST_F(Serve, EffectChainsChangeOnAPlayingTrackKeepingItsMix) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}, {"effects", {{{"type", "drive"}}}}});
    ok("set_mix", {{"target", "click"}, {"gain_db", -12}});
    ok("set_param", {{"track", "click"}, {"name", "gain"}, {"value", -6}});
    // A chain that is not allowed changes nothing.
    EXPECT_EQ(post("set_effects", {{"track", "click"}, {"effects", {{{"type", "warp"}}}}}).status, 400);
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["effects"], json({"drive"}));
    const json changed = ok("set_effects", {{"track", "click"}, {"effects", json::array()}});
    EXPECT_EQ(changed["effects"], json::array());
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["effects"], json::array());
    EXPECT_EQ(post("set_params", {{"track", "click"}, {"effect", 0}, {"params", {{"mix", 1}}}}).status, 400);  // no slot 0 now
    ok("record_start", {{"file", "fx.wav"}});
    ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}});
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ok("record_stop");
    const auto onsets = nonSilentFrames(dir / "data/fx.wav");
    ASSERT_EQ(onsets.size(), 1u);
    float level = 0;
    std::memcpy(&level, readText(dir / "rec.f32").data() + onsets[0] * 8, 4);
    // -12 dB fader and -6 dB sampler gain survive the rebuild: 32767/32768 * -18 dB, times the centre pan's left gain.
    const double db = 20.0 * std::log10(std::abs(level));
    EXPECT_LT(db, -18.0);
    EXPECT_GT(db, -21.1);
    // Presets bring their chain, which set_effects replaces whole.
    ok("create_track", {{"name", "keys"}, {"preset", "keys_fm_epiano"}});
    const json reshaped = ok("set_effects", {{"track", "keys"}, {"effects", {{{"type", "phaser"}}, {{"type", "delay"}, {"params", {{"mix", 0.2}}}}}}});
    EXPECT_EQ(reshaped["effects"], json({"phaser", "delay"}));
    ok("set_params", {{"track", "keys"}, {"effect", 1}, {"params", {{"mix", 0.3}}}});
}

// set_bypass on its sample: an all-wet 100 ms delay turns a click into its echo; bypassed, the
// click itself plays (and no echo); back in the chain, the echo again. A slot that does not
// exist and the master are refused by name.
TEST_F(Serve, ABypassedEffectPassesTheDrySignalAndComesBack) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}},
                        {"effects", {{{"type", "delay"}, {"params", {{"mode", 0}, {"time_left", 100}, {"time_right", 100}, {"feedback", 0}, {"mix", 1}}}}}}});
    const long first = ok("record_start", {{"file", "bypass.wav"}})["first_sample"];
    const long base = ok("status")["sample"].get<long>() + 22050;
    const auto note = [&](long at) { ok("play_note", {{"track", "click"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", {{"sample", at}}}}); };
    note(base);
    const json off = ok("set_bypass", {{"track", "click"}, {"effect", 0}, {"bypass", true}, {"at", {{"sample", base + 22050}}}});
    EXPECT_EQ(off["applied_at_sample"], base + 22050);
    note(base + 44100);
    ok("set_bypass", {{"track", "click"}, {"effect", 0}, {"bypass", false}, {"at", {{"sample", base + 66150}}}});
    note(base + 88200);
    EXPECT_EQ(post("set_bypass", {{"track", "click"}, {"effect", 1}, {"bypass", true}}).status, 400);
    EXPECT_NE(post("set_bypass", {{"track", "click"}, {"effect", 1}, {"bypass", true}}).raw.find("has 1 effect(s)"), std::string::npos);
    EXPECT_EQ(post("set_bypass", {{"track", "master"}, {"effect", 0}, {"bypass", true}}).status, 400);  // its chain is empty
    while (ok("status")["sample"].get<long>() < base + 88200 + 22050) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ok("record_stop");
    const auto frames = nonSilentFrames(dir / "data/bypass.wav");
    const auto inRange = [&](long from, long to) {
        return std::count_if(frames.begin(), frames.end(), [&](long f) { return f + first >= from && f + first < to; });
    };
    for (const long at : {base, base + 88200}) {
        EXPECT_EQ(inRange(at, at + 4400), 0) << "in the chain, the wet-only delay hides the click at " << at;
        EXPECT_GT(inRange(at + 4400, at + 4410 + 600), 0) << "and plays its echo 100 ms later";
    }
    EXPECT_EQ(inRange(base + 44100, base + 44101), 1) << "bypassed: the click itself, on its sample";
    EXPECT_EQ(inRange(base + 44101 + 64, base + 44100 + 22050), 0) << "and no echo";
}

TEST_F(Serve, AudioListenersGetExactlyWhatPlays) {
    start();
    writeImpulse("impulse.wav");
    ok("create_track", {{"name", "click"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    const long recordedFrom = ok("record_start", {{"file", "listen.wav"}})["first_sample"];
    const std::string script =
        "import json,sys,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "def post(op,args):\n"
        "    urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST')).read()\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
        "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['audio']}}))\n"
        "reply=json.loads(ws.recv())\n"
        "a=reply['result']['audio']['first_sample']\n"
        "for off in (5000,20000): post('play_note',{'track':'click','note':60,'velocity':1,'duration':0.01,'at':{'sample':a+off}})\n"
        "data=b''\n"
        "while len(data)<30*1024*8:\n"
        "    m=ws.recv()\n"
        "    assert isinstance(m,bytes), m\n"
        "    data+=m\n"
        "open(sys.argv[2],'wb').write(data)\n"
        "print(json.dumps(reply))\n";
    std::ofstream(dir / "listen.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "listen.py") + "' " + server->base + " '" + (dir / "stream.f32") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const json reply = json::parse(r.output);
    EXPECT_EQ(reply["result"]["audio"]["format"], "f32le");
    const long streamFrom = reply["result"]["audio"]["first_sample"];
    ok("sync");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ok("record_stop");
    const std::string stream = readText(dir / "stream.f32");
    ASSERT_GE(stream.size(), 30u * 1024 * 8);
    // The clicks are where they were asked for, in the stream's own frame count...
    std::vector<long> clicks;
    for (std::size_t i = 0; i + 8 <= stream.size(); i += 8) {
        float l = 0;
        std::memcpy(&l, stream.data() + i, 4);
        if (std::abs(l) > 1e-4f) clicks.push_back(static_cast<long>(i / 8));
    }
    EXPECT_EQ(clicks, (std::vector<long>{5000, 20000}));
    // ...and the stream is the recording, bit for bit, from the same sample on.
    nonSilentFrames(dir / "data/listen.wav");  // leaves the recording as raw floats in rec.f32
    const std::string recorded = readText(dir / "rec.f32");
    const std::size_t offset = static_cast<std::size_t>(streamFrom - recordedFrom) * 8;
    ASSERT_GE(recorded.size(), offset + stream.size());
    EXPECT_TRUE(recorded.compare(offset, stream.size(), stream) == 0);
}

TEST_F(Serve, AssistantWithoutAnLlmSteersWithTheInterpreter) {
    start();
    json r = ok("assistant", {{"text", "make it more energetic"}});
    EXPECT_EQ(r["source"], "interpreter");
    ASSERT_EQ(r["done"].size(), 1u) << r.dump();
    EXPECT_EQ(r["done"][0]["op"], "live_start");  // nothing played yet: the text starts the music
    EXPECT_NE(r["warnings"][0].get<std::string>().find("no LLM is configured"), std::string::npos);
    r = ok("assistant", {{"text", "darker and slower"}});
    ASSERT_EQ(r["done"].size(), 1u) << r.dump();
    EXPECT_EQ(r["done"][0]["op"], "live_steer");
    EXPECT_EQ(r["done"][0]["result"]["changed"], true);
    EXPECT_EQ(post("assistant", {{"text", ""}}).status, 400);
}

TEST_F(Serve, AssistantFallsBackWhenTheLlmIsDown) {
    start("--llm http://127.0.0.1:9/v1 --llm-model none --llm-timeout 2");
    const auto t0 = std::chrono::steady_clock::now();
    const json r = ok("assistant", {{"text", "calm piano"}});
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
    EXPECT_EQ(r["source"], "interpreter");
    EXPECT_NE(r["warnings"][0].get<std::string>().find("the LLM gave no answer"), std::string::npos) << r.dump();
    EXPECT_EQ(r["done"][0]["op"], "live_start");
    // The server kept answering while the LLM call was under way (it runs on its own thread).
    EXPECT_EQ(curl("GET", server->base + "/v1/health").status, 200);
}

// The assistant against a real llama.cpp llama-server (tests/llm/build-llama-server.sh builds it;
// scripts/test does) running the tiny random-weights model: its grammar-constrained answer is
// schema-valid JSON whose calls are mostly nonsense, so each is validated and applied or refused.
TEST_F(Serve, AssistantAppliesAnLlmsValidCallsAndRefusesTheRest) {
    const char* cache = std::getenv("SOUNDSTAR_CACHE");
    const char* home = std::getenv("HOME");
    const std::string llama = std::getenv("SOUNDSTAR_LLAMA_SERVER") ? std::getenv("SOUNDSTAR_LLAMA_SERVER")
                                                                    : (cache ? std::string(cache) : std::string(home ? home : "/root") + "/.cache/soundstar") + "/llama/bin/llama-server";
    if (!std::filesystem::exists(llama)) GTEST_SKIP() << "no llama-server: run tests/llm/build-llama-server.sh (scripts/test does)";
    ASSERT_EQ(runCommand(std::string(MAKE_TINY_GGUF) + " '" + (dir / "tiny.gguf") + "' 7").code, 0);
    int port = 0;
    std::string pid;
    for (int attempt = 0; attempt < 5 && port == 0; ++attempt) {
        const int p = 20000 + static_cast<int>((std::chrono::steady_clock::now().time_since_epoch().count() / 1000) % 20000);
        pid = runCommand(llama + " -m '" + (dir / "tiny.gguf") + "' --host 127.0.0.1 --port " + std::to_string(p) +
                         " -c 32768 -np 1 --no-jinja --chat-template llama2 > '" + (dir / "llama.log") + "' 2>&1 & echo $!").output;
        for (int i = 0; i < 300 && port == 0; ++i) {
            if (runCommand("curl -sf http://127.0.0.1:" + std::to_string(p) + "/health").code == 0) port = p;
            else std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (port == 0) runCommand("kill " + pid);
    }
    ASSERT_GT(port, 0) << readText(dir / "llama.log");
    start("--llm http://127.0.0.1:" + std::to_string(port) + "/v1 --llm-model tiny --llm-timeout 120");
    const json r = ok("assistant", {{"text", "add a bass track and play a low note"}});
    runCommand("kill " + pid);
    EXPECT_EQ(r["source"], "llm") << r.dump();
    // Without --jinja llama-server refuses `tools`; the server asked for a JSON answer instead.
    EXPECT_EQ(r["format"], "json");
    EXPECT_NE(r["warnings"].dump().find("refused tools"), std::string::npos) << r.dump();
    EXPECT_LE(r["done"].size() + r["refused"].size(), 8u);
    for (const auto& c : r["refused"]) {
        EXPECT_GE(c["status"].get<int>(), 400) << c.dump();
        EXPECT_LT(c["status"].get<int>(), 500) << c.dump();
        EXPECT_FALSE(c["error"].get<std::string>().empty());
    }
    // What was done is what the engine now holds; nothing refused left a trace.
    std::set<std::string> created;
    for (const auto& c : r["done"])
        if (c["op"] == "create_track") created.insert(c["args"]["name"].get<std::string>());
    for (const auto& t : ok("list_tracks")["tracks"]) EXPECT_TRUE(created.count(t["name"].get<std::string>())) << t.dump();
}

// The assistant's OpenAI tool-call path: the request carries the operation table as `tools`,
// and an answer with `tool_calls` (name + JSON arguments text) is validated call by call. Only
// the LLM is a stand-in (tests/llm/fake_tool_calls_server.py answers a fixed message); the
// server is the real one, and its state is read back afterwards.
TEST_F(Serve, AssistantAppliesOpenAiToolCallsAndRefusesBadOnesWithAReason) {
    const auto call = [](const std::string& name, const std::string& arguments) {
        return json{{"id", "call_" + name}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
    };
    const json message = {{"role", "assistant"},
                           {"content", "A bass, a note, a darker master."},
                           {"tool_calls",
                            {call("create_track", R"({"name": "bass", "preset": "bass_round"})"),
                             call("play_note", R"({"track": "bass", "note": 36, "duration": 0.2})"),
                             call("insert_effect", R"({"track": "master", "type": "filter", "params": {"cutoff": 800}})"),
                             call("set_tempo", R"({"bpm": 999})"),
                             call("explode", "{}"),
                             call("play_note", "{\"track\": \"bass\", \"note\": "),
                             call("set_mix", "[1, 2]")}}};
    {
        std::ofstream f(dir / "reply.json");
        f << message.dump();
    }
    const std::string pid = runCommand("/usr/bin/python3 " SOUNDSTAR_TESTS_DIR "/llm/fake_tool_calls_server.py '" + (dir / "reply.json") + "' '" +
                                       (dir / "port") + "' > '" + (dir / "fake.log") + "' 2>&1 & echo $!").output;
    for (int i = 0; i < 100 && readText(dir / "port").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string port = readText(dir / "port");
    ASSERT_FALSE(port.empty()) << readText(dir / "fake.log");
    start("--llm http://127.0.0.1:" + port + "/v1 --llm-model fake --llm-timeout 20");
    const json r = ok("assistant", {{"text", "add a bass and darken the mix"}});
    runCommand("kill " + pid);
    EXPECT_EQ(r["source"], "llm") << r.dump();
    EXPECT_EQ(r["format"], "tools");
    EXPECT_EQ(r["said"], "A bass, a note, a darker master.");
    std::vector<std::string> done, refused;
    for (const auto& c : r["done"]) done.push_back(c["op"]);
    EXPECT_EQ(done, (std::vector<std::string>{"create_track", "play_note", "insert_effect"})) << r.dump();
    std::map<std::string, std::string> why;
    for (const auto& c : r["refused"]) {
        EXPECT_GE(c["status"].get<int>(), 400) << c.dump();
        EXPECT_LT(c["status"].get<int>(), 500) << c.dump();
        why[c["op"].get<std::string>()] += c["error"].get<std::string>();
    }
    ASSERT_EQ(r["refused"].size(), 4u) << r.dump();
    EXPECT_NE(why["set_tempo"].find("400"), std::string::npos) << why["set_tempo"];  // the schema's maximum
    EXPECT_NE(why["explode"].find("explode"), std::string::npos) << why["explode"];
    EXPECT_NE(why["play_note"].find("arguments of tool call 'play_note'"), std::string::npos) << why["play_note"];
    EXPECT_NE(why["set_mix"].find("not a JSON object"), std::string::npos) << why["set_mix"];
    // The engine holds what was done, and only that.
    const json tracks = ok("list_tracks");
    ASSERT_EQ(tracks["tracks"].size(), 1u);
    EXPECT_EQ(tracks["tracks"][0]["name"], "bass");
    EXPECT_EQ(tracks["master"]["effects"][0]["type"], "filter");
    EXPECT_EQ(ok("status")["bpm"], 120.0);
    // What the server asked: the operations as OpenAI function tools, no JSON-answer format.
    const json request = json::parse(readText(dir / "request-1.json"));
    ASSERT_TRUE(request["tools"].is_array());
    std::set<std::string> names;
    for (const auto& t : request["tools"]) {
        EXPECT_EQ(t["type"], "function");
        EXPECT_EQ(t["function"]["parameters"]["type"], "object");
        names.insert(t["function"]["name"].get<std::string>());
    }
    for (const char* op : {"play_note", "insert_effect", "set_tempo", "live_steer", "set_mix"}) EXPECT_TRUE(names.count(op)) << op;
    EXPECT_FALSE(names.count("assistant"));
    // Only the operations chosen for the request are offered (not the whole table), and the reply says which.
    EXPECT_LE(names.size(), server::kMaxOfferedOps);
    EXPECT_LT(names.size(), curl("GET", server->base + "/v1/tools").body.size() / 2);
    EXPECT_FALSE(names.count("seq_set_clip")) << "the sequencer has nothing to do with this request";
    std::set<std::string> offered;
    for (const auto& o : r["offered"]) offered.insert(o.get<std::string>());
    EXPECT_EQ(offered, names);
    EXPECT_FALSE(request.contains("response_format"));
    EXPECT_EQ(request["tool_choice"], "auto");
    EXPECT_EQ(request["messages"][1]["content"], "add a bass and darken the mix");
}

TEST_F(Serve, RenderJobsReportProgressAndStatesAsEvents) {
    start();
    const std::string script =
        "import json,sys,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=60)\n"
        "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['events']}}))\n"
        "ws.recv()\n"
        "urllib.request.urlopen(urllib.request.Request(base+'/v1/render_start',data=json.dumps({'prompt':'slow river','file':'river.flac','duration':150}).encode(),method='POST')).read()\n"
        "out=[]\n"
        "while True:\n"
        "    m=json.loads(ws.recv())['data']\n"
        "    out.append(m)\n"
        "    if m['type']=='render' and m['state'] in ('done','failed'): break\n"
        "print(json.dumps(out))\n";
    std::ofstream(dir / "events.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "events.py") + "' " + server->base);
    ASSERT_EQ(r.code, 0) << r.output;
    const json events = json::parse(r.output);
    std::vector<std::string> states;
    std::vector<double> progress;
    for (const auto& e : events) {
        if (e["type"] == "render") states.push_back(e["state"]);
        if (e["type"] == "render_progress") progress.push_back(e["progress"]);
    }
    // States as the control thread sees them (a job the worker takes at once is never seen queued).
    ASSERT_GE(states.size(), 2u) << r.output;
    EXPECT_EQ(states[states.size() - 2], "running");
    EXPECT_EQ(states.back(), "done");
    EXPECT_GE(progress.size(), 3u) << r.output;  // a report every 10 s of audio, shown in tenths
    for (std::size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i], progress[i - 1]);
    EXPECT_EQ(soxInfo(dir / "data/river.flac").sampleRate, 44100.0);
}

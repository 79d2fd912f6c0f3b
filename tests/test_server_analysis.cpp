// Live analysis of `soundstar serve` (issue #16): the measures a subscription's `features` pick,
// on the real binary on loopback, played by sample tracks in real time and read back over the
// WebSocket (python3-websocket); the same files measured by independent tools: ffmpeg's ebur128
// (integrated loudness, true peak), aubio's onsets, the offline `soundstar analyze`.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "Cli.h"
#include "ServerClient.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;

namespace {

constexpr double kRate = 44100.0;  // the server's default rate

class LiveAnalysis : public ServerTest {
protected:
    /// Runs a plan over one WebSocket and returns everything that came back, in order. Steps:
    /// {"ws": {op, args}} sends a request and waits for its reply (stream messages met on the way
    /// are kept); {"post": [op, args]} calls over REST (kept as {"post": op, "reply": ...});
    /// {"wait": seconds} keeps the stream messages that come in that long.
    json drive(const json& plan) const {
        std::ofstream(dir / "plan.json") << plan.dump();
        const std::string script =
            "import json,sys,time,websocket,urllib.request,urllib.error\n"
            "base=sys.argv[1]\n"
            "plan=json.load(open(sys.argv[2]))\n"
            "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
            "out=[]\n"
            "def post(op,args):\n"
            "    try:\n"
            "        r=urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST'))\n"
            "    except urllib.error.HTTPError as e:\n"
            "        r=e\n"
            "    return json.loads(r.read())\n"
            "n=0\n"
            "for s in plan:\n"
            "    if 'ws' in s:\n"
            "        n+=1\n"
            "        m=dict(s['ws'])\n"
            "        m['id']=n\n"
            "        ws.settimeout(10)\n"
            "        ws.send(json.dumps(m))\n"
            "        while True:\n"
            "            r=json.loads(ws.recv())\n"
            "            out.append(r)\n"
            "            if r.get('id')==n: break\n"
            "    elif 'post' in s:\n"
            "        out.append({'post':s['post'][0],'reply':post(*s['post'])})\n"
            "    elif 'wait' in s:\n"
            "        end=time.time()+s['wait']\n"
            "        while time.time()<end:\n"
            "            ws.settimeout(max(0.01,end-time.time()))\n"
            "            try:\n"
            "                out.append(json.loads(ws.recv()))\n"
            "            except websocket.WebSocketTimeoutException:\n"
            "                break\n"
            "print(json.dumps(out))\n";
        std::ofstream(dir / "drive.py") << script;
        const auto r = runCommandSplit("timeout 30 /usr/bin/python3 '" + (dir / "drive.py") + "' " + server->base + " '" + (dir / "plan.json") + "'");
        EXPECT_EQ(r.code, 0) << r.err;
        return json::parse(r.out, nullptr, false);
    }
    static json ws(const std::string& op, const json& args) { return {{"ws", {{"op", op}, {"args", args}}}}; }
    static json postStep(const std::string& op, const json& args) { return {{"post", {op, args}}}; }
    static json wait(double seconds) { return {{"wait", seconds}}; }

    /// The reply to the n-th WebSocket request (1-based) and to the REST call `op` (the first).
    static json wsReply(const json& got, int n) {
        for (const auto& m : got)
            if (m.contains("id") && m["id"] == n) return m;
        return nullptr;
    }
    static json postReply(const json& got, const std::string& op) {
        for (const auto& m : got)
            if (m.value("post", "") == op) return m["reply"];
        return nullptr;
    }
    /// The analysis messages of one bus, in order.
    static std::vector<json> stream(const json& got, const std::string& bus) {
        std::vector<json> out;
        for (const auto& m : got)
            if (m.value("stream", "") == "analysis" && m["data"].value("bus", "") == bus) out.push_back(m["data"]);
        return out;
    }

    void sox(const std::string& args) const { ASSERT_EQ(runCommand("sox " + args).code, 0) << args; }
    std::string data(const std::string& name) const { return dir / ("data/" + name); }
    /// A stereo 32-bit float sine under data/.
    void sine(const std::string& name, double hz, double seconds, double db) const {
        sox(fmt::format("-n -r 44100 -c 2 -e floating-point -b 32 '{}' synth {} sine {} vol {}dB", data(name), seconds, hz, db));
    }
    void render(const std::string& name, const std::string& config, double seconds) const {
        std::ofstream(dir / (name + ".json")) << config;
        const auto r = runCommand(fmt::format("{} render --config '{}' -d {} -q -o '{}'", SOUNDSTAR_BIN, dir / (name + ".json"), seconds, data(name + ".wav")));
        ASSERT_EQ(r.code, 0) << r.output;
    }
    /// Loads data/NAME.wav as sample NAME and makes a sample track TRACK playing it.
    void track(const std::string& trackName, const std::string& sample) const {
        ok("sample_load", {{"name", sample}, {"file", sample + ".wav"}});
        ok("sample_track", {{"track", trackName}, {"zones", {{{"sample", sample}}}}});
    }
    /// The last value ffmpeg's ebur128 prints for `key` (lavfi.r128.I, .true_peaks_ch0, ...).
    static double ffmpegLast(const std::string& wav, const std::string& key) {
        const auto ff = runCommand("ffmpeg -hide_banner -nostats -i '" + wav + "' -af ebur128=peak=true:metadata=1,ametadata=mode=print -f null - 2>&1");
        const auto at = ff.output.rfind("lavfi.r128." + key + "=");
        EXPECT_NE(at, std::string::npos) << key << ": " << ff.output.substr(0, 500);
        return at == std::string::npos ? std::nan("") : std::stod(ff.output.substr(at + 12 + key.size()));
    }
};

double cents(double hz, double ref) { return 1200.0 * std::log2(hz / ref); }

// The issue's check: a 1 kHz sine at -12 dBFS, after 1.5 s of the same sine at -18 dBFS (with a
// 50 ms blip at -6 dBFS), played by a sample track; analysis_reset once the loud part plays. From
// then on the live integrated loudness and true peak are ffmpeg's on the loud sine alone; before,
// the quiet part pulls the integrated loudness well under and the blip sets the true peak; right
// after the reset the integrated loudness is null until 400 ms have come in.
TEST_F(LiveAnalysis, SineLoudnessTruePeakAndPitchMatchFfmpegAndResetRestarts) {
    startServer();
    sine("q1.wav", 1000, 0.5, -18);
    sine("blip.wav", 1000, 0.05, -6);  // whole cycles throughout: the joins are smooth
    sine("q2.wav", 1000, 0.95, -18);
    sine("sine.wav", 1000, 3.5, -12);
    sox(fmt::format("'{}' '{}' '{}' '{}' '{}'", data("q1.wav"), data("blip.wav"), data("q2.wav"), data("sine.wav"), data("seq.wav")));
    track("s", "seq");
    const json got = drive({ws("analysis_subscribe", {{"features", {"loudness", "true_peak", "pitch"}}, {"rate_hz", 10}}),
                            postStep("sample_play", {{"track", "s"}, {"sample", "seq"}}), wait(2.5), ws("analysis_reset", json::object()),
                            wait(2.5)});
    ASSERT_FALSE(got.is_discarded());
    const json sub = wsReply(got, 1);
    ASSERT_EQ(sub["result"]["features"], json({"loudness", "true_peak", "pitch"})) << sub.dump();
    const long from = postReply(got, "sample_play")["result"]["applied_at_sample"];
    const json reset = wsReply(got, 2);
    ASSERT_EQ(reset["result"]["reset"].size(), 1u) << reset.dump();
    EXPECT_EQ(reset["result"]["reset"][0]["bus"], "master");
    const long resetAt = reset["result"]["reset"][0]["from_sample"];
    const long loudFrom = from + static_cast<long>(1.5 * kRate), end = from + static_cast<long>(5.0 * kRate);
    ASSERT_GT(resetAt, loudFrom + static_cast<long>(0.5 * kRate)) << "the reset came before the loud part had played 0.5 s";
    ASSERT_LT(resetAt, end - static_cast<long>(1.5 * kRate)) << "the reset came too late to check";

    const double ffI = ffmpegLast(data("sine.wav"), "I");
    const double ffTp = 20.0 * std::log10(std::max(ffmpegLast(data("sine.wav"), "true_peaks_ch0"), ffmpegLast(data("sine.wav"), "true_peaks_ch1")));
    int before = 0, nulls = 0, after = 0, pitched = 0;
    json last;  // the last message checked against ffmpeg
    for (const auto& d : stream(got, "master")) {
        const long s = d["sample"];
        EXPECT_FALSE(d.contains("spectrum") || d.contains("rms_db") || d.contains("onsets")) << "not asked for: " << d.dump();
        ASSERT_TRUE(d.contains("integrated_lufs") && d.contains("true_peak_dbtp") && d.contains("pitch")) << d.dump();
        if (s - 8192 >= from && s <= end) {  // YIN's 8192 samples inside the tone
            ++pitched;
            EXPECT_NEAR(cents(d["pitch"]["hz"].get<double>(), 1000.0), 0.0, 1.0) << d["pitch"].dump();
            EXPECT_GT(d["pitch"]["confidence"].get<double>(), 0.9) << d["pitch"].dump();
        }
        if (s <= resetAt && s >= loudFrom + 17640) {  // quiet and loud blocks together
            ++before;
            EXPECT_LT(d["integrated_lufs"].get<double>(), ffI - 1.0) << "before the reset: " << d.dump();
            EXPECT_NEAR(d["true_peak_dbtp"].get<double>(), -6.0, 0.2) << "before the reset: " << d.dump();
        } else if (s > resetAt && s < resetAt + 17640) {  // under one 400 ms block since the reset
            ++nulls;
            EXPECT_TRUE(d["integrated_lufs"].is_null()) << d.dump();
        } else if (s >= resetAt + 17640 && s <= end) {
            ++after;
            last = d;
            EXPECT_NEAR(d["integrated_lufs"].get<double>(), ffI, 0.2) << d.dump();
            EXPECT_NEAR(d["true_peak_dbtp"].get<double>(), ffTp, 0.2) << d.dump();
        }
    }
    ASSERT_TRUE(last.is_object());
    std::printf("measured: integrated %.2f LUFS (ffmpeg %.2f), true peak %.2f dBTP (ffmpeg %.2f), pitch %.4f Hz conf %.2f\n",
                last["integrated_lufs"].get<double>(), ffI, last["true_peak_dbtp"].get<double>(), ffTp, last["pitch"]["hz"].get<double>(),
                last["pitch"]["confidence"].get<double>());
    EXPECT_GE(before, 3);
    EXPECT_GE(nulls, 2);
    EXPECT_GE(after, 8);
    EXPECT_GE(pitched, 30);
}

// A drum render played by a sample track: the live onsets (engine samples, each reported once)
// fall within 10 ms of aubio's on the same file, both ways, over the first 4.2 s played (aubio's
// mark at 0 s, the file's start, left out: a flux needs a frame before it).
TEST_F(LiveAnalysis, OnsetsOfADrumRenderAgreeWithAubio) {
    startServer();
    const auto r = runCommand(fmt::format("{} render 'minimal techno drums' --seed 7 -d 8 -q -o '{}'", SOUNDSTAR_BIN, data("drums.wav")));
    ASSERT_EQ(r.code, 0) << r.output;
    track("d", "drums");
    const json got = drive({ws("analysis_subscribe", {{"features", {"onsets"}}, {"rate_hz", 10}}), postStep("sample_play", {{"track", "d"}, {"sample", "drums"}}),
                            wait(4.6)});
    ASSERT_FALSE(got.is_discarded());
    const long from = postReply(got, "sample_play")["result"]["applied_at_sample"];
    std::vector<double> live;
    for (const auto& d : stream(got, "master"))
        for (const long s : d["onsets"].get<std::vector<long>>())
            if (static_cast<double>(s - from) / kRate <= 4.2) live.push_back(static_cast<double>(s - from) / kRate);
    ASSERT_TRUE(std::is_sorted(live.begin(), live.end()) && std::adjacent_find(live.begin(), live.end()) == live.end()) << ::testing::PrintToString(live);
    // aubio with the analyser's frame (1024) and hop (256), as the offline test does.
    std::istringstream in(runShell("aubio onset -B 1024 -H 256 -i '" + data("drums.wav") + "' 2>/dev/null").output);
    std::vector<double> aubio;
    for (double v; in >> v;)
        if (v > 0.0 && v <= 4.2) aubio.push_back(v);
    ASSERT_GT(aubio.size(), 15u);
    const auto matched = [](const std::vector<double>& a, const std::vector<double>& b) {
        std::size_t n = 0;
        for (double t : a) {
            double nearest = 1e9;
            for (double o : b) nearest = std::min(nearest, std::abs(o - t));
            n += nearest <= 0.010 ? 1 : 0;
        }
        return static_cast<double>(n) / static_cast<double>(std::max<std::size_t>(a.size(), 1));
    };
    std::printf("measured: %zu live onsets, %zu aubio's; %.2f of aubio's matched within 10 ms, %.2f of the live ones\n", live.size(), aubio.size(),
                matched(aubio, live), matched(live, aubio));
    EXPECT_GE(matched(aubio, live), 0.8) << "aubio " << ::testing::PrintToString(aubio) << "\nlive " << ::testing::PrintToString(live);
    EXPECT_GE(matched(live, aubio), 0.8) << "aubio " << ::testing::PrintToString(aubio) << "\nlive " << ::testing::PrintToString(live);
}

// Two Soundstar renders on two tracks, each analysed on its own bus: the tempo of a 120 bpm
// render within 2% (its beats on the render's grid), the key of an Eb major one.
TEST_F(LiveAnalysis, TempoAndKeyOfRendersMatchTheirConfigs) {
    startServer();
    render("tempo", R"({"bpm":120,"rhythm":"kit_medium","seed":3})", 8);
    render("key", R"({"root":"eb","mode":"major","rhythm":"none","density":4,"seed":5})", 8);
    track("t", "tempo");
    track("k", "key");
    const json got = drive({ws("analysis_subscribe", {{"bus", "t"}, {"features", {"tempo"}}, {"rate_hz", 2}}),
                            ws("analysis_subscribe", {{"bus", "k"}, {"features", {"key"}}, {"rate_hz", 2}}),
                            postStep("sample_play", {{"track", "t"}, {"sample", "tempo"}}), postStep("sample_play", {{"track", "k"}, {"sample", "key"}}),
                            wait(6.8)});
    ASSERT_FALSE(got.is_discarded());
    const long from = postReply(got, "sample_play")["result"]["applied_at_sample"];
    const auto t = stream(got, "t"), k = stream(got, "k");
    ASSERT_FALSE(t.empty() || k.empty());
    const json& tempo = t.back()["tempo"];
    ASSERT_FALSE(tempo["bpm"].is_null()) << tempo.dump();
    EXPECT_NEAR(tempo["bpm"].get<double>() / 120.0, 1.0, 0.02) << tempo.dump();
    EXPECT_GE(tempo["beats"].size(), 8u) << tempo.dump();
    std::printf("measured: %.2f bpm (confidence %.2f), key %s\n", tempo["bpm"].get<double>(), tempo["confidence"].get<double>(), k.back()["key"].dump().c_str());
    for (const long b : tempo["beats"].get<std::vector<long>>()) {  // on the 0.5 s grid from the play (a track's stamps: up to a block early)
        const double s = static_cast<double>(b - from) / kRate;
        EXPECT_LT(std::abs(s - std::round(s / 0.5) * 0.5), 0.03) << "beat at " << s << " s";
    }
    EXPECT_FALSE(t.back().contains("key") || k.back().contains("tempo"));
    ASSERT_TRUE(k.back()["key"].is_object()) << k.back().dump();
    EXPECT_EQ(k.back()["key"]["name"], "Eb major") << k.back().dump();
    // The offline analysis of the same file agrees.
    const auto offline = runCommandSplit(fmt::format("{} analyze --json '{}'", SOUNDSTAR_BIN, data("key.wav")));
    ASSERT_EQ(offline.code, 0) << offline.err;
    EXPECT_EQ(json::parse(offline.out)["key"]["name"], k.back()["key"]["name"]);
}

// Four tracks, each a sine of its own frequency (in YIN's 50-2000 Hz): two tapped first, then four at once, each bus
// holding only its own track (YIN pitch and the spectrum's peak; the others' lines far under).
// A fifth tap is refused naming the limit; freeing one lets the fifth in, hearing only its own
// track. An unknown feature is refused naming the allowed ones.
TEST_F(LiveAnalysis, UpToFourTracksTappedAtOnceEachHearingOnlyItself) {
    startServer();
    const std::map<std::string, double> hz = {{"a", 311}, {"b", 523}, {"c", 877}, {"d", 1249}, {"e", 1777}};
    for (const auto& [name, f] : hz) {
        sine(name + ".wav", f, 3, -12);
        track(name, name);
    }
    const json spec = {"spectrum", "pitch"};
    const auto sub = [&](const std::string& bus) { return ws("analysis_subscribe", {{"bus", bus}, {"features", spec}, {"rate_hz", 10}, {"fft_size", 4096}}); };
    json plan = {sub("a"), sub("b")};
    for (const auto& [name, f] : hz) plan.push_back(postStep("sample_play", {{"track", name}}));
    for (const json& s : {wait(0.8), sub("c"), sub("d"), wait(0.8), sub("e"), ws("analysis_unsubscribe", {{"bus", "d"}}), sub("e"), wait(0.8),
                          ws("analysis_subscribe", {{"features", {"loudness", "bpm"}}}), ws("analysis_subscribe", {{"features", json::array()}}),
                          ws("analysis_reset", {{"bus", "d"}})})
        plan.push_back(s);
    const json got = drive(plan);
    ASSERT_FALSE(got.is_discarded());
    // Requests 1-4 subscribe a, b, c, d; 5 is the fifth tap; 6 frees d; 7 subscribes e.
    for (int n : {1, 2, 3, 4, 6, 7}) EXPECT_TRUE(wsReply(got, n).contains("result")) << n << ": " << wsReply(got, n).dump();
    const json fifth = wsReply(got, 5);
    EXPECT_EQ(fifth["status"], 409) << fifth.dump();
    EXPECT_NE(fifth.value("error", "").find("at most 4 tracks"), std::string::npos) << fifth.dump();
    const json unknown = wsReply(got, 8);
    EXPECT_EQ(unknown["status"], 400) << unknown.dump();
    for (const std::string word : {"bpm", "true_peak", "onsets", "key"}) EXPECT_NE(unknown.value("error", "").find(word), std::string::npos) << unknown.dump();
    EXPECT_EQ(wsReply(got, 9)["status"], 400) << wsReply(got, 9).dump();  // an empty features list
    EXPECT_EQ(wsReply(got, 10)["status"], 404) << wsReply(got, 10).dump();  // no analysis of d any more

    const long from = postReply(got, "sample_play")["result"]["applied_at_sample"];
    const double binHz = kRate / 4096.0;
    for (const auto& [name, f] : hz) {
        int checked = 0;
        for (const auto& d : stream(got, name)) {
            const long s = d["sample"];
            if (s - 4096 - 256 < from + 4410 || s > from + 3 * 44100) continue;  // the window inside every tone (stamps up to a block early)
            ++checked;
            EXPECT_FALSE(d.contains("integrated_lufs") || d.contains("rms_db")) << d.dump();
            EXPECT_NEAR(cents(d["pitch"]["hz"].get<double>(), f), 0.0, 1.0) << name << ": " << d["pitch"].dump();
            EXPECT_NEAR(d["spectrum"]["peak_hz"].get<double>(), f, binHz) << name;
            for (const auto& [other, g] : hz)
                if (other != name) {
                    EXPECT_LT(d["spectrum"]["db"][static_cast<std::size_t>(std::lround(g / binHz))].get<double>(), -80.0) << name << " hears " << other;
                }
        }
        // a and b ran through all three stretches, c through two, d through one, e through the last.
        const int least = name == "a" || name == "b" ? 15 : name == "e" ? 4 : 6;
        EXPECT_GE(checked, least) << name;
    }
}

}  // namespace

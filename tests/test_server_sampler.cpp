// The sampler and analysis services of `soundstar serve` (issue #16), on the real binary on
// loopback: test audio made by python's wave module and sox, results read back with sox and the
// analysis library (onsets, YIN pitch).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "Cli.h"
#include "ServerClient.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;

namespace {

class Sampler : public ServerTest {
protected:
    void start(const std::string& extra = "") { startServer(extra); }
    void python(const std::string& code) const {
        std::ofstream(dir / "gen.py") << code;
        const auto r = runCommand("/usr/bin/python3 '" + (dir / "gen.py") + "' '" + (dir / "data") + "'");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    // A drum loop: 8 beats at 120 bpm (exactly 176400 frames at 44.1 kHz), a decaying noise
    // burst with a low thump on every beat, silence between.
    void writeDrumLoop(const std::string& name) const {
        python("import wave,struct,math,random,sys\nrandom.seed(7)\nsr=44100\nn=8*sr//2\nx=[0.0]*n\n"
               "for b in range(8):\n  s=b*sr//2\n  for i in range(int(0.12*sr)):\n"
               "    e=math.exp(-i/(0.02*sr))\n    x[s+i]=0.7*e*(random.uniform(-1,1)*0.6+0.4*math.sin(2*math.pi*90*i/sr))\n"
               "w=wave.open(sys.argv[1]+'/" + name + "','wb')\nw.setnchannels(1)\nw.setsampwidth(2)\nw.setframerate(sr)\n"
               "w.writeframes(b''.join(struct.pack('<h',int(v*32767)) for v in x))\nw.close()\n");
    }
    long soxFrames(const std::string& file) const {
        const auto r = runCommandSplit("soxi -s '" + file + "'");  // stderr may carry a header warning
        return r.code == 0 ? std::atol(r.out.c_str()) : -1;
    }
};

TEST_F(Sampler, DrumLoopStretchedToTheSessionTempoHasTheExactLengthAndOnsetsOnTheGrid) {
    start();
    writeDrumLoop("loop.wav");
    const json loaded = ok("sample_load", {{"name", "loop"}, {"file", "loop.wav"}, {"bpm", 120}});
    EXPECT_EQ(loaded["frames"], 176400);
    ok("set_tempo", {{"bpm", 100}});
    const json s = ok("sample_stretch", {{"name", "loop100"}, {"source", "loop"}, {"to_session_tempo", true}});
    // 8 beats at 100 bpm: 4.8 s, exactly 211680 frames.
    EXPECT_EQ(s["frames"], 211680);
    EXPECT_DOUBLE_EQ(s["bpm"].get<double>(), 100.0);
    ok("sample_save", {{"name", "loop100"}, {"file", "loop100.wav"}});
    EXPECT_EQ(soxFrames(dir / "data/loop100.wav"), 211680);  // read back by sox
    const json a = ok("analyze", {{"file", "loop100.wav"}});
    // The onset detector cannot see a hit at sample 0 (there is nothing before it: the unstretched
    // loop reads 7 onsets too), so beats 1..7 are checked: each found once, within 10 ms of 0.6 k s,
    // and nothing else (no doubled transients).
    EXPECT_EQ(ok("analyze", {{"file", "loop.wav"}})["onsets_s"].size(), 7u);
    const auto onsets = a["onsets_s"].get<std::vector<double>>();
    ASSERT_EQ(onsets.size(), 7u) << a["onsets_s"].dump();
    for (std::size_t k = 0; k < onsets.size(); ++k) EXPECT_NEAR(onsets[k], 0.6 * static_cast<double>(k + 1), 0.010) << "beat " << k + 1;
}

TEST_F(Sampler, PitchShiftUpThreeSemitonesMovesTheYinPitchByThreeSemitones) {
    start();
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 -b 16 '" + (dir / "data/tone.wav") + "' synth 2 sine 220 gain -6").code, 0);
    ok("sample_load", {{"name", "tone"}, {"file", "tone.wav"}});
    const json s = ok("sample_stretch", {{"name", "up3"}, {"source", "tone"}, {"semitones", 3}});
    EXPECT_EQ(s["frames"], 88200);  // same tempo: same length
    ok("sample_save", {{"name", "up3"}, {"file", "up3.wav"}});
    const double before = ok("analyze", {{"file", "tone.wav"}})["pitch"]["hz"];
    const double after = ok("analyze", {{"file", "up3.wav"}})["pitch"]["hz"];
    ASSERT_GT(before, 0.0);
    ASSERT_GT(after, 0.0);
    const double cents = 1200.0 * std::log2(after / before);
    EXPECT_NEAR(cents, 300.0, 10.0) << before << " -> " << after;
}

TEST_F(Sampler, LoadsOnlyFromUnderDataAndWithinTheMemoryBound) {
    start("--sample-memory-mb 1");
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 '" + (dir / "outside.wav") + "' synth 0.1 sine 440").code, 0);
    std::filesystem::create_symlink(dir / "outside.wav", dir / "data/link.wav");
    for (const std::string& bad : std::vector<std::string>{"../outside.wav", dir / "outside.wav", "link.wav", "a/../../outside.wav"}) {
        const auto r = post("sample_load", {{"name", "x"}, {"file", bad}});
        EXPECT_EQ(r.status, 403) << bad << ": " << r.raw;
        EXPECT_NE(r.raw.find("--data"), std::string::npos) << r.raw;
    }
    // 0.5 s of stereo at 44.1 kHz is 176 KiB: five fit in 1 MiB, 4 s (1.35 MiB) does not.
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 2 '" + (dir / "data/short.wav") + "' synth 0.5 sine 440").code, 0);
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 2 '" + (dir / "data/long.wav") + "' synth 4 sine 440").code, 0);
    ok("sample_load", {{"name", "short"}, {"file", "short.wav"}});
    const auto big = post("sample_load", {{"name", "long"}, {"file", "long.wav"}});
    EXPECT_EQ(big.status, 413) << big.raw;
    EXPECT_NE(big.raw.find("1.0 MiB"), std::string::npos) << big.raw;
    EXPECT_NE(big.raw.find("--sample-memory-mb"), std::string::npos) << big.raw;
    json list = ok("sample_list");
    ASSERT_EQ(list["samples"].size(), 1u);
    EXPECT_EQ(list["samples"][0]["frames"], 22050);
    EXPECT_EQ(list["max_bytes"], 1 << 20);
    ok("sample_free", {{"name", "short"}});
    EXPECT_EQ(ok("sample_list")["bytes"], 0);
    EXPECT_EQ(post("sample_free", {{"name", "short"}}).status, 404);
    EXPECT_EQ(post("sample_load", {{"name", "n"}, {"file", "missing.wav"}}).status, 400);
}

// The live-analysis check: a 1 kHz sine at -12 dBFS played by a sample track, analysed on
// the master bus and streamed over the WebSocket.
TEST_F(Sampler, LiveAnalysisOfASinePlayedThroughTheServer) {
    start();
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 -e floating-point -b 32 '" + (dir / "data/sine.wav") + "' synth 3 sine 1000 gain -12").code, 0);
    ok("sample_load", {{"name", "sine"}, {"file", "sine.wav"}});
    ok("sample_track", {{"track", "s"}, {"zones", {{{"sample", "sine"}}}}});
    const std::string script =
        "import json,sys,time,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "def post(op,args):\n"
        "    return json.loads(urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST')).read())\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
        "ws.send(json.dumps({'id':1,'op':'analysis_subscribe','args':{'rate_hz':10,'fft_size':4096}}))\n"
        "out=[json.loads(ws.recv())]\n"
        "out.append(post('sample_play',{'track':'s','sample':'sine'}))\n"
        "end=time.time()+2.8\n"
        "while time.time()<end: out.append(json.loads(ws.recv()))\n"
        "print(json.dumps(out))\n";
    std::ofstream(dir / "sub.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "sub.py") + "' " + server->base);
    ASSERT_EQ(r.code, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got[0]["result"]["fft_size"], 4096);
    const long from = got[1]["result"]["applied_at_sample"];
    int checked = 0;
    for (const auto& m : got) {
        if (m.value("stream", "") != "analysis") continue;
        const auto& d = m["data"];
        const long sample = d["sample"];
        // Messages whose RMS period (0.1 s) and FFT window (4096) lie inside the 3 s note.
        if (sample - 4410 < from || sample > from + 3 * 44100) continue;
        ++checked;
        EXPECT_NEAR(d["rms_db"].get<double>(), -15.0, 0.1) << d["sample"];
        EXPECT_NEAR(d["peak_db"].get<double>(), -12.0, 0.1);
        const auto& db = d["spectrum"]["db"];
        ASSERT_EQ(db.size(), 2048u);
        std::size_t peak = 0;
        for (std::size_t k = 1; k < db.size(); ++k)
            if (db[k].get<double>() > db[peak].get<double>()) peak = k;
        EXPECT_NEAR(static_cast<double>(peak), 1000.0 / (44100.0 / 4096.0), 1.0);
        if (sample - 17640 >= from) {
            EXPECT_NEAR(d["momentary_lufs"].get<double>(), -12.0, 0.3);  // BS.1770: K-weighting is ~+0.7 dB at 1 kHz
        }
    }
    EXPECT_GE(checked, 15);
}

// A track's own bus: with a 1 kHz sine on track a and a 3 kHz one on track b, b's analysis holds
// only the 3 kHz line; freeing b ends its stream with a message saying so.
TEST_F(Sampler, LiveAnalysisOfOneTrackHearsOnlyThatTrack) {
    start();
    for (const int hz : {1000, 3000})
        ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 -e floating-point -b 32 '" + (dir / "data/s" + std::to_string(hz) + ".wav") + "' synth 2 sine " +
                             std::to_string(hz) + " gain -12").code, 0);
    ok("sample_load", {{"name", "s1000"}, {"file", "s1000.wav"}});
    ok("sample_load", {{"name", "s3000"}, {"file", "s3000.wav"}});
    ok("sample_track", {{"track", "a"}, {"zones", {{{"sample", "s1000"}}}}});
    ok("sample_track", {{"track", "b"}, {"zones", {{{"sample", "s3000"}}}}});
    const std::string script =
        "import json,sys,time,websocket,urllib.request\n"
        "base=sys.argv[1]\n"
        "def post(op,args):\n"
        "    return json.loads(urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST')).read())\n"
        "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
        "ws.send(json.dumps({'id':1,'op':'analysis_subscribe','args':{'bus':'b','rate_hz':10,'fft_size':4096}}))\n"
        "out=[json.loads(ws.recv())]\n"
        "out.append(post('sample_play',{'track':'a'}))\n"
        "out.append(post('sample_play',{'track':'b'}))\n"
        "end=time.time()+1.5\n"
        "while time.time()<end: out.append(json.loads(ws.recv()))\n"
        "post('free_track',{'track':'b'})\n"
        "while 'ended' not in out[-1].get('data',{}): out.append(json.loads(ws.recv()))\n"
        "print(json.dumps(out))\n";
    std::ofstream(dir / "sub.py") << script;
    const auto r = runCommand("timeout 20 /usr/bin/python3 '" + (dir / "sub.py") + "' " + server->base);
    ASSERT_EQ(r.code, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got[0]["result"]["bus"], "b");
    const long from = got[2]["result"]["applied_at_sample"];
    int checked = 0;
    for (const auto& m : got) {
        if (m.value("stream", "") != "analysis" || !m["data"].contains("spectrum")) continue;
        const auto& d = m["data"];
        const long sample = d["sample"];
        if (sample - 4410 - 256 < from || sample > from + 2 * 44100) continue;  // up to a block early (setTrackTap)
        ++checked;
        EXPECT_NEAR(d["rms_db"].get<double>(), -15.0, 0.1);
        EXPECT_NEAR(d["spectrum"]["peak_bin"].get<double>(), 3000.0 / (44100.0 / 4096.0), 1.0);
        EXPECT_LT(d["spectrum"]["db"][93].get<double>(), -80.0);  // track a's 1 kHz is not on b's bus
    }
    EXPECT_GE(checked, 8);
    EXPECT_EQ(got.back()["data"]["ended"], "the track was freed");
}

TEST_F(Sampler, AnalyzeOpAnswersWhatTheCliPrints) {
    start();
    writeDrumLoop("loop.wav");
    json served = ok("analyze", {{"file", "loop.wav"}});
    const auto cli = runCommandSplit(std::string(SOUNDSTAR_BIN) + " analyze --json '" + (dir / "data/loop.wav") + "'");
    ASSERT_EQ(cli.code, 0) << cli.err;
    json printed = json::parse(cli.out);
    served.erase("file");
    printed.erase("file");
    EXPECT_EQ(served, printed);
    EXPECT_EQ(post("analyze", {{"file", "../etc/passwd"}}).status, 403);
    EXPECT_EQ(post("analyze", {{"file", "loop.wav"}, {"fft_size", 1000}}).status, 400);
    EXPECT_EQ(post("analysis_subscribe", json::object()).status, 409);  // REST cannot stream
}

}  // namespace

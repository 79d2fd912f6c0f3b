// The DJ on `soundstar serve`'s live track and the live layers' trims, for real: the binary on
// loopback (null device), driven by curl and python3-websocket; recordings read back with sox.
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

class ServeDj : public ::testing::Test {
protected:
    void start() {
        server = std::make_unique<ServeProcess>("--port 0 --device null --data '" + (dir / "data") + "'", dir / "err.txt");
        ASSERT_TRUE(server->up()) << readText(dir / "err.txt");
    }
    HttpResult post(const std::string& op, const json& args = json::object()) const { return curl("POST", server->base + "/v1/" + op, args.dump()); }
    json ok(const std::string& op, const json& args = json::object()) const {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, 200) << op << ": " << r.raw;
        return r.body.value("result", json());
    }
    /// Runs a python3 script (websocket client) with the server's base URL; its stdout as JSON.
    json script(const std::string& text) const {
        std::ofstream(dir / "s.py") << text;
        const auto r = runCommand("/usr/bin/python3 '" + (dir / "s.py") + "' " + server->base);
        EXPECT_EQ(r.code, 0) << r.output;
        return r.code == 0 ? json::parse(r.output) : json();
    }
    /// RMS (dB) of a recording from `frame` for `frames`, after `effect` (sox effects, e.g. "lowpass 100").
    double rmsDb(const std::string& wav, long frame, long frames, const std::string& effect, const std::string& channel = "") const {
        const auto r = runCommand("sox '" + wav + "' -n trim " + std::to_string(frame) + "s " + std::to_string(frames) + "s " + channel + " " + effect + " stats 2>&1");
        return numberIn(r.output, R"(RMS lev dB\s+(-?[0-9.]+|-inf))");
    }
    TempDir dir;
    std::unique_ptr<ServeProcess> server;
};

const char* kPost =
    "import json,sys,time,websocket,urllib.request,urllib.error\n"
    "base=sys.argv[1]\n"
    "def post(op,args):\n"
    "    return json.loads(urllib.request.urlopen(urllib.request.Request(base+'/v1/'+op,data=json.dumps(args).encode(),method='POST')).read())['result']\n";

}  // namespace

// dj_start plays a set on the live track; `drop` asked for mid-bar lands on the next bar line
// (its phase and layer events carry that sample, a whole number of bars from the set's start)
// and every DJ event reaches an events subscriber. Bad commands get a 400 naming the allowed ones.
TEST_F(ServeDj, DropLandsOnTheNextBarLineAndTheEventsAreStreamed) {
    start();
    const json got = script(std::string(kPost) +
                            "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
                            "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['events','transport'],'rate_hz':20}}))\n"
                            "ws.recv()\n"
                            "post('start',{})\n"
                            "started=post('dj_start',{'profile':'techno_minimal','seed':2})\n"
                            "time.sleep(0.5)\n"
                            "drop=post('dj_command',{'command':'drop'})\n"
                            "events=[]\n"
                            "end=time.time()+6\n"
                            "while time.time()<end:\n"
                            "    m=json.loads(ws.recv())\n"
                            "    if m.get('stream')=='events': events.append(m['data'])\n"
                            "    if m.get('stream')=='events' and m['data']['type']=='dj_phase' and m['data']['label'].startswith('drop'): end=min(end,time.time()+0.5)\n"
                            "print(json.dumps({'started':started,'drop':drop,'events':events}))\n");
    ASSERT_TRUE(got.is_object());
    const json& dj = got["started"]["dj"];
    EXPECT_EQ(dj["profile"], "techno_minimal");
    EXPECT_EQ(dj["phase"], "intro");
    const double bar = 240.0 / dj["bpm"].get<double>() * 44100.0;
    const json& drop = got["drop"];
    EXPECT_EQ(drop["kind"], "drop");
    const long at = drop["acts_at_live_sample"];
    EXPECT_GT(at, drop["live_sample"].get<long>()) << "the drop is ahead of the playhead";
    EXPECT_LE(static_cast<double>(at - drop["live_sample"].get<long>()), bar + 1.0) << "within a bar";
    bool commanded = false, phased = false, bassIn = false;
    for (const auto& e : got["events"]) {
        if (e["type"] == "dj_command" && e["kind"] == "drop") commanded = true;
        if (e["type"] == "dj_phase" && e["label"].get<std::string>().rfind("drop", 0) == 0) {
            phased = true;
            EXPECT_EQ(e["live_sample"].get<long>(), at);
            const double bars = static_cast<double>(at) / bar;
            EXPECT_GE(bars, 0.99);
            EXPECT_NEAR(static_cast<double>(at), std::round(bars) * bar, 1.0) << "on a bar line of the set";
            EXPECT_EQ(e["phase"], "drop");
        }
        if (e["type"] == "dj_layer_in" && e["label"].get<std::string>().rfind("bass", 0) == 0 && e["live_sample"] == at) bassIn = true;
    }
    EXPECT_TRUE(commanded) << got["events"].dump();
    EXPECT_TRUE(phased) << got["events"].dump();
    EXPECT_TRUE(bassIn) << "a drop brings everything in: " << got["events"].dump();
    EXPECT_EQ(ok("dj_status")["dj"]["phase"], "drop");

    // Refused, each naming what is allowed; the set plays on.
    for (const auto& [command, says] : std::vector<std::pair<std::string, std::string>>{
             {"z 5", "'z' is not a command"}, {"s flute", "'flute' is not a layer"}, {"y polka", "'polka' is not a DJ profile"}, {"say   ", "say needs something"}, {std::string("dr\0op", 5), "without control characters"}}) {
        const auto r = post("dj_command", {{"command", command}});
        EXPECT_EQ(r.status, 400) << command << ": " << r.raw;
        EXPECT_NE(r.raw.find(says), std::string::npos) << r.raw;
        EXPECT_NE(r.raw.find("allowed commands: next (or an empty line), drop, break, x (effect throw)"), std::string::npos) << r.raw;
    }
    EXPECT_EQ(post("dj_command", {{"command", std::string(2001, 'a')}}).status, 400);
    EXPECT_EQ(post("dj_start", {{"profile", "techno_minimal"}}).status, 409) << "one live session";
    EXPECT_EQ(post("live_steer", {{"line", "+bright"}}).status, 409) << "the DJ steers it";
    EXPECT_EQ(ok("dj_command", {{"command", "say hello"}})["kind"], "say");
    EXPECT_GT(ok("dj_stop")["stops_at_sample"].get<long>(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_TRUE(ok("dj_status")["dj"].is_null());
    EXPECT_EQ(post("dj_command", {{"command", "drop"}}).status, 409);
    const auto badProfile = post("dj_start", {{"profile", "polka"}});
    EXPECT_EQ(badProfile.status, 400);
    EXPECT_NE(badProfile.raw.find("allowed: classical"), std::string::npos) << badProfile.raw;
}

// `break` takes the rhythm and bass out on the next bar line: below 100 Hz the recording of the
// bar after it is far quieter than the last bar before it.
TEST_F(ServeDj, BreakTakesTheLowEndDown) {
    start();
    ok("start");
    const long first = ok("record_start", {{"file", "set.wav"}})["first_sample"];
    const json dj = ok("dj_start", {{"profile", "techno_minimal"}, {"seed", 2}})["dj"];
    const long origin = dj["started_at_sample"];
    const double bar = 240.0 / dj["bpm"].get<double>() * 44100.0;
    const long dropAt = ok("dj_command", {{"command", "drop"}})["acts_at_live_sample"];
    // Two bars into the drop (the playhead is about a bar past it), the break.
    while (ok("dj_status")["dj"]["live_sample"].get<long>() < dropAt + static_cast<long>(1.2 * bar)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const json brk = ok("dj_command", {{"command", "break"}});
    const long breakAt = brk["acts_at_live_sample"];
    EXPECT_NEAR(static_cast<double>(breakAt), std::round(static_cast<double>(breakAt) / bar) * bar, 1.0) << "on a bar line";
    while (ok("dj_status")["dj"]["live_sample"].get<long>() < breakAt + static_cast<long>(2.3 * bar)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(ok("dj_status")["dj"]["phase"], "breakdown");
    ok("record_stop");
    const auto frame = [&](double liveSample) { return static_cast<long>(liveSample) + origin - first; };
    const long barFrames = static_cast<long>(bar);
    const std::string wav = dir / "data/set.wav";
    const double before = rmsDb(wav, frame(static_cast<double>(breakAt) - bar), barFrames, "lowpass 100 lowpass 100");
    const double after = rmsDb(wav, frame(static_cast<double>(breakAt) + bar), barFrames, "lowpass 100 lowpass 100");
    std::cerr << "below 100 Hz: the bar before the break " << before << " dB, the bar after it " << after << " dB\n";
    EXPECT_GT(before, -40.0) << "the drop has a low end";
    EXPECT_LT(after, before - 12.0);
}

// live_mix's gain and pan trim a layer after the session's own mix: -12 dB on the drums reads
// about 12 dB lower on their meter (peaks over 2.5 s, against the mean of those before and after); with the drums soloed and panned hard left, the recording's
// right channel keeps only the returns (reverb, delay), far below the left.
TEST_F(ServeDj, ALiveLayersGainAndPanTrimIt) {
    start();
    const json got = script(std::string(kPost) +
                            "ws=websocket.create_connection(base.replace('http','ws')+'/v1/ws',timeout=10)\n"
                            "ws.send(json.dumps({'id':1,'op':'subscribe','args':{'streams':['meters'],'rate_hz':20}}))\n"
                            "ws.recv()\n"
                            "post('start',{})\n"
                            "post('live_start',{'vibe':'steady minimal techno with drums','seed':4})\n"
                            "def peak(seconds):\n"
                            "    best=-200\n"
                            "    end=time.time()+seconds\n"
                            "    while time.time()<end:\n"
                            "        m=json.loads(ws.recv())\n"
                            "        if m.get('stream')=='meters': best=max(best,m['data'].get('layers',{}).get('drums',-200))\n"
                            "    return best\n"
                            "peak(2.0)\n"
                            "plain=peak(2.5)\n"
                            "mix=post('live_mix',{'layer':'drums','gain_db':-12})\n"
                            "peak(0.3)\n"
                            "quiet=peak(2.5)\n"
                            "post('live_mix',{'layer':'drums','gain_db':0})\n"
                            "peak(0.3)\n"
                            "again=peak(2.5)\n"
                            "print(json.dumps({'plain':(plain+again)/2,'quiet':quiet,'mix':mix}))\n");
    ASSERT_TRUE(got.is_object());
    std::cerr << "drums' meter: " << got["plain"] << " dB, then " << got["quiet"] << " dB at -12 dB\n";
    EXPECT_EQ(got["mix"]["gain_db"], -12.0);
    EXPECT_GT(got["plain"].get<double>(), -40.0);
    EXPECT_NEAR(got["quiet"].get<double>() - got["plain"].get<double>(), -12.0, 2.5);

    ok("live_mix", {{"layer", "drums"}, {"solo", true}});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ok("record_start", {{"file", "centre.wav"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ok("record_stop");
    ok("live_mix", {{"layer", "drums"}, {"pan", -1}});
    EXPECT_EQ(ok("live_status")["live"]["layer_mix"]["drums"]["pan"], -1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the returns' tails of the centred drums die away
    ok("record_start", {{"file", "left.wav"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ok("record_stop");
    const std::string centre = dir / "data/centre.wav", left = dir / "data/left.wav";
    const double cl = rmsDb(centre, 0, 60000, "", "remix 1"), cr = rmsDb(centre, 0, 60000, "", "remix 2");
    const double ll = rmsDb(left, 0, 60000, "", "remix 1"), lr = rmsDb(left, 0, 60000, "", "remix 2");
    std::cerr << "soloed drums L/R: centred " << cl << " / " << cr << " dB, hard left " << ll << " / " << lr << " dB\n";
    EXPECT_NEAR(cl, cr, 3.0) << "centred";
    EXPECT_LT(lr, ll - 15.0) << "hard left: the right channel keeps only the returns";
    const auto bad = post("live_mix", {{"layer", "drums"}, {"pan", 2}});
    EXPECT_EQ(bad.status, 400) << bad.raw;
    EXPECT_EQ(post("live_mix", {{"layer", "tuba"}, {"gain_db", -3}}).status, 400);
}

// The server's parts on their own: the OSC codec (against liblo's oscsend and oscdump), the
// JSON Schema validator (against python3-jsonschema's decisions), the operation table's
// generated documents, the transport's tempo map, the scheduler's order and the key check.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "Cli.h"
#include "server/AssistantTools.h"
#include "server/Operations.h"
#include "server/Osc.h"
#include "server/Schema.h"
#include "server/Server.h"
#include "server/Timing.h"

using namespace soundstar;
using namespace soundstar::server;
using nlohmann::json;

namespace {

// A UDP socket on 127.0.0.1 with a free port.
struct Udp {
    int fd = -1;
    int port = 0;
    Udp() {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t n = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
        port = ntohs(a.sin_port);
        timeval tv{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Udp() { close(fd); }
    std::vector<std::uint8_t> receive() const {
        std::vector<std::uint8_t> buf(65536);
        const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return buf;
    }
    void sendTo(int toPort, const std::vector<std::uint8_t>& data) const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(toPort));
        sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
};

}  // namespace

TEST(Osc, ReadsWhatLiblosOscsendWrites) {
    Udp u;
    const auto r = test::runCommand("oscsend localhost " + std::to_string(u.port) + " /soundstar/play_note sifdTNh bass 60 0.5 0.25 4294967296");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto msgs = osc::decodePacket(u.receive());
    ASSERT_EQ(msgs.size(), 1u);
    const auto& m = msgs[0].message;
    EXPECT_EQ(m.address, "/soundstar/play_note");
    ASSERT_EQ(m.args.size(), 7u);
    EXPECT_EQ(std::get<std::string>(m.args[0]), "bass");
    EXPECT_EQ(std::get<std::int32_t>(m.args[1]), 60);
    EXPECT_FLOAT_EQ(std::get<float>(m.args[2]), 0.5f);
    EXPECT_DOUBLE_EQ(std::get<double>(m.args[3]), 0.25);
    EXPECT_TRUE(std::get<bool>(m.args[4]));
    EXPECT_TRUE(std::holds_alternative<std::monostate>(m.args[5]));
    EXPECT_EQ(std::get<std::int64_t>(m.args[6]), 4294967296LL);
    EXPECT_FALSE(msgs[0].time.has_value());
}

TEST(Osc, LiblosOscdumpReadsWhatWeWrite) {
    // oscdump must bind the port itself: a free one is found, closed and handed to it. Neither its
    // start-up time nor the port is certain on a loaded machine (a test running beside this one
    // may take the port first), so the packets are sent again every 100 ms until both show in its
    // dump (-L: a line at a time), and a port that never shows them is given up for another.
    const std::string reply = "/soundstar/reply sifdTh \"status\" 42 0.500000 2.250000 #T -7";
    const std::string bundled = "e8754700.80000000 /a s \"x\"";  // with the bundle's timetag
    const auto inner = osc::encodeMessage({"/a", {std::string("x")}});
    const auto message = osc::encodeMessage({"/soundstar/reply", {std::string("status"), std::int32_t{42}, 0.5f, 2.25, true, std::int64_t{-7}}});
    const auto bundle = osc::encodeBundle(osc::TimeTag{(3900000000ull << 32) | 0x80000000u}, {inner, inner});
    test::TempDir dir;
    std::string dump;
    const auto showsBoth = [&] { return dump.find(reply) != std::string::npos && dump.find(bundled) != std::string::npos; };
    for (int attempt = 0; attempt < 3; ++attempt) {
        int port;
        {
            Udp probe;
            port = probe.port;
        }
        const std::string out = dir / fmt::format("dump{}.txt", attempt), pid = dir / fmt::format("pid{}", attempt);
        test::runShell(fmt::format("timeout 20 oscdump -L {} > '{}' 2>&1 & echo $! > '{}'", port, out, pid));
        Udp u;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(6);
        while (std::chrono::steady_clock::now() < until) {
            u.sendTo(port, message);
            u.sendTo(port, bundle);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            dump = test::readText(out);
            if (showsBoth()) break;
        }
        test::runShell("kill $(cat '" + pid + "') 2>/dev/null");
        if (showsBoth()) break;
    }
    EXPECT_NE(dump.find(reply), std::string::npos) << dump;
    EXPECT_NE(dump.find(bundled), std::string::npos) << dump;
}

TEST(Osc, BundlesKeepTheirTimetagsAndTheOutermostAnchor) {
    const auto note = osc::encodeMessage({"/soundstar/play_note", {std::string("click"), std::int32_t{60}}});
    const osc::TimeTag anchor{100ull << 32}, later{(100ull << 32) + 97391};
    const auto packet = osc::encodeBundle(anchor, {note, osc::encodeBundle(later, {note, note})});
    const auto msgs = osc::decodePacket(packet);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].time->ntp, anchor.ntp);
    EXPECT_EQ(msgs[1].time->ntp, later.ntp);
    EXPECT_EQ(msgs[2].anchor->ntp, anchor.ntp);
    EXPECT_EQ(std::get<std::int32_t>(msgs[2].message.args[1]), 60);
}

TEST(Osc, MalformedPacketsAreRefusedWithAReason) {
    const auto good = osc::encodeMessage({"/x", {std::int32_t{1}, std::string("abc")}});
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
        std::vector<std::uint8_t> p(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        try {
            osc::decodePacket(p);
            if (cut % 4 == 0 && cut >= 4) continue;  // "/x" alone (no type tags) is a valid message
            ADD_FAILURE() << "a packet cut at " << cut << " bytes was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_LT(std::string(e.what()).size(), 2000u);
        }
    }
    auto badTag = osc::encodeMessage({"/x", {std::int32_t{1}}});
    badTag[5] = 'q';  // ",i" -> ",q"
    EXPECT_THROW(osc::decodePacket(badTag), std::invalid_argument);
    // Bundles nested past the limit.
    auto p = osc::encodeMessage({"/x", {}});
    for (int i = 0; i < osc::kMaxBundleDepth + 1; ++i) p = osc::encodeBundle({}, {p});
    try {
        osc::decodePacket(p);
        ADD_FAILURE() << "deep bundles accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("deeper than 8"), std::string::npos) << e.what();
    }
}

// ---- schemas ----

namespace {
OperationTable sampleTable() {
    OperationTable t;
    const auto echo = [](const json& a, const CallContext&, Done done) { done(Outcome{200, a, {}}); };
    const json schema = json::parse(R"({
      "type": "object",
      "properties": {
        "track": {"type": "string", "pattern": "^[a-z]{1,8}$", "maxLength": 8},
        "note": {"type": "number", "minimum": 0, "maximum": 127},
        "count": {"type": "integer", "minimum": 1},
        "mode": {"enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "at": {"oneOf": [{"type": "string", "enum": ["now"]},
                         {"type": "object", "properties": {"sample": {"type": "integer"}}, "required": ["sample"], "additionalProperties": false}]}
      },
      "required": ["track", "note"],
      "additionalProperties": false
    })");
    t.add({"play", "demo", "plays", schema, {"track", "note", "count"}, true, echo});
    return t;
}
}  // namespace

TEST(Schema, DecidesAsPythonJsonschemaDoes) {
    const auto t = sampleTable();
    const json schema = t.find("play")->input;
    const std::vector<json> values = {
        json::parse(R"({"track":"bass","note":60})"),
        json::parse(R"({"track":"bass","note":128})"),
        json::parse(R"({"track":"Bass","note":1})"),
        json::parse(R"({"track":"bass"})"),
        json::parse(R"({"track":"bass","note":"60"})"),
        json::parse(R"({"track":"bass","note":60,"extra":1})"),
        json::parse(R"({"track":"bass","note":60,"count":2.0})"),
        json::parse(R"({"track":"bass","note":60,"count":2.5})"),
        json::parse(R"({"track":"bass","note":60,"count":0})"),
        json::parse(R"({"track":"bass","note":60,"mode":"c"})"),
        json::parse(R"({"track":"bass","note":60,"tags":["a","b","c"]})"),
        json::parse(R"({"track":"bass","note":60,"tags":["a",1]})"),
        json::parse(R"({"track":"bass","note":60,"at":"now"})"),
        json::parse(R"({"track":"bass","note":60,"at":{"sample":5}})"),
        json::parse(R"({"track":"bass","note":60,"at":{"sample":5,"x":1}})"),
        json::parse(R"({"track":"bass","note":60,"at":"later"})"),
        json::parse(R"([1,2])"),
        json::parse(R"({"track":"toolongname","note":1})"),
    };
    test::TempDir dir;
    std::ofstream(dir / "cases.json") << json{{"schema", schema}, {"values", values}}.dump();
    const auto py = test::runCommand("/usr/bin/python3 -c \"import json,sys,jsonschema; d=json.load(open('" + (dir / "cases.json") +
                                     "')); v=jsonschema.Draft202012Validator(d['schema']); jsonschema.Draft202012Validator.check_schema(d['schema']); "
                                     "print(''.join('1' if v.is_valid(x) else '0' for x in d['values']))\"");
    ASSERT_EQ(py.code, 0) << py.output;
    std::string ours;
    for (const auto& v : values) {
        try {
            validateJson(schema, v);
            ours += '1';
        } catch (const std::invalid_argument& e) {
            ours += '0';
            EXPECT_LT(std::string(e.what()).size(), 2000u);
        }
    }
    EXPECT_EQ(ours + "\n", py.output);
}

TEST(Schema, ErrorsNameTheFieldAndWhatIsAllowed) {
    const auto t = sampleTable();
    Outcome got;
    t.call("play", json::parse(R"({"track":"bass","note":200})"), {}, [&](Outcome o) { got = o; });
    EXPECT_EQ(got.status, 400);
    EXPECT_NE(got.error.find("args.note"), std::string::npos) << got.error;
    EXPECT_NE(got.error.find("maximum 127"), std::string::npos) << got.error;
    t.call("play", json::parse(R"({"track":"bass","note":2,"volume":1})"), {}, [&](Outcome o) { got = o; });
    EXPECT_NE(got.error.find("unknown field 'volume'; allowed: at, count, mode, note, tags, track"), std::string::npos) << got.error;
    t.call("nope", json::object(), {}, [&](Outcome o) { got = o; });
    EXPECT_EQ(got.status, 404);
    EXPECT_NE(got.error.find("operations: play"), std::string::npos) << got.error;
}

TEST(Operations, OscArgumentsMapByPositionOrAsOneJsonObject) {
    const auto t = sampleTable();
    const Operation& op = *t.find("play");
    EXPECT_EQ(t.argsFromOsc(op, {std::string("bass"), 60.0f, std::int32_t{3}}), json::parse(R"({"track":"bass","note":60.0,"count":3})"));
    EXPECT_EQ(t.argsFromOsc(op, {std::string(R"({"track":"x","note":1})")}), json::parse(R"({"track":"x","note":1})"));
    EXPECT_THROW(t.argsFromOsc(op, {std::string("a"), 1, 2, 3}), std::invalid_argument);
}

TEST(Operations, ToolsAndOpenApiComeFromTheTable) {
    const auto t = sampleTable();
    const json tools = t.tools();
    ASSERT_EQ(tools.size(), 1u);
    EXPECT_EQ(tools[0]["type"], "function");
    EXPECT_EQ(tools[0]["function"]["name"], "play");
    EXPECT_EQ(tools[0]["function"]["parameters"], t.find("play")->input);
    const json doc = t.openApi("1.0");
    EXPECT_EQ(doc["openapi"], "3.1.0");
    EXPECT_EQ(doc["paths"]["/v1/play"]["post"]["requestBody"]["content"]["application/json"]["schema"], t.find("play")->input);
}

// ---- the assistant's choice of tools ----

namespace {
// A table shaped like the server's: the core operations plus 40 others in a few groups.
OperationTable assistantTable() {
    OperationTable t;
    const auto echo = [](const json& a, const CallContext&, Done done) { done(Outcome{200, a, {}}); };
    const json schema = {{"type", "object"}, {"properties", json::object()}};
    const auto add = [&](const std::string& name, const std::string& group, const std::string& summary) {
        t.add({name, group, summary, schema, {}, true, echo});
    };
    for (const char* core : {"status", "list_tracks", "live_steer", "live_start", "set_tempo", "set_mix", "play_note", "create_track", "insert_effect", "set_param"})
        add(core, "core", "a core operation");
    add("record_start", "recording", "Starts recording the master to a file under --data");
    add("record_stop", "recording", "Stops the recording");
    add("undo", "state", "Undoes the last change");
    add("sample_stretch", "sampler", "Time-stretches a loaded sample to the session tempo");
    add("assistant", "assistant", "Asks the LLM");
    add("subscribe", "events", "WebSocket only");
    for (int i = 0; i < 40; ++i) add(fmt::format("seq_op_{}", i), "sequencer", "Edits the arrangement's clips");
    return t;
}
bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

TEST(AssistantTools, OffersTheCoreAndWhatTheRequestIsAbout) {
    const auto t = assistantTable();
    const auto rec = chooseAssistantOps(t, "Record this to a file, please", nullptr);
    EXPECT_TRUE(has(rec, "record_start") && has(rec, "record_stop"));
    EXPECT_TRUE(has(rec, "play_note") && has(rec, "live_steer")) << "the core is always offered";
    EXPECT_FALSE(has(rec, "undo"));
    EXPECT_FALSE(has(rec, "seq_op_0"));
    EXPECT_FALSE(has(rec, "assistant") || has(rec, "subscribe"));
    EXPECT_TRUE(has(chooseAssistantOps(t, "undo that", nullptr), "undo"));
    EXPECT_TRUE(has(chooseAssistantOps(t, "change the pitch of my loop", nullptr), "sample_stretch")) << "through a synonym";
    // A request about a large group is cut to the limit, the core kept.
    const auto seq = chooseAssistantOps(t, "put some clips in the sequencer", nullptr);
    EXPECT_EQ(seq.size(), kMaxOfferedOps);
    EXPECT_TRUE(has(seq, "seq_op_0") && has(seq, "status"));
}

TEST(AssistantTools, TheCallerMayNameOperationsAndGroups) {
    const auto t = assistantTable();
    const auto named = chooseAssistantOps(t, "anything", json{"recording", "undo"});
    EXPECT_EQ(named, (std::vector<std::string>{"record_start", "record_stop", "undo"}));
    const auto error = [&](const json& ops) {
        try {
            chooseAssistantOps(t, "x", ops);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(error(json{"explode"}).find("'explode' is neither"), std::string::npos);
    EXPECT_NE(error(json{"explode"}).find("recording"), std::string::npos) << "the groups are listed";
    EXPECT_NE(error(json{"assistant"}).find("'assistant'"), std::string::npos) << "not an operation the assistant may call";
    EXPECT_NE(error(json{"sequencer"}).find("at most 24"), std::string::npos);
    EXPECT_NE(error(json(std::vector<std::string>(65, "undo"))).find("limit is 64"), std::string::npos);
}

// ---- timing ----

TEST(Transport, BeatsStayOnTheirSamplesThroughTempoChanges) {
    Transport tr(48000.0, 120.0);
    EXPECT_EQ(tr.sampleAtBeat(4.0), 96000);  // 120 bpm: a beat is 24000 samples
    tr.setTempo(60.0, 96000);
    EXPECT_EQ(tr.sampleAtBeat(4.0), 96000);
    EXPECT_EQ(tr.sampleAtBeat(5.0), 96000 + 48000);
    EXPECT_DOUBLE_EQ(tr.beatAt(96000 + 24000), 4.5);
    EXPECT_EQ(tr.sampleAtBeat(2.0), 48000);  // before the change: unchanged
    EXPECT_THROW(tr.setTempo(90.0, 1000), std::invalid_argument);
    EXPECT_THROW(tr.setTempo(500.0, 200000), std::invalid_argument);
}

// A ramp from beat 4: 120 -> 240 bpm over 8 beats, linear in beats (15 bpm a beat), so the 8
// beats take 60/15 * ln(240/120) seconds; a change inside the ramp cuts it where it has got to.
TEST(Transport, TempoRampsFollowTheIntegralOfTheirTempo) {
    Transport tr(48000.0, 120.0);
    tr.setTempo(240.0, 96000, 8.0);
    EXPECT_EQ(tr.sampleAtBeat(4.0), 96000);
    EXPECT_EQ(tr.sampleAtBeat(12.0), 96000 + std::llround(48000.0 * 4.0 * std::log(2.0)));
    EXPECT_EQ(tr.sampleAtBeat(14.0), tr.sampleAtBeat(12.0) + 24000);  // 240 bpm after the ramp
    EXPECT_NEAR(tr.bpmAt(tr.sampleAtBeat(8.0)), 180.0, 1e-3);  // within a sample of beat 8
    EXPECT_NEAR(tr.beatAt(tr.sampleAtBeat(9.5)), 9.5, 1e-4);
    const SampleTime six = tr.sampleAtBeat(6.0);
    tr.setTempo(100.0, six);
    EXPECT_EQ(tr.sampleAtBeat(6.0), six);
    EXPECT_NEAR(static_cast<double>(tr.sampleAtBeat(7.0)), static_cast<double>(six + 28800), 1.0);  // 100 bpm from there on (six is rounded)
    EXPECT_EQ(tr.sampleAtBeat(5.0), 96000 + std::llround(48000.0 * 4.0 * std::log(135.0 / 120.0)));  // the ramp's first beat kept
    EXPECT_THROW(tr.setTempo(100.0, six + 1, 5000.0), std::invalid_argument);
    EXPECT_THROW(tr.setTempo(100.0, six + 1, -1.0), std::invalid_argument);
}

// The tempo lane's planning: a change may replace ones planned after it (a stop holding the tempo
// there), and hundreds planned ahead (points 1/64 beat apart) keep the playhead's beats in place.
TEST(Transport, PlannedTempoChangesReplaceWhatCameAfterAndManyKeepThePast) {
    Transport tr(48000.0, 120.0);
    tr.planTempo(60.0, 8.0);
    tr.planTempo(240.0, 4.0, 4.0);  // before the last: replaces it
    EXPECT_EQ(tr.sampleAtBeat(4.0), 96000);
    EXPECT_NEAR(tr.bpmAtBeat(10.0), 240.0, 1e-9);
    tr.planTempo(std::nan(""), 6.0);  // holds the ramp where it has got to
    EXPECT_NEAR(tr.bpmAtBeat(9.0), 180.0, 1e-9);
    EXPECT_THROW(tr.planTempo(401.0, 9.0), std::invalid_argument);
    const SampleTime playhead = tr.sampleAtBeat(6.5);
    const double beat = tr.beatAt(playhead);
    for (int i = 0; i < 1000; ++i) tr.planTempo(i % 2 ? 90.0 : 150.0, 7.0 + i / 64.0);
    EXPECT_NEAR(tr.beatAt(playhead), beat, 1e-9) << "the playhead's segment is still there";
    EXPECT_EQ(tr.sampleAtBeat(6.5), playhead);
}

TEST(Scheduler, HandsCommandsOverInTimeOrderWithinTheLookahead) {
    Scheduler s(100);
    std::vector<SampleTime> posted;
    const auto rec = [&](SampleTime t) {
        posted.push_back(t);
        return true;
    };
    s.schedule(5000, rec);
    s.schedule(300, rec);
    s.schedule(50, rec);
    s.schedule(50, rec);
    s.pump(0);
    EXPECT_EQ(posted, (std::vector<SampleTime>{50, 50}));
    EXPECT_EQ(s.earliest(0, 64), 64);
    s.pump(250);
    EXPECT_EQ(posted, (std::vector<SampleTime>{50, 50, 300}));
    EXPECT_EQ(s.earliest(0, 64), 300);  // after what was handed over
    EXPECT_EQ(s.lastScheduled(), 5000);
    int refusals = 1;
    s.schedule(310, [&](SampleTime) { return refusals-- <= 0; });  // a full queue: kept for the next pump
    s.pump(250);
    EXPECT_EQ(s.pending(), 2u);
    s.pump(250);
    EXPECT_EQ(s.pending(), 1u);
}

TEST(Auth, BearerKeyMatchesOnlyExactly) {
    EXPECT_TRUE(bearerMatches("Bearer secret-key", "secret-key"));
    EXPECT_FALSE(bearerMatches("Bearer secret-kez", "secret-key"));
    EXPECT_FALSE(bearerMatches("Bearer secret-key2", "secret-key"));
    EXPECT_FALSE(bearerMatches("Bearer secret", "secret-key"));
    EXPECT_FALSE(bearerMatches("", "secret-key"));
    EXPECT_FALSE(bearerMatches("secret-key", "secret-key"));
}

TEST(Scheduler, RetimeMovesOnlyBeatTimedCommandsNotYetHandedOver) {
    Scheduler s(100);
    std::vector<SampleTime> posted;
    const auto rec = [&](SampleTime t) {
        posted.push_back(t);
        return true;
    };
    s.schedule(1000, rec, 4.0);   // beat 4 at 250 samples a beat
    s.schedule(1500, rec);        // a plain sample time
    s.schedule(50, rec, 0.2);     // handed over below: stays
    s.pump(0);
    // Twice as fast: beat B at 125 B samples.
    EXPECT_EQ(s.retime([](double b) { return static_cast<SampleTime>(b * 125.0); }, 60), 1u);
    s.pump(2000);
    EXPECT_EQ(posted, (std::vector<SampleTime>{50, 500, 1500}));
}

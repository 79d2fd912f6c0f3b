// The sequencer on the real server (loopback, null device): clips, swung patterns, a tempo
// change, automation and quantised launches, recorded and read back with sox; onsets are the
// recording's non-silent samples (impulse samples), the spectrum comes from src/analysis.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "Cli.h"
#include "ServerClient.h"
#include "analysis/Spectrum.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;

namespace {

constexpr double kBeat = 22050.0;  // samples per beat at 120 bpm and 44.1 kHz

class Sequencer : public ::testing::Test {
protected:
    void SetUp() override {
        server = std::make_unique<ServeProcess>("--port 0 --device null --data '" + (dir / "data") + "'", dir / "err.txt");
        ASSERT_TRUE(server->up()) << readText(dir / "err.txt");
    }
    HttpResult post(const std::string& op, const json& args = json::object()) const { return curl("POST", server->base + "/v1/" + op, args.dump()); }
    json ok(const std::string& op, const json& args = json::object()) const {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, 200) << op << ": " << r.raw;
        return r.body.value("result", json());
    }
    void clickTrack(const std::string& name) const {
        const auto r = runCommand("/usr/bin/python3 -c \"import wave,struct; w=wave.open('" + (dir / "data") +
                                  "/impulse.wav','wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(44100); "
                                  "w.writeframes(struct.pack('<h',32767)+bytes(126)); w.close()\"");
        ASSERT_EQ(r.code, 0) << r.output;
        ok("create_track", {{"name", name}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    }
    /// A whole beat 1.5 to 2 s ahead of the playhead (room for a slow client on a loaded machine).
    double nextBeat() const { return std::ceil(ok("status")["beat"].get<double>()) + 3.0; }
    void waitForSample(long s) const {
        while (ok("status")["sample"].get<long>() < s) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    /// The recording's left channel, read back by sox.
    std::vector<float> samples(const std::string& wav) const {
        const auto raw = dir / "rec.f32";
        EXPECT_EQ(runCommand("sox '" + wav + "' -t f32 -e floating-point '" + raw + "'").code, 0);
        const std::string bytes = readText(raw);
        std::vector<float> left(bytes.size() / 8);
        for (std::size_t i = 0; i < left.size(); ++i) std::memcpy(&left[i], bytes.data() + i * 8, 4);
        return left;
    }
    std::vector<long> onsets(const std::string& wav) const {
        std::vector<long> out;
        const auto x = samples(wav);
        for (std::size_t i = 0; i < x.size(); ++i)
            if (std::abs(x[i]) > 1e-4f) out.push_back(static_cast<long>(i));
        return out;
    }
    TempDir dir;
    std::unique_ptr<ServeProcess> server;
};

}  // namespace

TEST_F(Sequencer, AMidiClipAndASwungPatternPlayOnTheirSamples) {
    clickTrack("click");
    // Notes at clip beats 0, 1, 1.5, 2.2; a pattern from song beat 3 of six half-beat steps,
    // swing 0.2 (odd steps 0.1 beat late), step 2 a rest and step 5 never (probability 0).
    ok("seq_set_clip", {{"clip", {{"id", "riff"}, {"track", "click"}, {"start", 0}, {"length", 3},
                                  {"notes", {{{"note", 60}, {"velocity", 1}, {"start", 0}}, {{"note", 60}, {"velocity", 1}, {"start", 1}},
                                             {{"note", 60}, {"velocity", 1}, {"start", 1.5}}, {{"note", 60}, {"velocity", 1}, {"start", 2.2}}}}}}});
    json steps = json::array();
    for (int i = 0; i < 6; ++i) steps.push_back({{"velocity", i == 2 ? 0.0 : 1.0}, {"probability", i == 5 ? 0.0 : 1.0}});
    const json set = ok("seq_set_clip", {{"clip", {{"id", "hats"}, {"track", "click"}, {"start", 3}, {"pattern", {{"steps", steps}, {"step_beats", 0.5}, {"swing", 0.2}, {"note", 60}}}}}});
    EXPECT_EQ(set["length"], 3.0);
    const long first = ok("record_start", {{"file", "seq.wav"}})["first_sample"];
    const double p = nextBeat();
    const json played = ok("seq_play", {{"at", {{"beat", p}}}});
    EXPECT_EQ(played["applied_at_sample"], std::llround(p * kBeat));
    std::vector<long> expected;
    for (double s : {0.0, 1.0, 1.5, 2.2}) expected.push_back(std::llround((p + s) * kBeat) - first);
    for (int i : {0, 1, 3, 4}) expected.push_back(std::llround((p + 3.0 + (i + (i % 2 ? 0.2 : 0.0)) * 0.5) * kBeat) - first);
    waitForSample(std::llround((p + 6.5) * kBeat));
    ok("record_stop");
    EXPECT_EQ(onsets(dir / "data/seq.wav"), expected);
    EXPECT_EQ(ok("seq_state")["state"], "playing");
}

TEST_F(Sequencer, ATempoChangeMidClipKeepsNotesOnTheirBeats) {
    clickTrack("click");
    json notes = json::array();
    for (int b = 0; b < 6; ++b) notes.push_back({{"note", 60}, {"velocity", 1}, {"start", b}, {"duration", 0.1}});
    ok("seq_set_clip", {{"clip", {{"id", "beats"}, {"track", "click"}, {"start", 0}, {"notes", notes}}}});
    const long first = ok("record_start", {{"file", "tempo.wav"}})["first_sample"];
    const double p = nextBeat();
    // 180 bpm from song beat 2.5: a beat is then 14700 samples. Asked for before the play, so it
    // is waiting however slowly a loaded machine answers the requests.
    const json tempo = ok("set_tempo", {{"bpm", 180}, {"at", {{"beat", p + 2.5}}}});
    const long change = std::llround((p + 2.5) * kBeat);
    EXPECT_EQ(tempo["applied_at_sample"], change);
    EXPECT_EQ(tempo["late_by_samples"], 0);
    const json played = ok("seq_play", {{"at", {{"beat", p}}}});
    EXPECT_EQ(played["late_by_samples"], 0) << "the play came too late for beat " << p;
    std::vector<long> expected;
    for (int b = 0; b < 6; ++b) expected.push_back((b < 2.5 ? std::llround((p + b) * kBeat) : change + std::llround((b - 2.5) * 14700.0)) - first);
    waitForSample(change + 4 * 14700);
    ok("record_stop");
    EXPECT_EQ(onsets(dir / "data/tempo.wav"), expected);
}

TEST_F(Sequencer, AnAutomatedCutoffRampBrightensSteadilyWithoutClicks) {
    ok("create_track", {{"name", "saw"}, {"instrument", "subtractive"},
                        {"params", {{"mix2", 0}, {"filter_env", 0}, {"key_track", 0}, {"resonance", 0.1}, {"sustain", 1}, {"cutoff", 200}}}});
    ok("seq_set_clip", {{"clip", {{"id", "drone"}, {"track", "saw"}, {"start", 0}, {"notes", {{{"note", 48}, {"velocity", 0.9}, {"start", 0}, {"duration", 7}}}}}}});
    // Held at 200 Hz for a beat, up to 8 kHz over four beats (exponential), then held.
    const json lane = ok("seq_set_automation", {{"lane", {{"id", "sweep"}, {"target", {{"track", "saw"}, {"param", "cutoff"}}},
                                                         {"points", {{{"beat", 0}, {"value", 200}}, {{"beat", 1}, {"value", 200}, {"curve", "exp"}}, {{"beat", 5}, {"value", 8000}}}}}}});
    EXPECT_EQ(lane["points"], 3);
    const long first = ok("record_start", {{"file", "sweep.wav"}})["first_sample"];
    const double p = nextBeat();
    ok("seq_play", {{"at", {{"beat", p}}}});
    waitForSample(std::llround((p + 6.8) * kBeat));
    ok("record_stop");
    const auto x = samples(dir / "data/sweep.wav");
    const auto at = [&](double songBeat) { return static_cast<std::size_t>(std::llround((p + songBeat) * kBeat) - first); };
    ASSERT_GT(x.size(), at(6.7));
    // The spectrum's centroid rises window by window through the ramp.
    std::vector<double> centroids;
    for (double b = 1.0; b + 0.2 <= 5.0; b += 0.4)
        centroids.push_back(analysis::spectralCentroid(std::span<const float>(x.data() + at(b), 4096), 44100.0, 4096));
    for (std::size_t i = 1; i < centroids.size(); ++i) EXPECT_GT(centroids[i], centroids[i - 1]) << "window " << i;
    EXPECT_GT(centroids.back(), 3.0 * centroids.front());
    // No clicks: the largest sample-to-sample jump around the ramp stays within 2x the 99.9th
    // percentile of the jumps elsewhere (the held stretches before and after it).
    const auto jumps = [&](std::size_t from, std::size_t to) {
        std::vector<float> d;
        for (std::size_t i = from + 1; i < to; ++i) d.push_back(std::abs(x[i] - x[i - 1]));
        return d;
    };
    const auto ramp = jumps(at(0.9), at(5.1));
    auto rest = jumps(at(0.2), at(0.9));
    const auto after = jumps(at(5.1), at(6.6));
    rest.insert(rest.end(), after.begin(), after.end());
    std::sort(rest.begin(), rest.end());
    const float p999 = rest[static_cast<std::size_t>(0.999 * static_cast<double>(rest.size()))];
    EXPECT_LE(*std::max_element(ramp.begin(), ramp.end()), 2.0f * p999);
    EXPECT_GT(p999, 0.0f);
}

TEST_F(Sequencer, AClipLaunchedOnTheBarStartsOnTheBarsSampleAndLoops) {
    clickTrack("click");
    ok("seq_set_clip", {{"clip", {{"id", "two"}, {"track", "click"}, {"length", 2}, {"notes", {{{"note", 60}, {"velocity", 1}, {"start", 0}}, {{"note", 60}, {"velocity", 1}, {"start", 1.5}}}}}}});
    ok("seq_set_slot", {{"scene", 0}, {"clip", "two"}});
    const long first = ok("record_start", {{"file", "launch.wav"}})["first_sample"];
    const json launched = ok("seq_launch", {{"scene", 0}, {"quantize", "1"}});
    const long bar = launched["launch_sample"];
    EXPECT_EQ(bar % (4 * 22050), 0) << launched.dump();  // a bar line of 4/4 at 120 bpm
    EXPECT_GT(bar, ok("status")["sample"].get<long>() - 4410);
    EXPECT_EQ(ok("seq_state")["session_playing"][0]["clip"], "two");
    // Stopped 3.75 beats in: both notes of the second loop play, the third loop's do not.
    const json stopped = ok("seq_stop_clips", {{"track", "click"}, {"quantize", "none"}, {"at", {{"sample", bar + 82688}}}});
    EXPECT_EQ(stopped["launch_sample"], bar + 82688);
    waitForSample(bar + 6 * 22050);
    ok("record_stop");
    const std::vector<long> expected = {bar - first, bar + 33075 - first, bar + 44100 - first, bar + 77175 - first};
    EXPECT_EQ(onsets(dir / "data/launch.wav"), expected);
}

TEST_F(Sequencer, BadClipsLanesAndCountsAreRefusedByName) {
    clickTrack("click");
    const auto refused = [&](const std::string& op, const json& args, int status, const std::string& words) {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, status) << op << " " << r.raw;
        EXPECT_NE(r.raw.find(words), std::string::npos) << r.raw;
        EXPECT_LT(r.raw.size(), 2000u);
    };
    json notes = json::array();
    for (int i = 0; i < 4097; ++i) notes.push_back({{"note", 60}, {"start", i * 0.01}});
    refused("seq_set_clip", {{"clip", {{"id", "big"}, {"track", "click"}, {"notes", notes}}}}, 400, "4096");
    refused("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "nope"}, {"notes", json::array()}}}}, 404, "click");
    refused("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "click"}}}}, 400, "either");
    json steps = json::array();
    for (int i = 0; i < 65; ++i) steps.push_back({{"velocity", 1}});
    refused("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "click"}, {"pattern", {{"steps", steps}}}}}}, 400, "64");
    refused("seq_set_automation", {{"lane", {{"id", "l"}, {"target", {{"track", "click"}, {"param", "gain"}}}, {"points", {{{"beat", 0}, {"value", 99}}}}}}}, 400, "gain");
    refused("seq_set_automation", {{"lane", {{"id", "l"}, {"target", {{"mixer", "click"}, {"param", "width"}}}, {"points", {{{"beat", 0}, {"value", 0}}}}}}}, 400, "gain_db, pan");
    refused("seq_seek", {{"to", {{"marker", "chorus"}}}}, 400, "no marker 'chorus'");
    refused("seq_launch", {{"scene", 3}}, 400, "scene 3 has no clips");
    refused("seq_loop", {{"start", {{"beat", 4}}}, {"end", {{"beat", 2}}}}, 400, "end > start");
    ok("seq_set_marker", {{"name", "chorus"}, {"position", {{"bar", 8}}}});
    EXPECT_EQ(ok("seq_seek", {{"to", {{"marker", "chorus"}}}})["to_beat"], 32.0);
    EXPECT_EQ(ok("seq_state")["position_bar"], 8.0);
    // Every sequencer operation is in the tool list and the OpenAPI document.
    const auto doc = curl("GET", server->base + "/openapi.json").body;
    for (const char* op : {"seq_set_clip", "seq_set_automation", "seq_play", "seq_pause", "seq_resume", "seq_seek", "seq_loop", "seq_launch", "seq_state", "seq_set_time_signatures"})
        EXPECT_TRUE(doc["paths"].contains(std::string("/v1/") + op)) << op;
}

// State, batches, undo: a batch with one bad operation changes nothing and sends nothing; a good
// one lands on one sample; undo after a batch gives back the state document exactly, redo the
// batch's.
TEST_F(Sequencer, BatchesAreAllOrNoneOnOneSampleAndUndoRestoresTheStateExactly) {
    clickTrack("left");
    ok("create_track", {{"name", "right"}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    ok("set_mix", {{"target", "left"}, {"pan", -1}});
    ok("set_mix", {{"target", "right"}, {"pan", 1}});
    const auto state = [&] {
        json s = curl("GET", server->base + "/v1/state").body["result"];
        EXPECT_TRUE(s.contains("now"));
        s.erase("now");
        return s;
    };
    const json before = state();
    EXPECT_EQ(before["tracks"].size(), 2u);
    const long first = ok("record_start", {{"file", "batch.wav"}})["first_sample"];
    const long base = ok("status")["sample"].get<long>() + 22050;
    // The third operation names a track that does not exist: nothing of the batch happens.
    const auto bad = post("batch", {{"ops", {{{"op", "play_note"}, {"args", {{"track", "left"}, {"note", 60}, {"velocity", 1}}}},
                                             {{"op", "set_mix"}, {"args", {{"target", "left"}, {"gain_db", -20}}}},
                                             {{"op", "play_note"}, {"args", {{"track", "nope"}, {"note", 60}}}}}},
                                    {"at", {{"sample", base - 11025}}}});
    EXPECT_EQ(bad.status, 404) << bad.raw;
    EXPECT_NE(bad.raw.find("batch operation 2 ('play_note') failed, so nothing was applied"), std::string::npos) << bad.raw;
    EXPECT_EQ(state(), before);
    EXPECT_EQ(post("batch", {{"ops", {{{"op", "record_stop"}}}}}).status, 400);  // not batchable, by name
    // Two notes on two tracks and a clip, at one sample.
    const json done = ok("batch", {{"ops", {{{"op", "play_note"}, {"args", {{"track", "left"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}}}},
                                            {{"op", "play_note"}, {"args", {{"track", "right"}, {"note", 60}, {"velocity", 1}, {"duration", 0.01}, {"at", "now"}}}},
                                            {{"op", "set_params"}, {"args", {{"track", "left"}, {"params", {{"gain", -3}}}}}},
                                            {{"op", "set_mix"}, {"args", {{"target", "right"}, {"gain_db", -6}}}},
                                            {{"op", "seq_set_clip"}, {"args", {{"clip", {{"id", "c"}, {"track", "left"}, {"start", 8}, {"notes", {{{"note", 60}}}}}}}}},
                                            {{"op", "seq_set_marker"}, {"args", {{"name", "end"}, {"position", {{"bar", 4}}}}}}}},
                                   {"at", {{"sample", base}}}});
    EXPECT_EQ(done["applied_at_sample"], base);
    ASSERT_EQ(done["results"].size(), 6u);
    EXPECT_EQ(done["results"][0]["applied_at_sample"], base);
    EXPECT_EQ(done["results"][1]["applied_at_sample"], base);
    const json after = state();
    EXPECT_NE(after, before);
    EXPECT_EQ(after["sequencer"]["clips"][0]["id"], "c");
    waitForSample(base + 4410);
    ok("record_stop");
    ASSERT_EQ(runCommand("sox '" + (dir / "data/batch.wav") + "' -t f32 -e floating-point '" + (dir / "rec.f32") + "'").code, 0);
    const std::string bytes = readText(dir / "rec.f32");
    std::vector<long> leftOn, rightOn;
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        float l = 0, r = 0;
        std::memcpy(&l, bytes.data() + i, 4);
        std::memcpy(&r, bytes.data() + i + 4, 4);
        if (std::abs(l) > 1e-4f) leftOn.push_back(static_cast<long>(i / 8));
        if (std::abs(r) > 1e-4f) rightOn.push_back(static_cast<long>(i / 8));
    }
    EXPECT_EQ(leftOn, std::vector<long>{base - first});  // the failed batch's note never sounded
    EXPECT_EQ(rightOn, std::vector<long>{base - first});
    const json history = ok("history");
    EXPECT_EQ(history["undo"].back(), "batch");
    ok("undo");
    EXPECT_EQ(state(), before);
    ok("redo");
    EXPECT_EQ(state(), after);
    // Single edits are steps of their own; undo goes back through them in order.
    ok("seq_remove_clip", {{"id", "c"}});
    ok("set_tempo", {{"bpm", 90}});
    ok("undo");
    EXPECT_EQ(ok("state")["tempo_bpm"], 120.0);
    ok("undo");
    EXPECT_EQ(state(), after);
    EXPECT_EQ(post("redo").status, 200);
    EXPECT_EQ(ok("history")["redo"].size(), 1u);
}

// A project file: written under --data (read back by python's json), loaded over a changed
// state it gives the saved state back exactly; a bad file changes nothing and says what is wrong.
TEST_F(Sequencer, AProjectSavedAndLoadedGivesItsStateBack) {
    clickTrack("click");
    ok("create_track", {{"name", "keys"}, {"preset", "keys_fm_epiano"}, {"gain_db", -4}});
    ok("set_mix", {{"target", "keys"}, {"sends", {{"reverb", 0.3}}}, {"mute", true}});
    ok("seq_set_clip", {{"clip", {{"id", "riff"}, {"track", "keys"}, {"start", 4}, {"notes", {{{"note", 64}, {"duration", 1}}}}}}});
    ok("seq_set_automation", {{"lane", {{"id", "fade"}, {"target", {{"mixer", "keys"}, {"param", "gain_db"}}}, {"points", {{{"beat", 0}, {"value", -4}}, {{"beat", 8}, {"value", -20}}}}}}});
    ok("seq_set_marker", {{"name", "drop"}, {"position", {{"bar", 2}}}});
    ok("seq_loop", {{"start", {{"bar", 0}}}, {"end", {{"marker", "drop"}}}});
    ok("seq_set_slot", {{"scene", 1}, {"clip", "riff"}});
    const auto state = [&] {
        json s = ok("state");
        s.erase("now");
        return s;
    };
    const json saved = state();
    EXPECT_EQ(ok("project_save", {{"file", "songs/one.json"}})["file"], "songs/one.json");
    const auto read = runCommand("/usr/bin/python3 -c \"import json; d=json.load(open('" + (dir / "data/songs/one.json") +
                                 "')); print(len(d['tracks']), d['sequencer']['clips'][0]['id'], d['sequencer']['loop']['end'])\"");
    EXPECT_EQ(read.output, "2 riff 8.0\n");
    // Change everything, then load.
    ok("free_track", {{"track", "click"}});
    ok("set_params", {{"track", "keys"}, {"params", {{"gain", -12}}}});
    ok("seq_remove_clip", {{"id", "riff"}});
    ok("seq_loop", {{"off", true}});
    ok("set_tempo", {{"bpm", 95}});
    const json changed = state();
    EXPECT_NE(changed, saved);
    ok("project_load", {{"file", "songs/one.json"}});
    EXPECT_EQ(state(), saved);
    ok("undo");
    EXPECT_EQ(state(), changed);
    // Bad files: outside --data, not JSON, a bad instrument (nothing changes).
    EXPECT_EQ(post("project_load", {{"file", "../x.json"}}).status, 403);
    std::ofstream(dir / "data/bad.json") << R"({"tracks": [{"address": 0, "args": {"name": "x", "instrument": "warp"}}]})";
    const auto bad = post("project_load", {{"file", "bad.json"}});
    EXPECT_EQ(bad.status, 400) << bad.raw;
    EXPECT_NE(bad.raw.find("warp"), std::string::npos) << bad.raw;
    std::ofstream(dir / "data/worse.json") << "{\"tracks\": [";
    EXPECT_EQ(post("project_load", {{"file", "worse.json"}}).status, 400);
    EXPECT_EQ(state(), changed);
}

// The arrangement's transport on its beats: a loop over the first two beats, a pause (what was
// rendered after it is cut), a resume from the paused position, a stop; all asked for at once.
TEST_F(Sequencer, LoopPauseResumeAndStopLandOnTheirBeats) {
    clickTrack("click");
    json notes = json::array();
    for (int b = 0; b < 4; ++b) notes.push_back({{"note", 60}, {"velocity", 1}, {"start", b}, {"duration", 0.1}});
    ok("seq_set_clip", {{"clip", {{"id", "four"}, {"track", "click"}, {"start", 0}, {"notes", notes}}}});
    ok("seq_loop", {{"start", {{"beat", 0}}}, {"end", {{"bar", 0.5}}}});
    const long first = ok("record_start", {{"file", "transport.wav"}})["first_sample"];
    const double p = nextBeat();
    ok("seq_play", {{"at", {{"beat", p}}}});
    EXPECT_EQ(ok("seq_pause", {{"at", {{"beat", p + 3}}}})["at_beat"], p + 3);  // song beat 1 of the second loop
    ok("seq_resume", {{"at", {{"beat", p + 5}}}});
    ok("seq_stop", {{"at", {{"beat", p + 7.5}}}});
    waitForSample(std::llround((p + 8.5) * kBeat));
    ok("record_stop");
    std::vector<long> expected;
    for (double b : {0.0, 1.0, 2.0, 5.0, 6.0, 7.0}) expected.push_back(std::llround((p + b) * kBeat) - first);
    EXPECT_EQ(onsets(dir / "data/transport.wav"), expected);
    const json st = ok("seq_state");
    EXPECT_EQ(st["state"], "stopped");
    EXPECT_EQ(st["loop"]["end"], 2.0);
}

// ---- audio clips, follow actions, time signatures (issue #16, part 2) ----

// An audio clip plays a loaded sample from its beat: the sample (an impulse 0.1 s in, read from
// 0.1 s in, at -6 dB) sounds on the clip's exact sample at 120 bpm, each repetition again; the
// same sample as a session clip launched on the bar starts on the bar's sample and loops.
TEST_F(Sequencer, AudioClipsStartTheirSampleOnTheirBeatsSample) {
    ASSERT_EQ(runCommand("/usr/bin/python3 -c \"import wave,struct; w=wave.open('" + (dir / "data") +
                         "/late.wav','wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(44100); "
                         "w.writeframes(bytes(2*4410)+struct.pack('<h',32767)+bytes(2*4000)); w.close()\"")
                  .code,
              0);
    ok("sample_load", {{"name", "late"}, {"file", "late.wav"}});
    ok("sample_track", {{"track", "arr"}, {"zones", {{{"sample", "late"}}}}, {"pan", -1}, {"gain_db", -12}});
    ok("sample_track", {{"track", "ses"}, {"zones", {{{"sample", "late"}}}}, {"pan", 1}, {"gain_db", -12}});
    ok("seq_set_clip", {{"clip", {{"id", "hit"}, {"track", "arr"}, {"start", 1}, {"length", 1.5}, {"repeats", 2}, {"audio", {{"sample", "late"}, {"offset", 0.1}, {"gain_db", -6}}}}}});
    const json set = ok("seq_set_clip", {{"clip", {{"id", "loop"}, {"track", "ses"}, {"length", 2}, {"audio", {{"sample", "late"}, {"offset", 0.1}}}}}});
    EXPECT_EQ(set["length"], 2.0);
    ok("seq_set_slot", {{"scene", 0}, {"clip", "loop"}});
    const long first = ok("record_start", {{"file", "audio.wav"}})["first_sample"];
    const double p = nextBeat();
    ok("seq_play", {{"at", {{"beat", p}}}});
    const json launched = ok("seq_launch", {{"scene", 0}, {"quantize", "1"}, {"at", {{"beat", p}}}});
    const long bar = launched["launch_sample"];
    EXPECT_EQ(bar % (4 * 22050), 0) << launched.dump();
    ok("seq_stop_clips", {{"track", "ses"}, {"quantize", "none"}, {"at", {{"sample", bar + 3 * 22050}}}});
    waitForSample(std::max<long>(std::llround((p + 4.5) * kBeat), bar + 4 * 22050));
    ok("record_stop");
    const auto raw = dir / "rec2.f32";
    ASSERT_EQ(runCommand("sox '" + (dir / "data/audio.wav") + "' -t f32 -e floating-point '" + raw + "'").code, 0);
    const std::string bytes = readText(raw);
    std::vector<long> left, right;
    std::vector<float> leftPeaks, rightPeaks;
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        float l = 0, r = 0;
        std::memcpy(&l, bytes.data() + i, 4);
        std::memcpy(&r, bytes.data() + i + 4, 4);
        if (std::abs(l) > 1e-4f) left.push_back(static_cast<long>(i / 8)), leftPeaks.push_back(std::abs(l));
        if (std::abs(r) > 1e-4f) right.push_back(static_cast<long>(i / 8)), rightPeaks.push_back(std::abs(r));
    }
    EXPECT_EQ(left, (std::vector<long>{std::llround((p + 1) * kBeat) - first, std::llround((p + 2.5) * kBeat) - first}));
    EXPECT_EQ(right, (std::vector<long>{bar - first, bar + 2 * 22050 - first}));
    // The same impulse through mirrored pans: the clip's gain_db is the only difference.
    ASSERT_EQ(leftPeaks.size(), 2u);
    ASSERT_EQ(rightPeaks.size(), 2u);
    for (float peak : leftPeaks) EXPECT_NEAR(peak / rightPeaks[0], std::pow(10.0, -6.0 / 20.0), 0.005);
    EXPECT_GT(rightPeaks[0], 0.1f);
    EXPECT_LT(rightPeaks[0], 0.9f);  // not clipped by the master
    // An audio clip needs a sample track with a zone for its sample.
    clickTrack("click");
    const auto notSample = post("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "click"}, {"length", 1}, {"audio", {{"sample", "late"}}}}}});
    EXPECT_EQ(notSample.status, 409) << notSample.raw;
    const auto noZone = post("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "arr"}, {"length", 1}, {"audio", {{"sample", "other"}}}}}});
    EXPECT_EQ(noZone.status, 404) << noZone.raw;
    EXPECT_NE(noZone.raw.find("its zones: late"), std::string::npos) << noZone.raw;
}

// A scene of two slots on a track, the first with follow action "next" after 1 bar: the second
// clip starts exactly on the next bar's sample (and loops, having no follow action).
TEST_F(Sequencer, AFollowActionStartsTheNextSlotOnTheNextBarsSample) {
    clickTrack("click");
    ok("seq_set_clip", {{"clip", {{"id", "intro"}, {"track", "click"}, {"length", 4}, {"notes", {{{"note", 60}, {"velocity", 1}, {"start", 0}, {"duration", 0.1}}}},
                                  {"follow", {{"action", "next"}, {"after_bars", 1}}}}}});
    ok("seq_set_clip", {{"clip", {{"id", "verse"}, {"track", "click"}, {"length", 1}, {"notes", {{{"note", 60}, {"velocity", 1}, {"start", 0.5}, {"duration", 0.1}}}}}}});
    ok("seq_set_slot", {{"scene", 0}, {"clip", "intro"}});
    ok("seq_set_slot", {{"scene", 1}, {"clip", "verse"}});
    const long first = ok("record_start", {{"file", "follow.wav"}})["first_sample"];
    const long bar = ok("seq_launch", {{"scene", 0}, {"quantize", "1"}})["launch_sample"];
    const json st = ok("seq_state");
    ASSERT_EQ(st["session_playing"].size(), 1u) << st.dump();
    EXPECT_EQ(st["session_playing"][0]["follow_beat"], bar / 22050 + 4.0);
    ok("seq_stop_clips", {{"quantize", "none"}, {"at", {{"sample", bar + 6 * 22050}}}});
    waitForSample(bar + 7 * 22050);
    ok("record_stop");
    // intro's note on the bar; verse from the next bar (beat 4): its notes half a beat into each loop.
    const std::vector<long> expected = {bar - first, bar + 4 * 22050 + 11025 - first, bar + 5 * 22050 + 11025 - first};
    EXPECT_EQ(onsets(dir / "data/follow.wav"), expected);
    const auto bad = post("seq_set_clip", {{"clip", {{"id", "x"}, {"track", "click"}, {"notes", json::array()}, {"follow", {{"action", "sideways"}}}}}});
    EXPECT_EQ(bad.status, 400) << bad.raw;
}

// In 3/4 at 120 bpm a launch quantised to a bar lands on a multiple of 3 beats' samples; after a
// change to 7/8 the transport's bar and beat count 3.5-beat bars of eighth notes, and launches
// land on them; bar positions (seek, markers) follow the signatures.
TEST_F(Sequencer, TimeSignaturesMoveBarsLaunchesAndTheTransportsBarBeat) {
    clickTrack("click");
    ok("seq_set_time_signatures", {{"time_signatures", {{{"bar", 0}, {"numerator", 3}, {"denominator", 4}}}}});
    ok("seq_set_clip", {{"clip", {{"id", "one"}, {"track", "click"}, {"length", 8}, {"notes", {{{"note", 60}, {"velocity", 1}, {"start", 0}, {"duration", 0.1}}}}}}});
    EXPECT_EQ(ok("seq_seek", {{"to", {{"bar", 2}}}})["to_beat"], 6.0);  // bar 2 of 3/4
    EXPECT_EQ(ok("seq_state")["time_signature"], "3/4");
    EXPECT_EQ(ok("seq_state")["position_bar"], 2.0);
    const long first = ok("record_start", {{"file", "meter.wav"}})["first_sample"];
    // Asked for at a beat whose next 3/4 bar line is not a 4/4 one (12k + 1, + 5, + 9 ...).
    double asked = nextBeat();
    while (std::ceil(asked / 3.0) * 3.0 == std::ceil(asked / 4.0) * 4.0) asked += 1.0;
    const json launched = ok("seq_launch", {{"clip", "one"}, {"quantize", "1"}, {"at", {{"beat", asked}}}});
    const long bar = launched["launch_sample"];
    EXPECT_EQ(launched["launch_beat"], std::ceil(asked / 3.0) * 3.0);
    EXPECT_EQ(bar, std::llround(std::ceil(asked / 3.0) * 3.0 * kBeat));
    EXPECT_EQ(bar % (3 * 22050), 0) << launched.dump();
    ok("seq_stop_clips", {{"quantize", "none"}, {"at", {{"sample", bar + 22050}}}});
    // From the next bar, 7/8.
    waitForSample(bar);
    const long change = std::llround(std::floor(ok("status")["beat"].get<double>() / 3.0)) + 1;
    ok("seq_set_time_signatures", {{"time_signatures", {{{"bar", 0}, {"numerator", 3}, {"denominator", 4}}, {{"bar", change}, {"numerator", 7}, {"denominator", 8}}}}});
    const double changeBeat = 3.0 * static_cast<double>(change);
    waitForSample(std::llround((changeBeat + 4.25) * kBeat));  // into the second 7/8 bar
    const json st = ok("status");
    const double into = st["beat"].get<double>() - changeBeat;
    ASSERT_GT(into, 3.5);
    EXPECT_EQ(st["time_signature"], "7/8");
    EXPECT_EQ(st["bar"], change + static_cast<long>(std::floor(into / 3.5)));
    EXPECT_EQ(st["beat_of_bar"], static_cast<long>(std::floor(std::fmod(into, 3.5) * 2.0)) + 1);  // eighths from 1
    const json again = ok("seq_launch", {{"clip", "one"}, {"quantize", "1"}});
    const double beat = again["launch_beat"];
    EXPECT_DOUBLE_EQ(std::fmod(beat - changeBeat, 3.5), 0.0) << again.dump();
    EXPECT_EQ(again["launch_sample"], std::llround(beat * kBeat));
    ok("seq_stop_clips", {{"quantize", "none"}, {"at", {{"beat", beat + 1}}}});
    waitForSample(std::llround((beat + 1.5) * kBeat));
    ok("record_stop");
    EXPECT_EQ(onsets(dir / "data/meter.wav"), (std::vector<long>{bar - first, std::llround(beat * kBeat) - first}));
    // Song bars follow the signatures: the bar after the change starts 3.5 beats after it.
    EXPECT_EQ(ok("seq_set_marker", {{"name", "b"}, {"position", {{"bar", change + 1}}}})["beat"], changeBeat + 3.5);
    EXPECT_EQ(ok("seq_seek", {{"to", {{"marker", "b"}}}})["to_beat"], changeBeat + 3.5);
    EXPECT_EQ(ok("seq_state")["time_signature"], "7/8");
    const auto bad = post("seq_set_time_signatures", {{"time_signatures", {{{"bar", 0}, {"numerator", 7}, {"denominator", 3}}}}});
    EXPECT_EQ(bad.status, 400) << bad.raw;
    EXPECT_NE(bad.raw.find("denominator"), std::string::npos) << bad.raw;
    const auto late = post("seq_set_time_signatures", {{"time_signatures", {{{"bar", 2}, {"numerator", 3}, {"denominator", 4}}}}});
    EXPECT_EQ(late.status, 400) << late.raw;
    EXPECT_NE(late.raw.find("bar 0"), std::string::npos) << late.raw;
}

// The live composer on the sequencer's transport: live_start with sync starts on the transport's
// next bar line and sets the transport to the live tempo, so the live session's bars and beats
// (its own clock) stay those of the sequencer, and a launch quantised to a bar lands on a live
// bar line.
TEST_F(Sequencer, ALiveStreamSyncedToTheTransportKeepsItsBarsOnTheSequencersBars) {
    const json live = ok("live_start", {{"vibe", "slow calm ambient at 84 bpm"}, {"seed", 3}, {"sync", true}});
    ASSERT_TRUE(live["synced"].is_object()) << live.dump();
    const long start = live["synced"]["start_sample"];
    const double startBeat = live["synced"]["start_beat"], bpm = live["bpm"];
    ASSERT_NE(bpm, 120.0) << "a vibe at another tempo than the transport's";
    EXPECT_EQ(start % (4 * 22050), 0) << "a bar line of the 120 bpm transport";
    EXPECT_EQ(live["synced"]["start_bar"], std::llround(startBeat / 4.0));
    const double barSamples = 4.0 * 60.0 / bpm * 44100.0;
    waitForSample(start + std::lround(2.5 * barSamples));
    const json st = ok("status");
    EXPECT_EQ(st["bpm"], bpm);
    // Both clocks read at once: the live session's beat is the transport's beat since the start
    // (within the two blocks their clocks may differ by), and so are the bars.
    const double liveBeat = st["live"]["bar"].get<double>() * 4.0 + st["live"]["beat_in_bar"].get<double>();
    const double seqBeat = st["beat"].get<double>() - startBeat;
    EXPECT_NEAR(seqBeat, liveBeat, 2.0 * 512.0 / (44100.0 * 60.0 / bpm)) << st.dump();
    EXPECT_GE(liveBeat, 8.0);
    if (std::fmod(seqBeat, 4.0) > 0.1 && std::fmod(seqBeat, 4.0) < 3.9) {  // not at a bar line, where the clocks' blocks may differ
        EXPECT_EQ(st["bar"].get<long>() - live["synced"]["start_bar"].get<long>(), st["live"]["bar"].get<long>());
    }
    // A launch on the next bar lands on a live bar line: whole live bars after the live start.
    clickTrack("click");
    ok("seq_set_clip", {{"clip", {{"id", "c"}, {"track", "click"}, {"length", 4}, {"notes", json::array()}}}});
    const long launch = ok("seq_launch", {{"clip", "c"}, {"quantize", "1"}})["launch_sample"];
    const double bars = static_cast<double>(launch - start) / barSamples;
    EXPECT_NEAR(bars, std::round(bars), 1.0 / barSamples) << launch << " " << start;
    EXPECT_GE(bars, 3.0);
    ok("live_stop");
}

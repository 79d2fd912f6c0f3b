// The transport's tempo on the real server (loopback, null device), issue #16: the sequencer's
// tempo lane (steps and linear ramps at song beats) recorded and read back with sox, note onsets
// on the samples the tempo map gives, computed here from the lane on its own; a synced live
// session's steered tempo glide moving the transport; and track effect bypasses in the state.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "Cli.h"
#include "ServerClient.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;

namespace {

constexpr double kRate = 44100.0;

class Tempo : public ServerTest {
protected:
    void SetUp() override { startServer(); }
    void clickTrack(const std::string& name) const {
        const auto r = runCommand("/usr/bin/python3 -c \"import wave,struct; w=wave.open('" + (dir / "data") +
                                  "/impulse.wav','wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(44100); "
                                  "w.writeframes(struct.pack('<h',32767)+bytes(126)); w.close()\"");
        ASSERT_EQ(r.code, 0) << r.output;
        ok("create_track", {{"name", name}, {"instrument", "sampler"}, {"options", {{"sample", "impulse.wav"}}}});
    }
    /// A whole beat 1 to 1.5 s ahead of the playhead (room for a slow client on a loaded machine).
    double nextBeat() const { return std::ceil(ok("status")["beat"].get<double>()) + 2.0; }
    /// The recording's non-silent samples (each impulse is one sample), read back by sox.
    std::vector<long> onsets(const std::string& wav) const {
        const auto left = channels(wav).first;
        std::vector<long> out;
        for (std::size_t i = 0; i < left.size(); ++i)
            if (std::abs(left[i]) > 1e-4f) out.push_back(static_cast<long>(i));
        return out;
    }
};

/// Seconds from the start of a linear ramp (in beats) from `bpm0` to `bpm1` over `beats`, to
/// `d` beats into it: t = 60/k ln((bpm0 + k d) / bpm0), k = (bpm1 - bpm0) / beats.
double rampSeconds(double bpm0, double bpm1, double beats, double d) {
    const double k = (bpm1 - bpm0) / beats;
    return 60.0 / k * std::log((bpm0 + k * d) / bpm0);
}

}  // namespace

// A lane that ramps from 120 to 180 bpm over four beats, then steps to 90 at beat 6 (mid-clip):
// every note of a clip with one a beat lands on the sample the map puts its beat on.
TEST_F(Tempo, TheTempoLaneRampsAndStepsWithNotesOnTheirBeatsSamples) {
    clickTrack("click");
    json notes = json::array();
    for (int b = 0; b <= 8; ++b) notes.push_back({{"note", 60}, {"velocity", 1}, {"start", b}, {"duration", 0.1}});
    ok("seq_set_clip", {{"clip", {{"id", "beats"}, {"track", "click"}, {"start", 0}, {"length", 9}, {"notes", notes}}}});
    const json lane = ok("seq_set_tempo", {{"points", {{{"beat", 0}, {"bpm", 120}, {"curve", "linear"}}, {{"beat", 4}, {"bpm", 180}}, {{"beat", 6}, {"bpm", 90}}}}});
    EXPECT_EQ(lane["tempo"].size(), 3u);
    EXPECT_EQ(state()["sequencer"]["tempo"][1], json({{"beat", 4.0}, {"bpm", 180.0}, {"curve", "step"}}));
    const long first = ok("record_start", {{"file", "lane.wav"}})["first_sample"];
    const double p = nextBeat();
    const long play = ok("seq_play", {{"at", {{"beat", p}}}})["applied_at_sample"];
    EXPECT_EQ(play, std::llround(p * 22050.0)) << "120 bpm before the play";
    // The map, from the lane alone: the ramp's integral, then 180 bpm, then 90 bpm.
    const double rampEnd = play + kRate * rampSeconds(120, 180, 4, 4);
    const auto expectedAt = [&](double b) {
        if (b <= 4) return play + kRate * rampSeconds(120, 180, 4, b);
        if (b <= 6) return rampEnd + (b - 4) * kRate * 60.0 / 180.0;
        return rampEnd + 2 * kRate * 60.0 / 180.0 + (b - 6) * kRate * 60.0 / 90.0;
    };
    waitForSample(std::llround(expectedAt(8.5)));
    ok("record_stop");
    const auto got = onsets(dir / "data/lane.wav");
    ASSERT_EQ(got.size(), 9u);
    for (int b = 0; b <= 8; ++b) {
        const double want = expectedAt(b) - static_cast<double>(first);
        // Within a sample (the rounding to a whole sample), in the ramp as where the tempo steps.
        EXPECT_NEAR(static_cast<double>(got[static_cast<std::size_t>(b)]), want, 1.0) << "beat " << b;
    }
    const json st = ok("status");
    EXPECT_DOUBLE_EQ(st["bpm"].get<double>(), 90.0) << "the transport plays the lane's last tempo";
    EXPECT_EQ(state()["tempo_bpm"], 120.0) << "the lane moves the transport, not the state's set tempo";
}

// A stop holds the tempo where it is; a play from the middle of the ramp starts there; the lane is
// undone and redone with the sequencer's content and travels in projects; bad lanes are refused by name.
TEST_F(Tempo, TheTempoLaneIsStateUndoneAndSavedAndCheckedByName) {
    clickTrack("click");
    const json before = state();
    ok("seq_set_tempo", {{"points", {{{"beat", 0}, {"bpm", 100}, {"curve", "linear"}}, {{"beat", 8}, {"bpm", 140}}}}});
    const json with = state();
    ASSERT_NE(with, before);
    ok("project_save", {{"file", "tempo.json"}});
    EXPECT_EQ(ok("undo")["undone"], "seq_set_tempo");
    EXPECT_EQ(state(), before);
    ok("redo");
    EXPECT_EQ(state(), with);
    ok("seq_set_tempo", {{"points", json::array()}});
    EXPECT_EQ(state()["sequencer"]["tempo"], json::array());
    ok("project_load", {{"file", "tempo.json"}});
    EXPECT_EQ(state(), with) << "the project brings the lane back exactly";
    refused("seq_set_tempo", {{"points", {{{"beat", 0}, {"bpm", 100}}, {{"beat", 0}, {"bpm", 90}}}}}, 400, "beats must rise");
    refused("seq_set_tempo", {{"points", {{{"beat", 0}, {"bpm", 500}}}}}, 400, "bpm");
    refused("seq_set_tempo", {{"points", {{{"beat", 0}, {"bpm", 100}, {"curve", "linear"}}, {{"beat", 5000}, {"bpm", 90}}}}}, 400, "at most 4096");
    EXPECT_EQ(state(), with) << "refused lanes change nothing";
    // Played from song beat 4 (half way up the ramp: 120 bpm) then stopped two beats on: the
    // tempo holds where the ramp had got to (5 bpm a beat: 130), not going on to 140.
    const double p = nextBeat();
    ok("seq_play", {{"from", {{"beat", 4}}}, {"at", {{"beat", p}}}});
    ok("seq_stop", {{"at", {{"beat", p + 2}}}});
    const double stop = p * 22050.0 + kRate * rampSeconds(120, 140, 4, 2);
    waitForSample(std::llround(stop + 4 * 22050.0));
    EXPECT_NEAR(ok("status")["bpm"].get<double>(), 130.0, 1e-6);
    EXPECT_EQ(ok("seq_state")["state"], "stopped");
}

// A live session synced to the transport and steered to another tempo (a glide, ramping over a
// bar): the transport's tempo follows it and its beats stay the session's, so a launch quantised
// to the bar after the glide lands on a live bar line.
TEST_F(Tempo, ASteeredLiveTempoGlideMovesTheTransport) {
    const json live = ok("live_start", {{"vibe", "slow calm ambient at 84 bpm"}, {"seed", 3}, {"sync", true}, {"transition", "1bars"}});
    ASSERT_TRUE(live["synced"].is_object()) << live.dump();
    const long start = live["synced"]["start_sample"];
    const double bpm0 = live["bpm"];
    ASSERT_NE(bpm0, 120.0);
    waitForSample(start + 2205);
    const json steer = ok("live_steer", {{"line", "b 120"}});
    ASSERT_EQ(steer["kind"], "glide") << steer.dump();
    ASSERT_TRUE(steer["transport_tempo"].is_object()) << steer.dump();
    const long glide = steer["starts_at_sample"];  // a live sample: on the session's next bar line
    EXPECT_EQ(steer["transport_tempo"]["at_sample"], start + glide);
    EXPECT_EQ(steer["transport_tempo"]["bpm"], 120.0);
    const double liveBars = static_cast<double>(glide) / (4 * 60.0 / bpm0 * kRate);
    EXPECT_NEAR(liveBars, std::round(liveBars), 1.0 / (4 * 60.0 / bpm0 * kRate)) << "a live bar line at " << bpm0;
    // The ramp lasts its beats at the tempos between: wait until it is over.
    const double beats = steer["transport_tempo"]["ramp_beats"];
    EXPECT_EQ(beats, 4.0) << "one bar of the outgoing vibe";
    waitForSample(start + glide + std::lround(kRate * rampSeconds(bpm0, 120, beats, beats)) + 4410);
    const json st = ok("status");
    EXPECT_DOUBLE_EQ(st["bpm"].get<double>(), 120.0) << "the transport's tempo followed the glide";
    // Both clocks read at once: the live session's beats are the transport's since the live start.
    const double liveBeat = st["live"]["bar"].get<double>() * 4.0 + st["live"]["beat_in_bar"].get<double>();
    const double seqBeat = st["beat"].get<double>() - live["synced"]["start_beat"].get<double>();
    EXPECT_NEAR(seqBeat, liveBeat, 2.0 * 512.0 / (kRate * 60.0 / 120.0)) << st.dump();
    // The session's next bar line, from its own clock (a live sample and the beat there, at 120 bpm).
    const double liveNow = st["live"]["sample"].get<double>();
    const double nextBar = liveNow + (4.0 - st["live"]["beat_in_bar"].get<double>()) * kRate * 60.0 / 120.0;
    ok("create_track", {{"name", "pad"}, {"instrument", "subtractive"}});
    ok("seq_set_clip", {{"clip", {{"id", "c"}, {"track", "pad"}, {"length", 4}, {"notes", json::array()}}}});
    const long launch = ok("seq_launch", {{"clip", "c"}, {"quantize", "1"}})["launch_sample"];
    const double bars = (static_cast<double>(launch - start) - nextBar) / (4.0 * kRate * 60.0 / 120.0);
    EXPECT_NEAR(bars, std::round(bars), 2.0 / (4.0 * kRate * 60.0 / 120.0)) << "launch " << launch << ", live bar line " << start + nextBar;
    EXPECT_GE(bars, -0.01);
    ok("live_stop");
}

// A track effect's bypass is part of the state: undone back to the state exactly, rebuilt with the
// track (set_effects keeps a chain's flags), and carried by a project saved and loaded.
TEST_F(Tempo, TrackEffectBypassesAreInTheStateUndoneAndSaved) {
    ok("create_track", {{"name", "lead"}, {"instrument", "subtractive"}, {"effects", {{{"type", "filter"}}, {{"type", "delay"}}}}});
    const json start = state();
    EXPECT_FALSE(start["tracks"][0]["args"]["effects"][1].contains("bypass"));
    ok("set_bypass", {{"track", "lead"}, {"effect", 1}, {"bypass", true}});
    const json bypassed = state();
    EXPECT_EQ(bypassed["tracks"][0]["args"]["effects"][1]["bypass"], true);
    ok("move_effect", {{"track", "lead"}, {"effect", 1}, {"to", 0}});
    const json moved = state();
    EXPECT_EQ(moved["tracks"][0]["args"]["effects"][0]["bypass"], true) << "the flag moves with its effect";
    ok("project_save", {{"file", "bypass.json"}});
    EXPECT_EQ(ok("undo")["undone"], "move_effect");
    EXPECT_EQ(state(), bypassed);
    EXPECT_EQ(ok("undo")["undone"], "set_bypass");
    EXPECT_EQ(state(), start);
    ok("project_load", {{"file", "bypass.json"}});
    EXPECT_EQ(state(), moved) << "the project gives the state back exactly";
    ok("set_bypass", {{"track", "lead"}, {"effect", 0}, {"bypass", false}});
    EXPECT_FALSE(state()["tracks"][0]["args"]["effects"][0].contains("bypass"));
    refused("set_bypass", {{"track", "lead"}, {"effect", 5}, {"bypass", true}}, 400, "effect 5 does not exist");
}

// Return buses and track outputs of `soundstar serve` for real: the binary on loopback (port 0,
// null device) driven by curl; recordings read back with sox.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "Cli.h"
#include "ServerClient.h"

using namespace soundstar;
using namespace soundstar::test;
using nlohmann::json;

namespace {

class ServeBuses : public ServerTest {
protected:
    void SetUp() override { startServer(); }
    json bus(const std::string& name) const {
        const json buses = ok("list_buses")["buses"];
        for (const auto& b : buses)
            if (b["name"] == name) return b;
        return nullptr;
    }
};

}  // namespace

TEST_F(ServeBuses, BusesAreCreatedEditedLimitedAndFreed) {
    refused("bus_create", {{"name", "dark"}, {"effects", {{{"type", "warp"}}}}}, 400, "warp");
    EXPECT_TRUE(bus("dark").is_null()) << "a bad chain creates nothing";
    const json made = ok("bus_create", {{"name", "dark"}, {"effects", {{{"type", "filter"}, {"params", {{"mode", 0}, {"cutoff", 400}}}}}}, {"gain_db", -3}});
    EXPECT_EQ(made["bus"], "dark");
    EXPECT_EQ(made["index"], 2);
    EXPECT_EQ(made["effects"], json({"filter"}));
    EXPECT_EQ(ok("list_instruments")["buses"], json({"reverb", "delay", "dark"}));
    EXPECT_EQ(bus("dark")["gain_db"], -3);
    EXPECT_EQ(bus("dark")["bus"], "bus:2");
    refused("bus_create", {{"name", "reverb"}}, 400, "names a bus");
    refused("create_track", {{"name", "dark"}, {"instrument", "subtractive"}}, 400, "names a bus");
    ok("create_track", {{"name", "lead"}, {"instrument", "subtractive"}});
    refused("bus_create", {{"name", "lead"}}, 409, "share names");
    ok("bus_create", {{"name", "wide"}});
    refused("bus_create", {{"name", "third"}}, 429, "at most 4 return buses");
    // Mix, parameters, bypass and chain edits of a bus, by name; all in list_buses.
    ok("set_mix", {{"target", "dark"}, {"gain_db", -6}, {"pan", 0.5}, {"mute", true}});
    ok("set_params", {{"track", "dark"}, {"effect", 0}, {"params", {{"cutoff", 800}}}});
    ok("set_bypass", {{"track", "dark"}, {"effect", 0}, {"bypass", true}});
    ok("insert_effect", {{"track", "dark"}, {"type", "width"}});
    const json dark = bus("dark");
    EXPECT_EQ(dark["gain_db"], -6);
    EXPECT_EQ(dark["pan"], 0.5);
    EXPECT_EQ(dark["mute"], true);
    EXPECT_EQ(dark["effects"][0], json({{"type", "filter"}, {"params", {{"mode", 0}, {"cutoff", 800}}}, {"bypass", true}}));
    EXPECT_EQ(dark["effects"][1]["type"], "width");
    refused("set_params", {{"track", "dark"}, {"effect", 2}, {"params", {{"cutoff", 800}}}}, 400, "0 filter, 1 width");
    refused("set_mix", {{"target", "dark"}, {"solo", true}}, 400, "solo belongs to tracks");
    // Sends by bus name; a bus that does not exist is named with those that do.
    ok("set_mix", {{"target", "lead"}, {"sends", {{"dark", 0.5}, {"reverb", 0.25}}}});
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["sends"], json({{"reverb", 0.25}, {"delay", 0}, {"dark", 0.5}, {"wide", 0}}));
    refused("set_mix", {{"target", "lead"}, {"sends", {{"nope", 1}}}}, 400, "buses: [\"reverb\",\"delay\",\"dark\",\"wide\"]");
    // Outputs: to a bus by name or bus:N, back to the master; a bus that is an output is not freed.
    EXPECT_EQ(ok("set_output", {{"track", "lead"}, {"to", "bus:2"}})["output"], "dark");
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["output"], "dark");
    refused("set_output", {{"track", "lead"}, {"to", "bus:3x"}}, 400, "not 'bus:3x'");
    refused("set_output", {{"track", "nobody"}, {"to", "master"}}, 404, "no track 'nobody'");
    refused("bus_free", {{"bus", "dark"}}, 409, "is the output of lead");
    ok("set_output", {{"track", "lead"}, {"to", "master"}});
    refused("bus_free", {{"bus", "reverb"}}, 400, "built in");
    refused("bus_free", {{"bus", "gone"}}, 404, "no bus 'gone'");
    ok("bus_free", {{"bus", "dark"}});
    EXPECT_TRUE(bus("dark").is_null());
    EXPECT_EQ(ok("list_tracks")["tracks"][0]["sends"], json({{"reverb", 0.25}, {"delay", 0}, {"wide", 0}})) << "the send to the freed bus is gone";
    // Its slot is free again, with a fresh mix.
    EXPECT_EQ(ok("bus_create", {{"name", "again"}})["index"], 2);
    EXPECT_EQ(bus("again")["mute"], false);
    EXPECT_EQ(bus("again")["gain_db"], 0);
}

// Two identical tracks play a 220 Hz + 6 kHz tone, one hard left, one hard right (so each channel
// hears one). The left one is routed to a bus with a 500 Hz low-pass at sample T and back at T2:
// the channels agree exactly before T and part on T; while routed the 6 kHz is gone from the left
// (the 220 Hz kept), after T2 it is back; neither change clicks.
TEST_F(ServeBuses, ATrackRoutedToALowPassBusLosesItsHighsOnItsSampleWithoutAClick) {
    const std::string data = dir / "data";
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 '" + data + "/low.wav' synth 4 sine 220 vol 0.4").code, 0);
    ASSERT_EQ(runCommand("sox -n -r 44100 -c 1 '" + data + "/high.wav' synth 4 sine 6000 vol 0.05").code, 0);
    ASSERT_EQ(runCommand("sox -m -v 1 '" + data + "/low.wav' -v 1 '" + data + "/high.wav' -b 24 '" + data + "/tone.wav'").code, 0);
    for (const auto& [name, pan] : {std::pair{"a", -1}, std::pair{"b", 1}})
        ok("create_track", {{"name", name}, {"instrument", "sampler"}, {"options", {{"sample", "tone.wav"}}}, {"pan", pan}});
    ok("bus_create", {{"name", "dark"}, {"effects", {{{"type", "filter"}, {"params", {{"mode", 0}, {"cutoff", 500}}}}}}});
    const long first = ok("record_start", {{"file", "route.wav"}})["first_sample"];
    const long base = ok("status")["sample"].get<long>() + 8820;
    // A quarter period of 220 Hz past whole seconds: the tone is near its peak there, so a switch
    // without a crossfade would step by most of it.
    const long to = base + 44100 + 50, back = base + 88200 + 50;
    for (const char* t : {"a", "b"}) ok("play_note", {{"track", t}, {"note", 60}, {"velocity", 1}, {"duration", 3.5}, {"at", {{"sample", base}}}});
    EXPECT_EQ(ok("set_output", {{"track", "a"}, {"to", "dark"}, {"at", {{"sample", to}}}})["applied_at_sample"], to);
    EXPECT_EQ(ok("set_output", {{"track", "a"}, {"to", "master"}, {"at", {{"sample", back}}}})["applied_at_sample"], back);
    waitForSample(base + 3 * 44100);
    ok("record_stop");
    const auto [l, r] = channels(data + "/route.wav");
    ASSERT_GT(static_cast<long>(l.size()), base + 3 * 44100 - 4410 - first);
    const auto at = [&](long sample) { return static_cast<std::size_t>(sample - first); };
    // The channels part exactly on the stamped sample.
    std::size_t parted = at(base);
    while (parted < l.size() && std::abs(l[parted] - r[parted]) < 1e-4f) ++parted;
    EXPECT_GE(static_cast<long>(parted), static_cast<long>(at(to))) << "nothing changes before the stamped sample";
    EXPECT_LE(static_cast<long>(parted), static_cast<long>(at(to)) + 3) << "the crossfade starts on it";
    EXPECT_GT(std::abs(r[at(base) + 1000]), 0.0f) << "the tone plays";
    // Highs and lows of the left channel over 0.7 s windows: direct, routed, back.
    const auto band = [&](long from, const std::string& filter) {
        const auto out = runCommand("sox '" + data + "/route.wav' -n remix 1 trim " + std::to_string(from - first) + "s 30870s " + filter + " stats");
        return numberIn(out.output, R"(RMS lev dB\s+(-?[0-9.]+|-inf))");
    };
    const std::string highs = "highpass 3000 highpass 3000", lows = "lowpass 400 lowpass 400";
    const double highBefore = band(base + 8820, highs), highWith = band(to + 8820, highs), highAfter = band(back + 8820, highs);
    EXPECT_LT(highWith, highBefore - 25.0) << "through the bus's 500 Hz low-pass the 6 kHz is gone";
    EXPECT_NEAR(band(to + 8820, lows), band(base + 8820, lows), 3.0) << "and the 220 Hz stays";
    EXPECT_NEAR(highAfter, highBefore, 1.0) << "routed back, the highs return";
    // No click: the largest step within 15 ms of each change is no larger than the steps elsewhere.
    std::vector<float> steps;
    for (std::size_t i = at(base) + 4410; i < at(base + 3 * 44100) - 4410; ++i) {
        const bool near = (i + 662 > at(to) && i < at(to) + 662) || (i + 662 > at(back) && i < at(back) + 662);
        if (!near) steps.push_back(std::abs(l[i] - l[i - 1]));
    }
    std::sort(steps.begin(), steps.end());
    const float p999 = steps[steps.size() * 999 / 1000];
    for (const long change : {to, back}) {
        float largest = 0;
        for (std::size_t i = at(change) - 662; i < at(change) + 662; ++i) largest = std::max(largest, std::abs(l[i] - l[i - 1]));
        EXPECT_LE(largest, p999 * 1.1f) << "a step of " << largest << " at the change at " << change << " (99.9th percentile elsewhere " << p999 << ")";
    }
}

// Bus and master mix and chains are part of the state: each change is undone back to the state
// exactly, redone, saved to a project and loaded back; a project with a bad bus is refused by name.
TEST_F(ServeBuses, BusAndMasterChangesUndoExactlyAndTravelInProjects) {
    ok("create_track", {{"name", "lead"}, {"instrument", "subtractive"}});
    const json start = state();
    EXPECT_EQ(start["buses"].size(), 2u);
    EXPECT_EQ(start["master"], json({{"effects", json::array()}, {"gain_db", 0}, {"pan", 0}, {"mute", false}}));
    std::vector<json> states{start};
    const std::vector<std::pair<std::string, json>> edits = {
        {"bus_create", {{"name", "dark"}, {"effects", {{{"type", "filter"}, {"params", {{"cutoff", 900}}}}}}}},
        {"set_mix", {{"target", "dark"}, {"gain_db", -9}, {"pan", -0.25}}},
        {"set_mix", {{"target", "dark"}, {"mute", true}}},
        {"set_params", {{"track", "dark"}, {"effect", 0}, {"params", {{"cutoff", 1200}}}}},
        {"set_bypass", {{"track", "dark"}, {"effect", 0}, {"bypass", true}}},
        {"insert_effect", {{"track", "dark"}, {"type", "eq"}}},
        {"set_mix", {{"target", "reverb"}, {"gain_db", -4}}},
        {"set_params", {{"track", "delay"}, {"effect", 0}, {"params", {{"feedback", 0.5}}}}},
        {"set_mix", {{"target", "master"}, {"gain_db", -2}, {"pan", 0.1}}},
        {"insert_effect", {{"track", "master"}, {"type", "width"}}},
        {"set_mix", {{"target", "lead"}, {"sends", {{"dark", 0.75}}}}},
        {"set_output", {{"track", "lead"}, {"to", "dark"}}},
    };
    for (const auto& [op, args] : edits) {
        ok(op, args);
        states.push_back(state());
        EXPECT_NE(states.back(), states[states.size() - 2]) << op << " changes the state";
    }
    EXPECT_EQ(states.back()["tracks"][0]["output"], "dark");
    EXPECT_EQ(states.back()["tracks"][0]["sends"]["dark"], 0.75);
    EXPECT_EQ(states.back()["master"]["effects"][0]["type"], "width");
    EXPECT_EQ(states.back()["buses"][2]["effects"][0]["bypass"], true);
    ok("project_save", {{"file", "mix.json"}});
    for (std::size_t i = edits.size(); i-- > 0;) {
        EXPECT_EQ(ok("undo")["undone"], edits[i].first);
        EXPECT_EQ(state(), states[i]) << "undoing " << edits[i].first << " gives the state before it back exactly";
    }
    for (std::size_t i = 0; i < edits.size(); ++i) ok("redo");
    EXPECT_EQ(state(), states.back()) << "redone, all of it";
    ok("set_output", {{"track", "lead"}, {"to", "master"}});
    ok("bus_free", {{"bus", "dark"}});
    EXPECT_EQ(state()["buses"].size(), 2u);
    EXPECT_EQ(ok("undo")["undone"], "bus_free");
    EXPECT_EQ(state()["buses"][2]["effects"][1]["type"], "eq") << "the freed bus comes back whole";
    // The project brings the buses, the master and the routing back.
    ASSERT_NE(state(), states.back()) << "lead outputs to the master now";
    ok("project_load", {{"file", "mix.json"}});
    EXPECT_EQ(state(), states.back());
    json bad = states.back();
    bad["buses"][2]["effects"][0]["type"] = "warp";
    std::ofstream(dir / "data/bad.json") << bad.dump();
    refused("project_load", {{"file", "bad.json"}}, 400, "warp");
    bad = states.back();
    bad["buses"][0]["name"] = "hall";
    std::ofstream(dir / "data/bad.json") << bad.dump();
    refused("project_load", {{"file", "bad.json"}}, 400, "buses[0]: bus 0 is reverb");
    bad = states.back();
    bad["tracks"][0]["output"] = "nowhere";
    std::ofstream(dir / "data/bad.json") << bad.dump();
    refused("project_load", {{"file", "bad.json"}}, 400, "tracks[0].output: no bus 'nowhere'");
    EXPECT_EQ(state(), states.back()) << "a refused project changes nothing";
}

// The sequencer library alone: clips and patterns rendered to beats, swing, seeded
// probability, loops, pause and resume, cuts, launch quantisation and the parsers' limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sequencer/SequenceJson.h"
#include "sequencer/Sequencer.h"

using namespace soundstar::sequencer;
using nlohmann::json;

namespace {
std::vector<double> noteOns(const std::vector<Event>& events, const Sequencer* seq = nullptr) {
    std::vector<double> out;
    for (const auto& e : events)
        if (e.kind == Event::Kind::NoteOn && (!seq || seq->current(e))) out.push_back(e.beat);
    std::sort(out.begin(), out.end());
    return out;
}
Clip clip(const std::string& text) { return parseClip(json::parse(text)); }
}  // namespace

TEST(SequencerLib, AClipPlaysFromItsStartInSmallRendersAsInOne) {
    for (double chunk : {0.01, 0.3, 100.0}) {
        Sequencer s;
        s.setClip(clip(R"({"id":"a","track":"t","start":1,"length":2,"repeats":2,"notes":[{"note":60,"start":0},{"note":62,"start":1.5},{"note":64,"start":2.5}]})"));
        std::vector<Event> ev;
        s.play(10.0, 0.0, ev);
        for (double b = 10.0; b < 20.0; b += chunk) s.render(b + chunk, 0.1, ev);
        // The note at 2.5 lies past the clip's length (2) and never plays.
        EXPECT_EQ(noteOns(ev), (std::vector<double>{11.0, 12.5, 13.0, 14.5})) << chunk;
    }
}

TEST(SequencerLib, SwingDelaysOddStepsAndProbabilityFollowsTheSeed) {
    const auto hits = [](std::uint64_t seed) {
        Sequencer s;
        s.setClip(clip(R"({"id":"p","track":"t","start":0,"repeats":8,"pattern":{"steps":[{"velocity":1},{"velocity":1},{"velocity":1,"probability":0.5},{"velocity":0}],"step_beats":0.5,"swing":0.25,"seed":)" +
                       std::to_string(seed) + "}}"));
        std::vector<Event> ev;
        s.play(0.0, 0.0, ev);
        s.render(16.0, 0.1, ev);
        return noteOns(ev);
    };
    const auto a = hits(7);
    EXPECT_EQ(a, hits(7));
    EXPECT_NE(a, hits(8));
    EXPECT_EQ(a[0], 0.0);
    EXPECT_EQ(a[1], 0.625);  // step 1: 0.5 + 0.25 * 0.5
    const auto third = std::count_if(a.begin(), a.end(), [](double b) { return std::fmod(b, 2.0) == 1.0; });
    EXPECT_GT(third, 0);
    EXPECT_LT(third, 8);  // half of eight, give or take
}

TEST(SequencerLib, LoopsPausesAndSeeksKeepTheSongPosition) {
    Sequencer s;
    s.setClip(clip(R"({"id":"a","track":"t","start":0,"length":8,"notes":[{"note":60,"start":0},{"note":60,"start":3},{"note":60,"start":5}]})"));
    s.setLoop(std::make_pair(2.0, 4.0));
    std::vector<Event> ev;
    s.play(100.0, 0.0, ev);
    s.render(108.0, 0.1, ev);
    // 0..4 then 2..4 again and again: the note at 3 every two beats, the note at 5 never.
    EXPECT_EQ(noteOns(ev), (std::vector<double>{100.0, 103.0, 105.0, 107.0}));
    EXPECT_DOUBLE_EQ(s.songBeatAt(104.5), 2.5);
    ev.clear();
    s.pause(104.5, ev);  // cuts what was rendered after it and releases the track
    EXPECT_FALSE(s.current(Event{Event::Kind::NoteOn, 105.0, "t", 60, 1, {}, 0, 1}));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, Event::Kind::AllNotesOff);
    ev.clear();
    s.resume(200.0, ev);
    s.render(202.0, 0.1, ev);
    EXPECT_EQ(noteOns(ev), (std::vector<double>{200.5}));  // from 2.5 on, the note at 3
    EXPECT_EQ(s.toJson(201.0)["state"], "playing");
}

TEST(SequencerLib, LaunchesQuantiseToBarsAndReplaceTheTracksClip) {
    Sequencer s;
    EXPECT_EQ(s.quantise(4.1, 1.0), 8.0);
    EXPECT_EQ(s.quantise(8.0, 1.0), 8.0);
    EXPECT_EQ(s.quantise(4.1, 0.25), 5.0);
    EXPECT_EQ(s.quantise(4.1, 4.0), 16.0);
    EXPECT_EQ(s.quantise(4.1, 0.0), 4.1);
    s.setClip(clip(R"({"id":"a","track":"t","length":1,"notes":[{"note":60,"start":0}]})"));
    s.setClip(clip(R"({"id":"b","track":"t","length":1,"notes":[{"note":70,"start":0.5}]})"));
    std::vector<Event> ev;
    s.launchClip("a", 8.0, ev);
    s.render(10.5, 0.1, ev);
    s.launchClip("b", 10.0, ev);  // before what was rendered: a's beat 10 is cut
    s.render(12.0, 0.1, ev);
    EXPECT_EQ(noteOns(ev, &s), (std::vector<double>{8.0, 9.0, 10.5, 11.5}));
    // Launches waiting for their beat are bounded too.
    for (int i = 0; i < 1023; ++i) s.launchClip(i % 2 ? "a" : "b", 100.0 + i, ev);
    try {
        s.launchClip("a", 5000.0, ev);
        ADD_FAILURE() << "a launch past the limit was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("at most 1024"), std::string::npos) << e.what();
    }
}

TEST(SequencerLib, ParsersNameWhatIsWrongAndTheLimit) {
    const auto message = [](const std::string& text, bool lane) {
        try {
            lane ? (void)parseLane(json::parse(text)) : (void)parseClip(json::parse(text));
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message(R"({"id":"a","track":"t","notes":[{"note":200}]})", false).find("note.note is 200: allowed 0 to 127"), std::string::npos);
    EXPECT_NE(message(R"({"id":"a b","track":"t","notes":[]})", false).find("clip.id"), std::string::npos);
    EXPECT_NE(message(R"({"id":"a","track":"t","pattern":{"steps":[],"swing":0.5}})", false).find("1 to 64"), std::string::npos);
    EXPECT_NE(message(R"({"id":"l","target":{"track":"t","param":"cutoff"},"points":[{"beat":0,"value":1,"curve":"cubic"}]})", true).find("\"linear\" or \"exp\""), std::string::npos);
    const Lane l = parseLane(json::parse(R"({"id":"l","target":{"track":"t","param":"cutoff"},"points":[{"beat":4,"value":800},{"beat":0,"value":200,"curve":"exp"}]})"));
    EXPECT_DOUBLE_EQ(l.valueAt(2.0), 400.0);  // exponential: the geometric mean halfway
    EXPECT_DOUBLE_EQ(l.valueAt(-1.0), 200.0);
    EXPECT_DOUBLE_EQ(l.valueAt(9.0), 800.0);
    Sequencer s;
    for (std::size_t i = 0; i < kMaxClips; ++i) s.setClip(clip(R"({"id":"c)" + std::to_string(i) + R"(","track":"t","notes":[]})"));
    EXPECT_THROW(
        try { s.setClip(clip(R"({"id":"more","track":"t","notes":[]})")); } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("at most 256"), std::string::npos);
            throw;
        },
        std::invalid_argument);
}

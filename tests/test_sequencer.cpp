// The sequencer library alone: clips and patterns rendered to beats, swing, seeded
// probability, loops, pause and resume, cuts, launch quantisation and the parsers' limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

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
    EXPECT_FALSE(s.current(Event{Event::Kind::NoteOn, 105.0, "t", 60, 1, {}, 0, 1, {}, 0, 0, 0}));
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

// ---- time signatures, follow actions, audio clips (issue #16, part 2) ----

TEST(SequencerLib, TimeSignaturesPlaceBarsAndTheLaunchGrid) {
    MeterMap m;
    EXPECT_EQ(m.beatOfBar(3), 12.0);  // 4/4 by default
    m.set(parseMeters(json::parse(R"([{"bar":0,"numerator":3,"denominator":4},{"bar":4,"numerator":7,"denominator":8}])")));
    EXPECT_EQ(m.beatOfBar(2), 6.0);
    EXPECT_EQ(m.beatOfBar(4), 12.0);
    EXPECT_EQ(m.beatOfBar(6), 19.0);  // two bars of 3.5 beats
    EXPECT_EQ(m.barAt(15.5), 5.0);
    EXPECT_DOUBLE_EQ(m.barAt(13.75), 4.5);
    EXPECT_EQ(m.meterAt(11.9).numerator, 3);
    EXPECT_EQ(m.meterAt(12.0).denominator, 8);
    // Launches: every bar lands on a multiple of 3 beats in 3/4, then on the 7/8 grid.
    EXPECT_EQ(m.quantise(0.1, 1), 3.0);
    EXPECT_EQ(m.quantise(3.0, 1), 3.0);
    EXPECT_EQ(m.quantise(7.5, 2), 12.0);  // bars 0, 2, 4
    EXPECT_EQ(m.quantise(12.2, 1), 15.5);
    EXPECT_EQ(m.quantise(12.2, 0.5), 13.75);
    EXPECT_EQ(m.quantise(12.2, 0), 12.2);
    for (const char* bad : {R"([])", R"([{"bar":1,"numerator":4,"denominator":4}])", R"([{"bar":0,"numerator":33,"denominator":4}])",
                            R"([{"bar":0,"numerator":4,"denominator":3}])", R"([{"bar":0,"numerator":4,"denominator":4},{"bar":0,"numerator":3,"denominator":4}])",
                            R"([{"bar":0.5,"numerator":4,"denominator":4}])"})
        EXPECT_THROW(parseMeters(json::parse(bad)), std::invalid_argument) << bad;
    json many = json::array();
    for (int i = 0; i < 65; ++i) many.push_back({{"bar", i}, {"numerator", 4}, {"denominator", 4}});
    try {
        parseMeters(many);
        ADD_FAILURE() << "65 signatures accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("at most 64"), std::string::npos) << e.what();
    }
}

TEST(SequencerLib, FollowActionsMoveThroughTheTracksSlots) {
    const auto run = [](const std::string& action, double until) {
        Sequencer s;
        for (int i = 0; i < 3; ++i) {
            s.setClip(clip(R"({"id":"c)" + std::to_string(i) + R"(","track":"t","length":4,"notes":[{"note":)" + std::to_string(60 + i) +
                           R"(,"start":0}],"follow":{"action":")" + action + R"(","after_bars":1,"seed":3}})"));
            s.setSlot(i * 2, "", "c" + std::to_string(i));  // scenes 0, 2, 4
        }
        std::vector<Event> ev;
        s.launchScene(2, 4.0, ev);
        for (double b = 4.0; b < until; b += 0.3) s.render(b + 0.3, 0.1, ev);
        std::vector<std::pair<double, float>> notes;
        for (const auto& e : ev)
            if (e.kind == Event::Kind::NoteOn && s.current(e) && e.beat < until) notes.emplace_back(e.beat, e.note);
        std::sort(notes.begin(), notes.end());
        return notes;
    };
    using N = std::vector<std::pair<double, float>>;
    EXPECT_EQ(run("next", 20), (N{{4, 61}, {8, 62}, {12, 60}, {16, 61}}));  // after the last: the first
    EXPECT_EQ(run("previous", 20), (N{{4, 61}, {8, 60}, {12, 62}, {16, 61}}));
    EXPECT_EQ(run("first", 16), (N{{4, 61}, {8, 60}, {12, 60}}));
    EXPECT_EQ(run("again", 16), (N{{4, 61}, {8, 61}, {12, 61}}));
    EXPECT_EQ(run("stop", 16), (N{{4, 61}}));
    const auto a = run("random", 44);
    EXPECT_EQ(a, run("random", 44));  // seeded
    std::set<float> seen;
    for (const auto& [b, n] : a) seen.insert(n);
    EXPECT_EQ(seen.size(), 3u) << "ten draws over three slots";
    EXPECT_EQ(a.size(), 10u);
}

TEST(SequencerLib, AudioClipsStartTheirSampleEachRepetitionAndJoinMidWay) {
    Sequencer s;
    s.setClip(clip(R"({"id":"a","track":"t","start":2,"length":4,"repeats":2,"audio":{"sample":"loop","offset":0.5,"gain_db":-6}})"));
    std::vector<Event> ev;
    s.play(10.0, 0.0, ev);
    s.render(30.0, 0.1, ev);
    std::vector<std::pair<double, Event::Kind>> got;
    for (const auto& e : ev) {
        EXPECT_EQ(e.sample, "loop");
        EXPECT_EQ(e.offsetSeconds, 0.5);
        EXPECT_EQ(e.gainDb, -6.0);
        EXPECT_EQ(e.intoBeats, 0.0);
        got.emplace_back(e.beat, e.kind);
    }
    std::sort(got.begin(), got.end());
    using K = Event::Kind;
    EXPECT_EQ(got, (std::vector<std::pair<double, K>>{{12, K::SampleOn}, {16, K::NoteOff}, {16, K::SampleOn}, {20, K::NoteOff}}));
    // A play from song beat 3 joins the first repetition one beat in.
    ev.clear();
    s.play(40.0, 3.0, ev);
    s.render(41.0, 0.1, ev);
    const auto on = std::find_if(ev.begin(), ev.end(), [](const Event& e) { return e.kind == K::SampleOn; });
    ASSERT_NE(on, ev.end());
    EXPECT_EQ(on->beat, 40.0);
    EXPECT_EQ(on->intoBeats, 1.0);
    EXPECT_THROW(clip(R"({"id":"a","track":"t","audio":{"sample":"loop"}})"), std::invalid_argument);  // no length
    EXPECT_THROW(clip(R"({"id":"a","track":"t","length":1,"audio":{"sample":"loop"},"notes":[]})"), std::invalid_argument);
    EXPECT_THROW(clip(R"({"id":"a","track":"t","length":1,"audio":{"sample":"loop","offset":-1}})"), std::invalid_argument);
    EXPECT_THROW(clip(R"({"id":"a","track":"t","length":1,"notes":[],"follow":{"action":"sideways"}})"), std::invalid_argument);
    const Clip round = clip(R"({"id":"a","track":"t","length":1,"audio":{"sample":"s","offset":1.5},"follow":{"action":"random","after_bars":2,"seed":9}})");
    EXPECT_EQ(toJson(parseClip(toJson(round))), toJson(round));
}

// ---- the tempo lane (issue #16, part 3) ----

namespace {
struct TempoAt {
    double beat, bpm, rampTo, rampBeats;
    bool operator==(const TempoAt&) const = default;
};
std::vector<TempoAt> tempos(const std::vector<Event>& events, const Sequencer& s) {
    std::vector<TempoAt> out;
    for (const auto& e : events)
        if (e.kind == Event::Kind::Tempo && s.current(e)) out.push_back({e.beat, std::isnan(e.value) ? -1.0 : e.value, e.rampToBpm, e.rampBeats});
    std::sort(out.begin(), out.end(), [](const TempoAt& a, const TempoAt& b) { return a.beat < b.beat; });
    return out;
}
std::ostream& operator<<(std::ostream& o, const TempoAt& t) { return o << "{" << t.beat << " " << t.bpm << " ->" << t.rampTo << " /" << t.rampBeats << "}"; }
}  // namespace

TEST(SequencerLib, TheTempoLaneSetsTheTempoOnItsBeatsThroughPlaysLoopsSeeksAndPauses) {
    Sequencer s;
    // 100 bpm, from beat 2 a ramp from 140 to 80 over four beats, 80 from beat 6 on.
    s.setTempoLane(parseTempoLane(json::parse(R"([{"beat":0,"bpm":100},{"beat":2,"bpm":140,"curve":"linear"},{"beat":6,"bpm":80}])")));
    EXPECT_DOUBLE_EQ(s.tempoLane().bpmAt(4.0), 110.0);
    EXPECT_DOUBLE_EQ(s.tempoLane().bpmAt(-1.0), 100.0);
    EXPECT_DOUBLE_EQ(s.tempoLane().bpmAt(9.0), 80.0);
    for (double chunk : {0.07, 1.0, 100.0}) {  // small renders give what one does
        Sequencer t;
        t.setTempoLane(s.tempoLane());
        std::vector<Event> ev;
        t.play(10.0, 0.0, ev);
        for (double b = 10.0; b < 20.0; b += chunk) t.render(std::min(20.0, b + chunk), 0.1, ev);
        EXPECT_EQ(tempos(ev, t), (std::vector<TempoAt>{{10, 100, 0, 0}, {12, 140, 80, 4}, {16, 80, 0, 0}})) << chunk;
    }
    // A play from the middle of the ramp starts where it has got to and ramps on to its end.
    std::vector<Event> ev;
    s.play(50.0, 3.0, ev);
    s.render(51.0, 0.1, ev);
    EXPECT_EQ(tempos(ev, s), (std::vector<TempoAt>{{50, 125, 80, 3}}));
    // A loop from 1 to 3 sets the tempo afresh each time round; a pause holds it.
    ev.clear();
    s.setLoop(std::make_pair(1.0, 3.0));
    s.play(100.0, 0.0, ev);
    s.render(104.9, 0.1, ev);
    EXPECT_EQ(tempos(ev, s), (std::vector<TempoAt>{{100, 100, 0, 0}, {102, 140, 80, 4}, {103, 100, 0, 0}, {104, 140, 80, 4}}));
    ev.clear();
    s.render(106.0, 0.1, ev);
    s.pause(105.5, ev);  // cuts the wrap's tempo at 105 rendered before it: no, 105 < 105.5 stands
    const auto after = tempos(ev, s);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0], (TempoAt{105, 100, 0, 0}));
    EXPECT_EQ(after[1], (TempoAt{105.5, -1, 0, 0})) << "a pause holds the tempo playing";
    // An edited lane takes over at the next render; an emptied one holds what plays.
    ev.clear();
    s.resume(200.0, ev);
    s.render(200.5, 0.1, ev);
    s.setTempoLane(parseTempoLane(json::parse(R"([{"beat":0,"bpm":90}])")));
    s.render(201.0, 0.1, ev);
    s.setTempoLane({});
    s.render(201.5, 0.1, ev);
    s.render(202.0, 0.1, ev);
    const auto edited = tempos(ev, s);
    ASSERT_EQ(edited.size(), 3u);
    EXPECT_EQ(edited[1], (TempoAt{200.5, 90, 0, 0}));
    EXPECT_EQ(edited[2], (TempoAt{201.0, -1, 0, 0}));
    EXPECT_EQ(s.contentJson()["tempo"], json::array());
}

TEST(SequencerLib, TempoLanesAreCheckedByName) {
    const auto message = [](const std::string& text) {
        try {
            (void)parseTempoLane(json::parse(text));
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message(R"([{"beat":0,"bpm":500}])").find("tempo point.bpm is 500: allowed 20 to 400"), std::string::npos);
    EXPECT_NE(message(R"([{"beat":4,"bpm":100},{"beat":4,"bpm":90}])").find("beats must rise"), std::string::npos);
    EXPECT_NE(message(R"([{"beat":0,"bpm":100,"curve":"linear"},{"beat":5000,"bpm":90}])").find("at most 4096"), std::string::npos);
    EXPECT_NE(message(R"([{"beat":0,"bpm":100,"curve":"exp"}])").find("\"step\" or \"linear\""), std::string::npos);
    EXPECT_NE(message(R"([{"beat":0}])").find("needs \"beat\" and \"bpm\""), std::string::npos);
    EXPECT_NE(message(R"({"beat":0})").find("must be an array"), std::string::npos);
    json many = json::array();
    for (std::size_t i = 0; i <= kMaxTempoPoints; ++i) many.push_back({{"beat", i}, {"bpm", 120}});
    EXPECT_NE(message(many.dump()).find("1025 points: at most 1024"), std::string::npos);
    const TempoLane t = parseTempoLane(json::parse(R"([{"beat":0,"bpm":100,"curve":"linear"},{"beat":8,"bpm":90}])"));
    EXPECT_EQ(parseTempoLane(toJson(t)), t);
}

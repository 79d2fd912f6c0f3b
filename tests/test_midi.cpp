// The MIDI file read back by an independent reader (python3 + mido, tests/midi_notes.py) and
// compared note by note with the score it was written from: track names and channels, note
// numbers, counts per track, onsets and lengths in ticks against the score's beats, velocities,
// tempo, time and key signatures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <tuple>

#include "Mido.h"
#include "compose/SketchComposer.h"
#include "music/MidiFile.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
constexpr int kPpq = 480;

struct Case {
    const char* config;
    double seconds;
    const char* key;  // mido's name of the key signature
};
}  // namespace

TEST(MidiFile, ReadBackByMidoItMatchesTheScoreNoteForNote) {
    if (test::pythonWithMido().empty()) GTEST_SKIP() << "python3-mido missing (scripts/setup installs it)";
    const Case cases[] = {
        {R"({"density":6,"rhythm":"kit_medium","tempo":"fast","root":"f#","mode":"minor","seed":11})", 12.0,
         "F#m"},
        {R"({"density":3,"bpm":97,"root":"e","mode":"dorian","rhythm":"none","seed":4})", 9.0, "D"},
        {R"({"density":5,"bpm":140,"root":"a","mode":"major","rhythm":"electronic","seed":2})", 8.0, "A"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.config);
        const auto cfg = music::parseMusicConfig(c.config);
        const auto score = compose::composeFromConfig(cfg, c.seconds);
        test::TempDir dir;
        const auto path = dir / "s.mid";
        music::writeMidiFile(path, score, {cfg.root, cfg.mode});
        const auto m = test::readWithMido(path);
        ASSERT_FALSE(m.contains("error")) << m.dump();
        EXPECT_EQ(m["type"], 1);
        EXPECT_EQ(m["ticks_per_beat"], kPpq);
        ASSERT_EQ(m["tempos"].size(), 1u);
        EXPECT_EQ(m["tempos"][0][0], 0);
        EXPECT_NEAR(m["tempos"][0][1].get<double>(), 60e6 / score.bpm, 0.5) << "microseconds per beat";
        EXPECT_EQ(m["time_signatures"],
                  nlohmann::json::array({nlohmann::json::array({0, score.beatsPerBar, 4})}));
        ASSERT_EQ(m["keys"].size(), 1u);
        EXPECT_EQ(m["keys"][0][1], c.key);
        // A conductor track, then one per layer, in the score's order, with the score's notes.
        const auto& tracks = m["tracks"];
        ASSERT_EQ(tracks.size(), score.tracks.size() + 1);
        EXPECT_TRUE(tracks[0]["notes"].empty());
        std::vector<int> melodicChannels;
        bool sawDrums = false;
        for (std::size_t i = 0; i < score.tracks.size(); ++i) {
            const auto& st = score.tracks[i];
            const auto& mt = tracks[i + 1];
            SCOPED_TRACE(st.name);
            EXPECT_EQ(mt["name"], st.name);
            EXPECT_EQ(mt["unmatched_ons"], 0);
            EXPECT_EQ(mt["unmatched_offs"], 0);
            ASSERT_FALSE(st.notes.empty());
            ASSERT_EQ(mt["channels"].size(), 1u) << "one channel per layer";
            const int ch = mt["channels"][0];
            if (st.name == "drums") {
                EXPECT_EQ(ch, 9) << "drums on channel 10";
                sawDrums = true;
            } else {
                EXPECT_NE(ch, 9);
                melodicChannels.push_back(ch);
                EXPECT_EQ(mt["programs"].size(), 1u);
            }
            // The score's notes, in the order the reader sorts them: (onset tick, note).
            std::vector<std::tuple<long, int, double, double>>
                expected;  // onset tick, note, beats start, length
            for (const auto& n : st.notes)
                expected.emplace_back(std::max(0L, std::lround(n.start * kPpq)),
                                      static_cast<int>(std::lround(n.note)), n.start, n.length);
            std::sort(expected.begin(), expected.end());
            const auto& notes = mt["notes"];
            ASSERT_EQ(notes.size(), expected.size()) << "notes in the file vs the score";
            for (std::size_t k = 0; k < expected.size(); ++k) {
                const auto& [tick, note, start, length] = expected[k];
                const long on = notes[k][0], off = notes[k][1];
                ASSERT_EQ(notes[k][2], note) << "note " << k;
                // A humanised note a hair before the first beat starts at tick 0 in the file.
                ASSERT_NEAR(static_cast<double>(on) / kPpq, std::max(0.0, start), 0.5 / kPpq)
                    << "onset of note " << k;
                ASSERT_NEAR(static_cast<double>(off) / kPpq,
                            std::max(start + length, static_cast<double>(on + 1) / kPpq), 0.5 / kPpq + 1e-9)
                    << "end of note " << k;
                const int vel = notes[k][3];
                EXPECT_GE(vel, 1);
                EXPECT_LE(vel, 127);
            }
            // Velocities follow the score: the loudest note is the one with the highest velocity.
            const auto loud =
                std::max_element(st.notes.begin(), st.notes.end(),
                                 [](const auto& a, const auto& b) { return a.velocity < b.velocity; });
            int maxVel = 0;
            for (const auto& n : notes) maxVel = std::max(maxVel, n[3].get<int>());
            EXPECT_NEAR(maxVel, loud->velocity * 127.0f, 1.0);
            // Everything ends within the score's length.
            EXPECT_LE(static_cast<double>(notes.back()[0].get<long>()) / kPpq, score.lengthBeats);
        }
        std::sort(melodicChannels.begin(), melodicChannels.end());
        EXPECT_EQ(std::adjacent_find(melodicChannels.begin(), melodicChannels.end()), melodicChannels.end())
            << "each melodic layer has its own channel";
        EXPECT_EQ(sawDrums, std::string(c.config).find(R"("rhythm":"none")") == std::string::npos);
    }
}

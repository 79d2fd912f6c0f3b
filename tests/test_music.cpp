// MusicConfig: every field, validation messages, key parsing, relative updates, the schema file,
// and a fuzz-style pass of random and malformed JSON that must never crash the parser.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "compose/SketchConfig.h"
#include "core/Rng.h"
#include "music/MusicConfig.h"

using namespace soundstar;
using namespace soundstar::music;

namespace {
std::string errorOf(const std::string& json) {
    try {
        parseMusicConfig(json, "c.json");
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}
}  // namespace

TEST(MusicConfig, HasAllLatentScoreFieldsPlusExplicitOnes) {
    const auto f = musicConfigFields();
    for (const char* name :
         {"tempo", "brightness", "space", "motion", "stereo", "echo", "human", "attack", "grain", "density", "root",
          "mode", "bass", "pad", "melody", "rhythm", "texture", "accent", "depth", "melody_engine", "phrase_len_bars",
          "melody_density", "syncopation", "swing", "motif_repeat_prob", "step_bias", "chromatic_prob",
          "register_min_oct", "register_max_oct", "harmony_style", "chord_change_bars", "chord_extensions",
          "cadence_strength", "tension_curve", "bpm", "key", "genre", "mood", "instrumentation", "seed"})
        EXPECT_NE(std::find(f.begin(), f.end(), name), f.end()) << name;
}

TEST(MusicConfig, TempoLabelsMapToLatentScoreBpm) {
    MusicConfig c;
    const std::vector<std::pair<std::string, double>> expect{
        {"very_slow", 71.5}, {"slow", 88.0}, {"medium", 110.0}, {"fast", 132.0}, {"very_fast", 154.0}};
    for (const auto& [label, bpm] : expect) {
        c.tempo = label;
        EXPECT_DOUBLE_EQ(c.resolvedBpm(), bpm) << label;
    }
    c.bpm = 97.0;
    EXPECT_DOUBLE_EQ(c.resolvedBpm(), 97.0);  // explicit bpm overrides the label
}

TEST(MusicConfig, RoundTripsThroughJson) {
    MusicConfig c = parseMusicConfig(R"({"tempo":"fast","brightness":"very_dark","density":6,"root":"f#","mode":"dorian",
        "bass":"walking","pad":"cinematic","melody":"heroic","rhythm":"military","texture":"stars","accent":"chime",
        "depth":false,"swing":0.3,"register_min_oct":3,"register_max_oct":5,"chord_extensions":"lush","bpm":133.5,
        "genre":"jazz","mood":"tense","instrumentation":["piano","strings"],"seed":42})");
    const MusicConfig back = parseMusicConfig(toJson(c));
    EXPECT_EQ(toJson(back), toJson(c));
    EXPECT_EQ(back.root, 6);
    EXPECT_EQ(back.mode, Mode::Dorian);
    EXPECT_EQ(back.instrumentation.size(), 2u);
    EXPECT_EQ(*back.seed, 42u);
    EXPECT_FALSE(back.depth);
}

TEST(MusicConfig, ErrorsNameTheFieldTheValueAndWhatIsAllowed) {
    EXPECT_NE(errorOf(R"({"brightness":"blinding"})").find(
                  "field 'brightness' = \"blinding\" is invalid: allowed one of very_dark, dark, medium, bright, very_bright"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"density":7})").find("field 'density' = 7 is invalid: allowed an integer from 2 to 6"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"density":3.5})").find("field 'density'"), std::string::npos);
    EXPECT_NE(errorOf(R"({"bpm":"fast"})").find("field 'bpm'"), std::string::npos);
    EXPECT_NE(errorOf(R"({"root":"h"})").find("a pitch class"), std::string::npos);
    EXPECT_NE(errorOf(R"({"colour":"red"})").find("unknown field 'colour'; fields: tempo,"), std::string::npos);
    EXPECT_NE(errorOf(R"({"register_min_oct":6,"register_max_oct":4})").find("must not be above"), std::string::npos);
    EXPECT_NE(errorOf("[1,2]").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(errorOf("{\"tempo\":").find("not valid JSON"), std::string::npos);
}

TEST(MusicConfig, KeyStringsSetRootAndMode) {
    EXPECT_EQ(parseMusicConfig(R"({"key":"F# minor"})").root, 6);
    EXPECT_EQ(parseMusicConfig(R"({"key":"F# minor"})").mode, Mode::Minor);
    const auto c = parseMusicConfig(R"({"key":"b flat dorian"})");
    EXPECT_EQ(c.root, 10);
    EXPECT_EQ(c.mode, Mode::Dorian);
    EXPECT_EQ(parseMusicConfig(R"({"key":"E","mode":"major"})").root, 4);
    EXPECT_NE(errorOf(R"({"key":"H minor"})").find("field 'key'"), std::string::npos);
}

TEST(MusicConfigUpdate, StepsMoveAlongScalesAndSaturate) {
    MusicConfig c;  // brightness medium, tempo medium
    c = applyUpdate(c, R"({"brightness":"+2","space":-1})");
    EXPECT_EQ(c.brightness, "very_bright");
    EXPECT_EQ(c.space, "small");
    c = applyUpdate(c, R"({"brightness":"+3","attack":-5})");
    EXPECT_EQ(c.brightness, "very_bright");  // saturates at the top
    EXPECT_EQ(c.attack, "soft");             // and at the bottom of a three-label scale
    c = applyUpdate(c, R"({"rhythm":"electronic","density":"+1","swing":"+0.25","bpm":"+10"})");
    EXPECT_EQ(c.rhythm, "electronic");
    EXPECT_EQ(c.density, 5);
    EXPECT_DOUBLE_EQ(c.swing, 0.25);
    EXPECT_DOUBLE_EQ(*c.bpm, 120.0);  // medium (110) + 10
    c = applyUpdate(c, R"({"density":"+9"})");
    EXPECT_EQ(c.density, 6);
    EXPECT_THROW(applyUpdate(c, R"({"rhythm":"+1"})"), std::invalid_argument);  // not a scale
    EXPECT_THROW(applyUpdate(c, R"({"brightness":"+x"})"), std::invalid_argument);
}

TEST(MusicConfig, SchemaFileInDataMatchesTheParser) {
    std::ifstream in(SOUNDSTAR_DATA "/music_config.schema.json");
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), musicConfigSchema()) << "regenerate with: soundstar schema > data/music_config.schema.json";
    const auto schema = nlohmann::json::parse(ss.str());
    EXPECT_FALSE(schema["additionalProperties"].get<bool>());
    EXPECT_EQ(schema["properties"].size(), musicConfigFields().size());
}

TEST(MusicConfig, FieldShapesSayWhatTheSchemaSays) {
    const auto schema = nlohmann::json::parse(musicConfigSchema());
    const auto shapes = musicConfigShapes();
    ASSERT_EQ(shapes.size(), schema["properties"].size());
    std::size_t enums = 0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const auto& s = shapes[i];
        EXPECT_EQ(s.name, musicConfigFields()[i]);
        ASSERT_TRUE(schema["properties"].contains(s.name)) << s.name;
        const auto& p = schema["properties"][s.name];
        EXPECT_EQ(s.type, p["type"].get<std::string>()) << s.name;
        EXPECT_EQ(s.isEnum, p.contains("enum")) << s.name;
        if (p.contains("enum")) {
            EXPECT_EQ(s.labels, p["enum"].get<std::vector<std::string>>()) << s.name;
            ++enums;
        } else {
            EXPECT_TRUE(s.labels.empty()) << s.name;
        }
    }
    EXPECT_GE(enums, 10u);  // the scales and choices are there, not an empty table
}

TEST(MusicConfig, RandomAndMalformedJsonNeverCrashes) {
    Rng rng(2024);
    const std::vector<std::string> fields = musicConfigFields();
    const std::vector<std::string> values{"0", "-1", "1e309", "\"\"", "\"medium\"", "null", "true", "[]", "{}",
                                          "\"+1\"", "\"-99\"", "3.5", "\"F# minor\"", "[\"a\",1]", "18446744073709551616",
                                          "\"\\u0000\"", "\"c#\"", "7", "\"very_bright\""};
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = "{";
        const int n = rng.range(0, 4);
        for (int k = 0; k < n; ++k) {
            if (k) text += ",";
            const std::string& f = fields[static_cast<std::size_t>(rng.range(0, static_cast<int>(fields.size()) - 1))];
            text += "\"" + (rng.chance(0.05f) ? f + "x" : f) + "\":" +
                    values[static_cast<std::size_t>(rng.range(0, static_cast<int>(values.size()) - 1))];
        }
        text += "}";
        // Sometimes damage the text itself.
        if (rng.chance(0.2f) && !text.empty()) text.erase(static_cast<std::size_t>(rng.range(0, static_cast<int>(text.size()) - 1)), 1);
        if (rng.chance(0.1f)) text.insert(static_cast<std::size_t>(rng.range(0, static_cast<int>(text.size()))), 1, static_cast<char>(rng.range(1, 255)));
        try {
            const MusicConfig c = parseMusicConfig(text);
            ++accepted;
            EXPECT_NO_THROW(applyUpdate(c, R"({"brightness":"+1","tempo":-1})"));
            EXPECT_NO_THROW(compose::composeFromConfig(c, 5.0));
        } catch (const std::invalid_argument& e) {
            ++rejected;
            EXPECT_GT(std::string(e.what()).size(), 10u);
        }
    }
    EXPECT_GT(accepted, 100);
    EXPECT_GT(rejected, 100);
}

namespace {
/// What a layer does, in numbers: notes per bar, mean pitch, mean length, and where in the bar
/// (16 steps) and on which notes it plays.
struct Signature {
    double perBar = 0, meanPitch = 0, meanLength = 0;
    std::array<double, 16> steps{};
    std::map<int, double> pitches;
};
Signature signatureOf(const music::Score& s, const std::string& layer) {
    Signature g;
    for (const auto& t : s.tracks) {
        if (t.name != layer) continue;
        for (const auto& n : t.notes) {
            g.perBar += 1;
            g.meanPitch += n.note;
            g.meanLength += n.length;
            const int step = static_cast<int>(std::lround(std::fmod(n.start, 4.0) * 4.0)) % 16;
            g.steps[static_cast<std::size_t>(step)] += 1;
            g.pitches[static_cast<int>(std::lround(n.note))] += 1;
        }
    }
    const double n = std::max(1.0, g.perBar);
    g.meanPitch /= n;
    g.meanLength /= n;
    for (auto& v : g.steps) v /= n;
    for (auto& [k, v] : g.pitches) v /= n;
    return g;
}
double distance(const Signature& a, const Signature& b) {
    double d = std::abs(a.perBar - b.perBar) / std::max(a.perBar, b.perBar) + std::abs(a.meanPitch - b.meanPitch) / 12.0 +
               std::abs(a.meanLength - b.meanLength);
    for (std::size_t i = 0; i < 16; ++i) d += std::abs(a.steps[i] - b.steps[i]);
    std::map<int, double> all = a.pitches;
    for (const auto& [k, v] : b.pitches) all[k] += 0.0;
    for (const auto& [k, v] : all) {
        const auto ia = a.pitches.find(k), ib = b.pitches.find(k);
        d += std::abs((ia == a.pitches.end() ? 0.0 : ia->second) - (ib == b.pitches.end() ? 0.0 : ib->second));
    }
    return d;
}
void expectAllDistinct(const std::string& field, const std::vector<std::string>& styles, const std::string& layer) {
    std::vector<Signature> sigs;
    for (const auto& st : styles) {
        const auto c = parseMusicConfig(R"({"density":6,"tempo":"medium","seed":21,")" + field + R"(":")" + st + R"("})");
        sigs.push_back(signatureOf(compose::composeFromConfig(c, 60.0), layer));
    }
    for (std::size_t i = 0; i < styles.size(); ++i)
        for (std::size_t j = i + 1; j < styles.size(); ++j)
            EXPECT_GT(distance(sigs[i], sigs[j]), 0.3) << field << ": " << styles[i] << " and " << styles[j] << " play alike";
}
}  // namespace

TEST(LayerStyles, EveryRhythmStyleHasItsOwnPattern) {
    expectAllDistinct("rhythm",
                      {"minimal", "heartbeat", "soft_four", "hats_only", "electronic", "kit_light", "kit_medium",
                       "military", "tabla_essence", "brush"},
                      "drums");
    const auto none = compose::composeFromConfig(parseMusicConfig(R"({"density":6,"rhythm":"none"})"), 30.0);
    for (const auto& t : none.tracks) EXPECT_NE(t.name, "drums");
}

TEST(LayerStyles, EveryBassStyleHasItsOwnLine) {
    expectAllDistinct("bass", {"drone", "sustained", "pulsing", "walking", "fifth_drone", "sub_pulse", "octave", "arp_bass"},
                      "bass");
}

TEST(LayerStyles, EveryPadStyleHasItsOwnVoicing) {
    expectAllDistinct("pad", {"warm_slow", "dark_sustained", "cinematic", "thin_high", "ambient_drift", "stacked_fifths", "bright_open"},
                      "pad");
}

TEST(LayerStyles, EveryMelodyStyleHasItsOwnLine) {
    expectAllDistinct("melody",
                      {"procedural", "contemplative", "rising", "falling", "minimal", "ornamental", "arp_melody",
                       "contemplative_minor", "call_response", "heroic"},
                      "lead");
}

TEST(LayerStyles, EveryAccentStyleHasItsOwnPartAndNoneHasNone) {
    expectAllDistinct("accent",
                      {"bells", "pluck", "chime", "bells_dense", "blip", "blip_random", "brass_hit", "wind", "arp_accent",
                       "piano_note"},
                      "arp");
    const auto none = compose::composeFromConfig(parseMusicConfig(R"({"density":6,"accent":"none"})"), 30.0);
    for (const auto& t : none.tracks) EXPECT_NE(t.name, "arp");
}

TEST(LayerStyles, EveryTextureStyleHasItsOwnBed) {
    expectAllDistinct("texture",
                      {"shimmer", "shimmer_slow", "vinyl_crackle", "breath", "stars", "glitch", "noise_wash", "crystal",
                       "pad_whisper"},
                      "texture");
    const auto none = compose::composeFromConfig(parseMusicConfig(R"({"density":6,"texture":"none"})"), 30.0);
    for (const auto& t : none.tracks) EXPECT_NE(t.name, "texture");
}

TEST(LayerStyles, RisingAndFallingMelodiesMoveTheirWay) {
    // Count steps up and down between neighbouring notes (jumps over a fifth are phrase resets).
    const auto ups = [](const char* style) {
        const auto c = parseMusicConfig(std::string(R"({"density":6,"motif_repeat_prob":0,"seed":4,"melody":")") + style + "\"}");
        int up = 0, down = 0;
        for (const auto& t : compose::composeFromConfig(c, 60.0).tracks)
            if (t.name == "lead")
                for (std::size_t i = 1; i < t.notes.size(); ++i) {
                    const float d = t.notes[i].note - t.notes[i - 1].note;
                    if (d > 0 && d <= 7) ++up;
                    if (d < 0 && d >= -7) ++down;
                }
        return static_cast<double>(up) / std::max(down, 1);
    };
    EXPECT_GT(ups("rising"), 1.5);
    EXPECT_LT(ups("falling"), 1.0 / 1.5);
}

TEST(LayerStyles, SwingDelaysTheOffbeatSixteenths) {
    const auto straight = compose::composeFromConfig(parseMusicConfig(R"({"rhythm":"electronic","human":"robotic","seed":1})"), 20.0);
    const auto swung = compose::composeFromConfig(parseMusicConfig(R"({"rhythm":"electronic","human":"robotic","swing":1.0,"seed":1})"), 20.0);
    // Where each drum hit falls inside its 16th: on the grid (near 0 or 1) or a third late.
    const auto count = [](const music::Score& s, double lo, double hi) {
        int n = 0;
        for (const auto& t : s.tracks)
            if (t.name == "drums")
                for (const auto& e : t.notes) {
                    const double sixteenth = e.start * 4.0, frac = sixteenth - std::floor(sixteenth);
                    n += frac > lo && frac < hi ? 1 : 0;
                }
        return n;
    };
    EXPECT_EQ(count(straight, 0.2, 0.8), 0);
    EXPECT_GE(count(swung, 0.28, 0.39), 20);  // full swing: off-beat 16ths a triplet 16th late
    EXPECT_EQ(count(swung, 0.45, 0.8), 0);
}

namespace {
/// Pad chords as the sets of pitches starting on each bar line (warm_slow pads: one chord a bar).
std::vector<std::vector<int>> padChords(const std::string& json) {
    const auto score = compose::composeFromConfig(parseMusicConfig(json), 60.0);
    std::map<long, std::vector<int>> byStart;
    for (const auto& t : score.tracks)
        if (t.name == "pad")
            for (const auto& n : t.notes) byStart[std::lround(n.start * 1000)].push_back(static_cast<int>(n.note));
    std::vector<std::vector<int>> out;
    for (auto& [k, v] : byStart) {
        std::sort(v.begin(), v.end());
        out.push_back(v);
    }
    return out;
}
int chordChanges(const std::vector<std::vector<int>>& chords) {
    int n = 0;
    for (std::size_t i = 1; i < chords.size(); ++i) n += chords[i] != chords[i - 1] ? 1 : 0;
    return n;
}
}  // namespace

TEST(Harmony, ChordChangeBarsSlowsTheHarmonicRhythm) {
    const std::string base = R"({"pad":"warm_slow","cadence_strength":0,"harmony_style":"pop","seed":3,"chord_change_bars":)";
    const int every1 = chordChanges(padChords(base + "1}")), every4 = chordChanges(padChords(base + "4}"));
    EXPECT_GT(every1, 2 * every4) << every1 << " vs " << every4;
}

TEST(Harmony, ExtensionsAddSeventhsAndNinths) {
    const auto size = [](const char* ext) {
        const auto chords = padChords(std::string(R"({"pad":"warm_slow","seed":3,"chord_extensions":")") + ext + "\"}");
        std::size_t most = 0;
        for (const auto& c : chords) most = std::max(most, c.size());
        return most;
    };
    EXPECT_EQ(size("triads"), 3u);
    EXPECT_EQ(size("sevenths"), 4u);
    EXPECT_EQ(size("lush"), 5u);
}

TEST(Harmony, StylesChooseDifferentProgressions) {
    std::vector<std::vector<std::vector<int>>> all;
    for (const char* st : {"pop", "jazz", "modal", "ambient", "cinematic", "blues"})
        all.push_back(padChords(std::string(R"({"pad":"warm_slow","cadence_strength":0,"seed":8,"harmony_style":")") + st + "\"}"));
    for (std::size_t i = 0; i < all.size(); ++i)
        for (std::size_t j = i + 1; j < all.size(); ++j) EXPECT_NE(all[i], all[j]) << i << " " << j;
}

TEST(Arranger, TensionCurvesShapeTheSectionEnergies) {
    const auto energies = [](const char* curve) {
        const auto a = compose::arrange(parseMusicConfig(std::string(R"({"tension_curve":")") + curve + "\"}"), 120.0, {"aaba", false});
        std::vector<float> e;
        for (const auto& s : a.sections) e.push_back(s.energy);
        return e;
    };
    const auto ramp = energies("ramp"), valley = energies("valley"), flat = energies("flat");
    EXPECT_GT(ramp.back(), ramp.front());
    EXPECT_LT(valley[1] + valley[2], valley[0] + valley[3] + 0.2f);
    EXPECT_NE(ramp, flat);
}

TEST(MixFields, StereoGrainAttackAndDepthReachTheScore) {
    const auto score = [](const char* json) { return compose::composeFromConfig(parseMusicConfig(json), 30.0); };
    const auto mono = score(R"({"stereo":"mono","density":6,"accent":"pluck"})");
    const auto wide = score(R"({"stereo":"ultra_wide","density":6,"accent":"pluck"})");
    EXPECT_FLOAT_EQ(mono.mix.width, 0.0f);
    EXPECT_FLOAT_EQ(wide.mix.width, 2.0f);
    for (const auto& t : mono.tracks) EXPECT_FLOAT_EQ(t.pan, 0.0f) << t.name;
    EXPECT_EQ(score(R"({"grain":"clean"})").mix.driveDb, 0.0f);
    EXPECT_GT(score(R"({"grain":"gritty"})").mix.driveDb, score(R"({"grain":"warm"})").mix.driveDb);
    const auto padAttack = [&](const char* json) {
        for (const auto& t : score(json).tracks)
            if (t.name == "pad")
                for (const auto& [k, v] : t.params)
                    if (k == "attack") return v;
        return -1.0f;
    };
    EXPECT_GT(padAttack(R"({"attack":"soft"})"), padAttack(R"({"attack":"medium"})"));
    EXPECT_GT(padAttack(R"({"attack":"medium"})"), padAttack(R"({"attack":"sharp"})"));
    const auto bassNotes = [&](const char* json) {
        for (const auto& t : score(json).tracks)
            if (t.name == "bass") return t.notes.size();
        return std::size_t{0};
    };
    EXPECT_GT(bassNotes(R"({"depth":true,"bass":"pulsing"})"), bassNotes(R"({"depth":false,"bass":"pulsing"})"));
}

TEST(MixFields, MotionAddsModulationToTheSustainedLayers) {
    const auto effectsOf = [](const char* motion) {
        std::vector<std::string> out;
        for (const auto& t : compose::composeFromConfig(parseMusicConfig(std::string(R"({"density":4,"motion":")") + motion + "\"}"), 20.0).tracks)
            if (t.name == "pad")
                for (const auto& e : t.effects) out.push_back(e.type);
        return out;
    };
    EXPECT_TRUE(effectsOf("static").empty());  // and the preset's own chain is replaced:
    for (const auto& t : compose::composeFromConfig(parseMusicConfig(R"({"motion":"static"})"), 20.0).tracks)
        if (t.name == "pad") {
            EXPECT_TRUE(t.replacePresetEffects);
        }
    for (const auto& t : compose::composeFromConfig(parseMusicConfig(R"({"motion":"medium"})"), 20.0).tracks)
        if (t.name == "pad") {
            EXPECT_FALSE(t.replacePresetEffects);  // medium: the preset's own modulation
        }
    EXPECT_EQ(effectsOf("slow"), std::vector<std::string>{"chorus"});
    EXPECT_EQ(effectsOf("fast"), std::vector<std::string>{"phaser"});
    EXPECT_EQ(effectsOf("chaotic"), std::vector<std::string>{"flanger"});
}

TEST(MixFields, MoodFillsOnlyWhatWasNotChosen) {
    auto sad = parseMusicConfig(R"({"mood":"Melancholic"})");
    EXPECT_NE(compose::applyMood(sad).find("filled"), std::string::npos);
    EXPECT_EQ(sad.mode, Mode::Minor);
    EXPECT_EQ(sad.brightness, "dark");
    auto chosen = parseMusicConfig(R"({"mood":"happy","brightness":"very_dark"})");
    compose::applyMood(chosen);
    EXPECT_EQ(chosen.brightness, "very_dark");  // the user's choice stays
    EXPECT_EQ(chosen.mode, Mode::Major);
    auto odd = parseMusicConfig(R"({"mood":"zorbulous"})");
    const auto before = toJson(odd);
    EXPECT_NE(compose::applyMood(odd).find("changes nothing"), std::string::npos);
    EXPECT_EQ(toJson(odd), before);
}

TEST(MixFields, InstrumentationPicksTheLayersInstruments) {
    const auto c = parseMusicConfig(R"({"density":6,"accent":"pluck","instrumentation":["Grand Piano","strings","808","kazoo"]})");
    const auto presets = compose::instrumentationPresets(c);
    EXPECT_EQ(presets.at("keys"), "piano_sf");
    EXPECT_EQ(presets.at("pad"), "strings_sf");
    EXPECT_EQ(presets.at("bass"), "bass_sub");
    EXPECT_EQ(presets.size(), 3u);  // kazoo is not known: skipped
    for (const auto& t : compose::composeFromConfig(c, 20.0).tracks) {
        if (t.name == "keys") {
            EXPECT_EQ(t.preset, "piano_sf");
        }
        if (t.name == "pad") {
            EXPECT_EQ(t.preset, "strings_sf");
        }
    }
}

TEST(LayerStyles, SyncopationAndTheProceduralEngineChangeTheMelodyRhythm) {
    const auto offbeats = [](const char* json) {
        int off = 0, all = 0;
        for (const auto& t : compose::composeFromConfig(parseMusicConfig(json), 60.0).tracks)
            if (t.name == "lead")
                for (const auto& n : t.notes) {
                    ++all;
                    const double frac = n.start - std::floor(n.start + 0.05);
                    off += frac > 0.4 && frac < 0.6 ? 1 : 0;
                }
        return static_cast<double>(off) / std::max(all, 1);
    };
    const double straight = offbeats(R"({"density":6,"melody":"contemplative","syncopation":0,"human":"robotic","seed":5})");
    const double pushed = offbeats(R"({"density":6,"melody":"contemplative","syncopation":1,"human":"robotic","seed":5})");
    EXPECT_GT(pushed, straight + 0.2);
    const auto pattern = signatureOf(compose::composeFromConfig(parseMusicConfig(R"({"density":6,"melody":"heroic","seed":5})"), 60.0), "lead");
    const auto procedural = signatureOf(
        compose::composeFromConfig(parseMusicConfig(R"({"density":6,"melody":"heroic","melody_engine":"procedural","seed":5})"), 60.0), "lead");
    EXPECT_GT(distance(pattern, procedural), 0.3);
}

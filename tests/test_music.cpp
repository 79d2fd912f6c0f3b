// MusicConfig: every field, validation messages, key parsing, relative updates, the schema file,
// and a fuzz-style pass of random and malformed JSON that must never crash the parser.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

TEST(PromptKeywords, ExplicitWordsWin) {
    const auto techno = compose::configFromPromptKeywords("energetic techno at 130 bpm");
    EXPECT_DOUBLE_EQ(techno.resolvedBpm(), 130.0);
    EXPECT_EQ(techno.rhythm, "electronic");
    const auto rain = compose::configFromPromptKeywords("melancholic rainy night");
    EXPECT_TRUE(rain.mode == Mode::Minor);
    EXPECT_LT(rain.level("brightness"), 0.5);
    EXPECT_EQ(compose::configFromPromptKeywords("ambient, no drums").rhythm, "none");
    const auto key = compose::configFromPromptKeywords("a waltz in Bb dorian");
    EXPECT_EQ(key.root, 10);
    EXPECT_EQ(key.mode, Mode::Dorian);
    EXPECT_EQ(compose::configFromPromptKeywords("coffee in a cafe").root, 9);  // "in a" is not a key
    EXPECT_EQ(compose::configFromPromptKeywords("x").seed, compose::configFromPromptKeywords("x").seed);
    EXPECT_NE(compose::configFromPromptKeywords("x").seed, compose::configFromPromptKeywords("y").seed);
}

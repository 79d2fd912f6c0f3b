// The embedded interpreter: a prompt set with the attributes each prompt must get, the explicit
// word rules, robustness (empty, emoji, long, foreign, binary text), the generated library, and
// clear errors for broken data files. Real data files from data/interpret throughout.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "interpret/Draft.h"
#include "interpret/Interpreter.h"
#include "interpret/Library.h"
#include "interpret/Text.h"
#include "music/Theory.h"

using namespace soundstar;
using interpret::Interpreter;

namespace {

const std::filesystem::path kDir = std::filesystem::path(SOUNDSTAR_DATA) / "interpret";

const Interpreter& interp() {
    static const Interpreter it = Interpreter::load(kDir);
    return it;
}

/// The config render uses for a prompt: the interpretation, then the mood and the style
/// profile filling what the prompt left open (as apps/RenderCommand.cpp's resolveConfig does).
music::MusicConfig resolved(const std::string& prompt) {
    static const compose::ProfileLibrary profiles = [] {
        compose::ProfileLibrary l;
        l.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "profiles");
        return l;
    }();
    const auto meaning = interp().interpret(prompt);
    auto cfg = meaning.config;
    compose::applyMood(cfg, meaning.explicitFields);
    if (const auto* p = profiles.find(cfg.genre)) cfg = compose::applyProfile(cfg, *p, meaning.explicitFields);
    return cfg;
}

/// Whether bpm and the tempo label agree: the resolved bpm lies in the label's range.
bool tempoAgrees(const music::MusicConfig& c) {
    const auto range = music::tempoLabelRange(c.tempo);
    return c.resolvedBpm() >= range.lowBpm && c.resolvedBpm() < range.highBpm;
}

std::string readAll(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool majorFamily(music::Mode m) {
    using music::Mode;
    return m == Mode::Major || m == Mode::Lydian || m == Mode::Mixolydian || m == Mode::MajorPentatonic;
}

int labelPos(const std::string& field, const std::string& label) {
    const auto& f = interpret::blendFields()[static_cast<std::size_t>(interpret::fieldIndex(field))];
    return static_cast<int>(std::find(f.labels.begin(), f.labels.end(), label) - f.labels.begin());
}

std::string explain(const interpret::Interpretation& r) {
    std::string s;
    for (const auto& n : r.notes) s += "\n    " + n;
    return s;
}

/// Whether a config has one expected attribute of a prompt set (interpret_prompts.json,
/// interpret_heldout.json); `got` says what it has instead. Unknown keys fail.
bool hasAttribute(const music::MusicConfig& c, const std::string& key, const nlohmann::json& want, std::string& got) {
    const double bpm = c.resolvedBpm();
    const auto labelAt = [&](const std::string& field, const std::string& label) { return labelPos(field, label); };
    if (key == "mode_family") return got = majorFamily(c.mode) ? "major" : "minor", got == want.get<std::string>();
    if (key == "mode") return got = music::modeName(c.mode), got == want.get<std::string>();
    if (key == "root") return got = music::pitchClassName(c.root), c.root == *music::parsePitchClass(want.get<std::string>());
    got = std::to_string(bpm);
    if (key == "bpm") return bpm == want.get<double>();
    if (key == "bpm_min") return bpm >= want.get<double>();
    if (key == "bpm_max") return bpm <= want.get<double>();
    got = c.rhythm;
    if (key == "rhythm") return c.rhythm == want.get<std::string>();
    if (key == "rhythm_not") return c.rhythm != want.get<std::string>();
    if (key == "rhythm_in") {
        const auto allowed = want.get<std::vector<std::string>>();
        return std::find(allowed.begin(), allowed.end(), c.rhythm) != allowed.end();
    }
    if (key == "genre") return got = c.genre, c.genre == want.get<std::string>();
    if (key == "bass") return got = c.bass, c.bass == want.get<std::string>();
    if (key == "grain") return got = c.grain, c.grain == want.get<std::string>();
    if (key == "instrumentation_has") {
        got = nlohmann::json(c.instrumentation).dump();
        return std::find(c.instrumentation.begin(), c.instrumentation.end(), want.get<std::string>()) != c.instrumentation.end();
    }
    if (key == "brightness_min") return got = c.brightness, labelAt("brightness", c.brightness) >= labelAt("brightness", want);
    if (key == "brightness_max") return got = c.brightness, labelAt("brightness", c.brightness) <= labelAt("brightness", want);
    if (key == "space_min") return got = c.space, labelAt("space", c.space) >= labelAt("space", want);
    got = std::to_string(c.density);
    if (key == "density_min") return c.density >= want.get<int>();
    if (key == "density_max") return c.density <= want.get<int>();
    got = "unknown expectation";
    return false;
}

struct SetScore {
    int matched = 0, checked = 0;
    std::vector<std::string> misses;  // "prompt: key wants X, got Y"
};

/// Scores a prompt set file (tests/data/...): every expected attribute of every prompt.
SetScore scorePromptSet(const std::string& file, bool throughRender) {
    const auto set = nlohmann::json::parse(readAll(std::filesystem::path(SOUNDSTAR_DATA) / "../tests/data" / file));
    SetScore s;
    for (const auto& p : set["prompts"]) {
        const std::string prompt = p["prompt"];
        const auto c = throughRender ? resolved(prompt) : interp().interpret(prompt).config;
        for (const auto& [key, want] : p.items()) {
            if (key == "prompt") continue;
            std::string got;
            ++s.checked;
            if (hasAttribute(c, key, want, got)) ++s.matched;
            else s.misses.push_back(prompt + ": " + key + " wants " + want.dump() + ", got " + got);
        }
    }
    return s;
}

}  // namespace

TEST(Interpreter, PromptSetGetsTheAttributesEachPromptNeeds) {
    const auto set = nlohmann::json::parse(readAll(std::filesystem::path(SOUNDSTAR_DATA) / "../tests/data/interpret_prompts.json"));
    int checked = 0;
    for (const auto& p : set["prompts"]) {
        const std::string prompt = p["prompt"];
        const auto r = interp().interpret(prompt);
        SCOPED_TRACE(prompt + " ->\n" + music::toJson(r.config) + explain(r));
        EXPECT_TRUE(r.understood);
        for (const auto& [key, want] : p.items()) {
            if (key == "prompt") continue;
            ++checked;
            std::string got;
            EXPECT_TRUE(hasAttribute(r.config, key, want, got)) << key << " wants " << want.dump() << ", got " << got;
        }
    }
    EXPECT_GT(checked, 80);
}

// The held-out set: written before the interpreter was tuned and never used to tune it, so its
// score estimates how the interpreter does on prompts nobody has seen. It reports the score
// and the misses; it asserts at least 95%.
// Scored twice: the interpretation, and the config render uses (mood and profile applied).
TEST(Interpreter, HeldOutSetScoresAtLeast95Percent) {
    for (const bool throughRender : {false, true}) {
        const auto s = scorePromptSet("interpret_heldout.json", throughRender);
        const double score = static_cast<double>(s.matched) / s.checked;
        std::printf("held-out score (%s): %d of %d expected attributes (%.1f%%)\n", throughRender ? "as rendered" : "interpreted",
                    s.matched, s.checked, 100.0 * score);
        for (const auto& m : s.misses) std::printf("  miss: %s\n", m.c_str());
        EXPECT_GE(s.checked, 150);
        EXPECT_GE(score, 0.95) << (throughRender ? "as rendered" : "interpreted");
    }
}

TEST(Interpreter, LibraryIsTheGeneratedOneAndBigEnough) {
    const auto blocks = interpret::loadBlocks(kDir / "blocks.json");
    const auto entries = interpret::generateLibrary(blocks);
    EXPECT_GE(entries.size(), 4000u);
    EXPECT_EQ(interpret::libraryToTsv(entries), readAll(kDir / "library.tsv"))
        << "data/interpret/library.tsv is stale: run build/release/tools/build_library data/interpret/blocks.json "
           "data/interpret/library.tsv";
    EXPECT_EQ(interp().librarySize(), entries.size());
    EXPECT_GE(interp().vocabularySize(), 50000u);
    // Every entry is a valid config fragment and carries its text.
    for (const auto& e : entries) {
        ASSERT_FALSE(e.text.empty());
        ASSERT_FALSE(e.fragment.empty()) << e.text;
        ASSERT_NO_THROW(music::mergeMusicConfig({}, interpret::fragmentToJson(e.fragment), e.text));
    }
}

// The library describes scenes, not cross products: no entry joins a genre to other words (a
// genre is named by the prompt), no entry joins blocks that contradict each other, and the
// curated descriptions are in it.
TEST(Interpreter, LibraryCombinesNoGenresAndNoContradictions) {
    const auto blocks = interpret::loadBlocks(kDir / "blocks.json");
    const auto entries = interpret::generateLibrary(blocks);
    std::set<std::string> genreNames, texts;
    for (const auto& id : blocks.byCategory.at("genre"))
        for (auto name : blocks.blocks[id].names) genreNames.insert(interpret::joinTokens(interpret::tokenize(name)));
    for (const auto& e : entries) texts.insert(e.text);
    std::string everyday;  // names of places and things: "haunted house", "a jungle"
    for (const auto& b : blocks.blocks)
        if (b.category != "genre")
            for (const auto& name : b.names) everyday += " " + interpret::joinTokens(interpret::tokenize(name)) + " ";
    for (const auto& e : entries) {
        if (genreNames.count(e.text)) continue;
        const auto text = " " + e.text + " ";
        for (const auto& g : genreNames) {
            if ((g.find(' ') == std::string::npos && g.size() <= 4) || everyday.find(" " + g + " ") != std::string::npos)
                continue;  // also an everyday word ("dub", "rock", "house")
            EXPECT_EQ(text.find(" " + g + " "), std::string::npos) << "'" << e.text << "' combines the genre '" << g << "'";
        }
    }
    for (const char* nonsense : {"grief deep house", "heartbroken techno", "euphoric funeral", "sad music for a party"})
        EXPECT_FALSE(texts.count(nonsense)) << nonsense;
    EXPECT_TRUE(texts.count("rain on a tin roof at night"));
    EXPECT_FALSE(blocks.descriptions.empty());
    interpret::Blocks withGenre = blocks;
    withGenre.templates = {{"{mood} {genre}", 10}};
    EXPECT_THROW(interpret::generateLibrary(withGenre), std::invalid_argument);
}

TEST(Interpreter, ExplicitNumbersAndKeysWinOverGenres) {
    // A genre's own tempo loses to a stated one, in any spelling.
    EXPECT_DOUBLE_EQ(interp().interpret("drum and bass at 90 bpm").config.resolvedBpm(), 90.0);
    EXPECT_DOUBLE_EQ(interp().interpret("techno 100bpm").config.resolvedBpm(), 100.0);
    EXPECT_DOUBLE_EQ(interp().interpret("tempo 72, ambient").config.resolvedBpm(), 72.0);
    // Out of range: ignored with a note naming the allowed range.
    const auto wild = interp().interpret("house at 900 bpm");
    EXPECT_NE(wild.config.resolvedBpm(), 900.0);
    EXPECT_NE(explain(wild).find("40 to 220"), std::string::npos) << explain(wild);
    const auto key = interp().interpret("a waltz in Bb dorian");
    EXPECT_EQ(key.config.root, 10);
    EXPECT_EQ(key.config.mode, music::Mode::Dorian);
    const auto sharp = interp().interpret("ballad in f sharp minor");
    EXPECT_EQ(sharp.config.root, 6);
    EXPECT_EQ(sharp.config.mode, music::Mode::Minor);
    EXPECT_EQ(interp().interpret("C major, happy").config.root, 0);
    EXPECT_EQ(interp().interpret("lydian dreams").config.mode, music::Mode::Lydian);
    // "in a cafe" names no key; a sad prompt in "E major" stays major (explicit beats valence).
    EXPECT_EQ(explain(interp().interpret("coffee in a cafe")).find("-> key"), std::string::npos);
    EXPECT_EQ(interp().interpret("a sad song in E major").config.mode, music::Mode::Major);
}

TEST(Interpreter, NegationsIntensifiersAndComparatives) {
    const auto happy = interp().interpret("happy");
    const auto notHappy = interp().interpret("not happy");
    EXPECT_GT(happy.valence, 0.3);
    EXPECT_LT(notHappy.valence, 0.0);
    EXPECT_TRUE(majorFamily(happy.config.mode));
    EXPECT_FALSE(majorFamily(notHappy.config.mode));
    EXPECT_EQ(interp().interpret("rock without drums").config.rhythm, "none");
    EXPECT_NE(interp().interpret("rock with drums").config.rhythm, "none");
    EXPECT_EQ(interp().interpret("house music, no bass").config.bass, "none");
    EXPECT_NE(interp().interpret("house music with a deep bass").config.bass, "none");
    // "no techno" does not choose techno.
    EXPECT_NE(interp().interpret("no techno please, something calm").config.genre, "techno_minimal");
    // Intensity: very dark < dark; a bit faster > as is > a bit slower.
    const int dark = labelPos("brightness", interp().interpret("dark piano").config.brightness);
    const int veryDark = labelPos("brightness", interp().interpret("very dark piano").config.brightness);
    EXPECT_LT(veryDark, dark);
    const double base = interp().interpret("a walk in the park").config.resolvedBpm();
    EXPECT_GT(interp().interpret("a walk in the park, a bit faster").config.resolvedBpm(), base);
    EXPECT_LT(interp().interpret("a walk in the park, a bit slower").config.resolvedBpm(), base);
    EXPECT_GT(interp().interpret("slow techno").config.resolvedBpm(), 0.0);
    EXPECT_LT(interp().interpret("slow techno").config.resolvedBpm(), interp().interpret("techno").config.resolvedBpm());
    // Arousal words move tempo where nothing explicit did.
    EXPECT_GT(interp().interpret("a wild frantic chase").config.resolvedBpm(),
              interp().interpret("a sleepy relaxed afternoon").config.resolvedBpm() + 20.0);
}

TEST(Interpreter, AnyTextGivesAValidConfigAndSaysWhenNothingWasUnderstood) {
    for (const std::string& prompt : std::vector<std::string>{"", "   ", "xqzvw blorptang frizzlewump", "!!!???...", "\xff\xfe\x80 \xc3", std::string("\0\0", 2)}) {
        const auto r = interp().interpret(prompt);
        SCOPED_TRACE(prompt);
        EXPECT_FALSE(r.understood);
        EXPECT_NE(explain(r).find(prompt.find_first_not_of(' ') == std::string::npos ? "empty prompt" : "nothing in the prompt was understood"),
                  std::string::npos)
            << explain(r);
        EXPECT_NO_THROW(music::parseMusicConfig(music::toJson(r.config)));
    }
    // Unknown words are named.
    EXPECT_NE(explain(interp().interpret("xqzvw blorptang")).find("xqzvw"), std::string::npos);
    // Emoji carry meaning: a rain cloud and a crying face read as sad rain.
    const auto emoji = interp().interpret("\xF0\x9F\x8C\xA7\xEF\xB8\x8F\xF0\x9F\x98\xA2");
    EXPECT_TRUE(emoji.understood);
    EXPECT_FALSE(majorFamily(emoji.config.mode)) << explain(emoji);
    // Other languages: whatever the vectors know is used; the rest is named, never a crash.
    for (const char* p : {"nuit pluvieuse et triste", "lluvia triste de noche", "\xE9\x9B\xA8\xE3\x81\xAE\xE5\xA4\x9C", "Regen in der Nacht"}) {
        const auto r = interp().interpret(p);
        EXPECT_NO_THROW(music::parseMusicConfig(music::toJson(r.config))) << p;
    }
    // A 10,000-character prompt.
    std::string longPrompt;
    const char* words[] = {"rain ", "night ", "zzqx ", "melancholic ", "piano ", "\xF0\x9F\x8C\x99 ", "130 bpm ", "no drums, "};
    for (int i = 0; longPrompt.size() < 10000; ++i) longPrompt += words[i % 8];
    const auto r = interp().interpret(longPrompt);
    EXPECT_TRUE(r.understood);
    EXPECT_EQ(r.config.rhythm, "none");
    EXPECT_DOUBLE_EQ(r.config.resolvedBpm(), 130.0);
}

TEST(Interpreter, SamePromptSameConfigAndTheExplanationNamesTheDeciders) {
    const auto a = interp().interpret("lonely lighthouse in a storm");
    const auto b = interp().interpret("lonely lighthouse in a storm");
    EXPECT_EQ(music::toJson(a.config), music::toJson(b.config));
    EXPECT_NE(a.config.seed, interp().interpret("lonely lighthouse in a storm!").config.seed);
    ASSERT_FALSE(a.neighbours.empty());
    float total = 0;
    for (const auto& n : a.neighbours) total += n.weight;
    EXPECT_NEAR(total, 1.0f, 1e-3f);
    EXPECT_GE(a.neighbours.front().similarity, a.neighbours.back().similarity);
    const auto t = interp().interpret("energetic techno at 130 bpm, no drums");
    const std::string e = explain(t);
    EXPECT_NE(e.find("'130 bpm' -> bpm 130"), std::string::npos) << e;
    EXPECT_NE(e.find("'no drums' -> rhythm none"), std::string::npos) << e;
    EXPECT_NE(e.find("genre word 'techno'"), std::string::npos) << e;
    EXPECT_EQ(t.decidedBy.at("bpm"), "explicit tempo '130 bpm'");
}

TEST(Interpreter, TokenizerSplitsNumbersKeepsKeysAndMapsEmoji) {
    EXPECT_EQ(interpret::tokenize("130BPM Lo-Fi, F# minor!"), (std::vector<std::string>{"130", "bpm", "lo-fi", "f#", "minor"}));
    EXPECT_EQ(interpret::tokenize("\xE2\x98\x94 don't"), (std::vector<std::string>{"rain", "don't"}));
    EXPECT_EQ(interpret::tokenize("3am"), (std::vector<std::string>{"3am"}));
    EXPECT_TRUE(interpret::tokenize("\xff\xfe").empty());
}

TEST(Interpreter, BrokenDataFilesGiveClearErrors) {
    const auto tmp = std::filesystem::temp_directory_path() / "soundstar-interpret-test";
    std::filesystem::remove_all(tmp);
    std::filesystem::create_directories(tmp);
    for (const char* f : {"words.bin", "valence.tsv", "blocks.json", "library.tsv"}) std::filesystem::copy_file(kDir / f, tmp / f);
    const auto message = [&] {
        try {
            Interpreter::load(tmp);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("loaded");
    };
    EXPECT_EQ(message(), "loaded");
    { std::ofstream(tmp / "words.bin", std::ios::binary) << "SSWV garbage"; }
    EXPECT_NE(message().find("words.bin is not a soundstar word-vector file"), std::string::npos) << message();
    std::filesystem::copy_file(kDir / "words.bin", tmp / "words.bin", std::filesystem::copy_options::overwrite_existing);
    { std::ofstream(tmp / "library.tsv") << "rainy night\ttempo=glacial\n"; }
    EXPECT_NE(message().find("library.tsv:1: field 'tempo' = 'glacial'"), std::string::npos) << message();
    { std::ofstream(tmp / "library.tsv") << "rainy night\ttempo=slow\n"; }
    { std::ofstream(tmp / "blocks.json") << R"({"categories": {"mood": {"weight": 1, "blocks": [{"names": ["sad"], "set": {"brightness": "grey"}}]}}, "templates": []})"; }
    EXPECT_NE(message().find("brightness"), std::string::npos) << message();
    EXPECT_NE(message().find("very_dark"), std::string::npos) << message();  // says what is allowed
    std::filesystem::remove(tmp / "valence.tsv");
    std::filesystem::copy_file(kDir / "blocks.json", tmp / "blocks.json", std::filesystem::copy_options::overwrite_existing);
    EXPECT_NE(message().find("valence.tsv"), std::string::npos) << message();
    std::filesystem::remove_all(tmp);
}

// Explicit words always win: every explicit phrase, crossed with fillers (moods, scenes,
// activities) that push the same field the other way, keeps its value in the interpretation
// and in the config render uses (after the mood and the style profile), in either order.
TEST(Interpreter, ExplicitWordsWinOverEveryMoodProfileAndNeighbour) {
    using Check = bool (*)(const music::MusicConfig&);
    const std::vector<std::pair<std::string, Check>> stated{
        {"in F# minor", [](const music::MusicConfig& c) { return c.root == 6 && c.mode == music::Mode::Minor; }},
        {"in C major", [](const music::MusicConfig& c) { return c.root == 0 && c.mode == music::Mode::Major; }},
        {"in D dorian", [](const music::MusicConfig& c) { return c.root == 2 && c.mode == music::Mode::Dorian; }},
        {"in A minor", [](const music::MusicConfig& c) { return c.root == 9 && c.mode == music::Mode::Minor; }},
        {"at 100 bpm", [](const music::MusicConfig& c) { return c.resolvedBpm() == 100.0; }},
        {"at 64 bpm", [](const music::MusicConfig& c) { return c.resolvedBpm() == 64.0; }},
        {"at 170 bpm", [](const music::MusicConfig& c) { return c.resolvedBpm() == 170.0; }},
        {"deep house", [](const music::MusicConfig& c) { return c.genre == "deep_house"; }},
        {"ambient", [](const music::MusicConfig& c) { return c.genre == "ambient"; }},
        {"hip hop", [](const music::MusicConfig& c) { return c.genre == "hip_hop"; }},
        {"with piano", [](const music::MusicConfig& c) { return std::count(c.instrumentation.begin(), c.instrumentation.end(), "piano") == 1; }},
        {"with strings", [](const music::MusicConfig& c) { return std::count(c.instrumentation.begin(), c.instrumentation.end(), "strings") == 1; }},
        {"no drums", [](const music::MusicConfig& c) { return c.rhythm == "none"; }},
        {"without bass", [](const music::MusicConfig& c) { return c.bass == "none" && !c.depth; }},
        {"very slow", [](const music::MusicConfig& c) { return c.tempo == "very_slow" && c.resolvedBpm() < 80.0; }},
        {"very fast", [](const music::MusicConfig& c) { return c.tempo == "very_fast" && c.resolvedBpm() >= 143.0; }},
        {"very dark", [](const music::MusicConfig& c) { return c.brightness == "very_dark"; }},
        {"very bright", [](const music::MusicConfig& c) { return c.brightness == "very_bright"; }},
    };
    const std::vector<std::string> fillers{
        "romantic",         "a happy birthday party", "grief and loss",        "an energetic workout", "calm meditation",
        "a warehouse rave", "an epic battle",         "a lullaby for a baby",  "a sunny morning",      "a haunted house at midnight",
        "a lonely night drive", "a cozy cafe",        "sad",                   "euphoric",             "a funeral",
    };
    int pairs = 0;
    for (const auto& [phrase, holds] : stated)
        for (const auto& filler : fillers)
            for (const auto& prompt : {filler + " " + phrase, phrase + ", " + filler}) {
                const auto r = interp().interpret(prompt);
                EXPECT_TRUE(holds(r.config)) << "interpreted '" << prompt << "':\n" << music::toJson(r.config) << explain(r);
                EXPECT_TRUE(holds(resolved(prompt))) << "as rendered '" << prompt << "':\n" << music::toJson(resolved(prompt));
                ++pairs;
            }
    EXPECT_EQ(pairs, 18 * 15 * 2);
}

// The issue's two cases, as the CLI showed them.
TEST(Interpreter, AStatedMinorKeyStaysMinorAndGriefGetsNoDanceGenre) {
    const auto song = resolved("song in F# minor at 100 bpm");
    EXPECT_EQ(song.mode, music::Mode::Minor);
    EXPECT_EQ(song.root, 6);
    EXPECT_DOUBLE_EQ(song.resolvedBpm(), 100.0);
    const auto grief = resolved("grief after a long war");
    EXPECT_EQ(grief.genre, "");
    EXPECT_LT(grief.resolvedBpm(), 80.0);
    EXPECT_TRUE(tempoAgrees(grief)) << grief.tempo << " at " << grief.resolvedBpm();
}

// A genre comes from its words (any of its names), not from one neighbour that happens to
// carry it; with no genre there is no style profile to bring a tempo.
TEST(Interpreter, GenresComeFromGenreWordsNotFromOneNeighbour) {
    for (const char* p : {"grief after a long war", "a sad goodbye", "lonely rain at night", "tears on a winter evening",
                          "a hopeful spring morning", "a quiet night by the lake", "a tense heist", "walking home in the snow"})
        EXPECT_EQ(resolved(p).genre, "") << p << explain(interp().interpret(p));
    const std::vector<std::pair<const char*, const char*>> named{
        {"boom bap beat", "hip_hop"}, {"some dnb please", "jungle_dnb"}, {"chillhop for studying", "lofi"},
        {"a string quartet", "classical"}, {"berlin techno", "techno_minimal"}, {"grief, as deep house", "deep_house"}};
    for (const auto& [p, genre] : named) EXPECT_EQ(interp().interpret(p).config.genre, genre) << p;
}

// bpm and the tempo label always agree, in the interpretation and in the config render uses.
TEST(Interpreter, BpmAndTempoLabelAlwaysAgree) {
    std::vector<std::string> prompts{"slow techno", "a bit faster techno", "very slow deep house", "fast dub", "fast ambient",
                                     "sad deep house", "sleepy drum and bass", "slow song at 140 bpm", "fast song at 60 bpm",
                                     "energetic jazz", "calm rock", "grief after a long war", "uplifting trance"};
    for (const char* file : {"interpret_prompts.json", "interpret_heldout.json"})
        for (const auto& p : nlohmann::json::parse(readAll(std::filesystem::path(SOUNDSTAR_DATA) / "../tests/data" / file))["prompts"])
            prompts.push_back(p["prompt"]);
    for (const auto& p : prompts) {
        const auto interpreted = interp().interpret(p).config;
        EXPECT_TRUE(tempoAgrees(interpreted)) << p << ": interpreted " << interpreted.tempo << " at " << interpreted.resolvedBpm();
        const auto rendered = resolved(p);
        EXPECT_TRUE(tempoAgrees(rendered)) << p << ": as rendered " << rendered.tempo << " at " << rendered.resolvedBpm();
    }
    // A stated number beats a tempo word; a tempo word bounds a genre's own bpm.
    EXPECT_EQ(interp().interpret("slow song at 140 bpm").config.tempo, "fast");
    EXPECT_LT(interp().interpret("slow techno").config.resolvedBpm(), 99.0);
}

TEST(Interpreter, TempoLabelRangesHoldTheirLabelTempoAndTile) {
    const std::vector<std::string> labels{"very_slow", "slow", "medium", "fast", "very_fast"};
    double edge = 40.0;
    for (const auto& label : labels) {
        music::MusicConfig c;
        c.tempo = label;
        const auto range = music::tempoLabelRange(label);
        EXPECT_DOUBLE_EQ(range.lowBpm, edge) << label;  // no gaps, no overlaps
        EXPECT_TRUE(tempoAgrees(c)) << label << " at " << c.resolvedBpm();
        EXPECT_EQ(music::tempoLabelFor(c.resolvedBpm()), label);
        EXPECT_EQ(music::tempoLabelFor(range.lowBpm), label);
        edge = range.highBpm;
    }
    EXPECT_GT(edge, 220.0);
    EXPECT_EQ(music::tempoLabelFor(124), "fast");
    EXPECT_EQ(music::tempoLabelFor(72), "very_slow");
}

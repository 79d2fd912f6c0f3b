// The interpreter's passes one at a time, on a Draft (src/interpret/Draft.h): clauses and
// negation, stated values, the source guard, scale words, instruments, feelings and the tempo
// settlement. The similarity blend and the genre and mood names need the library: their tests
// are in test_interpret.cpp.
#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "interpret/Draft.h"

using namespace soundstar;
using namespace soundstar::interpret;

namespace {

Draft read(const std::string& prompt) {
    Draft d;
    readClauses(prompt, d);
    return d;
}

}  // namespace

TEST(InterpreterPasses, ClausesBoundNegationAndClockTimesBecomeTimesOfDay) {
    const auto d = read("calm, no drums but piano; at 4am");
    ASSERT_EQ(d.tokens, (std::vector<std::string>{"calm", "no", "drums", "but", "piano", "at", "night"}));
    EXPECT_EQ(d.clause, (std::vector<int>{0, 1, 1, 1, 1, 2, 2}));
    EXPECT_TRUE(d.negated[2]);   // drums
    EXPECT_FALSE(d.negated[4]);  // "but" ends the negation's reach
    EXPECT_FALSE(d.negated[0]);
    const auto far = read("without the slow heavy dark bass");
    EXPECT_TRUE(far.negated[4]);   // three content words: slow, heavy, dark
    EXPECT_FALSE(far.negated[5]);  // bass is past the reach
    EXPECT_EQ(read("no drums, bass").negated, (std::vector<bool>{false, true, false}));  // a comma ends it
}

TEST(InterpreterPasses, StatedValuesReadBpmKeysAndModes) {
    auto d = read("techno 100bpm in f sharp minor");
    readStatedValues(d);
    ASSERT_TRUE(d.statedBpm);
    EXPECT_EQ(*d.statedBpm, 100.0);
    EXPECT_EQ(d.config["root"], "f#");
    EXPECT_EQ(d.config["mode"], "minor");
    EXPECT_EQ(d.sourceOf("mode"), Source::Stated);
    EXPECT_EQ(d.consumed, (std::vector<bool>{false, true, true, false, true, true, true}));
    auto cafe = read("coffee in a cafe");
    readStatedValues(cafe);
    EXPECT_EQ(cafe.sourceOf("root"), Source::Default);
    auto wild = read("900 bpm lydian");
    readStatedValues(wild);
    EXPECT_FALSE(wild.statedBpm);
    EXPECT_EQ(wild.config["mode"], "lydian");
}

TEST(InterpreterPasses, AWeakerSourceNeverOverwritesAStrongerOne) {
    Draft d;
    EXPECT_TRUE(d.set("mode", "minor", "key", Source::Stated));
    EXPECT_FALSE(d.set("mode", "major", "mood word", Source::Name));
    EXPECT_FALSE(d.set("mode", "major", "neighbours", Source::Neighbours));
    EXPECT_EQ(d.config["mode"], "minor");
    EXPECT_EQ(d.result.decidedBy["mode"], "key");
    EXPECT_TRUE(d.set("brightness", "dark", "genre", Source::Name));
    EXPECT_TRUE(d.set("brightness", "bright", "mood", Source::Name));  // equal strength: the later pass wins
    EXPECT_EQ(d.config["brightness"], "bright");
    EXPECT_TRUE(d.setPosition("density", 99, "clamped", Source::Word));
    EXPECT_EQ(d.config["density"], 6);
}

TEST(InterpreterPasses, ScaleWordsWithIntensifiersAndComparatives) {
    auto d = read("very dark, a bit faster, darker");
    readScaleWords(d);
    EXPECT_EQ(d.config["brightness"], "very_dark");  // "darker" cannot go below the end
    EXPECT_EQ(d.config["tempo"], "fast");            // "a bit faster" from medium
    EXPECT_EQ(d.tempoSteps, 1);
    EXPECT_EQ(d.sourceOf("tempo"), Source::Word);
    auto s = read("swung and not shuffled");
    readScaleWords(s);
    EXPECT_EQ(s.config["swing"], 0.55);
}

TEST(InterpreterPasses, InstrumentsSoloAndWhatIsLeftOut) {
    auto solo = read("solo piano");
    readInstruments(solo);
    EXPECT_EQ(solo.config["instrumentation"], nlohmann::json::array({"piano"}));
    EXPECT_EQ(solo.config["rhythm"], "none");
    auto leftOut = read("no drums, without bass, strings");
    readInstruments(leftOut);
    EXPECT_EQ(leftOut.config["rhythm"], "none");
    EXPECT_EQ(leftOut.config["bass"], "none");
    EXPECT_EQ(leftOut.config["depth"], false);
    EXPECT_EQ(leftOut.config["instrumentation"], nlohmann::json::array({"strings"}));
    // "drums" brings back a rhythm the neighbours left out, but not one the prompt refused.
    auto back = read("with drums");
    back.set("rhythm", "none", "neighbours", Source::Neighbours);
    readInstruments(back);
    EXPECT_EQ(back.config["rhythm"], "kit_medium");
    auto refused = read("drums");
    refused.set("rhythm", "none", "'no drums'", Source::Word);
    readInstruments(refused);
    EXPECT_EQ(refused.config["rhythm"], "none");
}

TEST(InterpreterPasses, FeelingsSteerOnlyWhatNothingStrongerDecided) {
    const std::unordered_map<std::string, float> lexicon{{"sad", -0.6f}, {"happy", 0.7f}};
    auto sad = read("very sad and calm");
    sad.set("mode", "major", "neighbours", Source::Neighbours);
    readFeelings(lexicon, sad);
    EXPECT_LT(sad.result.valence, -0.5);
    EXPECT_EQ(sad.config["mode"], "minor");
    EXPECT_EQ(sad.config["tempo"], "slow");  // "calm" lowers the arousal
    auto stated = read("sad");
    stated.set("mode", "major", "explicit key", Source::Stated);
    readFeelings(lexicon, stated);
    EXPECT_EQ(stated.config["mode"], "major");
    auto notHappy = read("not happy");
    readFeelings(lexicon, notHappy);
    EXPECT_LT(notHappy.result.valence, 0.0);
}

TEST(InterpreterPasses, SettleTempoMakesBpmAndLabelAgree) {
    auto stated = read("");
    stated.statedBpm = 140;
    stated.set("bpm", 140, "stated", Source::Stated);
    stated.set("tempo", "slow", "word", Source::Word);
    settleTempo(stated);
    EXPECT_EQ(stated.config["tempo"], "fast");  // the number wins over the word
    auto bounded = read("");
    bounded.set("bpm", 128, "genre", Source::Name);
    bounded.set("tempo", "slow", "word 'slow'", Source::Word);
    bounded.tempoSteps = -2;
    settleTempo(bounded);
    EXPECT_GE(bounded.config["bpm"].get<double>(), 80.0);
    EXPECT_LT(bounded.config["bpm"].get<double>(), 99.0);
    auto follows = read("");
    follows.set("bpm", 124, "genre", Source::Name);
    follows.set("tempo", "very_slow", "neighbours", Source::Neighbours);
    settleTempo(follows);
    EXPECT_EQ(follows.config["tempo"], "fast");
}

TEST(InterpreterPasses, FinishNamesTheExplicitFieldsAndSeedsFromThePrompt) {
    auto d = read("x");
    d.set("mode", "dorian", "word", Source::Stated);
    d.set("brightness", "dark", "neighbours", Source::Neighbours);
    d.result.understood = true;
    finish("x", d);
    EXPECT_EQ(d.result.explicitFields, (std::set<std::string>{"mode"}));
    EXPECT_EQ(d.result.config.mode, music::Mode::Dorian);
    ASSERT_TRUE(d.result.config.seed);
    EXPECT_EQ(d.result.decidedBy["root"], "the prompt's hash (no key named)");
}

// The arranger: sections on bar lines that fill the piece, forms, explicit structures, loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "Analysis.h"
#include "Presets.h"
#include "compose/Arranger.h"
#include "compose/SketchComposer.h"
#include "engine/Preset.h"
#include "music/MusicConfig.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
void expectContiguous(const music::Arrangement& a) {
    int next = 0;
    for (const auto& s : a.sections) {
        EXPECT_EQ(s.startBar, next) << s.kind;
        EXPECT_GE(s.bars, 1) << s.kind;
        EXPECT_GE(s.energy, 0.0f);
        EXPECT_LE(s.energy, 1.0f);
        EXPECT_FALSE(s.layers.empty());
        next += s.bars;
    }
    EXPECT_EQ(next, a.totalBars);
}
}  // namespace

TEST(Arranger, EveryFormFillsWholeBarsInsideTheDuration) {
    const auto cfg = music::parseMusicConfig(R"({"tempo":"medium","density":6})");
    for (const auto& form : compose::formNames())
        for (double seconds : {5.0, 30.0, 95.5, 600.0}) {
            const auto a = compose::arrange(cfg, seconds, {form, false});
            expectContiguous(a);
            EXPECT_LE(a.totalBars * a.barSeconds(), seconds) << form << " " << seconds;
            EXPECT_GT(a.totalBars * a.barSeconds(), seconds - 2.5 - a.barSeconds()) << "room for the ending, no more";
            EXPECT_DOUBLE_EQ(a.durationSeconds, seconds);
        }
    EXPECT_THROW(compose::arrange(cfg, 30.0, {"sonata", false}), std::invalid_argument);
}

TEST(Arranger, FormsHaveTheirShapeAndEnergyCurve) {
    const auto techno = music::parseMusicConfig(R"({"rhythm":"electronic","density":6})");
    const auto a = compose::arrange(techno, 90.0);
    EXPECT_EQ(a.form, "build_drop");
    const auto drop = std::find_if(a.sections.begin(), a.sections.end(), [](const auto& s) { return s.kind == "drop"; });
    const auto intro = std::find_if(a.sections.begin(), a.sections.end(), [](const auto& s) { return s.kind == "intro"; });
    ASSERT_NE(drop, a.sections.end());
    ASSERT_NE(intro, a.sections.end());
    EXPECT_GT(drop->energy, intro->energy + 0.3f);
    EXPECT_GT(drop->layers.size(), intro->layers.size());
    const auto calm = compose::arrange(music::parseMusicConfig(R"({"rhythm":"none","density":6})"), 90.0);
    EXPECT_EQ(calm.form, "ambient_arc");
    for (const auto& s : calm.sections)
        EXPECT_EQ(std::count(s.layers.begin(), s.layers.end(), "drums"), 0) << "rhythm none: no drums anywhere";
    const auto sparse = compose::arrange(music::parseMusicConfig(R"({"density":2})"), 60.0);
    for (const auto& s : sparse.sections) EXPECT_LE(s.layers.size(), 2u);
}

TEST(Arranger, LoopsAreWholeBarsThatFillTheDurationExactly) {
    const auto cfg = music::parseMusicConfig(R"({"bpm":123})");
    const auto a = compose::arrange(cfg, 20.0, {"auto", true});
    EXPECT_TRUE(a.loop);
    EXPECT_NEAR(a.totalBars * a.barSeconds(), 20.0, 1e-9);
    EXPECT_NEAR(a.bpm, 123.0, 123.0 * 0.1);  // nudged, not changed
    for (const auto& s : a.sections) EXPECT_NE(s.kind, "outro");
}

TEST(Arranger, ExplicitStructureIsFollowedAndScaled) {
    const auto cfg = music::parseMusicConfig(R"({"bpm":120})");  // 2 s bars
    const auto a = compose::arrangeFromStructure(
        cfg, R"([{"section":"intro","duration":8},{"section":"verse","bars":8},{"section":"chorus","duration":16,"energy":0.9,"layers":["pad","lead"]}])",
        0.0);
    ASSERT_EQ(a.sections.size(), 3u);
    EXPECT_EQ(a.sections[0].bars, 4);
    EXPECT_EQ(a.sections[1].bars, 8);
    EXPECT_EQ(a.sections[2].bars, 8);
    EXPECT_FLOAT_EQ(a.sections[2].energy, 0.9f);
    EXPECT_EQ(a.sections[2].layers.size(), 2u);
    expectContiguous(a);
    // Given a duration, the same structure is scaled to fit it.
    const auto half = compose::arrangeFromStructure(cfg, R"([{"section":"verse","bars":10},{"section":"chorus","bars":10}])", 22.0);
    EXPECT_EQ(half.totalBars, 9);  // (22 s - 2.5 s for the ending) / 2 s bars, in whole bars
    expectContiguous(half);
    const auto err = [&](const char* json) {
        try {
            compose::arrangeFromStructure(cfg, json, 0.0);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(err(R"([{"section":"solo","bars":4}])").find("'section' must be one of intro, verse"), std::string::npos);
    EXPECT_NE(err(R"([{"section":"verse"}])").find("give 'duration' (seconds) or 'bars'"), std::string::npos);
    EXPECT_NE(err(R"([{"section":"verse","bars":0}])").find("'bars' = 0 is invalid"), std::string::npos);
    EXPECT_NE(err(R"([{"section":"verse","bars":2,"mood":"x"}])").find("unknown field 'mood'"), std::string::npos);
    EXPECT_NE(err(R"([{"section":"verse","bars":2,"layers":["banjo"]}])").find("layer \"banjo\" is unknown"), std::string::npos);
    EXPECT_NE(err("{}").find("must be a JSON array"), std::string::npos);
    EXPECT_NE(err("[").find("not valid JSON"), std::string::npos);
}

TEST(Arranger, LoopRenderJoinsEndToStartWithoutAClickOrAGap) {
    const auto& lib = test::presets();
    const auto cfg = music::parseMusicConfig(R"({"rhythm":"kit_medium","density":5,"echo":"heavy","seed":4})");
    const auto arr = compose::arrange(cfg, 8.0, {"auto", true});
    const auto score = compose::composeSketch(compose::sketchFromMusicConfig(cfg), arr);
    render::RenderOptions o;
    o.durationSeconds = arr.durationSeconds;
    o.loop = true;
    const auto audio = render::renderScore(score, lib, o);
    const auto& x = audio.left();
    ASSERT_EQ(x.size(), 8u * 44100u);
    const double all = test::rms(x);
    const std::vector<float> head(x.begin(), x.begin() + 4410), tail(x.end() - 4410, x.end());
    EXPECT_GT(test::rms(head), 0.2 * all) << "no silent gap at the start (the previous cycle's tails are there)";
    EXPECT_GT(test::rms(tail), 0.2 * all) << "no fade at the end";
    std::vector<float> steps;
    for (std::size_t i = 1; i < x.size(); ++i) steps.push_back(std::abs(x[i] - x[i - 1]));
    std::sort(steps.begin(), steps.end());
    const float p999 = steps[steps.size() * 999 / 1000];
    EXPECT_LE(std::abs(x.front() - x.back()), p999) << "the wrap is no bigger a step than the music's own";
}

TEST(Arranger, BassNoneLeavesTheBassOutEverywhere) {
    music::MusicConfig c;
    c.density = 6;
    c.bass = "none";
    const auto a = compose::arrange(c, 60.0, {"auto", false});
    for (const auto& s : a.sections) EXPECT_EQ(std::count(s.layers.begin(), s.layers.end(), "bass"), 0) << s.kind;
    const auto score = compose::composeFromConfig(c, 60.0);
    for (const auto& t : score.tracks) {
        if (t.name == "bass") {
            EXPECT_TRUE(t.notes.empty());
        }
    }
    c.bass = "walking";
    bool anyBass = false;
    for (const auto& t : compose::composeFromConfig(c, 60.0).tracks) anyBass = anyBass || (t.name == "bass" && !t.notes.empty());
    EXPECT_TRUE(anyBass);
}

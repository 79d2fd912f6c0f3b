// Style profiles: the shipped files are valid and complete, they fill in only what was not
// chosen, their grooves differ, and every one of them renders.
#include <gtest/gtest.h>

#include <fstream>

#include "Analysis.h"
#include "Cli.h"
#include "Presets.h"
#include "compose/Arranger.h"
#include "compose/Profiles.h"
#include "compose/SketchComposer.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
compose::ProfileLibrary shipped() {
    compose::ProfileLibrary lib;
    lib.loadDirectory(SOUNDSTAR_DATA "/profiles");
    return lib;
}
music::Score scoreFor(const compose::StyleProfile& p, double seconds) {
    const auto cfg = compose::applyProfile(music::parseMusicConfig(R"({"seed":3,"genre":")" + p.name + "\"}"), p);
    auto sketch = compose::sketchFromMusicConfig(cfg);
    sketch.groove = p.groove;
    sketch.presets = p.presets;
    sketch.effects = p.effects;
    return compose::composeSketch(sketch, compose::arrange(cfg, seconds));
}
}  // namespace

TEST(Profiles, TheTenDjProfilesAndFourMoreShipAndAreValid) {
    const auto lib = shipped();
    for (const char* name : {"techno_minimal", "experimental", "rock", "hip_hop", "jungle_dnb", "dub", "deep_house",
                             "downtempo_ambient", "classical", "trip_hop", "ambient", "cinematic", "lofi", "jazz"})
        ASSERT_NE(lib.find(name), nullptr) << name;
    for (const auto& name : lib.names())
        for (const auto& [layer, preset] : lib.find(name)->presets)
            EXPECT_TRUE(test::presets().has(preset)) << name << " names a missing preset " << preset;
}

TEST(Profiles, TempoMatchesTheDjProfilesAndChosenFieldsWin) {
    const auto lib = shipped();
    const std::vector<std::pair<const char*, double>> bpm{{"techno_minimal", 126}, {"experimental", 130}, {"rock", 120},
                                                          {"hip_hop", 90},         {"jungle_dnb", 174},  {"dub", 70},
                                                          {"deep_house", 124},     {"downtempo_ambient", 85},
                                                          {"classical", 110},      {"trip_hop", 95}};
    for (const auto& [name, want] : bpm) {
        const auto c = compose::applyProfile(music::MusicConfig{}, *lib.find(name));
        EXPECT_DOUBLE_EQ(c.resolvedBpm(), want) << name;
    }
    const auto chosen = compose::applyProfile(music::parseMusicConfig(R"({"bpm":90,"echo":"none"})"), *lib.find("dub"));
    EXPECT_DOUBLE_EQ(chosen.resolvedBpm(), 90.0);
    EXPECT_EQ(chosen.echo, "none");
    EXPECT_EQ(chosen.space, "vast");  // not chosen: the profile's
}

TEST(Profiles, GroovesHaveDifferentDrumPatterns) {
    const auto lib = shipped();
    std::map<std::string, std::vector<std::pair<int, int>>> seen;  // groove -> (step, note) of bar 8
    for (const auto& name : lib.names()) {
        const auto& p = *lib.find(name);
        if (p.groove.empty() || seen.count(p.groove)) continue;
        std::vector<std::pair<int, int>> hits;
        for (const auto& t : scoreFor(p, 60.0).tracks)
            if (t.name == "drums")
                for (const auto& n : t.notes)
                    if (n.start >= 32.0 && n.start < 36.0) hits.push_back({static_cast<int>(std::lround((n.start - 32.0) * 4)), static_cast<int>(n.note)});
        std::sort(hits.begin(), hits.end());
        seen[p.groove] = hits;
    }
    EXPECT_GE(seen.size(), 5u);
    for (auto a = seen.begin(); a != seen.end(); ++a)
        for (auto b = std::next(a); b != seen.end(); ++b) EXPECT_NE(a->second, b->second) << a->first << " vs " << b->first;
}

TEST(Profiles, ProfileEffectsJoinTheLayersChains) {
    const auto lib = shipped();
    const auto score = scoreFor(*lib.find("dub"), 30.0);
    bool delayOnKeys = false;
    for (const auto& t : score.tracks)
        for (const auto& e : t.effects) delayOnKeys = delayOnKeys || (t.name == "keys" && e.type == "delay");
    EXPECT_TRUE(delayOnKeys);
}

TEST(Profiles, EveryProfileRendersWithSound) {
    const auto lib = shipped();
    for (const auto& name : lib.names()) {
        const auto score = scoreFor(*lib.find(name), 6.0);
        render::RenderOptions o;
        o.durationSeconds = 6.0;
        const auto audio = render::renderScore(score, test::presets(), o);
        EXPECT_GT(test::rms(audio.left()), 0.005) << name;
        EXPECT_TRUE(test::allFinite(audio.left())) << name;
    }
}

TEST(Profiles, BadProfileFilesGetClearErrors) {
    test::TempDir dir;
    const auto err = [&](const char* json) {
        std::filesystem::create_directories(dir / "p");
        std::ofstream(dir / "p/x.json") << json;
        try {
            compose::ProfileLibrary lib;
            lib.loadDirectory(dir / "p");
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(err(R"({"config":{"bpm":999}})").find("field 'bpm' = 999"), std::string::npos);
    EXPECT_NE(err(R"({"config":{},"groove":"polka"})").find("\"groove\" must be one of"), std::string::npos);
    EXPECT_NE(err(R"({"config":{},"presets":{"kazoo":"x"}})").find("'kazoo' is not a layer"), std::string::npos);
    EXPECT_NE(err(R"({"conf":{}})").find("unknown key 'conf'"), std::string::npos);
    EXPECT_NE(err("{").find("not valid JSON"), std::string::npos);
    EXPECT_NE(err(R"({"config":{},"effects":{"keys":[{"params":{}}]}})").find("each effect needs a \"type\""), std::string::npos);
}

TEST(Profiles, AnIndexedFolderReadsEachProfileWhenItIsFirstAskedFor) {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "p");
    std::ofstream(dir / "p/good.json") << R"({"config":{"bpm":96},"groove":"boom_bap"})";
    std::ofstream(dir / "p/broken.json") << R"({"config":{"bpm":999}})";
    compose::ProfileLibrary lib;
    lib.indexDirectory(dir / "p");  // a broken profile that nothing asks for costs nothing
    EXPECT_EQ(lib.names(), (std::vector<std::string>{"broken", "good"}));
    // Written after indexing and before the first find: the read happens at find.
    std::ofstream(dir / "p/good.json") << R"({"config":{"bpm":97},"groove":"two_step"})";
    const auto* good = lib.find("good");
    ASSERT_NE(good, nullptr);
    EXPECT_EQ(good->groove, "two_step");
    EXPECT_NE(good->configJson.find("97"), std::string::npos) << good->configJson;
    EXPECT_EQ(lib.find("good"), good);  // read once
    EXPECT_EQ(lib.find("absent"), nullptr);
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            (void)lib.find("broken");
            ADD_FAILURE() << "a broken profile was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("field 'bpm' = 999"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos) << e.what();
        }
    }
    compose::ProfileLibrary eager;
    EXPECT_THROW(eager.loadDirectory(dir / "p"), std::invalid_argument);  // loadDirectory still reads them all
}

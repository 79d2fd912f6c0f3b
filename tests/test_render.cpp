// Rendering a score through the engine: stems add up to the pre-master mix, determinism, and the
// exact length asked for.
#include <gtest/gtest.h>

#include "Analysis.h"
#include "Presets.h"
#include "compose/SketchComposer.h"
#include "compose/SketchConfig.h"
#include "engine/Preset.h"
#include "render/Mastering.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
using test::presets;
music::Score denseScore(double seconds) {
    const auto c = music::parseMusicConfig(R"({"density":6,"rhythm":"kit_medium","accent":"pluck","tempo":"fast","echo":"heavy","seed":11})");
    return compose::composeFromConfig(c, seconds);
}
}  // namespace

TEST(Render, StemsSumToThePreMasterMix) {
    const auto score = denseScore(24.0);
    ASSERT_EQ(score.tracks.size(), 6u);
    render::RenderOptions o;
    o.durationSeconds = 24.0;
    o.masterChain = false;
    const auto mix = render::renderScore(score, presets(), o);
    const auto stems = render::renderStems(score, presets(), o);
    ASSERT_EQ(stems.size(), score.tracks.size());
    std::vector<float> residual(mix.left().size()), left(mix.left());
    for (std::size_t i = 0; i < residual.size(); ++i) {
        float sum = 0.0f;
        for (const auto& s : stems) sum += s.left()[i];
        residual[i] = mix.left()[i] - sum;
    }
    for (const auto& s : stems) EXPECT_GT(test::rms(s.left()), 1e-4) << "every stem has sound";
    EXPECT_LT(test::db(test::rms(residual) / test::rms(left)), -60.0);
}

TEST(Render, LengthIsExactAndRendersAreDeterministic) {
    const auto score = denseScore(3.3);
    render::RenderOptions o;
    o.durationSeconds = 3.3;
    o.sampleRate = 48000.0;
    o.blockSize = 100;
    const auto a = render::renderScore(score, presets(), o);
    const auto b = render::renderScore(score, presets(), o);
    EXPECT_EQ(a.frames(), 158400);
    EXPECT_TRUE(a.left() == b.left() && a.right() == b.right());
    // Block size changes where blocks split, not what is heard (timing is sample-accurate).
    o.blockSize = 512;
    const auto c = render::renderScore(score, presets(), o);
    std::vector<float> diff(a.left().size());
    for (std::size_t i = 0; i < diff.size(); ++i) diff[i] = a.left()[i] - c.left()[i];
    EXPECT_LT(test::db(test::rms(diff) / test::rms(a.left())), -60.0);
}

TEST(Mastering, HitsLoudnessAndCeilingWhateverTheInputLevel) {
    const auto score = denseScore(10.0);
    render::RenderOptions o;
    o.durationSeconds = 10.0;
    for (float gain : {0.01f, 1.0f, 8.0f}) {
        auto audio = render::renderScore(score, presets(), o);
        for (auto* ch : {&audio.left(), &audio.right()})
            for (auto& v : *ch) v *= gain;
        const auto r = render::master(audio, o.sampleRate, {-16.0, -1.5});
        const auto m = render::measure(audio, o.sampleRate);
        EXPECT_NEAR(m.lufs, -16.0, 0.5) << gain;
        EXPECT_LE(m.truePeakDbtp, -1.5) << gain;
        EXPECT_NEAR(r.outputLufs, m.lufs, 0.01);
    }
}

TEST(Mastering, SilenceStaysSilentWithoutBlowingUpNoise) {
    StereoBuffer silent;
    silent.resize(44100);
    const auto r = render::master(silent, 44100.0);
    EXPECT_TRUE(r.silent);
    EXPECT_EQ(test::peak(silent.left()), 0.0);
}

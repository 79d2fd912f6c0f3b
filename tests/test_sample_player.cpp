// engine::makeSamplePlayer: zones across the keyboard, next-note settings (start, end, rate,
// gain, pan), one-shots and sustained loops with a crossfade; analytic checks on its output.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "engine/SamplePlayer.h"

using namespace soundstar;
using namespace soundstar::engine;

namespace {
constexpr double kRate = 48000.0;

std::shared_ptr<const SampleBuffer> sine(double hz, std::size_t frames, float amp = 0.5f) {
    auto b = std::make_shared<SampleBuffer>();
    for (std::size_t i = 0; i < frames; ++i) {
        const auto v = static_cast<float>(amp * std::sin(2.0 * std::numbers::pi * hz * static_cast<double>(i) / kRate));
        b->left.push_back(v);
        b->right.push_back(v);
    }
    return b;
}

std::shared_ptr<const SampleBuffer> constant(float v, std::size_t frames) {
    auto b = std::make_shared<SampleBuffer>();
    b->left.assign(frames, v);
    b->right.assign(frames, v);
    return b;
}

/// Renders `frames` frames in blocks of `block`.
std::pair<std::vector<float>, std::vector<float>> run(Instrument& inst, std::size_t frames, int block = 64) {
    std::vector<float> l(frames), r(frames);
    for (std::size_t at = 0; at < frames; at += static_cast<std::size_t>(block)) {
        const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(block), frames - at));
        inst.process({l.data() + at, r.data() + at, n});
    }
    return {l, r};
}

std::size_t soundingFrames(const std::vector<float>& x) {
    std::size_t last = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::abs(x[i]) > 1e-6f) last = i + 1;
    return last;
}
}  // namespace

TEST(SamplePlayer, OneShotPlaysFromStartToEndAtTheRateWithGainAndPan) {
    SampleZone z{.sample = constant(0.5f, 48000), .name = "c"};
    auto p = makeSamplePlayer({z});
    p->prepare(kRate, 64);
    p->setParam(kSpStart, 0.25f);  // frames 12000 ..
    p->setParam(kSpEnd, 0.75f);    // .. 36000: 24000 frames, at rate 2: 12000
    p->setParam(kSpRate, 2.0f);
    p->setParam(kSpGain, -6.0206f);
    p->setParam(kSpPan, -1.0f);
    p->noteOn(60.0f, 1.0f);
    p->noteOff(60.0f);  // a one-shot plays on to its end
    const auto [l, r] = run(*p, 20000);
    EXPECT_EQ(soundingFrames(l), 12000u);
    EXPECT_NEAR(l[100], 0.5f * 0.5f * std::numbers::sqrt2_v<float>, 1e-4f);  // -6 dB, hard left (+3 dB of the centre-unity law)
    EXPECT_EQ(soundingFrames(r), 0u);
}

TEST(SamplePlayer, ZonesSplitTheKeyboardAndTransposeFromTheirRoot) {
    SampleZone low{.sample = constant(0.25f, 4800), .name = "low", .rootNote = 48, .highNote = 59};
    SampleZone high{.sample = constant(0.75f, 4800), .name = "high", .rootNote = 60, .lowNote = 60};
    auto p = makeSamplePlayer({low, high});
    p->prepare(kRate, 64);
    p->noteOn(48.0f, 1.0f);
    auto [l, r] = run(*p, 6000);
    EXPECT_NEAR(l[10], 0.25f, 1e-6f);
    EXPECT_EQ(soundingFrames(l), 4799u);  // its own pitch: the whole sample (the last frame is the end)
    p->noteOn(72.0f, 1.0f);               // an octave over its root: twice as fast
    std::tie(l, r) = run(*p, 6000);
    EXPECT_NEAR(l[10], 0.75f, 1e-6f);
    EXPECT_NEAR(static_cast<double>(soundingFrames(l)), 2400.0, 1.0);
    p->setParam(kSpZone, 0.0f);  // a zone chosen by number, whatever the key
    p->noteOn(100.0f, 1.0f);
    std::tie(l, r) = run(*p, 10);
    EXPECT_NEAR(l[5], 0.25f, 1e-6f);
}

TEST(SamplePlayer, SustainedLoopRunsWhileHeldCrossfadesSmoothlyAndFadesOnRelease) {
    // A 440 Hz sine looped over a span that is not a whole number of periods: without the
    // crossfade the jump back would step by up to the full amplitude.
    SampleZone z{.sample = sine(440.0, 48000), .name = "s"};
    z.mode = LoopMode::Sustain;
    z.loopStart = 10000;
    z.loopEnd = 20092;  // 92.5 periods: the jump back lands half a period out of phase
    z.crossfade = 2400;
    auto p = makeSamplePlayer({z});
    p->prepare(kRate, 64);
    p->setParam(kSpRelease, 0.01f);
    p->noteOn(60.0f, 1.0f);
    const auto [l, r] = run(*p, 96000);  // twice the sample's length, still sounding
    EXPECT_GT(std::abs(l[95990]) + std::abs(l[95995]) + std::abs(l[95999]), 0.01f);
    float maxStep = 0.0f;
    for (std::size_t i = 1; i < l.size(); ++i) maxStep = std::max(maxStep, std::abs(l[i] - l[i - 1]));
    const float sineStep = 0.5f * 2.0f * std::numbers::pi_v<float> * 440.0f / 48000.0f;  // the largest step of the sine itself
    EXPECT_LT(maxStep, sineStep * 1.5f);
    p->noteOff(60.0f);
    const auto [l2, r2] = run(*p, 4800);
    EXPECT_LE(soundingFrames(l2), 481u);  // 10 ms release
    EXPECT_EQ(p->activeVoices(), 0);
}

TEST(SamplePlayer, RefusesEmptySamplesAndLoopsOutsideThem) {
    SampleZone z{.sample = nullptr, .name = "e"};
    EXPECT_THROW(makeSamplePlayer({z}), std::invalid_argument);
    z.sample = constant(0.1f, 100);
    z.loopStart = 200;
    EXPECT_THROW(makeSamplePlayer({z}), std::invalid_argument);
}

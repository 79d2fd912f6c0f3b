// Rendering a score through the engine: stems add up to the pre-master mix, determinism, and the
// exact length asked for.
#include <gtest/gtest.h>

#include "Analysis.h"
#include "Loudness.h"
#include "Presets.h"
#include "compose/SketchComposer.h"
#include "compose/SketchConfig.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
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

namespace {
/// The score played through the real-time engine block by block, as the audio callback would
/// (what renderScore did before it rendered tracks in parallel): the reference.
StereoBuffer renderOnTheEngine(const music::Score& score, const render::RenderOptions& o) {
    engine::AudioEngine eng(1 << 15);
    eng.prepare(o.sampleRate, o.blockSize);
    engine::Controller ctl(eng);
    render::buildGraph(ctl, score, presets(), o.masterChain);
    ctl.commit();
    const auto total = static_cast<SampleTime>(std::llround(o.durationSeconds * o.sampleRate));
    const auto events = render::schedule(score, o.sampleRate, total);
    StereoBuffer out;
    out.resize(static_cast<int>(total));
    std::size_t next = 0;
    for (SampleTime pos = 0; pos < total; pos += o.blockSize) {
        const int n = static_cast<int>(std::min<SampleTime>(o.blockSize, total - pos));
        for (; next < events.size() && events[next].time < pos + n; ++next) {
            const auto& e = events[next];
            const bool ok = e.velocity > 0.0f ? ctl.noteOn(e.track, e.note, e.velocity, e.time) : ctl.noteOff(e.track, e.note, e.time);
            EXPECT_TRUE(ok);
        }
        eng.render(out.view().offset(static_cast<int>(pos), n));
        ctl.collect();
    }
    // renderScore's fade-out over the last half second.
    const auto fade = static_cast<SampleTime>(o.fadeOutSeconds * o.sampleRate);
    for (SampleTime i = 0; i < fade; ++i) {
        const float g = static_cast<float>(i) / static_cast<float>(fade);
        out.left()[static_cast<std::size_t>(total - 1 - i)] *= g;
        out.right()[static_cast<std::size_t>(total - 1 - i)] *= g;
    }
    return out;
}
}  // namespace

TEST(Render, TracksOnEveryCoreGiveTheEnginesBytesWhateverTheThreadCount) {
    const auto score = denseScore(7.0);
    // 7 s renders in chunks of 32 blocks; 1 s and 0.3 s in shorter ones (12 and 4 blocks of 256).
    for (const double seconds : {7.0, 1.0, 0.3}) {
        for (const bool masterChain : {true, false}) {
            for (const int block : {256, 100}) {
                render::RenderOptions o;
                o.durationSeconds = seconds;
                o.fadeOutSeconds = std::min(o.fadeOutSeconds, seconds / 2);
                o.blockSize = block;
                o.masterChain = masterChain;
                const auto reference = renderOnTheEngine(score, o);
                for (const int threads : {1, 2, 5}) {
                    o.threads = threads;
                    const auto a = render::renderScore(score, presets(), o);
                    EXPECT_TRUE(a.left() == reference.left() && a.right() == reference.right())
                        << seconds << " s, " << threads << " threads, block " << block << ", master chain " << masterChain;
                }
            }
        }
    }
}

// Offline, a kit decodes only the notes its layer plays and a SoundFont reads only its program's
// samples; the engine (live) reads everything. The bytes must not differ.
TEST(Render, KitsAndSoundFontsReadOnlyWhatIsPlayedWithTheEnginesBytes) {
    auto score = denseScore(4.0);
    bool kit = false, font = false;
    for (auto& t : score.tracks) {
        if (t.name == "drums") t.preset = "sampler_kit", kit = true;
        else if (t.name == "keys" || t.name == "pad") t.preset = t.name == "keys" ? "piano_sf" : "strings_sf", font = true;
        else continue;
        t.params.clear();  // the synth presets' parameters (cutoff, ...) mean nothing to these
    }
    ASSERT_TRUE(kit && font);
    render::RenderOptions o;
    o.durationSeconds = 4.0;
    const auto reference = renderOnTheEngine(score, o);
    EXPECT_GT(test::rms(reference.left()), 1e-3);
    for (const int threads : {1, 2}) {
        o.threads = threads;
        const auto a = render::renderScore(score, presets(), o);
        EXPECT_TRUE(a.left() == reference.left() && a.right() == reference.right()) << threads << " threads";
    }
}

TEST(Render, StemsComeFromTheMixPassAndDoNotDependOnTheThreadCount) {
    const auto score = denseScore(5.0);
    render::RenderOptions o;
    o.durationSeconds = 5.0;
    o.threads = 1;
    std::vector<StereoBuffer> one, three;
    const auto mixOne = render::renderScore(score, presets(), o, {}, &one);
    o.threads = 3;
    const auto mixThree = render::renderScore(score, presets(), o, {}, &three);
    ASSERT_EQ(one.size(), score.tracks.size());
    ASSERT_EQ(three.size(), score.tracks.size());
    EXPECT_TRUE(mixOne.left() == mixThree.left());
    for (std::size_t t = 0; t < one.size(); ++t) {
        EXPECT_TRUE(one[t].left() == three[t].left() && one[t].right() == three[t].right()) << t;
        EXPECT_EQ(one[t].frames(), mixOne.frames());
    }
    // Asking for stems does not change the mix.
    EXPECT_TRUE(mixOne.left() == render::renderScore(score, presets(), o).left());
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

// A render into a buffer kept from an earlier render (renderScoreInto) reuses its memory and
// gives the fresh render's bytes: after a longer render, after a shorter one, and after garbage.
TEST(Render, IntoAKeptBufferGivesTheFreshRendersBytesAndLength) {
    render::RenderOptions o;
    o.sampleRate = 48000.0;
    const auto render = [&](double seconds) {
        o.durationSeconds = seconds;
        return render::renderScore(denseScore(seconds), presets(), o);
    };
    const auto longer = render(4.0), shorter = render(2.5);
    StereoBuffer kept;
    o.durationSeconds = 4.0;
    render::renderScoreInto(kept, denseScore(4.0), presets(), o);
    const float* memory = kept.left().data();
    EXPECT_TRUE(kept.left() == longer.left() && kept.right() == longer.right());
    std::fill(kept.left().begin(), kept.left().end(), 0.5f);  // what the buffer held must not leak in
    o.durationSeconds = 2.5;
    render::renderScoreInto(kept, denseScore(2.5), presets(), o);
    EXPECT_EQ(kept.frames(), 120000);
    EXPECT_TRUE(kept.left() == shorter.left() && kept.right() == shorter.right());
    EXPECT_EQ(kept.left().data(), memory) << "the longer render's memory is reused";
    o.durationSeconds = 4.0;
    render::renderScoreInto(kept, denseScore(4.0), presets(), o);
    EXPECT_TRUE(kept.left() == longer.left() && kept.right() == longer.right());
}

// The meter the mastering test trusts must itself be right: BS.1770's reference points.
TEST(TestLoudnessMeter, ReadsTheStandardsReferenceSignals) {
    for (double sr : {44100.0, 48000.0}) {
        // A 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS; in both, 0.0 LUFS.
        const auto s = test::sine(997.0, sr, static_cast<std::size_t>(sr * 5));
        EXPECT_NEAR(test::integratedLufs({s}, sr), -3.01, 0.02) << sr;
        EXPECT_NEAR(test::integratedLufs({s, s}, sr), 0.0, 0.02) << sr;
        // -20 dB is -20 LU. Above 2 kHz the shelf adds 4.0 dB where 997 Hz gets 0.66 dB, so a
        // 10 kHz sine in one channel reads -0.691 - 3.01 + 4.0 = +0.30 LUFS (ffmpeg's ebur128: 0.3).
        const auto quiet = test::sine(997.0, sr, static_cast<std::size_t>(sr * 5), 0.1f);
        EXPECT_NEAR(test::integratedLufs({quiet, quiet}, sr), -20.0, 0.02) << sr;
        const auto hi = test::sine(10000.0, sr, static_cast<std::size_t>(sr * 5));
        EXPECT_NEAR(test::integratedLufs({hi}, sr), 0.30, 0.05) << sr;
    }
    // True peak: a sine at fs/4 sampled 45 degrees off its crests has sample peaks of 0.707
    // (-3 dBFS) but a true peak of 1.0 (0 dBTP). Faded in and out: an abrupt start would ring.
    std::vector<float> x(4800);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double fade =
            std::min({1.0, static_cast<double>(i) / 480.0, static_cast<double>(x.size() - 1 - i) / 480.0});
        x[i] = static_cast<float>(
            fade * std::sin(std::numbers::pi / 2.0 * static_cast<double>(i) + std::numbers::pi / 4.0));
    }
    EXPECT_NEAR(test::db(test::peak(x)), -3.01, 0.01);
    EXPECT_NEAR(test::truePeakDbtp({x}), 0.0, 0.02);
}

TEST(Mastering, HitsLoudnessAndCeilingWhateverTheInputLevel) {
    // Checked with the test's own BS.1770 meter (tests/Loudness.h), not with render::measure,
    // which is what master() itself steers by.
    const auto score = denseScore(10.0);
    render::RenderOptions o;
    o.durationSeconds = 10.0;
    for (float gain : {0.01f, 1.0f, 8.0f}) {
        auto audio = render::renderScore(score, presets(), o);
        for (auto* ch : {&audio.left(), &audio.right()})
            for (auto& v : *ch) v *= gain;
        const double inputLufs = test::integratedLufs({audio.left(), audio.right()}, o.sampleRate);
        const auto r = render::master(audio, o.sampleRate, {-16.0, -1.5});
        const double lufs = test::integratedLufs({audio.left(), audio.right()}, o.sampleRate);
        const double truePeak = test::truePeakDbtp({audio.left(), audio.right()});
        EXPECT_NEAR(lufs, -16.0, 0.5) << gain;
        // Two 4x interpolators may disagree by a few hundredths of a dB on the same peak.
        EXPECT_LE(truePeak, -1.5 + 0.1) << gain;
        EXPECT_LE(test::db(test::peak(audio.left())), -1.5) << gain;
        EXPECT_LE(test::db(test::peak(audio.right())), -1.5) << gain;
        // What master() reports agrees with the independent meter.
        EXPECT_NEAR(r.inputLufs, inputLufs, 0.1) << gain;
        EXPECT_NEAR(r.outputLufs, lufs, 0.1) << gain;
        EXPECT_NEAR(r.truePeakDbtp, truePeak, 0.2) << gain;
        EXPECT_NEAR(r.gainDb, -16.0 - inputLufs, 3.0)
            << gain << ": the gain is about what the loudness asked for";
    }
}

TEST(Mastering, SilenceStaysSilentWithoutBlowingUpNoise) {
    StereoBuffer silent;
    silent.resize(44100);
    const auto r = render::master(silent, 44100.0);
    EXPECT_TRUE(r.silent);
    EXPECT_EQ(test::peak(silent.left()), 0.0);
}

// The engine changed while it plays (issue #18's engine work): timed fades that land on their
// sample, equal-power crossfades that keep the level, and tracks replaced in place while the
// rest of the mix (and its tails) plays on, with every replaced track handed back and freed.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/Rng.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Effect.h"
#include "engine/Instrument.h"

using namespace soundstar;
using namespace soundstar::engine;

namespace {
std::atomic<int> gLiveInstruments{0};

// A test source: steady white noise (or a constant) from a seed, whatever the notes.
class Source final : public Instrument {
public:
    explicit Source(std::uint64_t seed, float constant = 0.0f) : rng_(seed), constant_(constant) { ++gLiveInstruments; }
    ~Source() override { --gLiveInstruments; }
    void prepare(double, int) override {}
    void noteOn(float, float) override {}
    void noteOff(float) override {}
    void allNotesOff() override {}
    void setParam(int, float) override {}
    void process(StereoView io) override {
        for (int i = 0; i < io.frames; ++i) {
            const float x = constant_ != 0.0f ? constant_ : 0.5f * (rng_.uniform() * 2.0f - 1.0f);
            io.left[i] = x;
            io.right[i] = x;
        }
    }
    std::span<const ParamSpec> params() const override { return {}; }
    int activeVoices() const override { return 1; }
    const char* kind() const override { return "test_source"; }

private:
    Rng rng_;
    float constant_;
};

std::vector<float> renderLeft(AudioEngine& eng, Controller& ctl, int frames, int block) {
    StereoBuffer out;
    out.resize(frames);
    for (int pos = 0; pos < frames; pos += block) {
        const int n = std::min(block, frames - pos);
        eng.render(out.view().offset(pos, n));
        ctl.collect();
    }
    return out.left();
}

double rms(const std::vector<float>& x, std::size_t from, std::size_t n) {
    double s = 0.0;
    for (std::size_t i = from; i < from + n; ++i) s += static_cast<double>(x[i]) * x[i];
    return std::sqrt(s / static_cast<double>(n));
}
}  // namespace

TEST(LiveEngine, AFadeStartsOnItsStampedSampleForAnyBlockSize) {
    for (int block : {1, 64, 100, 512}) {
        AudioEngine eng;
        eng.prepare(48000.0, 512);
        Controller ctl(eng);
        ctl.addTrack("dc", std::make_unique<Source>(1, 0.5f));
        ctl.commit();
        ASSERT_TRUE(ctl.fadeGain(0, -120.0f, 0.01, FadeShape::Linear, 1000));
        const auto x = renderLeft(eng, ctl, 2000, block);
        EXPECT_FLOAT_EQ(x[999], 0.5f) << block;
        EXPECT_LT(x[1000], 0.5f) << "the fade's first step is on sample 1000 (block " << block << ")";
        EXPECT_NEAR(x[1000 + 240], 0.25f, 0.01f) << "halfway through a 480-sample linear fade";
        EXPECT_EQ(x[1000 + 480], 0.0f) << "and silent exactly at its end";
    }
}

// A fade (or a plain gain change) that arrives while another fade is under way takes over from
// the gain that fade has reached: no jump back to where the first one started.
TEST(LiveEngine, AFadeDuringAFadeTakesOverFromWhereItHadGot) {
    for (const auto shape : {FadeShape::Linear, FadeShape::EqualPower}) {
        AudioEngine eng;
        eng.prepare(48000.0, 64);
        Controller ctl(eng);
        ctl.addTrack("dc", std::make_unique<Source>(1, 0.5f), -120.0f);
        ctl.commit();
        ASSERT_TRUE(ctl.fadeGain(0, 0.0f, 0.02, shape, 1000));     // up over 960 samples
        ASSERT_TRUE(ctl.fadeGain(0, -120.0f, 0.02, shape, 1480));  // down, halfway up
        ASSERT_TRUE(ctl.fadeGain(0, 0.0f, 0.02, shape, 1960));     // up again, halfway down
        ASSERT_TRUE(ctl.setGain(0, -6.0f, 2440));                   // a plain gain, halfway up
        const auto x = renderLeft(eng, ctl, 4000, 64);
        float worst = 0.0f;
        for (std::size_t i = 1; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - x[i - 1]));
        // The steepest a 960-sample fade of 0.5 moves: 0.5 * pi / 2 / 960 per sample (equal power).
        EXPECT_LT(worst, 0.5f * 1.6f / 960.0f * 1.05f) << "a jump where one fade took over from another";
        EXPECT_GT(x[1479], 0.2f) << "the first fade had got halfway up";
        EXPECT_GT(x[1960], 0.02f) << "the second had not got to silence";
        EXPECT_NEAR(x[3999], 0.5f * std::pow(10.0f, -6.0f / 20.0f), 1e-3f);
    }
}

// An effect bypassed on its sample: 10 ms later the track plays its dry input exactly (the same
// samples as a track without the effect), the crossfade has no step, and brought back, the
// effect's own output returns (it kept running, so its state is current).
TEST(LiveEngine, ABypassedEffectCrossfadesToTheDrySignalAndBack) {
    const auto make = [](bool withFilter) {
        auto eng = std::make_unique<AudioEngine>();
        eng->prepare(48000.0, 64);
        auto ctl = std::make_unique<Controller>(*eng);
        ctl->addTrack("noise", std::make_unique<Source>(7));
        if (withFilter) {
            const int fx = ctl->addEffect(0, makeEffect("filter"));
            ctl->setInitialParam(0, fx, "cutoff", 300.0f);
        }
        ctl->commit();
        return std::make_pair(std::move(eng), std::move(ctl));
    };
    auto [eng, ctl] = make(true);
    auto [dryEng, dryCtl] = make(false);
    ASSERT_TRUE(ctl->setBypass(0, 0, true, 4800));
    ASSERT_TRUE(ctl->setBypass(0, 0, false, 14400));
    const auto x = renderLeft(*eng, *ctl, 24000, 64);
    const auto dry = renderLeft(*dryEng, *dryCtl, 24000, 64);
    EXPECT_LT(rms(x, 2000, 2400), 0.5 * rms(dry, 2000, 2400)) << "the filter darkens the noise before the bypass";
    EXPECT_NE(x[4799], dry[4799]);
    EXPECT_NE(x[4800], dry[4800]) << "the crossfade starts on the stamped sample, from the filtered signal";
    for (std::size_t i = 4800 + 480; i < 14400; ++i) ASSERT_EQ(x[i], dry[i]) << "bypassed: the dry input, sample " << i;
    EXPECT_LT(rms(x, 20000, 2400), 0.5 * rms(dry, 20000, 2400)) << "brought back, the filter works again";
    // The crossfade is a ramp: within it each sample lies between the dry and the filtered input.
    const auto filtered = [&] {
        auto [e2, c2] = make(true);
        return renderLeft(*e2, *c2, 6000, 64);
    }();
    for (std::size_t i = 4800; i < 4800 + 480; ++i) {
        const float lo = std::min(dry[i], filtered[i]), hi = std::max(dry[i], filtered[i]);
        ASSERT_GE(x[i], lo - 1e-6f) << i;
        ASSERT_LE(x[i], hi + 1e-6f) << i;
    }
    EXPECT_THROW(ctl->setBypass(0, 1, true, 0), std::invalid_argument);
}

TEST(LiveEngine, AnEqualPowerCrossfadeOfTwoNoiseLayersKeepsTheLevelWithinOneDb) {
    AudioEngine eng;
    eng.prepare(48000.0, 256);
    Controller ctl(eng);
    ctl.addTrack("a", std::make_unique<Source>(11));
    ctl.addTrack("b", std::make_unique<Source>(12), -120.0f);
    ctl.commit();
    const SampleTime start = 24000, length = 96000;  // a 2 s crossfade from 0.5 s
    ASSERT_TRUE(ctl.fadeGain(0, -120.0f, 2.0, FadeShape::EqualPower, start));
    ASSERT_TRUE(ctl.fadeGain(1, 0.0f, 2.0, FadeShape::EqualPower, start));
    const auto x = renderLeft(eng, ctl, 168000, 256);
    const double before = rms(x, 0, 24000);
    double lo = 1e9, hi = -1e9;
    for (std::size_t w = static_cast<std::size_t>(start); w + 2400 <= static_cast<std::size_t>(start + length); w += 2400) {
        const double db = 20.0 * std::log10(rms(x, w, 2400) / before);
        lo = std::min(lo, db), hi = std::max(hi, db);
    }
    EXPECT_GT(lo, -1.0) << "no dip in the middle";
    EXPECT_LT(hi, 1.0);
    EXPECT_NEAR(20.0 * std::log10(rms(x, 144000, 24000) / before), 0.0, 0.5) << "layer b alone after the fade";
    // A linear crossfade of uncorrelated layers dips by about 3 dB: the shape matters.
    AudioEngine eng2;
    eng2.prepare(48000.0, 256);
    Controller ctl2(eng2);
    ctl2.addTrack("a", std::make_unique<Source>(11));
    ctl2.addTrack("b", std::make_unique<Source>(12), -120.0f);
    ctl2.commit();
    ctl2.fadeGain(0, -120.0f, 2.0, FadeShape::Linear, start);
    ctl2.fadeGain(1, 0.0f, 2.0, FadeShape::Linear, start);
    const auto y = renderLeft(eng2, ctl2, 168000, 256);
    EXPECT_LT(20.0 * std::log10(rms(y, static_cast<std::size_t>(start + length / 2 - 1200), 2400) / before), -2.0);
}

TEST(LiveEngine, ReplacingATrackLeavesTheOthersUntouchedAndHandsEveryOldTrackBack) {
    const int before = gLiveInstruments.load();
    std::vector<float> reference, changed;
    for (int pass = 0; pass < 2; ++pass) {
        AudioEngine eng;
        eng.prepare(48000.0, 128);
        Controller ctl(eng);
        ctl.addTrack("steady", std::make_unique<Source>(5));
        ctl.addTrack("swapped", std::make_unique<Source>(6), -120.0f);  // silent: only its replacement is heard
        ctl.commit();
        // Replacements posted a little ahead of the playhead, as a live controller does: 600 of
        // them, more than the retired queue holds at once, so old tracks must come back as it plays.
        StereoBuffer out;
        out.resize(48000);
        int posted = 0;
        for (int pos = 0; pos < 48000; pos += 128) {
            while (pass == 1 && posted < 600 && 1000 + 64 * posted < pos + 512) {
                ctl.replaceTrack(1, ctl.makeTrack("swapped", std::make_unique<Source>(100 + static_cast<std::uint64_t>(posted)), -120.0f),
                                 1000 + 64 * posted);
                ++posted;
            }
            eng.render(out.view().offset(pos, 128));
            ctl.collect();
        }
        (pass == 0 ? reference : changed) = out.left();
        EXPECT_EQ(ctl.badAddresses(), 0);
        EXPECT_EQ(ctl.lateCommands(), 0);
        EXPECT_EQ(ctl.trackNames().at(1), "swapped");
    }
    EXPECT_EQ(reference, changed) << "the other track and the mix are sample-identical";
    EXPECT_EQ(gLiveInstruments.load(), before) << "every replaced track (and every engine) was freed";
}

TEST(LiveEngine, AReplacementLandsOnItsSampleAndABadAddressIsRefused) {
    AudioEngine eng;
    eng.prepare(48000.0, 512);
    Controller ctl(eng);
    ctl.addTrack("layer", std::make_unique<Source>(1, 0.25f));
    ctl.commit();
    ctl.replaceTrack(0, ctl.makeTrack("layer", std::make_unique<Source>(2, 0.75f)), 777);
    const auto x = renderLeft(eng, ctl, 2048, 512);
    EXPECT_FLOAT_EQ(x[776], 0.25f);
    EXPECT_FLOAT_EQ(x[777], 0.75f);
    EXPECT_THROW(ctl.replaceTrack(5, ctl.makeTrack("x", std::make_unique<Source>(3)), 3000), std::invalid_argument);
    EXPECT_THROW(ctl.fadeGain(0, NAN, 1.0, FadeShape::Linear, 3000), std::invalid_argument);
    EXPECT_THROW(ctl.fadeGain(0, 0.0f, -1.0, FadeShape::Linear, 3000), std::invalid_argument);
}

// Analytic checks for the DSP units: known RMS, responses at known frequencies, exact latency.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "Analysis.h"
#include "core/Rng.h"
#include "dsp/Biquad.h"
#include "dsp/Chorus.h"
#include "dsp/Compressor.h"
#include "dsp/DelayLine.h"
#include "dsp/DrumVoice.h"
#include "dsp/Envelope.h"
#include "dsp/FastMath.h"
#include "dsp/Fm.h"
#include "dsp/KarplusStrong.h"
#include "dsp/Ladder.h"
#include "dsp/Lfo.h"
#include "dsp/Limiter.h"
#include "dsp/ModalBell.h"
#include "dsp/Noise.h"
#include "dsp/Oscillator.h"
#include "dsp/Pan.h"
#include "dsp/Phaser.h"
#include "dsp/Reverb.h"
#include "dsp/SawVoiceBank.h"
#include "dsp/Shaper.h"
#include "dsp/StereoDelay.h"
#include "dsp/SubtractiveVoiceBank.h"
#include "dsp/Svf.h"

using namespace soundstar;
using namespace soundstar::dsp;
using namespace soundstar::test;

namespace {
constexpr double kSr = 48000.0;

std::vector<float> runOsc(Waveform w, float hz, std::size_t n, double sr = kSr) {
    Oscillator o;
    o.prepare(sr);
    o.setWaveform(w);
    o.setFrequency(hz);
    std::vector<float> x(n);
    o.process(x.data(), static_cast<int>(n));
    return x;
}

template <typename F>
double filterGainAt(F& f, double hz, double sr = kSr, float amp = 1.0f) {
    auto x = sine(hz, sr, static_cast<std::size_t>(sr / 2), amp);
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = f.tick(x[i]);
    return rms(y, y.size() / 2) / rms(x, x.size() / 2);
}
}  // namespace

TEST(Oscillator, SineHasRmsOfOneOverRootTwo) {
    auto x = runOsc(Waveform::Sine, 1000.0f, 48000);
    EXPECT_NEAR(rms(x), 1.0 / std::sqrt(2.0), 1e-3);
}

TEST(Oscillator, SawHasRmsOfOneOverRootThreeAndItsFundamental) {
    auto x = runOsc(Waveform::Saw, 441.0f, 48000);
    EXPECT_NEAR(rms(x), 1.0 / std::sqrt(3.0), 0.01);
    // A saw's k-th harmonic has amplitude 2/(pi k).
    EXPECT_NEAR(toneAmplitude(x, 441.0, kSr), 2.0 / std::numbers::pi, 0.02);
    EXPECT_NEAR(toneAmplitude(x, 882.0, kSr), 1.0 / std::numbers::pi, 0.02);
}

TEST(Oscillator, SquareHasOnlyOddHarmonics) {
    auto x = runOsc(Waveform::Square, 500.0f, 48000);
    EXPECT_NEAR(toneAmplitude(x, 500.0, kSr), 4.0 / std::numbers::pi, 0.03);
    EXPECT_LT(toneAmplitude(x, 1000.0, kSr), 0.01);
    EXPECT_NEAR(toneAmplitude(x, 1500.0, kSr), 4.0 / (3.0 * std::numbers::pi), 0.03);
}

TEST(Oscillator, TriangleHarmonicsFallAsOneOverKSquared) {
    auto x = runOsc(Waveform::Triangle, 300.0f, 96000);
    const double h1 = toneAmplitude(x, 300.0, kSr, 48000), h3 = toneAmplitude(x, 900.0, kSr, 48000);
    EXPECT_NEAR(h1, 8.0 / (std::numbers::pi * std::numbers::pi), 0.05);
    EXPECT_NEAR(h3 / h1, 1.0 / 9.0, 0.02);
}

TEST(Oscillator, PolyBlepSawAliasesFarLessThanANaiveSaw) {
    // 5 kHz saw at 48 kHz: the 10th harmonic (50 kHz) folds to 2 kHz, between real harmonics.
    const float f = 5000.0f;
    auto x = runOsc(Waveform::Saw, f, 48000);
    std::vector<float> naive(48000);
    double ph = 0.0;
    for (auto& v : naive) {
        v = static_cast<float>(2.0 * ph - 1.0);
        ph += f / kSr;
        if (ph >= 1.0) ph -= 1.0;
    }
    const double aliasBlep = toneAmplitude(x, 2000.0, kSr), aliasNaive = toneAmplitude(naive, 2000.0, kSr);
    EXPECT_LT(aliasBlep, aliasNaive * 0.25);
}

TEST(Oscillator, PulseWidthSetsDutyCycle) {
    Oscillator o;
    o.prepare(kSr);
    o.setWaveform(Waveform::Pulse);
    o.setPulseWidth(0.25f);
    o.setFrequency(100.0f);
    std::vector<float> x(48000);
    o.process(x.data(), 48000);
    double mean = 0;
    for (float v : x) mean += v;
    EXPECT_NEAR(mean / 48000.0, 0.25 - 0.75, 0.02);  // +1 a quarter of the time, -1 otherwise
}

TEST(Noise, WhiteIsZeroMeanAndFlatPinkFallsThreeDbPerOctave) {
    WhiteNoise w;
    std::vector<float> x(1 << 18);
    w.process(x.data(), static_cast<int>(x.size()));
    double mean = 0;
    for (float v : x) mean += v;
    EXPECT_NEAR(mean / static_cast<double>(x.size()), 0.0, 0.01);
    EXPECT_NEAR(rms(x), 1.0 / std::sqrt(3.0), 0.01);

    PinkNoise p;
    p.process(x.data(), static_cast<int>(x.size()));
    // Energy in octave bands 500-1000 vs 4000-8000 Hz: pink has equal energy per octave.
    auto band = [&](double lo, double hi) {
        Biquad hp, lp;
        hp.prepare(kSr);
        lp.prepare(kSr);
        hp.set(BiquadType::HighPass, static_cast<float>(lo), 0.707f);
        lp.set(BiquadType::LowPass, static_cast<float>(hi), 0.707f);
        std::vector<float> y(x);
        hp.process(y.data(), static_cast<int>(y.size()));
        lp.process(y.data(), static_cast<int>(y.size()));
        return rms(y);
    };
    EXPECT_NEAR(db(band(500, 1000) / band(4000, 8000)), 0.0, 1.5);
}

TEST(Adsr, ReachesPeakAfterAttackAndSustainsThenReleasesToSilence) {
    Adsr e;
    e.prepare(1000.0);
    e.set(0.01f, 0.05f, 0.5f, 0.1f);
    e.gateOn();
    float v = 0;
    for (int i = 0; i < 10; ++i) v = e.tick();
    EXPECT_NEAR(v, 1.0f, 1e-4f);
    for (int i = 0; i < 200; ++i) v = e.tick();
    EXPECT_NEAR(v, 0.5f, 1e-3f);
    EXPECT_EQ(e.stage(), Adsr::Stage::Sustain);
    e.gateOff();
    for (int i = 0; i < 101; ++i) v = e.tick();
    EXPECT_FALSE(e.active());
    EXPECT_EQ(v, 0.0f);
}

TEST(MultiSegmentEnvelope, FollowsBreakpointsAndHoldsAtSustain) {
    MultiSegmentEnvelope e;
    e.prepare(1000.0);
    MultiSegmentEnvelope::Segment segs[] = {{1.0f, 0.01f, 0.0f}, {0.3f, 0.02f, 0.0f}, {0.0f, 0.01f, 0.0f}};
    e.setSegments(segs, 3, 1);
    e.gateOn();
    float v = 0;
    for (int i = 0; i < 5; ++i) v = e.tick();
    EXPECT_NEAR(v, 0.4f, 0.01f);  // halfway up the linear first segment
    for (int i = 0; i < 100; ++i) v = e.tick();
    EXPECT_NEAR(v, 0.3f, 1e-5f);
    EXPECT_TRUE(e.active());
    e.gateOff();
    for (int i = 0; i < 20; ++i) v = e.tick();
    EXPECT_NEAR(v, 0.0f, 1e-5f);
    EXPECT_FALSE(e.active());
}

TEST(Lfo, SineCompletesOneCycleAtItsRate) {
    Lfo l;
    l.prepare(1000.0);
    l.setRate(10.0f);
    EXPECT_NEAR(l.tick(), 0.0f, 1e-6f);
    for (int i = 1; i < 25; ++i) l.tick();
    EXPECT_NEAR(l.tick(), 1.0f, 1e-4f);  // quarter cycle at sample 25
}

TEST(Svf, LowPassIsMinus3dBAtCutoffAndPassesAndStops) {
    Svf f;
    f.prepare(kSr);
    f.set(1000.0f, 0.7071f);
    EXPECT_NEAR(db(filterGainAt(f, 1000.0)), -3.01, 0.2);
    f.reset();
    EXPECT_NEAR(db(filterGainAt(f, 50.0)), 0.0, 0.1);
    f.reset();
    // Bilinear (TPT) response: the analog prototype at the prewarped frequency ratio.
    const double w = std::tan(std::numbers::pi * 10000.0 / kSr) / std::tan(std::numbers::pi * 1000.0 / kSr);
    const double expected = 1.0 / std::sqrt((1 - w * w) * (1 - w * w) + w * w * 2.0);
    EXPECT_NEAR(db(filterGainAt(f, 10000.0)), db(expected), 0.3);
}

TEST(Svf, HighBandNotchModes) {
    Svf f;
    f.prepare(kSr);
    f.set(2000.0f, 0.7071f);
    f.setMode(FilterMode::HighPass);
    EXPECT_LT(db(filterGainAt(f, 100.0)), -45.0);
    f.reset();
    EXPECT_NEAR(db(filterGainAt(f, 15000.0)), 0.0, 0.5);
    f.setMode(FilterMode::BandPass);
    f.set(2000.0f, 2.0f);
    f.reset();
    // The TPT bandpass output v1 peaks at 1/k = Q at the centre.
    EXPECT_NEAR(filterGainAt(f, 2000.0), 2.0, 0.05);
    f.setMode(FilterMode::Notch);
    f.reset();
    EXPECT_LT(db(filterGainAt(f, 2000.0)), -40.0);
}

TEST(Ladder, FourPoleSlopeAndResonancePeak) {
    Ladder f;
    f.prepare(kSr);
    f.set(500.0f, 0.0f);
    // Small signals keep the input saturation linear.
    const double pass = filterGainAt(f, 50.0, kSr, 0.05f);
    f.reset();
    const double stop = filterGainAt(f, 4000.0, kSr, 0.05f);  // three octaves above: about -72 dB (24 dB/oct)
    EXPECT_NEAR(db(pass), 0.0, 0.5);
    EXPECT_LT(db(stop), -60.0);
    f.set(500.0f, 0.9f);
    f.reset();
    const double reso = filterGainAt(f, 500.0, kSr, 0.02f);
    f.set(500.0f, 0.0f);
    f.reset();
    const double flat = filterGainAt(f, 500.0, kSr, 0.02f);
    EXPECT_GT(db(reso) - db(flat), 12.0);
}

TEST(Biquad, PeakShelfAndLowPassMatchTheCookbookAtTheirFrequencies) {
    Biquad b;
    b.prepare(kSr);
    b.set(BiquadType::Peak, 1000.0f, 1.0f, 6.0f);
    EXPECT_NEAR(db(filterGainAt(b, 1000.0)), 6.0, 0.1);
    b.reset();
    EXPECT_NEAR(db(filterGainAt(b, 50.0)), 0.0, 0.2);
    b.set(BiquadType::LowShelf, 200.0f, 0.707f, -6.0f);
    b.reset();
    EXPECT_NEAR(db(filterGainAt(b, 30.0)), -6.0, 0.3);
    b.set(BiquadType::HighShelf, 5000.0f, 0.707f, 4.0f);
    b.reset();
    EXPECT_NEAR(db(filterGainAt(b, 18000.0)), 4.0, 0.3);
    b.set(BiquadType::LowPass, 1000.0f, 0.7071f);
    b.reset();
    EXPECT_NEAR(db(filterGainAt(b, 1000.0)), -3.01, 0.1);
}

TEST(StereoDelay, EchoArrivesExactlyAfterTheDelayTime) {
    StereoDelay d;
    d.prepare(kSr, 1000.0f);
    d.setTime(10.0f, 20.0f);  // 480 and 960 samples
    d.setFeedback(0.0f);
    d.setMix(1.0f);
    d.setTone(20000.0f);
    std::vector<float> l(4000, 0.0f), r(4000, 0.0f);
    // Let smoothers settle on silence, then an impulse.
    for (int k = 0; k < 20; ++k) d.process({l.data(), r.data(), 4000});
    std::fill(l.begin(), l.end(), 0.0f);
    std::fill(r.begin(), r.end(), 0.0f);
    l[0] = r[0] = 1.0f;
    d.process({l.data(), r.data(), 4000});
    const auto argmax = [](const std::vector<float>& v) {
        return std::distance(v.begin(), std::max_element(v.begin(), v.end(), [](float a, float b) {
                                 return std::abs(a) < std::abs(b);
                             }));
    };
    // The tone filter is a biquad lowpass near Nyquist: its group delay is under one sample.
    EXPECT_NEAR(static_cast<double>(argmax(l)), 480.0, 1.0);
    EXPECT_NEAR(static_cast<double>(argmax(r)), 960.0, 1.0);
}

TEST(StereoDelay, PingPongAlternatesSides) {
    StereoDelay d;
    d.prepare(kSr, 1000.0f);
    d.setMode(DelayMode::PingPong);
    d.setTime(10.0f, 10.0f);
    d.setFeedback(0.7f);
    d.setMix(1.0f);
    d.setTone(20000.0f);
    std::vector<float> l(2000, 0.0f), r(2000, 0.0f);
    for (int k = 0; k < 20; ++k) d.process({l.data(), r.data(), 2000});
    std::fill(l.begin(), l.end(), 0.0f);
    std::fill(r.begin(), r.end(), 0.0f);
    l[0] = r[0] = 1.0f;
    d.process({l.data(), r.data(), 2000});
    // First echo on the left at 480, second on the right at 960.
    EXPECT_GT(std::abs(l[480]) + std::abs(l[481]), 0.3f);
    EXPECT_LT(std::abs(r[480]) + std::abs(r[481]), 1e-3f);
    EXPECT_GT(std::abs(r[960]) + std::abs(r[961]), 0.2f);
}

TEST(Reverb, DecayTimeFollowsT60AndLargerSpaceLastsLonger) {
    auto tailDb = [](float size, float t60) {
        Reverb rv;
        rv.prepare(kSr);
        rv.set(size, t60, 0.2f, 0.0f, 1.0f);
        std::vector<float> l(48000 * 3, 0.0f), r(l.size(), 0.0f);
        for (int k = 0; k < 1000; ++k) l[static_cast<std::size_t>(k)] = r[static_cast<std::size_t>(k)] = 0.5f;
        for (std::size_t off = 0; off < l.size(); off += 512)
            rv.process({l.data() + off, r.data() + off, static_cast<int>(std::min<std::size_t>(512, l.size() - off))});
        // Energy in 100 ms windows at 0.2 s and 1.2 s after the burst.
        std::vector<float> a(l.begin() + 9600, l.begin() + 14400), b(l.begin() + 57600, l.begin() + 62400);
        return db(rms(b) / rms(a));
    };
    const double hall = tailDb(1.0f, 2.0f);
    EXPECT_NEAR(hall, -30.0, 8.0);  // 1 s at T60 = 2 s is -30 dB
    EXPECT_LT(tailDb(0.1f, 0.5f), hall - 30.0);
}

TEST(Compressor, StaticCurveAndSteadyStateReduction) {
    Compressor c;
    c.prepare(kSr);
    c.set(-20.0f, 4.0f, 0.0f, 1.0f, 50.0f, 0.0f);
    EXPECT_NEAR(c.gainReductionDb(-10.0f), -7.5f, 1e-4f);  // 10 dB over at 4:1 -> 7.5 dB down
    EXPECT_EQ(c.gainReductionDb(-30.0f), 0.0f);
    auto x = sine(1000.0, kSr, 48000, 0.316f);  // -10 dBFS peak
    std::vector<float> r(x);
    c.process({x.data(), r.data(), 48000});
    EXPECT_NEAR(db(peak(std::vector<float>(x.begin() + 40000, x.end())) / 0.316), -7.5, 0.6);
}

// The detector's smoothing, sample by sample, against the textbook recursion in double: the
// reduction rises with the attack time constant on a step up and falls with the release one on
// the step down (levels held constant, so each sample's wanted reduction is known exactly).
TEST(Compressor, ReductionFollowsAttackAndReleaseSampleBySample) {
    Compressor c;
    c.prepare(kSr);
    const float attackMs = 5.0f, releaseMs = 80.0f;
    c.set(-20.0f, 4.0f, 6.0f, attackMs, releaseMs, 0.0f);
    std::vector<float> l(48000), r(48000);
    for (std::size_t i = 0; i < l.size(); ++i) l[i] = r[i] = i >= 9600 && i < 24000 ? 0.9f : 0.02f;
    const std::vector<float> in = l;
    for (std::size_t off = 0; off < l.size(); off += 300)  // blocks that do not line up with its chunks
        c.process({l.data() + off, r.data() + off, static_cast<int>(std::min<std::size_t>(300, l.size() - off))});
    const double ca = std::exp(-1.0 / (0.001 * attackMs * kSr)), cr = std::exp(-1.0 / (0.001 * releaseMs * kSr));
    double env = 0.0, worst = 0.0, atAttack = 0.0, atRelease = 0.0;
    for (std::size_t i = 0; i < l.size(); ++i) {
        const double want = -c.gainReductionDb(static_cast<float>(20.0 * std::log10(in[i])));
        env = want + (env - want) * (want > env ? ca : cr);
        const double got = -20.0 * std::log10(static_cast<double>(l[i]) / in[i]);
        worst = std::max(worst, std::abs(got - env));
        if (i == 9600 + 240) atAttack = got;     // one attack time after the step up
        if (i == 24000 + 3840) atRelease = got;  // one release time after the step down
    }
    EXPECT_LT(worst, 0.06) << "dB from the reference recursion";
    const double full = -c.gainReductionDb(static_cast<float>(20.0 * std::log10(0.9)));  // 14.3 dB at 4:1
    EXPECT_GT(full, 8.0);
    EXPECT_NEAR(atAttack, full * (1.0 - std::exp(-1.0)), 0.1);
    EXPECT_NEAR(atRelease, full * std::exp(-1.0), 0.1);
    // Still releasing at the end, 24,000 samples (6.25 release times) after the step down.
    EXPECT_NEAR(-20.0 * std::log10(static_cast<double>(l.back()) / in.back()), full * std::exp(-24000.0 / 3840.0), 0.01);
}

TEST(Gate, ClosesOnQuietAndOpensOnLoud) {
    Gate g;
    g.prepare(kSr);
    g.set(-40.0f, 0.5f, 10.0f, 20.0f, -80.0f);
    auto quiet = sine(500.0, kSr, 24000, 0.001f), loud = sine(500.0, kSr, 24000, 0.5f);
    std::vector<float> q2(quiet), l2(loud);
    g.process({quiet.data(), q2.data(), 24000});
    EXPECT_LT(peak(std::vector<float>(quiet.begin() + 12000, quiet.end())), 1e-5);
    g.process({loud.data(), l2.data(), 24000});
    EXPECT_NEAR(peak(std::vector<float>(loud.begin() + 12000, loud.end())), 0.5, 0.01);
}

TEST(Limiter, TruePeakNeverExceedsTheCeilingAndQuietPassesUntouched) {
    Limiter lim;
    lim.prepare(kSr, 2.0f);
    lim.set(-1.0f, 50.0f);
    // Loud, inter-sample-peaky material: a near-Nyquist/4 sine at +6 dBFS plus bursts.
    std::vector<float> l(48000), r(48000);
    for (std::size_t i = 0; i < l.size(); ++i) {
        const double t = static_cast<double>(i) / kSr;
        l[i] = static_cast<float>(2.0 * std::sin(2 * std::numbers::pi * 11025.0 * t + 0.7));
        r[i] = static_cast<float>((i % 9000 < 50 ? 3.0 : 0.3) * std::sin(2 * std::numbers::pi * 97.0 * t));
    }
    lim.process({l.data(), r.data(), 48000});
    // Independent 8x true-peak estimate with a long windowed sinc.
    auto truePeak = [](const std::vector<float>& x) {
        double p = 0;
        for (std::size_t n = 64; n + 64 < x.size(); ++n)
            for (int k = 0; k < 8; ++k) {
                const double frac = k / 8.0;
                double acc = 0;
                for (int j = -32; j <= 32; ++j) {
                    const double t = j - frac;
                    const double s = t == 0 ? 1.0 : std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
                    const double w = 0.5 + 0.5 * std::cos(std::numbers::pi * t / 33.0);
                    acc += x[n + static_cast<std::size_t>(j)] * s * w;
                }
                p = std::max(p, std::abs(acc));
            }
        return p;
    };
    EXPECT_LT(db(truePeak(l)), -0.8);  // ceiling -1 dBTP, allow the estimators to differ by 0.2 dB
    EXPECT_LT(db(truePeak(r)), -0.8);
    EXPECT_LT(lim.minGain(), 0.5f);

    Limiter quietLim;
    quietLim.prepare(kSr, 2.0f);
    auto q = sine(440.0, kSr, 4800, 0.25f);
    std::vector<float> q2(q), orig(q);
    quietLim.process({q.data(), q2.data(), 4800});
    const int lat = quietLim.latencySamples();
    for (std::size_t i = 0; i + static_cast<std::size_t>(lat) < q.size(); ++i)
        ASSERT_NEAR(q[i + static_cast<std::size_t>(lat)], orig[i], 1e-6f);
}

TEST(Pan, EqualPowerKeepsEnergyConstant) {
    for (float p = -1.0f; p <= 1.0f; p += 0.1f) {
        const auto g = equalPowerPan(p);
        EXPECT_NEAR(g.left * g.left + g.right * g.right, 1.0f, 1e-5f);
    }
    EXPECT_NEAR(equalPowerPan(-1.0f).right, 0.0f, 1e-6f);
    EXPECT_NEAR(equalPowerPan(0.0f).left, 0.70710678f, 1e-5f);
}

TEST(StereoWidth, ZeroWidthIsMonoAndUnityIsUnchanged) {
    std::vector<float> l{1.0f, 0.5f}, r{-1.0f, 0.25f};
    StereoWidth w;
    w.setWidth(1.0f);
    w.process({l.data(), r.data(), 2});
    EXPECT_FLOAT_EQ(l[0], 1.0f);
    EXPECT_FLOAT_EQ(r[1], 0.25f);
    w.setWidth(0.0f);
    w.process({l.data(), r.data(), 2});
    EXPECT_FLOAT_EQ(l[0], r[0]);
    EXPECT_FLOAT_EQ(l[1], r[1]);
}

TEST(Shaper, ClipsStayBoundedAndSoftClipIsUnitySlopeAtZero) {
    EXPECT_EQ(hardClip(3.0f), 1.0f);
    EXPECT_NEAR(softClip(0.01f), 0.01f, 1e-5f);
    EXPECT_NEAR(softClip(100.0f), 1.0f, 1e-6f);
    Waveshaper w;
    w.prepare(kSr);
    w.set(ShapeType::Fold, 24.0f, 1.0f);
    for (float x = -50.0f; x < 50.0f; x += 0.37f) ASSERT_LE(std::abs(w.shape(x)), 1.0f + 1e-6f);
    // Drive adds odd harmonics to a sine.
    w.set(ShapeType::Tanh, 18.0f, 1.0f);
    auto x = sine(500.0, kSr, 48000, 0.5f);
    std::vector<float> r(x);
    w.process({x.data(), r.data(), 48000});
    EXPECT_GT(toneAmplitude(x, 1500.0, kSr, 2400) / toneAmplitude(x, 500.0, kSr, 2400), 0.1);
}

TEST(Fm4, ZeroModulationIsAPureSineAndIndexAddsSidebands) {
    Fm4 fm;
    fm.prepare(kSr);
    Fm4::Operator car{1.0f, 1.0f, 0.0f, 0.0001f, 1.0f, 1.0f, 0.1f};
    Fm4::Operator mod{2.0f, 0.0f, 0.0f, 0.0001f, 1.0f, 1.0f, 0.1f};
    fm.setAlgorithm(FmAlgorithm::TwoOperator);
    fm.setOperator(0, car);
    fm.setOperator(1, mod);
    fm.noteOn(500.0f);
    std::vector<float> x(24000);
    for (auto& v : x) v = fm.tick();
    EXPECT_NEAR(toneAmplitude(x, 500.0, kSr, 1000), 1.0, 0.02);
    EXPECT_LT(toneAmplitude(x, 1500.0, kSr, 1000), 0.01);
    mod.level = 0.5f;
    fm.setOperator(1, mod);
    fm.noteOn(500.0f);
    for (auto& v : x) v = fm.tick();
    EXPECT_GT(toneAmplitude(x, 1500.0, kSr, 1000), 0.1);  // carrier + modulator sideband
}

TEST(KarplusStrong, PitchMatchesAndDecays) {
    KarplusStrong ks;
    ks.prepare(kSr);
    ks.pluck(220.0f, 1.0f, 0.8f, 1.0f);
    std::vector<float> x(48000);
    for (auto& v : x) v = ks.tick();
    const double fund = toneAmplitude(x, 220.0, kSr), off = toneAmplitude(x, 247.0, kSr);
    EXPECT_GT(fund, 10.0 * off);
    const std::vector<float> early(x.begin(), x.begin() + 4800), late(x.begin() + 43200, x.end());
    EXPECT_LT(rms(late), rms(early) * 0.1);
}

TEST(ModalBell, RingsAtItsPartialsAndDies) {
    ModalBell b;
    b.prepare(kSr);
    b.strike(400.0f, 1.0f, 2.0f, 1.0f);
    std::vector<float> x(48000 * 4);
    for (auto& v : x) v = b.tick();
    std::vector<float> first(x.begin(), x.begin() + 24000);
    EXPECT_GT(toneAmplitude(first, 400.0, kSr), 0.02);
    EXPECT_GT(toneAmplitude(first, 400.0 * 1.183, kSr), 0.01);
    EXPECT_LT(peak(std::vector<float>(x.end() - 4800, x.end())), 1e-3);
}

TEST(KarplusStrong, BlockProcessMatchesTick) {
    KarplusStrong a, b;
    for (auto* k : {&a, &b}) {
        k->prepare(kSr, 25.0f);
        k->seed(5);
    }
    std::vector<float> ref, blk;
    // Three plucks, low to high (loops longer and shorter than a block), odd block sizes.
    for (float hz : {55.0f, 440.0f, 3000.0f}) {
        a.pluck(hz, 0.8f, 0.6f, 0.4f);
        b.pluck(hz, 0.8f, 0.6f, 0.4f);
        for (int i = 0; i < 30000; ++i) ref.push_back(a.tick() * 0.5f);
        const std::size_t start = blk.size();
        blk.resize(start + 30000, 0.0f);
        for (int done = 0; done < 30000; done += 173) b.process(blk.data() + start + done, std::min(173, 30000 - done), 0.5f);
    }
    ASSERT_EQ(ref.size(), blk.size());
    for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(blk[i], ref[i], 1e-6f) << i;
    EXPECT_EQ(a.active(), b.active());
}

TEST(ModalBell, BlockProcessMatchesTick) {
    ModalBell a, b;
    a.prepare(kSr);
    b.prepare(kSr);
    a.strike(330.0f, 0.9f, 0.5f, 0.7f);
    b.strike(330.0f, 0.9f, 0.5f, 0.7f);
    std::vector<float> ref(48000), blk(48000, 0.0f);
    std::size_t refEnd = 0;  // where tick() fell silent (its check is per sample)
    for (std::size_t i = 0; i < ref.size(); ++i) {
        ref[i] = a.tick() * 2.0f;
        if (a.active()) refEnd = i + 1;
    }
    for (int done = 0; done < 48000; done += 256) b.process(blk.data() + done, std::min(256, 48000 - done), 2.0f);
    // The same resonators; the block path sums the eight modes in another order and checks for
    // silence once per block, so past tick()'s end it may ring on, far below -80 dB.
    ASSERT_GT(refEnd, 1000u);
    for (std::size_t i = 0; i < refEnd; ++i) ASSERT_NEAR(blk[i], ref[i], 1e-6f) << i;
    for (std::size_t i = refEnd; i < blk.size(); ++i) ASSERT_LT(std::abs(blk[i]), 1e-4f) << i;
    EXPECT_FALSE(b.active());  // a 0.5 s bell is silent within the second
}

TEST(DrumVoice, BlockProcessMatchesTick) {
    for (int t = 0; t <= static_cast<int>(DrumType::Rim); ++t) {
        DrumVoice a, b;
        for (auto* d : {&a, &b}) {
            d->prepare(kSr);
            d->setType(static_cast<DrumType>(t));
            d->trigger(0.9f);
        }
        std::vector<float> ref(20000), blk(20000);
        for (auto& v : ref) v = a.tick();
        for (int done = 0; done < 20000; done += 300) b.process(blk.data() + done, std::min(300, 20000 - done));
        // The same operations; the compiler may fuse multiply-adds differently in the two loops.
        for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(blk[i], ref[i], 1e-6f) << t << " @" << i;
        EXPECT_EQ(a.active(), b.active()) << t;
    }
}

TEST(DrumVoice, EveryDrumSoundsAndEnds) {
    for (auto t : {DrumType::Kick, DrumType::Snare, DrumType::Clap, DrumType::ClosedHat, DrumType::OpenHat,
                   DrumType::Tom, DrumType::Rim}) {
        DrumVoice d;
        d.prepare(kSr);
        d.setType(t);
        d.trigger(1.0f);
        std::vector<float> x(48000 * 2);
        for (auto& v : x) v = d.tick();
        EXPECT_GT(peak(x), 0.1) << static_cast<int>(t);
        EXPECT_LT(peak(x), 2.0) << static_cast<int>(t);
        EXPECT_FALSE(d.active()) << static_cast<int>(t);
    }
}

TEST(DrumVoice, KickIsLowAndHatIsHigh) {
    auto centroidProxy = [](DrumType t) {
        DrumVoice d;
        d.prepare(kSr);
        d.setType(t);
        d.trigger(1.0f);
        std::vector<float> x(9600);
        for (auto& v : x) v = d.tick();
        return toneAmplitude(x, 60.0, kSr) / (toneAmplitude(x, 8000.0, kSr) + 1e-9);
    };
    EXPECT_GT(centroidProxy(DrumType::Kick), 100.0);
    EXPECT_LT(centroidProxy(DrumType::ClosedHat), 1.0);
}

TEST(Chorus, WetSignalIsModulated) {
    Chorus c;
    c.prepare(kSr);
    c.set(2.0f, 1.0f, 1.0f);
    auto x = sine(1000.0, kSr, 48000, 0.5f);
    std::vector<float> r(x);
    c.process({x.data(), r.data(), 48000});
    // Pitch modulation spreads energy away from exactly 1 kHz.
    EXPECT_GT(toneAmplitude(x, 1006.0, kSr, 4800) + toneAmplitude(x, 994.0, kSr, 4800), 0.005);
    EXPECT_TRUE(allFinite(x));
}

// The phaser against its definition worked out in double: six first-order allpasses
// (transposed direct form, out = a in + s, s = in - a out) with one coefficient from the
// sweep's LFO every 16 samples (fc = 200 Hz 2^(6 depth (0.5 + 0.5 lfo)), a = (t - 1) / (t + 1),
// t = tan(pi fc / fs)), the last allpass fed back, dry and wet mixed. Sample by sample, on
// noise in blocks of several sizes.
TEST(Phaser, IsSixAllpassesWithFeedbackSampleBySample) {
    constexpr float kRate = 2.5f, kDepth = 0.9f, kFeedback = 0.7f, kMix = 0.8f;
    Phaser ph;
    ph.prepare(kSr);
    ph.set(kRate, kDepth, kFeedback, kMix);
    Lfo lfo;
    lfo.prepare(kSr);
    lfo.setRate(kRate);
    Rng rng(9);
    const int n = 48000;
    std::vector<float> inL(n), inR(n);
    for (int i = 0; i < n; ++i) inL[static_cast<std::size_t>(i)] = 0.5f * rng.bipolar(), inR[static_cast<std::size_t>(i)] = 0.5f * rng.bipolar();
    std::vector<float> l = inL, r = inR;
    for (int pos = 0, k = 0; pos < n; ++k) {
        const int len = std::min(n - pos, 1 + (k * 37) % 300);
        ph.process({l.data() + pos, r.data() + pos, len});
        pos += len;
    }
    double sL[6] = {}, sR[6] = {}, fbL = 0, fbR = 0, signal = 0, diff = 0;
    float a = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (i % 16 == 0) {
            const float m = 0.5f + 0.5f * lfo.tick();
            const float fc = 200.0f * std::exp2(6.0f * kDepth * m);
            const float t = std::tan(std::numbers::pi_v<float> * std::min(fc, static_cast<float>(kSr) * 0.45f) / static_cast<float>(kSr));
            a = (t - 1.0f) / (t + 1.0f);
        } else {
            lfo.tick();
        }
        const auto chain = [&](double x, double* st, double& fb) {
            double in = x + fb * kFeedback;
            for (int k = 0; k < 6; ++k) {
                const double out = a * in + st[k];
                st[k] = in - a * out;
                in = out;
            }
            fb = in;
            return x * (1.0 - 0.5 * kMix) + in * 0.5 * kMix;
        };
        const double wantL = chain(inL[static_cast<std::size_t>(i)], sL, fbL), wantR = chain(inR[static_cast<std::size_t>(i)], sR, fbR);
        signal += wantL * wantL + wantR * wantR;
        diff += (wantL - l[static_cast<std::size_t>(i)]) * (wantL - l[static_cast<std::size_t>(i)]) +
                (wantR - r[static_cast<std::size_t>(i)]) * (wantR - r[static_cast<std::size_t>(i)]);
    }
    const double snr = 10.0 * std::log10(signal / std::max(diff, 1e-30));
    std::printf("phaser against its definition in double: %.1f dB\n", snr);
    EXPECT_GT(snr, 100.0);
}

TEST(SawVoiceBank, MatchesTheScalarPatchLevelAndPitch) {
    SawVoiceBank bank;
    bank.prepare(kSr, 16);
    SawVoiceBank::Envelope env{0.001f, 0.1f, 1.0f, 0.05f};
    bank.start(3, 441.0f, 20000.0f, 0.707f, 0.0f, 1.0f, env);
    std::vector<float> l(48000, 0.0f), r(48000, 0.0f);
    bank.process(l.data(), r.data(), 48000);
    // Wide-open filter: a centred saw at amplitude 1/sqrt(2) per side.
    EXPECT_NEAR(toneAmplitude(l, 441.0, kSr, 4800), 2.0 / std::numbers::pi / std::sqrt(2.0), 0.03);
    EXPECT_NEAR(rms(l, 4800), rms(r, 4800), 1e-6);
    bank.release(3);
    std::fill(l.begin(), l.end(), 0.0f);
    bank.process(l.data(), r.data(), 48000);
    EXPECT_FALSE(bank.active(3));
}

TEST(SawVoiceBank, LowpassCutoffDarkensHarmonics) {
    SawVoiceBank bank;
    bank.prepare(kSr, 8);
    SawVoiceBank::Envelope env{0.001f, 0.1f, 1.0f, 0.05f};
    bank.start(0, 200.0f, 400.0f, 0.707f, -1.0f, 1.0f, env);
    std::vector<float> l(48000, 0.0f), r(48000, 0.0f);
    bank.process(l.data(), r.data(), 48000);
    EXPECT_LT(peak(r), 1e-6);  // hard left
    const double h1 = toneAmplitude(l, 200.0, kSr, 4800), h10 = toneAmplitude(l, 2000.0, kSr, 4800);
    EXPECT_LT(h10 / h1, (1.0 / 10.0) * 0.05);  // far below the raw saw's 1/k
}

// Three, four and five groups of voices at once (two groups to a register where the machine
// has AVX-512, and one left over): each voice, its pan and its envelope, sound as they do alone
// in a bank of their own; the mix differs only by the order of the additions.
TEST(SawVoiceBank, ManyGroupsAtOnceSoundAsEachVoiceAlone) {
    for (const int voices : {17, 32, 40}) {
        Rng rng(static_cast<std::uint64_t>(voices));
        struct Voice {
            float hz, cutoff, q, pan, amp;
            SawVoiceBank::Envelope env;
        };
        std::vector<Voice> vs;
        for (int v = 0; v < voices; ++v)
            vs.push_back({static_cast<float>(rng.range(80, 900)), static_cast<float>(rng.range(300, 8000)), static_cast<float>(rng.range(1, 8)),
                          rng.bipolar(), 0.05f, {0.001f * static_cast<float>(rng.range(1, 50)), 0.2f, 0.6f, 0.1f}});
        SawVoiceBank all;
        all.prepare(kSr, voices);
        for (int v = 0; v < voices; ++v) {
            const Voice& x = vs[static_cast<std::size_t>(v)];
            all.start(v, x.hz, x.cutoff, x.q, x.pan, x.amp, x.env);
        }
        std::vector<float> l(9600, 0.0f), r(9600, 0.0f), sl(9600, 0.0f), sr(9600, 0.0f);
        all.process(l.data(), r.data(), 4800);
        for (int v = 0; v < voices; v += 3) all.release(v);  // some lanes into their release
        all.process(l.data() + 4800, r.data() + 4800, 4800);
        for (int v = 0; v < voices; ++v) {
            const Voice& x = vs[static_cast<std::size_t>(v)];
            SawVoiceBank one;
            one.prepare(kSr, 1);
            one.start(0, x.hz, x.cutoff, x.q, x.pan, x.amp, x.env);
            std::vector<float> al(9600, 0.0f), ar(9600, 0.0f);
            one.process(al.data(), ar.data(), 4800);
            if (v % 3 == 0) one.release(0);
            one.process(al.data() + 4800, ar.data() + 4800, 4800);
            for (std::size_t i = 0; i < al.size(); ++i) sl[i] += al[i], sr[i] += ar[i];
        }
        double signal = 0, diff = 0;
        for (std::size_t i = 0; i < l.size(); ++i) {
            signal += double(sl[i]) * sl[i] + double(sr[i]) * sr[i];
            diff += (double(l[i]) - sl[i]) * (double(l[i]) - sl[i]) + (double(r[i]) - sr[i]) * (double(r[i]) - sr[i]);
        }
        const double snr = 10.0 * std::log10(signal / std::max(diff, 1e-30));
        std::printf("%d voices against each alone: %.1f dB\n", voices, snr);
        EXPECT_GT(snr, 110.0) << voices;
    }
}

TEST(Fm4, BlockProcessMatchesTheSampleBySampleReference) {
    for (auto algo : {FmAlgorithm::Stack, FmAlgorithm::TwoStacks, FmAlgorithm::ThreeToOne, FmAlgorithm::Additive,
                      FmAlgorithm::TwoOperator}) {
        Fm4 a, b;
        for (Fm4* f : {&a, &b}) {
            f->prepare(kSr);
            f->setAlgorithm(algo);
            for (int i = 0; i < 4; ++i)
                f->setOperator(i, {0.5f + static_cast<float>(i), 0.7f, i == 3 ? 0.4f : 0.0f, 0.01f, 0.2f, 0.5f, 0.1f});
            f->noteOn(330.0f);
        }
        std::vector<float> ref(1000), blk(1000, 0.0f);
        for (auto& v : ref) v = a.tick();
        b.process(blk.data(), 300, 1.0f);
        b.process(blk.data() + 300, 700, 1.0f);
        for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(blk[i], ref[i], 1e-5f) << static_cast<int>(algo) << " @" << i;
    }
}

TEST(FastSine, TableAndPolynomialMatchStdSin) {
    for (double x = -3.0; x < 3.0; x += 0.000917) {
        const double ref = std::sin(2.0 * std::numbers::pi * x);
        ASSERT_NEAR(sinCycles(x), ref, 5e-7) << x;
        ASSERT_NEAR(sinCyclesPoly(static_cast<float>(x)), ref, 2e-6) << x;  // float argument rounding included
    }
}

TEST(FastMath, Log2AndExp2AreCloseEnoughForDetectors) {
    for (float x = 1e-6f; x < 100.0f; x *= 1.37f) ASSERT_NEAR(fastLog2(x), std::log2(x), 3e-4f) << x;
    for (float x = -30.0f; x < 10.0f; x += 0.173f) ASSERT_NEAR(fastExp2(x) / std::exp2(x), 1.0f, 2e-5f) << x;
}

TEST(FastMath, TanhIsCloseAndBounded) {
    for (float x = -20.0f; x < 20.0f; x += 0.0137f) {
        ASSERT_NEAR(fastTanh(x), std::tanh(x), 2e-4f) << x;
        ASSERT_LE(std::abs(fastTanh(x)), 1.0f);
    }
}

TEST(SubtractiveVoiceBank, PitchFilterAndEnvelopesBehave) {
    SubtractiveVoiceBank bank;
    bank.prepare(kSr, 16);
    SubtractiveVoiceBank::Patch p;
    p.mix2 = 0.0f;
    p.cutoffHz = 20000.0f;
    p.resonance = 0.0f;
    p.filterEnvOctaves = 0.0f;
    p.keyTrack = 0.0f;
    p.amp = {0.0f, 0.1f, 1.0f, 0.05f};
    p.gain = 1.0f;
    bank.setPatch(p);
    bank.start(5, 69.0f, 1.0f);  // A4
    std::vector<float> open(48000, 0.0f);
    bank.process(open.data(), 48000);
    // Saw into the input half-gain, ladder wide open: fundamental 0.5 * 2/pi.
    EXPECT_NEAR(toneAmplitude(open, 440.0, kSr, 4800), 1.0 / std::numbers::pi, 0.03);
    bank.release(5);
    std::vector<float> tail(48000, 0.0f);
    bank.process(tail.data(), 48000);
    EXPECT_FALSE(bank.active(5));
    EXPECT_LT(peak(std::vector<float>(tail.begin() + 24000, tail.end())), 1e-6);

    // Closing the filter darkens: the 8th harmonic drops far more than the fundamental.
    p.cutoffHz = 600.0f;
    bank.setPatch(p);
    bank.start(0, 57.0f, 1.0f);  // A3
    std::vector<float> dark(48000, 0.0f);
    bank.process(dark.data(), 48000);
    const double h1 = toneAmplitude(dark, 220.0, kSr, 4800), h8 = toneAmplitude(dark, 1760.0, kSr, 4800);
    EXPECT_LT(h8 / h1, (1.0 / 8.0) * 0.02);  // 4-pole: about -60 dB relative at 3 octaves above cutoff

    // A filter envelope makes the start brighter than the sustain.
    p.filterEnvOctaves = 4.0f;
    p.filter = {0.0f, 0.2f, 0.0f, 0.1f};
    bank.setPatch(p);
    bank.release(0);
    bank.start(1, 57.0f, 1.0f);
    std::vector<float> sweep(48000, 0.0f);
    bank.process(sweep.data(), 48000);
    const std::vector<float> early(sweep.begin() + 240, sweep.begin() + 1440), late(sweep.begin() + 38400, sweep.end());
    const auto ratio = [](const std::vector<float>& x) { return toneAmplitude(x, 1760.0, kSr) / toneAmplitude(x, 220.0, kSr); };
    EXPECT_GT(ratio(early), 3.0 * ratio(late));  // the first 5-30 ms vs the sustain
}

// A voice alone is one group, which the bank runs in its one-group form (the ladder's stages as
// weighted sums of its states); beside a second active group it runs the stage-by-stage form.
// The two are the same filter: a resonant, driven bass line with a swept filter envelope gives
// the same samples both ways within float rounding.
TEST(SubtractiveVoiceBank, OneGroupFormIsTheStageByStageLadder) {
    SubtractiveVoiceBank::Patch p;
    p.wave1 = Waveform::Saw;
    p.wave2 = Waveform::Square;
    p.mix2 = 0.6f;
    p.cutoffHz = 700.0f;
    p.resonance = 0.85f;
    p.filterEnvOctaves = 3.0f;
    p.filter = {0.002f, 0.15f, 0.2f, 0.1f};
    p.amp = {0.003f, 0.2f, 0.8f, 0.05f};
    p.gain = 4.0f;  // into the saturation
    const auto play = [&](bool second) {
        SubtractiveVoiceBank bank;
        bank.prepare(kSr, 16);
        bank.setPatch(p);
        std::vector<float> out(48000, 0.0f);
        if (second) bank.start(8, 60.0f, 0.0f);  // group 2, silent (velocity 0) but active
        const int notes[] = {36, 43, 31, 38};
        for (int k = 0; k < 4; ++k) {
            bank.start(0, static_cast<float>(notes[k]), 1.0f);
            bank.start(1, static_cast<float>(notes[k] + 12), 0.7f);
            bank.process(out.data() + k * 12000, 9000);
            bank.release(0);
            bank.release(1);
            bank.process(out.data() + k * 12000 + 9000, 3000);
        }
        return out;
    };
    const std::vector<float> alone = play(false), beside = play(true);
    double signal = 0, diff = 0, top = 0;
    for (std::size_t i = 0; i < alone.size(); ++i) {
        signal += double(beside[i]) * beside[i];
        diff += (double(alone[i]) - beside[i]) * (double(alone[i]) - beside[i]);
        top = std::max(top, double(std::abs(beside[i])));
    }
    ASSERT_GT(top, 0.3);  // loud enough to drive the saturation
    const double snr = 10.0 * std::log10(signal / std::max(diff, 1e-30));
    std::printf("one-group form against the stage-by-stage ladder: %.1f dB\n", snr);
    EXPECT_GT(snr, 100.0);
}

// A lone group with one or two voices sounding works out their oscillators along time (eight
// samples a vector) instead of in the eight lanes: the same samples, bit for bit, for every pair
// of waveforms, one voice, two overlapping (a note and the one before it in release), and three
// or four now and then (the eight-lane loop again), cut into calls of 7, 16 and 256 frames.
TEST(SubtractiveVoiceBank, OscillatorsAlongTimeAreTheEightLaneLoopsBitForBit) {
    const Waveform waves[] = {Waveform::Saw, Waveform::Square, Waveform::Pulse, Waveform::Triangle, Waveform::Sine};
    int sounded[5] = {};  // calls that began with 0..4 voices sounding
    for (const Waveform w1 : waves)
        for (const Waveform w2 : waves)
            for (const float mix2 : {0.0f, 0.6f})
                for (const int call : {7, 16, 256}) {
                    SubtractiveVoiceBank::Patch p;
                    p.wave1 = w1, p.wave2 = w2, p.mix2 = mix2, p.detuneCents = -1200.0f, p.pulseWidth = 0.3f;
                    p.resonance = 0.7f, p.cutoffHz = 500.0f, p.gain = 3.0f;
                    p.amp = {0.003f, 0.2f, 0.8f, 0.08f};
                    std::vector<float> out[2];
                    long alongTime[2] = {};
                    for (int k = 0; k < 2; ++k) {
                        SubtractiveVoiceBank bank;
                        bank.prepare(kSr, 16);
                        bank.setPatch(p);
                        bank.setEightLanesAlways(k == 1);
                        out[k].assign(24000, 0.0f);
                        int next = 0;
                        for (int i = 0; i < 24000; i += call) {
                            if (i / 3000 != (i - call) / 3000 || i == 0) {  // a new note every 3000 frames
                                bank.release(next % 16);
                                ++next;
                                bank.start(next % 16, static_cast<float>(31 + (next * 7) % 19), 0.9f);
                                if (next % 3 == 0) {  // a chord now and then: four voices for a moment
                                    bank.start((next + 5) % 16, 55.0f, 0.5f);
                                    bank.start((next + 6) % 16, 58.0f, 0.5f);
                                    bank.release((next + 5) % 16);
                                    bank.release((next + 6) % 16);
                                }
                            }
                            if (k == 0) {
                                int n = 0;
                                for (int v = 0; v < 16; ++v) n += bank.active(v) ? 1 : 0;
                                ++sounded[std::min(n, 4)];
                            }
                            bank.process(out[k].data() + i, std::min(call, 24000 - i));
                        }
                        alongTime[k] = bank.alongTimeChunks();
                    }
                    ASSERT_GT(alongTime[0], 0) << "the path under test ran";
                    ASSERT_EQ(alongTime[1], 0) << "the reference is the eight-lane loop throughout";
                    double top = 0.0;
                    for (float v : out[1]) top = std::max(top, double(std::abs(v)));
                    ASSERT_GT(top, 0.05) << "waves " << int(w1) << " " << int(w2);
                    for (std::size_t i = 0; i < out[0].size(); ++i)
                        ASSERT_EQ(std::bit_cast<std::uint32_t>(out[0][i]), std::bit_cast<std::uint32_t>(out[1][i])) << "waves " << int(w1) << " and " << int(w2) << ", mix " << mix2 << ", calls of " << call
                                                        << ": sample " << i;
                }
    EXPECT_GT(sounded[1], 0);
    EXPECT_GT(sounded[2], 0);
    EXPECT_GT(sounded[3] + sounded[4], 0);
}

TEST(Adsr, BlockProcessMatchesTick) {
    Adsr a, b;
    for (Adsr* e : {&a, &b}) {
        e->prepare(48000.0);
        e->set(0.003f, 0.02f, 0.4f, 0.01f);
        e->gateOn();
    }
    std::vector<float> ref(6000), blk(6000);
    for (int i = 0; i < 6000; ++i) {
        if (i == 3000) a.gateOff();
        ref[static_cast<std::size_t>(i)] = a.tick();
    }
    b.process(blk.data(), 1000);
    b.process(blk.data() + 1000, 2000);
    b.gateOff();
    b.process(blk.data() + 3000, 3000);
    // The block path computes decays and releases in closed form (floor + d * c^k) where tick()
    // multiplies step by step: they differ by float rounding, never by a stage ending elsewhere.
    for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(blk[i], ref[i], 1e-5f) << i;
}

// Inside a PopulateScope a buffer of kPopulateFrom floats or more is mapped with its pages in
// place before anything is written (mincore): all of them up to twice the scope's length, else
// those of its first and last `length` floats, where a ring is written and read in that many
// samples. It reads as zeros; smaller ones, and all of them outside a scope, are calloc'd as
// before. A delay ring prepared in a scope is populated too.
TEST(ZeroedFloats, APopulateScopePutsInPlaceTheBuffersItsLengthWritesWhole) {
    const auto resident = [](const float* p, std::size_t n) {
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto from = reinterpret_cast<std::uintptr_t>(p) / page * page;
        const auto to = reinterpret_cast<std::uintptr_t>(p + n);
        std::vector<unsigned char> in((to - from + page - 1) / page);
        EXPECT_EQ(::mincore(reinterpret_cast<void*>(from), to - from, in.data()), 0);
        return static_cast<std::size_t>(std::count_if(in.begin(), in.end(), [](unsigned char c) { return c & 1; })) * 100 / in.size();
    };
    constexpr std::size_t kRing = 1 << 18;  // a 4 s delay line's ring at 48 kHz
    {
        const dsp::PopulateScope scope(48000 * 10);
        const dsp::ZeroedFloats a(kRing);
        EXPECT_TRUE(a.isPopulated());
        EXPECT_EQ(resident(a.data(), a.size()), 100u) << "percent of its pages in place before a write";
        EXPECT_TRUE(std::all_of(a.data(), a.data() + a.size(), [](float x) { return x == 0.0f; }));
        EXPECT_FALSE(dsp::ZeroedFloats(dsp::ZeroedFloats::kPopulateFrom - 1).isPopulated()) << "under four pages";
        {
            // 16 MiB; the middle is read 2 MiB clear of both ends (where transparent huge
            // pages are on for every mapping, populating an end fills its whole 2 MiB page).
            constexpr std::size_t kLong = 1 << 22, kEnds = 48000 * 10, kMargin = (2 << 20) / sizeof(float);
            const dsp::ZeroedFloats big(kLong);
            EXPECT_TRUE(big.isPopulated());
            EXPECT_EQ(resident(big.data(), kEnds), 100u) << "its start";
            EXPECT_EQ(resident(big.data() + kLong - kEnds, kEnds), 100u) << "its end";
            EXPECT_EQ(resident(big.data() + kEnds + kMargin, kLong - 2 * kEnds - 2 * kMargin), 0u) << "between them, out of the render's reach";
            EXPECT_TRUE(std::all_of(big.data(), big.data() + kLong, [](float x) { return x == 0.0f; }));
        }
        {
            const dsp::PopulateScope off(0);
            EXPECT_FALSE(dsp::ZeroedFloats(kRing).isPopulated()) << "an inner scope of 0 turns it off";
        }
        EXPECT_TRUE(dsp::ZeroedFloats(kRing).isPopulated()) << "and the outer one is back after it";
        dsp::DelayLine d;
        d.prepare(200000);  // a ring of 2^18
        EXPECT_EQ(d.size(), kRing);
        EXPECT_EQ(resident(d.data(), d.size()), 100u);
        // A copy of a populated buffer is a buffer of the same values.
        dsp::ZeroedFloats b(kRing);
        b[kRing - 1] = 0.5f;
        const dsp::ZeroedFloats c = b;
        EXPECT_EQ(c[kRing - 1], 0.5f);
        EXPECT_EQ(c.size(), kRing);
    }
    EXPECT_FALSE(dsp::ZeroedFloats(kRing).isPopulated()) << "outside a scope";
}

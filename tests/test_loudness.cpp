// Our BS.1770-4 meter (dsp::LoudnessMeter, dsp::TruePeakMeter) against two independent ones on
// the same material: libebur128 in process, and ffmpeg's ebur128 filter reading the file we
// write. Integrated loudness within 0.05 LU, true peak within 0.1 dB.
#include <ebur128.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "Cli.h"
#include "Presets.h"
#include "compose/SketchComposer.h"
#include "compose/SketchConfig.h"
#include "core/Rng.h"
#include "dsp/LaneFilter.h"
#include "dsp/LoudnessMeter.h"
#include "dsp/TruePeakMeter.h"
#include "io/AudioFile.h"
#include "render/Mastering.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
struct Reading {
    double lufs, truePeakDb;
};

Reading ours(const StereoBuffer& a, double sr) {
    const auto n = static_cast<std::size_t>(a.frames());
    return {dsp::LoudnessMeter::integratedLufs(a.left().data(), a.right().data(), n, sr),
            dsp::TruePeakMeter::truePeakDbtp(a.left().data(), a.right().data(), n)};
}

Reading libebur128(const StereoBuffer& a, double sr) {
    ebur128_state* st = ebur128_init(2, static_cast<unsigned long>(sr), EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    std::vector<float> inter(2 * static_cast<std::size_t>(a.frames()));
    for (std::size_t i = 0; i < a.left().size(); ++i) {
        inter[2 * i] = a.left()[i];
        inter[2 * i + 1] = a.right()[i];
    }
    ebur128_add_frames_float(st, inter.data(), a.left().size());
    double lufs = 0.0, l = 0.0, r = 0.0;
    ebur128_loudness_global(st, &lufs);
    ebur128_true_peak(st, 0, &l);
    ebur128_true_peak(st, 1, &r);
    ebur128_destroy(&st);
    return {lufs, 20.0 * std::log10(std::max({l, r, 1e-12}))};
}

/// ffmpeg's ebur128 filter on a float WAV of the buffer: the last integrated loudness and true
/// peak it reports as frame metadata (three decimals: LUFS, and linear peak).
Reading ffmpeg(const StereoBuffer& a, double sr) {
    test::TempDir dir;
    const auto path = dir / "x.wav";
    io::writeAudioFile(path, a, sr, io::FileFormat::WavFloat);
    const auto r = test::runCommand("ffmpeg -hide_banner -nostats -i '" + path +
                                    "' -af ebur128=peak=true:metadata=1,ametadata=mode=print -f null - 2>&1");
    const auto last = [&](const std::string& key) {
        const auto at = r.output.rfind(key + "=");
        return at == std::string::npos ? std::nan("") : std::stod(r.output.substr(at + key.size() + 1));
    };
    return {last("lavfi.r128.I"), 20.0 * std::log10(std::max(last("lavfi.r128.true_peak"), 1e-12))};
}

StereoBuffer make(double sr, double seconds, const std::function<std::pair<float, float>(double, Rng&)>& at) {
    StereoBuffer a;
    a.resize(static_cast<int>(std::lround(seconds * sr)));
    Rng rng(5);
    const std::size_t n = a.left().size();
    for (std::size_t i = 0; i < n; ++i) {
        std::tie(a.left()[i], a.right()[i]) = at(static_cast<double>(i) / sr, rng);
        // 20 ms fades: an abrupt start or end rings in any interpolator, and each rings its own way.
        const double edge = static_cast<double>(std::min(i, n - 1 - i)) / (0.02 * sr);
        if (edge < 1.0) {
            const auto g = static_cast<float>(0.5 - 0.5 * std::cos(std::numbers::pi * edge));
            a.left()[i] *= g;
            a.right()[i] *= g;
        }
    }
    return a;
}

float sine(double t, double hz, double amplitude) {
    return static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * hz * t + 0.3));
}

/// Paul Kellet's refined pink-noise filter over white noise (within 0.05 dB of -3 dB/octave).
struct Pink {
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
    float next(float w) {
        b0 = 0.99886 * b0 + w * 0.0555179;
        b1 = 0.99332 * b1 + w * 0.0750759;
        b2 = 0.96900 * b2 + w * 0.1538520;
        b3 = 0.86650 * b3 + w * 0.3104856;
        b4 = 0.55000 * b4 + w * 0.5329522;
        b5 = -0.7616 * b5 - w * 0.0168980;
        const double p = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
        b6 = w * 0.115926;
        return static_cast<float>(p * 0.11);
    }
};

struct Material {
    std::string name;
    double sr;
    StereoBuffer audio;
    double exactPeakDb = NAN;     // known analytically (a sine's amplitude), when it is
    bool peakComparable = true;   // false: content up to Nyquist, where interpolators differ
    double hz = 0.0;              // the sine's frequency (how far 4x sampling may miss its crest)
};

std::vector<Material> materials() {
    std::vector<Material> m;
    for (double sr : {44100.0, 48000.0}) {
        const std::string at = sr == 44100.0 ? " @44.1k" : " @48k";
        for (double hz : {60.0, 997.0, 5000.0, 12000.0})
            for (double db : {-3.0, -23.0})
                m.push_back({"sine " + std::to_string(static_cast<int>(hz)) + " Hz " + std::to_string(static_cast<int>(db)) + " dBFS" + at, sr,
                             make(sr, 6.0, [&](double t, Rng&) {
                                 const float s = sine(t, hz, std::pow(10.0, db / 20.0));
                                 return std::pair{s, s};
                             }), db, true, hz});
        // Full-band noise: loudness compares, true peak does not (libebur128's 12-tap filter
        // reads it 0.18 dB lower than ours, ffmpeg's resampler 0.7 dB higher).
        m.push_back({"white noise" + at, sr, make(sr, 8.0, [](double, Rng& r) { return std::pair{r.bipolar() * 0.25f, r.bipolar() * 0.25f}; }),
                     NAN, false});
        Pink pl, pr;
        m.push_back({"pink noise" + at, sr, make(sr, 8.0, [&](double, Rng& r) { return std::pair{pl.next(r.bipolar()), pr.next(r.bipolar())}; })});
        // Loud, quiet (under the relative gate), silent (under the absolute gate), loud again.
        Pink gl, gr;
        m.push_back({"gated sections" + at, sr, make(sr, 16.0, [&](double t, Rng& r) {
                         const float g = t < 5.0 ? 3.0f : t < 9.0 ? 0.03f : t < 12.0 ? 0.0f : 2.0f;
                         return std::pair{gl.next(r.bipolar()) * g, gr.next(r.bipolar()) * g};
                     })});
        m.push_back({"left and right different" + at, sr, make(sr, 7.0, [](double t, Rng& r) {
                         return std::pair{sine(t, 440.0, 0.5), r.bipolar() * 0.05f};
                     })});
        m.push_back({"one channel silent" + at, sr, make(sr, 5.0, [](double t, Rng&) { return std::pair{sine(t, 3000.0, 0.7), 0.0f}; }),
                     20.0 * std::log10(0.7), true, 3000.0});
        // Near the top of the band only our interpolator is flat (libebur128's reads 15 kHz
        // 0.1 dB high): checked against the sine's own amplitude.
        m.push_back({"sine 15000 Hz" + at, sr, make(sr, 4.0, [](double t, Rng&) { return std::pair{sine(t, 15000.0, 0.5), sine(t, 15000.0, 0.5)}; }),
                     20.0 * std::log10(0.5), false, 15000.0});
        // Inter-sample peaks: a quarter-rate sine sampled at 45 degrees peaks 3 dB over its samples.
        m.push_back({"quarter-rate sine" + at, sr, make(sr, 3.0, [sr](double t, Rng&) {
                         const auto s = static_cast<float>(0.7 * std::sin(std::numbers::pi / 2.0 * t * sr + std::numbers::pi / 4.0));
                         return std::pair{s, s};
                     }), 20.0 * std::log10(0.7), false, sr / 4.0});
        // A rendered song: drums, bass, pads, keys, lead, reverb and delay, the master chain.
        const auto score = compose::composeFromConfig(
            music::parseMusicConfig(R"({"density":5,"rhythm":"kit_medium","echo":"medium","seed":3})"), 12.0);
        render::RenderOptions o;
        o.sampleRate = sr;
        o.durationSeconds = 12.0;
        m.push_back({"rendered song" + at, sr, render::renderScore(score, test::presets(), o)});
    }
    return m;
}
}  // namespace

TEST(LoudnessMeter, AgreesWithLibebur128AndFfmpegOnVariedMaterial) {
    for (const auto& m : materials()) {
        const auto a = ours(m.audio, m.sr), b = libebur128(m.audio, m.sr), c = ffmpeg(m.audio, m.sr);
        ASSERT_TRUE(std::isfinite(a.lufs)) << m.name;
        EXPECT_NEAR(a.lufs, b.lufs, 0.05) << m.name << ": libebur128";
        EXPECT_NEAR(a.lufs, c.lufs, 0.05) << m.name << ": ffmpeg";
        if (m.peakComparable) {
            EXPECT_NEAR(a.truePeakDb, b.truePeakDb, 0.1) << m.name << ": libebur128";
            EXPECT_NEAR(a.truePeakDb, c.truePeakDb, 0.1) << m.name << ": ffmpeg";
        }
        if (!std::isnan(m.exactPeakDb)) {
            // 4x oversampling lands within an eighth of a sample of the crest: it may read up to
            // 1 - cos(pi f / 4 fs) low, never high.
            const double gridLossDb = 20.0 * std::log10(std::cos(std::numbers::pi * m.hz / (4.0 * m.sr)));
            EXPECT_LE(a.truePeakDb, m.exactPeakDb + 0.02) << m.name << ": the sine's amplitude";
            EXPECT_GE(a.truePeakDb, m.exactPeakDb + gridLossDb - 0.02) << m.name << ": the sine's amplitude";
        }
    }
}

TEST(LoudnessMeter, GatesLikeTheStandard) {
    // The absolute gate: silence, and noise at -80 dBFS, have no loudness at all.
    const double sr = 48000.0;
    const auto silent = make(sr, 3.0, [](double, Rng&) { return std::pair{0.0f, 0.0f}; });
    EXPECT_TRUE(std::isinf(ours(silent, sr).lufs));
    const auto faint = make(sr, 3.0, [](double, Rng& r) { return std::pair{r.bipolar() * 1e-4f, r.bipolar() * 1e-4f}; });
    EXPECT_TRUE(std::isinf(ours(faint, sr).lufs));
    // The relative gate: a long quiet stretch 30 dB down counts for nothing. Without the gate
    // the 4 s loud and 12 s quiet would read about -12.1 LUFS; with it, the 37 blocks inside the
    // loud part and the three that straddle its end (3/4, 1/2 and 1/4 loud) give
    // -6.02 + 10 log10(38.5 / 40).
    const auto loud = make(sr, 4.0, [](double t, Rng&) { return std::pair{sine(t, 997.0, 0.5), sine(t, 997.0, 0.5)}; });
    const auto mixed = make(sr, 16.0, [](double t, Rng&) {
        const double a = t < 4.0 ? 0.5 : 0.5 * std::pow(10.0, -30.0 / 20.0);
        return std::pair{sine(t, 997.0, a), sine(t, 997.0, a)};
    });
    EXPECT_NEAR(ours(mixed, sr).lufs, ours(loud, sr).lufs + 10.0 * std::log10(38.5 / 40.0), 0.03);
    EXPECT_NEAR(ours(loud, sr).lufs, -6.02, 0.02) << "a 997 Hz sine at -6 dBFS in both channels";
}

TEST(LoudnessMeter, ShortFilesHaveNoGatingBlockAndTruePeakStillReads) {
    // Under 400 ms there is no complete gating block: no loudness, as libebur128 says too.
    for (double seconds : {0.05, 0.39}) {
        const auto a = make(44100.0, seconds, [](double t, Rng&) { return std::pair{sine(t, 1000.0, 0.5), sine(t, 1000.0, 0.5)}; });
        const auto r = ours(a, 44100.0), ref = libebur128(a, 44100.0);
        EXPECT_TRUE(std::isinf(r.lufs)) << seconds;
        EXPECT_TRUE(std::isinf(ref.lufs)) << seconds;
        EXPECT_NEAR(r.truePeakDb, ref.truePeakDb, 0.1) << seconds;
    }
    const StereoBuffer empty;
    EXPECT_TRUE(std::isinf(ours(empty, 44100.0).lufs));
    EXPECT_TRUE(std::isinf(ours(empty, 44100.0).truePeakDb));
}

// Mastering measures the true peak in 512-frame spans, by two threads, behind the limiter: any
// cut, order and running best must give the whole-buffer answer, which libebur128 confirms.
TEST(TruePeakMeter, SpansInAnyOrderAgainstAnyBestGiveTheWholeBuffersPeak) {
    const double sr = 44100.0;
    Rng rng(11);
    // Quiet noise with sparse inter-sample overs (alternating full-scale pairs) at random places.
    std::vector<float> x(static_cast<std::size_t>(sr * 3) + 77);
    for (auto& v : x) v = 0.05f * (rng.uniform() - 0.5f);
    for (int k = 0; k < 12; ++k) {
        const auto at = static_cast<std::size_t>(rng.uniform() * static_cast<float>(x.size() - 4));
        const float a = 0.3f + 0.6f * rng.uniform();
        x[at] = a, x[at + 1] = a, x[at + 2] = -a, x[at + 3] = -a;
    }
    const float whole = dsp::TruePeakMeter::truePeak(x.data(), x.size());
    std::vector<std::size_t> spans((x.size() + 511) / 512);
    for (std::size_t i = 0; i < spans.size(); ++i) spans[i] = i;
    for (int trial = 0; trial < 4; ++trial) {
        for (std::size_t i = spans.size() - 1; i > 0; --i) std::swap(spans[i], spans[static_cast<std::size_t>(rng.uniform() * static_cast<float>(i + 1)) % (i + 1)]);
        float best = 0.0f, other = 0.0f;  // two "threads": each span measured against one of them
        for (std::size_t i = 0; i < spans.size(); ++i) {
            float& b = i % 3 == 0 ? other : best;
            b = dsp::TruePeakMeter::truePeakSpan(x.data(), x.size(), spans[i] * 512, 512, b);
        }
        EXPECT_EQ(std::max(best, other), whole) << "trial " << trial;
    }
    // Not just the largest sample: the overs lie between samples.
    float samples = 0.0f;
    for (float v : x) samples = std::max(samples, std::abs(v));
    EXPECT_GT(whole, samples * 1.1f);
    StereoBuffer b;
    b.resize(static_cast<int>(x.size()));
    std::copy(x.begin(), x.end(), b.left().begin());
    std::copy(x.begin(), x.end(), b.right().begin());
    EXPECT_NEAR(20.0 * std::log10(whole), libebur128(b, sr).truePeakDb, 0.2);
}

TEST(Mastering, ReachesTheTargetInOneLimiterPassOnARenderAndStaysUnderTheCeiling) {
    // Checked by libebur128 and ffmpeg, not by the meter master() steers by.
    for (double target : {-16.0, -10.0}) {
        const auto score = compose::composeFromConfig(
            music::parseMusicConfig(R"({"density":6,"rhythm":"electronic","tempo":"fast","seed":8})"), 15.0);
        render::RenderOptions o;
        o.durationSeconds = 15.0;
        auto audio = render::renderScore(score, test::presets(), o);
        const auto r = render::master(audio, o.sampleRate, {target, -1.0});
        const auto b = libebur128(audio, o.sampleRate), c = ffmpeg(audio, o.sampleRate);
        EXPECT_NEAR(b.lufs, target, 0.1) << target;
        EXPECT_NEAR(c.lufs, target, 0.1) << target;
        EXPECT_LE(b.truePeakDb, -1.0) << target;
        EXPECT_LE(c.truePeakDb, -1.0 + 0.05) << target;
        EXPECT_NEAR(r.outputLufs, b.lufs, 0.05) << target;
        EXPECT_NEAR(r.truePeakDbtp, b.truePeakDb, 0.1) << target;
        EXPECT_EQ(r.limiterPasses, 1) << target;
    }
}

// Mastering reads the result's true peak behind the limiter and its loudness beside it when it has
// two threads or more: the bytes of a long mix and the report must not depend on it.
TEST(Mastering, ALongMixIsMasteredToTheSameBytesOnOneThreadOrTwo) {
    const double sr = 44100.0;
    const int frames = static_cast<int>(sr * 100);
    StereoBuffer mix;
    mix.resize(frames);
    Rng rng(5);
    for (int i = 0; i < frames; ++i) {
        const double t = i / sr;
        const float env = static_cast<float>(0.2 + 0.15 * std::sin(2 * std::numbers::pi * t / 7.0));  // swells
        mix.left()[static_cast<std::size_t>(i)] = env * (rng.uniform() - 0.5f) + 0.01f;  // a little DC
        mix.right()[static_cast<std::size_t>(i)] = env * static_cast<float>(std::sin(2 * std::numbers::pi * 220.0 * t)) - 0.02f;
    }
    std::vector<StereoBuffer> out;
    std::vector<render::MasteringReport> reports;
    for (const char* threads : {"1", "2", "3"}) {
        ::setenv("SOUNDSTAR_THREADS", threads, 1);
        StereoBuffer m = mix;
        reports.push_back(render::master(m, sr, {-14.0, -1.0}));
        out.push_back(std::move(m));
    }
    ::unsetenv("SOUNDSTAR_THREADS");
    for (std::size_t k = 1; k < out.size(); ++k) {
        EXPECT_TRUE(out[0].left() == out[k].left() && out[0].right() == out[k].right()) << k + 1 << " threads";
        EXPECT_EQ(reports[0].inputLufs, reports[k].inputLufs);
        EXPECT_EQ(reports[0].gainDb, reports[k].gainDb);
        EXPECT_EQ(reports[0].outputLufs, reports[k].outputLufs);
        EXPECT_EQ(reports[0].truePeakDbtp, reports[k].truePeakDbtp) << "measured behind the limiter or after it";
    }
    // Against libebur128 on the result: the gain was read right.
    EXPECT_NEAR(libebur128(out[1], sr).lufs, -14.0, 0.1);
}

// Mastering's 10 Hz DC high-pass writes the audio: its poles lie so near z = 1 that a
// single-precision filter's rounding comes back about 63 dB under the signal (measured before it
// ran in double). Run as mastering runs it (in place, each stretch warmed up 1 s early) and
// against the sequential filter in double, over stretch boundaries and all, the lanes' output
// must be that filter within float's own rounding, and the offset gone.
TEST(Mastering, TheDcFilterIsTheDoublePrecisionFilterWithinFloatRounding) {
    const double sr = 44100.0;
    const auto frames = static_cast<std::size_t>(sr * 60);
    std::vector<float> l(frames), r(frames);
    Rng rng(9);
    for (std::size_t i = 0; i < frames; ++i) {
        const double t = static_cast<double>(i) / sr;
        l[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 55.0 * t)) + 0.4f * (rng.uniform() - 0.5f) + 0.05f;
        r[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 82.0 * t)) + 0.4f * (rng.uniform() - 0.5f) - 0.03f;
    }
    const auto [shelf, highpass] = dsp::kWeightingStages(sr);
    const dsp::BiquadCoeffs dc = dsp::highPassCoeffs(sr, 10.0, 0.707);
    std::array<double, 2> sums{};
    std::size_t stepsSeen = 0;
    const std::vector<float> inL = l, inR = r;
    dsp::runLanes(l.data(), r.data(), frames, 4410, sr, dsp::LaneCascade{{shelf, highpass}, 2}, &dc, l.data(), r.data(),
                  [&](std::size_t, double, double) { ++stepsSeen; }, 1.0, &sums);
    const auto& outL = l;
    const auto& outR = r;
    EXPECT_EQ(stepsSeen, frames / 4410);
    for (int c = 0; c < 2; ++c) {
        const auto& in = c == 0 ? inL : inR;
        const auto& out = c == 0 ? outL : outR;
        double z1 = 0.0, z2 = 0.0, signal = 0.0, error = 0.0, late = 0.0;
        for (std::size_t i = 0; i < frames; ++i) {
            const double x = in[i], y = dc.b0 * x + z1;
            z1 = dc.b1 * x - dc.a1 * y + z2;
            z2 = dc.b2 * x - dc.a2 * y;
            signal += y * y;
            error += (out[i] - y) * (out[i] - y);
            if (i >= frames / 2) late += out[i];
        }
        const double snr = 10.0 * std::log10(signal / std::max(error, 1e-300));
        std::printf("channel %d: the lanes' DC filter against the double filter: %.1f dB\n", c, snr);
        EXPECT_GT(snr, 130.0) << "channel " << c;
        EXPECT_LT(std::abs(late / static_cast<double>(frames - frames / 2)), 1e-4) << "the offset is gone";
    }
}

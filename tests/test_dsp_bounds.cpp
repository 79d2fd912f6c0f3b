// Every DSP unit at several sample rates and block sizes (1, 64, 512, random), fed zeros,
// +-1e5 and random input: every output sample stays finite, and generators stay bounded.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "Analysis.h"
#include "core/Rng.h"
#include "dsp/Biquad.h"
#include "dsp/Chorus.h"
#include "dsp/Compressor.h"
#include "dsp/DrumVoice.h"
#include "dsp/Envelope.h"
#include "dsp/Flanger.h"
#include "dsp/Fm.h"
#include "dsp/KarplusStrong.h"
#include "dsp/Ladder.h"
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

namespace {
using Process = std::function<void(StereoView)>;
using Factory = std::function<Process(double sampleRate)>;

template <typename T, typename Setup>
Process stereoUnit(double sr, Setup setup) {
    auto u = std::make_shared<T>();
    setup(*u, sr);
    return [u](StereoView io) { u->process(io); };
}
template <typename T, typename Setup>
Process monoPair(double sr, Setup setup) {
    auto a = std::make_shared<T>(), b = std::make_shared<T>();
    setup(*a, sr);
    setup(*b, sr);
    return [a, b](StereoView io) {
        for (int i = 0; i < io.frames; ++i) {
            io.left[i] = a->tick(io.left[i]);
            io.right[i] = b->tick(io.right[i]);
        }
    };
}
template <typename Gen>
Process generator(Gen gen) {
    return [gen](StereoView io) mutable {
        for (int i = 0; i < io.frames; ++i) io.left[i] = io.right[i] = gen();
    };
}

std::vector<std::pair<std::string, Factory>> units() {
    std::vector<std::pair<std::string, Factory>> u;
    for (auto w : {Waveform::Sine, Waveform::Saw, Waveform::Square, Waveform::Triangle, Waveform::Pulse})
        u.emplace_back("osc" + std::to_string(static_cast<int>(w)), [w](double sr) {
            auto o = std::make_shared<Oscillator>();
            o->prepare(sr);
            o->setWaveform(w);
            o->setFrequency(3000.0f);
            return generator([o] { return o->tick(); });
        });
    u.emplace_back("pink", [](double) {
        auto n = std::make_shared<PinkNoise>();
        return generator([n] { return n->tick(); });
    });
    u.emplace_back("adsr", [](double sr) {
        auto e = std::make_shared<Adsr>();
        e->prepare(sr);
        e->set(0.01f, 0.1f, 0.5f, 0.1f);
        e->gateOn();
        return generator([e] { return e->tick(); });
    });
    u.emplace_back("fm", [](double sr) {
        auto f = std::make_shared<Fm4>();
        f->prepare(sr);
        for (int i = 0; i < 4; ++i) f->setOperator(i, {1.0f + static_cast<float>(i), 1.0f, 0.7f});
        f->noteOn(880.0f);
        return generator([f] { return f->tick(); });
    });
    u.emplace_back("pluck", [](double sr) {
        auto k = std::make_shared<KarplusStrong>();
        k->prepare(sr);
        k->pluck(110.0f, 1.0f, 1.0f, 2.0f);
        return generator([k] { return k->tick(); });
    });
    u.emplace_back("bell", [](double sr) {
        auto b = std::make_shared<ModalBell>();
        b->prepare(sr);
        b->strike(600.0f, 1.0f, 2.0f, 1.0f);
        return generator([b] { return b->tick(); });
    });
    for (int t = 0; t < 7; ++t)
        u.emplace_back("drum" + std::to_string(t), [t](double sr) {
            auto d = std::make_shared<DrumVoice>();
            d->prepare(sr);
            d->setType(static_cast<DrumType>(t));
            d->trigger(1.0f);
            return generator([d] { return d->tick(); });
        });
    u.emplace_back("sawbank", [](double sr) {
        auto b = std::make_shared<SawVoiceBank>();
        b->prepare(sr, 8);
        for (int v = 0; v < 8; ++v) b->start(v, 100.0f * static_cast<float>(v + 1), 3000.0f, 8.0f, 0.0f, 0.2f, {});
        return Process([b](StereoView io) {
            io.clear();
            b->process(io.left, io.right, io.frames);
        });
    });
    for (int w = 0; w < 5; ++w)
        u.emplace_back("subbank" + std::to_string(w), [w](double sr) {
            auto b = std::make_shared<SubtractiveVoiceBank>();
            b->prepare(sr, 8);
            SubtractiveVoiceBank::Patch p;
            p.wave1 = p.wave2 = static_cast<Waveform>(w);
            p.resonance = 1.0f;
            p.filterEnvOctaves = 8.0f;
            b->setPatch(p);
            for (int v = 0; v < 8; ++v) b->start(v, 20.0f + 12.0f * static_cast<float>(v), 1.0f);
            return Process([b](StereoView io) {
                io.clear();
                b->process(io.left, io.frames);
            });
        });
    u.emplace_back("svf", [](double sr) {
        return monoPair<Svf>(sr, [](Svf& f, double s) { f.prepare(s); f.set(2000.0f, 10.0f); });
    });
    u.emplace_back("ladder", [](double sr) {
        return monoPair<Ladder>(sr, [](Ladder& f, double s) { f.prepare(s); f.set(2000.0f, 1.0f); });
    });
    u.emplace_back("biquad", [](double sr) {
        return monoPair<Biquad>(sr, [](Biquad& f, double s) {
            f.prepare(s);
            f.set(BiquadType::Peak, 3000.0f, 4.0f, 12.0f);
        });
    });
    for (auto m : {DelayMode::Stereo, DelayMode::PingPong, DelayMode::Tape})
        u.emplace_back("delay" + std::to_string(static_cast<int>(m)), [m](double sr) {
            return stereoUnit<StereoDelay>(sr, [m](StereoDelay& d, double s) {
                d.prepare(s, 500.0f);
                d.setMode(m);
                d.setTime(100.0f, 150.0f);
                d.setFeedback(0.98f);
            });
        });
    u.emplace_back("reverb", [](double sr) {
        return stereoUnit<Reverb>(sr, [](Reverb& r, double s) { r.prepare(s); r.set(1.0f, 30.0f, 0.0f, 50.0f, 1.0f); });
    });
    u.emplace_back("chorus", [](double sr) { return stereoUnit<Chorus>(sr, [](Chorus& c, double s) { c.prepare(s); }); });
    u.emplace_back("flanger", [](double sr) {
        return stereoUnit<Flanger>(sr, [](Flanger& f, double s) { f.prepare(s); f.set(1.0f, 1.0f, 0.95f, 1.0f); });
    });
    u.emplace_back("phaser", [](double sr) {
        return stereoUnit<Phaser>(sr, [](Phaser& p, double s) { p.prepare(s); p.set(1.0f, 1.0f, 0.9f, 1.0f); });
    });
    u.emplace_back("shaper", [](double sr) {
        return stereoUnit<Waveshaper>(sr, [](Waveshaper& w, double s) { w.prepare(s); w.set(ShapeType::Fold, 40.0f, 1.0f); });
    });
    u.emplace_back("compressor", [](double sr) {
        return stereoUnit<Compressor>(sr, [](Compressor& c, double s) { c.prepare(s); c.set(-30.0f, 20.0f, 6.0f, 1.0f, 50.0f, 12.0f); });
    });
    u.emplace_back("gate", [](double sr) { return stereoUnit<Gate>(sr, [](Gate& g, double s) { g.prepare(s); }); });
    u.emplace_back("limiter", [](double sr) {
        return stereoUnit<Limiter>(sr, [](Limiter& l, double s) { l.prepare(s); l.set(-1.0f, 50.0f); });
    });
    u.emplace_back("width", [](double) {
        auto w = std::make_shared<StereoWidth>();
        w->setWidth(2.0f);
        return Process([w](StereoView io) { w->process(io); });
    });
    return u;
}

struct Case {
    double sampleRate;
    int block;  // 0 = random sizes
};
class DspBounds : public ::testing::TestWithParam<Case> {};

TEST_P(DspBounds, EveryUnitStaysFiniteOnZerosHugeAndRandomInput) {
    const auto [sr, block] = GetParam();
    Rng rng(99);
    const int total = 8192;
    for (const auto& [name, make] : units()) {
        for (int input = 0; input < 3; ++input) {
            Process p = make(sr);
            std::vector<float> l(total), r(total);
            for (int i = 0; i < total; ++i) {
                const float v = input == 0 ? 0.0f : (input == 1 ? (i % 2 ? 1e5f : -1e5f) : rng.bipolar());
                l[static_cast<std::size_t>(i)] = v;
                r[static_cast<std::size_t>(i)] = -v;
            }
            int pos = 0;
            while (pos < total) {
                int n = block > 0 ? block : rng.range(0, 700);
                n = std::min(n, total - pos);
                p({l.data() + pos, r.data() + pos, n});
                pos += n;
            }
            ASSERT_TRUE(test::allFinite(l) && test::allFinite(r))
                << name << " sr=" << sr << " block=" << block << " input=" << input;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(RatesAndBlocks, DspBounds,
                         ::testing::Values(Case{22050, 1}, Case{44100, 64}, Case{48000, 512}, Case{48000, 0},
                                           Case{96000, 64}, Case{192000, 0}),
                         [](const auto& info) {
                             return "sr" + std::to_string(static_cast<int>(info.param.sampleRate)) + "_block" +
                                    std::to_string(info.param.block);
                         });

// Generators must also stay bounded (not just finite) whatever the rate.
TEST(DspBounds, GeneratorsStayWithinSafeAmplitude) {
    for (double sr : {22050.0, 44100.0, 96000.0})
        for (const auto& [name, make] : units()) {
            if (name.rfind("osc", 0) != 0 && name.rfind("drum", 0) != 0 && name != "fm" && name != "pluck" &&
                name != "bell")
                continue;
            Process p = make(sr);
            std::vector<float> l(20000, 0.0f), r(20000, 0.0f);
            p({l.data(), r.data(), 20000});
            EXPECT_LT(test::peak(l), 2.0) << name << " at " << sr;
        }
}
}  // namespace

// ns per sample for each DSP unit (Google Benchmark). Items processed = samples (stereo frames
// count once), so the reported items_per_second inverts to ns per sample.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/Denormals.h"
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
#include "dsp/LoudnessMeter.h"
#include "dsp/ModalBell.h"
#include "dsp/Noise.h"
#include "dsp/Oscillator.h"
#include "dsp/Pan.h"
#include "dsp/Phaser.h"
#include "dsp/Reverb.h"
#include "dsp/Shaper.h"
#include "dsp/StereoDelay.h"
#include "dsp/Svf.h"
#include "dsp/TruePeakMeter.h"

using namespace soundstar;
using namespace soundstar::dsp;

namespace {
constexpr double kSr = 48000.0;
constexpr int kBlock = 512;

struct Buffers {
    std::vector<float> l = std::vector<float>(kBlock), r = std::vector<float>(kBlock);
    Buffers() {
        Rng rng(1);
        for (int i = 0; i < kBlock; ++i) l[static_cast<std::size_t>(i)] = r[static_cast<std::size_t>(i)] = rng.bipolar() * 0.5f;
    }
    StereoView view() { return {l.data(), r.data(), kBlock}; }
};

template <typename F>
void runGen(benchmark::State& st, F&& tick) {
    std::vector<float> out(kBlock);
    for (auto _ : st) {
        for (auto& v : out) v = tick();
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}

template <typename U>
void runStereo(benchmark::State& st, U& unit) {
    Buffers b;
    for (auto _ : st) {
        unit.process(b.view());
        benchmark::DoNotOptimize(b.l.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}

void oscillator(benchmark::State& st, Waveform w) {
    Oscillator o;
    o.prepare(kSr);
    o.setWaveform(w);
    o.setFrequency(440.0f);
    runGen(st, [&] { return o.tick(); });
}
}  // namespace

BENCHMARK_CAPTURE(oscillator, sine, Waveform::Sine);
BENCHMARK_CAPTURE(oscillator, saw, Waveform::Saw);
BENCHMARK_CAPTURE(oscillator, square, Waveform::Square);
BENCHMARK_CAPTURE(oscillator, triangle, Waveform::Triangle);

static void pinkNoise(benchmark::State& st) {
    PinkNoise n;
    runGen(st, [&] { return n.tick(); });
}
BENCHMARK(pinkNoise);

static void adsr(benchmark::State& st) {
    Adsr e;
    e.prepare(kSr);
    e.gateOn();
    runGen(st, [&] { return e.tick(); });
}
BENCHMARK(adsr);

// Adsr::process over blocks, cycling through every stage.
static void adsrBlock(benchmark::State& st) {
    Adsr e;
    e.prepare(kSr);
    e.set(0.01f, 0.3f, 0.5f, 0.2f);
    std::vector<float> out(kBlock);
    int count = 0;
    for (auto _ : st) {
        const int phase = count++ % 100;
        if (phase == 0) e.gateOn();
        if (phase == 50) e.gateOff();
        e.process(out.data(), kBlock);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
BENCHMARK(adsrBlock);

static void svf(benchmark::State& st) {
    Svf f;
    f.prepare(kSr);
    f.set(1000.0f, 2.0f);
    Buffers b;
    for (auto _ : st) {
        f.process(b.l.data(), b.r.data(), kBlock);
        benchmark::DoNotOptimize(b.r.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
BENCHMARK(svf);

static void ladder(benchmark::State& st) {
    Ladder f;
    f.prepare(kSr);
    f.set(1000.0f, 0.5f);
    Buffers b;
    for (auto _ : st) {
        f.process(b.l.data(), b.r.data(), kBlock);
        benchmark::DoNotOptimize(b.r.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
BENCHMARK(ladder);

static void biquad(benchmark::State& st) {
    Biquad f;
    f.prepare(kSr);
    f.set(BiquadType::Peak, 1000.0f, 1.0f, 6.0f);
    Buffers b;
    for (auto _ : st) {
        f.process(b.l.data(), kBlock);
        benchmark::DoNotOptimize(b.l.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
BENCHMARK(biquad);

static void fm4(benchmark::State& st) {
    Fm4 fm;
    fm.prepare(kSr);
    fm.setAlgorithm(FmAlgorithm::Stack);
    for (int i = 0; i < 4; ++i) fm.setOperator(i, {1.0f + static_cast<float>(i), 0.5f});
    fm.noteOn(220.0f);
    runGen(st, [&] { return fm.tick(); });
}
BENCHMARK(fm4);

// The block path the FM instrument uses: two operators (carrier + 14:1 tine, the electric
// piano preset), decaying envelopes.
static void fm2Block(benchmark::State& st) {
    Fm4 fm;
    fm.prepare(kSr);
    fm.setAlgorithm(FmAlgorithm::TwoOperator);
    fm.setOperator(0, {1.0f, 1.0f, 0.0f, 0.002f, 1.8f, 0.25f, 0.5f});
    fm.setOperator(1, {14.0f, 0.25f, 0.0f, 0.002f, 0.25f, 0.0f, 0.5f});
    std::vector<float> out(kBlock);
    int count = 0;
    for (auto _ : st) {
        if (count++ % 200 == 0) fm.noteOn(220.0f);  // keep the envelopes moving
        std::fill(out.begin(), out.end(), 0.0f);
        fm.process(out.data(), kBlock, 0.5f);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
BENCHMARK(fm2Block);

static void pluck(benchmark::State& st) {
    KarplusStrong k;
    k.prepare(kSr);
    int n = 0;
    runGen(st, [&] {  // re-pluck every second so the string never falls silent (and idle)
        if (n++ % 48000 == 0) k.pluck(110.0f, 1.0f, 0.5f, 2.0f);
        return k.tick();
    });
}
BENCHMARK(pluck);

// The block paths the instruments use.
template <typename F>
void runBlock(benchmark::State& st, F&& fill) {
    std::vector<float> out(kBlock);
    for (auto _ : st) {
        std::fill(out.begin(), out.end(), 0.0f);
        fill(out.data(), kBlock);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(st.iterations() * kBlock);
}
static void pluckBlock(benchmark::State& st) {
    KarplusStrong k;
    k.prepare(kSr);
    int n = 0;
    runBlock(st, [&](float* out, int frames) {
        if (n++ % 94 == 0) k.pluck(110.0f, 1.0f, 0.5f, 2.0f);
        k.process(out, frames, 1.0f);
    });
}
BENCHMARK(pluckBlock);
static void bellBlock(benchmark::State& st) {
    ModalBell b;
    b.prepare(kSr);
    int n = 0;
    runBlock(st, [&](float* out, int frames) {
        if (n++ % 94 == 0) b.strike(440.0f, 1.0f, 3.0f, 1.0f);
        b.process(out, frames, 1.0f);
    });
}
BENCHMARK(bellBlock);
static void drumBlock(benchmark::State& st) {
    DenormalGuard flush;  // as on the engine's audio thread (the kick's pitch sweep decays into denormals)
    DrumVoice d;
    d.prepare(kSr);
    d.setType(static_cast<DrumType>(st.range(0)));
    d.setShape(1.0f, 4.0f, 0.5f);
    int n = 0;
    runBlock(st, [&](float* out, int frames) {
        if (n++ % 47 == 0) d.trigger(1.0f);
        d.process(out, frames);
    });
}
BENCHMARK(drumBlock)->DenseRange(0, 6);

static void bell(benchmark::State& st) {
    ModalBell b;
    b.prepare(kSr);
    int n = 0;
    runGen(st, [&] {  // re-strike every second so the bell never goes idle
        if (n++ % 48000 == 0) b.strike(440.0f, 1.0f, 3.0f, 1.0f);
        return b.tick();
    });
}
BENCHMARK(bell);

static void drum(benchmark::State& st) {
    DrumVoice d;
    d.prepare(kSr);
    d.setType(static_cast<DrumType>(st.range(0)));
    d.setShape(1.0f, 4.0f, 0.5f);
    int n = 0;
    runGen(st, [&] {
        if (n++ % 24000 == 0) d.trigger(1.0f);
        return d.tick();
    });
}
BENCHMARK(drum)->DenseRange(0, 6);

static void stereoDelay(benchmark::State& st) {
    StereoDelay d;
    d.prepare(kSr);
    d.setMode(static_cast<DelayMode>(st.range(0)));
    runStereo(st, d);
}
BENCHMARK(stereoDelay)->DenseRange(0, 2);

static void reverb(benchmark::State& st) {
    Reverb r;
    r.prepare(kSr);
    r.set(1.0f, 4.0f, 0.4f, 20.0f, 0.5f);
    runStereo(st, r);
}
BENCHMARK(reverb);

static void chorus(benchmark::State& st) {
    Chorus c;
    c.prepare(kSr);
    runStereo(st, c);
}
BENCHMARK(chorus);

static void flanger(benchmark::State& st) {
    Flanger f;
    f.prepare(kSr);
    runStereo(st, f);
}
BENCHMARK(flanger);

static void phaser(benchmark::State& st) {
    Phaser p;
    p.prepare(kSr);
    runStereo(st, p);
}
BENCHMARK(phaser);

static void waveshaper(benchmark::State& st) {
    Waveshaper w;
    w.prepare(kSr);
    w.set(ShapeType::Tanh, 12.0f, 1.0f);
    runStereo(st, w);
}
BENCHMARK(waveshaper);

static void compressor(benchmark::State& st) {
    Compressor c;
    c.prepare(kSr);
    runStereo(st, c);
}
BENCHMARK(compressor);

static void gate(benchmark::State& st) {
    Gate g;
    g.prepare(kSr);
    runStereo(st, g);
}
BENCHMARK(gate);

static void limiter(benchmark::State& st) {
    Limiter l;
    l.prepare(kSr);
    runStereo(st, l);
}
BENCHMARK(limiter);

static void width(benchmark::State& st) {
    StereoWidth w;
    w.setWidth(1.5f);
    runStereo(st, w);
}
BENCHMARK(width);

// The mastering meters over three minutes of stereo noise at 44.1 kHz, the length of a long
// render (ms per call; items = frames).
namespace {
struct ThreeMinutes {
    static constexpr std::size_t kFrames = 180 * 44100;
    std::vector<float> l = std::vector<float>(kFrames), r = std::vector<float>(kFrames);
    ThreeMinutes() {
        Rng rng(3);
        for (std::size_t i = 0; i < kFrames; ++i) {
            l[i] = rng.bipolar() * 0.3f;
            r[i] = rng.bipolar() * 0.3f;
        }
    }
};
const ThreeMinutes& threeMinutes() {
    static const ThreeMinutes t;
    return t;
}
}  // namespace

static void loudnessMeterThreeMinutes(benchmark::State& st) {
    const auto& t = threeMinutes();
    for (auto _ : st) benchmark::DoNotOptimize(LoudnessMeter::integratedLufs(t.l.data(), t.r.data(), t.kFrames, 44100.0));
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(t.kFrames));
}
BENCHMARK(loudnessMeterThreeMinutes)->Unit(benchmark::kMillisecond);

static void truePeakThreeMinutes(benchmark::State& st) {
    const auto& t = threeMinutes();
    for (auto _ : st) benchmark::DoNotOptimize(TruePeakMeter::truePeakDbtp(t.l.data(), t.r.data(), t.kFrames));
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(t.kFrames));
}
BENCHMARK(truePeakThreeMinutes)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

// Engine-level benchmarks: how many voices render in real time, how fast a whole arrangement
// renders, how long composing and mastering take. Benchmarks report; tests assert.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "compose/SketchComposer.h"
#include "core/Rng.h"
#include "dsp/SawVoiceBank.h"
#include "engine/Instruments.h"
#include "engine/Preset.h"
#include "engine/SoundFontPlayer.h"
#include "render/Mastering.h"
#include "render/Renderer.h"

using namespace soundstar;

namespace {
constexpr double kSr = 48000.0;
constexpr int kBlock = 64;

/// Real-time voice count on one core: voices * block duration / time per block.
void reportVoices(benchmark::State& st, int voices) {
    st.counters["ns_per_voice_sample"] =
        benchmark::Counter(static_cast<double>(st.iterations()) * voices * kBlock,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    st.counters["voices_realtime"] = benchmark::Counter(static_cast<double>(st.iterations()) * voices * kBlock / kSr,
                                                        benchmark::Counter::kIsRate);
    st.counters["ns_per_voice_sample"] = benchmark::Counter(
        static_cast<double>(st.iterations()) * voices * kBlock, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
}  // namespace

// The engine's subtractive instrument: saw (+ second osc off) -> ladder -> ADSR, 16 voices per
// instrument; N voices spread over N/16 instruments, each panned.
static void subtractiveVoices(benchmark::State& st) {
    const int voices = static_cast<int>(st.range(0));
    std::vector<std::unique_ptr<engine::Instrument>> insts;
    Rng rng(1);
    for (int v = 0; v < voices; v += 16) {
        auto in = engine::makeInstrument("subtractive");
        in->prepare(kSr, kBlock);
        const auto params = in->params();
        in->setParam(engine::findParam(params, "mix2"), 0.0f);
        in->setParam(engine::findParam(params, "sustain"), 0.7f);
        for (int k = 0; k < 16 && v + k < voices; ++k) in->noteOn(static_cast<float>(rng.range(33, 81)), 0.8f);
        insts.push_back(std::move(in));
    }
    std::vector<float> l(kBlock), r(kBlock), ml(kBlock), mr(kBlock);
    for (auto _ : st) {
        std::fill(ml.begin(), ml.end(), 0.0f);
        std::fill(mr.begin(), mr.end(), 0.0f);
        for (auto& in : insts) {
            in->process({l.data(), r.data(), kBlock});
            for (int i = 0; i < kBlock; ++i) {  // pan each instrument (equal power, fixed)
                ml[static_cast<std::size_t>(i)] += l[static_cast<std::size_t>(i)] * 0.8f;
                mr[static_cast<std::size_t>(i)] += r[static_cast<std::size_t>(i)] * 0.6f;
            }
        }
        benchmark::DoNotOptimize(ml.data());
    }
    reportVoices(st, voices);
}
BENCHMARK(subtractiveVoices)->Arg(1)->Arg(16)->Arg(64)->Arg(256);

// Our SoundFont player on General MIDI's piano (TimGM6mb, as offline renders load it: the one
// program): a chord of N keys held (stereo zones: two voices a key where the font has them),
// struck again every 128 blocks so the voices stay in their first seconds, where they are
// loudest and longest; 256-frame calls, as the offline graph makes them.
static void soundFontVoices(benchmark::State& st) {
    constexpr const char* kFont = "/usr/share/sounds/sf2/TimGM6mb.sf2";
    if (!std::filesystem::exists(kFont)) {
        st.SkipWithError("timgm6mb-soundfont is not installed");
        return;
    }
    engine::SoundFontPlayer player;
    player.prepare(engine::loadSoundFontBank(kFont, {.only = engine::SoundFontPresetId{0, 0}}), 44100.0);
    const int keys = static_cast<int>(st.range(0));
    std::vector<float> l(256), r(256);
    long blocks = 0;
    for (auto _ : st) {
        if (blocks++ % 128 == 0)
            for (int k = 0; k < keys; ++k) player.noteOn(48 + 5 * k, 90);
        player.render(l.data(), r.data(), 256);
        benchmark::DoNotOptimize(l.data());
    }
    st.counters["voices"] = player.activeVoices();
}
BENCHMARK(soundFontVoices)->Arg(1)->Arg(4)->Arg(8);

// The SIMD voice bank (saw -> 2-pole resonant lowpass -> envelope -> equal-power pan): the patch
// timed against scsynth by bench/voicebench.
static void simdVoiceBank(benchmark::State& st) {
    const int voices = static_cast<int>(st.range(0));
    dsp::SawVoiceBank bank;
    bank.prepare(kSr, voices);
    Rng rng(1);
    for (int v = 0; v < voices; ++v)
        bank.start(v, 55.0f * std::exp2(static_cast<float>(rng.range(0, 48)) / 12.0f), rng.uniform(500, 5000),
                   1.0f / 0.3f, rng.bipolar(), 0.05f, {0.01f, 0.2f, 0.7f, 0.5f});
    std::vector<float> l(kBlock), r(kBlock);
    for (auto _ : st) {
        std::fill(l.begin(), l.end(), 0.0f);
        std::fill(r.begin(), r.end(), 0.0f);
        bank.process(l.data(), r.data(), kBlock);
        benchmark::DoNotOptimize(l.data());
    }
    reportVoices(st, voices);
}
BENCHMARK(simdVoiceBank)->Arg(64)->Arg(256)->Arg(1024);

namespace {
const engine::PresetLibrary& presets() {
    static engine::PresetLibrary lib = [] {
        engine::PresetLibrary l;
        l.loadDirectory(SOUNDSTAR_DATA "/presets");
        return l;
    }();
    return lib;
}
music::MusicConfig denseConfig() {
    return music::parseMusicConfig(
        R"({"bpm":124,"rhythm":"electronic","accent":"arp_accent","density":6,"space":"large","brightness":"bright","echo":"medium","seed":42})");
}
}  // namespace

// A dense six-track arrangement (drums, bass, pad, keys, arp, lead) with reverb and delay
// returns and the master chain, 60 s at 44.1 kHz, unmastered. Counter: multiple of real time.
static void renderDenseArrangement(benchmark::State& st) {
    const auto score = compose::composeFromConfig(denseConfig(), 60.0);
    render::RenderOptions o;
    o.sampleRate = 44100.0;
    o.durationSeconds = 60.0;
    for (auto _ : st) {
        auto audio = render::renderScore(score, presets(), o);
        benchmark::DoNotOptimize(audio.left().data());
    }
    st.counters["tracks"] = static_cast<double>(score.tracks.size());
    st.counters["x_realtime"] = benchmark::Counter(static_cast<double>(st.iterations()) * 60.0, benchmark::Counter::kIsRate);
}
// Real time: the tracks render on every core, so the main thread's CPU time would flatter it.
BENCHMARK(renderDenseArrangement)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// The same render into one buffer kept from render to render (render::renderScoreInto), as a
// batch of renders can: the difference is what fresh output pages cost.
static void renderDenseArrangementIntoOneBuffer(benchmark::State& st) {
    const auto score = compose::composeFromConfig(denseConfig(), 60.0);
    render::RenderOptions o;
    o.sampleRate = 44100.0;
    o.durationSeconds = 60.0;
    StereoBuffer audio;
    for (auto _ : st) {
        render::renderScoreInto(audio, score, presets(), o);
        benchmark::DoNotOptimize(audio.left().data());
    }
    st.counters["x_realtime"] = benchmark::Counter(static_cast<double>(st.iterations()) * 60.0, benchmark::Counter::kIsRate);
}
BENCHMARK(renderDenseArrangementIntoOneBuffer)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

static void masterSixtySeconds(benchmark::State& st) {
    const auto score = compose::composeFromConfig(denseConfig(), 60.0);
    render::RenderOptions o;
    o.durationSeconds = 60.0;
    const auto audio = render::renderScore(score, presets(), o);
    for (auto _ : st) {
        auto copy = audio;
        auto r = render::master(copy, o.sampleRate);
        benchmark::DoNotOptimize(r.outputLufs);
    }
}
BENCHMARK(masterSixtySeconds)->Unit(benchmark::kMillisecond);

// The issue's mastering target: a 3-minute mix (the dense arrangement) in under 60 ms. The copy
// of the unmastered mix is made outside the timing.
static void masterThreeMinutes(benchmark::State& st) {
    const auto score = compose::composeFromConfig(denseConfig(), 180.0);
    render::RenderOptions o;
    o.durationSeconds = 180.0;
    const auto audio = render::renderScore(score, presets(), o);
    StereoBuffer copy;
    for (auto _ : st) {
        st.PauseTiming();
        copy = audio;
        st.ResumeTiming();
        auto r = render::master(copy, o.sampleRate);
        benchmark::DoNotOptimize(r.outputLufs);
        st.counters["limiter_passes"] = r.limiterPasses;
    }
}
BENCHMARK(masterThreeMinutes)->Unit(benchmark::kMillisecond);

static void composeThreeMinutes(benchmark::State& st) {
    const auto cfg = denseConfig();
    for (auto _ : st) {
        auto score = compose::composeFromConfig(cfg, 180.0);
        benchmark::DoNotOptimize(score.tracks.data());
    }
}
BENCHMARK(composeThreeMinutes)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

// Live analysis's control-side cost (issue #16): a LiveAnalyzer fed a 440 Hz tone with clicks in
// 1/10 s pieces (a message at 10 Hz), each piece followed by every measure a message asks for.
// Reports the CPU time per message, one feature at a time and all of them together.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "analysis/LiveAnalyzer.h"

using namespace soundstar::analysis;

namespace {
constexpr double kRate = 44100.0;
constexpr std::size_t kPiece = 4410;

std::vector<float> tone(std::size_t frames) {
    std::vector<float> x(2 * frames);
    for (std::size_t i = 0; i < frames; ++i) {
        float v = 0.25f * static_cast<float>(std::sin(2.0 * std::numbers::pi * 440.0 * static_cast<double>(i) / kRate));
        if (i % 22050 < 400) v += 0.5f * std::exp(-static_cast<float>(i % 22050) / 80.0f);
        x[2 * i] = x[2 * i + 1] = v;
    }
    return x;
}

void run(benchmark::State& state, LiveFeatures f) {
    const auto x = tone(static_cast<std::size_t>(30 * kRate));
    LiveAnalyzer a(kRate, f);
    std::size_t at = 0;
    // Fill the windows first (tempo 8 s, key 10 s), so each message costs what it does in a long session.
    for (; at < static_cast<std::size_t>(12 * kRate); at += kPiece) a.push(x.data() + 2 * at, kPiece);
    double sink = 0.0;
    for (auto _ : state) {
        if (at + kPiece > x.size() / 2) at = 0;
        a.push(x.data() + 2 * at, kPiece);
        at += kPiece;
        if (f.loudness) sink += a.integratedLufs().value_or(0.0);
        if (f.truePeak) sink += a.truePeakDbtp().value_or(0.0);
        if (f.onsets) sink += static_cast<double>(a.takeOnsets().size());
        if (f.pitch) sink += a.pitch().hz;
        if (f.tempo) sink += a.tempo().bpm;
        if (f.key) sink += a.key() ? 1.0 : 0.0;
        benchmark::DoNotOptimize(sink);
    }
}

LiveFeatures only(bool LiveFeatures::*flag) {
    LiveFeatures f;
    f.spectrum = f.levels = f.loudness = false;
    f.*flag = true;
    return f;
}
}  // namespace

static void BM_LiveLoudness(benchmark::State& s) { run(s, only(&LiveFeatures::loudness)); }
static void BM_LiveTruePeak(benchmark::State& s) { run(s, only(&LiveFeatures::truePeak)); }
static void BM_LiveOnsets(benchmark::State& s) { run(s, only(&LiveFeatures::onsets)); }
static void BM_LivePitch(benchmark::State& s) { run(s, only(&LiveFeatures::pitch)); }
static void BM_LiveTempo(benchmark::State& s) { run(s, only(&LiveFeatures::tempo)); }
static void BM_LiveKey(benchmark::State& s) { run(s, only(&LiveFeatures::key)); }
static void BM_LiveEverything(benchmark::State& s) { run(s, {true, true, true, true, true, true, true, true}); }
BENCHMARK(BM_LiveLoudness)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LiveTruePeak)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LiveOnsets)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LivePitch)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LiveTempo)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LiveKey)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LiveEverything)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();

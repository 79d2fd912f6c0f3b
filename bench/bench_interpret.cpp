// The embedded interpreter's targets (issue #4): load under 200 ms, under 10 ms per prompt;
// issue #13: interpreter and data load under 15 ms, which the mapped snapshot does.
// Benchmarks report; tests assert meaning, never time.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "interpret/Interpreter.h"

using namespace soundstar;

namespace {
const std::filesystem::path kDir = std::filesystem::path(SOUNDSTAR_DATA) / "interpret";

void loadInterpreter(benchmark::State& st) {
    for (auto _ : st) {
        auto it = interpret::Interpreter::load(kDir);
        benchmark::DoNotOptimize(it.librarySize());
    }
    st.SetLabel("target < 200 ms");
}
BENCHMARK(loadInterpreter)->Unit(benchmark::kMillisecond)->Iterations(5);

// What the CLI does at start-up: map the build's snapshot, check it against the sources.
void openSnapshot(benchmark::State& st) {
    const std::filesystem::path snapshot = std::filesystem::path(SOUNDSTAR_BUILT_DATA) / "interpret" / "interpreter.bin";
    for (auto _ : st) {
        auto it = interpret::Interpreter::open(snapshot, kDir);
        benchmark::DoNotOptimize(it.librarySize());
    }
    st.SetLabel("target < 15 ms (issue #13)");
}
BENCHMARK(openSnapshot)->Unit(benchmark::kMillisecond);

// Start-up as a user meets it: open, then the first prompt.
void openAndInterpretOnce(benchmark::State& st) {
    const std::filesystem::path snapshot = std::filesystem::path(SOUNDSTAR_BUILT_DATA) / "interpret" / "interpreter.bin";
    for (auto _ : st) {
        auto it = interpret::Interpreter::open(snapshot, kDir);
        benchmark::DoNotOptimize(it.interpret("jazz cafe at midnight").config.density);
    }
}
BENCHMARK(openAndInterpretOnce)->Unit(benchmark::kMillisecond);

void interpretPrompt(benchmark::State& st) {
    static const auto it = interpret::Interpreter::load(kDir);
    const std::vector<std::string> prompts{"melancholic rainy night",
                                           "energetic techno at 130 bpm, no drums",
                                           "warm sunset over water with a bit of piano",
                                           "a very dark and slightly faster jazz in F# minor without bass",
                                           "heartbreak by the seaside",
                                           "grandma's kitchen on a sunday morning"};
    std::size_t i = 0;
    for (auto _ : st) benchmark::DoNotOptimize(it.interpret(prompts[i++ % prompts.size()]).config.density);
    st.SetLabel("target < 10 ms");
}
BENCHMARK(interpretPrompt)->Unit(benchmark::kMillisecond);

void interpretTenThousandCharacters(benchmark::State& st) {
    static const auto it = interpret::Interpreter::load(kDir);
    std::string prompt;
    const char* words[] = {"rain ", "night ", "zzqx ", "melancholic ", "piano ", "city ", "lights ", "no drums, ", "ocean ", "memories "};
    for (int i = 0; prompt.size() < 10000; ++i) prompt += words[i % 10];
    for (auto _ : st) benchmark::DoNotOptimize(it.interpret(prompt).config.density);
}
BENCHMARK(interpretTenThousandCharacters)->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();

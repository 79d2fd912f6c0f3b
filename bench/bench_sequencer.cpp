// The sequencer's control-side cost: rendering a dense arrangement (16 clips of 256 notes, a
// 16-step pattern, 8 automation lanes sent every 64 samples at 120 bpm / 44.1 kHz) in the
// windows the server renders it in (about 100 ms), per beat of music.
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <string>

#include "sequencer/SequenceJson.h"
#include "sequencer/Sequencer.h"

using namespace soundstar::sequencer;
using nlohmann::json;

static void BM_RenderDenseArrangement(benchmark::State& state) {
    Sequencer seq;
    for (int c = 0; c < 16; ++c) {
        json notes = json::array();
        for (int n = 0; n < 256; ++n) notes.push_back({{"note", 36 + (n * 7 + c) % 48}, {"start", n * 0.0625}, {"duration", 0.1}});
        seq.setClip(parseClip({{"id", fmt::format("c{}", c)}, {"track", fmt::format("t{}", c)}, {"start", 0}, {"repeats", 4096}, {"notes", notes}}));
    }
    json steps = json::array();
    for (int i = 0; i < 16; ++i) steps.push_back({{"velocity", 1}, {"probability", 0.7}});
    seq.setClip(parseClip({{"id", "p"}, {"track", "drums"}, {"start", 0}, {"repeats", 4096}, {"pattern", {{"steps", steps}, {"swing", 0.2}}}}));
    for (int l = 0; l < 8; ++l)
        seq.setLane(parseLane({{"id", fmt::format("l{}", l)}, {"target", {{"track", fmt::format("t{}", l)}, {"param", "cutoff"}}},
                               {"points", {{{"beat", 0}, {"value", 200}, {"curve", "exp"}}, {{"beat", 100000}, {"value", 8000}}}}}));
    const double window = 0.2, step = 64.0 * 120.0 / (60.0 * 44100.0);
    std::vector<Event> events;
    seq.play(0.0, 0.0, events);
    double beat = 0.0;
    for (auto _ : state) {
        events.clear();
        beat += window;
        seq.render(beat, step, events);
        benchmark::DoNotOptimize(events.data());
    }
    state.counters["beats_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()) * window, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderDenseArrangement);

BENCHMARK_MAIN();

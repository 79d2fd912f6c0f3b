// The model service's latencies (issue #12), medians of `runs` (default 7): a cold request
// (worker start, model load, generation), a warm request to the loaded model, the time to the
// first audio chunk, and how long a cancel takes to end a running request. Usage:
//   bench_models [MODEL_DIR] [SECONDS] [RUNS]     (default: data/models/procedural, 2 s, 7)
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "models/WorkerSupervisor.h"

using namespace soundstar::models;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
    const std::string model = argc > 1 ? argv[1] : std::string(SOUNDSTAR_DATA) + "/models/procedural";
    const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
    const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 7;
    WorkerSupervisor::Options o;
    o.workerCommand = {SOUNDSTAR_BIN, "model-worker"};
    GenerateRequest r;
    r.model = model;
    r.prompt = "warm sunset over water";
    r.seconds = seconds;
    std::vector<double> cold, warm, firstChunk, cancel;
    for (int i = 0; i < runs; ++i) {
        WorkerSupervisor service(o);
        auto t = Clock::now();
        if (!service.generate(r).ok) return 1;
        cold.push_back(since(t));
        t = Clock::now();
        double first = -1;
        GenerateCallbacks cb;
        cb.onChunk = [&](const AudioChunk&) {
            if (first < 0) first = since(t);
        };
        if (!service.generate(r, cb).ok) return 1;
        warm.push_back(since(t));
        firstChunk.push_back(first);
        std::atomic<bool> started{false};
        GenerateCallbacks cc;
        cc.onChunk = [&](const AudioChunk&) { started = true; };
        GenerateRequest longOne = r;
        longOne.seconds = 300;
        longOne.steps = 600;
        const auto id = service.submit(longOne, cc);
        while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        t = Clock::now();
        service.cancel(id);
        (void)service.wait(id);
        cancel.push_back(since(t));
    }
    fmt::print("model {} ({:g} s of audio, median of {} runs)\n", model, seconds, runs);
    fmt::print("cold request (start, load, generate): {:.1f} ms\n", 1e3 * median(cold));
    fmt::print("warm request (model loaded):          {:.1f} ms  ({:.1f}x less)\n", 1e3 * median(warm), median(cold) / median(warm));
    fmt::print("first chunk of a warm request:        {:.1f} ms\n", 1e3 * median(firstChunk));
    fmt::print("cancel to end of a running request:   {:.1f} ms\n", 1e3 * median(cancel));
    return 0;
}

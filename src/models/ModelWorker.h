#pragma once
// The worker side of the model protocol [control; its own process]: says hello, loads one model
// when asked, then serves generate requests one after another, streaming progress and audio
// chunks, until its input ends. A reader thread takes cancel frames while a generation runs.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/Frame.h"
#include "models/ModelManifest.h"

namespace soundstar::models {

/// Thrown by a generator that saw its cancel flag.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("cancelled") {}
};

struct GenerateParams {
    std::string prompt;
    double seconds = 10.0;
    std::uint64_t seed = 1;
    std::optional<int> steps;
    std::optional<double> guidance;
    std::optional<int> topK;             // token-sampling models (musicgen): 1 to 65536
    std::optional<double> temperature;  // 0.01 to 10
    int takes = 1;                       // 1 to kMaxTakes; see Generator::batchesTakes
    std::optional<int> threads;          // 1 to 64: this request's threads; unset: the model folder's
};

/// A loaded model. generate() runs on the worker's main thread; it calls `progress` after each
/// step and `chunk` with a take's interleaved audio as it is made (each take's chunks in order),
/// and throws Cancelled soon after `cancel` turns true (between blocks: well within 100 ms).
class Generator {
public:
    virtual ~Generator() = default;
    virtual double sampleRateHz() const = 0;
    virtual int channels() const = 0;
    virtual void generate(const GenerateParams& p, const std::function<void(int step, int steps)>& progress,
                          const std::function<void(int take, std::vector<float>&& interleaved)>& chunk, const std::atomic<bool>& cancel) = 0;
    /// True when generate() makes p.takes takes itself, side by side (one pass over the weights
    /// for all of them); otherwise the worker asks for them one after another, take t as a
    /// one-take request with seed + t, so either way take t is the one-take audio of seed + t.
    virtual bool batchesTakes() const { return false; }
    /// Threads for the next generate(): a request's own count, or unset for the folder's.
    virtual void setThreads(std::optional<int>) {}
};

/// Makes the generator for a checked model folder (throws std::invalid_argument naming the problem).
using GeneratorFactory = std::function<std::unique_ptr<Generator>(const std::filesystem::path& dir, const ModelManifest& m)>;

/// Serves the protocol on `inFd` / `outFd` until the input ends. Returns the exit code.
int serveModelWorker(int inFd, int outFd, const GeneratorFactory& factory);

}  // namespace soundstar::models

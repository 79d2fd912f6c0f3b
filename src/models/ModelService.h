#pragma once
// The model service [control]: neural (and procedural) generators behind one interface, so the
// CLI, the server and the DJ ask for audio without knowing where a model runs. Generation is a
// task: queued by priority, streamed (progress, then audio chunks as they are made), cancellable,
// and bounded by a timeout. Nothing here runs on the audio thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace soundstar::models {

using TaskId = std::uint64_t;

/// One generation. Limits: prompt up to 10000 bytes, 0.1 to 600 seconds, steps 1 to 1000,
/// guidance 0 to 30, top_k 1 to 65536, temperature 0.01 to 10, takes 1 to 8, threads 1 to 64;
/// unset values take the model's defaults.
struct GenerateRequest {
    std::filesystem::path model;  // the model folder (manifest.json + weights)
    std::string prompt;
    double seconds = 10.0;
    std::optional<std::uint64_t> seed;  // unset: 1 (so the same request gives the same audio)
    std::optional<int> steps;
    std::optional<double> guidance;
    std::optional<int> topK;             // musicgen: tokens drawn from the k likeliest, 1 to 65536
    std::optional<double> temperature;  // musicgen: 0.01 to 10
    int takes = 1;                       // versions of the request, take t from seed + t (musicgen makes them side by side)
    std::optional<int> threads;          // this request's threads; unset: the model folder's
    int priority = 0;             // higher runs first; equal priorities run in submission order
    double timeoutSeconds = 0.0;  // whole request, loading included; 0: the service's default
};

/// A piece of the audio as it is made: interleaved float samples.
struct AudioChunk {
    int index = 0;
    int take = 0;  // which take of the request
    int channels = 2;
    double sampleRateHz = 0.0;
    std::vector<float> interleaved;
};

/// Called on the service's dispatcher thread, in order: progress and chunks as they arrive. They
/// may call cancel() and status(), never wait(), load() or unload() (the dispatcher would wait on
/// itself); one that throws ends its request (the worker is restarted).
struct GenerateCallbacks {
    std::function<void(int step, int steps)> onProgress;
    std::function<void(const AudioChunk&)> onChunk;
};

struct GenerateResult {
    bool ok = false;
    bool cancelled = false;
    std::string error;  // why it failed (bounded), when !ok
    double sampleRateHz = 0.0;
    int channels = 0;
    std::vector<float> interleaved;  // take 0's chunks, in order
    std::vector<std::vector<float>> otherTakes;  // takes 1 to takes - 1, the same way
    bool loadedCold = false;         // the model was loaded for this request
    double seconds = 0.0;            // wall time from start to end (queueing not counted)
    std::uint64_t frames() const { return channels > 0 ? interleaved.size() / static_cast<std::size_t>(channels) : 0; }
    int takes() const { return 1 + static_cast<int>(otherTakes.size()); }
    const std::vector<float>& take(int t) const { return t == 0 ? interleaved : otherTakes.at(static_cast<std::size_t>(t - 1)); }
};

/// A model held by a worker.
struct LoadedModel {
    std::string name;
    std::filesystem::path dir;
    std::uint64_t memoryBytes = 0;
    int pid = 0;
    double sampleRateHz = 0.0;
    double loadSeconds = 0.0;
    std::uint64_t requests = 0;
};

struct ServiceStatus {
    std::vector<LoadedModel> loaded;  // least recently used first
    std::uint64_t memoryBytes = 0, maxMemoryBytes = 0;
    std::size_t queued = 0;
    int restarts = 0;  // workers started again after a crash or hang
};

/// Where take `take` (0-based) of a request written to `output` goes: take 0 is `output` itself,
/// take t the stem plus "-(t+1)" before the extension (song.wav -> song-2.wav, song-3.wav ...).
inline std::filesystem::path takeFileName(const std::filesystem::path& output, int take) {
    if (take == 0) return output;
    auto name = output;
    name.replace_filename(output.stem().string() + "-" + std::to_string(take + 1) + output.extension().string());
    return name;
}

class ModelService {
public:
    virtual ~ModelService() = default;
    /// Loads a model (or finds it loaded) and returns it. Throws std::runtime_error with the reason.
    virtual LoadedModel load(const std::filesystem::path& dir) = 0;
    /// Queues a generation; callbacks run on the service's thread. Throws std::invalid_argument
    /// for a request out of its limits (naming the limit), or when the queue is full.
    virtual TaskId submit(GenerateRequest request, GenerateCallbacks callbacks = {}) = 0;
    /// Waits for a task's end (each result can be taken once). Throws std::invalid_argument for an unknown id.
    virtual GenerateResult wait(TaskId id) = 0;
    /// Cancels a queued or running task; false when it is unknown or already over.
    virtual bool cancel(TaskId id) = 0;
    virtual ServiceStatus status() const = 0;
    /// Unloads a model (its worker exits); false when it was not loaded.
    virtual bool unload(const std::filesystem::path& dir) = 0;

    GenerateResult generate(GenerateRequest request, GenerateCallbacks callbacks = {}) {
        return wait(submit(std::move(request), std::move(callbacks)));
    }
};

}  // namespace soundstar::models

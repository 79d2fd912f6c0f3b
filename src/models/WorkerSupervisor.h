#pragma once
// The ModelService over persistent worker processes [control]. Each loaded model lives in its
// own worker (`soundstar model-worker`), which loads it once and serves request after request
// over the framed protocol of models/Frame.h on its stdin/stdout. Why processes: a model that
// crashes, leaks or hangs takes only its worker down; the supervisor fails that request with a
// clear error, starts the worker again (and reloads the model) before the next task, and kills a
// worker that overruns a request's timeout. One dispatcher thread runs the task queue (highest
// priority first, then first come) one task at a time, so CPU-bound models never fight for cores.
// A memory budget (`maxMemoryBytes`) is kept by unloading the least recently used models first.
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "models/ModelService.h"

namespace soundstar::models {

class WorkerSupervisor final : public ModelService {
public:
    struct Options {
        std::vector<std::string> workerCommand;  // e.g. {"/usr/bin/soundstar", "model-worker"}
        std::uint64_t maxMemoryBytes = 8ull << 30;
        double defaultTimeoutSeconds = 600.0;
        double startSeconds = 30.0;         // a worker's hello must come within this
        double cancelGraceSeconds = 2.0;    // a cancelled worker must answer within this, or it is killed
        std::size_t maxQueued = 256;
    };
    explicit WorkerSupervisor(Options o);
    /// Cancels what is queued, stops the dispatcher and every worker.
    ~WorkerSupervisor() override;

    LoadedModel load(const std::filesystem::path& dir) override;
    TaskId submit(GenerateRequest request, GenerateCallbacks callbacks = {}) override;
    GenerateResult wait(TaskId id) override;
    bool cancel(TaskId id) override;
    ServiceStatus status() const override;
    bool unload(const std::filesystem::path& dir) override;

    struct Worker;
    struct Task;

private:
    void run();
    void execute(Task& t);
    void runGenerate(Task& t);
    Worker& ensureLoaded(Task& t);
    void makeRoom(std::uint64_t bytes, const std::string& forName);
    void stopWorker(const std::string& key, bool kill);
    void restartPending();
    void publish();

    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, finished_;
    std::map<TaskId, std::shared_ptr<Task>> tasks_;
    std::uint64_t nextId_ = 1, nextSeq_ = 0, useClock_ = 0;
    bool stopping_ = false;
    // Owned by the dispatcher thread; status() reads the snapshot in `published_`.
    std::map<std::string, std::unique_ptr<Worker>> workers_;  // key: canonical model folder
    std::vector<std::filesystem::path> restart_;              // models whose worker died: start again
    ServiceStatus published_;
    std::thread thread_;
};

}  // namespace soundstar::models

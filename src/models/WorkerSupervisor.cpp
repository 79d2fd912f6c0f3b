#include "models/WorkerSupervisor.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "models/Frame.h"
#include "models/ModelManifest.h"
#include "models/WorkerProcess.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
Clock::duration toDuration(double seconds) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)); }
}  // namespace

/// A loaded model: its process and what the status reports.
struct WorkerSupervisor::Worker {
    std::unique_ptr<WorkerProcess> process;
    LoadedModel info;
    std::uint64_t lastUse = 0;
};

struct WorkerSupervisor::Task {
    enum class Kind { Generate, Load, Unload };
    Kind kind = Kind::Generate;
    TaskId id = 0;
    int priority = 0;
    std::uint64_t seq = 0;
    GenerateRequest request;
    GenerateCallbacks callbacks;
    std::atomic<bool> cancelRequested{false};
    bool running = false, done = false;
    Clock::time_point deadline;
    GenerateResult result;
    LoadedModel loaded;
    bool unloaded = false;
};

WorkerSupervisor::WorkerSupervisor(Options o) : options_(std::move(o)) {
    if (options_.workerCommand.empty()) throw std::invalid_argument("the model service needs a worker command (e.g. soundstar model-worker)");
    if (options_.maxMemoryBytes == 0) throw std::invalid_argument("max_memory must be above 0 bytes");
    published_.maxMemoryBytes = options_.maxMemoryBytes;
    thread_ = std::thread([this] { run(); });
}

WorkerSupervisor::~WorkerSupervisor() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [id, t] : tasks_) t->cancelRequested = true;
    }
    wake_.notify_all();
    thread_.join();
}

namespace {
void checkRequest(const GenerateRequest& r) {
    if (r.prompt.size() > 10000) throw std::invalid_argument(fmt::format("the prompt is {} bytes; at most 10000 allowed", r.prompt.size()));
    if (!(r.seconds >= 0.1 && r.seconds <= 600.0)) throw std::invalid_argument(fmt::format("a duration of {} s; allowed 0.1 to 600 seconds", r.seconds));
    if (r.steps && (*r.steps < 1 || *r.steps > 1000)) throw std::invalid_argument(fmt::format("{} steps; allowed 1 to 1000", *r.steps));
    if (r.guidance && !(*r.guidance >= 0.0 && *r.guidance <= 30.0))
        throw std::invalid_argument(fmt::format("guidance {}; allowed 0 to 30", *r.guidance));
    if (r.topK && (*r.topK < 1 || *r.topK > 65536)) throw std::invalid_argument(fmt::format("top_k {}; allowed 1 to 65536", *r.topK));
    if (r.temperature && !(*r.temperature >= 0.01 && *r.temperature <= 10.0))
        throw std::invalid_argument(fmt::format("temperature {}; allowed 0.01 to 10", *r.temperature));
    if (r.takes < 1 || r.takes > kMaxTakes) throw std::invalid_argument(fmt::format("{} takes; allowed 1 to {}", r.takes, kMaxTakes));
    if (r.threads && (*r.threads < 1 || *r.threads > 64)) throw std::invalid_argument(fmt::format("{} threads; allowed 1 to 64", *r.threads));
    if (!(r.timeoutSeconds >= 0.0 && r.timeoutSeconds <= 86400.0))
        throw std::invalid_argument(fmt::format("a timeout of {} s; allowed 0 (the default) to 86400 seconds", r.timeoutSeconds));
}
}  // namespace

TaskId WorkerSupervisor::submit(GenerateRequest request, GenerateCallbacks callbacks) {
    checkRequest(request);
    auto t = std::make_shared<Task>();
    t->priority = request.priority;
    t->request = std::move(request);
    t->callbacks = std::move(callbacks);
    {
        const std::lock_guard lock(mutex_);
        std::size_t queued = 0;
        for (const auto& [id, task] : tasks_) queued += !task->done && !task->running;
        if (queued >= options_.maxQueued)
            throw std::invalid_argument(fmt::format("the model queue is full ({} tasks waiting; at most {})", queued, options_.maxQueued));
        t->id = nextId_++;
        t->seq = nextSeq_++;
        tasks_[t->id] = t;
    }
    wake_.notify_all();
    return t->id;
}

GenerateResult WorkerSupervisor::wait(TaskId id) {
    std::unique_lock lock(mutex_);
    const auto it = tasks_.find(id);
    if (it == tasks_.end()) throw std::invalid_argument(fmt::format("no model task {} (unknown, or its result was already taken)", id));
    const auto t = it->second;
    finished_.wait(lock, [&] { return t->done; });
    tasks_.erase(id);
    return std::move(t->result);
}

bool WorkerSupervisor::cancel(TaskId id) {
    std::unique_lock lock(mutex_);
    const auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second->done) return false;
    auto& t = *it->second;
    t.cancelRequested = true;
    if (!t.running) {
        t.done = true;
        t.result.cancelled = true;
        t.result.error = "cancelled before it started";
        lock.unlock();
        finished_.notify_all();
    }
    return true;
}

ServiceStatus WorkerSupervisor::status() const {
    const std::lock_guard lock(mutex_);
    ServiceStatus s = published_;
    for (const auto& [id, t] : tasks_) s.queued += !t->done && !t->running;
    return s;
}

LoadedModel WorkerSupervisor::load(const std::filesystem::path& dir) {
    auto t = std::make_shared<Task>();
    t->kind = Task::Kind::Load;
    t->request.model = dir;
    t->priority = 1000000;  // before generations waiting for it
    {
        const std::lock_guard lock(mutex_);
        t->id = nextId_++;
        t->seq = nextSeq_++;
        tasks_[t->id] = t;
    }
    wake_.notify_all();
    const TaskId id = t->id;
    auto r = wait(id);
    if (!r.ok) throw std::runtime_error(r.error);
    return t->loaded;
}

bool WorkerSupervisor::unload(const std::filesystem::path& dir) {
    auto t = std::make_shared<Task>();
    t->kind = Task::Kind::Unload;
    t->request.model = dir;
    t->priority = 1000000;
    {
        const std::lock_guard lock(mutex_);
        t->id = nextId_++;
        t->seq = nextSeq_++;
        tasks_[t->id] = t;
    }
    wake_.notify_all();
    (void)wait(t->id);
    return t->unloaded;
}

void WorkerSupervisor::run() {
    for (;;) {
        std::shared_ptr<Task> t;
        {
            std::unique_lock lock(mutex_);
            const auto pick = [&] {
                std::shared_ptr<Task> best;
                for (const auto& [id, task] : tasks_)
                    if (!task->done && !task->running &&
                        (!best || task->priority > best->priority || (task->priority == best->priority && task->seq < best->seq)))
                        best = task;
                return best;
            };
            wake_.wait(lock, [&] { return stopping_ || pick() != nullptr; });
            if (stopping_) {
                for (auto& [id, task] : tasks_)
                    if (!task->done) {
                        task->done = true;
                        task->result.cancelled = true;
                        task->result.error = "the model service stopped";
                    }
                finished_.notify_all();
                break;
            }
            t = pick();
            t->running = true;
        }
        const double timeout = t->request.timeoutSeconds > 0 ? t->request.timeoutSeconds : options_.defaultTimeoutSeconds;
        t->deadline = Clock::now() + toDuration(timeout);
        execute(*t);
        publish();
        {
            const std::lock_guard lock(mutex_);
            t->running = false;
            t->done = true;
        }
        finished_.notify_all();
        restartPending();
        publish();
    }
    workers_.clear();  // each worker's destructor kills it
}

void WorkerSupervisor::execute(Task& t) {
    const auto started = Clock::now();
    try {
        switch (t.kind) {
            case Task::Kind::Generate: runGenerate(t); break;
            case Task::Kind::Load:
                t.loaded = ensureLoaded(t).info;
                t.result.ok = true;
                break;
            case Task::Kind::Unload: {
                std::error_code ec;
                const auto key = std::filesystem::weakly_canonical(t.request.model, ec).string();
                t.unloaded = workers_.count(key) > 0;
                if (t.unloaded) stopWorker(key, false);
                t.result.ok = true;
                break;
            }
        }
    } catch (const std::exception& e) {
        t.result.ok = false;
        t.result.error = music::clipText(e.what(), 1800);
    }
    t.result.seconds = secondsSince(started);
}

void WorkerSupervisor::makeRoom(std::uint64_t bytes, const std::string& forName) {
    if (bytes > options_.maxMemoryBytes)
        throw std::runtime_error(fmt::format("model '{}' needs {:.1f} MiB; the memory budget (max_memory) is {:.1f} MiB", forName, bytes / 1048576.0,
                                             options_.maxMemoryBytes / 1048576.0));
    for (;;) {
        std::uint64_t used = 0;
        const std::pair<const std::string, std::unique_ptr<Worker>>* oldest = nullptr;
        for (const auto& entry : workers_) {
            used += entry.second->info.memoryBytes;
            if (!oldest || entry.second->lastUse < oldest->second->lastUse) oldest = &entry;
        }
        if (used + bytes <= options_.maxMemoryBytes || !oldest) return;
        stopWorker(oldest->first, false);  // least recently used first
    }
}

void WorkerSupervisor::stopWorker(const std::string& key, bool kill) {
    const auto it = workers_.find(key);
    if (it == workers_.end()) return;
    it->second->process->stop(kill ? 0.0 : options_.cancelGraceSeconds);
    workers_.erase(it);
}

WorkerSupervisor::Worker& WorkerSupervisor::ensureLoaded(Task& t) {
    const auto manifest = readModelDir(t.request.model);  // clear errors before any process starts
    std::error_code ec;
    const auto key = std::filesystem::weakly_canonical(t.request.model, ec).string();
    if (const auto it = workers_.find(key); it != workers_.end()) {
        it->second->lastUse = ++useClock_;
        return *it->second;
    }
    makeRoom(manifest.memoryBytes, manifest.name);
    const auto started = Clock::now();
    auto w = std::make_unique<Worker>();
    w->process = WorkerProcess::start(options_.workerCommand, std::min(t.deadline, started + toDuration(options_.startSeconds)));
    const std::uint64_t loadId = 1;
    Frame reply;
    try {
        w->process->send(Frame::make(FrameType::Load, {{"id", loadId}, {"path", key}}));
        for (;;) {
            const auto r = w->process->next(t.deadline, reply);
            if (r == WorkerProcess::Read::Timeout) throw WorkerFailure("did not finish loading before the request's timeout");
            if (r == WorkerProcess::Read::Eof) throw WorkerFailure(fmt::format("{} while loading", w->process->stop(1.0)));
            if (reply.id() == loadId && (reply.type == FrameType::Status || reply.type == FrameType::Error)) break;
        }
    } catch (const WorkerFailure& e) {
        throw std::runtime_error(fmt::format("the model worker for '{}' {}", manifest.name, e.what()));
    }
    if (reply.type == FrameType::Error) throw std::runtime_error(reply.header.value("message", std::string("the model did not load")));
    w->info.name = manifest.name;
    w->info.dir = key;
    w->info.memoryBytes = manifest.memoryBytes;
    w->info.pid = w->process->pid();
    w->info.sampleRateHz = manifest.sampleRateHz;
    w->info.loadSeconds = secondsSince(started);
    w->lastUse = ++useClock_;
    t.result.loadedCold = true;
    auto& ref = *w;
    workers_[key] = std::move(w);
    publish();
    return ref;
}

namespace {
// What one frame of a running request means for it: more to come, or the end.
enum class Step { More, End };

Step takeFrame(Frame& f, const GenerateRequest& request, const GenerateCallbacks& callbacks, GenerateResult& result, bool cancelled) {
    switch (f.type) {
        case FrameType::Progress:
            if (callbacks.onProgress) callbacks.onProgress(f.header["step"].get<int>(), f.header["steps"].get<int>());
            return Step::More;
        case FrameType::Chunk: {
            AudioChunk c{f.header["index"].get<int>(), f.header.value("take", 0), f.channels(), f.header["sample_rate"].get<double>(), std::move(f.pcm)};
            if (c.take >= request.takes) throw WorkerFailure(fmt::format("sent audio for take {} of a request for {}", c.take, request.takes));
            if (result.channels == 0) {
                result.channels = c.channels;
                result.sampleRateHz = c.sampleRateHz;
            } else if (c.channels != result.channels || c.sampleRateHz != result.sampleRateHz) {
                throw WorkerFailure("changed its channel count or sample rate between chunks");
            }
            const auto most = static_cast<std::size_t>(std::ceil(request.seconds * c.sampleRateHz)) * static_cast<std::size_t>(c.channels);
            if (result.otherTakes.size() + 1 < static_cast<std::size_t>(request.takes)) result.otherTakes.resize(static_cast<std::size_t>(request.takes - 1));
            auto& audio = c.take == 0 ? result.interleaved : result.otherTakes[static_cast<std::size_t>(c.take - 1)];
            if (audio.size() + c.interleaved.size() > most) throw WorkerFailure("sent more audio than the request asked for");
            audio.insert(audio.end(), c.interleaved.begin(), c.interleaved.end());
            if (callbacks.onChunk) callbacks.onChunk(c);
            return Step::More;
        }
        case FrameType::Done:
            if (result.otherTakes.size() + 1 < static_cast<std::size_t>(request.takes)) result.otherTakes.resize(static_cast<std::size_t>(request.takes - 1));
            result.ok = !cancelled;  // one that finished as the cancel went out is still cancelled
            result.cancelled = cancelled;
            if (cancelled) result.error = "cancelled";
            return Step::End;
        case FrameType::Error:
            result.cancelled = f.header.value("code", std::string()) == "cancelled";
            result.error = f.header["message"].get<std::string>();
            return Step::End;
        default: return Step::More;  // a status answer: nothing for the request
    }
}
}  // namespace

void WorkerSupervisor::runGenerate(Task& t) {
    Worker& w = ensureLoaded(t);
    const std::string key = w.info.dir.string(), name = w.info.name;
    const auto rid = t.id + 1;  // above the load's id (1)
    nlohmann::json fields = {{"id", rid}, {"prompt", t.request.prompt}, {"seconds", t.request.seconds}, {"seed", t.request.seed.value_or(1)}};
    if (t.request.steps) fields["steps"] = *t.request.steps;
    if (t.request.guidance) fields["guidance"] = *t.request.guidance;
    if (t.request.topK) fields["top_k"] = *t.request.topK;
    if (t.request.temperature) fields["temperature"] = *t.request.temperature;
    if (t.request.takes != 1) fields["takes"] = t.request.takes;
    if (t.request.threads) fields["threads"] = *t.request.threads;
    const auto fail = [&](const std::string& why) {
        const int pid = w.process->pid();
        stopWorker(key, true);
        restart_.push_back(key);
        throw std::runtime_error(fmt::format("the model worker for '{}' (pid {}) {}; it is being restarted", name, pid, why));
    };
    const double timeout = t.request.timeoutSeconds > 0 ? t.request.timeoutSeconds : options_.defaultTimeoutSeconds;
    bool cancelSent = false;
    auto cancelBy = Clock::time_point::max();
    try {
        w.process->send(Frame::make(FrameType::Generate, fields));
        ++w.info.requests;
        for (Frame f;;) {
            if (!cancelSent && t.cancelRequested) {
                w.process->send(Frame::make(FrameType::Cancel, {{"id", rid}}));
                cancelSent = true;
                cancelBy = Clock::now() + toDuration(options_.cancelGraceSeconds);
            }
            const auto r = w.process->next(std::min({t.deadline, cancelBy, Clock::now() + std::chrono::milliseconds(10)}), f);
            if (r == WorkerProcess::Read::Eof) fail(fmt::format("{} during the request", w.process->stop(1.0)));
            if (r == WorkerProcess::Read::Timeout && Clock::now() >= t.deadline)
                fail(fmt::format("timed out: the request took longer than its {:g} s timeout, so the worker was killed", timeout));
            if (r == WorkerProcess::Read::Timeout && Clock::now() >= cancelBy) {
                t.result.cancelled = true;
                fail(fmt::format("did not stop within {:g} s of the cancel, so it was killed", options_.cancelGraceSeconds));
            }
            if (r != WorkerProcess::Read::Frame || f.id() != rid) continue;  // other ids: answers to abandoned requests
            Step step = Step::More;
            try {
                step = takeFrame(f, t.request, t.callbacks, t.result, t.cancelRequested);
            } catch (const WorkerFailure&) {
                throw;
            } catch (const std::exception& e) {  // the caller's callback: the rest of the audio has nowhere to go
                fail(fmt::format("was stopped because the request's callback failed ({})", music::clipText(e.what(), 500)));
            }
            if (step == Step::End) return;
        }
    } catch (const WorkerFailure& e) {
        fail(e.what());
    }
}

void WorkerSupervisor::restartPending() {
    auto models = std::move(restart_);
    restart_.clear();
    for (const auto& dir : models) {
        Task t;
        t.kind = Task::Kind::Load;
        t.request.model = dir;
        t.deadline = Clock::now() + toDuration(options_.defaultTimeoutSeconds);
        try {
            (void)ensureLoaded(t);
            const std::lock_guard lock(mutex_);
            ++published_.restarts;
        } catch (const std::exception&) {
            // The next request for it tries again and reports the reason.
        }
    }
}

void WorkerSupervisor::publish() {
    std::vector<LoadedModel> loaded;
    std::vector<std::pair<std::uint64_t, LoadedModel>> byUse;
    std::uint64_t used = 0;
    for (const auto& [key, w] : workers_) {
        byUse.emplace_back(w->lastUse, w->info);
        used += w->info.memoryBytes;
    }
    std::sort(byUse.begin(), byUse.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [use, info] : byUse) loaded.push_back(std::move(info));
    const std::lock_guard lock(mutex_);
    published_.loaded = std::move(loaded);
    published_.memoryBytes = used;
}

}  // namespace soundstar::models

#include "models/WorkerSupervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "music/JsonText.h"

namespace soundstar::models {
namespace {
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string describeExit(int status) {
    if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    return "ended abnormally";
}

/// Thrown inside the dispatcher when a worker is gone or must go; the message says why.
struct WorkerFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
}  // namespace

struct WorkerSupervisor::Worker {
    pid_t pid = -1;
    int fd = -1;
    FrameDecoder decoder;
    LoadedModel info;
    std::uint64_t lastUse = 0;
    int reaped = -1;  // wait status once reaped

    enum class Read { Frame, Timeout, Eof };
    /// Waits until `until` for the next frame. A bad frame throws WorkerFailure.
    Read next(Clock::time_point until, Frame& out) {
        for (;;) {
            try {
                if (auto f = decoder.next()) {
                    out = std::move(*f);
                    return Read::Frame;
                }
            } catch (const std::invalid_argument& e) {
                throw WorkerFailure(fmt::format("sent a bad frame ({})", e.what()));
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
            if (left <= 0) return Read::Timeout;
            pollfd p{fd, POLLIN, 0};
            const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
            if (n < 0 && errno != EINTR) return Read::Eof;
            if (n <= 0) continue;
            char buf[65536];
            const ssize_t got = ::read(fd, buf, sizeof buf);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) return Read::Eof;
            try {
                decoder.feed(buf, static_cast<std::size_t>(got));
            } catch (const std::invalid_argument& e) {
                throw WorkerFailure(fmt::format("sent a bad frame ({})", e.what()));
            }
        }
    }
    void send(const Frame& f) {
        const std::string bytes = encodeFrame(f);
        for (std::size_t done = 0; done < bytes.size();) {
            const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw WorkerFailure(fmt::format("stopped reading its requests ({})", std::strerror(errno)));
            done += static_cast<std::size_t>(n);
        }
    }
    /// Ends the worker: politely (end of its input, up to `graceSeconds`), then SIGKILL.
    void stop(double graceSeconds) {
        if (pid <= 0) {
            if (fd >= 0) ::close(fd);
            fd = -1;
            return;
        }
        if (fd >= 0) ::shutdown(fd, SHUT_WR);
        const auto until = Clock::now() + std::chrono::duration<double>(graceSeconds);
        int status = 0;
        while (Clock::now() < until) {
            const pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                reaped = status;
                break;
            }
            ::usleep(5000);
        }
        if (reaped < 0) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            reaped = status;
        }
        if (fd >= 0) ::close(fd);
        fd = -1;
        pid = -1;
    }
    ~Worker() { stop(0.0); }
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
        t->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
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

std::unique_ptr<WorkerSupervisor::Worker> WorkerSupervisor::spawn(Task& t) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error(fmt::format("cannot make a socket for a model worker: {}", std::strerror(errno)));
    std::vector<char*> argv;
    for (auto& a : options_.workerCommand) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw std::runtime_error(fmt::format("cannot start a model worker: {}", std::strerror(errno)));
    }
    if (pid == 0) {  // only async-signal-safe calls from here to exec
        ::dup2(fds[1], 0);
        ::dup2(fds[1], 1);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    auto w = std::make_unique<Worker>();
    w->pid = pid;
    w->fd = fds[0];
    Frame hello;
    const auto until = std::min(t.deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.startSeconds)));
    Worker::Read r = Worker::Read::Eof;
    try {
        r = w->next(until, hello);
    } catch (const WorkerFailure& e) {
        w->stop(0.0);
        throw std::runtime_error(fmt::format("the model worker {} {}", music::clipText(options_.workerCommand[0], 300), e.what()));
    }
    if (r != Worker::Read::Frame || hello.type != FrameType::Hello || hello.header.value("protocol", 0) != kProtocolVersion) {
        const std::string why = r == Worker::Read::Timeout ? fmt::format("did not say hello within {:g} s", options_.startSeconds) : "did not start";
        w->stop(0.0);
        throw std::runtime_error(fmt::format("the model worker {} {} ({}{})", music::clipText(options_.workerCommand[0], 300), why,
                                             describeExit(w->reaped), WIFEXITED(w->reaped) && WEXITSTATUS(w->reaped) == 127 ? ": cannot run it" : ""));
    }
    return w;
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
    it->second->stop(kill ? 0.0 : options_.cancelGraceSeconds);
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
    auto w = spawn(t);
    const std::uint64_t loadId = 1;
    Frame reply;
    try {
        w->send(Frame::make(FrameType::Load, {{"id", loadId}, {"path", key}}));
        for (;;) {
            const auto r = w->next(t.deadline, reply);
            if (r == Worker::Read::Timeout) throw WorkerFailure("did not finish loading before the request's timeout");
            if (r == Worker::Read::Eof) {
                w->stop(0.0);
                throw WorkerFailure(fmt::format("{} while loading", describeExit(w->reaped)));
            }
            if (reply.id() == loadId && (reply.type == FrameType::Status || reply.type == FrameType::Error)) break;
        }
    } catch (const WorkerFailure& e) {
        throw std::runtime_error(fmt::format("the model worker for '{}' {}", manifest.name, e.what()));
    }
    if (reply.type == FrameType::Error) throw std::runtime_error(reply.header.value("message", std::string("the model did not load")));
    w->info.name = manifest.name;
    w->info.dir = key;
    w->info.memoryBytes = manifest.memoryBytes;
    w->info.pid = w->pid;
    w->info.sampleRateHz = manifest.sampleRateHz;
    w->info.loadSeconds = secondsSince(started);
    w->lastUse = ++useClock_;
    t.result.loadedCold = true;
    auto& ref = *w;
    workers_[key] = std::move(w);
    publish();
    return ref;
}

void WorkerSupervisor::runGenerate(Task& t) {
    Worker& w = ensureLoaded(t);
    const std::string key = w.info.dir.string(), name = w.info.name;
    const auto rid = t.id + 1;  // ids above the load's (1)
    nlohmann::json fields = {{"id", rid}, {"prompt", t.request.prompt}, {"seconds", t.request.seconds}, {"seed", t.request.seed.value_or(1)}};
    if (t.request.steps) fields["steps"] = *t.request.steps;
    if (t.request.guidance) fields["guidance"] = *t.request.guidance;
    const auto fail = [&](const std::string& why) {
        const int pid = w.pid;
        stopWorker(key, true);
        restart_.push_back(key);
        throw std::runtime_error(fmt::format("the model worker for '{}' (pid {}) {}; it is being restarted", name, pid, why));
    };
    bool cancelSent = false;
    auto cancelBy = Clock::time_point::max();
    try {
        w.send(Frame::make(FrameType::Generate, fields));
        ++w.info.requests;
        for (Frame f;;) {
            if (!cancelSent && t.cancelRequested) {
                w.send(Frame::make(FrameType::Cancel, {{"id", rid}}));
                cancelSent = true;
                cancelBy = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.cancelGraceSeconds));
            }
            const auto r = w.next(std::min({t.deadline, cancelBy, Clock::now() + std::chrono::milliseconds(10)}), f);
            if (r == Worker::Read::Eof) {
                ::waitpid(w.pid, &w.reaped, 0);
                w.pid = -1;
                fail(fmt::format("{} during the request", describeExit(w.reaped)));
            }
            if (r == Worker::Read::Timeout) {
                if (Clock::now() >= t.deadline) {
                    const double timeout = t.request.timeoutSeconds > 0 ? t.request.timeoutSeconds : options_.defaultTimeoutSeconds;
                    fail(fmt::format("timed out: the request took longer than its {:g} s timeout, so the worker was killed", timeout));
                }
                if (Clock::now() >= cancelBy) {
                    t.result.cancelled = true;
                    fail(fmt::format("did not stop within {:g} s of the cancel, so it was killed", options_.cancelGraceSeconds));
                }
                continue;
            }
            if (f.id() != rid) continue;  // an answer to an earlier, abandoned request
            if (f.type == FrameType::Progress) {
                if (t.callbacks.onProgress) t.callbacks.onProgress(f.header["step"].get<int>(), f.header["steps"].get<int>());
            } else if (f.type == FrameType::Chunk) {
                AudioChunk c{f.header["index"].get<int>(), f.channels(), f.header["sample_rate"].get<double>(), std::move(f.pcm)};
                if (t.result.channels == 0) {
                    t.result.channels = c.channels;
                    t.result.sampleRateHz = c.sampleRateHz;
                } else if (c.channels != t.result.channels || c.sampleRateHz != t.result.sampleRateHz) {
                    fail("changed its channel count or sample rate between chunks");
                }
                if (t.result.interleaved.size() + c.interleaved.size() > static_cast<std::size_t>(t.request.seconds * c.sampleRateHz + 1) * c.channels)
                    fail("sent more audio than the request asked for");
                t.result.interleaved.insert(t.result.interleaved.end(), c.interleaved.begin(), c.interleaved.end());
                if (t.callbacks.onChunk) t.callbacks.onChunk(c);
            } else if (f.type == FrameType::Done) {
                t.result.ok = !t.cancelRequested;  // finished before the cancel landed: still cancelled
                if (!t.result.ok) {
                    t.result.cancelled = true;
                    t.result.error = "cancelled";
                }
                return;
            } else if (f.type == FrameType::Error) {
                t.result.cancelled = f.header.value("code", std::string()) == "cancelled";
                t.result.error = f.header["message"].get<std::string>();
                return;
            }
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
        t.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.defaultTimeoutSeconds));
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

// `soundstar worker` takes render jobs from a Redis Stream (see queue/WorkQueue.h for the keys
// and the protocol) and `soundstar submit` puts them there. A worker renders N jobs at a time in
// child processes (batch/ProcessPool.h), writes each job's files into the shared output folder
// (temporary names, renamed into place), and acknowledges a job only after that. It keeps the
// jobs it renders alive, claims jobs that other workers left idle past --claim-after, gives up on
// a job after three failed attempts (the dead-letter stream keeps it and its error), and on
// SIGTERM or SIGINT stops taking jobs, finishes those it has, and exits.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "Commands.h"
#include "batch/JobSpec.h"
#include "batch/ProcessPool.h"
#include "music/JsonText.h"
#include "queue/WorkQueue.h"

namespace soundstar::app {
namespace fs = std::filesystem;
namespace {
using Clock = std::chrono::steady_clock;
volatile std::sig_atomic_t gStop = 0;

void onStopSignal(int) { gStop = 1; }

void installStopHandler() {
    struct sigaction sa{};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a wait returns early so the loop sees the flag
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
}

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string defaultConsumer() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return fmt::format("{}-{}", host, ::getpid());
}

class Worker {
public:
    Worker(const WorkerArgs& a, queue::WorkQueue& q)
        : args_(a), queue_(q), pool_({a.parallel, true}), consumer_(a.consumer.empty() ? defaultConsumer() : a.consumer) {}

    int run() {
        try {
            return loop();
        } catch (const std::exception& e) {
            // Redis went away (or refused a command): let the renders in progress finish so their
            // files land whole; their jobs stay pending and another worker claims them.
            fmt::print(stderr, "worker: {}: {}; waiting for {} job(s) in progress, then exiting\n", consumer_, e.what(), pool_.running());
            (void)pool_.drain();
            throw;
        }
    }

private:
    int loop() {
        queue_.ensureGroup();
        log("{} takes jobs from {} (group {}), {} at a time, into {}", consumer_, queue_.names().stream, queue_.names().group, args_.parallel,
            args_.outputDir);
        auto idleSince = Clock::now();
        while (!gStop) {
            for (const auto& f : pool_.wait(pool_.freeSlots() > 0 ? 0 : 200)) finish(f);
            keepAlive();
            if (pool_.freeSlots() > 0 && !gStop) {
                const bool started = takeJobs(pool_.running() > 0 ? 0 : 500);
                if (started || pool_.running() > 0) idleSince = Clock::now();
                if (pool_.running() > 0 && !started) {
                    for (const auto& f : pool_.wait(50)) finish(f);
                }
            }
            if (args_.exitWhenIdleSeconds > 0 && pool_.running() == 0 && secondsSince(idleSince) >= args_.exitWhenIdleSeconds) {
                log("{}: nothing to do for {:g} s; exiting", consumer_, args_.exitWhenIdleSeconds);
                break;
            }
        }
        if (gStop) log("{}: stopping: finishing {} job(s) in progress", consumer_, pool_.running());
        for (const auto& f : pool_.drain()) finish(f);
        log("{}: {} rendered, {} failed attempts, {} given up", consumer_, rendered_, failedAttempts_, deadLettered_);
        return 0;
    }

    template <typename... T>
    void log(fmt::format_string<T...> f, T&&... v) {
        if (!args_.quiet) fmt::print(stderr, "worker: {}\n", fmt::format(f, std::forward<T>(v)...));
    }

    // Claims stale jobs now and then, else reads new ones; starts what it got. True when any started.
    bool takeJobs(int blockMs) {
        std::vector<queue::QueueEntry> got;
        const double claimEvery = std::min(5.0, args_.claimAfterSeconds / 2.0);
        if (secondsSince(lastClaim_) >= claimEvery) {
            lastClaim_ = Clock::now();
            got = queue_.claimStale(consumer_, static_cast<long long>(args_.claimAfterSeconds * 1000.0), pool_.freeSlots());
            for (const auto& e : got) log("{}: claimed {} (attempt {})", consumer_, e.id, e.deliveries);
        }
        if (got.empty()) got = queue_.readNew(consumer_, pool_.freeSlots(), blockMs);
        bool started = false;
        for (const auto& e : got) started = start(e) || started;
        return started;
    }

    bool start(const queue::QueueEntry& e) {
        if (e.deliveries > queue::kMaxAttempts) {
            std::string error = queue_.lastError(e.id);
            if (error.empty()) error = fmt::format("its worker stopped while rendering it (killed, crashed or out of memory) {} times", queue::kMaxAttempts);
            giveUp(e, error);
            return false;
        }
        batch::JobSpec spec;
        std::string name;
        try {
            spec = batch::parseJobLine(e.job);
            name = batch::outputName(spec, e.id);
        } catch (const std::invalid_argument& ex) {
            giveUp(e, fmt::format("invalid job: {}", ex.what()));  // it would fail the same way every time
            return false;
        }
        const std::uint64_t tag = nextTag_++;
        inFlight_[tag] = {e, name};
        log("{}: start {} -> {}", consumer_, e.id, name);
        const fs::path dir = args_.outputDir;
        pool_.start(tag, [spec, dir, name] { return renderJobInto(spec, dir, name); });
        return true;
    }

    void finish(const batch::ProcessPool::Finished& f) {
        const auto it = inFlight_.find(f.tag);
        if (it == inFlight_.end()) return;
        const auto [entry, name] = it->second;
        inFlight_.erase(it);
        if (f.ok) {
            queue_.complete(entry.id, {{"status", "ok"}, {"output", name}, {"worker", consumer_}, {"attempts", std::to_string(entry.deliveries)},
                                       {"seconds", fmt::format("{:.3f}", f.seconds)}, {"outcome", f.text}});
            ++rendered_;
            log("{}: done {} -> {} in {:.2f} s", consumer_, entry.id, name, f.seconds);
            return;
        }
        ++failedAttempts_;
        const std::string error = music::clipText(f.text, 1500);
        if (entry.deliveries >= queue::kMaxAttempts) {
            giveUp(entry, error);
            return;
        }
        queue_.recordFailure(entry.id, error);
        log("{}: {} failed (attempt {} of {}): {}; it will be retried after {:g} s", consumer_, entry.id, entry.deliveries, queue::kMaxAttempts, error, args_.claimAfterSeconds);
    }

    void giveUp(const queue::QueueEntry& e, const std::string& error) {
        queue_.deadLetter(e, error, consumer_);
        ++deadLettered_;
        log("{}: gave up on {} after {} attempt(s): {}", consumer_, e.id, e.deliveries, error);
    }

    void keepAlive() {
        if (inFlight_.empty() || secondsSince(lastKeepAlive_) < args_.claimAfterSeconds / 3.0) return;
        lastKeepAlive_ = Clock::now();
        std::vector<std::string> ids;
        for (const auto& [tag, job] : inFlight_) ids.push_back(job.first.id);
        queue_.keepAlive(consumer_, ids);
    }

    const WorkerArgs& args_;
    queue::WorkQueue& queue_;
    batch::ProcessPool pool_;
    std::string consumer_;
    std::map<std::uint64_t, std::pair<queue::QueueEntry, std::string>> inFlight_;
    std::uint64_t nextTag_ = 1;
    Clock::time_point lastClaim_{}, lastKeepAlive_ = Clock::now();
    long rendered_ = 0, failedAttempts_ = 0, deadLettered_ = 0;
};
}  // namespace

int runWorker(const WorkerArgs& a) {
    const auto url = queue::parseRedisUrl(a.redisUrl);
    std::error_code ec;
    fs::create_directories(a.outputDir, ec);
    if (ec || !fs::is_directory(a.outputDir))
        throw std::invalid_argument(fmt::format("-o {}: cannot use it as the output folder: {}", a.outputDir, ec ? ec.message() : "not a folder"));
    preloadRenderData(true);  // before any fork: every job process shares it
    installStopHandler();
    queue::RedisConnection redis(url);
    queue::WorkQueue q(redis, queue::QueueNames::of(a.stream, a.group));
    Worker w(a, q);
    return w.run();
}

namespace {
// The job lines to submit: from the file (bounded as batch bounds it), --job texts and --prompt.
std::vector<std::pair<std::string, std::string>> jobsToSubmit(const SubmitArgs& s) {
    std::vector<std::pair<std::string, std::string>> jobs;  // (where, line)
    if (!s.jobsFile.empty()) {
        const std::string text = music::readTextFile(s.jobsFile, "the jobs file", batch::kMaxJobs * std::size_t{1024});
        std::size_t number = 0, start = 0;
        while (start < text.size()) {
            const std::size_t end = std::min(text.find('\n', start), text.size());
            ++number;
            const std::string line = text.substr(start, end - start);
            start = end + 1;
            const auto first = line.find_first_not_of(" \t\r");
            if (first == std::string::npos || line[first] == '#') continue;
            jobs.emplace_back(fmt::format("{} line {}", s.jobsFile, number), line);
        }
    }
    for (std::size_t i = 0; i < s.jobTexts.size(); ++i) jobs.emplace_back(fmt::format("--job {}", i + 1), s.jobTexts[i]);
    if (!s.prompt.empty()) {
        nlohmann::json j{{"prompt", s.prompt}};
        if (s.durationSeconds) j["duration"] = *s.durationSeconds;
        if (s.seed) j["seed"] = *s.seed;
        if (!s.output.empty()) j["output"] = s.output;
        jobs.emplace_back("--prompt", j.dump());
    }
    if (jobs.size() > batch::kMaxJobs)
        throw std::invalid_argument(fmt::format("{} jobs given; the limit is {} per submit", jobs.size(), batch::kMaxJobs));
    if (jobs.empty()) throw std::invalid_argument("no jobs: give JOBS.jsonl, --job JSON or --prompt TEXT");
    return jobs;
}

// Waits for a result for every id; prints each; true when all are ok.
bool waitForResults(queue::WorkQueue& q, std::string after, const std::map<std::string, std::string>& ids, double timeoutSeconds) {
    std::set<std::string> pending;
    for (const auto& [id, where] : ids) pending.insert(id);
    bool allOk = true;
    const auto t0 = Clock::now();
    while (!pending.empty()) {
        if (secondsSince(t0) > timeoutSeconds || gStop)
            throw std::runtime_error(fmt::format("{} of {} jobs had no result after {:g} s (are workers running on this stream?)", pending.size(),
                                                 ids.size(), timeoutSeconds));
        for (const auto& r : q.readResults(after, 500)) {
            after = r.streamId;
            const auto id = r.fields.count("id") ? r.fields.at("id") : "";
            if (!pending.erase(id)) continue;
            const bool ok = r.fields.count("status") && r.fields.at("status") == "ok";
            allOk = allOk && ok;
            if (ok)
                fmt::print("{}\tok\t{}\n", id, r.fields.count("output") ? r.fields.at("output") : "");
            else
                fmt::print("{}\tfailed\t{}\n", id, r.fields.count("error") ? r.fields.at("error") : "");
            std::fflush(stdout);
        }
    }
    return allOk;
}
}  // namespace

int runSubmit(const SubmitArgs& s) {
    const auto url = queue::parseRedisUrl(s.redisUrl);
    const auto jobs = jobsToSubmit(s);
    std::size_t bad = 0;
    for (const auto& [where, line] : jobs) {
        try {
            (void)batch::parseJobLine(line);
        } catch (const std::invalid_argument& e) {
            ++bad;
            fmt::print(stderr, "soundstar submit: {}: {}\n", where, e.what());
        }
    }
    if (bad > 0) throw std::invalid_argument(fmt::format("{} of {} jobs are invalid; nothing was submitted", bad, jobs.size()));
    installStopHandler();
    queue::RedisConnection redis(url);
    queue::WorkQueue q(redis, queue::QueueNames::of(s.stream, s.group));
    q.ensureGroup();  // so that no job is added before the group that must see it exists
    const std::string after = q.lastResultId();
    std::map<std::string, std::string> ids;
    for (const auto& [where, line] : jobs) {
        const auto id = q.submit(line);
        ids[id] = where;
        if (!s.wait) fmt::print("{}\t{}\n", id, where);
    }
    if (!s.quiet) fmt::print(stderr, "submitted {} job(s) to {} on {}\n", jobs.size(), s.stream, queue::describe(url));
    if (!s.wait) return 0;
    return waitForResults(q, after, ids, s.waitSeconds) ? 0 : 1;
}

}  // namespace soundstar::app

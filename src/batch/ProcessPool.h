#pragma once
// Runs jobs in child processes, a fixed number at a time [control; one thread owns a pool].
// Why processes rather than threads: the parent loads the interpreter, presets and profiles
// once and every fork shares them copy-on-write (no start-up per job); a job that crashes or
// runs out of memory takes only its own process down and is reported as that job's failure; and
// each render runs exactly the code `soundstar render` runs, alone in its process, so its bytes
// cannot depend on what runs beside it. Children die with the parent (PR_SET_PDEATHSIG).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace soundstar::batch {

class ProcessPool {
public:
    struct Options {
        int slots = 1;                // children at once, 1..256
        bool shieldChildren = false;  // children ignore SIGTERM and SIGINT (a worker finishes its jobs)
        std::size_t maxResultBytes = 64 * 1024;
    };
    /// A child that finished: `ok` and its result text, or the error (an exception's message, or
    /// how the process died).
    struct Finished {
        std::uint64_t tag = 0;
        bool ok = false;
        std::string text;
        double seconds = 0.0;  // wall time from fork to exit
    };

    explicit ProcessPool(Options o);
    ProcessPool(const ProcessPool&) = delete;
    ProcessPool& operator=(const ProcessPool&) = delete;
    /// Kills (SIGKILL) and reaps children still running: call drain() first to let them finish.
    ~ProcessPool();

    int running() const { return static_cast<int>(children_.size()); }
    int freeSlots() const { return options_.slots - running(); }
    /// Forks a child that runs `work` and sends back what it returns (or what it throws). Flushes
    /// stdio first. Throws std::runtime_error when no slot is free or fork fails.
    void start(std::uint64_t tag, const std::function<std::string()>& work);
    /// Waits up to `timeoutMs` (0: just look; -1: until one finishes) and returns the children that
    /// finished. Returns early (maybe empty) when a signal interrupts the wait.
    std::vector<Finished> wait(int timeoutMs);
    /// Waits for every child.
    std::vector<Finished> drain();

private:
    struct Child {
        std::uint64_t tag;
        pid_t pid;
        int fd;
        std::string data;
        std::chrono::steady_clock::time_point started;
    };
    Finished reap(Child& c);
    Options options_;
    std::vector<Child> children_;
};

}  // namespace soundstar::batch

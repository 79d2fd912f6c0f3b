#pragma once
// One model worker process and the supervisor's end of its socket [the thread that owns it].
// The worker's stdin and stdout are one end of a Unix socket pair (so a write to a dead worker
// is an error, not SIGPIPE); it dies with its parent (PR_SET_PDEATHSIG).
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/Frame.h"

namespace soundstar::models {

/// A worker that broke the protocol or stopped reading; the message says how.
struct WorkerFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// How a process ended, from its wait status ("was killed by signal 9 (Killed)").
std::string describeExit(int status);

class WorkerProcess {
public:
    using Clock = std::chrono::steady_clock;
    /// Starts `command` (argv; argv[0] a path) and waits until `until` for its hello frame.
    /// Throws std::runtime_error saying why it did not start.
    static std::unique_ptr<WorkerProcess> start(const std::vector<std::string>& command, Clock::time_point until);
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;
    /// Kills the process if it still runs.
    ~WorkerProcess();

    enum class Read { Frame, Timeout, Eof };
    /// Waits until `until` for the next frame. Throws WorkerFailure on a bad frame.
    Read next(Clock::time_point until, Frame& out);
    /// Sends a frame. Throws WorkerFailure when the worker no longer reads.
    void send(const Frame& f);
    /// Ends the process: end of its input and up to `graceSeconds` to exit, then SIGKILL.
    /// Returns how it ended.
    std::string stop(double graceSeconds);
    pid_t pid() const { return pid_; }

private:
    WorkerProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
    pid_t pid_;
    int fd_;
    int status_ = 0;
    bool reaped_ = false;
    FrameDecoder decoder_;
};

}  // namespace soundstar::models

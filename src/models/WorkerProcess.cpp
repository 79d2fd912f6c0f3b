#include "models/WorkerProcess.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "music/JsonText.h"

namespace soundstar::models {

std::string describeExit(int status) {
    if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    return "ended abnormally";
}

std::unique_ptr<WorkerProcess> WorkerProcess::start(const std::vector<std::string>& command, Clock::time_point until) {
    if (command.empty()) throw std::invalid_argument("the model service needs a worker command (e.g. soundstar model-worker)");
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error(fmt::format("cannot make a socket for a model worker: {}", std::strerror(errno)));
    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
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
    std::unique_ptr<WorkerProcess> w(new WorkerProcess(pid, fds[0]));
    const auto name = music::clipText(command[0], 300);
    Frame hello;
    Read r = Read::Eof;
    try {
        r = w->next(until, hello);
    } catch (const WorkerFailure& e) {
        w->stop(0.0);
        throw std::runtime_error(fmt::format("the model worker {} {}", name, e.what()));
    }
    if (r == Read::Frame && hello.type == FrameType::Hello && hello.header.value("protocol", 0) == kProtocolVersion) return w;
    const auto ended = w->stop(0.0);
    if (r == Read::Timeout) throw std::runtime_error(fmt::format("the model worker {} did not say hello in time (it was stopped)", name));
    if (r == Read::Frame)
        throw std::runtime_error(fmt::format("the model worker {} began with a {} frame, not hello with protocol {}", name, typeName(hello.type), kProtocolVersion));
    throw std::runtime_error(fmt::format("the model worker {} did not start: it {}{}", name, ended,
                                         ended == "exited with status 127" ? " (cannot run it)" : ""));
}

WorkerProcess::~WorkerProcess() { stop(0.0); }

WorkerProcess::Read WorkerProcess::next(Clock::time_point until, Frame& out) {
    for (;;) {
        try {
            if (auto f = decoder_.next()) {
                out = std::move(*f);
                return Read::Frame;
            }
        } catch (const std::invalid_argument& e) {
            throw WorkerFailure(fmt::format("sent a bad frame ({})", e.what()));
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0) return Read::Timeout;
        pollfd p{fd_, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (n < 0 && errno != EINTR) return Read::Eof;
        if (n <= 0) continue;
        char buf[65536];
        const ssize_t got = ::read(fd_, buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) return Read::Eof;
        try {
            decoder_.feed(buf, static_cast<std::size_t>(got));
        } catch (const std::invalid_argument& e) {
            throw WorkerFailure(fmt::format("sent a bad frame ({})", e.what()));
        }
    }
}

void WorkerProcess::send(const Frame& f) {
    const std::string bytes = encodeFrame(f);
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw WorkerFailure(fmt::format("stopped reading its requests ({})", std::strerror(errno)));
        done += static_cast<std::size_t>(n);
    }
}

std::string WorkerProcess::stop(double graceSeconds) {
    if (!reaped_) {
        if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
        const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(graceSeconds));
        for (;;) {
            if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
                reaped_ = true;
                break;
            }
            if (Clock::now() >= until) break;
            ::usleep(5000);
        }
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
            }
            reaped_ = true;
        }
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return describeExit(status_);
}

}  // namespace soundstar::models

#include "batch/ProcessPool.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace soundstar::batch {
namespace {
// The child's answer on its pipe: one status byte, then the text.
constexpr char kOk = 'O', kError = 'E';

void writeAll(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

[[noreturn]] void runChild(int fd, pid_t parent, bool shield, std::size_t maxBytes, const std::function<std::string()>& work) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(3);  // the parent died between fork and prctl
    std::signal(SIGTERM, shield ? SIG_IGN : SIG_DFL);
    std::signal(SIGINT, shield ? SIG_IGN : SIG_DFL);
    std::string answer;
    try {
        answer = kOk + work();
    } catch (const std::exception& e) {
        answer = kError + std::string(e.what());
    } catch (...) {
        answer = std::string(1, kError) + "unknown error";
    }
    if (answer.size() > maxBytes) answer.resize(maxBytes);
    writeAll(fd, answer);
    ::close(fd);
    std::fflush(nullptr);
    ::_exit(0);  // no atexit handlers or static destructors: they belong to the parent
}

std::string describeStatus(int status) {
    if (WIFSIGNALED(status))
        return fmt::format("its process was killed by signal {} ({}){}", WTERMSIG(status), strsignal(WTERMSIG(status)),
                           WTERMSIG(status) == SIGKILL ? ", perhaps for lack of memory" : "");
    if (WIFEXITED(status)) return fmt::format("its process exited with status {} without an answer", WEXITSTATUS(status));
    return "its process ended abnormally";
}
}  // namespace

ProcessPool::ProcessPool(Options o) : options_(o) {
    if (o.slots < 1 || o.slots > 256) throw std::invalid_argument(fmt::format("{} parallel jobs asked; allowed 1 to 256", o.slots));
}

ProcessPool::~ProcessPool() {
    for (auto& c : children_) {
        ::kill(c.pid, SIGKILL);
        ::close(c.fd);
        int status = 0;
        while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void ProcessPool::start(std::uint64_t tag, const std::function<std::string()>& work) {
    if (freeSlots() <= 0) throw std::runtime_error("no free slot for another job");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("cannot make a pipe for a job: {}", std::strerror(errno)));
    std::fflush(nullptr);  // or the child would print the parent's buffered output again
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw std::runtime_error(fmt::format("cannot start a process for a job: {}", std::strerror(errno)));
    }
    if (pid == 0) {
        ::close(fds[0]);
        runChild(fds[1], parent, options_.shieldChildren, options_.maxResultBytes, work);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    children_.push_back({tag, pid, fds[0], {}, std::chrono::steady_clock::now()});
}

ProcessPool::Finished ProcessPool::reap(Child& c) {
    ::close(c.fd);
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    Finished f;
    f.tag = c.tag;
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
    const bool answered = !c.data.empty() && (c.data[0] == kOk || c.data[0] == kError);
    if (answered && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        f.ok = c.data[0] == kOk;
        f.text = c.data.substr(1);
    } else {
        f.text = describeStatus(status);
    }
    return f;
}

std::vector<ProcessPool::Finished> ProcessPool::wait(int timeoutMs) {
    std::vector<Finished> done;
    if (children_.empty()) return done;
    std::vector<pollfd> polls;
    for (const auto& c : children_) polls.push_back({c.fd, POLLIN, 0});
    const int n = ::poll(polls.data(), polls.size(), timeoutMs);
    if (n <= 0) return done;  // timeout, or a signal (EINTR): the caller looks at its flags
    std::vector<bool> ended(children_.size(), false);
    for (std::size_t i = 0; i < polls.size(); ++i) {
        if (!(polls[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        for (;;) {
            const ssize_t got = ::read(children_[i].fd, buf, sizeof buf);
            if (got > 0) {
                if (children_[i].data.size() < options_.maxResultBytes) children_[i].data.append(buf, static_cast<std::size_t>(got));
                continue;
            }
            if (got < 0 && errno == EINTR) continue;
            if (got == 0 || (got < 0 && errno != EAGAIN)) ended[i] = true;  // end of file: the child is gone or going
            break;
        }
    }
    std::vector<Child> still;
    for (std::size_t i = 0; i < children_.size(); ++i) {
        if (ended[i])
            done.push_back(reap(children_[i]));
        else
            still.push_back(std::move(children_[i]));
    }
    children_ = std::move(still);
    return done;
}

std::vector<ProcessPool::Finished> ProcessPool::drain() {
    std::vector<Finished> all;
    while (!children_.empty()) {
        auto some = wait(-1);
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
    return all;
}

}  // namespace soundstar::batch

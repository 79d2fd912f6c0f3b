// Throughput of many renders, in renders per minute, measured with the CLI as a user runs it:
//   1. a shell loop of `soundstar render` (what one would do without batch: start-up every time),
//   2. `soundstar batch -j 1` and `-j N` (N = cores),
//   3. two `soundstar worker -j 1` against a redis-server started here on loopback, fed by
//      `soundstar submit --wait` (skipped when redis-server is not installed).
// Usage: bench_batch [JOBS=48] [SECONDS=1]. A report, not a test (issue #13).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

double timed(const std::string& cmd) {
    const auto t0 = Clock::now();
    const int rc = std::system(cmd.c_str());
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rc != 0) fmt::print(stderr, "bench_batch: '{}' failed ({})\n", cmd, rc);
    return s;
}

int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

void report(const char* what, int jobs, double seconds) {
    fmt::print("{:<44} {:>4} renders in {:6.2f} s  {:7.1f} renders/min\n", what, jobs, seconds, jobs * 60.0 / seconds);
}
}  // namespace

int main(int argc, char** argv) {
    const int jobs = argc > 1 ? std::atoi(argv[1]) : 48;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    char tmpl[] = "/tmp/bench-batch-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    {
        std::ofstream f(dir / "jobs.jsonl");
        for (int i = 0; i < jobs; ++i)
            f << fmt::format(R"({{"prompt":"rain on a tin roof {}","duration":{},"seed":{},"output":"j{}"}})", i, seconds, i + 1, i) << "\n";
        std::ofstream sh(dir / "loop.sh");
        for (int i = 0; i < jobs; ++i)
            sh << fmt::format("{} render 'rain on a tin roof {}' -d {} --seed {} -q -o {}/loop/j{}.wav || exit 1\n", kBin, i, seconds, i + 1, dir.string(), i);
    }
    fs::create_directories(dir / "loop");
    fmt::print("{} jobs of {:g} s each, {} cores\n", jobs, seconds, cores);
    report("render in a shell loop", jobs, timed("sh " + (dir / "loop.sh").string()));
    report("batch -j 1", jobs, timed(fmt::format("{} batch -q {}/jobs.jsonl -o {}/b1 -j 1 >/dev/null", kBin, dir.string(), dir.string())));
    report(fmt::format("batch -j {}", cores).c_str(), jobs,
           timed(fmt::format("{} batch -q {}/jobs.jsonl -o {}/bn -j {} >/dev/null", kBin, dir.string(), dir.string(), cores)));
    if (std::system("command -v redis-server >/dev/null") == 0) {
        const int port = freePort();
        const std::string url = fmt::format("redis://127.0.0.1:{}/0", port);
        std::system(fmt::format("redis-server --port {} --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile {}/redis.pid "
                                "--logfile {}/redis.log",
                                port, dir.string(), dir.string())
                        .c_str());
        for (int i = 0; i < 100 && std::system(fmt::format("redis-cli -p {} ping >/dev/null 2>&1", port).c_str()) != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (const char* name : {"w1", "w2"})
            std::system(fmt::format("{} worker -q --redis {} -j 1 --name {} -o {}/w --exit-when-idle 3 & ", kBin, url, name, dir.string()).c_str());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both workers loaded and waiting
        report("two workers -j 1 on one Redis (submit --wait)", jobs,
               timed(fmt::format("{} submit -q --redis {} {}/jobs.jsonl --wait >/dev/null", kBin, url, dir.string())));
        std::system(fmt::format("sleep 3.5; redis-cli -p {} shutdown nosave >/dev/null 2>&1", port).c_str());  // workers exit when idle first
    }
    fs::remove_all(dir);
    return 0;
}

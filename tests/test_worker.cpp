// `soundstar worker` and `soundstar submit` against a real redis-server that the test starts on a
// free loopback port (issue #13). Two workers take 100 short jobs, one is SIGKILLed in the middle
// of a render: every job must end exactly once in the output folder (complete files that sox
// reads, none missing, no extras), exactly once in the results stream, and nothing may stay
// pending; a job that fails every time lands in the dead-letter stream with its error after three
// attempts; an invalid job at once. SIGTERM lets a worker finish its job before it exits. The
// Redis state is read back with redis-cli, the files with soxi and sox.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "Cli.h"

using namespace soundstar::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
extern char** environ;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

int freeLoopbackPort() {
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

// A child process with its standard error in a file; killed (SIGKILL) if still running at the end.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::string& logFile) : log_(logFile) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    ~Process() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    void signal(int s) { ::kill(pid_, s); }
    /// The exit status, or -1 when it was still running after `seconds` (or died by a signal).
    int wait(double seconds) {
        const auto t0 = Clock::now();
        while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }
    std::string log() const { return readText(log_); }

private:
    pid_t pid_ = -1;
    bool exited_ = false;
    std::string log_;
};

// A redis-server of our own: free port, no persistence, gone with the test.
class RedisServer {
public:
    // A free port can be taken by another test between the probe and redis-server's bind: then
    // it tries another.
    explicit RedisServer(const TempDir& dir) {
        for (int attempt = 0; attempt < 3 && !up(); ++attempt) {
            port_ = freeLoopbackPort();
            server_ = std::make_unique<Process>(std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                                                         "--save", "", "--appendonly", "no", "--dir", dir / ""},
                                                dir / "redis.log");
            for (int i = 0; i < 100 && !up() && server_->wait(0.02) == -1; ++i) {
            }
        }
    }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
    /// redis-cli's raw answer to a command.
    std::string cli(const std::string& args) const { return runShell("redis-cli -p " + std::to_string(port_) + " --raw " + args + " 2>/dev/null").output; }
    bool up() const { return server_ && cli("PING") == "PONG\n"; }

private:
    int port_ = 0;
    std::unique_ptr<Process> server_;
};

// Entries of a stream as maps of their fields, read through Redis's own Lua cjson.
std::vector<std::map<std::string, std::string>> streamEntries(const RedisServer& r, const std::string& stream) {
    const auto text = r.cli("EVAL \"return cjson.encode(redis.call('XRANGE', KEYS[1], '-', '+'))\" 1 " + stream);
    std::vector<std::map<std::string, std::string>> out;
    const auto all = nlohmann::json::parse(text, nullptr, false);
    if (!all.is_array()) return out;
    for (const auto& e : all) {
        std::map<std::string, std::string> f;
        const auto& flat = e[1];
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) f[flat[i].get<std::string>()] = flat[i + 1].get<std::string>();
        out.push_back(f);
    }
    return out;
}

std::vector<std::string> visibleNames(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

bool waitFor(double seconds, const std::function<bool()>& done) {
    const auto t0 = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
}

std::vector<std::string> workerArgs(const RedisServer& r, const std::string& out, const std::string& name, int parallel) {
    return {kBin, "worker", "--redis", r.url(), "-o", out, "-j", std::to_string(parallel), "--claim-after", "1", "--name", name};
}
}  // namespace

TEST(Worker, TwoWorkersOneKilledMidJobEveryJobEndsExactlyOnce) {
    TempDir dir;
    RedisServer redis(dir);
    ASSERT_TRUE(redis.up()) << "needs Debian's redis-server (scripts/setup installs it)\n" << readText(dir / "redis.log");
    const std::string out = dir / "out";
    fs::create_directories(out + "/blocked.wav");  // the poison job's output is a folder: it fails on every attempt

    // Worker A alone first takes a long job (300 s of audio), so that the kill lands in a render.
    Process a(workerArgs(redis, out, "A", 2), dir / "a.log");
    std::ofstream(dir / "long.jsonl") << R"({"prompt":"long night drive","duration":300,"seed":9,"output":"long.wav"})" << "\n";
    ASSERT_EQ(runCommand(kBin + " submit -q --redis " + redis.url() + " " + quoted(dir / "long.jsonl")).code, 0);
    ASSERT_TRUE(waitFor(20, [&] { return a.log().find("start") != std::string::npos; })) << a.log();
    Process b(workerArgs(redis, out, "B", 1), dir / "b.log");
    {
        std::ofstream jobs(dir / "short.jsonl");
        for (int i = 1; i <= 100; ++i)
            jobs << R"({"prompt":"rain on a tin roof )" << i << R"(","duration":1,"seed":)" << i << R"(,"output":"short-)" << 1000 + i << "\"}\n";
        jobs << R"({"prompt":"poison","duration":1,"output":"blocked.wav"})" << "\n";
    }
    const auto t0 = Clock::now();
    const auto submitted = runCommand(kBin + " submit -q --redis " + redis.url() + " " + quoted(dir / "short.jsonl"));
    ASSERT_EQ(submitted.code, 0) << submitted.output;
    redis.cli("XADD soundstar:jobs '*' job 'not a job'");
    // Kill A once it has finished a few short jobs while the long one is still rendering.
    ASSERT_TRUE(waitFor(30, [&] {
        const auto log = a.log();
        std::size_t done = 0;
        for (std::size_t at = 0; (at = log.find(": done ", at)) != std::string::npos; ++at) ++done;
        return done >= 3 || log.find("-> long.wav in") != std::string::npos;
    })) << a.log();
    a.signal(SIGKILL);
    EXPECT_EQ(a.wait(5), -1) << "killed, not exited";
    const bool longWasInFlight = a.log().find("-> long.wav in") == std::string::npos;
    EXPECT_TRUE(longWasInFlight) << "the long render was still running when A was killed\n" << a.log();
    EXPECT_FALSE(fs::exists(out + "/long.wav")) << "its file was not in place yet";

    // B claims what A left, finishes everything, gives up on the poison job.
    ASSERT_TRUE(waitFor(90, [&] { return std::atoi(redis.cli("XLEN soundstar:jobs:results").c_str()) >= 103; }))
        << redis.cli("XLEN soundstar:jobs:results") << "\n" << b.log().substr(b.log().size() > 3000 ? b.log().size() - 3000 : 0);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    b.signal(SIGTERM);
    EXPECT_EQ(b.wait(30), 0) << b.log();

    // The folder: exactly the 101 expected files (and the poison job's folder), each complete.
    std::vector<std::string> expected{"blocked.wav", "long.wav"};
    for (int i = 1; i <= 100; ++i) expected.push_back("short-" + std::to_string(1000 + i) + ".wav");
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(visibleNames(out), expected);
    for (int i = 1; i <= 100; i += 1) {
        const std::string f = out + "/short-" + std::to_string(1000 + i) + ".wav";
        ASSERT_EQ(soxInfo(f).frames, 44100) << f;
    }
    EXPECT_EQ(soxInfo(out + "/long.wav").frames, 300 * 44100);
    EXPECT_TRUE(std::isfinite(soxStats(out + "/long.wav").rmsDb));
    EXPECT_GT(soxStats(out + "/short-1050.wav").rmsDb, -60.0);
    std::size_t partial = 0;
    for (const auto& e : fs::directory_iterator(out)) partial += e.path().filename().string().find(".part-") != std::string::npos;
    EXPECT_LE(partial, 2u) << "only the killed worker's unfinished temporary files (at most its -j 2) may remain";

    // Redis: one result per job, nothing pending, the poison job and the invalid one in the dead letters.
    const auto results = streamEntries(redis, "soundstar:jobs:results");
    std::map<std::string, int> okByOutput, failed;
    for (const auto& r : results) {
        if (r.count("status") && r.at("status") == "ok") ++okByOutput[r.at("output")];
        else ++failed[r.count("id") ? r.at("id") : "?"];
    }
    EXPECT_EQ(okByOutput.size(), 101u);
    for (const auto& [name, n] : okByOutput) EXPECT_EQ(n, 1) << name << " has " << n << " results";
    EXPECT_EQ(failed.size(), 2u);
    EXPECT_EQ(redis.cli("XPENDING soundstar:jobs soundstar-workers").substr(0, 2), "0\n") << "nothing left pending";
    EXPECT_EQ(redis.cli("XLEN soundstar:jobs"), "0\n") << "finished jobs are deleted from the stream";
    const auto dead = streamEntries(redis, "soundstar:jobs:dead");
    ASSERT_EQ(dead.size(), 2u);
    std::map<std::string, std::map<std::string, std::string>> deadByJob;
    for (const auto& d : dead) deadByJob[d.at("job")] = d;
    const auto& poison = deadByJob[R"({"prompt":"poison","duration":1,"output":"blocked.wav"})"];
    EXPECT_EQ(poison.count("attempts") ? poison.at("attempts") : "", "3");
    EXPECT_NE(poison.count("error") ? poison.at("error").find("blocked.wav is a folder") : std::string::npos, std::string::npos);
    const auto& invalid = deadByJob["not a job"];
    EXPECT_EQ(invalid.count("attempts") ? invalid.at("attempts") : "", "1") << "an invalid job is not retried";
    EXPECT_NE(invalid.count("error") ? invalid.at("error").find("invalid job: job: not valid JSON") : std::string::npos, std::string::npos);
    EXPECT_EQ(redis.cli("HLEN soundstar:jobs:errors"), "0\n");
    // A report, not an assertion: throughput while one of the two workers died.
    std::printf("[ figure ] 101 jobs (100 x 1 s, 1 x 300 s) with two workers, one killed mid-job: %.2f s, %.0f renders per minute\n", seconds,
                101 * 60.0 / seconds);
}

TEST(Worker, SigtermFinishesTheJobInProgressThenExits) {
    TempDir dir;
    RedisServer redis(dir);
    ASSERT_TRUE(redis.up()) << readText(dir / "redis.log");
    const std::string out = dir / "out";
    Process w(workerArgs(redis, out, "W", 1), dir / "w.log");
    const auto r = runCommand(kBin + " submit -q --redis " + redis.url() + " --prompt 'slow evening' -d 90 --seed 3 --name evening");
    ASSERT_EQ(r.code, 0) << r.output;
    ASSERT_TRUE(waitFor(20, [&] { return w.log().find("start") != std::string::npos; })) << w.log();
    w.signal(SIGTERM);
    EXPECT_EQ(w.wait(60), 0) << w.log();
    EXPECT_NE(w.log().find("stopping: finishing 1 job(s)"), std::string::npos) << w.log();
    EXPECT_EQ(soxInfo(out + "/evening.wav").frames, 90 * 44100) << "the job was finished, not abandoned";
    EXPECT_EQ(redis.cli("XPENDING soundstar:jobs soundstar-workers").substr(0, 2), "0\n") << "and acknowledged";
    // The very same bytes as `render` gives.
    ASSERT_EQ(runCommand(kBin + " render 'slow evening' -d 90 --seed 3 -q -o " + quoted(dir / "r.wav")).code, 0);
    EXPECT_EQ(runCommand("cmp " + quoted(dir / "r.wav") + " " + quoted(out + "/evening.wav")).code, 0);
}

TEST(Worker, SubmitWaitsForResultsAndRefusesBadJobsAndUrls) {
    TempDir dir;
    RedisServer redis(dir);
    ASSERT_TRUE(redis.up()) << readText(dir / "redis.log");
    Process w(workerArgs(redis, dir / "out", "W", 2), dir / "w.log");
    auto r = runCommandSplit(kBin + " submit -q --redis " + redis.url() + " --wait --timeout 60 --job '{\"prompt\":\"a\",\"duration\":1,\"output\":\"a\"}' "
                                    "--job '{\"prompt\":\"b\",\"duration\":1,\"output\":\"sub/b.flac\"}'");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\tok\ta\\.wav\n"))) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\tok\tsub/b\\.flac\n"))) << r.out;
    EXPECT_EQ(soxInfo(dir / "out/sub/b.flac").frames, 44100);
    // A bad job line: nothing is submitted, the message names the line and the field.
    std::ofstream(dir / "jobs.jsonl") << R"({"prompt":"ok","duration":1})" << "\n" << R"({"prompt":"x","duration":-1})" << "\n";
    const std::string before = redis.cli("XLEN soundstar:jobs:results");
    r = runCommandSplit(kBin + " submit --redis " + redis.url() + " " + quoted(dir / "jobs.jsonl"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("jobs.jsonl line 2: field 'duration' = -1 is invalid"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("1 of 2 jobs are invalid; nothing was submitted"), std::string::npos) << r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(redis.cli("XLEN soundstar:jobs:results"), before);
    for (const char* bad : {"http://127.0.0.1:6379", "redis://127.0.0.1:99999", "redis://127.0.0.1:6379/16", "redis://", "redis://a b"}) {
        r = runCommandSplit(kBin + " submit --redis '" + std::string(bad) + "' --prompt x");
        EXPECT_NE(r.code, 0) << bad;
        EXPECT_NE(r.err.find("is not a Redis URL"), std::string::npos) << bad << ": " << r.err;
    }
    // A server that is not there: a clear error, quickly.
    r = runCommandSplit(kBin + " submit --redis redis://127.0.0.1:1/0 --prompt x");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("cannot connect to Redis at redis://127.0.0.1:1/0"), std::string::npos) << r.err;
    w.signal(SIGTERM);
    EXPECT_EQ(w.wait(30), 0) << w.log();
}

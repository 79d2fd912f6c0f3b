#pragma once
// Test helpers for `soundstar serve`: start the real binary on loopback (port 0), and talk to it
// with independent clients: curl for HTTP, python3-websocket for the WebSocket, a UDP socket
// (our OSC codec) or liblo's oscsend for OSC.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "Cli.h"

namespace soundstar::test {

struct HttpResult {
    int status = 0;
    nlohmann::json body;
    std::string raw;
};

class ServeProcess {
public:
    /// Starts `soundstar serve ARGS` and waits for "listening on http://HOST:PORT".
    explicit ServeProcess(const std::string& args, const std::string& errFile) {
        int out[2];
        if (pipe(out) != 0) return;
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            close(out[0]);
            const int err = open(errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(err, 2);
            execl("/bin/sh", "sh", "-c", (std::string("exec ") + SOUNDSTAR_BIN + " serve " + args).c_str(), nullptr);
            _exit(127);
        }
        close(out[1]);
        out_ = fdopen(out[0], "r");
        char line[512];
        while (std::fgets(line, sizeof line, out_)) {
            const std::string l = line;
            if (l.rfind("listening on http://", 0) == 0) {
                listenedAt = std::chrono::steady_clock::now();
                base = l.substr(13, l.find_last_not_of("\r\n") - 12);
                port = std::stoi(base.substr(base.rfind(':') + 1));
                if (args.find("--osc-port") == std::string::npos) break;
            } else if (l.rfind("osc on udp://", 0) == 0) {
                oscPort = std::stoi(l.substr(l.rfind(':') + 1));
                break;
            }
        }
    }
    ~ServeProcess() {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (out_) std::fclose(out_);
    }
    /// Sends a signal and waits for the exit code (-1 after `seconds` without exiting).
    int signalAndWait(int sig, double seconds) {
        kill(pid_, sig);
        const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }
    bool up() const { return port > 0; }

    std::string base;  // http://127.0.0.1:PORT
    int port = 0, oscPort = -1;
    std::chrono::steady_clock::time_point listenedAt;

private:
    pid_t pid_ = -1;
    FILE* out_ = nullptr;
    bool exited_ = false;
};

/// One HTTP request through curl; `body` is sent as is (from a file, so any bytes go).
inline HttpResult curl(const std::string& method, const std::string& url, const std::string& body = "", const std::string& header = "") {
    TempDir dir;
    std::ofstream(dir / "body", std::ios::binary) << body;
    std::string cmd = "curl -s -o '" + (dir / "out") + "' -w '%{http_code}' -X " + method + " -H 'Content-Type: application/json'";
    if (!header.empty()) cmd += " -H '" + header + "'";
    if (method == "POST") cmd += " --data-binary @'" + (dir / "body") + "'";
    const auto r = runShell(cmd + " '" + url + "'");
    HttpResult h;
    h.status = std::atoi(r.output.c_str());
    h.raw = readText(dir / "out");
    h.body = nlohmann::json::parse(h.raw, nullptr, false);
    return h;
}

/// Sends each message over one WebSocket (python3-websocket) and returns the replies, in order.
inline std::vector<nlohmann::json> websocket(const std::string& url, const std::vector<nlohmann::json>& messages, const std::string& header = "") {
    TempDir dir;
    std::ofstream(dir / "in.json") << nlohmann::json(messages).dump();
    const std::string script =
        "import json,sys,websocket\n"
        "msgs=json.load(open(sys.argv[1]))\n"
        "h=[sys.argv[3]] if len(sys.argv)>3 and sys.argv[3] else []\n"
        "ws=websocket.create_connection(sys.argv[2],header=h,timeout=10)\n"
        "for m in msgs:\n"
        "    ws.send(json.dumps(m))\n"
        "for m in msgs:\n"
        "    print(ws.recv())\n"
        "ws.close()\n";
    std::ofstream(dir / "ws.py") << script;
    const auto r = runCommand("/usr/bin/python3 '" + (dir / "ws.py") + "' '" + (dir / "in.json") + "' '" + url + "' '" + header + "'");
    std::vector<nlohmann::json> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = r.output.find('\n', start)) != std::string::npos; start = nl + 1)
        out.push_back(nlohmann::json::parse(r.output.substr(start, nl - start), nullptr, false));
    if (r.code != 0) out.push_back(nlohmann::json{{"client_error", r.output}});
    return out;
}

/// A UDP socket on 127.0.0.1 for OSC requests and their replies.
class OscClient {
public:
    OscClient() {
        fd_ = socket(AF_INET, SOCK_DGRAM, 0);
        timeval tv{10, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~OscClient() { close(fd_); }
    void send(int port, const std::vector<std::uint8_t>& packet) const {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    std::vector<std::uint8_t> receive() const {
        std::vector<std::uint8_t> buf(65536);
        const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
        buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return buf;
    }

private:
    int fd_ = -1;
};

/// A test that starts its own `soundstar serve` on loopback (port 0, the null device, a data
/// folder in its temporary directory) and calls operations over REST with curl.
class ServerTest : public ::testing::Test {
protected:
    void startServer(const std::string& extra = "") {
        std::filesystem::create_directories(dir / "data");
        server = std::make_unique<ServeProcess>("--port 0 --device null --data '" + (dir / "data") + "' " + extra, dir / "err.txt");
        ASSERT_TRUE(server->up()) << readText(dir / "err.txt");
    }
    HttpResult post(const std::string& op, const nlohmann::json& args = nlohmann::json::object()) const {
        return curl("POST", server->base + "/v1/" + op, args.dump());
    }
    /// The result of an operation that must succeed.
    nlohmann::json ok(const std::string& op, const nlohmann::json& args = nlohmann::json::object()) const {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, 200) << op << ": " << r.raw;
        return r.body.value("result", nlohmann::json());
    }
    /// An operation that must be refused with `status` and a message holding `text`.
    void refused(const std::string& op, const nlohmann::json& args, int status, const std::string& text) const {
        const auto r = post(op, args);
        EXPECT_EQ(r.status, status) << op << ": " << r.raw;
        EXPECT_NE(r.body.value("error", std::string()).find(text), std::string::npos) << op << ": " << r.raw;
    }
    /// GET /v1/state without its clock (`now`), for exact comparisons.
    nlohmann::json state() const {
        nlohmann::json s = curl("GET", server->base + "/v1/state").body.value("result", nlohmann::json());
        s.erase("now");
        return s;
    }
    void waitForSample(long sample) const {
        while (ok("status")["sample"].get<long>() < sample) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    /// Left and right channels of a recording, read back by sox as raw floats.
    std::pair<std::vector<float>, std::vector<float>> channels(const std::string& wav) const {
        const auto raw = dir / "rec.f32";
        EXPECT_EQ(runCommand("sox '" + wav + "' -t f32 -e floating-point '" + raw + "'").code, 0);
        const std::string bytes = readText(raw);
        std::vector<float> l(bytes.size() / 8), r(l.size());
        for (std::size_t i = 0; i < l.size(); ++i) {
            std::memcpy(&l[i], bytes.data() + 8 * i, 4);
            std::memcpy(&r[i], bytes.data() + 8 * i + 4, 4);
        }
        return {l, r};
    }
    TempDir dir;
    std::unique_ptr<ServeProcess> server;
};

}  // namespace soundstar::test

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

#include <chrono>
#include <fstream>
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

}  // namespace soundstar::test

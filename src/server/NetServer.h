#pragma once
// The network side of `soundstar serve`: HTTP/1.1, WebSocket and OSC over UDP on one thread
// (Boost.Beast and Asio, whose headers stay in NetServer.cpp). It knows no operations: it hands
// requests, WebSocket messages and OSC packets to the handlers and sends back what they answer,
// now or later. Every handler runs on the thread that called run(), which is therefore the
// server's control thread; `tick` runs there too, every tickMicros.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace soundstar::server {

struct HttpRequest {
    std::string method, target, body, authorization;
    std::string ifNoneMatch;  // the If-None-Match header (a cached copy's ETag), for 304 answers
};
struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // more headers (caching, content policy)
};
using Respond = std::function<void(HttpResponse)>;
/// Sends a text frame to one WebSocket client, now or later; does nothing once it has gone.
using WsSend = std::function<void(std::string)>;
using OscReply = std::function<void(std::vector<std::uint8_t>)>;

struct NetHandlers {
    std::function<void(const HttpRequest&, Respond)> http;
    /// A WebSocket upgrade (its target and Authorization header): 0 accepts, else the HTTP status to refuse with.
    std::function<int(const HttpRequest&)> upgrade;
    /// A text message from a WebSocket client; `send` answers in text frames, `sendBinary` in binary ones.
    std::function<void(std::uint64_t client, const std::string& text, WsSend send, WsSend sendBinary)> wsMessage;
    std::function<void(std::uint64_t client)> wsClosed;
    std::function<void(const std::vector<std::uint8_t>& packet, OscReply reply)> osc;
    std::function<void()> tick;
};

struct NetOptions {
    std::string host = "127.0.0.1";
    int port = 7860;     // 0: any free port (port() tells which)
    int oscPort = -1;    // -1: no OSC; 0: any free port
    std::size_t maxBodyBytes = 1 << 20;
    int maxConnections = 256;  // HTTP and WebSocket together (an audience of 200 meter subscribers fits)
    int tickMicros = 2000;
};

class NetServer {
public:
    /// Binds the ports; throws std::runtime_error naming the address when it cannot.
    NetServer(const NetOptions& options, NetHandlers handlers);
    ~NetServer();
    int port() const;
    int oscPort() const;
    /// Serves until stop() or SIGINT/SIGTERM [control].
    void run();
    /// Makes run() return [any].
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// True for 127.0.0.0/8 and ::1 ("localhost" counts). Throws std::invalid_argument when `host`
/// is not an IP address (or "localhost").
bool isLoopbackHost(const std::string& host);

}  // namespace soundstar::server

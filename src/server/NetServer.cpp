// The only file that includes Boost.Beast and Asio (they are slow to compile on two cores).
#include "server/NetServer.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20 mode).
#include <optional>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <stdexcept>

namespace soundstar::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxQueuedFrames = 1024;  // per WebSocket client; a client that reads slower is dropped

asio::ip::address parseHost(const std::string& host) {
    if (host == "localhost") return asio::ip::make_address("127.0.0.1");
    beast::error_code ec;
    auto a = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument(fmt::format("--host '{}' is not an IP address; allowed an IPv4 or IPv6 address, or localhost", host.substr(0, 80)));
    return a;
}

std::string jsonError(int status, const std::string& message) {
    std::string escaped;
    for (char c : message) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
    }
    return fmt::format(R"({{"error":"{}","status":{}}})", escaped, status);
}

// Counts open connections; a slot is held by an HTTP session and then by its WebSocket.
struct Slots {
    int open = 0;
};
class SlotGuard {
public:
    explicit SlotGuard(std::shared_ptr<Slots> s) : slots_(std::move(s)) { ++slots_->open; }
    ~SlotGuard() { --slots_->open; }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;

private:
    std::shared_ptr<Slots> slots_;
};

struct Shared {
    NetOptions options;
    NetHandlers handlers;
    std::shared_ptr<Slots> slots = std::make_shared<Slots>();
    std::uint64_t nextClient = 1;
};

class WsSession : public std::enable_shared_from_this<WsSession> {
public:
    WsSession(tcp::socket socket, Shared& shared, std::unique_ptr<SlotGuard> slot)
        : ws_(std::move(socket)), shared_(shared), slot_(std::move(slot)), client_(shared.nextClient++) {}
    ~WsSession() {
        if (shared_.handlers.wsClosed) shared_.handlers.wsClosed(client_);
    }
    void accept(http::request<http::string_body> req) {
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.read_message_max(shared_.options.maxBodyBytes);
        ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->read();
        });
    }
    void send(std::string text, bool binary = false) {
        if (closed_) return;
        if (queue_.size() >= kMaxQueuedFrames) {  // the client does not read: let it go
            closed_ = true;
            beast::get_lowest_layer(ws_).close();
            return;
        }
        queue_.push_back({std::move(text), binary});
        if (queue_.size() == 1) write();
    }

private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->closed_ = true;
                return;
            }
            std::string text = beast::buffers_to_string(self->buffer_.data());
            self->buffer_.consume(self->buffer_.size());
            std::weak_ptr<WsSession> weak = self;
            self->shared_.handlers.wsMessage(
                self->client_, text,
                [weak](std::string reply) {
                    if (auto s = weak.lock()) s->send(std::move(reply));
                },
                [weak](std::string bytes) {
                    if (auto s = weak.lock()) s->send(std::move(bytes), true);
                });
            self->read();
        });
    }
    void write() {
        ws_.binary(queue_.front().second);
        ws_.async_write(asio::buffer(queue_.front().first), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->closed_ = true;
                return;
            }
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->write();
        });
    }
    websocket::stream<beast::tcp_stream> ws_;
    Shared& shared_;
    std::unique_ptr<SlotGuard> slot_;
    std::uint64_t client_;
    beast::flat_buffer buffer_;
    std::deque<std::pair<std::string, bool>> queue_;  // (payload, binary)
    bool closed_ = false;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {}
    void start(std::unique_ptr<SlotGuard> slot) {
        slot_ = std::move(slot);
        read();
    }
    /// Answers and closes (used for refusals before any request is read).
    void refuse(int status, const std::string& message) {
        keepAlive_ = false;
        write(HttpResponse{status, "application/json", jsonError(status, message), {}});
    }

private:
    void read() {
        parser_.emplace();
        parser_->body_limit(shared_.options.maxBodyBytes);
        parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
        stream_.expires_after(std::chrono::seconds(60));
        // The header first: a client that sent "Expect: 100-continue" (curl, for bodies over 1 KiB)
        // waits for the go-ahead, and a body over the limit is refused before it is sent.
        http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->onRead(ec);
            if (beast::iequals(self->parser_->get()[http::field::expect], "100-continue")) {
                http::response<http::empty_body> go{http::status::continue_, 11};
                beast::error_code wec;
                http::write(self->stream_, go, wec);  // a few bytes on a fresh connection's socket
                if (wec) return self->close();
            }
            http::async_read(self->stream_, self->buffer_, *self->parser_, [self](beast::error_code e, std::size_t) { self->onRead(e); });
        });
    }
    void onRead(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout) return close();
        if (ec == http::error::body_limit)
            return refuse(413, fmt::format("the request body is over the limit of {} bytes", shared_.options.maxBodyBytes));
        if (ec == http::error::header_limit)
            return refuse(431, fmt::format("the request headers are over the limit of {} bytes", kMaxHeaderBytes));
        if (ec) return refuse(400, fmt::format("malformed HTTP request: {}", ec.message()));
        auto req = parser_->release();
        HttpRequest r{std::string(req.method_string()), std::string(req.target()), req.body(), std::string(req[http::field::authorization]),
                      std::string(req[http::field::if_none_match])};
        if (websocket::is_upgrade(req)) {
            const int status = shared_.handlers.upgrade(r);
            if (status != 0) return refuse(status, status == 401 ? "a WebSocket needs the API key (Authorization: Bearer KEY)" : "WebSocket only at /v1/ws");
            stream_.expires_never();
            auto ws = std::make_shared<WsSession>(stream_.release_socket(), shared_, std::move(slot_));
            ws->accept(std::move(req));
            return;
        }
        keepAlive_ = req.keep_alive();
        // The answer may come later (sync): the callback keeps the session open until then.
        shared_.handlers.http(r, [self = shared_from_this()](HttpResponse resp) { self->write(std::move(resp)); });
    }
    void write(HttpResponse r) {
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
        res->set(http::field::server, "soundstar");
        res->set(http::field::content_type, r.contentType);
        for (const auto& [name, value] : r.headers) res->set(name, value);
        res->keep_alive(keepAlive_);
        res->body() = std::move(r.body);
        res->prepare_payload();
        stream_.expires_after(std::chrono::seconds(30));  // a late answer (sync) gets its own time to be written
        http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
            if (ec || !self->keepAlive_) return self->close();
            self->read();
        });
    }
    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    beast::tcp_stream stream_;
    Shared& shared_;
    std::unique_ptr<SlotGuard> slot_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    bool keepAlive_ = true;
};

}  // namespace

struct NetServer::Impl {
    asio::io_context ioc{1};
    Shared shared;
    tcp::acceptor acceptor{ioc};
    std::optional<udp::socket> osc;
    udp::endpoint oscFrom;
    std::vector<std::uint8_t> oscBuffer = std::vector<std::uint8_t>(65536);
    asio::steady_timer timer{ioc};
    asio::signal_set signals{ioc, SIGINT, SIGTERM};

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;
            auto session = std::make_shared<HttpSession>(std::move(socket), shared);
            if (shared.slots->open >= shared.options.maxConnections)
                session->refuse(503, fmt::format("too many connections: at most {} at once", shared.options.maxConnections));
            else
                session->start(std::make_unique<SlotGuard>(shared.slots));
            accept();
        });
    }
    void receiveOsc() {
        osc->async_receive_from(asio::buffer(oscBuffer), oscFrom, [this](beast::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                const std::vector<std::uint8_t> packet(oscBuffer.begin(), oscBuffer.begin() + static_cast<std::ptrdiff_t>(n));
                const udp::endpoint to = oscFrom;
                shared.handlers.osc(packet, [this, to](std::vector<std::uint8_t> reply) {
                    auto data = std::make_shared<std::vector<std::uint8_t>>(std::move(reply));
                    osc->async_send_to(asio::buffer(*data), to, [data](beast::error_code, std::size_t) {});
                });
            }
            receiveOsc();
        });
    }
    void tick() {
        timer.expires_after(std::chrono::microseconds(shared.options.tickMicros));
        timer.async_wait([this](beast::error_code ec) {
            if (ec) return;
            if (shared.handlers.tick) shared.handlers.tick();
            tick();
        });
    }
};

NetServer::NetServer(const NetOptions& options, NetHandlers handlers) : impl_(std::make_unique<Impl>()) {
    impl_->shared.options = options;
    impl_->shared.handlers = std::move(handlers);
    const auto address = parseHost(options.host);
    const tcp::endpoint at(address, static_cast<unsigned short>(options.port));
    beast::error_code ec;
    impl_->acceptor.open(at.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(at, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
    if (options.oscPort >= 0) {
        impl_->osc.emplace(impl_->ioc);
        const udp::endpoint oscAt(address, static_cast<unsigned short>(options.oscPort));
        impl_->osc->open(oscAt.protocol(), ec);
        if (!ec) impl_->osc->bind(oscAt, ec);
        if (ec) throw std::runtime_error(fmt::format("cannot receive OSC on {}:{} (UDP): {}", options.host, options.oscPort, ec.message()));
    }
}

NetServer::~NetServer() = default;

int NetServer::port() const { return impl_->acceptor.local_endpoint().port(); }
int NetServer::oscPort() const { return impl_->osc ? impl_->osc->local_endpoint().port() : -1; }

void NetServer::run() {
    impl_->accept();
    if (impl_->osc) impl_->receiveOsc();
    impl_->tick();
    impl_->signals.async_wait([this](beast::error_code ec, int) {
        if (!ec) impl_->ioc.stop();
    });
    impl_->ioc.run();
}

void NetServer::stop() { impl_->ioc.stop(); }

bool isLoopbackHost(const std::string& host) { return parseHost(host).is_loopback(); }

}  // namespace soundstar::server

// Soundstar's http module (libsoundstar_http.so): the only translation unit that includes
// cpp-httplib. One exchange per call, ended by its deadline (a watchdog stops the client).
#include "llm/HttpModule.h"

#include <httplib.h>

#include <future>
#include <memory>

using namespace soundstar::llm::http;

extern "C" __attribute__((visibility("default"))) void soundstar_http_send(const Request* request, Response* response) {
    const Request& r = *request;
    Response& out = *response;
    try {
        auto cli = std::make_shared<httplib::Client>(r.host);
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(r.deadline - std::chrono::steady_clock::now());
        const auto us = std::max<long long>(left.count(), 0) + 1;
        cli->set_connection_timeout(us / 1000000, static_cast<long>(us % 1000000));
        cli->set_read_timeout(us / 1000000, static_cast<long>(us % 1000000));
        cli->set_write_timeout(us / 1000000, static_cast<long>(us % 1000000));
        // The body is received piece by piece and refused past maxBody, so a server that streams
        // gigabytes costs at most that much memory before the client gives up.
        auto received = std::make_shared<std::string>();
        auto tooLarge = std::make_shared<bool>(false);
        httplib::Request req;
        req.method = r.method;
        req.path = r.path;
        for (const auto& [name, value] : r.headers) req.headers.emplace(name, value);
        if (r.method != "GET") {
            req.body = r.body;
            req.set_header("Content-Type", "application/json");
        }
        const std::size_t limit = r.maxBody;
        req.content_receiver = [received, tooLarge, limit](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
            if (received->size() + n > limit) return !(*tooLarge = true);
            received->append(data, n);
            return true;
        };
        auto future = std::async(std::launch::async, [cli, req] { return cli->send(req); });
        bool watchdog = false;
        if (future.wait_until(r.deadline) == std::future_status::timeout) {
            watchdog = true;
            cli->stop();  // unblocks a read or write in progress
        }
        httplib::Result res = future.get();
        if (*tooLarge) {
            out.failure = Failure::TooLarge;
        } else if (!res) {
            const auto err = res.error();
            out.error = httplib::to_string(err);
            out.failure = watchdog || err == httplib::Error::ConnectionTimeout || err == httplib::Error::Canceled ? Failure::Timeout
                          : err == httplib::Error::Connection                                                      ? Failure::Connection
                                                                                                                   : Failure::Dropped;
        } else {
            out.status = res->status;
            out.body = std::move(*received);
        }
    } catch (const std::exception& e) {
        out.failure = Failure::Dropped;
        out.error = e.what();
    } catch (...) {  // nothing crosses the module's edge
        out.failure = Failure::Dropped;
        out.error = "an unknown error in the HTTP client";
    }
}

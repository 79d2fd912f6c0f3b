#pragma once
// One HTTP exchange, as the LLM client asks it of Soundstar's http module (libsoundstar_http.so,
// src/llm/HttpModule.cpp): cpp-httplib and the OpenSSL it links live there, opened by the first
// call (core/Module.h), so commands that never talk to an LLM do not load them (ADR 0004).
// Both sides are built together from this header.
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace soundstar::llm::http {

struct Request {
    std::string host;  // scheme://host[:port]
    std::string method, path, body;  // a body other than for GET is sent as application/json
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::steady_clock::time_point deadline;  // a watchdog aborts the exchange then
    std::size_t maxBody = 0;  // a longer answer is stopped and reported (Failure::TooLarge)
};

enum class Failure { None, Connection, Timeout, Dropped, TooLarge };

struct Response {
    Failure failure = Failure::None;
    std::string error;  // the library's words for a failure
    int status = 0;
    std::string body;
};

/// The module's one function: `soundstar_http_send(const Request*, Response*)`; never throws.
using SendFn = void (*)(const Request*, Response*);
inline constexpr const char* kSendSymbol = "soundstar_http_send";

}  // namespace soundstar::llm::http

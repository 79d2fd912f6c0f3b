#pragma once
// `soundstar serve`'s front door [control]: turns HTTP requests, WebSocket messages and OSC
// packets into calls on the operation table, checks the API key, and serves the generated
// /openapi.json and /v1/tools. Routes:
//   GET  /v1/health                 {"ok": true, ...} (no key needed)
//   GET  /openapi.json              the OpenAPI 3.1 document (no key needed)
//   GET  /v1/tools                  OpenAI function-calling tool definitions
//   GET  /v1/files/<path>           a file under --data (a render, a recording)
//   POST /v1/<op>                   args as the JSON body -> {"result": ...} | {"error", "status"}
//   GET  /v1/<op>                   the same, for operations that change nothing and need no args
//   WS   /v1/ws                     {"id", "op", "args"} -> {"id", "result"} | {"id", "error", "status"}
//   OSC  /soundstar/<op> args...    -> /soundstar/reply ,ss <op> <{"result"...}|{"error"...}>
#include <string>

#include "server/NetServer.h"
#include "server/Operations.h"

namespace soundstar::server {

/// Constant-time check of an Authorization header against "Bearer <key>".
bool bearerMatches(const std::string& header, const std::string& key);

class Server {
public:
    /// `apiKey` empty: no key asked (loopback only; the caller refuses other binds).
    Server(const OperationTable& table, std::string apiKey, std::string version);
    /// The handlers for NetServer; `tick` is passed through.
    NetHandlers handlers(std::function<void()> tick);

    void http(const HttpRequest& req, Respond respond) const;
    void websocket(std::uint64_t client, const std::string& text, const WsSend& send, const WsSend& sendBinary = {}) const;
    /// Answers GET /v1/files/<path> (a file under --data), after the key check.
    std::function<HttpResponse(const std::string& path)> files;
    /// Called when a WebSocket client has gone (its subscriptions end).
    std::function<void(std::uint64_t client)> onClientGone;
    void osc(const std::vector<std::uint8_t>& packet, const OscReply& reply) const;

private:
    const OperationTable& table_;
    std::string apiKey_, version_;
};

}  // namespace soundstar::server

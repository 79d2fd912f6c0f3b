#pragma once
// The operation table: every server operation is one row (name, summary, JSON Schema for its
// input, OSC argument order, handler). REST routes (POST /v1/<name>), WebSocket messages
// ({id, op, args}), OSC addresses (/soundstar/<name>), /openapi.json and the LLM tool list
// (/v1/tools) are all generated from it, so they cannot disagree [control: one thread].
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/Osc.h"

namespace soundstar::server {

/// An error for a client: an HTTP status (4xx for the client's mistakes) and a message that says
/// what was wrong and what is allowed.
class ApiError : public std::runtime_error {
public:
    ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

/// What an operation answered: a result, or an error with its status.
struct Outcome {
    int status = 200;
    nlohmann::json result;
    std::string error;
    bool ok() const { return status < 400; }
    /// {"result": ...} or {"error": "...", "status": N}: the same body on every transport.
    nlohmann::json toJson() const;
};

/// Where a call came from, and when it asked to apply (an OSC bundle's timetag and anchor).
struct CallContext {
    std::string transport;  // "rest", "ws", "osc"
    std::optional<osc::TimeTag> timetag, anchor;
    std::uint64_t client = 0;                // a WebSocket client (0 otherwise)
    std::function<void(std::string)> push;   // sends that client a message later (subscriptions)
    std::function<void(std::string)> pushBinary;  // the same, as a binary frame (audio)
};

using Done = std::function<void(Outcome)>;
/// A handler gets validated args; it calls `done` exactly once, now or later (sync waits), or
/// throws ApiError / std::invalid_argument (400).
using Handler = std::function<void(const nlohmann::json& args, const CallContext& ctx, Done done)>;

struct Operation {
    std::string name;     // snake_case, also the REST path and OSC address
    std::string group;    // "engine", "synthesis", "mixer", "live", "renders", "timing"
    std::string summary;  // one line, for OpenAPI and the tool description
    nlohmann::json input; // JSON Schema (type object) of the args
    std::vector<std::string> oscArgs;  // OSC positional arguments, in order (names in `input`)
    bool changesState = false;         // documented as a POST that changes the engine
    Handler handler;
};

class OperationTable {
public:
    /// Adds a row; throws std::logic_error on a duplicate name or a bad schema (a programming error).
    void add(Operation op);
    const Operation* find(const std::string& name) const;
    /// Replaces a row's handler with wrap(its handler), e.g. to record an undo history; throws
    /// std::logic_error for an unknown name [control, while the table is built].
    void wrapHandler(const std::string& name, const std::function<Handler(Handler)>& wrap);
    const std::vector<Operation>& all() const { return ops_; }

    /// Validates `args` against the row's schema, then runs its handler; every failure (unknown
    /// op, bad args, a handler's error, an unexpected exception) becomes an Outcome with a 4xx
    /// or 500 status and a bounded message. `done` is called exactly once.
    void call(const std::string& name, const nlohmann::json& args, const CallContext& ctx, Done done) const;

    /// The OpenAPI 3.1 document: POST /v1/<op> for each row, plus the fixed GET routes.
    nlohmann::json openApi(const std::string& version) const;
    /// OpenAI function-calling tool definitions, one per row.
    nlohmann::json tools() const;
    /// Args for `op` from OSC arguments: one string holding a JSON object, or positional
    /// arguments in the row's oscArgs order. Throws std::invalid_argument.
    nlohmann::json argsFromOsc(const Operation& op, const std::vector<osc::Arg>& args) const;

private:
    std::vector<Operation> ops_;
    std::map<std::string, std::size_t> index_;
};

/// JSON text for the wire: invalid UTF-8 (an OSC string, bytes echoed in an error) becomes U+FFFD
/// instead of an exception.
inline std::string wireText(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

/// Largest JSON request body (REST and WebSocket) in bytes.
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;

}  // namespace soundstar::server

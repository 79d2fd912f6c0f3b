#pragma once
// What an LLM answered the assistant, as operation calls [pure; any thread]. The answer is the
// app's askLlm object: {"tool_calls": [{"name", "arguments": JSON text}]} (OpenAI function
// calling) or, without tool calls, {"content": a JSON answer {"say", "calls": [{"op", "args"}]}}.
#include <nlohmann/json.hpp>
#include <string>

namespace soundstar::server {

struct AssistantCalls {
    std::string format;  // "tools", "json", or empty: the answer holds neither tool calls nor a list of calls
    std::string said;    // the message's text (tools) or its "say" (json), at most 400 bytes
    nlohmann::json calls = nlohmann::json::array();    // [{"op", "args": an object}], to validate and run
    nlohmann::json refused = nlohmann::json::array();  // [{"op", "args", "error", "status": 400}]: arguments that are not a JSON object
};

/// Reads the calls out of an answer; never throws. A tool call's arguments must be JSON text (at
/// most 1 MiB, 64 levels) holding an object, else it is refused with the reason.
AssistantCalls callsFromAnswer(const nlohmann::json& answer);

}  // namespace soundstar::server

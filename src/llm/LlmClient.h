#pragma once
// A client for any OpenAI-compatible chat-completions endpoint (LM Studio, llama.cpp's
// llama-server, Ollama, ...). Every call ends by the settings' timeout, retries included: a
// watchdog aborts the connection when the time is up. Failures are LlmError with a kind and a
// message that names the endpoint and what happened (never the API key).
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/LlmSettings.h"

namespace soundstar::llm {

/// The largest answer body the client reads; a larger one is cut off and reported (Kind::TooLarge).
inline constexpr std::size_t kMaxAnswerBytes = std::size_t{4} << 20;

class LlmError : public std::runtime_error {
public:
    enum class Kind { Down, Timeout, Dropped, Http, Garbage, TooLarge };
    LlmError(Kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
    Kind kind;
};

struct ChatRequest {
    std::string system;
    std::string user;
    std::string schemaJson;  // a JSON Schema: asked for with response_format json_schema ("" = plain text)
    std::string schemaName = "answer";
    int maxTokens = 2048;
    double temperature = 0.2;
    std::optional<std::uint64_t> seed;
};

/// A function call an assistant message asked for (OpenAI `tool_calls`): the tool's name and its
/// arguments as the JSON text the model wrote (not yet parsed or checked).
struct ToolCall {
    std::string name, arguments;
};
/// An assistant message: its text (may be empty) and its tool calls (may be none).
struct ChatAnswer {
    std::string content;
    std::vector<ToolCall> toolCalls;
};
/// The most tool calls read from one answer; later ones are dropped.
inline constexpr std::size_t kMaxToolCalls = 64;

/// A chat-completion body (OpenAI shape) as a ChatAnswer: the message's text (invalid UTF-8
/// replaced) and at most kMaxToolCalls tool calls. Throws LlmError (Garbage) naming `where` when
/// it is not one [any thread; pure].
ChatAnswer parseChatAnswer(const std::string& body, const std::string& where);
/// An answer as the server's assistant takes it: {"content": its text (a JSON answer found in it,
/// when it calls no tools), "tool_calls": [{"name", "arguments"}]} [pure].
nlohmann::json toolAnswerJson(const ChatAnswer& answer);

class LlmClient {
public:
    explicit LlmClient(LlmSettings settings);

    using Deadline = std::chrono::steady_clock::time_point;
    /// A deadline the settings' timeout from now.
    Deadline deadline() const;
    /// The assistant message's content. Throws LlmError. Ends by `deadline` (default: the timeout from now).
    std::string chat(const ChatRequest& request, std::optional<Deadline> deadline = std::nullopt);
    /// chat() with OpenAI function calling: `toolsJson` (a JSON array of {"type": "function",
    /// "function": {name, description, parameters}}) goes in the request as `tools` (tool_choice
    /// auto, no response_format); the answer's text and tool calls come back. Throws LlmError
    /// (Http when the endpoint refuses tools, as llama-server without --jinja does).
    ChatAnswer chatWithTools(const ChatRequest& request, const std::string& toolsJson, std::optional<Deadline> deadline = std::nullopt);
    /// The model ids the endpoint lists (GET /models). Throws LlmError.
    std::vector<std::string> models(std::optional<Deadline> deadline = std::nullopt);
    /// The model chat() uses: the settings' model, else the first listed.
    std::string model(std::optional<Deadline> deadline = std::nullopt);
    const LlmSettings& settings() const { return settings_; }

private:
    std::string call(const std::string& method, const std::string& path, const std::string& body,
                     std::chrono::steady_clock::time_point deadline);
    LlmSettings settings_;
    std::string hostPart_, pathPrefix_;
    std::string resolvedModel_;
};

}  // namespace soundstar::llm

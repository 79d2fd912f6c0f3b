// The HTTP exchanges themselves are in Soundstar's http module (llm/HttpModule.h), which holds
// cpp-httplib and is opened by the first call.
#include "llm/LlmClient.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/Module.h"
#include "llm/HttpModule.h"

#include "llm/Repair.h"
#include "music/JsonText.h"

namespace soundstar::llm {
namespace {

using Clock = std::chrono::steady_clock;

std::string excerpt(const std::string& s, std::size_t n = 120) {
    std::string out;
    for (char c : s.substr(0, n)) out += (c >= 32 && c < 127) ? c : '?';
    return s.size() > n ? out + "..." : out;
}

double secondsLeft(Clock::time_point deadline) {
    return std::chrono::duration<double>(deadline - Clock::now()).count();
}

}  // namespace

LlmClient::LlmClient(LlmSettings settings) : settings_(std::move(settings)) {
    const auto& url = settings_.baseUrl;
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) throw std::invalid_argument(fmt::format("'{}' is not an http:// or https:// URL", url));
    const auto slash = url.find('/', scheme + 3);
    hostPart_ = url.substr(0, slash);
    pathPrefix_ = slash == std::string::npos ? "" : url.substr(slash);
}

std::string LlmClient::call(const std::string& method, const std::string& path, const std::string& body,
                            Clock::time_point deadline) {
    const std::string where = fmt::format("{} {}{}", method, settings_.baseUrl, path);
    std::string lastError;
    for (int attempt = 0;; ++attempt) {
        const double left = secondsLeft(deadline);
        if (left <= 0.0)
            throw LlmError(LlmError::Kind::Timeout, fmt::format("{}: no answer within the {} s timeout{}", where, settings_.timeoutSeconds,
                                                                lastError.empty() ? "" : " (" + lastError + ")"));
        http::SendFn send = nullptr;
        try {
            static const auto fn = core::moduleFunction<http::SendFn>("http", http::kSendSymbol);
            send = fn;
        } catch (const std::runtime_error& e) {  // a missing module is an LLM that cannot be reached
            throw LlmError(LlmError::Kind::Down, fmt::format("{}: {}", where, e.what()));
        }
        http::Request req{hostPart_, method, pathPrefix_ + path, body, {}, deadline, kMaxAnswerBytes};
        if (!settings_.apiKey.empty()) req.headers.emplace_back("Authorization", "Bearer " + settings_.apiKey);
        http::Response res;
        send(&req, &res);
        bool retry = false;
        if (res.failure == http::Failure::TooLarge)
            throw LlmError(LlmError::Kind::TooLarge,
                           fmt::format("{}: the answer is larger than the limit of {} bytes; stopped reading", where, kMaxAnswerBytes));
        if (res.failure != http::Failure::None) {
            if (res.failure == http::Failure::Timeout || secondsLeft(deadline) <= 0.0)
                throw LlmError(LlmError::Kind::Timeout, fmt::format("{}: no answer within the {} s timeout", where, settings_.timeoutSeconds));
            if (res.failure == http::Failure::Connection) {
                lastError = fmt::format("{}: nothing answers there (connection refused); is the server running?", where);
                if (attempt >= settings_.retries) throw LlmError(LlmError::Kind::Down, lastError);
            } else {
                lastError = fmt::format("{}: the connection dropped before a full answer ({})", where, res.error);
                if (attempt >= settings_.retries) throw LlmError(LlmError::Kind::Dropped, lastError);
            }
            retry = true;
        } else if (res.status >= 500 || res.status == 429) {
            lastError = fmt::format("{}: HTTP {} {}", where, res.status, excerpt(res.body));
            if (attempt >= settings_.retries) throw LlmError(LlmError::Kind::Http, lastError);
            retry = true;
        } else if (res.status >= 400) {
            throw LlmError(LlmError::Kind::Http, fmt::format("{}: HTTP {} {}", where, res.status, excerpt(res.body)));
        } else {
            return res.body;
        }
        if (retry) {
            const double backoff = std::min(0.25 * (1 << std::min(attempt, 5)), std::max(0.0, secondsLeft(deadline)));
            std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
        }
    }
}

LlmClient::Deadline LlmClient::deadline() const {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settings_.timeoutSeconds));
}

std::vector<std::string> LlmClient::models(std::optional<Deadline> until) {
    const std::string body = call("GET", "/models", "", until.value_or(deadline()));
    std::vector<std::string> out;
    try {
        const auto j = music::parseJsonBounded(body, "model list");
        for (const auto& m : j.at("data")) out.push_back(m.at("id").get<std::string>());
    } catch (const std::exception&) {  // not JSON, too deep, or not the expected shape
        throw LlmError(LlmError::Kind::Garbage,
                       fmt::format("GET {}/models: not an OpenAI-style model list: {}", settings_.baseUrl, excerpt(body)));
    }
    return out;
}

std::string LlmClient::model(std::optional<Deadline> until) {
    if (!settings_.model.empty()) return settings_.model;
    if (resolvedModel_.empty()) {
        const auto list = models(until);
        if (list.empty()) throw LlmError(LlmError::Kind::Garbage, fmt::format("{}/models lists no models; load one or pass --llm-model", settings_.baseUrl));
        resolvedModel_ = list.front();
    }
    return resolvedModel_;
}

std::string LlmClient::chat(const ChatRequest& r, std::optional<Deadline> until) {
    const auto deadline = until.value_or(this->deadline());
    nlohmann::json body{{"model", model(deadline)},
                        {"messages", nlohmann::json::array({{{"role", "system"}, {"content", r.system}}, {{"role", "user"}, {"content", r.user}}})},
                        {"temperature", r.temperature},
                        {"max_tokens", r.maxTokens},
                        {"stream", false}};
    if (r.seed) body["seed"] = *r.seed;
    if (!r.schemaJson.empty())
        body["response_format"] = {{"type", "json_schema"},
                                   {"json_schema", {{"name", r.schemaName}, {"strict", true}, {"schema", nlohmann::json::parse(r.schemaJson)}}}};
    const std::string answer = call("POST", "/chat/completions", body.dump(), deadline);
    try {
        const auto j = music::parseJsonBounded(answer, "chat completion", {kMaxAnswerBytes, 64});
        const auto& content = j.at("choices").at(0).at("message").at("content");
        if (!content.is_string()) throw nlohmann::json::type_error::create(302, "content is not a string", nullptr);
        return content.get<std::string>();
    } catch (const std::exception&) {  // not JSON, too deep, or not a chat completion
        throw LlmError(LlmError::Kind::Garbage, fmt::format("POST {}/chat/completions: not a chat completion: {}", settings_.baseUrl, excerpt(answer)));
    }
}

ChatAnswer LlmClient::chatWithTools(const ChatRequest& r, const std::string& toolsJson, std::optional<Deadline> until) {
    const auto deadline = until.value_or(this->deadline());
    nlohmann::json body{{"model", model(deadline)},
                        {"messages", nlohmann::json::array({{{"role", "system"}, {"content", r.system}}, {{"role", "user"}, {"content", r.user}}})},
                        {"tools", nlohmann::json::parse(toolsJson)},
                        {"tool_choice", "auto"},
                        {"temperature", r.temperature},
                        {"max_tokens", r.maxTokens},
                        {"stream", false}};
    if (r.seed) body["seed"] = *r.seed;
    return parseChatAnswer(call("POST", "/chat/completions", body.dump(), deadline), fmt::format("POST {}/chat/completions", settings_.baseUrl));
}

nlohmann::json toolAnswerJson(const ChatAnswer& answer) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : answer.toolCalls) calls.push_back({{"name", c.name}, {"arguments", c.arguments}});
    std::string content = answer.content;
    if (calls.empty())  // some models write a JSON answer as text instead of calling tools
        if (const auto json = extractJson(content)) content = json->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return {{"content", content}, {"tool_calls", calls}};
}

ChatAnswer parseChatAnswer(const std::string& body, const std::string& where) {
    try {
        const auto j = music::parseJsonBounded(body, "chat completion", {kMaxAnswerBytes, 64});
        const auto& message = j.at("choices").at(0).at("message");
        ChatAnswer out;
        if (message.contains("content") && message["content"].is_string()) out.content = sanitizeUtf8(message["content"].get<std::string>());
        if (message.contains("tool_calls") && !message["tool_calls"].is_null()) {
            for (const auto& c : message.at("tool_calls")) {
                if (out.toolCalls.size() >= kMaxToolCalls) break;
                const auto& f = c.at("function");
                // Some servers send the arguments as an object instead of its JSON text.
                const auto& args = f.at("arguments");
                const std::string text = args.is_string() ? args.get<std::string>() : args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                out.toolCalls.push_back({sanitizeUtf8(f.at("name").get<std::string>()), sanitizeUtf8(text)});
            }
        }
        return out;
    } catch (const std::exception&) {  // not JSON, too deep, or not a chat completion with tool calls
        throw LlmError(LlmError::Kind::Garbage, fmt::format("{}: not a chat completion: {}", where, excerpt(body)));
    }
}

}  // namespace soundstar::llm

// Fuzz target: what an LLM endpoint answers the server's assistant (a chat-completion body with
// tool calls, or a JSON answer as text) through llm::parseChatAnswer, llm::toolAnswerJson and
// server::callsFromAnswer, as `soundstar serve --llm` reads it before validating each call.
// Properties: only LlmError escapes (a body that is not a chat completion); the rest never
// throws; every call's args is a JSON object when the answer called tools; refusals carry a 4xx
// status and a bounded message; everything prints as valid JSON text.
#include <cstdint>
#include <string>

#include "FuzzCheck.h"
#include "llm/LlmClient.h"
#include "server/AssistantAnswer.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body = fuzz::asText(data, size);
    llm::ChatAnswer answer;
    try {
        answer = llm::parseChatAnswer(body, "fuzz");
    } catch (const llm::LlmError& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    if (answer.toolCalls.size() > llm::kMaxToolCalls) fuzz::finding("more tool calls than kMaxToolCalls", body);
    nlohmann::json message;
    server::AssistantCalls calls;
    try {
        message = llm::toolAnswerJson(answer);
        calls = server::callsFromAnswer(message);
        (void)message.dump();
        (void)calls.calls.dump();
        (void)calls.refused.dump();
    } catch (const std::exception& e) {
        fuzz::finding(std::string("an exception reading the answer: ") + e.what(), body);
    }
    if (calls.format == "tools") {
        if (calls.calls.size() + calls.refused.size() != answer.toolCalls.size()) fuzz::finding("a tool call was lost", body);
        for (const auto& c : calls.calls)
            if (!c["args"].is_object()) fuzz::finding("tool call args that are not an object", body);
    } else if (!calls.refused.empty()) {
        fuzz::finding("refusals without tool calls", body);
    }
    for (const auto& r : calls.refused) {
        if (r["status"] != 400) fuzz::finding("a refusal without a 400 status", body);
        fuzz::checkMessage(r["error"].get<std::string>());
    }
    if (calls.said.size() > 400) fuzz::finding("an unbounded said", body);
    return 0;
}

// The assistant: a request in words becomes operations. With an LLM, the model sees the state
// and the operation table as OpenAI tools and answers with tool calls (or, where the endpoint
// refuses tools, with calls in a JSON answer asked for with a JSON Schema); each call is
// validated by its own schema and applied, or refused with the reason. Without one (or
// when it fails), the embedded interpreter steers the live session with the text.
#include <fmt/format.h>

#include "music/JsonText.h"
#include "server/AssistantAnswer.h"
#include "server/AssistantTools.h"
#include "server/Studio.h"
#include "server/StudioParts.h"

namespace soundstar::server {

using nlohmann::json;

namespace {
constexpr std::size_t kMaxCalls = 8;

// "play_note(track*: string, note*: number, ...): summary" — the tools in a few tokens each (full
// schemas would not fit a small model's context; the calls are checked against them anyway).
std::string toolLine(const Operation& op) {
    std::string args;
    const json required = op.input.value("required", json::array());
    for (const auto& [name, schema] : op.input["properties"].items()) {
        const bool needed = std::find(required.begin(), required.end(), name) != required.end();
        std::string type = schema.value("type", std::string("value"));
        if (schema.contains("enum")) type = schema["enum"].dump();
        if (schema.contains("minimum") && schema.contains("maximum")) type += fmt::format(" {}..{}", schema["minimum"].dump(), schema["maximum"].dump());
        args += fmt::format("{}{}{}: {}", args.empty() ? "" : ", ", name, needed ? "*" : "", type);
    }
    return fmt::format("{}({}): {}", op.name, args, op.summary);
}
}  // namespace

void Studio::assistant(const json& args, Done done) {
    const std::string text = args["text"];
    if (!hooks_.askLlm) return done(Outcome{200, assistWithInterpreter(text, "no LLM is configured (serve --llm URL)"), {}});
    {
        std::lock_guard lock(assistantMutex_);
        if (assistantDone_) throw ApiError(429, "the assistant is busy with one request; at most 1 at a time");
    }
    std::vector<std::string> offered;
    try {
        offered = chooseAssistantOps(*table_, text, args.contains("ops") ? args["ops"] : json());
    } catch (const std::invalid_argument& e) {
        throw ApiError(400, e.what());
    }
    if (assistantThread_.joinable()) assistantThread_.join();
    std::string tools;
    json ops = json::array(), toolDefs = json::array();
    for (const auto& tool : table_->tools())
        if (std::find(offered.begin(), offered.end(), tool["function"]["name"].get<std::string>()) != offered.end()) toolDefs.push_back(tool);
    for (const auto& name : offered) {
        tools += toolLine(*table_->find(name)) + "\n";
        ops.push_back(name);
    }
    assistantOffered_ = ops;
    const json answerSchema = {
        {"type", "object"},
        {"properties",
         {{"say", {{"type", "string"}, {"maxLength", 400}}},
          {"calls",
           {{"type", "array"},
            {"maxItems", kMaxCalls},
            {"items", {{"type", "object"}, {"properties", {{"op", {{"type", "string"}, {"enum", ops}}}, {"args", {{"type", "object"}}}}}, {"required", {"op", "args"}}}}}}}},
        {"required", {"say", "calls"}}};
    json state = status();
    state.erase("tracks");
    state["tracks"] = listTracks();
    state["master"] = masterState();
    StudioHooks::LlmAsk ask;
    ask.systemTools = fmt::format(
        "You drive Soundstar, a real-time music engine, by calling its tools (at most {} calls, run in order); say briefly what you "
        "did. `at` is \"now\", {{\"sample\": N}}, {{\"beat\": B}} or {{\"quantize\": \"bar\"}}.\nState: {}",
        kMaxCalls, wireText(state));
    ask.systemJson = fmt::format(
        "You drive Soundstar, a real-time music engine. Answer only with JSON: {{\"say\": a short reply, \"calls\": operations to run "
        "in order, each {{\"op\": name, \"args\": {{argument: value}}}}}}. At most {} calls. `at` is \"now\", {{\"sample\": N}}, "
        "{{\"beat\": B}} or {{\"quantize\": \"bar\"}}. Arguments marked * are required.\nTools:\n{}State: {}",
        kMaxCalls, tools, wireText(state));
    ask.user = text;
    ask.schema = answerSchema.dump();
    ask.tools = toolDefs.dump();
    assistantText_ = text;
    {
        std::lock_guard lock(assistantMutex_);
        assistantDone_ = std::move(done);
        assistantAnswer_.reset();
        assistantFailure_.reset();
    }
    assistantThread_ = std::thread([this, ask = std::move(ask)] {
        std::optional<std::string> answer, failure;
        try {
            answer = hooks_.askLlm(ask).dump();
        } catch (const std::exception& e) {
            failure = music::clipText(e.what(), 400);
        }
        std::lock_guard lock(assistantMutex_);
        assistantAnswer_ = std::move(answer);
        assistantFailure_ = std::move(failure);
    });
}

void Studio::finishAssistant() {
    Done done;
    std::optional<std::string> answer, failure;
    {
        std::lock_guard lock(assistantMutex_);
        if (!assistantDone_ || (!assistantAnswer_ && !assistantFailure_)) return;
        done = std::move(assistantDone_);
        assistantDone_ = nullptr;
        answer = std::move(assistantAnswer_);
        failure = std::move(assistantFailure_);
    }
    if (assistantThread_.joinable()) assistantThread_.join();
    if (failure) return done(Outcome{200, assistWithInterpreter(assistantText_, "the LLM gave no answer: " + *failure), {}});
    const json message = json::parse(*answer, nullptr, false);
    json reply = message.is_object() ? applyAnswer(message) : json();
    if (reply.is_null()) return done(Outcome{200, assistWithInterpreter(assistantText_, "the LLM's answer holds no tool calls and no list of calls"), {}});
    done(Outcome{200, reply, {}});
}

json Studio::applyAnswer(const json& message) {
    AssistantCalls parsed = callsFromAnswer(message);
    if (parsed.format.empty()) return json();
    json reply = applyCalls(parsed.calls);
    reply["format"] = parsed.format;
    for (auto& r : parsed.refused) reply["refused"].push_back(std::move(r));
    const json warnings = message.value("warnings", json::array());
    if (warnings.is_array())
        for (const auto& w : warnings) reply["warnings"].push_back(w);
    if (parsed.calls.size() > kMaxCalls)
        reply["warnings"].push_back(fmt::format("{} calls past the limit of {} were not run", parsed.calls.size() - kMaxCalls, kMaxCalls));
    reply["source"] = "llm";
    reply["said"] = parsed.said;
    reply["offered"] = assistantOffered_;
    return reply;
}

json Studio::applyCalls(const json& calls) {
    json doneList = json::array(), refused = json::array();
    for (std::size_t i = 0; i < calls.size() && i < kMaxCalls; ++i) {
        const json& c = calls[i];
        const std::string op = c.is_object() && c.contains("op") && c["op"].is_string() ? c["op"].get<std::string>() : "";
        const json args = c.is_object() && c.contains("args") ? c["args"] : json::object();
        if (!assistantMayCall(op)) {
            refused.push_back({{"op", music::clipText(op, 60)}, {"args", args}, {"error", fmt::format("'{}' is not an operation the assistant may call", music::clipText(op, 60))}, {"status", 403}});
            continue;
        }
        CallContext ctx;
        ctx.transport = "assistant";
        table_->call(op, args, ctx, [&](Outcome o) {
            if (o.ok()) doneList.push_back({{"op", op}, {"args", args}, {"result", o.result}});
            else refused.push_back({{"op", op}, {"args", args}, {"error", o.error}, {"status", o.status}});
        });
    }
    return {{"done", doneList}, {"refused", refused}, {"warnings", json::array()}};
}

json Studio::assistWithInterpreter(const std::string& text, const std::string& why) {
    json calls = json::array();
    if (live_ && live_->endAt < 0) calls.push_back({{"op", "live_steer"}, {"args", {{"line", text}}}});
    else calls.push_back({{"op", "live_start"}, {"args", {{"vibe", text}}}});
    json reply = applyCalls(calls);
    reply["source"] = "interpreter";
    reply["said"] = "";
    reply["warnings"].push_back(fmt::format("{}; the embedded interpreter read the text instead", why));
    return reply;
}

}  // namespace soundstar::server

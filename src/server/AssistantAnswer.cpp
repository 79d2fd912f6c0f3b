#include "server/AssistantAnswer.h"

#include <fmt/format.h>

#include "music/JsonText.h"

namespace soundstar::server {

using nlohmann::json;

namespace {
std::string stringAt(const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
}  // namespace

AssistantCalls callsFromAnswer(const json& answer) {
    AssistantCalls out;
    const std::string content = stringAt(answer, "content");
    const json toolCalls = answer.is_object() ? answer.value("tool_calls", json::array()) : json::array();
    if (toolCalls.is_array() && !toolCalls.empty()) {
        out.format = "tools";
        out.said = music::clipText(content, 400);
        for (const auto& c : toolCalls) {
            const std::string op = stringAt(c, "name");
            const std::string text = stringAt(c, "arguments");
            std::string why;
            json args = json::object();
            try {
                if (!text.empty()) args = music::parseJsonBounded(text, "the arguments of tool call '" + music::clipText(op, 60) + "'");
                if (!args.is_object()) why = fmt::format("the arguments of '{}' are {}, not a JSON object", music::clipText(op, 60), args.type_name());
            } catch (const std::exception& e) {
                why = music::clipText(e.what(), 400);
            }
            if (why.empty()) out.calls.push_back({{"op", op}, {"args", std::move(args)}});
            else out.refused.push_back({{"op", music::clipText(op, 60)}, {"args", music::clipText(text, 200)}, {"error", why}, {"status", 400}});
        }
        return out;
    }
    const json parsed = json::parse(content, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("calls") || !parsed["calls"].is_array()) return out;
    out.format = "json";
    out.said = music::clipText(stringAt(parsed, "say"), 400);
    out.calls = parsed["calls"];
    return out;
}

}  // namespace soundstar::server

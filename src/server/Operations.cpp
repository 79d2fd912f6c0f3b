#include "server/Operations.h"

#include <fmt/format.h>

#include "music/JsonText.h"
#include "server/Schema.h"

namespace soundstar::server {

using nlohmann::json;

json Outcome::toJson() const {
    if (ok()) return {{"result", result}};
    return {{"error", error}, {"status", status}};
}

void OperationTable::add(Operation op) {
    if (index_.count(op.name)) throw std::logic_error("duplicate operation " + op.name);
    if (!op.input.is_object() || op.input.value("type", "") != "object") throw std::logic_error("operation " + op.name + " needs an object schema");
    for (const auto& a : op.oscArgs)
        if (!op.input["properties"].contains(a)) throw std::logic_error("operation " + op.name + ": OSC argument " + a + " is not in its schema");
    index_[op.name] = ops_.size();
    ops_.push_back(std::move(op));
}

const Operation* OperationTable::find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &ops_[it->second];
}

void OperationTable::wrapHandler(const std::string& name, const std::function<Handler(Handler)>& wrap) {
    const auto it = index_.find(name);
    if (it == index_.end()) throw std::logic_error("wrapHandler: no operation " + name);
    ops_[it->second].handler = wrap(std::move(ops_[it->second].handler));
}

void OperationTable::call(const std::string& name, const json& args, const CallContext& ctx, Done done) const {
    const auto fail = [&](int status, const std::string& message) { done(Outcome{status, nullptr, music::clipText(message, 1900)}); };
    const Operation* op = find(name);
    if (!op) {
        std::string names;
        for (const auto& o : ops_) names += (names.empty() ? "" : ", ") + o.name;
        return fail(404, fmt::format("unknown operation '{}'; operations: {}", music::clipText(name, 60), names));
    }
    try {
        validateJson(op->input, args);
    } catch (const std::invalid_argument& e) {
        return fail(400, fmt::format("{}: {}", op->name, e.what()));
    }
    // The handler may call done itself and then throw: answer only once.
    auto answered = std::make_shared<bool>(false);
    Done once = [answered, done](Outcome o) {
        if (*answered) return;
        *answered = true;
        done(std::move(o));
    };
    try {
        op->handler(args, ctx, once);
    } catch (const ApiError& e) {
        if (!*answered) fail(e.status(), fmt::format("{}: {}", op->name, e.what()));
    } catch (const std::invalid_argument& e) {
        if (!*answered) fail(400, fmt::format("{}: {}", op->name, e.what()));
    } catch (const std::exception& e) {
        if (!*answered) fail(500, fmt::format("{}: internal error: {}", op->name, e.what()));
    }
}

namespace {

json errorResponse(const std::string& description) {
    return {{"description", description}, {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json fixedRoutes() {
    json paths;
    const auto get = [](const std::string& id, const std::string& summary, const std::string& tag, bool open) {
        json ok = {{"description", "OK"}, {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
        json op = {{"operationId", id}, {"summary", summary}, {"tags", {tag}}};
        op["responses"] = {{"200", ok}, {"401", errorResponse("a missing or wrong API key")}};
        if (open) op["security"] = json::array();
        return json{{"get", op}};
    };
    paths["/v1/health"] = get("health", "Whether the server answers (no API key needed)", "server", true);
    paths["/v1/tools"] = get("tools", "Every operation as an OpenAI function-calling tool definition", "server", false);
    paths["/openapi.json"] = get("openapi", "This document", "server", true);
    json file = get("files", "A file under the server's --data folder (a render, a recording)", "server", false);
    file["get"]["parameters"] = {{{"name", "path"}, {"in", "path"}, {"required", true}, {"description", "relative to --data"}, {"schema", {{"type", "string"}}}}};
    file["get"]["responses"]["200"] = {{"description", "the file's bytes"}, {"content", {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    file["get"]["responses"]["403"] = errorResponse("a path outside --data");
    file["get"]["responses"]["404"] = errorResponse("no such file");
    paths["/v1/files/{path}"] = file;
    return paths;
}

}  // namespace

json OperationTable::openApi(const std::string& version) const {
    json doc = {{"openapi", "3.1.0"},
                {"info",
                 {{"title", "Soundstar engine API"},
                  {"version", version},
                  {"description",
                   "Every operation is POST /v1/<name> with a JSON body of its args; the same operation is a WebSocket "
                   "message {\"id\", \"op\", \"args\"} on /v1/ws and an OSC message /soundstar/<name>. Changes take `at`."},
                  {"license", {{"name", "MIT"}, {"url", "https://opensource.org/licenses/MIT"}}}}},
                {"servers", {{{"url", "http://127.0.0.1:7860"}, {"description", "the default local server"}}}},
                {"security", {{{"bearer", json::array()}}}},
                {"paths", fixedRoutes()}};
    json tags = {{{"name", "server"}, {"description", "Health, this document and the tool list"}}};
    std::map<std::string, bool> seen;
    for (const auto& op : ops_) {
        if (!seen[op.group]) tags.push_back({{"name", op.group}, {"description", fmt::format("The {} operations", op.group)}});
        seen[op.group] = true;
        doc["paths"]["/v1/" + op.name]["post"] = {
            {"operationId", op.name},
            {"summary", op.summary},
            {"tags", {op.group}},
            {"requestBody", {{"required", true}, {"content", {{"application/json", {{"schema", op.input}}}}}}},
            {"responses",
             {{"200", {{"description", "The operation's result"}, {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Result"}}}}}}}}},
              {"400", errorResponse("args that do not match the schema, or a value out of range")},
              {"401", errorResponse("a missing or wrong API key")},
              {"409", errorResponse("the operation does not fit the engine's state")},
              {"413", errorResponse("a body over the size limit")},
              {"429", errorResponse("a limit on tracks, sessions, jobs or queued commands was reached")}}}};
    }
    doc["tags"] = tags;
    doc["components"] = {
        {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "--api-key, needed on any bind but loopback"}}}}},
        {"schemas",
         {{"Result", {{"type", "object"}, {"properties", {{"result", {{"description", "what the operation answered"}}}}}, {"required", {"result"}}}},
          {"Error",
           {{"type", "object"},
            {"properties", {{"error", {{"type", "string"}}}, {"status", {{"type", "integer"}}}}},
            {"required", {"error", "status"}}}}}}};
    return doc;
}

json OperationTable::tools() const {
    json out = json::array();
    for (const auto& op : ops_)
        out.push_back({{"type", "function"}, {"function", {{"name", op.name}, {"description", op.summary}, {"parameters", op.input}}}});
    return out;
}

json OperationTable::argsFromOsc(const Operation& op, const std::vector<osc::Arg>& args) const {
    if (args.size() == 1 && std::holds_alternative<std::string>(args[0])) {
        const auto& text = std::get<std::string>(args[0]);
        if (!text.empty() && text.front() == '{') return music::parseJsonBounded(text, "the OSC JSON argument");
    }
    if (args.size() > op.oscArgs.size())
        throw std::invalid_argument(fmt::format("/soundstar/{} takes at most {} arguments ({}), or one JSON object string; got {}", op.name,
                                                op.oscArgs.size(), fmt::join(op.oscArgs, ", "), args.size()));
    json out = json::object();
    for (std::size_t i = 0; i < args.size(); ++i) {
        json v = std::visit(
            [](const auto& a) -> json {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, std::monostate>) return nullptr;
                else if constexpr (std::is_same_v<T, osc::Blob> || std::is_same_v<T, osc::TimeTag>)
                    throw std::invalid_argument("blobs and timetags are not operation arguments");
                else return a;
            },
            args[i]);
        // An OSC string that holds JSON (an object or array) stands for it: "at" as {"sample":N}.
        if (v.is_string() && !v.get_ref<const std::string&>().empty() && (v.get_ref<const std::string&>()[0] == '{' || v.get_ref<const std::string&>()[0] == '['))
            v = music::parseJsonBounded(v.get<std::string>(), fmt::format("OSC argument {}", op.oscArgs[i]));
        out[op.oscArgs[i]] = std::move(v);
    }
    return out;
}

}  // namespace soundstar::server

#include "server/Server.h"

#include <fmt/format.h>

#include <cctype>

#include "music/JsonText.h"
#include "server/WebAssets.h"

namespace soundstar::server {

using nlohmann::json;

// %XX escapes decoded (a malformed one is kept as it is).
static std::string percentDecoded(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

bool bearerMatches(const std::string& header, const std::string& key) {
    const std::string expected = "Bearer " + key;
    // Every byte of the expected value is compared, whatever the header holds, so the time taken
    // says nothing about how much of the key was right.
    unsigned diff = header.size() == expected.size() ? 0u : 1u;
    for (std::size_t i = 0; i < expected.size(); ++i)
        diff |= static_cast<unsigned char>(expected[i]) ^ static_cast<unsigned char>(i < header.size() ? header[i] : 0);
    return diff == 0;
}

Server::Server(const OperationTable& table, std::string apiKey, std::string version)
    : table_(table), apiKey_(std::move(apiKey)), version_(std::move(version)) {}

NetHandlers Server::handlers(std::function<void()> tick) {
    NetHandlers h;
    h.http = [this](const HttpRequest& r, Respond respond) { http(r, std::move(respond)); };
    h.upgrade = [this](const HttpRequest& r) {
        // A browser cannot set headers on a WebSocket: it may give the key as /v1/ws?key=KEY instead.
        const auto query = r.target.find('?');
        if (r.target.substr(0, query) != "/v1/ws") return 404;
        std::string auth = r.authorization;
        if (query != std::string::npos && r.target.compare(query, 5, "?key=") == 0) auth = "Bearer " + percentDecoded(r.target.substr(query + 5));
        if (!apiKey_.empty() && !bearerMatches(auth, apiKey_)) return 401;
        return 0;
    };
    h.wsMessage = [this](std::uint64_t client, const std::string& text, WsSend send, WsSend sendBinary) {
        websocket(client, text, send, sendBinary);
    };
    h.wsClosed = [this](std::uint64_t client) {
        if (onClientGone) onClientGone(client);
    };
    h.osc = [this](const std::vector<std::uint8_t>& packet, OscReply reply) { osc(packet, reply); };
    h.tick = std::move(tick);
    return h;
}

namespace {
CallContext context(const char* transport) {
    CallContext c;
    c.transport = transport;
    return c;
}
HttpResponse jsonResponse(int status, const json& body) { return {status, "application/json", wireText(body), {}}; }
HttpResponse errorResponse(int status, const std::string& message) {
    return jsonResponse(status, {{"error", music::clipText(message, 1900)}, {"status", status}});
}
}  // namespace

const WebAsset* findWebAsset(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const auto& a : webAssets())
        if (a.path == path) return &a;
    return nullptr;
}

namespace {
// The console's files: no key needed (they hold no secrets; the API calls they make do need it).
// "no-cache" makes the browser ask again each time, and a matching ETag gets a 304 without the
// bytes, so a new build's console is never stale. The content policy keeps the page to its own
// origin: nothing from elsewhere can load, which is also what makes it work offline.
HttpResponse assetResponse(const WebAsset& a, const std::string& ifNoneMatch) {
    HttpResponse r{200, std::string(a.contentType), std::string(a.body), {}};
    if (ifNoneMatch == a.etag) r.status = 304, r.body.clear();
    r.headers = {{"ETag", std::string(a.etag)},
                 {"Cache-Control", "no-cache"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; media-src 'self' blob:"}};
    return r;
}
}  // namespace

void Server::http(const HttpRequest& req, Respond respond) const {
    std::string path = req.target.substr(0, req.target.find('?'));
    if (req.method == "GET" && path.rfind("/v1/", 0) != 0)
        if (const WebAsset* asset = findWebAsset(path)) return respond(assetResponse(*asset, req.ifNoneMatch));
    if (req.method == "GET" && path == "/v1/health") return respond(jsonResponse(200, {{"ok", true}, {"version", version_}}));
    if (req.method == "GET" && path == "/openapi.json") return respond(jsonResponse(200, table_.openApi(version_)));
    if (!apiKey_.empty() && !bearerMatches(req.authorization, apiKey_))
        return respond(errorResponse(401, "this server needs its API key: send Authorization: Bearer KEY"));
    if (req.method == "GET" && path == "/v1/tools") return respond(jsonResponse(200, table_.tools()));
    if (req.method == "GET" && path.rfind("/v1/files/", 0) == 0 && files) {
        std::string name;  // percent-decoded
        for (std::size_t i = 10; i < path.size(); ++i) {
            if (path[i] == '%' && i + 2 < path.size() && std::isxdigit(static_cast<unsigned char>(path[i + 1])) && std::isxdigit(static_cast<unsigned char>(path[i + 2]))) {
                name += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                name += path[i];
            }
        }
        try {
            return respond(files(name));
        } catch (const ApiError& e) {
            return respond(errorResponse(e.status(), e.what()));
        }
    }
    if (path.rfind("/v1/", 0) != 0) return respond(errorResponse(404, fmt::format("no route {}; see /openapi.json", music::clipText(path, 80))));
    const std::string name = path.substr(4);
    const Operation* op = table_.find(name);
    if (!op) return table_.call(name, json::object(), context("rest"), [&](Outcome o) { respond(jsonResponse(o.status, o.toJson())); });
    json args = json::object();
    if (req.method == "GET") {
        if (op->changesState || op->input.contains("required"))
            return respond(errorResponse(405, fmt::format("{} takes POST with a JSON body", name)));
    } else if (req.method != "POST") {
        return respond(errorResponse(405, fmt::format("{} {}: allowed POST (or GET for read-only operations)", music::clipText(req.method, 10), name)));
    } else if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
        try {
            args = music::parseJsonBounded(req.body, "the request body", {kMaxBodyBytes, 64});
        } catch (const std::invalid_argument& e) {
            return respond(errorResponse(400, e.what()));
        }
    }
    table_.call(name, args, context("rest"), [respond](Outcome o) { respond(jsonResponse(o.status, o.toJson())); });
}

void Server::websocket(std::uint64_t client, const std::string& text, const WsSend& send, const WsSend& sendBinary) const {
    json msg;
    try {
        msg = music::parseJsonBounded(text, "the WebSocket message", {kMaxBodyBytes, 64});
    } catch (const std::invalid_argument& e) {
        return send(wireText(json{{"id", nullptr}, {"error", music::clipText(e.what(), 1900)}, {"status", 400}}));
    }
    json id = msg.is_object() && msg.contains("id") ? msg["id"] : json(nullptr);
    if (!(id.is_null() || id.is_number_integer() || (id.is_string() && id.get_ref<const std::string&>().size() <= 128)))
        id = nullptr;  // ids are echoed, so only short ones
    if (!msg.is_object() || !msg.contains("op") || !msg["op"].is_string() || (msg.contains("args") && !msg["args"].is_object()) || msg.size() > 3)
        return send(wireText(json{{"id", id}, {"error", "a message is {\"id\": number or string, \"op\": \"name\", \"args\": {...}}"}, {"status", 400}}));
    table_.call(msg["op"], msg.value("args", json::object()), [&] {
        CallContext c = context("ws");
        c.client = client;
        c.push = send;
        c.pushBinary = sendBinary;
        return c;
    }(), [send, id](Outcome o) {
        json reply = o.toJson();
        reply["id"] = id;
        send(wireText(reply));
    });
}

void Server::osc(const std::vector<std::uint8_t>& packet, const OscReply& reply) const {
    const auto answer = [reply](const std::string& op, const json& body) {  // by value: sync answers later
        reply(osc::encodeMessage({"/soundstar/reply", {op, wireText(body)}}));
    };
    std::vector<osc::TimedMessage> messages;
    try {
        messages = osc::decodePacket(packet);
    } catch (const std::invalid_argument& e) {
        return answer("", json{{"error", music::clipText(e.what(), 1500)}, {"status", 400}});
    }
    for (const auto& m : messages) {
        const std::string& address = m.message.address;
        if (address.rfind("/soundstar/", 0) != 0) {
            answer("", json{{"error", fmt::format("OSC address {} is not served; allowed /soundstar/<operation>", music::clipText(address, 60))}, {"status", 404}});
            continue;
        }
        const std::string name = address.substr(11);
        const Operation* op = table_.find(name);
        json args = json::object();
        if (op) {
            try {
                args = table_.argsFromOsc(*op, m.message.args);
            } catch (const std::invalid_argument& e) {
                answer(name, json{{"error", music::clipText(e.what(), 1500)}, {"status", 400}});
                continue;
            }
        }
        table_.call(name, args, [&] {
            CallContext c = context("osc");
            c.timetag = m.time;
            c.anchor = m.anchor;
            return c;
        }(), [answer, name](Outcome o) { answer(name, o.toJson()); });
    }
}

}  // namespace soundstar::server

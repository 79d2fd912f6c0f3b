// soundstar serve: the engine as a service. The server library (src/server) knows no
// interpreter or render pipeline; this file hands it the app's (vibes from text, render jobs).
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "Commands.h"
#include "llm/LlmClient.h"
#include "llm/LlmSettings.h"
#include "llm/Repair.h"
#include "music/JsonText.h"
#include "server/NetServer.h"
#include "server/Server.h"
#include "server/Studio.h"

namespace soundstar::app {

int runServe(const ServeArgs& given) {
    ServeArgs a = given;
    // The key may come from the environment, so it need not show in the process list.
    if (const char* env = std::getenv("SOUNDSTAR_API_KEY"); a.apiKey.empty() && env && *env) a.apiKey = env;
    const bool loopback = server::isLoopbackHost(a.host);
    if (!loopback && a.apiKey.empty())
        throw std::invalid_argument(fmt::format("--host {} reaches beyond this machine: give --api-key KEY (clients send Authorization: Bearer KEY), or use 127.0.0.1", a.host));
    if (!a.apiKey.empty()) {
        const bool printable = std::all_of(a.apiKey.begin(), a.apiKey.end(), [](char c) { return c > 0x20 && c < 0x7f; });
        if (a.apiKey.size() < 8 || a.apiKey.size() > 256 || !printable)
            throw std::invalid_argument("--api-key: allowed 8 to 256 printable characters without spaces");
    }
    if (!loopback && a.oscPort >= 0)
        throw std::invalid_argument("--osc-port: OSC has no API key, so it is served only with a loopback --host (127.0.0.1)");

    server::StudioHooks hooks;
    hooks.presets = &shippedPresets();
    hooks.vibeFromText = [](const std::string& text, std::optional<std::uint64_t> seed) { return vibeFromText(text, seed, 0.0); };
    hooks.vibeFromConfig = [](const std::string& label, const music::MusicConfig& cfg) { return live::StreamVibe{label, cfg, sketchFor(cfg), 0.0}; };
    hooks.djVibes = [](std::optional<std::uint64_t> seed) { return djVibes(seed.value_or(1)); };
    hooks.render = [](const server::RenderJobSpec& spec, const std::function<void(double)>& progress) {
        RenderArgs r;
        r.prompt = spec.prompt;
        r.durationSeconds = spec.durationSeconds;
        r.durationGiven = true;
        r.output = spec.output.string();
        r.seed = spec.seed;
        r.midiGiven = !spec.midiFile.empty();
        r.midiFile = spec.midiFile.string();
        r.stemsGiven = !spec.stemsDir.empty();
        r.stemsDir = spec.stemsDir.string();
        r.quiet = true;
        r.progress = progress;
        runRender(r);
    };
    if (a.useLlm) {
        const auto settings = llm::resolveLlmSettings({a.llmUrl, a.llmModel, a.llmTimeout}, [](const char* n) { return std::getenv(n); },
                                                      llm::defaultConfigFile([](const char* n) { return std::getenv(n); }));
        // Tools first; an endpoint that refuses them (llama-server without --jinja answers HTTP 500)
        // is asked for a JSON answer instead, then and on every later request.
        auto toolsRefused = std::make_shared<std::atomic<bool>>(false);
        hooks.askLlm = [settings, toolsRefused](const server::StudioHooks::LlmAsk& ask) {
            llm::LlmClient client(settings);
            const auto deadline = client.deadline();
            nlohmann::json warnings = nlohmann::json::array();
            if (!toolsRefused->load()) {
                try {
                    nlohmann::json message = llm::toolAnswerJson(
                        client.chatWithTools({ask.systemTools, ask.user, "", "calls", settings.maxTokens, 0.2, std::nullopt}, ask.tools, deadline));
                    message["format"] = "tools";
                    message["warnings"] = warnings;
                    return message;
                } catch (const llm::LlmError& e) {
                    if (e.kind != llm::LlmError::Kind::Http) throw;
                    toolsRefused->store(true);
                    warnings.push_back(fmt::format("the endpoint refused tools ({}); asked for a JSON answer instead", music::clipText(e.what(), 300)));
                }
            }
            const auto text = client.chat({ask.systemJson, ask.user, ask.schema, "calls", settings.maxTokens, 0.2, std::nullopt}, deadline);
            const auto json = llm::extractJson(llm::sanitizeUtf8(text));
            if (!json) throw std::runtime_error(fmt::format("{} answered without a JSON object", settings.baseUrl));
            return nlohmann::json{{"format", "json"}, {"content", json->dump()}, {"tool_calls", nlohmann::json::array()}, {"warnings", warnings}};
        };
        if (!a.quiet) fmt::print(stderr, "soundstar serve: the assistant asks {}\n", llm::describe(settings));
    }
    server::StudioOptions so;
    so.device = a.device;
    so.dataDir = a.dataDir;
    so.sampleMemoryBytes = static_cast<std::size_t>(a.sampleMemoryMb * 1048576.0);
    so.modelRoots = installedModelRoots();
    hooks.generate = serverModelJobs();
    server::Studio studio(so, hooks);
    server::OperationTable table;
    studio.registerOperations(table);
    server::Server front(table, a.apiKey, SOUNDSTAR_VERSION);
    front.onClientGone = [&studio](std::uint64_t client) { studio.dropClient(client); };
    front.files = [&studio](const std::string& path) { return studio.readFile(path); };
    server::NetOptions no;
    no.host = a.host;
    no.port = a.port;
    no.oscPort = a.oscPort;
    server::NetServer net(no, front.handlers([&studio] { studio.tick(); }));
    const std::string host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
    fmt::print("listening on http://{}:{}\n", host, net.port());
    if (net.oscPort() >= 0) fmt::print("osc on udp://{}:{}\n", host, net.oscPort());
    std::fflush(stdout);
    if (!a.quiet)
        fmt::print(stderr, "soundstar serve: {} operations (GET /v1/tools, /openapi.json); files under {}; Ctrl-C stops\n", table.all().size(),
                   so.dataDir.string());
    net.run();
    studio.shutdown();
    if (!a.quiet) fmt::print(stderr, "soundstar serve: stopped cleanly\n");
    return 0;
}

}  // namespace soundstar::app

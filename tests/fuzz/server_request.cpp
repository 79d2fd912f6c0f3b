// Fuzz target: request bodies through the server's operation dispatcher, exactly as
// POST /v1/<op> hands them over (Server::http -> OperationTable -> Studio on the null device).
// The input's first line picks the operation (a name, or its index modulo the table's size),
// the rest is the body. Properties: every answer is valid JSON with a 4xx or 200 status (never
// 5xx), and error messages stay under 2,000 bytes. render_start, live_start, dj_start,
// record_start and assistant are left out (they start renders, sessions and files, through hooks
// the app gives and this world does not: the other targets, dj_command among them, and the tests
// cover their parsing).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "FuzzCheck.h"
#include "server/Server.h"
#include "server/Studio.h"

using namespace soundstar;
using namespace soundstar::server;

namespace {
bool heavy(const std::string& op) {
    return op == "render_start" || op == "live_start" || op == "dj_start" || op == "record_start" || op == "assistant";
}

struct World {
    engine::PresetLibrary presets;
    std::unique_ptr<Studio> studio;
    OperationTable table;
    std::unique_ptr<Server> front;
    std::vector<std::string> names;
    World() {
        presets.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "presets");
        StudioHooks hooks;
        hooks.presets = &presets;
        StudioOptions o;
        o.dataDir = std::filesystem::temp_directory_path() / "soundstar-fuzz-data";
        studio = std::make_unique<Studio>(o, hooks);
        studio->registerOperations(table);
        front = std::make_unique<Server>(table, "", "fuzz");
        for (const auto& op : table.all())
            if (!heavy(op.name)) names.push_back(op.name);
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World world;
    const std::string text = fuzz::asText(data, size);
    const auto nl = text.find('\n');
    std::string op = text.substr(0, nl == std::string::npos ? text.size() : nl);
    const std::string body = nl == std::string::npos ? "" : text.substr(nl + 1);
    if (op.size() == 1) op = world.names[static_cast<unsigned char>(op[0]) % world.names.size()];
    // The server routes on the path before any query ("dj_start?x" is dj_start), so the checks do too.
    const std::string route = op.substr(0, op.find('?'));
    if (heavy(route)) return 0;
    // sync answers on a later tick (maybe during another input): the callback owns what it touches.
    auto answered = std::make_shared<bool>(false);
    world.front->http({"POST", "/v1/" + op, body, "", ""}, [answered, route](HttpResponse r) {
        *answered = true;
        // This world has no model service: a valid generate_start is told so with a 501, by design.
        const bool noModels = r.status == 501 && route == "generate_start";
        if (r.status >= 500 && !noModels) fuzz::finding("a 5xx answer", r.body);
        const auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (j.is_discarded()) fuzz::finding("an answer that is not JSON", r.body);
        if (r.status >= 400) fuzz::checkMessage(j.value("error", std::string()));
    });
    if (!*answered && route != "sync" && route != "analyze") fuzz::finding("no answer", op);  // both answer on a later tick
    // The WebSocket's key in the query (browsers cannot send headers): only the right key, decoded, opens it.
    static Server keyed(world.table, "fuzz-key", "fuzz");
    static const NetHandlers gate = keyed.handlers({});
    const int upgrade = gate.upgrade({"GET", "/v1/ws?key=" + body, "", "", ""});
    if (upgrade != 0 && upgrade != 401) fuzz::finding("an upgrade answer other than 0 or 401", body);
    if ((body == "fuzz-key" || body == "fuzz%2Dkey") && upgrade != 0) fuzz::finding("the right key in the query refused", body);
    if (body.find('%') == std::string::npos && body != "fuzz-key" && upgrade == 0) fuzz::finding("a wrong key in the query accepted", body);
    world.studio->tick();
    return 0;
}

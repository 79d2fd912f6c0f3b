#include "server/AssistantTools.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <set>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::server {

namespace {
// Offered for every request: what most requests about music in words end up calling.
constexpr const char* kCore[] = {"status", "list_tracks", "live_steer", "live_start", "set_tempo", "set_mix", "play_note", "create_track", "insert_effect", "set_param"};

// Words people use for what an operation's own words do not say.
const std::map<std::string, std::vector<std::string>>& synonyms() {
    static const std::map<std::string, std::vector<std::string>> table = {
        {"louder", {"mix", "gain"}},       {"quieter", {"mix", "gain"}},        {"volume", {"mix", "gain"}},
        {"softer", {"mix", "gain"}},       {"mute", {"mix"}},                   {"solo", {"mix"}},
        {"pan", {"mix"}},                  {"faster", {"tempo"}},               {"slower", {"tempo"}},
        {"bpm", {"tempo"}},                {"speed", {"tempo"}},                {"reverb", {"effect", "bus"}},
        {"delay", {"effect", "bus"}},      {"echo", {"effect", "bus"}},         {"filter", {"effect"}},
        {"eq", {"effect"}},                {"compressor", {"effect"}},          {"distortion", {"effect"}},
        {"bypass", {"bypass", "effect"}},  {"record", {"record", "recording"}}, {"recording", {"record", "recording"}},
        {"save", {"save", "project"}},     {"load", {"load", "project"}},       {"undo", {"undo", "history"}},
        {"redo", {"redo", "history"}},     {"sample", {"sample", "sampler"}},   {"loop", {"sample", "seq", "loop"}},
        {"clip", {"seq", "clip"}},         {"pattern", {"seq", "pattern"}},     {"drums", {"seq", "pattern", "live"}},
        {"beat", {"seq", "pattern"}},      {"automate", {"automation", "seq"}}, {"automation", {"automation", "seq"}},
        {"sequence", {"seq"}},             {"sequencer", {"seq"}},              {"scene", {"seq", "scene", "launch"}},
        {"launch", {"seq", "launch"}},     {"analyse", {"analyze", "analysis"}}, {"analyze", {"analyze", "analysis"}},
        {"loudness", {"analyze", "analysis"}}, {"key", {"analyze", "live"}},    {"render", {"render", "renders"}},
        {"file", {"render", "sample"}},    {"export", {"render", "project"}},   {"stretch", {"stretch", "sample"}},
        {"pitch", {"stretch", "sample"}},  {"instrument", {"instruments", "track"}}, {"synth", {"track", "instruments"}},
        {"dj", {"dj"}},                    {"drop", {"dj"}},                    {"vibe", {"live"}},
        {"mood", {"live"}},                {"energetic", {"live"}},             {"darker", {"live"}},
        {"brighter", {"live"}},            {"stop", {"stop"}},                  {"start", {"start"}},
    };
    return table;
}

std::vector<std::string> wordsOf(std::string_view text) {
    std::vector<std::string> out;
    std::string w;
    const auto flush = [&] {
        if (w.size() >= 2) out.push_back(w);
        w.clear();
    };
    for (char c : text.substr(0, 4000)) {
        if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else flush();
    }
    flush();
    return out;
}

// A word and its plural or -ing/-ed form match ("tracks"/"track", "effects"/"effect").
std::string stem(std::string w) {
    for (const char* suffix : {"ing", "ed", "es", "s"}) {
        const std::string s = suffix;
        if (w.size() > s.size() + 2 && w.compare(w.size() - s.size(), s.size(), s) == 0) return w.substr(0, w.size() - s.size());
    }
    return w;
}
}  // namespace

bool assistantMayCall(const std::string& op) { return op != "assistant" && op != "subscribe" && op != "unsubscribe" && op != "sync"; }

std::vector<std::string> chooseAssistantOps(const OperationTable& table, std::string_view text, const nlohmann::json& requested) {
    std::set<std::string> groups;
    for (const auto& op : table.all()) groups.insert(op.group);
    std::set<std::string> chosen;
    if (!requested.is_null()) {
        if (!requested.is_array()) throw std::invalid_argument("ops must be an array of operation or group names");
        if (requested.size() > kMaxRequestedOpNames)
            throw std::invalid_argument(fmt::format("ops lists {} names; the limit is {}", requested.size(), kMaxRequestedOpNames));
        for (const auto& n : requested) {
            const std::string name = n.is_string() ? n.get<std::string>() : n.dump();
            const Operation* op = table.find(name);
            std::size_t inGroup = 0;
            if (!op && groups.count(name))
                for (const auto& o : table.all())
                    if (o.group == name && assistantMayCall(o.name)) chosen.insert(o.name), ++inGroup;
            if (op && assistantMayCall(name)) {
                chosen.insert(name);
            } else if (inGroup == 0) {
                throw std::invalid_argument(fmt::format("ops: '{}' is neither an operation the assistant may call nor a group; groups: {}",
                                                        music::clipText(name, 60), fmt::join(groups, ", ")));
            }
        }
        if (chosen.size() > kMaxOfferedOps)
            throw std::invalid_argument(fmt::format("ops names {} operations; at most {} are offered to the LLM at once", chosen.size(), kMaxOfferedOps));
    } else {
        // Score each operation by the request's words found in its name and group (2 each) and in
        // its summary (1), with synonyms; the core set first, then the best scores, in table order.
        std::set<std::string> asked;
        for (const auto& w : wordsOf(text)) {
            asked.insert(stem(w));
            if (auto s = synonyms().find(w); s != synonyms().end())
                for (const auto& x : s->second) asked.insert(stem(x));
        }
        for (const char* core : kCore)
            if (table.find(core)) chosen.insert(core);
        std::vector<std::pair<int, std::size_t>> scored;
        for (std::size_t i = 0; i < table.all().size(); ++i) {
            const Operation& op = table.all()[i];
            if (!assistantMayCall(op.name) || chosen.count(op.name)) continue;
            int score = 0;
            std::set<std::string> strong;
            for (const auto& w : wordsOf(op.name)) strong.insert(stem(w));  // "play_note": play, note
            strong.insert(stem(op.group));
            for (const auto& w : strong) score += asked.count(w) ? 2 : 0;
            std::set<std::string> weak;
            for (const auto& w : wordsOf(op.summary)) weak.insert(stem(w));
            for (const auto& w : weak)
                if (w.size() >= 4 && asked.count(w) && !strong.count(w)) score += 1;
            if (score > 0) scored.emplace_back(-score, i);
        }
        std::stable_sort(scored.begin(), scored.end());
        for (const auto& [negScore, i] : scored) {
            if (chosen.size() >= kMaxOfferedOps) break;
            chosen.insert(table.all()[i].name);
        }
    }
    std::vector<std::string> out;
    for (const auto& op : table.all())
        if (chosen.count(op.name)) out.push_back(op.name);
    return out;
}

}  // namespace soundstar::server

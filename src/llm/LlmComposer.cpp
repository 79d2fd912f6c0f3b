#include "llm/LlmComposer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "compose/Arranger.h"
#include "interpret/Interpreter.h"
#include "llm/Repair.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::llm {
namespace {

using Json = nlohmann::json;

const std::set<std::string> kTopLevel{"genre", "bpm", "key", "mood", "instrumentation", "seed"};

Json configProperties() {
    const auto schema = Json::parse(music::musicConfigSchema());
    Json props = Json::object();
    for (const auto& [k, v] : schema["properties"].items()) {
        if (kTopLevel.count(k)) continue;
        Json p = v;
        p.erase("description");
        props[k] = p;
    }
    return props;
}

std::string clip(const std::string& s, std::size_t n) { return clipUtf8(sanitizeUtf8(s), n); }

std::string systemPrompt() {
    std::string fields;
    const auto props = configProperties();
    for (const auto& [k, v] : props.items()) {
        if (v.contains("enum")) {
            std::vector<std::string> labels;
            for (const auto& l : v["enum"]) labels.push_back(l.get<std::string>());
            fields += fmt::format("{}: {}\n", k, fmt::join(labels, "|"));
        } else {
            fields += fmt::format("{}: {} {}..{}\n", k, v.value("type", "number"), v.value("minimum", 0.0), v.value("maximum", 1.0));
        }
    }
    return "You are a composer's assistant. Read the user's music prompt and answer with one JSON object: "
           "genre, tempo_bpm (40-220), key (like \"F# minor\"), mood, instrumentation (a list of instrument names), "
           "config (every field below, choosing labels that fit the prompt), title (a short title for the piece), "
           "reasoning (one or two sentences on your choices) and palettes (up to 3 colour palettes, each a name and 3-5 "
           "#rrggbb colours that fit the music). Config fields and allowed values:\n" + fields;
}

}  // namespace

std::string deconstructionSchema() {
    Json config{{"type", "object"}, {"properties", configProperties()}, {"additionalProperties", false}};
    Json required = Json::array();
    for (const auto& [k, v] : config["properties"].items()) required.push_back(k);
    config["required"] = required;
    const Json str = [](int n) { return Json{{"type", "string"}, {"maxLength", n}}; }(32);
    Json s{{"type", "object"},
           {"properties",
            {{"genre", str},
             {"tempo_bpm", {{"type", "integer"}, {"minimum", 40}, {"maximum", 220}}},
             {"key", {{"type", "string"}, {"maxLength", 16}}},
             {"mood", str},
             {"instrumentation", {{"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 24}}}, {"maxItems", 6}}},
             {"config", config},
             {"title", {{"type", "string"}, {"maxLength", 60}}},
             {"reasoning", {{"type", "string"}, {"maxLength", 300}}},
             {"palettes",
              {{"type", "array"},
               {"maxItems", 3},
               {"items",
                {{"type", "object"},
                 {"properties",
                  {{"name", {{"type", "string"}, {"maxLength", 24}}},
                   {"colors", {{"type", "array"}, {"minItems", 3}, {"maxItems", 5}, {"items", {{"type", "string"}, {"pattern", "^#[0-9a-f]{6}$"}}}}}}},
                 {"required", {"name", "colors"}},
                 {"additionalProperties", false}}}}}}},
           {"required", {"genre", "tempo_bpm", "key", "mood", "instrumentation", "config", "title", "reasoning", "palettes"}},
           {"additionalProperties", false}};
    return s.dump();
}

std::string structureSchema() {
    const Json s{{"type", "object"},
                 {"properties",
                  {{"sections",
                    {{"type", "array"},
                     {"minItems", 1},
                     {"maxItems", 12},
                     {"items",
                      {{"type", "object"},
                       {"properties", {{"section", {{"type", "string"}, {"enum", music::sectionKinds()}}}, {"duration", {{"type", "integer"}, {"minimum", 1}, {"maximum", 600}}}}},
                       {"required", {"section", "duration"}},
                       {"additionalProperties", false}}}}}}},
                 {"required", {"sections"}},
                 {"additionalProperties", false}};
    return s.dump();
}

std::optional<music::MusicConfig> applyDeconstruction(const std::string& answer, const music::MusicConfig& base,
                                                      const std::set<std::string>& keep, const interpret::Interpreter* genreReader,
                                                      Json& metadata, std::vector<std::string>& warnings) {
    const auto parsed = extractJson(sanitizeUtf8(answer));
    if (!parsed || !parsed->is_object()) return std::nullopt;
    const Json& j = *parsed;
    music::MusicConfig cfg = base;
    const auto schema = Json::parse(music::musicConfigSchema());
    const auto trySet = [&](const std::string& field, const Json& value, const std::string& said) {
        if (keep.count(field)) {
            warnings.push_back(fmt::format("LLM {} = {}: kept the prompt's own '{}'", said, value.dump(), field));
            return;
        }
        try {
            cfg = music::mergeMusicConfig(cfg, Json{{field, value}}.dump(), "LLM");
        } catch (const std::invalid_argument& e) {
            warnings.push_back(fmt::format("LLM {} dropped: {}", said, e.what()));
        }
    };
    // The config object first; the explicit top-level answers then win over it.
    if (j.contains("config")) {
        if (!j["config"].is_object()) {
            warnings.push_back(fmt::format("LLM 'config' is not an object ({}); its fields are the interpreter's", clip(j["config"].dump(), 60)));
        } else {
            for (const auto& [k, v] : j["config"].items()) {
                const std::string said = "config." + music::clipText(k, 60);
                if (!schema["properties"].contains(k) || k == "seed") {
                    warnings.push_back(fmt::format("LLM {} ignored: not a MusicConfig field", said));
                    continue;
                }
                const auto& p = schema["properties"][k];
                if (kTopLevel.count(k)) {  // key, bpm, genre, mood, instrumentation: the answer's top level says these
                    warnings.push_back(fmt::format("LLM {} ignored: the top-level '{}' field decides it", said, k == "bpm" ? "tempo_bpm" : k));
                    continue;
                } else if (p.contains("enum")) {
                    const auto labels = p["enum"].get<std::vector<std::string>>();
                    if (const auto l = repairLabel(v, labels)) {
                        if (!(v.is_string() && v.get<std::string>() == *l)) warnings.push_back(fmt::format("LLM {} {} repaired to \"{}\"", said, v.dump(), *l));
                        trySet(k, *l, said);
                    } else {
                        warnings.push_back(fmt::format("LLM {} = {} dropped: allowed {}", said, clip(v.dump(), 40), fmt::join(labels, ", ")));
                    }
                } else if (p.value("type", "") == "boolean") {
                    if (v.is_boolean()) trySet(k, v, said);
                    else if (v.is_string() && (v == "true" || v == "yes" || v == "on")) trySet(k, true, said);
                    else if (v.is_string() && (v == "false" || v == "no" || v == "off")) trySet(k, false, said);
                    else warnings.push_back(fmt::format("LLM {} = {} dropped: allowed true or false", said, clip(v.dump(), 40)));
                } else if (p.value("type", "") == "integer" || p.value("type", "") == "number") {
                    const double lo = p.value("minimum", 0.0), hi = p.value("maximum", 1.0);
                    if (const auto x = repairNumber(v, lo, hi)) {
                        const double value = p["type"] == "integer" ? std::round(*x) : *x;
                        if (!(v.is_number() && v.get<double>() == value)) warnings.push_back(fmt::format("LLM {} {} repaired to {}", said, clip(v.dump(), 40), value));
                        if (p["type"] == "integer") trySet(k, static_cast<int>(value), said);
                        else trySet(k, value, said);
                    } else {
                        warnings.push_back(fmt::format("LLM {} = {} dropped: allowed {} to {}", said, clip(v.dump(), 40), lo, hi));
                    }
                }
            }
        }
    } else {
        warnings.push_back("LLM answer has no 'config'; its fields are the interpreter's");
    }
    for (const char* name : {"tempo_bpm", "bpm", "tempo"}) {
        if (!j.contains(name)) continue;
        if (const auto b = repairBpm(j[name])) {
            if (!(j[name].is_number() && j[name].get<double>() == *b)) warnings.push_back(fmt::format("LLM {} {} repaired to {}", name, clip(j[name].dump(), 40), *b));
            trySet("bpm", *b, name);
        } else if (!(std::string(name) == "tempo" && j[name].is_string())) {
            warnings.push_back(fmt::format("LLM {} = {} dropped: allowed 40 to 220 bpm", name, clip(j[name].dump(), 40)));
        }
        break;
    }
    if (j.contains("key")) {
        const auto k = j["key"].is_string() ? repairKey(j["key"].get<std::string>()) : std::nullopt;
        if (!k) {
            warnings.push_back(fmt::format("LLM key {} dropped: allowed a note and a mode, e.g. \"F# minor\"", clip(j["key"].dump(), 40)));
        } else {
            trySet("root", std::string(music::pitchClassName(k->root)), "key");
            if (k->hasMode) trySet("mode", std::string(music::modeName(k->mode)), "key");
        }
    }
    if (j.contains("genre") && j["genre"].is_string() && !j["genre"].get<std::string>().empty()) {
        std::string g = j["genre"].get<std::string>();
        // A genre name the interpreter knows maps to its style profile ("Deep House" -> deep_house).
        if (genreReader)
            if (const auto read = genreReader->interpret(g).config.genre; !read.empty()) g = read;
        std::transform(g.begin(), g.end(), g.begin(), [](unsigned char c) { return c == ' ' || c == '-' ? '_' : std::tolower(c); });
        if (!g.empty() && std::all_of(g.begin(), g.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '&'; }))
            trySet("genre", clip(g, 40), "genre");
        else
            warnings.push_back(fmt::format("LLM genre {} dropped: not a genre name", Json(clip(j["genre"].get<std::string>(), 40)).dump()));
    }
    if (j.contains("mood") && j["mood"].is_string()) {
        std::string m = j["mood"].get<std::string>();
        std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
        trySet("mood", clip(m, 40), "mood");
    }
    if (j.contains("instrumentation")) {
        std::vector<std::string> names;
        if (j["instrumentation"].is_array()) {
            for (const auto& n : j["instrumentation"])
                if (n.is_string() && !n.get<std::string>().empty()) names.push_back(clip(n.get<std::string>(), 40));
        } else if (j["instrumentation"].is_string()) {
            std::string s = j["instrumentation"];
            for (std::size_t p = 0; p <= s.size();) {
                auto q = s.find(',', p);
                if (q == std::string::npos) q = s.size();
                const auto a = s.find_first_not_of(' ', p);
                if (a < q) names.push_back(clip(s.substr(a, q - a), 40));
                p = q + 1;
            }
            warnings.push_back("LLM instrumentation was a string; split at commas");
        }
        trySet("instrumentation", names, "instrumentation");
    }
    // Metadata.
    if (j.contains("title") && j["title"].is_string()) metadata["title"] = clip(j["title"].get<std::string>(), 80);
    if (j.contains("reasoning") && j["reasoning"].is_string()) metadata["reasoning"] = clip(j["reasoning"].get<std::string>(), 600);
    Json palettes = Json::array();
    if (j.contains("palettes") && j["palettes"].is_array()) {
        for (const auto& p : j["palettes"]) {
            if (!p.is_object() || !p.contains("colors") || !p["colors"].is_array()) continue;
            Json colours = Json::array();
            for (const auto& c : p["colors"]) {
                if (!c.is_string()) continue;
                if (const auto hex = repairColour(c.get<std::string>())) colours.push_back(*hex);
                else warnings.push_back(fmt::format("LLM colour {} dropped: allowed #rrggbb", clip(c.dump(), 30)));
            }
            if (!colours.empty())
                palettes.push_back({{"name", p.contains("name") && p["name"].is_string() ? clip(p["name"].get<std::string>(), 40) : "palette"},
                                    {"colors", colours}});
        }
    }
    metadata["palettes"] = palettes;
    return cfg;
}

std::optional<std::string> applyStructure(const std::string& answer, const music::MusicConfig& config, double durationSeconds,
                                          std::vector<std::string>& warnings) {
    auto parsed = extractJson(sanitizeUtf8(answer));
    if (!parsed) {
        warnings.push_back("LLM structure is not JSON; the arranger chose the form");
        return std::nullopt;
    }
    Json list = parsed->is_object() && parsed->contains("sections") ? (*parsed)["sections"] : *parsed;
    if (!list.is_array()) {
        warnings.push_back("LLM structure has no list of sections; the arranger chose the form");
        return std::nullopt;
    }
    Json out = Json::array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const Json& e = list[i];
        if (!e.is_object()) continue;
        const Json name = e.contains("section") ? e["section"] : e.contains("name") ? e["name"] : Json();
        const auto kind = name.is_string() ? repairSection(name.get<std::string>()) : std::nullopt;
        const Json dur = e.contains("duration") ? e["duration"] : e.contains("seconds") ? e["seconds"] : Json();
        const auto seconds = repairSeconds(dur);
        if (!kind || !seconds) {
            warnings.push_back(fmt::format("LLM section {} {} dropped: needs a section ({}) and a duration in seconds", i,
                                           clip(e.dump(), 60), fmt::join(music::sectionKinds(), ", ")));
            continue;
        }
        out.push_back({{"section", *kind}, {"duration", *seconds}});
    }
    if (out.empty()) {
        warnings.push_back("LLM structure had no usable section; the arranger chose the form");
        return std::nullopt;
    }
    try {
        compose::arrangeFromStructure(config, out.dump(), durationSeconds);
    } catch (const std::invalid_argument& e) {
        warnings.push_back(fmt::format("LLM structure rejected by the arranger ({}); the arranger chose the form", e.what()));
        return std::nullopt;
    }
    return out.dump();
}

LlmComposition composeWithLlm(LlmClient& client, const interpret::Interpreter& interpreter, const std::string& prompt,
                              double durationSeconds, bool wantStructure) {
    LlmComposition r;
    const auto meaning = interpreter.interpret(prompt);
    if (!meaning.warning.empty()) r.warnings.push_back(meaning.warning);  // a damaged snapshot, read past
    r.config = meaning.config;
    r.metadata = {{"prompt", prompt}, {"endpoint", client.settings().baseUrl}};
    const auto deadline = client.deadline();  // one timeout for the whole exchange
    std::string model;
    try {
        model = client.model(deadline);
        r.metadata["model"] = model;
        ChatRequest req;
        req.system = systemPrompt();
        req.user = prompt;
        req.schemaJson = deconstructionSchema();
        req.schemaName = "soundstar_music";
        req.maxTokens = client.settings().maxTokens;
        req.seed = meaning.config.seed;
        const std::string answer = client.chat(req, deadline);
        r.metadata["llm_answer"] = clip(answer, 20000);  // as received, for whoever tunes a model or a prompt
        Json meta = Json::object();
        if (auto cfg = applyDeconstruction(answer, meaning.config, meaning.explicitFields, &interpreter, meta, r.warnings)) {
            r.config = *cfg;
            r.configFromLlm = true;
            for (const auto& [k, v] : meta.items()) r.metadata[k] = v;
            r.notes.push_back(fmt::format("the LLM ({}) chose the config; the prompt's explicit words kept", model));
        } else {
            std::string why;
            try {
                const auto parsedAnyway = music::parseJsonBounded(sanitizeUtf8(answer), "the answer", {kMaxAnswerBytes, 64});
                why = parsedAnyway.is_object() ? "" : "not an object";
            } catch (const std::invalid_argument& e) {
                why = e.what();
            }
            r.warnings.push_back(fmt::format("the LLM's answer holds no usable JSON object ({}; it begins {}); used the embedded interpreter",
                                             why.empty() ? "not an object" : why, Json(clip(answer, 60)).dump()));
        }
    } catch (const LlmError& e) {
        r.warnings.push_back(fmt::format("LLM unavailable: {}; used the embedded interpreter", e.what()));
    }
    if (wantStructure && r.configFromLlm) {
        try {
            ChatRequest req;
            req.system = "You plan the form of a piece of music. Answer with JSON: {\"sections\": [{\"section\": one of " +
                         fmt::format("{}", fmt::join(music::sectionKinds(), ", ")) +
                         ", \"duration\": seconds}, ...]} whose durations add up to the requested length.";
            req.user = fmt::format("{} ({:.0f} seconds)", prompt, durationSeconds);
            req.schemaJson = structureSchema();
            req.schemaName = "soundstar_structure";
            req.maxTokens = std::min(1024, client.settings().maxTokens);
            req.seed = meaning.config.seed;
            if (auto s = applyStructure(client.chat(req, deadline), r.config, durationSeconds, r.warnings)) {
                r.structure = *s;
                r.structureFromLlm = true;
                r.notes.push_back("the LLM planned the sections");
            }
        } catch (const LlmError& e) {
            r.warnings.push_back(fmt::format("LLM structure unavailable: {}; the arranger chose the form", e.what()));
        }
    }
    if (!r.metadata.contains("title") || r.metadata["title"].get<std::string>().find_first_not_of(" \t") == std::string::npos)
        r.metadata["title"] = clip(prompt, 80);
    if (!r.metadata.contains("reasoning")) r.metadata["reasoning"] = "";
    if (!r.metadata.contains("palettes")) r.metadata["palettes"] = Json::array();
    r.metadata["source"] = r.configFromLlm ? "llm" : "interpreter";
    r.metadata["structure_source"] = r.structureFromLlm ? "llm" : "arranger";
    r.metadata["warnings"] = r.warnings;
    return r;
}

}  // namespace soundstar::llm

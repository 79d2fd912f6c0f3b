#include "engine/Preset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "engine/Instruments.h"

namespace soundstar::engine {
namespace {
using nlohmann::json;

std::vector<std::pair<std::string, float>> readParams(const json& j, const std::string& where) {
    std::vector<std::pair<std::string, float>> out;
    if (!j.is_object()) throw std::invalid_argument(fmt::format("{}: \"params\" must be an object of numbers", where));
    for (const auto& [k, v] : j.items()) {
        if (!v.is_number())
            throw std::invalid_argument(fmt::format("{}: parameter '{}' must be a number, got {}", where, k, v.dump()));
        out.emplace_back(k, v.get<float>());
    }
    return out;
}

void checkKeys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
    for (const auto& [k, v] : j.items()) {
        bool ok = false;
        for (const char* a : allowed) ok = ok || k == a;
        if (!ok)
            throw std::invalid_argument(
                fmt::format("{}: unknown key '{}'; allowed: {}", where, k, fmt::join(allowed, ", ")));
    }
}
}  // namespace

Preset parsePreset(const std::string& text, const std::string& origin) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw std::invalid_argument(fmt::format("{}: not valid JSON: {}", origin, e.what()));
    }
    if (!j.is_object()) throw std::invalid_argument(fmt::format("{}: a preset must be a JSON object", origin));
    checkKeys(j, {"instrument", "description", "options", "params", "effects", "fallback"}, origin);
    if (!j.contains("instrument") || !j["instrument"].is_string())
        throw std::invalid_argument(fmt::format("{}: \"instrument\" (a string) is required; one of {}", origin,
                                                fmt::join(instrumentKinds(), ", ")));
    Preset p;
    p.instrument = j["instrument"].get<std::string>();
    p.description = j.value("description", "");
    if (j.contains("params")) p.params = readParams(j["params"], origin);
    p.fallback = j.value("fallback", "");
    // Validate now: instrument kind, options (files must exist), parameter names and ranges.
    auto inst = makeInstrument(p.instrument);
    if (j.contains("options")) {
        if (!j["options"].is_object()) throw std::invalid_argument(fmt::format("{}: \"options\" must be an object of strings", origin));
        for (const auto& [k, v] : j["options"].items()) {
            if (!v.is_string()) throw std::invalid_argument(fmt::format("{}: option '{}' must be a string", origin, k));
            p.options.emplace_back(k, v.get<std::string>());
        }
    }
    for (const auto& [k, v] : p.options) {
        try {
            inst->setOption(k, v);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(fmt::format("{}: {}", origin, e.what()));
        }
    }
    for (const auto& [k, v] : p.params) checkParam(inst->params(), origin, k, v);
    if (j.contains("effects")) {
        if (!j["effects"].is_array()) throw std::invalid_argument(fmt::format("{}: \"effects\" must be an array", origin));
        for (const auto& e : j["effects"]) {
            if (!e.is_object() || !e.contains("type") || !e["type"].is_string())
                throw std::invalid_argument(fmt::format("{}: each effect needs a \"type\" string", origin));
            checkKeys(e, {"type", "params"}, origin + " effect");
            EffectSpec s{e["type"].get<std::string>(), {}};
            if (e.contains("params")) s.params = readParams(e["params"], origin + " effect " + s.type);
            auto fx = makeEffect(s.type);
            for (const auto& [k, v] : s.params) checkParam(fx->params(), origin + " " + s.type, k, v);
            p.effects.push_back(std::move(s));
        }
    }
    return p;
}

void PresetLibrary::loadDirectory(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir))
        throw std::invalid_argument(fmt::format("preset folder {} does not exist", dir.string()));
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        std::ifstream in(entry.path());
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string name = entry.path().stem().string();
        const std::string text = ss.str();
        try {
            Preset p = parsePreset(text, entry.path().string());
            p.name = name;
            presets_[p.name] = std::move(p);
        } catch (const std::invalid_argument& e) {
            // A preset whose files are missing falls back when it names a fallback; anything
            // else wrong with a preset file is an error.
            const auto j = nlohmann::json::parse(text, nullptr, false);
            if (j.is_object() && j.contains("fallback") && j["fallback"].is_string() &&
                std::string(e.what()).find("not found") != std::string::npos) {
                unavailable_[name] = e.what();
                fallbacks_[name] = j["fallback"].get<std::string>();
                continue;
            }
            throw;
        }
    }
    for (const auto& [name, fb] : fallbacks_)
        if (!presets_.count(fb))
            throw std::invalid_argument(fmt::format("preset '{}' falls back to '{}', which does not exist", name, fb));
}

const Preset& PresetLibrary::get(const std::string& name) const {
    if (const auto fb = fallbacks_.find(name); fb != fallbacks_.end()) return get(fb->second);
    const auto it = presets_.find(name);
    if (it == presets_.end())
        throw std::invalid_argument(fmt::format("no preset '{}'; known: {}", name, fmt::join(names(), ", ")));
    return it->second;
}

std::vector<std::string> PresetLibrary::names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : presets_) out.push_back(k);
    return out;
}

std::unique_ptr<Track> makePresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb, float pan, bool withEffects) {
    auto instrument = makeInstrument(p.instrument);
    for (const auto& [k, v] : p.options) instrument->setOption(k, v);
    auto t = c.makeTrack(std::move(trackName), std::move(instrument), gainDb, pan);
    for (const auto& [k, v] : p.params) setTrackParam(*t, -1, k, v);
    for (const auto& e : p.effects) {
        if (!withEffects) break;
        t->effects.push_back(makeEffect(e.type));
        for (const auto& [k, v] : e.params) setTrackParam(*t, static_cast<int>(t->effects.size()) - 1, k, v);
    }
    return t;
}

int addPresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb, float pan, bool withEffects) {
    auto instrument = makeInstrument(p.instrument);
    for (const auto& [k, v] : p.options) instrument->setOption(k, v);
    const int t = c.addTrack(std::move(trackName), std::move(instrument), gainDb, pan);
    for (const auto& [k, v] : p.params) c.setInitialParam(t, -1, k, v);
    for (const auto& e : p.effects) {
        if (!withEffects) break;
        const int slot = c.addEffect(t, makeEffect(e.type));
        for (const auto& [k, v] : e.params) c.setInitialParam(t, slot, k, v);
    }
    return t;
}

}  // namespace soundstar::engine

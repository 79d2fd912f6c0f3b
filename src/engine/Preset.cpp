#include "engine/Preset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/JsonFiles.h"
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
    const auto named = [&](auto make, const std::string& what) {  // the file named in the error
        try {
            return make(what);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(fmt::format("{}: {}", origin, e.what()));
        }
    };
    auto inst = named([](const std::string& k) { return makeInstrument(k); }, p.instrument);
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
            auto fx = named([](const std::string& k) { return makeEffect(k); }, s.type);
            for (const auto& [k, v] : s.params) checkParam(fx->params(), origin + " " + s.type, k, v);
            p.effects.push_back(std::move(s));
        }
    }
    return p;
}


void PresetLibrary::readLocked(const std::string& name, const std::filesystem::path& file) const {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    try {
        Preset p = parsePreset(text, file.string());
        p.name = name;
        presets_[name] = std::move(p);
    } catch (const std::invalid_argument& e) {
        // A preset whose files are missing falls back when it names a fallback; anything
        // else wrong with a preset file is an error.
        const auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_object() && j.contains("fallback") && j["fallback"].is_string() &&
            std::string(e.what()).find("not found") != std::string::npos) {
            unavailable_[name] = e.what();
            fallbacks_[name] = j["fallback"].get<std::string>();
            return;
        }
        throw;
    }
}

void PresetLibrary::readAllLocked() const {
    while (!files_.empty()) {
        const auto [name, file] = *files_.begin();
        readLocked(name, file);  // a bad file stays listed: it throws again next time
        files_.erase(name);
    }
    for (const auto& [name, fb] : fallbacks_)
        if (!presets_.count(fb))
            throw std::invalid_argument(fmt::format("preset '{}' falls back to '{}', which does not exist", name, fb));
}

void PresetLibrary::loadDirectory(const std::filesystem::path& dir) {
    auto files = core::jsonFilesByName(dir, "preset");
    std::lock_guard lock(*mutex_);
    files_.merge(files);
    readAllLocked();
}

void PresetLibrary::indexDirectory(const std::filesystem::path& dir) {
    auto files = core::jsonFilesByName(dir, "preset");
    std::lock_guard lock(*mutex_);
    for (auto& [name, file] : files) {
        presets_.erase(name);
        unavailable_.erase(name);
        fallbacks_.erase(name);
        files_[name] = std::move(file);
    }
}

void PresetLibrary::readIfListedLocked(const std::string& name) const {
    if (const auto f = files_.find(name); f != files_.end()) {
        readLocked(name, f->second);  // a bad file stays listed: it throws again next time
        files_.erase(f);
    }
}

const Preset* PresetLibrary::findLocked(const std::string& name, int depth) const {
    readIfListedLocked(name);
    if (const auto fb = fallbacks_.find(name); fb != fallbacks_.end()) {
        if (depth > 0) return nullptr;  // a fallback that is itself unavailable: the caller names both
        const Preset* p = findLocked(fb->second, depth + 1);
        if (!p) throw std::invalid_argument(fmt::format("preset '{}' falls back to '{}', which does not exist", name, fb->second));
        return p;
    }
    const auto it = presets_.find(name);
    return it == presets_.end() ? nullptr : &it->second;
}

const Preset& PresetLibrary::get(const std::string& name) const {
    std::lock_guard lock(*mutex_);
    if (const Preset* p = findLocked(name, 0)) return *p;
    readAllLocked();  // the error lists every name
    std::vector<std::string> known;
    for (const auto& [k, v] : presets_) known.push_back(k);
    throw std::invalid_argument(fmt::format("no preset '{}'; known: {}", name, fmt::join(known, ", ")));
}

bool PresetLibrary::has(const std::string& name) const {
    std::lock_guard lock(*mutex_);
    readIfListedLocked(name);
    return presets_.count(name) > 0;
}

std::vector<std::string> PresetLibrary::names() const {
    std::lock_guard lock(*mutex_);
    readAllLocked();
    std::vector<std::string> out;
    for (const auto& [k, v] : presets_) out.push_back(k);
    return out;
}

std::map<std::string, std::string> PresetLibrary::unavailable() const {
    std::lock_guard lock(*mutex_);
    readAllLocked();
    return unavailable_;
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

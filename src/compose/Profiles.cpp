#include "compose/Profiles.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/JsonFiles.h"
#include "music/Arrangement.h"

namespace soundstar::compose {
namespace {
using nlohmann::json;
}

const std::vector<std::string>& grooveNames() {
    static const std::vector<std::string> g{"four_on_floor", "breakbeat", "boom_bap", "half_time", "two_step", "rock"};
    return g;
}

namespace {
StyleProfile parseProfileFile(const std::filesystem::path& file) {
    const std::string origin = file.string();
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        throw std::invalid_argument(fmt::format("{}: not valid JSON: {}", origin, e.what()));
    }
    if (!j.is_object()) throw std::invalid_argument(origin + ": a profile must be a JSON object");
    for (const auto& [k, v] : j.items())
        if (k != "description" && k != "config" && k != "groove" && k != "presets" && k != "effects" && k != "dj")
            throw std::invalid_argument(
                fmt::format("{}: unknown key '{}'; allowed: description, config, groove, presets, effects, dj", origin, k));
    StyleProfile p;
    p.name = file.stem().string();
    p.description = j.value("description", "");
    if (!j.contains("config") || !j["config"].is_object())
        throw std::invalid_argument(origin + ": \"config\" (a MusicConfig object) is required");
    p.configJson = j["config"].dump();
    music::parseMusicConfig(p.configJson, origin);  // validates every field
    if (j.contains("groove")) {
        if (!j["groove"].is_string() ||
            std::find(grooveNames().begin(), grooveNames().end(), j["groove"].get<std::string>()) == grooveNames().end())
            throw std::invalid_argument(fmt::format("{}: \"groove\" must be one of {}", origin, fmt::join(grooveNames(), ", ")));
        p.groove = j["groove"].get<std::string>();
    }
    if (j.contains("presets")) {
        if (!j["presets"].is_object()) throw std::invalid_argument(origin + ": \"presets\" must map layer names to preset names");
        for (const auto& [layer, preset] : j["presets"].items()) {
            const auto& layers = music::layerNames();
            if (std::find(layers.begin(), layers.end(), layer) == layers.end() || !preset.is_string())
                throw std::invalid_argument(fmt::format("{}: presets: '{}' is not a layer ({}) with a preset name", origin,
                                                        layer, fmt::join(layers, ", ")));
            p.presets[layer] = preset.get<std::string>();
        }
    }
    if (j.contains("effects")) {
        const auto bad = [&](const std::string& why) { throw std::invalid_argument(fmt::format("{}: effects: {}", origin, why)); };
        if (!j["effects"].is_object()) bad("must map layer names to lists of {\"type\": ..., \"params\": {...}}");
        for (const auto& [layer, list] : j["effects"].items()) {
            const auto& layers = music::layerNames();
            if (std::find(layers.begin(), layers.end(), layer) == layers.end()) bad(fmt::format("'{}' is not a layer", layer));
            if (!list.is_array()) bad(fmt::format("'{}' must be a list", layer));
            for (const auto& e : list) {
                if (!e.is_object() || !e.contains("type") || !e["type"].is_string()) bad("each effect needs a \"type\"");
                music::TrackEffect fx{e["type"].get<std::string>(), {}};
                if (e.contains("params")) {
                    if (!e["params"].is_object()) bad("\"params\" must be an object of numbers");
                    for (const auto& [k, v] : e["params"].items()) {
                        if (!v.is_number()) bad(fmt::format("parameter '{}' must be a number", k));
                        fx.params.emplace_back(k, v.get<float>());
                    }
                }
                p.effects[layer].push_back(std::move(fx));
            }
        }
    }
    if (j.contains("dj")) {
        if (!j["dj"].is_object()) throw std::invalid_argument(origin + ": \"dj\" must be an object (what the DJ needs: see src/dj/DjProfile.h)");
        p.djJson = j["dj"].dump();
    }
    return p;
}

}  // namespace

void ProfileLibrary::loadDirectory(const std::filesystem::path& dir) {
    for (const auto& [name, file] : core::jsonFilesByName(dir, "profile")) {
        auto p = parseProfileFile(file);
        std::lock_guard lock(*mutex_);
        files_.erase(name);
        profiles_[name] = std::move(p);
    }
}

void ProfileLibrary::indexDirectory(const std::filesystem::path& dir) {
    for (auto& [name, file] : core::jsonFilesByName(dir, "profile")) {
        std::lock_guard lock(*mutex_);
        profiles_.erase(name);
        files_[name] = std::move(file);
    }
}

const StyleProfile* ProfileLibrary::find(const std::string& name) const {
    std::lock_guard lock(*mutex_);
    if (const auto it = profiles_.find(name); it != profiles_.end()) return &it->second;
    const auto file = files_.find(name);
    if (file == files_.end()) return nullptr;
    auto p = parseProfileFile(file->second);  // a bad file throws here, when first used, and again next time
    files_.erase(file);
    return &profiles_.emplace(name, std::move(p)).first->second;
}

std::vector<std::string> ProfileLibrary::names() const {
    std::lock_guard lock(*mutex_);
    std::set<std::string> out;
    for (const auto& [k, v] : profiles_) out.insert(k);
    for (const auto& [k, v] : files_) out.insert(k);
    return {out.begin(), out.end()};
}

bool mayFill(const std::string& field, const std::set<std::string>& keep) {
    if (field == "key") return !keep.count("key") && !keep.count("root") && !keep.count("mode");
    if (field == "bpm" || field == "tempo") return !keep.count("bpm") && !keep.count("tempo");
    return !keep.count(field);
}

music::MusicConfig applyProfile(const music::MusicConfig& config, const StyleProfile& profile, const std::set<std::string>& keep) {
    const json defaults = json::parse(music::toJson(music::MusicConfig{}));
    const json current = json::parse(music::toJson(config));
    const json fragment = json::parse(profile.configJson);
    json fill = json::object();
    for (const auto& [k, v] : fragment.items()) {
        const bool atDefault = k == "key" ? (config.root == 0 && config.mode == music::MusicConfig{}.mode)
                                          : (!current.contains(k) || (defaults.contains(k) && current[k] == defaults[k]));
        if (atDefault && mayFill(k, keep)) fill[k] = v;
    }
    if (fill.contains("bpm") && !fill.contains("tempo")) fill["tempo"] = music::tempoLabelFor(fill["bpm"].get<double>());
    return music::mergeMusicConfig(config, fill.dump(), "profile " + profile.name);
}

}  // namespace soundstar::compose

#include "dj/DjProfile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "music/Arrangement.h"
#include "music/JsonText.h"
#include "music/MusicConfig.h"

namespace soundstar::dj {
namespace {
using nlohmann::json;

bool isOneOf(const std::string& s, const std::vector<std::string>& allowed) { return std::find(allowed.begin(), allowed.end(), s) != allowed.end(); }

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: dj: {}", origin, what), 1900));
}

std::string shown(const json& v) { return music::clipText(v.dump(), 60); }

std::string nameIn(const json& v, const std::vector<std::string>& allowed, const std::string& origin, const std::string& field) {
    if (!v.is_string() || !isOneOf(v.get<std::string>(), allowed))
        fail(origin, fmt::format("{} = {} is invalid: allowed {}", field, shown(v), fmt::join(allowed, ", ")));
    return v.get<std::string>();
}

double numberIn(const json& v, double lo, double hi, const std::string& origin, const std::string& field) {
    if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi))
        fail(origin, fmt::format("{} = {} is invalid: allowed a number from {} to {}", field, shown(v), lo, hi));
    return v.get<double>();
}

void readRoles(const json& j, DjProfile& p, const std::string& origin) {
    if (!j.is_array() || j.empty() || j.size() > kMaxRoles) fail(origin, fmt::format("\"roles\" must be a list of 1 to {} roles", kMaxRoles));
    for (std::size_t i = 0; i < j.size(); ++i) {
        const auto& r = j[i];
        const std::string at = fmt::format("roles[{}]", i);
        if (!r.is_object()) fail(origin, at + " must be an object {\"layer\", \"role\", \"phases\"}");
        for (const auto& [k, v] : r.items())
            if (k != "layer" && k != "role" && k != "phases") fail(origin, fmt::format("{}: unknown key '{}'; allowed: layer, role, phases", at, music::clipText(k, 40)));
        DjRole role;
        role.layer = nameIn(r.value("layer", json()), music::layerNames(), origin, at + ".layer");
        for (const auto& other : p.roles)
            if (other.layer == role.layer) fail(origin, fmt::format("{}: layer '{}' has a role already (one role per layer)", at, role.layer));
        if (!r.contains("role") || !r["role"].is_string() || r["role"].get<std::string>().empty() || r["role"].get<std::string>().size() > 200)
            fail(origin, at + ".role must be a description of 1 to 200 bytes");
        role.role = r["role"].get<std::string>();
        // One kick role and one bass role: a kick is the drums' part, a bass line the bass's.
        std::string words = " ";
        for (const char c : role.role) words += std::isalpha(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : ' ';
        words += ' ';
        for (const auto& [word, layer] : {std::pair<const char*, const char*>{"kick", "drums"}, {"bass", "bass"}, {"bassline", "bass"}})
            if (words.find(std::string(" ") + word + " ") != std::string::npos && role.layer != layer)
                fail(origin, fmt::format("{}.role: '{}' is a {} role on layer '{}'; allowed one kick role (on drums) and one bass role (on bass)", at,
                                         music::clipText(role.role, 60), std::string(word) == "kick" ? "kick" : "bass", role.layer));
        if (!r.contains("phases") || !r["phases"].is_array() || r["phases"].empty() || r["phases"].size() > phaseNames().size())
            fail(origin, fmt::format("{}.phases must be a list of 1 to 5 of {}", at, fmt::join(phaseNames(), ", ")));
        for (const auto& ph : r["phases"]) role.phases.push_back(nameIn(ph, phaseNames(), origin, at + ".phases"));
        p.roles.push_back(std::move(role));
    }
}

void readPlan(const json& j, DjProfile& p, const std::string& origin) {
    if (!j.is_array() || j.empty() || j.size() > kMaxPlanSteps) fail(origin, fmt::format("\"plan\" must be a list of 1 to {} phases", kMaxPlanSteps));
    for (std::size_t i = 0; i < j.size(); ++i) {
        const auto& s = j[i];
        const std::string at = fmt::format("plan[{}]", i);
        if (!s.is_object() || s.size() != 2 || !s.contains("phase") || !s.contains("bars"))
            fail(origin, at + " must be {\"phase\": NAME, \"bars\": N}");
        DjPhaseStep step;
        step.phase = nameIn(s["phase"], phaseNames(), origin, at + ".phase");
        const double bars = numberIn(s["bars"], kPhraseBars, kMaxPhaseBars, origin, at + ".bars");
        if (bars != std::floor(bars) || static_cast<int>(bars) % kPhraseBars != 0)
            fail(origin, fmt::format("{}.bars = {} is invalid: allowed whole phrases (a multiple of {}) from {} to {}", at, bars, kPhraseBars, kPhraseBars, kMaxPhaseBars));
        step.bars = static_cast<int>(bars);
        p.plan.push_back(step);
    }
}

void readEnergy(const json& j, DjProfile& p, const std::string& origin) {
    if (!j.is_object()) fail(origin, fmt::format("\"energy\" must map every phase ({}) to [start, end] on 0..1", fmt::join(phaseNames(), ", ")));
    for (const auto& [k, v] : j.items()) nameIn(json(k), phaseNames(), origin, "energy key");
    for (std::size_t i = 0; i < phaseNames().size(); ++i) {
        const std::string& ph = phaseNames()[i];
        if (!j.contains(ph) || !j[ph].is_array() || j[ph].size() != 2) fail(origin, fmt::format("energy.{} must be [start, end] on 0..1", ph));
        for (std::size_t e = 0; e < 2; ++e) p.energy[i][e] = numberIn(j[ph][e], 0.0, 1.0, origin, fmt::format("energy.{}[{}]", ph, e));
    }
}
}  // namespace

const std::vector<std::string>& phaseNames() {
    static const std::vector<std::string> k{"intro", "build", "drop", "breakdown", "outro"};
    return k;
}

const std::vector<std::string>& effectNames() {
    static const std::vector<std::string> k{"filter_sweep", "echo_throw", "reverb_wash"};
    return k;
}

const std::array<double, 2>& DjProfile::energyOf(const std::string& phase) const {
    const auto it = std::find(phaseNames().begin(), phaseNames().end(), phase);
    return energy[it == phaseNames().end() ? 0 : static_cast<std::size_t>(it - phaseNames().begin())];
}

bool DjProfile::plays(const std::string& layer, const std::string& phase) const {
    for (const auto& r : roles)
        if (r.layer == layer) return isOneOf(phase, r.phases);
    return false;
}

DjProfile parseDjProfile(const std::string& djJson, const compose::StyleProfile& style, const std::string& origin) {
    if (djJson.size() > 64 * 1024) fail(origin, "the \"dj\" object is limited to 64 KiB");
    json j;
    try {
        j = json::parse(djJson, nullptr, true, false);
    } catch (const json::exception& e) {
        fail(origin, fmt::format("not valid JSON: {}", e.what()));
    }
    if (!j.is_object()) fail(origin, "must be an object with tempo, roles, plan, energy, effects");
    for (const auto& [k, v] : j.items())
        if (!isOneOf(k, {"tempo", "roles", "plan", "energy", "effects"}))
            fail(origin, fmt::format("unknown key '{}'; allowed: tempo, roles, plan, energy, effects", music::clipText(k, 40)));
    for (const char* k : {"tempo", "roles", "plan", "energy", "effects"})
        if (!j.contains(k)) fail(origin, fmt::format("\"{}\" is required (tempo, roles, plan, energy, effects)", k));
    DjProfile p;
    p.name = style.name;
    p.style = style;
    if (!j["tempo"].is_array() || j["tempo"].size() != 2) fail(origin, "\"tempo\" must be [lowest, highest] bpm");
    p.minBpm = numberIn(j["tempo"][0], music::kMinBpm, music::kMaxBpm, origin, "tempo[0]");
    p.maxBpm = numberIn(j["tempo"][1], p.minBpm, music::kMaxBpm, origin, "tempo[1]");
    readRoles(j["roles"], p, origin);
    readPlan(j["plan"], p, origin);
    readEnergy(j["energy"], p, origin);
    for (const auto& step : p.plan)
        if (std::none_of(p.roles.begin(), p.roles.end(), [&](const DjRole& r) { return isOneOf(step.phase, r.phases); }))
            fail(origin, fmt::format("the plan's phase '{}' has no role that plays in it (a role's \"phases\" must list it)", step.phase));
    if (!j["effects"].is_array() || j["effects"].size() > effectNames().size())
        fail(origin, fmt::format("\"effects\" must be a list of at most {} of {}", effectNames().size(), fmt::join(effectNames(), ", ")));
    for (const auto& e : j["effects"]) p.effects.push_back(nameIn(e, effectNames(), origin, "effects"));
    if (!style.configJson.empty()) {
        const double bpm = music::parseMusicConfig(style.configJson, origin).resolvedBpm();
        if (bpm < p.minBpm || bpm > p.maxBpm) fail(origin, fmt::format("the profile's tempo {} bpm is outside its tempo range {} to {}", bpm, p.minBpm, p.maxBpm));
    }
    return p;
}

std::vector<DjProfile> djProfiles(const compose::ProfileLibrary& library) {
    std::vector<DjProfile> out;
    for (const auto& name : library.names()) {
        const auto* style = library.find(name);
        if (style && !style->djJson.empty()) out.push_back(parseDjProfile(style->djJson, *style, "profile " + name));
    }
    return out;
}

DjProfile djProfile(const compose::ProfileLibrary& library, const std::string& name) {
    const auto* style = library.find(name);
    if (!style || style->djJson.empty()) {
        std::vector<std::string> names;
        for (const auto& n : library.names())
            if (library.find(n)->djJson.size() > 0) names.push_back(n);
        throw std::invalid_argument(fmt::format("'{}' is not a DJ profile; allowed: {}", music::clipText(name, 60), fmt::join(names, ", ")));
    }
    return parseDjProfile(style->djJson, *style, "profile " + name);
}

}  // namespace soundstar::dj

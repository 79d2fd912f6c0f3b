#include "dj/DjAnswer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "dj/DjGenLoop.h"
#include "dj/DjStyles.h"
#include "live/Steering.h"
#include "llm/Repair.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::dj {
namespace {
using nlohmann::json;

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument(music::clipText("the LLM's answer: " + what, 1900)); }

std::string field(const json& a, const char* name, const std::string& at) {
    if (!a.contains(name) || !a[name].is_string()) refuse(fmt::format("{} needs \"{}\" (a string)", at, name));
    return a[name].get<std::string>();
}

std::string oneOf(const std::string& v, const std::vector<std::string>& allowed, const std::string& at) {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
        refuse(fmt::format("{}: '{}' is not allowed; allowed: {}", at, music::clipText(v, 40), fmt::join(allowed, ", ")));
    return v;
}

/// An optional number in [lo, hi] (absent: nullopt).
std::optional<double> number(const json& a, const char* name, double lo, double hi, const std::string& at) {
    if (!a.contains(name)) return std::nullopt;
    if (!a[name].is_number() || !(a[name].get<double>() >= lo && a[name].get<double>() <= hi))
        refuse(fmt::format("{}.{} must be a number from {:g} to {:g}", at, name, lo, hi));
    return a[name].get<double>();
}

int barsOf(const json& a, const std::string& at) {
    const int bars = a.contains("bars") && a["bars"].is_number_integer() ? a["bars"].get<int>() : -1;
    if (bars != 1 && bars != 2 && bars != 4 && bars != 8) refuse(at + ".bars must be 1, 2, 4 or 8");
    return bars;
}

/// A replace_layer action: the role (a layer or a role word of one of the profile's layers with
/// styles), what it should sound like, over how many bars, and its trim.
DjReplace replaceOf(const json& a, const std::vector<std::string>& roles, const std::string& profile, const std::string& at) {
    const std::string role = field(a, "role", at);
    DjReplace r;
    r.layer = layerForRole(role);
    std::vector<std::string> styled;
    for (const auto& l : roles)
        if (!styleFieldOf(l).empty()) styled.push_back(l);
    if (std::find(styled.begin(), styled.end(), r.layer) == styled.end())
        refuse(fmt::format("{}.role: '{}' is not a layer of {} with styles; allowed: {} (or kick, hats, sub, chords, melody, fx for them)", at,
                           music::clipText(role, 40), profile, fmt::join(styled, ", ")));
    r.description = field(a, "description", at);
    // The schema's one description field is generate_loop's length; a replacement takes as much.
    if (r.description.empty() || r.description.size() > kMaxLoopDescriptionBytes)
        refuse(fmt::format("{}.description must be 1 to {} bytes", at, kMaxLoopDescriptionBytes));
    r.bars = barsOf(a, at);
    r.intensity = number(a, "intensity", 0.0, 1.0, at).value_or(0.5);
    if (const auto v = number(a, "volume", -24.0, 6.0, at)) r.gainDb = static_cast<float>(*v);
    if (const auto p = number(a, "pan", -1.0, 1.0, at)) r.pan = static_cast<float>(*p);
    return r;
}
}  // namespace

const std::vector<std::string>& rampParameters() {
    static const std::vector<std::string> names{"space", "echo", "motion", "stereo"};
    return names;
}

namespace {
std::vector<std::string> actionTypes() {
    return {"add_layer", "remove_layer", "replace_layer", "set_phase", "ramp", "effect", "speak", "generate_loop", "set_key", "set_tempo"};
}
std::vector<std::string> rampable() {
    std::vector<std::string> names{"energy"};
    names.insert(names.end(), rampParameters().begin(), rampParameters().end());
    return names;
}
}  // namespace

DjAnswer parseDjAnswer(const std::string& answer, const DjProfile& profile) {
    if (answer.size() > 64 * 1024) refuse("over 64 KiB");
    const auto parsed = llm::extractJson(llm::sanitizeUtf8(answer));
    if (!parsed || !parsed->is_object() || !parsed->contains("actions") || !(*parsed)["actions"].is_array())
        refuse("not a JSON object {\"actions\": [...]}");
    const json& actions = (*parsed)["actions"];
    if (actions.size() > kMaxActions) refuse(fmt::format("{} actions; allowed at most {}", actions.size(), kMaxActions));
    std::vector<std::string> roles;
    for (const auto& r : profile.roles) roles.push_back(r.layer);
    DjAnswer out;
    out.move.why = "llm";
    std::vector<std::string> touched;  // each layer moves once per answer
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const json& a = actions[i];
        const std::string at = fmt::format("actions[{}]", i);
        if (!a.is_object()) refuse(at + " must be an object with a \"type\"");
        const std::string type = oneOf(field(a, "type", at), actionTypes(), at + ".type");
        const auto touch = [&](const std::string& layer) {  // each layer moves once; one kick role, one bass role
            if (std::find(touched.begin(), touched.end(), layer) == touched.end()) return touched.push_back(layer);
            const std::string low = lowRoleOf(layer);
            refuse(fmt::format("{}: '{}' moves twice{} (one action per layer: one kick role, the drums; one bass role, the bass)", at, layer,
                               low.empty() ? "" : ", the " + low + " role"));
        };
        if (type == "add_layer" || type == "remove_layer") {
            const std::string layer = oneOf(field(a, "layer", at), roles, at + ".layer (" + profile.name + "'s roles)");
            touch(layer);
            (type == "add_layer" ? out.move.add : out.move.remove).push_back(layer);
        } else if (type == "replace_layer") {
            auto r = replaceOf(a, roles, profile.name, at);
            touch(r.layer);
            out.move.replace.push_back(std::move(r));
        } else if (type == "set_phase") {
            out.move.phase = oneOf(field(a, "phase", at), phaseNames(), at + ".phase");
        } else if (type == "ramp") {
            const std::string parameter = oneOf(field(a, "parameter", at), rampable(), at + ".parameter");
            if (!a.contains("to") || !a["to"].is_number() || !(a["to"].get<double>() >= 0.0 && a["to"].get<double>() <= 1.0))
                refuse(at + ".to must be a number from 0 to 1");
            const int bars = barsOf(a, at);
            if (parameter == "energy") {
                out.move.energy = a["to"].get<double>();
                out.move.energyBars = bars;
            } else {
                if (std::any_of(out.ramps.begin(), out.ramps.end(), [&](const DjAnswer::Ramp& r) { return r.parameter == parameter; }))
                    refuse(fmt::format("{}: '{}' ramps twice; one ramp a parameter an answer", at, parameter));
                out.ramps.push_back({parameter, a["to"].get<double>(), bars});
            }
        } else if (type == "set_key") {
            if (out.key) refuse(at + ": a second set_key; at most one an answer");
            const std::string key = field(a, "key", at);
            if (key.empty() || key.size() > 40) refuse(at + ".key must be 1 to 40 bytes, e.g. \"F minor\"");
            try {  // read as `k` reads it (the live steering parser), here only to refuse garbage early
                const auto c = live::parseSteering("k " + key, music::MusicConfig{});
                if (!c.config) throw std::invalid_argument("not a key");
            } catch (const std::invalid_argument& e) {
                refuse(fmt::format("{}.key '{}' is no key ({}): a tonic and major or minor, e.g. \"F minor\", \"Eb\", \"C# dorian\"", at, music::clipText(key, 40),
                                   music::clipText(e.what(), 200)));
            }
            out.key = key;
        } else if (type == "set_tempo") {
            if (out.bpm) refuse(at + ": a second set_tempo; at most one an answer");
            const auto bpm = number(a, "bpm", 40.0, 220.0, at);
            if (!bpm) refuse(at + " needs \"bpm\" (a number from 40 to 220)");
            out.bpm = bpm;
        } else if (type == "effect") {
            out.move.effect = oneOf(field(a, "effect", at), effectNames(), at + ".effect");
        } else if (type == "generate_loop") {
            if (out.loop) refuse(at + ": a second generate_loop; at most one an answer (one loop is made at a time)");
            const std::string description = field(a, "description", at);
            if (description.empty() || description.size() > kMaxLoopDescriptionBytes)
                refuse(fmt::format("{}.description must be 1 to {} bytes", at, kMaxLoopDescriptionBytes));
            out.loop = DjAnswer::Loop{description, barsOf(a, at)};
        } else {
            const std::string text = field(a, "text", at);
            if (text.empty() || text.size() > 200) refuse(at + ".text must be 1 to 200 bytes");
            out.spoken.push_back(text);
        }
    }
    return out;
}

std::string djAnswerSchema() {
    json props = json::object();
    props["type"] = {{"type", "string"}, {"enum", actionTypes()}};
    props["role"] = {{"type", "string"}, {"maxLength", 40}};
    props["description"] = {{"type", "string"}, {"maxLength", kMaxLoopDescriptionBytes}};
    props["intensity"] = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
    props["volume"] = {{"type", "number"}, {"minimum", -24}, {"maximum", 6}};
    props["pan"] = {{"type", "number"}, {"minimum", -1}, {"maximum", 1}};
    props["layer"] = {{"type", "string"}, {"enum", music::layerNames()}};
    props["phase"] = {{"type", "string"}, {"enum", phaseNames()}};
    props["parameter"] = {{"type", "string"}, {"enum", rampable()}};
    props["key"] = {{"type", "string"}, {"maxLength", 40}};
    props["bpm"] = {{"type", "number"}, {"minimum", 40}, {"maximum", 220}};
    props["to"] = {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
    props["bars"] = {{"type", "integer"}, {"enum", {1, 2, 4, 8}}};
    props["effect"] = {{"type", "string"}, {"enum", effectNames()}};
    props["text"] = {{"type", "string"}, {"maxLength", 200}};
    json action = {{"type", "object"}, {"required", {"type"}}, {"properties", props}};
    json actions = {{"type", "array"}, {"maxItems", kMaxActions}, {"items", action}};
    json schema = {{"type", "object"}, {"required", {"actions"}}, {"additionalProperties", false}};
    schema["properties"] = {{"actions", actions}};
    return schema.dump();
}

std::string djPrompt(const DjBrain& brain, int bar, bool tempoFree) {
    std::string roles;
    for (const auto& r : brain.profile().roles) roles += fmt::format("- {}: {} (plays in {})\n", r.layer, r.role, fmt::join(r.phases, ", "));
    return fmt::format(
        "You are the DJ of a live {} set. Bar {}, phase {}, energy {:.2f}. Playing: {}.\nLayers you may use:\n{}"
        "Plan the next phrase (4 bars): answer {{\"actions\": [...]}} with at most {} of add_layer/remove_layer (layer), "
        "replace_layer (role, description of its new sound, bars 1/2/4/8, intensity 0..1, volume dB -24..6, pan -1..1), set_phase (phase), "
        "ramp (parameter {}, to 0..1, bars 1/2/4/8), effect ({}), speak (text), "
        "generate_loop (description of a loop for a model to make, bars 1/2/4/8; at most one), set_key (key, e.g. \"F minor\"; on the next phrase){}.",
        brain.profile().name, bar, brain.phase(), brain.energy(), brain.playing().empty() ? "nothing" : fmt::format("{}", fmt::join(brain.playing(), ", ")), roles,
        kMaxActions, fmt::join(rampable(), "/"), fmt::join(effectNames(), ", "),
        tempoFree ? fmt::format(", set_tempo (bpm {:g} to {:g})", brain.profile().minBpm, brain.profile().maxBpm) : std::string());
}

}  // namespace soundstar::dj

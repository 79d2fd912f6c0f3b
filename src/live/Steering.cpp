#include "live/Steering.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <stdexcept>

#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::live {
namespace {
// Short names people type for the scale fields: "+bright", "-space".
std::string fieldFor(const std::string& word) {
    static const std::vector<std::pair<std::string, std::string>> kShort{
        {"bright", "brightness"}, {"dark", "brightness"}, {"fast", "tempo"}, {"slow", "tempo"}, {"dense", "density"}};
    for (const auto& [shortName, field] : kShort)
        if (word == shortName) return field;
    for (const auto& f : music::musicConfigFields())
        if (f == word) return f;
    throw std::invalid_argument(fmt::format("'{}' is not a field to step; try brightness, space, motion, stereo, echo, human, attack, grain, "
                                            "density or tempo",
                                            word));
}

std::vector<std::string> parseLayers(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    const auto& known = music::layerNames();
    for (const auto& n : names) {
        if (n == "all" && names.size() == 1) return {};
        if (std::find(known.begin(), known.end(), n) == known.end())
            throw std::invalid_argument(fmt::format("'{}' is not a layer; allowed: {}, or all", music::clipText(n, 40), fmt::join(known, ", ")));
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    if (out.empty()) throw std::invalid_argument("name the layers that play, e.g. \"s drums,bass\" (or \"s all\")");
    return out;
}

std::vector<std::pair<std::string, double>> normalisedBlend(std::vector<std::pair<std::string, double>> parts) {
    if (parts.empty() || parts.size() > kMaxBlendParts)
        throw std::invalid_argument(fmt::format("a blend has 1 to {} parts; got {}", kMaxBlendParts, parts.size()));
    double sum = 0.0;
    for (const auto& [text, w] : parts) {
        if (text.empty() || text.size() > 500) throw std::invalid_argument("each part of a blend is a vibe of 1 to 500 characters");
        if (!std::isfinite(w) || w <= 0.0 || w > 1000.0)
            throw std::invalid_argument(fmt::format("blend weight {} for '{}' is not allowed: give a number above 0 and at most 1000", w, music::clipText(text, 60)));
        sum += w;
    }
    for (auto& part : parts) part.second /= sum;
    return parts;
}

}  // namespace

SteeringCommand parseSteering(const std::string& raw, const music::MusicConfig& current) {
    std::string line = raw;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
    if (line.size() > 2000) throw std::invalid_argument("a steering line is limited to 2000 characters");
    try {
        (void)nlohmann::json(line).dump();  // the strict UTF-8 check nlohmann applies when it writes
    } catch (const nlohmann::json::exception&) {
        throw std::invalid_argument("a steering line must be UTF-8 text");
    }
    SteeringCommand c;
    c.label = line;
    if (line.empty()) return c;
    if (line == "q") {
        c.quit = true;
        return c;
    }
    static const std::regex kStep(R"(([+-])([a-z_]+))"), kFieldValue(R"(([a-z_]+) +(\S+))");
    std::smatch m;
    if (line.front() == '{') {
        const auto j = music::parseJsonBounded(line, "steering JSON", {64 * 1024, 16});
        if (!j.is_object()) throw std::invalid_argument("steering JSON must be an object");
        int asks = 0;
        for (const auto& [k, v] : j.items()) {
            if (k != "at" && k != "vibe" && k != "vibes" && k != "config" && k != "update" && k != "layers" && k != "transition")
                throw std::invalid_argument(fmt::format("steering JSON: unknown field '{}'; allowed: at, vibe, vibes, config, update, layers, transition",
                                                        music::clipText(k, 60)));
            asks += k == "vibe" || k == "vibes" || k == "config" || k == "update" || k == "layers";
        }
        if (asks > 1) throw std::invalid_argument("steering JSON: give one of 'vibe', 'vibes', 'config', 'update' or 'layers', not several");
        if (j.contains("at")) {
            const auto& at = j["at"];
            if (at == "now") c.grid = Grid::Now;
            else if (at == "beat") c.grid = Grid::Beat;
            else if (at == "bar") c.grid = Grid::Bar;
            else if (at == "phrase") c.grid = Grid::Phrase;
            else if (at.is_object() && at.size() == 1 && at.contains("bar") && at["bar"].is_number_integer() && at["bar"].get<long long>() >= 0 &&
                     at["bar"].get<long long>() <= 1000000)
                c.atBar = at["bar"].get<long long>(), c.grid = Grid::Bar;
            else throw std::invalid_argument(fmt::format("steering JSON: 'at' = {} is invalid: allowed \"now\", \"beat\", \"bar\", \"phrase\" or {{\"bar\": N}} (N from 0 to 1000000)", music::quoteJson(at)));
        }
        if (j.contains("transition")) {
            const auto& t = j["transition"];
            if (t.is_string()) c.transition = parseTransition(t.get<std::string>());
            else if (t.is_number() && std::isfinite(t.get<double>()) && t.get<double>() >= 0.05 && t.get<double>() <= 600.0) c.transition = TransitionLength{t.get<double>(), 0};
            else throw std::invalid_argument(fmt::format("steering JSON: 'transition' = {} is invalid: allowed seconds from 0.05 to 600 or \"4bars\" (1 to 64 bars)", music::quoteJson(t)));
        }
        if (j.contains("vibe")) {
            if (!j["vibe"].is_string()) throw std::invalid_argument("steering JSON: 'vibe' must be text");
            c.vibeText = j["vibe"].get<std::string>();
        } else if (j.contains("vibes")) {
            const auto& parts = j["vibes"];
            if (!parts.is_array()) throw std::invalid_argument("steering JSON: 'vibes' is a list of [\"vibe\", weight] pairs");
            std::vector<std::pair<std::string, double>> blend;
            for (const auto& p : parts) {
                if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_number())
                    throw std::invalid_argument(fmt::format("steering JSON: a part of 'vibes' is [\"vibe\", weight]; got {}", music::quoteJson(p)));
                blend.emplace_back(p[0].get<std::string>(), p[1].get<double>());
                if (blend.size() > kMaxBlendParts) break;
            }
            c.blend = normalisedBlend(std::move(blend));
        } else if (j.contains("layers")) {
            const auto& l = j["layers"];
            std::vector<std::string> names;
            if (l == "all") names = {"all"};
            else if (l.is_array() && l.size() <= 16 && std::all_of(l.begin(), l.end(), [](const auto& x) { return x.is_string(); })) names = l.get<std::vector<std::string>>();
            else throw std::invalid_argument(fmt::format("steering JSON: 'layers' is \"all\" or a list of layer names ({})", fmt::join(music::layerNames(), ", ")));
            c.layers = parseLayers(names);
        } else if (j.contains("config")) {
            c.config = music::mergeMusicConfig(current, j["config"].dump(), "steering config");
        } else if (j.contains("update")) {
            c.config = music::applyUpdate(current, j["update"].dump(), "steering update");
        } else {
            throw std::invalid_argument("steering JSON: give 'vibe', 'vibes', 'config', 'update' or 'layers'");
        }
        return c;
    }
    if (line.rfind("s ", 0) == 0) {
        static const std::regex kSep(R"([,\s]+)");
        const std::string list = line.substr(2);
        std::vector<std::string> names;
        for (std::sregex_token_iterator it(list.begin(), list.end(), kSep, -1), e; it != e; ++it)
            if (it->length() > 0) names.push_back(*it);
        if (names.size() > 16) throw std::invalid_argument("s: at most 16 layer names");
        c.layers = parseLayers(names);
        return c;
    }
    if (line.rfind("blend ", 0) == 0) {
        static const std::regex kPart(R"(\s*(.*\S)\s+([0-9]{1,4}(\.[0-9]{1,6})?)\s*)");
        std::vector<std::pair<std::string, double>> blend;
        const std::string rest = line.substr(6);
        std::size_t from = 0;
        while (from <= rest.size() && blend.size() <= kMaxBlendParts) {
            const std::size_t comma = std::min(rest.find(',', from), rest.size());
            const std::string part = rest.substr(from, comma - from);
            if (!std::regex_match(part, m, kPart))
                throw std::invalid_argument(fmt::format("blend: '{}' is not \"VIBE WEIGHT\"; e.g. \"blend ambient drone 0.7, minimal techno 0.3\"", music::clipText(part, 80)));
            blend.emplace_back(m[1].str(), std::stod(m[2].str()));
            from = comma + 1;
        }
        c.blend = normalisedBlend(std::move(blend));
        return c;
    }
    if (std::regex_match(line, m, kStep)) {
        const std::string field = fieldFor(m[2]);
        const bool down = (m[1] == "-") != (m[2] == "dark" || m[2] == "slow");
        c.config = music::applyUpdate(current, nlohmann::json{{field, down ? "-1" : "+1"}}.dump(), music::clipText(line, 60));
        return c;
    }
    if (line.size() > 2 && line[1] == ' ' && std::string("bky").find(line[0]) != std::string::npos) {
        const std::string arg = line.substr(2);
        const char* field = line[0] == 'b' ? "bpm" : line[0] == 'k' ? "key" : "genre";
        nlohmann::json value = arg;
        if (line[0] == 'b') {
            static const std::regex kNumber(R"([0-9]{2,3}(\.[0-9]{1,2})?)");
            if (!std::regex_match(arg, kNumber)) throw std::invalid_argument(fmt::format("b {}: give a tempo from 40 to 220 bpm, e.g. \"b 130\"", arg));
            value = std::stod(arg);
        }
        c.config = music::mergeMusicConfig(current, nlohmann::json{{field, value}}.dump(), music::clipText(line, 60));
        return c;
    }
    const auto fields = music::musicConfigFields();
    if (std::regex_match(line, m, kFieldValue) && std::find(fields.begin(), fields.end(), m[1].str()) != fields.end()) {
        const std::string value = m[2];
        const bool step = value[0] == '+' || value[0] == '-';
        nlohmann::json v = value;
        if (!step) {
            try {
                v = nlohmann::json::parse(value);  // numbers and true/false as JSON, labels as text
            } catch (const nlohmann::json::exception&) {
                v = value;
            }
        }
        c.config = music::applyUpdate(current, nlohmann::json{{m[1].str(), v}}.dump(), music::clipText(line, 60));
        return c;
    }
    static const std::regex kUnknownStep(R"(([a-z_]+) +[+-][0-9.]+)");
    if (std::regex_match(line, m, kUnknownStep)) fieldFor(m[1]);  // "frobnicate +1": a step of no field is an error, not a vibe
    c.vibeText = line;  // anything else is a new vibe
    return c;
}

music::MusicConfig blendConfigs(const std::vector<std::pair<music::MusicConfig, double>>& parts) {
    if (parts.empty()) throw std::invalid_argument("a blend needs at least one part");
    double total = 0.0;
    std::size_t heaviest = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        total += parts[i].second;
        if (parts[i].second > parts[heaviest].second) heaviest = i;
    }
    if (!(total > 0.0) || !std::isfinite(total)) throw std::invalid_argument("blend weights must be positive");
    music::MusicConfig out = parts[heaviest].first;
    // The labels of each scale, from the schema the parser validates with.
    static const nlohmann::json kSchema = nlohmann::json::parse(music::musicConfigSchema());
    nlohmann::json update = nlohmann::json::object();
    for (const char* field : {"brightness", "space", "stereo", "echo", "grain", "attack", "human"}) {
        const auto& labels = kSchema["properties"][field]["enum"];
        if (!labels.is_array() || labels.size() < 2) continue;
        double level = 0.0;
        for (const auto& [cfg, w] : parts) level += w / total * cfg.level(field);
        update[field] = labels[static_cast<std::size_t>(std::lround(level * static_cast<double>(labels.size() - 1)))];
    }
    double bpm = 0.0;
    for (const auto& [cfg, w] : parts) bpm += w / total * cfg.resolvedBpm();
    update["bpm"] = std::round(bpm * 100.0) / 100.0;
    return music::applyUpdate(out, update.dump(), "blend");
}

TransitionLength parseTransition(const std::string& text) {
    static const std::regex kBars(R"(([0-9]{1,3})\s*bars?)"), kSeconds(R"([0-9]{1,4}(\.[0-9]{1,3})?)");
    std::smatch m;
    if (std::regex_match(text, m, kBars)) {
        const int bars = std::stoi(m[1]);
        if (bars >= 1 && bars <= 64) return {0.0, bars};
    } else if (std::regex_match(text, kSeconds)) {
        const double s = std::stod(text);
        if (s >= 0.05 && s <= 600.0) return {s, 0};
    }
    throw std::invalid_argument(fmt::format("--transition '{}' is not allowed: give seconds from 0.05 to 600 (\"5\", \"2.5\") or "
                                            "whole bars from 1 to 64 (\"4bars\")",
                                            text));
}

}  // namespace soundstar::live

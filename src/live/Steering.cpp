#include "live/Steering.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <regex>
#include <stdexcept>

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
        for (const auto& [k, v] : j.items())
            if (k != "at" && k != "vibe" && k != "config" && k != "update")
                throw std::invalid_argument(fmt::format("steering JSON: unknown field '{}'; allowed: at, vibe, config, update", music::clipText(k, 60)));
        if (j.contains("at")) {
            const auto& at = j["at"];
            if (at == "now" || at == "beat" || at == "bar") c.phraseBars = 1;
            else if (at == "phrase") c.phraseBars = 4;
            else if (at.is_object() && at.contains("bar") && at["bar"].is_number_integer() && at["bar"].get<long long>() >= 0) c.atBar = at["bar"].get<long long>();
            else throw std::invalid_argument(fmt::format("steering JSON: 'at' = {} is invalid: allowed \"now\", \"beat\", \"bar\", \"phrase\" or {{\"bar\": N}}", music::quoteJson(at)));
        }
        if (j.contains("vibe")) {
            if (!j["vibe"].is_string()) throw std::invalid_argument("steering JSON: 'vibe' must be text");
            c.vibeText = j["vibe"].get<std::string>();
        } else if (j.contains("config")) {
            c.config = music::mergeMusicConfig(current, j["config"].dump(), "steering config");
        } else if (j.contains("update")) {
            c.config = music::applyUpdate(current, j["update"].dump(), "steering update");
        } else {
            throw std::invalid_argument("steering JSON: give 'vibe', 'config' or 'update'");
        }
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

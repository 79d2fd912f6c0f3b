#include "compose/SketchConfig.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

namespace soundstar::compose {
namespace {
using nlohmann::json;

float unitField(const json& v, const char* name) {
    if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0)
        throw std::invalid_argument(fmt::format("field '{}' = {} is invalid: allowed a number from 0 to 1", name, v.dump()));
    return v.get<float>();
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

bool has(const std::string& text, std::initializer_list<const char*> words) {
    for (const char* w : words) {
        const std::regex re(std::string("\\b") + w + "\\b");
        if (std::regex_search(text, re)) return true;
    }
    return false;
}
}  // namespace

SketchConfig parseSketchConfig(const std::string& text, const std::string& origin) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw std::invalid_argument(fmt::format("{}: not valid JSON: {}", origin, e.what()));
    }
    if (!j.is_object()) throw std::invalid_argument(fmt::format("{}: the config must be a JSON object", origin));
    SketchConfig c;
    for (const auto& [k, v] : j.items()) {
        try {
            if (k == "bpm") {
                if (!v.is_number() || v.get<double>() < 40.0 || v.get<double>() > 220.0)
                    throw std::invalid_argument(fmt::format("field 'bpm' = {} is invalid: allowed 40 to 220", v.dump()));
                c.bpm = v.get<double>();
            } else if (k == "root") {
                const auto pc = v.is_string() ? music::parsePitchClass(v.get<std::string>()) : std::nullopt;
                if (!pc)
                    throw std::invalid_argument(
                        fmt::format("field 'root' = {} is invalid: allowed c, c#, d, ... b (flats too)", v.dump()));
                c.root = *pc;
            } else if (k == "mode") {
                const auto m = v.is_string() ? music::parseMode(v.get<std::string>()) : std::nullopt;
                if (!m)
                    throw std::invalid_argument(fmt::format(
                        "field 'mode' = {} is invalid: allowed major, minor, dorian, mixolydian, lydian, phrygian, "
                        "harmonic_minor",
                        v.dump()));
                c.mode = *m;
            } else if (k == "brightness") {
                c.brightness = unitField(v, "brightness");
            } else if (k == "energy") {
                c.energy = unitField(v, "energy");
            } else if (k == "space") {
                c.space = unitField(v, "space");
            } else if (k == "density") {
                if (!v.is_number_integer() || v.get<int>() < 2 || v.get<int>() > 6)
                    throw std::invalid_argument(fmt::format("field 'density' = {} is invalid: allowed 2 to 6", v.dump()));
                c.density = v.get<int>();
            } else if (k == "drums") {
                if (!v.is_boolean())
                    throw std::invalid_argument(fmt::format("field 'drums' = {} is invalid: allowed true or false", v.dump()));
                c.drums = v.get<bool>();
            } else if (k == "seed") {
                if (!v.is_number_unsigned())
                    throw std::invalid_argument(fmt::format("field 'seed' = {} is invalid: allowed a non-negative integer", v.dump()));
                c.seed = v.get<std::uint64_t>();
            } else {
                throw std::invalid_argument(fmt::format(
                    "unknown field '{}'; allowed: bpm, root, mode, brightness, energy, space, density, drums, seed", k));
            }
        } catch (const json::exception& e) {
            throw std::invalid_argument(fmt::format("{}: field '{}': {}", origin, k, e.what()));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(fmt::format("{}: {}", origin, e.what()));
        }
    }
    return c;
}

std::string toJson(const SketchConfig& c) {
    json j{{"bpm", c.bpm},
           {"root", std::string(music::pitchClassName(c.root))},
           {"mode", std::string(music::modeName(c.mode))},
           {"brightness", c.brightness},
           {"energy", c.energy},
           {"space", c.space},
           {"density", c.density},
           {"drums", c.drums},
           {"seed", c.seed}};
    return j.dump(2);
}

SketchConfig sketchFromPrompt(const std::string& prompt) {
    std::string t;
    for (char ch : prompt) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    SketchConfig c;
    c.seed = fnv1a(prompt) & 0xFFFFFFFFull;
    const auto note = [&](const std::string& s) { c.notes.push_back(s); };
    if (has(t, {"calm", "ambient", "sleep", "peaceful", "meditat\\w*", "slow", "gentle", "quiet", "soft", "drift\\w*"})) {
        c.bpm = 72;
        c.energy = 0.15f;
        c.space = 0.8f;
        note("calm words: slow, spacious, gentle drums");
    }
    if (has(t, {"energetic", "dance", "party", "fast", "driving", "intense", "workout", "run\\w*", "club"})) {
        c.bpm = 126;
        c.energy = 0.9f;
        c.density = 6;
        note("energetic words: fast, driving, dense");
    }
    if (has(t, {"techno", "house", "edm", "trance"})) {
        c.bpm = has(t, {"house"}) ? 124 : 128;
        c.energy = 0.9f;
        c.mode = music::Mode::Minor;
        note("electronic genre: four-on-the-floor");
    }
    if (has(t, {"hip hop", "hiphop", "lo-?fi", "lofi", "boom bap"})) {
        c.bpm = 86;
        c.energy = 0.55f;
        c.brightness = 0.35f;
        note("hip hop / lo-fi: laid-back tempo, darker");
    }
    if (has(t, {"dark", "night", "sad", "melanchol\\w*", "rain\\w*", "lonely", "gloomy", "cold", "storm\\w*", "winter"})) {
        c.mode = music::Mode::Minor;
        c.brightness = std::min(c.brightness, 0.3f);
        note("dark / sad words: minor, darker");
    }
    if (has(t, {"warm", "sunset", "sunrise", "happy", "joy\\w*", "bright", "summer", "morning", "hope\\w*", "love"})) {
        c.mode = music::Mode::Major;
        c.brightness = std::max(c.brightness, 0.65f);
        note("warm / happy words: major, brighter");
    }
    if (has(t, {"space", "vast", "ocean", "water", "cathedral", "hall", "dream\\w*", "ethereal"})) {
        c.space = 0.9f;
        note("spacious words: large reverb");
    }
    if (has(t, {"no drums", "without drums", "drumless", "no beat", "no percussion"})) {
        c.drums = false;
        note("negation: no drums");
    }
    static const std::regex bpmRe(R"((\d{2,3})\s*bpm)");
    std::smatch m;
    if (std::regex_search(t, m, bpmRe)) {
        const double b = std::stod(m[1].str());
        if (b >= 40 && b <= 220) {
            c.bpm = b;
            note(fmt::format("explicit tempo {} bpm", b));
        }
    }
    // "in D minor", "in f# dorian", "in Bb": a mode word or an accidental is required so that
    // "in a cafe" is not read as A.
    static const std::regex keyRe(R"(\bin\s+([a-g])\s*(#|b|sharp|flat)?\s*(major|minor|dorian|mixolydian|lydian|phrygian)\b)");
    static const std::regex keyAccRe(R"(\bin\s+([a-g])(#|b)()(?=[\s,.;!]|$))");
    if (std::regex_search(t, m, keyRe) || std::regex_search(t, m, keyAccRe)) {
        if (const auto pc = music::parsePitchClass(m[1].str() + m[2].str())) {
            c.root = *pc;
            if (m[3].matched && m[3].length() > 0) c.mode = *music::parseMode(m[3].str());
            note(fmt::format("explicit key {} {}", music::pitchClassName(c.root), music::modeName(c.mode)));
        }
    }
    if (c.notes.empty()) note("no known words: a balanced default");
    return c;
}

}  // namespace soundstar::compose

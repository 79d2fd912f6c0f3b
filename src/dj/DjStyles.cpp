#include "dj/DjStyles.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::dj {
namespace {
const std::map<std::string, std::string>& fields() {
    static const std::map<std::string, std::string> m{{"drums", "rhythm"}, {"bass", "bass"}, {"pad", "pad"},
                                                      {"arp", "accent"},   {"lead", "melody"}, {"texture", "texture"}};
    return m;
}

std::vector<std::string> wordsOf(const std::string& text) {
    std::vector<std::string> out;
    std::string w;
    for (const char c : text + " ") {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else if (!w.empty()) {
            out.push_back(w);
            w.clear();
        }
    }
    return out;
}
}  // namespace

std::string styleFieldOf(const std::string& layer) {
    const auto it = fields().find(layer);
    return it == fields().end() ? std::string() : it->second;
}

const std::vector<std::string>& stylesByIntensity(const std::string& field) {
    static const std::map<std::string, std::vector<std::string>> m{
        {"rhythm", {"heartbeat", "minimal", "soft_four", "hats_only", "brush", "kit_light", "tabla_essence", "electronic", "kit_medium", "military"}},
        {"bass", {"drone", "fifth_drone", "sustained", "sub_pulse", "pulsing", "octave", "walking", "arp_bass"}},
        {"pad", {"ambient_drift", "warm_slow", "dark_sustained", "thin_high", "stacked_fifths", "cinematic", "bright_open"}},
        {"accent", {"wind", "piano_note", "chime", "bells", "pluck", "blip", "bells_dense", "blip_random", "brass_hit", "arp_accent"}},
        {"melody", {"contemplative", "contemplative_minor", "minimal", "falling", "rising", "call_response", "ornamental", "procedural", "arp_melody", "heroic"}},
        {"texture", {"breath", "pad_whisper", "vinyl_crackle", "stars", "shimmer_slow", "shimmer", "crystal", "noise_wash", "glitch"}}};
    static const std::vector<std::string> none;
    const auto it = m.find(field);
    return it == m.end() ? none : it->second;
}

std::string layerForRole(const std::string& role) {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> words{
        {"drums", {"drums", "kick", "hats", "beat", "percussion", "perc", "rhythm"}},
        {"bass", {"bass", "sub", "bassline"}},
        {"pad", {"pad", "chords", "strings"}},
        {"keys", {"keys", "piano"}},
        {"arp", {"arp", "pluck", "stab", "stabs", "blips", "accent"}},
        {"lead", {"lead", "melody", "hook"}},
        {"texture", {"texture", "fx", "noise", "ambience"}}};
    std::string r = role;
    std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [layer, ws] : words)
        if (std::find(ws.begin(), ws.end(), r) != ws.end()) return layer;
    return {};
}

std::string lowRoleOf(const std::string& layer) { return layer == "drums" ? "kick" : layer == "bass" ? "bass" : ""; }

std::string pickStyle(const std::string& layer, const std::string& description, double intensity, const std::string& current) {
    const auto& styles = stylesByIntensity(styleFieldOf(layer));
    if (styles.empty())
        throw std::invalid_argument(fmt::format("'{}' has no styles to replace; allowed: drums, bass, pad, arp, lead, texture", music::clipText(layer, 40)));
    const auto said = wordsOf(description);
    std::string best;
    double bestScore = 0.0;
    for (const auto& s : styles) {  // the share of the style's words the description has
        const auto words = wordsOf(s);
        double score = 0.0;
        for (const auto& w : words)
            if (std::find(said.begin(), said.end(), w) != said.end()) score += 1.0 / static_cast<double>(words.size());
        if (s != current && score > bestScore) best = s, bestScore = score;
    }
    if (!best.empty()) return best;
    // None named: the style at that intensity, the nearest other one when it is the current.
    const double at = std::clamp(intensity, 0.0, 1.0) * static_cast<double>(styles.size() - 1);
    std::size_t pick = 0;
    double nearest = 1e9;
    for (std::size_t i = 0; i < styles.size(); ++i)
        if (const double d = std::abs(static_cast<double>(i) - at); (styles[i] != current || styles.size() == 1) && d < nearest) nearest = d, pick = i;
    return styles[pick];
}

std::string styleOf(const music::MusicConfig& config, const std::string& layer) {
    const std::string field = styleFieldOf(layer);
    if (field.empty()) return {};
    const auto j = nlohmann::json::parse(music::toJson(config));
    return j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : std::string();
}

music::MusicConfig withStyle(const music::MusicConfig& config, const std::string& layer, const std::string& style) {
    const std::string field = styleFieldOf(layer);
    if (field.empty()) throw std::invalid_argument(fmt::format("'{}' has no styles to replace", music::clipText(layer, 40)));
    return music::applyUpdate(config, nlohmann::json{{field, style}}.dump(), "replace_layer");
}

live::StreamVibe withLayerStyle(const live::StreamVibe& vibe, const std::string& layer, const std::string& style) {
    live::StreamVibe v = vibe;
    v.config = withStyle(vibe.config, layer, style);
    auto& k = v.sketch;
    if (layer == "drums") k.rhythmStyle = style, k.groove.clear();
    if (layer == "bass") k.bassStyle = style;
    if (layer == "pad") k.padStyle = style;
    if (layer == "arp") k.accentStyle = style;
    if (layer == "lead") k.melodyStyle = style;
    if (layer == "texture") k.textureStyle = style;
    return v;
}

}  // namespace soundstar::dj

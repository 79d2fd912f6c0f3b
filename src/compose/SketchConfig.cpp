#include "compose/SketchConfig.h"

#include "compose/Profiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

namespace soundstar::compose {
namespace {
/// Whether `text` holds any of the '|'-separated words of `words` (plain text, no patterns):
/// what a regex search of that alternation did, without compiling a regex at every call.
bool containsAny(std::string_view text, std::string_view words) {
    for (std::size_t at = 0; at <= words.size();) {
        const std::size_t bar = std::min(words.find('|', at), words.size());
        if (bar > at && text.find(words.substr(at, bar - at)) != std::string_view::npos) return true;
        at = bar + 1;
    }
    return false;
}
}  // namespace

SketchConfig sketchFromMusicConfig(const music::MusicConfig& c) {
    SketchConfig s;
    s.bpm = c.resolvedBpm();
    s.root = c.root;
    s.mode = c.mode;
    s.brightness = static_cast<float>(c.level("brightness"));
    s.space = static_cast<float>(c.level("space"));
    s.echo = static_cast<float>(c.level("echo"));
    s.seed = c.seed.value_or(1);
    s.rhythmStyle = c.rhythm;
    s.bassStyle = c.bass;
    s.swing = static_cast<float>(c.swing);
    s.human = static_cast<float>(c.level("human"));
    s.padStyle = c.pad;
    s.melodyStyle = c.melody;
    s.accentStyle = c.accent;
    s.textureStyle = c.texture;
    s.harmonyStyle = c.harmonyStyle;
    s.chordExtensions = c.chordExtensions;
    s.chordChangeBars = c.chordChangeBars;
    s.cadenceStrength = static_cast<float>(c.cadenceStrength);
    s.stereo = static_cast<float>(c.level("stereo"));
    s.attack = static_cast<float>(c.level("attack"));
    s.grain = static_cast<float>(c.level("grain"));
    s.depth = c.depth;
    s.motion = c.motion;
    s.presets = instrumentationPresets(c);
    s.phraseLenBars = c.phraseLenBars;
    s.registerMinOct = c.registerMinOct;
    s.registerMaxOct = c.registerMaxOct;
    s.melodyDensity = static_cast<float>(c.melodyDensity);
    s.motifRepeatProb = static_cast<float>(c.motifRepeatProb);
    s.stepBias = static_cast<float>(c.stepBias);
    s.chromaticProb = static_cast<float>(c.chromaticProb);
    s.syncopation = static_cast<float>(c.syncopation);
    s.melodyEngine = c.melodyEngine;
    return s;
}

std::string applyMood(music::MusicConfig& c, const std::set<std::string>& keep) {
    if (c.mood.empty()) return "";
    std::string m;
    for (char ch : c.mood) m += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // Each mood: words that name it, and the fields it implies.
    struct Mood {
        const char* words;
        const char* fields;
    };
    static const std::vector<Mood> kMoods{
        {"melanchol|sad|somber|sombre|grief|lonely|wistful", R"({"mode":"minor","brightness":"dark","tempo":"slow","melody":"contemplative_minor"})"},
        {"happy|joy|uplift|cheer|bright|playful", R"({"mode":"major","brightness":"bright","tempo":"fast","accent":"bells"})"},
        {"tense|ominous|menac|anxious|dark|scary", R"({"mode":"phrygian","brightness":"very_dark","tension_curve":"ramp","texture":"noise_wash"})"},
        {"calm|peace|relax|serene|tranquil", R"({"tempo":"slow","rhythm":"minimal","attack":"soft","space":"large"})"},
        {"energ|excit|aggress|intense", R"({"tempo":"very_fast","rhythm":"kit_medium","attack":"sharp","density":6})"},
        {"romantic|tender|warm|love", R"({"mode":"major","attack":"soft","chord_extensions":"sevenths","pad":"warm_slow"})"},
        {"myster|eerie|strange", R"({"mode":"dorian","echo":"heavy","texture":"shimmer_slow"})"},
        {"epic|heroic|triumph|majestic", R"({"melody":"heroic","pad":"cinematic","accent":"brass_hit","tension_curve":"ramp"})"},
        {"dream|ethereal|floating|nostalg", R"({"space":"vast","echo":"medium","texture":"shimmer","attack":"soft"})"},
    };
    const nlohmann::json defaults = nlohmann::json::parse(music::toJson(music::MusicConfig{}));
    const nlohmann::json current = nlohmann::json::parse(music::toJson(c));
    for (const auto& mood : kMoods) {
        if (!containsAny(m, mood.words)) continue;
        nlohmann::json fill = nlohmann::json::object();
        const nlohmann::json implied = nlohmann::json::parse(mood.fields);  // named: items() must not outlive it
        for (const auto& [k, v] : implied.items())
            if ((!current.contains(k) || (defaults.contains(k) && current[k] == defaults[k])) && mayFill(k, keep) &&
                !(k == "tempo" && c.bpm))
                fill[k] = v;
        c = music::mergeMusicConfig(c, fill.dump(), "mood");
        return fmt::format("mood '{}' filled {}", c.mood, fill.dump());
    }
    return fmt::format("mood '{}' is not one I know; it changes nothing", c.mood);
}

std::map<std::string, std::string> instrumentationPresets(const music::MusicConfig& c) {
    static const std::vector<std::tuple<const char*, const char*, const char*>> kMap{
        {"piano|keys|rhodes", "keys", "piano_sf"},   {"string|violin|cello|orchestra", "pad", "strings_sf"},
        {"guitar", "lead", "guitar_sf"},               {"808|trap", "bass", "bass_sub"},
        {"acoustic drum|drum kit|drums", "drums", "sampler_kit"}, {"synth|lead", "lead", "lead_saw"},
        {"acid|303", "bass", "bass_acid"},             {"bell|glocken|celesta", "arp", "bell_glass"},
        {"choir|voice|vocal", "texture", "wind_pad"},  {"organ|electric piano|e-piano", "keys", "keys_fm_epiano"},
        {"harp|pluck", "arp", "pluck_soft"},           {"brass|horn|trumpet", "arp", "brass_stab"}};
    std::map<std::string, std::string> out;
    for (const auto& name : c.instrumentation) {
        std::string n;
        for (char ch : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        for (const auto& [words, layer, preset] : kMap)
            if (containsAny(n, words) && !out.count(layer)) {
                out[layer] = preset;
                break;
            }
    }
    return out;
}


}  // namespace soundstar::compose

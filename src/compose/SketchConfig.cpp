#include "compose/SketchConfig.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <tuple>

namespace soundstar::compose {
namespace {
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

std::string applyMood(music::MusicConfig& c) {
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
        if (!std::regex_search(m, std::regex(mood.words))) continue;
        nlohmann::json fill = nlohmann::json::object();
        const nlohmann::json implied = nlohmann::json::parse(mood.fields);  // named: items() must not outlive it
        for (const auto& [k, v] : implied.items())
            if (!current.contains(k) || (defaults.contains(k) && current[k] == defaults[k])) fill[k] = v;
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
            if (std::regex_search(n, std::regex(words)) && !out.count(layer)) {
                out[layer] = preset;
                break;
            }
    }
    return out;
}

music::MusicConfig configFromPromptKeywords(const std::string& prompt, std::vector<std::string>* notes) {
    std::string t;
    for (char ch : prompt) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    music::MusicConfig c;
    c.seed = fnv1a(prompt) & 0xFFFFFFFFull;
    c.root = 9;  // A
    const auto note = [&](const std::string& s) {
        if (notes) notes->push_back(s);
    };
    bool understood = false;
    const auto hit = [&](std::initializer_list<const char*> words, const std::string& what) {
        if (!has(t, words)) return false;
        note(what);
        understood = true;
        return true;
    };
    if (hit({"calm", "ambient", "sleep", "peaceful", "meditat\\w*", "slow", "gentle", "quiet", "soft", "drift\\w*"},
            "calm words: slow, spacious, gentle rhythm")) {
        c.tempo = "slow";
        c.rhythm = "minimal";
        c.space = "large";
        c.motion = "slow";
        c.accent = "chime";
    }
    if (hit({"energetic", "dance", "party", "fast", "driving", "intense", "workout", "run\\w*", "club"},
            "energetic words: fast, driving, dense")) {
        c.tempo = "fast";
        c.rhythm = "kit_medium";
        c.density = 6;
        c.accent = "arp_accent";
    }
    if (hit({"techno", "house", "edm", "trance"}, "electronic genre: four-on-the-floor")) {
        c.bpm = has(t, {"house"}) ? 124 : 128;
        c.rhythm = "electronic";
        c.accent = "blip";
        c.mode = music::Mode::Minor;
        c.genre = has(t, {"house"}) ? "deep_house" : "techno_minimal";
    }
    if (hit({"hip hop", "hiphop", "lo-?fi", "lofi", "boom bap"}, "hip hop / lo-fi: laid-back tempo, darker, gritty")) {
        c.bpm = 86;
        c.rhythm = "kit_light";
        c.brightness = "dark";
        c.grain = "gritty";
        c.genre = has(t, {"lo-?fi", "lofi"}) ? "lofi" : "hip_hop";
        c.texture = "vinyl_crackle";
    }
    if (hit({"dark", "night", "sad", "melanchol\\w*", "rain\\w*", "lonely", "gloomy", "cold", "storm\\w*", "winter"},
            "dark / sad words: minor, darker")) {
        c.mode = music::Mode::Minor;
        c.brightness = "dark";
        c.mood = "melancholic";
        if (has(t, {"rain\\w*", "storm\\w*"})) c.texture = "noise_wash";
    }
    if (hit({"warm", "sunset", "sunrise", "happy", "joy\\w*", "bright", "summer", "morning", "hope\\w*", "love"},
            "warm / happy words: major, brighter")) {
        c.mode = music::Mode::Major;
        c.brightness = "bright";
        c.mood = "warm";
        if (c.accent == "none") c.accent = "bells";
    }
    if (hit({"space", "vast", "ocean", "water", "cathedral", "hall", "dream\\w*", "ethereal"},
            "spacious words: large reverb, echoes")) {
        c.space = "vast";
        c.echo = "medium";
        c.texture = has(t, {"ocean", "water"}) ? "noise_wash" : "shimmer_slow";
    }
    static const std::vector<std::pair<const char*, const char*>> kGenres{
        {"jazz\\w*", "jazz"}, {"dub", "dub"}, {"rock", "rock"}, {"classical|orchestra\\w*|baroque", "classical"},
        {"cinematic|epic|film score|soundtrack", "cinematic"}, {"drum and bass|dnb|jungle", "jungle_dnb"},
        {"trip[ -]?hop", "trip_hop"}, {"experimental|avant[- ]garde", "experimental"}, {"downtempo", "downtempo_ambient"}};
    for (const auto& [words, genre] : kGenres)
        if (c.genre.empty() && std::regex_search(t, std::regex(std::string("\\b(") + words + ")\\b"))) {
            c.genre = genre;
            note(fmt::format("genre word: the {} profile", genre));
            understood = true;
        }
    if (c.genre.empty() && has(t, {"ambient"})) c.genre = "ambient";
    if (hit({"no drums", "without drums", "drumless", "no beat", "no percussion"}, "negation: no drums")) c.rhythm = "none";
    static const std::regex bpmRe(R"((\d{2,3})\s*bpm)");
    std::smatch m;
    if (std::regex_search(t, m, bpmRe)) {
        const double b = std::stod(m[1].str());
        if (b >= 40 && b <= 220) {
            c.bpm = b;
            note(fmt::format("explicit tempo {} bpm", b));
            understood = true;
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
            understood = true;
        }
    }
    if (!understood) note("no known words: a balanced default");
    return c;
}

}  // namespace soundstar::compose

#include "interpret/Words.h"

#include <set>
#include <stdexcept>

namespace soundstar::interpret {
namespace {

constexpr ScaleWord kScaleWords[] = {
    {"slow", "tempo", "slow", 0},         {"slowly", "tempo", "slow", 0},      {"sluggish", "tempo", "slow", 0},
    {"leisurely", "tempo", "slow", 0},    {"unhurried", "tempo", "slow", 0},   {"fast", "tempo", "fast", 0},
    {"quick", "tempo", "fast", 0},        {"rapid", "tempo", "fast", 0},       {"uptempo", "tempo", "fast", 0},
    {"up-tempo", "tempo", "fast", 0},     {"speedy", "tempo", "fast", 0},      {"brisk", "tempo", "fast", 0},
    {"mid-tempo", "tempo", "medium", 0},  {"midtempo", "tempo", "medium", 0},  {"slower", "tempo", "", -1},
    {"faster", "tempo", "", 1},           {"quicker", "tempo", "", 1},         {"calmer", "tempo", "", -1},
    {"dark", "brightness", "dark", 0},    {"murky", "brightness", "dark", 0},  {"muffled", "brightness", "dark", 0},
    {"bright", "brightness", "bright", 0}, {"shiny", "brightness", "bright", 0}, {"sparkling", "brightness", "bright", 0},
    {"glittering", "brightness", "bright", 0}, {"airy", "brightness", "bright", 0}, {"darker", "brightness", "", -1},
    {"brighter", "brightness", "", 1},    {"spacious", "space", "vast", 0},    {"vast", "space", "vast", 0},
    {"huge", "space", "vast", 0},         {"cavernous", "space", "vast", 0},   {"reverberant", "space", "large", 0},
    {"roomy", "space", "large", 0},       {"wet", "space", "large", 0},        {"dry", "space", "dry", 0},
    {"intimate", "space", "small", 0},    {"close", "space", "small", 0},      {"wetter", "space", "", 1},
    {"drier", "space", "", -1},           {"bigger", "space", "", 1},          {"smaller", "space", "", -1},
    {"echoing", "echo", "heavy", 0},      {"echoey", "echo", "heavy", 0},      {"echoes", "echo", "heavy", 0},
    {"echo", "echo", "medium", 0},        {"delay", "echo", "medium", 0},      {"sparse", "density", "3", 0},
    {"minimal", "density", "3", 0},       {"bare", "density", "2", 0},         {"stripped", "density", "2", 0},
    {"simple", "density", "3", 0},        {"dense", "density", "5", 0},        {"busy", "density", "5", 0},
    {"full", "density", "5", 0},          {"layered", "density", "6", 0},      {"thick", "density", "5", 0},
    {"sparser", "density", "", -1},       {"busier", "density", "", 1},        {"denser", "density", "", 1},
    {"fuller", "density", "", 1},         {"thinner", "density", "", -1},      {"punchy", "attack", "sharp", 0},
    {"percussive", "attack", "sharp", 0}, {"staccato", "attack", "sharp", 0},  {"snappy", "attack", "sharp", 0},
    {"soft", "attack", "soft", 0},        {"gentle", "attack", "soft", 0},     {"smooth", "attack", "soft", 0},
    {"legato", "attack", "soft", 0},      {"swelling", "attack", "soft", 0},   {"softer", "attack", "", -1},
    {"punchier", "attack", "", 1},        {"harder", "attack", "", 1},         {"gritty", "grain", "gritty", 0},
    {"dirty", "grain", "gritty", 0},      {"distorted", "grain", "gritty", 0}, {"crunchy", "grain", "gritty", 0},
    {"grimy", "grain", "gritty", 0},      {"raw", "grain", "gritty", 0},       {"saturated", "grain", "gritty", 0},
    {"fuzzy", "grain", "gritty", 0},      {"lo-fi", "grain", "gritty", 0},     {"clean", "grain", "clean", 0},
    {"pristine", "grain", "clean", 0},    {"crisp", "grain", "clean", 0},      {"polished", "grain", "clean", 0},
    {"glassy", "grain", "clean", 0},      {"dirtier", "grain", "", 1},         {"cleaner", "grain", "", -1},
    {"wide", "stereo", "wide", 0},        {"immersive", "stereo", "wide", 0},  {"panoramic", "stereo", "ultra_wide", 0},
    {"mono", "stereo", "mono", 0},        {"narrow", "stereo", "narrow", 0},   {"wider", "stereo", "", 1},
    {"narrower", "stereo", "", -1},       {"robotic", "human", "robotic", 0},  {"mechanical", "human", "robotic", 0},
    {"quantized", "human", "robotic", 0}, {"precise", "human", "tight", 0},    {"tight", "human", "tight", 0},
    {"loose", "human", "loose", 0},       {"sloppy", "human", "loose", 0},     {"drunk", "human", "drunk", 0},
    {"wonky", "human", "drunk", 0},       {"looser", "human", "", 1},          {"tighter", "human", "", -1},
    {"static", "motion", "static", 0},    {"unchanging", "motion", "static", 0}, {"evolving", "motion", "fast", 0},
    {"shifting", "motion", "fast", 0},    {"swirling", "motion", "fast", 0},   {"morphing", "motion", "fast", 0},
};

}  // namespace

const ScaleWord* findScaleWord(const std::string& w) {
    for (const auto& s : kScaleWords)
        if (w == s.word) return &s;
    return nullptr;
}

bool in(const std::string& w, std::initializer_list<const char*> set) {
    for (const char* s : set)
        if (w == s) return true;
    return false;
}

/// How strongly a word before another scales it: > 1 intensifies, < 1 softens, 1 = none.
double intensity(const std::string& w) {
    if (in(w, {"very", "really", "extremely", "super", "ultra", "so", "incredibly", "insanely", "deeply", "totally",
               "completely", "utterly", "highly", "hyper", "intensely", "truly", "much", "way", "far", "most", "too"}))
        return 2.0;
    if (in(w, {"slightly", "somewhat", "bit", "little", "kinda", "mildly", "fairly", "rather", "touch", "tad",
               "moderately", "lightly", "softly"}))
        return 0.5;
    return 1.0;
}

bool isNegator(const std::string& w) {
    return in(w, {"no", "not", "without", "never", "none", "nothing", "dont", "don't", "doesn't", "isn't", "lacking",
                  "minus", "zero", "non", "skip", "lose", "ditch", "drop", "remove", "nor", "w/o"});
}



// Arousal: how excited a word is, -1 (asleep) .. 1 (frantic).
const std::unordered_map<std::string, double>& arousalWords() {
    static const std::unordered_map<std::string, double> m{
        {"calm", -0.8},      {"relaxing", -0.8},   {"relaxed", -0.7},   {"relax", -0.7},      {"sleepy", -1.0},
        {"sleep", -1.0},     {"asleep", -1.0},     {"chill", -0.6},     {"chilled", -0.6},    {"peaceful", -0.8},
        {"quiet", -0.6},     {"lazy", -0.6},       {"soothing", -0.8},  {"mellow", -0.5},     {"serene", -0.8},
        {"tranquil", -0.8},  {"still", -0.5},      {"restful", -0.8},   {"drowsy", -0.9},     {"lullaby", -0.9},
        {"meditative", -0.8}, {"meditation", -0.8}, {"ambient", -0.5},  {"dreamy", -0.4},     {"laid-back", -0.5},
        {"cozy", -0.4},      {"unwind", -0.7},     {"breathe", -0.6},   {"tired", -0.7},      {"hush", -0.8},
        {"energetic", 0.8},  {"energy", 0.6},      {"hype", 0.9},       {"hyped", 0.9},       {"intense", 0.7},
        {"wild", 0.8},       {"frantic", 1.0},     {"aggressive", 0.8}, {"explosive", 0.9},   {"exciting", 0.7},
        {"excited", 0.7},    {"upbeat", 0.6},      {"party", 0.7},      {"rave", 0.9},        {"banging", 0.9},
        {"pumping", 0.8},    {"euphoric", 0.8},    {"adrenaline", 1.0}, {"furious", 0.9},     {"powerful", 0.6},
        {"driving", 0.6},    {"bouncy", 0.5},      {"groovy", 0.4},     {"lively", 0.6},      {"vibrant", 0.5},
        {"dynamic", 0.5},    {"workout", 0.8},     {"gym", 0.8},        {"running", 0.6},     {"dance", 0.6},
        {"dancing", 0.6},    {"chase", 0.8},       {"battle", 0.7},     {"fight", 0.7},       {"action", 0.7},
        {"urgent", 0.8},     {"racing", 0.8},      {"storm", 0.4},      {"thrilling", 0.8},   {"fierce", 0.8},
    };
    return m;
}

// Instruments a prompt can name, as the names the instrumentation field uses.
const std::unordered_map<std::string, std::string>& instrumentWords() {
    static const std::unordered_map<std::string, std::string> m{
        {"piano", "piano"},     {"pianos", "piano"},       {"keys", "piano"},       {"keyboard", "piano"},
        {"rhodes", "electric piano"}, {"wurlitzer", "electric piano"}, {"e-piano", "electric piano"},
        {"strings", "strings"}, {"string", "strings"},     {"violin", "strings"},   {"violins", "strings"},
        {"cello", "strings"},   {"cellos", "strings"},     {"viola", "strings"},    {"orchestra", "strings"},
        {"orchestral", "strings"}, {"guitar", "guitar"},   {"guitars", "guitar"},   {"acoustic", "guitar"},
        {"808", "808"},         {"808s", "808"},           {"synth", "synth"},      {"synths", "synth"},
        {"synthesizer", "synth"}, {"synthesizers", "synth"}, {"bells", "bells"},   {"bell", "bells"},
        {"glockenspiel", "bells"}, {"celesta", "bells"},   {"chimes", "bells"},     {"music-box", "bells"},
        {"choir", "choir"},     {"choirs", "choir"},       {"vocals", "choir"},     {"voices", "choir"},
        {"choral", "choir"},    {"organ", "organ"},        {"organs", "organ"},     {"harp", "harp"},
        {"harps", "harp"},      {"brass", "brass"},        {"horns", "brass"},      {"horn", "brass"},
        {"trumpet", "brass"},   {"trumpets", "brass"},     {"trombone", "brass"},   {"sax", "brass"},
        {"saxophone", "brass"}, {"drums", "drums"},        {"drum", "drums"},       {"303", "acid"},
        {"acid", "acid"},
    };
    return m;
}

bool isDrumWord(const std::string& w) {
    return in(w, {"drums", "drum", "beat", "beats", "percussion", "rhythm", "kick", "kicks", "drumkit", "groove", "hats"});
}

std::optional<double> number(const std::string& t) {
    if (t.empty() || t.size() > 6) return std::nullopt;
    for (char c : t)
        if (!(c >= '0' && c <= '9') && c != '.') return std::nullopt;
    try {
        return std::stod(t);
    } catch (const std::logic_error&) {
        return std::nullopt;
    }
}

std::optional<music::Mode> modeWord(const std::string& w) {
    if (w == "aeolian") return music::Mode::Minor;
    if (w == "ionian") return music::Mode::Major;
    if (in(w, {"major", "minor", "dorian", "mixolydian", "lydian", "phrygian"})) return music::parseMode(w);
    return std::nullopt;
}

/// Function words: never aligned with library words (SIF already makes them light in the mean).
bool isStopword(const std::string& w) {
    static const std::set<std::string> kStop{
        "a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "by", "for", "from", "to", "with", "into", "onto",
        "over", "under", "about", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that",
        "these", "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "his", "her", "they", "them", "their",
        "some", "something", "like", "just", "very", "really", "so", "too", "also", "then", "than", "there", "here",
        "where", "when", "while", "what", "which", "who", "how", "all", "any", "each", "every", "more", "most", "much",
        "music", "song", "songs", "track", "tune", "sound", "sounds", "sounding", "vibe", "vibes", "feel", "feeling",
        "make", "play", "give", "want", "please", "kind", "sort", "type", "style", "piece", "bit", "little", "lot",
        "out", "up", "down", "off", "through", "across", "past", "after", "before", "during", "until", "around", "near",
        "do", "does", "did", "have", "has", "had", "can", "could", "would", "should", "will", "one", "get", "got"};
    return kStop.count(w) > 0;
}

/// "4am" -> "night", "7am" -> "morning", "3pm" -> "afternoon": clock times as the time of day.
std::string clockWord(const std::string& t) {
    if (t.size() < 3 || t.size() > 4) return t;
    const std::string suffix = t.substr(t.size() - 2);
    if (suffix != "am" && suffix != "pm") return t;
    const auto h = number(t.substr(0, t.size() - 2));
    if (!h || *h < 1 || *h > 12) return t;
    const int hour = static_cast<int>(*h) % 12 + (suffix == "pm" ? 12 : 0);
    return hour < 5 ? "night" : hour < 11 ? "morning" : hour < 17 ? "afternoon" : hour < 21 ? "evening" : "night";
}

bool majorFamily(const std::string& mode) { return in(mode, {"major", "lydian", "mixolydian", "major_pentatonic"}); }

}  // namespace soundstar::interpret

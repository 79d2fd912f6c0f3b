#include "interpret/Interpreter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>

#include "interpret/Text.h"
#include "music/Theory.h"

namespace soundstar::interpret {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxTokens = 4000;  // a 10,000-character prompt is ~2,000 words
constexpr std::size_t kNeighbours = 12;
constexpr float kTemperature = 0.04f;

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

// A word on a label scale: the field, the label it names, or a step (comparatives).
struct ScaleWord {
    const char* word;
    const char* field;
    const char* label;  // "" for a comparative
    int step;           // comparatives: +1 / -1 along the scale
};
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

}  // namespace

Interpreter Interpreter::load(const std::filesystem::path& dir) {
    Interpreter it;
    it.vectors_ = WordVectors::load(dir / "words.bin");
    it.blocks_ = loadBlocks(dir / "blocks.json");
    it.entries_ = loadLibrary(dir / "library.tsv");
    if (it.entries_.empty()) throw std::runtime_error(fmt::format("{} holds no entries", (dir / "library.tsv").string()));
    {
        std::ifstream in(dir / "valence.tsv");
        if (!in) throw std::runtime_error(fmt::format("cannot read the valence lexicon {}", (dir / "valence.tsv").string()));
        std::string word;
        float v = 0;
        while (in >> word >> v) it.valence_.emplace(word, v);
    }
    // Block names for explicit matching; a name used by two categories ("jungle": a genre and a
    // place) is ambiguous and left to similarity.
    std::map<std::vector<std::string>, std::set<std::string>> categoriesOf;
    std::vector<Phrase> all;
    for (std::size_t b = 0; b < it.blocks_.blocks.size(); ++b)
        for (const auto& name : it.blocks_.blocks[b].names) {
            auto t = tokenize(name);
            if (!t.empty() && in(t[0], {"a", "an", "the"})) t.erase(t.begin());
            if (t.empty()) continue;
            categoriesOf[t].insert(it.blocks_.blocks[b].category);
            all.push_back({t, b});
        }
    for (auto& p : all)
        if (categoriesOf[p.tokens].size() == 1) it.phrases_.push_back(std::move(p));
    std::stable_sort(it.phrases_.begin(), it.phrases_.end(),
                     [](const Phrase& a, const Phrase& b) { return a.tokens.size() > b.tokens.size(); });
    for (std::size_t i = 0; i < it.phrases_.size(); ++i) it.phrasesByFirstWord_[it.phrases_[i].tokens.front()].push_back(i);

    // The library's own vocabulary, for word alignment.
    {
        const auto dim = static_cast<std::size_t>(it.vectors_.dimensions());
        std::unordered_map<std::uint32_t, std::uint32_t> local;
        it.entryWords_.resize(it.entries_.size());
        it.entryUnknown_.assign(it.entries_.size(), 0.0f);
        for (std::size_t e = 0; e < it.entries_.size(); ++e)
            for (const auto& t : tokenize(it.entries_[e].text)) {
                const auto idx = it.vectors_.find(t);
                if (!idx && !isStopword(t)) it.entryUnknown_[e] += 1.0f;  // unmatched: the entry means more than we see
                if (!idx || isStopword(t) || it.vectors_.sifWeight(*idx) < 0.2f) continue;  // "a", "the", "at", "in"
                auto [pos, fresh] = local.emplace(*idx, static_cast<std::uint32_t>(it.libWords_.size()));
                if (fresh) it.libWords_.push_back(*idx);
                it.entryWords_[e].push_back(pos->second);
            }
        it.libWordVectors_.assign(it.libWords_.size() * dim, 0.0f);
        for (std::size_t w = 0; w < it.libWords_.size(); ++w) {
            std::span<float> v(&it.libWordVectors_[w * dim], dim);
            it.vectors_.accumulate(it.libWords_[w], 1.0f, v);
            float norm = 0;
            for (float x : v) norm += x * x;
            for (float& x : v) x /= std::sqrt(norm);
            it.libWordSif_.push_back(it.vectors_.sifWeight(it.libWords_[w]));
        }
    }
    // Embed the library; remove the direction every entry shares (SIF's common component).
    const auto dim = static_cast<std::size_t>(it.vectors_.dimensions());
    const std::size_t n = it.entries_.size();
    it.embeddings_.assign(n * dim, 0.0f);
    std::vector<float> v(dim);
    for (std::size_t i = 0; i < n; ++i) {
        const auto tokens = tokenize(it.entries_[i].text);
        it.embed(tokens, std::vector<bool>(tokens.size(), false), v);
        std::copy(v.begin(), v.end(), it.embeddings_.begin() + static_cast<std::ptrdiff_t>(i * dim));
    }
    it.common_.assign(dim, 1.0f / std::sqrt(static_cast<float>(dim)));
    std::vector<float> next(dim);
    for (int iter = 0; iter < 20; ++iter) {  // power iteration on E^T E
        std::fill(next.begin(), next.end(), 0.0f);
        for (std::size_t i = 0; i < n; ++i) {
            const float* e = &it.embeddings_[i * dim];
            float p = 0;
            for (std::size_t d = 0; d < dim; ++d) p += e[d] * it.common_[d];
            for (std::size_t d = 0; d < dim; ++d) next[d] += p * e[d];
        }
        float norm = 0;
        for (float x : next) norm += x * x;
        norm = std::sqrt(norm);
        if (norm <= 0) break;
        for (std::size_t d = 0; d < dim; ++d) it.common_[d] = next[d] / norm;
    }
    for (std::size_t i = 0; i < n; ++i) {
        float* e = &it.embeddings_[i * dim];
        float p = 0, norm = 0;
        for (std::size_t d = 0; d < dim; ++d) p += e[d] * it.common_[d];
        for (std::size_t d = 0; d < dim; ++d) {
            e[d] -= p * it.common_[d];
            norm += e[d] * e[d];
        }
        norm = std::sqrt(norm);
        if (norm > 0)
            for (std::size_t d = 0; d < dim; ++d) e[d] /= norm;
    }
    return it;
}

bool Interpreter::embed(const std::vector<std::string>& tokens, const std::vector<bool>& skip, std::vector<float>& out) const {
    out.assign(static_cast<std::size_t>(vectors_.dimensions()), 0.0f);
    bool any = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (skip[i]) continue;
        if (const auto idx = vectors_.find(tokens[i])) {
            vectors_.accumulate(*idx, vectors_.sifWeight(*idx), out);
            any = true;
        }
    }
    if (!common_.empty()) {
        float p = 0;
        for (std::size_t d = 0; d < out.size(); ++d) p += out[d] * common_[d];
        for (std::size_t d = 0; d < out.size(); ++d) out[d] -= p * common_[d];
    }
    float norm = 0;
    for (float x : out) norm += x * x;
    norm = std::sqrt(norm);
    if (norm > 0)
        for (float& x : out) x /= norm;
    return any && norm > 0;
}

Interpretation Interpreter::interpret(std::string_view prompt) const {
    Interpretation r;
    Json cur = Json::parse(music::toJson(music::MusicConfig{}));
    std::set<std::string> explicitFields;
    const auto set = [&](const std::string& field, const Json& value, const std::string& why, bool isExplicit) {
        cur[field] = value;
        r.decidedBy[field] = why;
        if (isExplicit) explicitFields.insert(field);
    };
    const auto labelsOf = [](const std::string& field) -> std::vector<std::string> {
        if (field == "density") return {"2", "3", "4", "5", "6"};
        return blendFields()[static_cast<std::size_t>(fieldIndex(field))].labels;
    };
    const auto position = [&](const std::string& field) {
        const auto labels = labelsOf(field);
        const std::string now = field == "density" ? std::to_string(cur[field].get<int>()) : cur[field].get<std::string>();
        return static_cast<int>(std::find(labels.begin(), labels.end(), now) - labels.begin());
    };
    const auto setPosition = [&](const std::string& field, int pos, const std::string& why, bool isExplicit = true) {
        const auto labels = labelsOf(field);
        pos = std::clamp(pos, 0, static_cast<int>(labels.size()) - 1);
        if (field == "density") set(field, std::stoi(labels[static_cast<std::size_t>(pos)]), why, isExplicit);
        else set(field, labels[static_cast<std::size_t>(pos)], why, isExplicit);
    };
    const auto note = [&](std::string s) { r.notes.push_back(std::move(s)); };

    // Clauses (split at punctuation) bound negation; tokens keep their clause.
    std::vector<std::string> tokens;
    std::vector<int> clause;
    {
        std::string part;
        int c = 0;
        const auto flush = [&] {
            for (auto& t : tokenize(part)) {
                if (tokens.size() >= kMaxTokens) break;
                tokens.push_back(std::move(t));
                clause.push_back(c);
            }
            part.clear();
            ++c;
        };
        for (char ch : prompt) {
            if (std::string_view(",.;!?:()[]\n").find(ch) != std::string_view::npos) flush();
            else part += ch;
        }
        flush();
    }
    for (auto& t : tokens) t = clockWord(t);
    const std::size_t n = tokens.size();
    std::vector<bool> negated(n, false), consumed(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        if (!isNegator(tokens[i])) continue;
        for (std::size_t j = i + 1, content = 0; j < n && clause[j] == clause[i] && content < 3; ++j) {
            if (in(tokens[j], {"but", "yet", "though", "with", "instead"})) break;
            negated[j] = true;
            if (!in(tokens[j], {"a", "an", "the", "any", "more", "too", "much", "many", "real", "or", "and"})) ++content;
        }
    }
    const auto prev = [&](std::size_t i) -> std::string { return i > 0 && clause[i - 1] == clause[i] ? tokens[i - 1] : ""; };

    // 1. Explicit numbers and keys first, so "130" or "F#" never reach the vectors.
    std::optional<double> bpm;
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = number(tokens[i]);
        if (!v) continue;
        const std::string after = i + 1 < n ? tokens[i + 1] : "";
        const bool tempoWord = in(after, {"bpm", "beats"}) || in(prev(i), {"bpm", "tempo"});
        if (!tempoWord) continue;
        consumed[i] = true;
        if (i + 1 < n && in(after, {"bpm", "beats"})) consumed[i + 1] = true;
        if (*v < 40 || *v > 220) {
            note(fmt::format("'{} bpm' ignored: tempos from 40 to 220 bpm are allowed", tokens[i]));
            continue;
        }
        bpm = *v;
    }
    if (bpm) {
        set("bpm", *bpm, fmt::format("explicit tempo '{} bpm'", *bpm), true);
        note(fmt::format("'{} bpm' -> bpm {}", *bpm, *bpm));
    }
    std::optional<int> root;
    std::optional<music::Mode> mode;
    std::string modeWhy;
    for (std::size_t i = 0; i < n; ++i) {
        if (consumed[i]) continue;
        std::string name = tokens[i];
        if (name.size() > 2 || name.empty() || name[0] < 'a' || name[0] > 'g') continue;
        if (name.size() == 2 && name[1] != '#' && name[1] != 'b') continue;
        std::size_t j = i + 1;
        if (name.size() == 1 && j < n && in(tokens[j], {"sharp", "flat"})) {
            name += tokens[j] == "sharp" ? "#" : "b";
            ++j;
        }
        const std::string p = prev(i);
        const bool afterKey = p == "in" || p == "key" || (p == "of" && i >= 2 && tokens[i - 2] == "key");
        std::optional<music::Mode> m;
        std::size_t end = j;
        if (j < n && (m = modeWord(tokens[j]))) {
            end = j + 1;
            if (j + 1 < n && tokens[j + 1] == "pentatonic")
                m = *m == music::Mode::Major ? music::Mode::MajorPentatonic : music::Mode::MinorPentatonic, ++end;
        } else if (j + 1 < n && tokens[j] == "harmonic" && tokens[j + 1] == "minor") {
            m = music::Mode::HarmonicMinor;
            end = j + 2;
        }
        // "in a cafe" is not A: a bare letter needs "in"/"key of" and (for "a") an accidental or a mode.
        const bool accidental = name.size() == 2;
        if (!m && !(afterKey && (accidental || name != "a"))) continue;
        if (!m && !afterKey && !accidental) continue;
        const auto pc = music::parsePitchClass(name);
        if (!pc) continue;
        root = *pc;
        for (std::size_t k = i; k < end; ++k) consumed[k] = true;
        const std::string said = joinTokens(tokens, i, end);
        if (m) {
            mode = *m;
            modeWhy = fmt::format("explicit key '{}'", said);
        }
        note(fmt::format("'{}' -> key {}{}", said, music::pitchClassName(*pc), m ? " " + std::string(music::modeName(*m)) : ""));
        break;
    }
    for (std::size_t i = 0; i < n && !mode; ++i) {
        if (consumed[i] || negated[i]) continue;
        std::optional<music::Mode> m;
        const std::string next = i + 1 < n ? tokens[i + 1] : "";
        if (in(tokens[i], {"dorian", "phrygian", "lydian", "mixolydian", "aeolian", "ionian"})) m = modeWord(tokens[i]);
        else if (tokens[i] == "harmonic" && next == "minor") m = music::Mode::HarmonicMinor;
        else if (tokens[i] == "pentatonic") m = prev(i) == "minor" ? music::Mode::MinorPentatonic : music::Mode::MajorPentatonic;
        else if (in(tokens[i], {"major", "minor"}) && (in(next, {"key", "scale", "mode", "tonality"}) || prev(i) == "in"))
            m = modeWord(tokens[i]);
        else if (tokens[i] == "blues" && next == "scale") m = music::Mode::MinorPentatonic;
        if (!m) continue;
        mode = *m;
        consumed[i] = true;
        modeWhy = fmt::format("explicit mode word '{}'", tokens[i]);
        note(fmt::format("'{}' -> mode {}", tokens[i], music::modeName(*m)));
    }

    // 2. Meaning by similarity: the prompt's vector against the library.
    std::vector<bool> skip(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        skip[i] = consumed[i] || negated[i] || isNegator(tokens[i]);
        if (skip[i] || number(tokens[i])) {
            skip[i] = true;
            continue;
        }
        if (vectors_.find(tokens[i])) ++r.knownWords;
        else if (!isStopword(tokens[i]) && r.unknownWords.size() < 8 && std::find(r.unknownWords.begin(), r.unknownWords.end(), tokens[i]) == r.unknownWords.end())
            r.unknownWords.push_back(tokens[i]);
    }
    std::vector<float> q;
    if (embed(tokens, skip, q)) {
        const auto dim = q.size();
        // Word alignment: the prompt's distinct content words (the 64 rarest of a long prompt),
        // each against the library's vocabulary.
        std::vector<std::pair<float, std::uint32_t>> words;  // sif, word index
        for (std::size_t i = 0; i < n; ++i) {
            if (skip[i]) continue;
            const auto idx = vectors_.find(tokens[i]);
            if (!idx || isStopword(tokens[i]) || vectors_.sifWeight(*idx) < 0.2f) continue;
            if (std::none_of(words.begin(), words.end(), [&](const auto& w) { return w.second == *idx; }))
                words.emplace_back(vectors_.sifWeight(*idx), *idx);
        }
        std::sort(words.begin(), words.end(), std::greater<>());
        if (words.size() > 64) words.resize(64);
        const std::size_t V = libWords_.size();
        std::vector<float> match(words.size() * V);  // prompt word x library word, sharpened cosine
        std::vector<float> wv(dim);
        float promptSif = 0;
        for (std::size_t p = 0; p < words.size(); ++p) {
            std::fill(wv.begin(), wv.end(), 0.0f);
            vectors_.accumulate(words[p].second, 1.0f, wv);
            float norm = 0;
            for (float x : wv) norm += x * x;
            norm = std::sqrt(norm);
            for (std::size_t u = 0; u < V; ++u) {
                const float* lv = &libWordVectors_[u * dim];
                float c = 0;
                for (std::size_t d = 0; d < dim; ++d) c += lv[d] * wv[d];
                c /= norm;
                match[p * V + u] = libWords_[u] == words[p].second ? 1.0f : std::max(0.0f, (c - 0.25f) / 0.75f);
            }
            promptSif += words[p].first;
        }
        {
            std::vector<std::string> said;
            for (std::size_t p = 0; p < words.size() && p < 12; ++p) {
                std::vector<std::pair<float, std::size_t>> top;
                for (std::size_t u = 0; u < V; ++u) top.emplace_back(match[p * V + u], u);
                std::partial_sort(top.begin(), top.begin() + std::min<std::ptrdiff_t>(3, static_cast<std::ptrdiff_t>(V)), top.end(), std::greater<>());
                std::vector<std::string> near;
                for (std::size_t t = 0; t < std::min<std::size_t>(3, V); ++t)
                    if (top[t].first > 0) near.push_back(fmt::format("{} {:.2f}", vectors_.word(libWords_[top[t].second]), top[t].first));
                said.push_back(fmt::format("{} ~ {}", vectors_.word(words[p].second), near.empty() ? "nothing close" : fmt::format("{}", fmt::join(near, ", "))));
            }
            if (!said.empty()) note(fmt::format("words and their nearest library words: {}", fmt::join(said, "; ")));
        }
        std::vector<float> best(words.size());
        std::vector<std::pair<float, std::size_t>> sims(entries_.size());
        for (std::size_t e = 0; e < entries_.size(); ++e) {
            const float* v = &embeddings_[e * dim];
            float s = 0;
            for (std::size_t d = 0; d < dim; ++d) s += v[d] * q[d];
            float align = 0;
            if (!words.empty() && !entryWords_[e].empty()) {
                std::fill(best.begin(), best.end(), 0.0f);
                float back = 0, entrySif = entryUnknown_[e];
                for (const auto u : entryWords_[e]) {
                    float m = 0;
                    for (std::size_t p = 0; p < words.size(); ++p) {
                        const float x = match[p * V + u];
                        m = std::max(m, x);
                        best[p] = std::max(best[p], x);
                    }
                    back += libWordSif_[u] * m;
                    entrySif += libWordSif_[u];
                }
                float cover = 0;
                for (std::size_t p = 0; p < words.size(); ++p) cover += words[p].first * best[p];
                cover /= promptSif;
                back /= entrySif;
                align = cover + back > 0 ? 2 * cover * back / (cover + back) : 0.0f;
            }
            sims[e] = {0.4f * s + 0.6f * align, e};
        }
        const std::size_t k = std::min(kNeighbours, sims.size());
        std::partial_sort(sims.begin(), sims.begin() + static_cast<std::ptrdiff_t>(k), sims.end(), std::greater<>());
        std::vector<std::pair<const Fragment*, double>> parts;
        double total = 0;
        for (std::size_t i = 0; i < k; ++i) total += std::exp((sims[i].first - sims[0].first) / kTemperature);
        for (std::size_t i = 0; i < k; ++i) {
            const double w = std::exp((sims[i].first - sims[0].first) / kTemperature) / total;
            parts.emplace_back(&entries_[sims[i].second].fragment, w);
            r.neighbours.push_back({entries_[sims[i].second].text, sims[i].first, static_cast<float>(w)});
        }
        Json blended = Json::parse(fragmentToJson(blend(parts, 0.3)));
        // A tempo number and a genre (whose style profile decides much) only from named genres, or
        // when most of the neighbours agree on the genre; otherwise the tempo label decides.
        blended.erase("bpm");
        if (blended.contains("genre")) {
            double share = 0;
            for (const auto& [frag, w] : parts)
                for (const auto& v : *frag)
                    if (blendFields()[static_cast<std::size_t>(v.field)].name == "genre" && v.text == blended["genre"]) share += w;
            if (share < 0.5) blended.erase("genre");
        }
        for (const auto& [field, value] : blended.items()) set(field, value, "similar library entries", false);
        r.understood = true;
        note(fmt::format("nearest described configurations: {}", [&] {
            std::vector<std::string> s;
            for (std::size_t i = 0; i < std::min<std::size_t>(5, r.neighbours.size()); ++i)
                s.push_back(fmt::format("'{}' ({:.2f}, weight {:.2f})", r.neighbours[i].text, r.neighbours[i].similarity, r.neighbours[i].weight));
            return fmt::format("{}", fmt::join(s, "; "));
        }()));
    }

    // 3. Genre and mood names win over similarity: the genre first, then the mood colours it
    //    (mode, brightness, melody), leaving rhythm and layers to the genre.
    std::vector<std::pair<std::size_t, bool>> hits;  // block, negated
    static const std::vector<std::size_t> kNoPhrases;
    const auto phrasesFrom = [&](const std::string& word) -> const std::vector<std::size_t>& {
        const auto f = phrasesByFirstWord_.find(word);
        return f == phrasesByFirstWord_.end() ? kNoPhrases : f->second;
    };
    for (std::size_t i = 0; i < n; ++i)
        for (const std::size_t pi : phrasesFrom(tokens[i])) {
            const Phrase& p = phrases_[pi];
            const auto& cat = blocks_.blocks[p.block].category;
            if (cat != "genre" && cat != "mood") continue;
            if (i + p.tokens.size() > n) continue;
            bool match = true;
            for (std::size_t t = 0; t < p.tokens.size() && match; ++t) match = !consumed[i + t] && tokens[i + t] == p.tokens[t];
            if (!match) continue;
            // "my house", "the rock": a single-word genre after a determiner is a noun.
            if (cat == "genre" && p.tokens.size() == 1 &&
                in(prev(i), {"a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "coffee", "haunted",
                             "tree", "old", "big", "country", "opera", "full", "green", "on", "summer", "beach"}))
                continue;
            for (std::size_t t = 0; t < p.tokens.size(); ++t) consumed[i + t] = true;
            hits.emplace_back(p.block, negated[i]);
            if (negated[i]) note(fmt::format("'not {}': that {} is avoided, not chosen", joinTokens(p.tokens), cat));
            break;
        }
    for (const char* cat : {"genre", "mood"}) {
        std::vector<std::pair<const Fragment*, double>> parts;
        std::vector<std::string> said;
        for (const auto& [b, neg] : hits)
            if (!neg && blocks_.blocks[b].category == cat) {
                parts.emplace_back(&blocks_.blocks[b].set, 1.0);
                said.push_back(blocks_.blocks[b].names[0]);
            }
        if (parts.empty()) continue;
        const std::string why = fmt::format("{} word{} '{}'", cat, said.size() > 1 ? "s" : "", fmt::join(said, "', '"));
        auto fields = Json::parse(fragmentToJson(blend(parts, 0.0)));
        if (std::string(cat) == "mood")  // a mood colours the music; layers and rhythm are the genre's and the scene's
            for (const char* f : {"rhythm", "density", "accent", "space", "bass", "texture", "instrumentation"}) fields.erase(f);
        for (const auto& [field, value] : fields.items()) set(field, value, why, true);
        note(fmt::format("{} -> {}", why, fields.dump()));
        r.understood = true;
    }

    // 4. Scale words, with intensifiers and comparatives ("very dark", "a bit faster", "darker").
    int tempoSteps = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (consumed[i] || negated[i]) continue;
        const ScaleWord* sw = nullptr;
        for (const auto& s : kScaleWords)
            if (tokens[i] == s.word) sw = &s;
        if (!sw) continue;
        if (tokens[i] == "close" && in(prev(i), {"to", "so"})) continue;
        const std::string field = sw->field;
        const double k = intensity(prev(i));
        const int before = position(field);
        const auto labels = labelsOf(field);
        const int mid = static_cast<int>(labels.size()) / 2;
        int target;
        if (*sw->label == '\0') {
            target = before + sw->step * (k > 1.5 ? 2 : 1);
        } else {
            target = static_cast<int>(std::find(labels.begin(), labels.end(), sw->label) - labels.begin());
            if (k > 1.5 && target != mid) target = target < mid ? 0 : static_cast<int>(labels.size()) - 1;
            if (k < 0.9) target = before + (target > before ? 1 : target < before ? -1 : 0);
        }
        const std::string said = (k != 1.0 ? prev(i) + " " : "") + tokens[i];
        setPosition(field, target, fmt::format("word '{}'", said));
        if (field == "tempo") tempoSteps += position("tempo") - before;
        consumed[i] = true;
        note(fmt::format("'{}' -> {} {}", said, field, cur[field].dump()));
        r.understood = true;
    }
    for (std::size_t i = 0; i < n; ++i)
        if (!consumed[i] && !negated[i] && in(tokens[i], {"swing", "swung", "swinging", "shuffle", "shuffled", "shuffling"})) {
            set("swing", 0.55, fmt::format("word '{}'", tokens[i]), true);
            note(fmt::format("'{}' -> swing 0.55", tokens[i]));
            break;
        }

    // 5. Instruments, "solo piano", and what the prompt says to leave out.
    std::vector<std::string> instruments = cur.contains("instrumentation") ? cur["instrumentation"].get<std::vector<std::string>>()
                                                                           : std::vector<std::string>{};
    std::vector<std::string> named;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& w = tokens[i];  // genre names may name instruments too ("orchestral", "string quartet")
        if (number(w) && consumed[i]) continue;
        if (negated[i]) {
            if (isDrumWord(w) || w == "drumkit") {
                set("rhythm", "none", fmt::format("'no {}'", w), true);
                note(fmt::format("'no {}' -> rhythm none", w));
                instruments.erase(std::remove(instruments.begin(), instruments.end(), "drums"), instruments.end());
            } else if (in(w, {"bass", "bassline", "basslines", "sub", "low-end"})) {
                set("bass", "none", fmt::format("'no {}'", w), true);
                set("depth", false, fmt::format("'no {}'", w), true);
                note(fmt::format("'no {}' -> bass none, no sub", w));
                instruments.erase(std::remove(instruments.begin(), instruments.end(), "808"), instruments.end());
            } else if (in(w, {"melody", "melodies", "lead", "tune"})) {
                set("melody", "minimal", fmt::format("'no {}'", w), true);
                set("accent", "none", fmt::format("'no {}'", w), true);
                note(fmt::format("'no {}' -> melody minimal, no accent layer", w));
            } else if (in(w, {"reverb", "space"})) {
                set("space", "dry", fmt::format("'no {}'", w), true);
                note(fmt::format("'no {}' -> space dry", w));
            } else if (in(w, {"echo", "echoes", "delay", "delays"})) {
                set("echo", "none", fmt::format("'no {}'", w), true);
                note(fmt::format("'no {}' -> echo none", w));
            } else if (in(w, {"vocals", "vocal", "singing", "lyrics", "voice", "voices"})) {
                note(fmt::format("'no {}': soundstar sings no words anyway", w));
                instruments.erase(std::remove(instruments.begin(), instruments.end(), "choir"), instruments.end());
            } else if (const auto it = instrumentWords().find(w); it != instrumentWords().end()) {
                instruments.erase(std::remove(instruments.begin(), instruments.end(), it->second), instruments.end());
                note(fmt::format("'no {}' -> no {} in the instrumentation", w, it->second));
            }
            continue;
        }
        if (in(w, {"drumless", "beatless", "a-cappella", "arrhythmic"})) {
            set("rhythm", "none", fmt::format("word '{}'", w), true);
            note(fmt::format("'{}' -> rhythm none", w));
            continue;
        }
        const auto it = instrumentWords().find(w);
        if (it == instrumentWords().end()) continue;
        if (w == "acoustic" && i + 1 < n && instrumentWords().count(tokens[i + 1])) continue;  // "acoustic piano"
        if (in(w, {"keys", "string", "horn", "drum"}) && i + 1 < n && !instrumentWords().count(tokens[i + 1]) &&
            in(tokens[i + 1], {"of", "to"}))
            continue;  // "keys to", "string of"
        if (it->second == "drums") {
            if (cur["rhythm"] == "none" && !explicitFields.count("rhythm")) {
                set("rhythm", "kit_medium", fmt::format("word '{}'", w), true);
                note(fmt::format("'{}' -> rhythm kit_medium", w));
            }
            continue;
        }
        if (std::find(instruments.begin(), instruments.end(), it->second) == instruments.end()) instruments.push_back(it->second);
        named.push_back(it->second);
        if (in(prev(i), {"solo", "just", "only", "lone", "unaccompanied"}) || (i + 1 < n && in(tokens[i + 1], {"solo", "only", "alone"}))) {
            set("rhythm", "none", fmt::format("'solo {}'", w), true);
            set("density", 3, fmt::format("'solo {}'", w), true);
            instruments = {it->second};
            note(fmt::format("'{} {}' -> just that instrument: no drums, density 3", prev(i), w));
        }
        if (in(w, {"sax", "saxophone"})) note(fmt::format("'{}': no saxophone yet; brass stands in", w));
        if (it->second == "808" && !explicitFields.count("depth")) set("depth", true, "word '808'", true);
    }
    if (!named.empty() || cur.contains("instrumentation")) {
        std::sort(named.begin(), named.end());
        named.erase(std::unique(named.begin(), named.end()), named.end());
        if (!named.empty()) note(fmt::format("instrument words -> instrumentation {}", fmt::join(instruments, ", ")));
        if (!named.empty() || instruments.empty()) set("instrumentation", instruments, named.empty() ? "negation" : "instrument words", !named.empty());
        r.understood = r.understood || !named.empty();
    }

    // 6. Valence (VADER/AFINN, VADER's negation and booster rules) and arousal words.
    {
        double sum = 0;
        std::vector<std::string> said;
        for (std::size_t i = 0; i < n; ++i) {
            const auto it = valence_.find(tokens[i]);
            if (it == valence_.end() || isNegator(tokens[i])) continue;
            double v = it->second * 4.0;  // VADER's -4..4 scale
            const double k = intensity(prev(i));
            v *= k > 1.5 ? 1.3 : k < 0.9 ? 0.7 : 1.0;
            if (negated[i]) v *= -0.74;
            sum += v;
            if (said.size() < 6) said.push_back(fmt::format("{}{} {:+.1f}", negated[i] ? "not " : "", tokens[i], v));
        }
        r.valence = sum / std::sqrt(sum * sum + 15.0);
        double aSum = 0;
        int aCount = 0;
        std::vector<std::string> aSaid;
        for (std::size_t i = 0; i < n; ++i) {
            const auto it = arousalWords().find(tokens[i]);
            if (it == arousalWords().end()) continue;
            double a = it->second * (intensity(prev(i)) > 1.5 ? 1.3 : 1.0);
            if (negated[i]) a *= -0.5;
            aSum += a;
            ++aCount;
            if (aSaid.size() < 6) aSaid.push_back(tokens[i]);
        }
        r.arousal = aCount ? std::clamp(aSum / aCount, -1.0, 1.0) : 0.0;
        if (!said.empty()) {
            std::string did;
            const std::string m = cur["mode"].get<std::string>();
            if (!mode && !explicitFields.count("mode")) {
                if (r.valence <= -0.3 && majorFamily(m)) {
                    set("mode", r.valence <= -0.5 ? "minor" : "dorian", "valence", false);
                    did += fmt::format(", mode {}", cur["mode"].get<std::string>());
                } else if (r.valence >= 0.3 && !majorFamily(m)) {
                    set("mode", r.valence >= 0.5 ? "major" : "mixolydian", "valence", false);
                    did += fmt::format(", mode {}", cur["mode"].get<std::string>());
                }
            }
            if (!explicitFields.count("brightness") && std::abs(r.valence) >= 0.5) {
                const int before = position("brightness");
                setPosition("brightness", before + (r.valence > 0 ? 1 : -1), "valence", false);
                did += fmt::format(", brightness {}", cur["brightness"].get<std::string>());
            }
            note(fmt::format("valence {:+.2f} from {}{}", r.valence, fmt::join(said, ", "), did.empty() ? " (fits as it is)" : " ->" + did.substr(1)));
        }
        if (aCount) {
            std::string did;
            const int steps = r.arousal >= 0.45 ? 1 : r.arousal <= -0.45 ? -1 : 0;
            if (steps && !explicitFields.count("tempo") && !bpm) {
                const int before = position("tempo");
                setPosition("tempo", before + steps, "arousal words", false);
                tempoSteps += position("tempo") - before;
                did += fmt::format(", tempo {}", cur["tempo"].get<std::string>());
            }
            if (steps && !explicitFields.count("density")) {
                setPosition("density", position("density") + steps, "arousal words", false);
                did += fmt::format(", density {}", cur["density"].get<int>());
            }
            note(fmt::format("arousal {:+.2f} from {}{}", r.arousal, fmt::join(aSaid, ", "), did.empty() ? "" : " ->" + did.substr(1)));
        }
        r.understood = r.understood || !said.empty() || aCount;
    }

    // 7. Tempo words move a genre's bpm too ("slow techno"); explicit keys and modes last.
    if (!bpm && tempoSteps != 0 && cur.contains("bpm")) {
        const double b = std::clamp(std::round(cur["bpm"].get<double>() * std::pow(1.12, tempoSteps)), 40.0, 220.0);
        set("bpm", b, fmt::format("tempo words moved the bpm by {:+d} step{}", tempoSteps, std::abs(tempoSteps) == 1 ? "" : "s"), true);
    }
    if (bpm) set("bpm", *bpm, fmt::format("explicit tempo '{} bpm'", *bpm), true);  // numbers win over genre words
    if (cur.contains("bpm")) cur["bpm"] = std::round(cur["bpm"].get<double>());
    if (mode) set("mode", std::string(music::modeName(*mode)), modeWhy, true);
    const std::uint64_t hash = textHash(prompt);
    if (root) {
        set("root", std::string(music::pitchClassName(*root)), "explicit key", true);
    } else {
        cur["root"] = std::string(music::pitchClassName(static_cast<int>((hash >> 32) % 12)));
        r.decidedBy["root"] = "the prompt's hash (no key named)";
    }
    cur["seed"] = hash & 0xFFFFFFFFull;
    r.explicitFields = explicitFields;
    if (!r.understood) {
        note(prompt.find_first_not_of(" \t\r\n") == std::string_view::npos
                 ? "empty prompt: a balanced default"
                 : fmt::format("nothing in the prompt was understood{}; a balanced default",
                               r.unknownWords.empty() ? "" : fmt::format(" (unknown words: {})", fmt::join(r.unknownWords, ", "))));
    } else if (!r.unknownWords.empty()) {
        note(fmt::format("words not known: {}", fmt::join(r.unknownWords, ", ")));
    }
    try {
        r.config = music::parseMusicConfig(cur.dump(), "interpreter");
    } catch (const std::invalid_argument& e) {
        // Cannot happen with valid data files; if it does, say so and keep the user's render going.
        note(fmt::format("internal: the interpreted config was invalid ({}); using the default", e.what()));
        r.config = music::MusicConfig{};
        r.config.seed = hash & 0xFFFFFFFFull;
    }
    return r;
}

}  // namespace soundstar::interpret

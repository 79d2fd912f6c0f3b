#pragma once
// The interpreter's working state while its passes read a prompt: the tokens with their clauses
// and negations, the config so far (as JSON), and for every field the source that decided it.
// A pass may set a field only when its source is at least as strong as the one that set it
// before, so a neighbour, a mood or a genre never overwrites what the prompt said outright
// [control].
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "interpret/Interpreter.h"

namespace soundstar::interpret {

/// Who decided a field, weakest first. Equal strength: the later pass wins (a mood word colours
/// a genre word; "darker" moves what "dark" set).
enum class Source {
    Default = 0,
    Neighbours,  // similar library entries
    Feeling,     // valence and arousal words
    Name,        // a genre or mood name ("techno", "melancholic")
    Word,        // scale, instrument and negation words ("slow", "piano", "no drums")
    Stated,      // numbers, keys and mode words ("130 bpm", "in F# minor", "dorian")
};

/// The fields a source at least this strong decided are the prompt's own (Interpretation::explicitFields).
constexpr Source kExplicit = Source::Name;

struct Draft {
    std::vector<std::string> tokens;
    std::vector<int> clause;  // each token's clause (split at punctuation)
    // negated: inside a negation's reach; consumed: read as an explicit value (hidden from similarity)
    std::vector<bool> negated, consumed;
    nlohmann::json config;                  // the config so far: every field, defaults first
    std::map<std::string, Source> sources;  // field -> who decided it (absent: the default)
    Interpretation result;                  // notes, decidedBy, valence, ... as the passes go
    std::optional<double> statedBpm;        // "130 bpm"
    int tempoSteps = 0;                     // how far words moved the tempo label (moves a genre's bpm too)

    Draft();
    std::size_t size() const { return tokens.size(); }
    /// The token before i in the same clause, or "".
    std::string prev(std::size_t i) const;
    /// The token after i in the same clause, or "".
    std::string next(std::size_t i) const;
    Source sourceOf(const std::string& field) const;
    /// Sets a field unless a stronger source decided it; says whether it did.
    bool set(const std::string& field, const nlohmann::json& value, const std::string& why, Source source);
    /// A scale field's labels (density as "2".."6") and the current position on them.
    static std::vector<std::string> labelsOf(const std::string& field);
    int position(const std::string& field) const;
    bool setPosition(const std::string& field, int position, const std::string& why, Source source);
    void note(std::string text) { result.notes.push_back(std::move(text)); }
};

// The passes, in the order Interpreter::interpret runs them (the similarity blend and the genre
// and mood names are Interpreter members: they need its library).

/// Tokens, clauses (split at punctuation) and what each negator reaches (up to three content
/// words, stopping at "but", "with", ...). Clock times become times of day.
void readClauses(std::string_view prompt, Draft& d);
/// "130 bpm", "tempo 72", "in F# minor", "key of Bb", "dorian", "harmonic minor": Stated.
void readStatedValues(Draft& d);
/// "slow", "very dark", "a bit faster", "darker", "swing": Word.
void readScaleWords(Draft& d);
/// "piano", "solo piano", "808", "no drums", "without bass", "drumless": Word.
void readInstruments(Draft& d);
/// A word's valence score (-1..1), or nullopt when the lexicon lacks it.
using ValenceLookup = std::function<std::optional<float>(const std::string&)>;
/// Valence (VADER/AFINN lexicon) steers mode and brightness, arousal words tempo and density,
/// where nothing stronger decided them: Feeling.
void readFeelings(const ValenceLookup& valence, Draft& d);
/// The same with the lexicon as a map.
void readFeelings(const std::unordered_map<std::string, float>& valence, Draft& d);
/// Makes bpm and the tempo label agree: a stated bpm decides the label; a tempo word moves and
/// bounds a genre's bpm; otherwise the label follows the bpm.
void settleTempo(Draft& d);
/// Root and seed, the closing notes, and the parsed config.
void finish(std::string_view prompt, Draft& d);

}  // namespace soundstar::interpret

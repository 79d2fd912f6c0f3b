#pragma once
// The interpreter's word tables: negators, intensifiers, words on label scales, arousal words,
// instrument names, stopwords, numbers, mode names and clock times. Data, kept apart from the
// passes that read them [control].
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>

#include "music/Theory.h"

namespace soundstar::interpret {

/// Whether `w` is one of `set`.
bool in(const std::string& w, std::initializer_list<const char*> set);
/// How strongly a word before another scales it: 2 intensifies ("very"), 0.5 softens ("a bit"), 1 = none.
double intensity(const std::string& w);
/// "no", "not", "without", ...: the next few words of the clause are negated.
bool isNegator(const std::string& w);

/// A word on a label scale: the field, the label it names, or a step (comparatives).
struct ScaleWord {
    const char* word;
    const char* field;
    const char* label;  // "" for a comparative
    int step;           // comparatives: +1 / -1 along the scale
};
/// The scale word `w`, or nullptr.
const ScaleWord* findScaleWord(const std::string& w);

/// Arousal: how excited a word is, -1 (asleep) .. 1 (frantic).
const std::unordered_map<std::string, double>& arousalWords();
/// Instruments a prompt can name, as the names the instrumentation field uses.
const std::unordered_map<std::string, std::string>& instrumentWords();
/// "drums", "beat", "percussion", ...: words whose negation means no rhythm.
bool isDrumWord(const std::string& w);
/// A plain decimal number of up to six characters, or nullopt.
std::optional<double> number(const std::string& t);
/// A mode's name ("dorian", "aeolian" -> minor), or nullopt.
std::optional<music::Mode> modeWord(const std::string& w);
/// Function words: never aligned with library words (SIF already makes them light in the mean).
bool isStopword(const std::string& w);
/// "4am" -> "night", "7am" -> "morning", "3pm" -> "afternoon"; any other token as it is.
std::string clockWord(const std::string& t);
/// Major, lydian, mixolydian and major pentatonic: the modes a listener hears as major.
bool majorFamily(const std::string& mode);

}  // namespace soundstar::interpret

// The pass state, and the first two passes: clauses and negation, then stated values (numbers,
// keys, modes), which run before anything else so "130" or "F#" never reach the vectors.
#include "interpret/Draft.h"

#include <fmt/format.h>

#include <algorithm>

#include "interpret/Library.h"
#include "interpret/Text.h"
#include "interpret/Words.h"
#include "music/Theory.h"

namespace soundstar::interpret {
namespace {

constexpr std::size_t kMaxTokens = 4000;  // a 10,000-character prompt is ~2,000 words

/// A key at token i ("f#", "f sharp", "bb", "a" after "in"/"key of"), with its mode if one
/// follows; consumes what it read. Says whether it found one.
bool readKeyAt(std::size_t i, Draft& d) {
    const std::size_t n = d.size();
    const auto& tokens = d.tokens;
    std::string name = tokens[i];
    if (name.size() > 2 || name.empty() || name[0] < 'a' || name[0] > 'g') return false;
    if (name.size() == 2 && name[1] != '#' && name[1] != 'b') return false;
    std::size_t j = i + 1;
    if (name.size() == 1 && j < n && in(tokens[j], {"sharp", "flat"})) {
        name.push_back(tokens[j] == "sharp" ? '#' : 'b');
        ++j;
    }
    const std::string p = d.prev(i);
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
    if (!m && !(afterKey && (accidental || name != "a"))) return false;
    if (!m && !afterKey && !accidental) return false;
    const auto pc = music::parsePitchClass(name);
    if (!pc) return false;
    for (std::size_t k = i; k < end; ++k) d.consumed[k] = true;
    const std::string said = joinTokens(tokens, i, end);
    d.set("root", std::string(music::pitchClassName(*pc)), fmt::format("explicit key '{}'", said),
          Source::Stated);
    if (m)
        d.set("mode", std::string(music::modeName(*m)), fmt::format("explicit key '{}'", said),
              Source::Stated);
    d.note(fmt::format("'{}' -> key {}{}{}", said, music::pitchClassName(*pc), m ? " " : "",
                       m ? music::modeName(*m) : ""));
    return true;
}

/// A mode word at token i ("dorian", "harmonic minor", "minor key", "in major", "blues scale").
std::optional<music::Mode> modeAt(std::size_t i, const Draft& d) {
    const auto& w = d.tokens[i];
    const std::string next = d.next(i);
    if (in(w, {"dorian", "phrygian", "lydian", "mixolydian", "aeolian", "ionian"})) return modeWord(w);
    if (w == "harmonic" && next == "minor") return music::Mode::HarmonicMinor;
    if (w == "pentatonic")
        return d.prev(i) == "minor" ? music::Mode::MinorPentatonic : music::Mode::MajorPentatonic;
    if (in(w, {"major", "minor"}) && (in(next, {"key", "scale", "mode", "tonality"}) || d.prev(i) == "in"))
        return modeWord(w);
    if (w == "blues" && next == "scale") return music::Mode::MinorPentatonic;
    return std::nullopt;
}

void readBpm(Draft& d) {
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto v = number(d.tokens[i]);
        if (!v) continue;
        const std::string after = d.next(i);
        if (!in(after, {"bpm", "beats"}) && !in(d.prev(i), {"bpm", "tempo"})) continue;
        d.consumed[i] = true;
        if (in(after, {"bpm", "beats"})) d.consumed[i + 1] = true;
        if (*v < 40 || *v > 220) {
            d.note(fmt::format("'{} bpm' ignored: tempos from 40 to 220 bpm are allowed", d.tokens[i]));
            continue;
        }
        d.statedBpm = *v;
    }
    if (!d.statedBpm) return;
    const double bpm = *d.statedBpm;
    d.set("bpm", bpm, fmt::format("explicit tempo '{} bpm'", bpm), Source::Stated);
    d.note(fmt::format("'{} bpm' -> bpm {}", bpm, bpm));
}

}  // namespace

Draft::Draft() : config(nlohmann::json::parse(music::toJson(music::MusicConfig{}))) {}

std::string Draft::prev(std::size_t i) const {
    return i > 0 && clause[i - 1] == clause[i] ? tokens[i - 1] : "";
}
std::string Draft::next(std::size_t i) const {
    return i + 1 < size() && clause[i + 1] == clause[i] ? tokens[i + 1] : "";
}

Source Draft::sourceOf(const std::string& field) const {
    const auto it = sources.find(field);
    return it == sources.end() ? Source::Default : it->second;
}

bool Draft::set(const std::string& field, const nlohmann::json& value, const std::string& why,
                Source source) {
    if (source < sourceOf(field)) return false;
    config[field] = value;
    sources[field] = source;
    result.decidedBy[field] = why;
    return true;
}

std::vector<std::string> Draft::labelsOf(const std::string& field) {
    if (field == "density") return {"2", "3", "4", "5", "6"};
    return blendFields()[static_cast<std::size_t>(fieldIndex(field))].labels;
}

int Draft::position(const std::string& field) const {
    const auto labels = labelsOf(field);
    const std::string now =
        field == "density" ? std::to_string(config[field].get<int>()) : config[field].get<std::string>();
    return static_cast<int>(std::find(labels.begin(), labels.end(), now) - labels.begin());
}

bool Draft::setPosition(const std::string& field, int pos, const std::string& why, Source source) {
    const auto labels = labelsOf(field);
    const auto& label =
        labels[static_cast<std::size_t>(std::clamp(pos, 0, static_cast<int>(labels.size()) - 1))];
    return field == "density" ? set(field, std::stoi(label), why, source) : set(field, label, why, source);
}

void readClauses(std::string_view prompt, Draft& d) {
    std::string part;
    int c = 0;
    const auto flush = [&] {
        for (auto& t : tokenize(part)) {
            if (d.tokens.size() >= kMaxTokens) break;
            d.tokens.push_back(clockWord(t));
            d.clause.push_back(c);
        }
        part.clear();
        ++c;
    };
    for (char ch : prompt) {
        if (std::string_view(",.;!?:()[]\n").find(ch) != std::string_view::npos)
            flush();
        else
            part += ch;
    }
    flush();
    const std::size_t n = d.size();
    d.negated.assign(n, false);
    d.consumed.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        if (!isNegator(d.tokens[i])) continue;
        for (std::size_t j = i + 1, content = 0; j < n && d.clause[j] == d.clause[i] && content < 3; ++j) {
            if (in(d.tokens[j], {"but", "yet", "though", "with", "instead"})) break;
            d.negated[j] = true;
            if (!in(d.tokens[j],
                    {"a", "an", "the", "any", "more", "too", "much", "many", "real", "or", "and"}))
                ++content;
        }
    }
}

void readStatedValues(Draft& d) {
    readBpm(d);
    bool keyed = false;
    for (std::size_t i = 0; i < d.size() && !keyed; ++i)
        if (!d.consumed[i]) keyed = readKeyAt(i, d);
    for (std::size_t i = 0; i < d.size() && d.sourceOf("mode") < Source::Stated; ++i) {
        if (d.consumed[i] || d.negated[i]) continue;
        const auto m = modeAt(i, d);
        if (!m) continue;
        d.consumed[i] = true;
        d.set("mode", std::string(music::modeName(*m)), fmt::format("explicit mode word '{}'", d.tokens[i]),
              Source::Stated);
        d.note(fmt::format("'{}' -> mode {}", d.tokens[i], music::modeName(*m)));
    }
}

}  // namespace soundstar::interpret

#include "music/MusicConfig.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::music {
namespace {
using nlohmann::json;

enum class Kind { Scale, Choice, Int, Real, Bool, Text, TextList, Seed, Bpm, Root, ModeField, Key };

struct Field {
    const char* name;
    Kind kind;
    std::vector<std::string> labels;  // Scale (ordered) and Choice
    double min = 0, max = 0;          // Int, Real, Bpm
    std::function<json(const MusicConfig&)> get;
    std::function<void(MusicConfig&, const json&)> set;  // value already validated
};

template <typename T>
std::function<json(const MusicConfig&)> getter(T MusicConfig::*m) {
    return [m](const MusicConfig& c) { return json(c.*m); };
}
template <typename T>
std::function<void(MusicConfig&, const json&)> setter(T MusicConfig::*m) {
    return [m](MusicConfig& c, const json& v) { c.*m = v.get<T>(); };
}
#define SS_FIELD(name, kind, labels, lo, hi, member) \
    Field { name, kind, labels, lo, hi, getter(&MusicConfig::member), setter(&MusicConfig::member) }

// Pitch-class names as the root field takes them: lower case, or with a capital letter.
std::vector<std::string> rootNames() {
    std::vector<std::string> out;
    for (const char* n : {"c", "c#", "db", "d", "d#", "eb", "e", "f", "f#", "gb", "g", "g#", "ab", "a", "a#", "bb", "b"}) {
        std::string capital = n;
        capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
        out.push_back(n);
        out.push_back(capital);
    }
    return out;
}

const std::vector<std::string> kFive{"very_slow", "slow", "medium", "fast", "very_fast"};

const std::vector<Field>& fields() {
    static const std::vector<Field> f = [] {
        std::vector<Field> v;
        v.push_back(SS_FIELD("tempo", Kind::Scale, kFive, 0, 0, tempo));
        v.push_back(SS_FIELD("brightness", Kind::Scale, (std::vector<std::string>{"very_dark", "dark", "medium", "bright", "very_bright"}), 0, 0, brightness));
        v.push_back(SS_FIELD("space", Kind::Scale, (std::vector<std::string>{"dry", "small", "medium", "large", "vast"}), 0, 0, space));
        v.push_back(SS_FIELD("motion", Kind::Scale, (std::vector<std::string>{"static", "slow", "medium", "fast", "chaotic"}), 0, 0, motion));
        v.push_back(SS_FIELD("stereo", Kind::Scale, (std::vector<std::string>{"mono", "narrow", "medium", "wide", "ultra_wide"}), 0, 0, stereo));
        v.push_back(SS_FIELD("echo", Kind::Scale, (std::vector<std::string>{"none", "subtle", "medium", "heavy", "infinite"}), 0, 0, echo));
        v.push_back(SS_FIELD("human", Kind::Scale, (std::vector<std::string>{"robotic", "tight", "natural", "loose", "drunk"}), 0, 0, human));
        v.push_back(SS_FIELD("attack", Kind::Scale, (std::vector<std::string>{"soft", "medium", "sharp"}), 0, 0, attack));
        v.push_back(SS_FIELD("grain", Kind::Scale, (std::vector<std::string>{"clean", "warm", "gritty"}), 0, 0, grain));
        v.push_back(SS_FIELD("density", Kind::Int, {}, 2, 6, density));
        v.push_back(Field{"root", Kind::Root, rootNames(), 0, 0,
                          [](const MusicConfig& c) { return json(std::string(pitchClassName(c.root))); },
                          [](MusicConfig& c, const json& j) { c.root = *parsePitchClass(j.get<std::string>()); }});
        v.push_back(Field{"mode", Kind::ModeField,
                          {"major", "minor", "dorian", "mixolydian", "lydian", "phrygian", "harmonic_minor", "major_pentatonic", "minor_pentatonic"}, 0, 0,
                          [](const MusicConfig& c) { return json(std::string(modeName(c.mode))); },
                          [](MusicConfig& c, const json& j) { c.mode = *parseMode(j.get<std::string>()); }});
        v.push_back(SS_FIELD("bass", Kind::Choice, (std::vector<std::string>{"drone", "sustained", "pulsing", "walking", "fifth_drone", "sub_pulse", "octave", "arp_bass", "none"}), 0, 0, bass));
        v.push_back(SS_FIELD("pad", Kind::Choice, (std::vector<std::string>{"warm_slow", "dark_sustained", "cinematic", "thin_high", "ambient_drift", "stacked_fifths", "bright_open"}), 0, 0, pad));
        v.push_back(SS_FIELD("melody", Kind::Choice, (std::vector<std::string>{"procedural", "contemplative", "rising", "falling", "minimal", "ornamental", "arp_melody", "contemplative_minor", "call_response", "heroic"}), 0, 0, melody));
        v.push_back(SS_FIELD("rhythm", Kind::Choice, (std::vector<std::string>{"none", "minimal", "heartbeat", "soft_four", "hats_only", "electronic", "kit_light", "kit_medium", "military", "tabla_essence", "brush"}), 0, 0, rhythm));
        v.push_back(SS_FIELD("texture", Kind::Choice, (std::vector<std::string>{"none", "shimmer", "shimmer_slow", "vinyl_crackle", "breath", "stars", "glitch", "noise_wash", "crystal", "pad_whisper"}), 0, 0, texture));
        v.push_back(SS_FIELD("accent", Kind::Choice, (std::vector<std::string>{"none", "bells", "pluck", "chime", "bells_dense", "blip", "blip_random", "brass_hit", "wind", "arp_accent", "piano_note"}), 0, 0, accent));
        v.push_back(SS_FIELD("depth", Kind::Bool, {}, 0, 0, depth));
        v.push_back(SS_FIELD("melody_engine", Kind::Choice, (std::vector<std::string>{"pattern", "procedural"}), 0, 0, melodyEngine));
        v.push_back(SS_FIELD("phrase_len_bars", Kind::Int, {}, 1, 16, phraseLenBars));
        v.push_back(SS_FIELD("melody_density", Kind::Real, {}, 0, 1, melodyDensity));
        v.push_back(SS_FIELD("syncopation", Kind::Real, {}, 0, 1, syncopation));
        v.push_back(SS_FIELD("swing", Kind::Real, {}, 0, 1, swing));
        v.push_back(SS_FIELD("motif_repeat_prob", Kind::Real, {}, 0, 1, motifRepeatProb));
        v.push_back(SS_FIELD("step_bias", Kind::Real, {}, 0, 1, stepBias));
        v.push_back(SS_FIELD("chromatic_prob", Kind::Real, {}, 0, 1, chromaticProb));
        v.push_back(SS_FIELD("register_min_oct", Kind::Int, {}, 1, 8, registerMinOct));
        v.push_back(SS_FIELD("register_max_oct", Kind::Int, {}, 1, 8, registerMaxOct));
        v.push_back(SS_FIELD("harmony_style", Kind::Choice, (std::vector<std::string>{"auto", "pop", "jazz", "modal", "ambient", "cinematic", "blues"}), 0, 0, harmonyStyle));
        v.push_back(SS_FIELD("chord_change_bars", Kind::Int, {}, 1, 8, chordChangeBars));
        v.push_back(SS_FIELD("chord_extensions", Kind::Choice, (std::vector<std::string>{"triads", "sevenths", "lush"}), 0, 0, chordExtensions));
        v.push_back(SS_FIELD("cadence_strength", Kind::Real, {}, 0, 1, cadenceStrength));
        v.push_back(SS_FIELD("tension_curve", Kind::Choice, (std::vector<std::string>{"arc", "ramp", "flat", "wave", "valley"}), 0, 0, tensionCurve));
        v.push_back(Field{"bpm", Kind::Bpm, {}, 40, 220,
                          [](const MusicConfig& c) { return c.bpm ? json(*c.bpm) : json(); },
                          [](MusicConfig& c, const json& j) { c.bpm = j.get<double>(); }});
        v.push_back(Field{"key", Kind::Key, {}, 0, 0, [](const MusicConfig&) { return json(); },
                          [](MusicConfig&, const json&) {}});  // handled specially (sets root and mode)
        v.push_back(SS_FIELD("genre", Kind::Text, {}, 0, 0, genre));
        v.push_back(SS_FIELD("mood", Kind::Text, {}, 0, 0, mood));
        v.push_back(SS_FIELD("instrumentation", Kind::TextList, {}, 0, 0, instrumentation));
        v.push_back(Field{"seed", Kind::Seed, {}, 0, 0,
                          [](const MusicConfig& c) { return c.seed ? json(*c.seed) : json(); },
                          [](MusicConfig& c, const json& j) { c.seed = j.get<std::uint64_t>(); }});
        return v;
    }();
    return f;
}
#undef SS_FIELD

const Field* findField(const std::string& name) {
    for (const auto& f : fields())
        if (name == f.name) return &f;
    return nullptr;
}

[[noreturn]] void invalid(const std::string& origin, const std::string& field, const json& v, const std::string& allowed) {
    throw std::invalid_argument(fmt::format("{}: field '{}' = {} is invalid: allowed {}", origin, field, quoteJson(v), allowed));
}

std::string allowedText(const Field& f) {
    switch (f.kind) {
        case Kind::Scale:
        case Kind::Choice:
            return fmt::format("one of {}", fmt::join(f.labels, ", "));
        case Kind::ModeField: return fmt::format("one of {}", fmt::join(f.labels, ", "));
        case Kind::Int: return fmt::format("an integer from {} to {}", f.min, f.max);
        case Kind::Real: return fmt::format("a number from {} to {}", f.min, f.max);
        case Kind::Bpm: return fmt::format("a number of beats per minute from {} to {}", f.min, f.max);
        case Kind::Bool: return "true or false";
        case Kind::Text: return "a string of at most 200 characters";
        case Kind::TextList: return "a list of strings";
        case Kind::Seed: return "a non-negative integer";
        case Kind::Root: return "a pitch class: c, c#, db, d, ... b (or C, C#, Db, ...)";
        case Kind::Key: return "a key such as \"F# minor\" or \"Bb dorian\"";
    }
    return "";
}

// The key grammar, shared by the parser and the schema so both accept exactly the same strings:
// a tonic letter, an optional accidental, then optionally a space and a mode spelling; letters in
// any case. "F# minor", "Bb", "a dorian", "F sharp harmonic minor".
struct Spelling {
    const char* text;
    int value;
};
constexpr Spelling kAccidentals[] = {{"#", 1}, {"b", -1}, {"\xE2\x99\xAF", 1}, {"\xE2\x99\xAD", -1}, {" sharp", 1}, {" flat", -1}};
constexpr Spelling kModeSpellings[] = {
    {"major", int(Mode::Major)},       {"ionian", int(Mode::Major)},         {"maj", int(Mode::Major)},
    {"minor", int(Mode::Minor)},       {"aeolian", int(Mode::Minor)},        {"min", int(Mode::Minor)},
    {"natural minor", int(Mode::Minor)}, {"natural_minor", int(Mode::Minor)}, {"dorian", int(Mode::Dorian)},
    {"mixolydian", int(Mode::Mixolydian)}, {"lydian", int(Mode::Lydian)},    {"phrygian", int(Mode::Phrygian)},
    {"harmonic_minor", int(Mode::HarmonicMinor)}, {"harmonic minor", int(Mode::HarmonicMinor)},
    {"major_pentatonic", int(Mode::MajorPentatonic)}, {"major pentatonic", int(Mode::MajorPentatonic)},
    {"pentatonic", int(Mode::MajorPentatonic)}, {"minor_pentatonic", int(Mode::MinorPentatonic)},
    {"minor pentatonic", int(Mode::MinorPentatonic)}};

std::string lowerAscii(std::string_view text) {
    std::string s(text);
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

/// A tonic: letter plus optional accidental, exactly; nullopt otherwise.
std::optional<int> parseTonic(std::string_view lowered) {
    static constexpr int kBase[7] = {9, 11, 0, 2, 4, 5, 7};  // a b c d e f g
    if (lowered.empty() || lowered[0] < 'a' || lowered[0] > 'g') return std::nullopt;
    const int pc = kBase[lowered[0] - 'a'];
    const std::string_view rest = lowered.substr(1);
    if (rest.empty()) return pc;
    for (const auto& a : kAccidentals)
        if (rest == a.text) return (pc + a.value + 12) % 12;
    return std::nullopt;
}

std::optional<Mode> parseModeSpelling(std::string_view lowered) {
    for (const auto& m : kModeSpellings)
        if (lowered == m.text) return static_cast<Mode>(m.value);
    return std::nullopt;
}

/// A regex alternative that matches `text` with ASCII letters in either case (JSON Schema
/// patterns have no case-insensitive flag).
std::string anyCase(std::string_view text) {
    std::string out;
    for (const char ch : text) {
        const auto u = static_cast<unsigned char>(ch);
        if (std::isalpha(u)) out += fmt::format("[{}{}]", static_cast<char>(std::toupper(u)), static_cast<char>(std::tolower(u)));
        else if (ch == '#' || ch == ' ' || ch == '_' || u >= 0x80) out += ch;
        else out += fmt::format("\\{}", ch);
    }
    return out;
}

std::string tonicPattern() {
    std::string alts;
    for (const auto& a : kAccidentals) alts += fmt::format("{}{}", alts.empty() ? "" : "|", anyCase(a.text));
    return fmt::format("[A-Ga-g]({})?", alts);
}

std::string keyPattern() {
    std::string modes;
    for (const auto& m : kModeSpellings) modes += fmt::format("{}{}", modes.empty() ? "" : "|", anyCase(m.text));
    return fmt::format("^{}( ({}))?$", tonicPattern(), modes);
}

/// "F# minor", "f sharp minor", "Bb", "a dorian" -> root and mode.
struct KeySpec {
    int root = 0;
    bool hasMode = false;
    Mode mode = Mode::Major;
};
std::optional<KeySpec> parseKey(const std::string& text) {
    const std::string s = lowerAscii(text);
    // The tonic is everything before the first space, unless that space starts " sharp"/" flat".
    std::size_t end = s.find(' ');
    for (const char* acc : {" sharp", " flat"}) {
        const std::size_t n = std::char_traits<char>::length(acc);
        if (end != std::string::npos && s.compare(end, n, acc) == 0 && (s.size() == end + n || s[end + n] == ' ')) end += n;
    }
    const auto pc = parseTonic(std::string_view(s).substr(0, end));
    if (!pc) return std::nullopt;
    KeySpec k;
    k.root = *pc;
    if (end == std::string::npos || end == s.size()) return k;
    const auto m = parseModeSpelling(std::string_view(s).substr(end + 1));
    if (!m) return std::nullopt;
    k.hasMode = true;
    k.mode = *m;
    return k;
}

void validateAndSet(MusicConfig& c, const Field& f, const json& v, const std::string& origin) {
    const auto bad = [&] { invalid(origin, f.name, v, allowedText(f)); };
    switch (f.kind) {
        case Kind::Scale:
        case Kind::Choice:
            if (!v.is_string() || std::find(f.labels.begin(), f.labels.end(), v.get<std::string>()) == f.labels.end()) bad();
            break;
        case Kind::ModeField:  // the canonical names only (the "key" field takes every spelling)
        case Kind::Root:
            if (!v.is_string() || std::find(f.labels.begin(), f.labels.end(), v.get<std::string>()) == f.labels.end()) bad();
            if (f.kind == Kind::Root) c.root = *parseTonic(lowerAscii(v.get<std::string>()));
            else c.mode = *parseModeSpelling(lowerAscii(v.get<std::string>()));
            return;
        case Kind::Int: {  // 3 and 3.0 alike (JSON Schema's "integer")
            const double x = v.is_number() ? v.get<double>() : NAN;
            if (!std::isfinite(x) || std::floor(x) != x || x < f.min || x > f.max) bad();
            f.set(c, json(static_cast<int>(x)));
            return;
        }
        case Kind::Real:
        case Kind::Bpm:
            if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < f.min || v.get<double>() > f.max) bad();
            break;
        case Kind::Bool:
            if (!v.is_boolean()) bad();
            break;
        case Kind::Text:
            if (!v.is_string() || v.get<std::string>().size() > 200) bad();
            break;
        case Kind::TextList:
            if (!v.is_array() || v.size() > 32 || !std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) bad();
            break;
        case Kind::Seed: {
            if (v.is_number_unsigned()) break;
            const double x = v.is_number_float() ? v.get<double>() : NAN;  // an integral float below 2^64
            if (!std::isfinite(x) || std::floor(x) != x || x < 0 || x >= 18446744073709551616.0) bad();
            c.seed = static_cast<std::uint64_t>(x);
            return;
        }
        case Kind::Key: {
            const auto k = v.is_string() ? parseKey(v.get<std::string>()) : std::nullopt;
            if (!k) bad();
            c.root = k->root;
            if (k->hasMode) c.mode = k->mode;
            return;
        }
    }
    f.set(c, v);
}

json parseObject(const std::string& text, const std::string& origin) {
    const json j = parseJsonBounded(text, origin);
    if (!j.is_object()) throw std::invalid_argument(fmt::format("{}: a config must be a JSON object", origin));
    return j;
}

// Both bounds given: they must be in order. One given alone: the other (a default or an earlier
// source's value) follows it, so {"register_max_oct": 2} means octaves 2..2, not an error.
void orderRegister(MusicConfig& c, const json& given, const std::string& origin) {
    if (c.registerMinOct <= c.registerMaxOct) return;
    const bool min = given.contains("register_min_oct"), max = given.contains("register_max_oct");
    if (min && !max) c.registerMaxOct = c.registerMinOct;
    else if (max && !min) c.registerMinOct = c.registerMaxOct;
    else
        throw std::invalid_argument(fmt::format("{}: register_min_oct ({}) must not be above register_max_oct ({})",
                                                origin, c.registerMinOct, c.registerMaxOct));
}

std::string unknownField(const std::string& origin, const std::string& name) {
    return fmt::format("{}: unknown field '{}'; fields: {}", origin, clipText(name, 60), fmt::join(musicConfigFields(), ", "));
}
}  // namespace

double MusicConfig::resolvedBpm() const {
    if (bpm) return *bpm;
    static const double kT[5] = {0.15, 0.3, 0.5, 0.7, 0.9};
    const auto& labels = kFive;
    const auto it = std::find(labels.begin(), labels.end(), tempo);
    const auto i = it == labels.end() ? 2 : static_cast<std::size_t>(it - labels.begin());
    return 55.0 + 110.0 * kT[i];
}

BpmRange tempoLabelRange(const std::string& label) {
    static const double kEdges[6] = {40.0, 79.75, 99.0, 121.0, 143.0, 220.0};  // halfway between label tempos
    const auto it = std::find(kFive.begin(), kFive.end(), label);
    const auto i = it == kFive.end() ? 2 : static_cast<std::size_t>(it - kFive.begin());
    return {kEdges[i], i == 4 ? kEdges[5] + 1.0 : kEdges[i + 1]};
}

std::string tempoLabelFor(double bpm) {
    for (const auto& label : kFive)
        if (bpm < tempoLabelRange(label).highBpm) return label;
    return kFive.back();
}

double MusicConfig::level(const std::string& field) const {
    const Field* f = findField(field);
    if (!f || f->kind != Kind::Scale) throw std::invalid_argument(fmt::format("'{}' is not a scale field", field));
    const std::string v = f->get(*this).get<std::string>();
    const auto it = std::find(f->labels.begin(), f->labels.end(), v);
    return static_cast<double>(it - f->labels.begin()) / static_cast<double>(f->labels.size() - 1);
}

std::vector<std::string> musicConfigFields() {
    std::vector<std::string> out;
    for (const auto& f : fields()) out.emplace_back(f.name);
    return out;
}

std::vector<FieldShape> musicConfigShapes() {
    std::vector<FieldShape> out;
    for (const auto& f : fields()) {
        FieldShape s{f.name, "string", false, {}};
        switch (f.kind) {
            case Kind::Scale:
            case Kind::Choice:
            case Kind::ModeField:
            case Kind::Root:
                s.isEnum = true;
                s.labels = f.labels;
                break;
            case Kind::Int:
            case Kind::Seed: s.type = "integer"; break;
            case Kind::Real:
            case Kind::Bpm: s.type = "number"; break;
            case Kind::Bool: s.type = "boolean"; break;
            case Kind::TextList: s.type = "array"; break;
            case Kind::Text:
            case Kind::Key: break;
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::string musicConfigSchema() {
    json props = json::object();
    for (const auto& f : fields()) {
        json p;
        switch (f.kind) {
            case Kind::Scale:
            case Kind::Choice: p = {{"type", "string"}, {"enum", f.labels}}; break;
            case Kind::ModeField:
            case Kind::Root: p = {{"type", "string"}, {"enum", f.labels}}; break;
            case Kind::Int: p = {{"type", "integer"}, {"minimum", f.min}, {"maximum", f.max}}; break;
            case Kind::Real:
            case Kind::Bpm: p = {{"type", "number"}, {"minimum", f.min}, {"maximum", f.max}}; break;
            case Kind::Bool: p = {{"type", "boolean"}}; break;
            case Kind::Text: p = {{"type", "string"}, {"maxLength", 200}}; break;
            case Kind::TextList: p = {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 32}}; break;
            case Kind::Seed: p = {{"type", "integer"}, {"minimum", 0}, {"maximum", std::numeric_limits<std::uint64_t>::max()}}; break;
            case Kind::Key: p = {{"type", "string"}, {"pattern", keyPattern()}}; break;
        }
        p["description"] = allowedText(f);
        props[f.name] = p;
    }
    // register_min_oct <= register_max_oct, written as one if/then per minimum (JSON Schema cannot
    // compare two fields); a bound given alone moves the other's default, so it is always valid.
    json registerOrder = json::array();
    const Field& lo = *findField("register_min_oct");
    for (int m = static_cast<int>(lo.min) + 1; m <= static_cast<int>(lo.max); ++m)
        registerOrder.push_back({{"if", {{"required", {"register_min_oct", "register_max_oct"}},
                                         {"properties", {{"register_min_oct", {{"const", m}}}}}}},
                                 {"then", {{"properties", {{"register_max_oct", {{"minimum", m}}}}}}}});
    const json schema{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                      {"title", "Soundstar MusicConfig"},
                      {"type", "object"},
                      {"additionalProperties", false},
                      {"properties", props},
                      {"allOf", registerOrder}};
    return schema.dump(2) + "\n";
}

MusicConfig mergeMusicConfig(const MusicConfig& base, const std::string& text, const std::string& origin) {
    const json j = parseObject(text, origin);
    MusicConfig c = base;
    // "key" first so an explicit "root" or "mode" in the same object wins over it.
    if (j.contains("key")) validateAndSet(c, *findField("key"), j["key"], origin);
    for (const auto& [k, v] : j.items()) {
        if (k == "key") continue;
        const Field* f = findField(k);
        if (!f) throw std::invalid_argument(unknownField(origin, k));
        validateAndSet(c, *f, v, origin);
    }
    orderRegister(c, j, origin);
    return c;
}

MusicConfig parseMusicConfig(const std::string& text, const std::string& origin) {
    return mergeMusicConfig(MusicConfig{}, text, origin);
}

std::string toJson(const MusicConfig& c) {
    json j = json::object();
    for (const auto& f : fields()) {
        if (f.kind == Kind::Key) continue;
        json v = f.get(c);
        if (v.is_null()) continue;
        if ((f.kind == Kind::Text && v.get<std::string>().empty()) || (f.kind == Kind::TextList && v.empty())) continue;
        j[f.name] = v;
    }
    return j.dump(2);
}

namespace {
/// A step written as text: a sign, then digits with an optional fraction ("+1", "-0.5"); at most
/// six digits before the point. Whole steps only for scale fields. nullopt when not of that form.
std::optional<double> parseStepText(const std::string& t, bool whole) {
    static const std::regex kWhole(R"([+-][0-9]{1,6})"), kFraction(R"([+-][0-9]{1,6}(\.[0-9]{1,6})?)");
    if (!std::regex_match(t, whole ? kWhole : kFraction)) return std::nullopt;
    return std::stod(t);
}

bool isStepText(const json& v) {
    return v.is_string() && !v.get<std::string>().empty() && (v.get<std::string>()[0] == '+' || v.get<std::string>()[0] == '-');
}

// Moves one field by a step; steps saturate at the ends of its scale or range.
void applyStep(MusicConfig& c, const Field& f, double delta) {
    if (f.kind == Kind::Scale) {
        const std::string cur = f.get(c).get<std::string>();
        const auto pos = static_cast<long>(std::find(f.labels.begin(), f.labels.end(), cur) - f.labels.begin());
        const long next = std::clamp(pos + std::lround(delta), 0L, static_cast<long>(f.labels.size()) - 1);
        f.set(c, json(f.labels[static_cast<std::size_t>(next)]));
        return;
    }
    const double cur = f.kind == Kind::Bpm ? c.resolvedBpm() : f.get(c).get<double>();
    double next = std::clamp(cur + delta, f.min, f.max);
    if (f.kind == Kind::Int) next = std::round(next);
    f.set(c, f.kind == Kind::Int ? json(static_cast<int>(next)) : json(next));
}
}  // namespace

MusicConfig applyUpdate(const MusicConfig& base, const std::string& text, const std::string& origin) {
    const json j = parseObject(text, origin);
    MusicConfig c = base;
    json absolute = json::object();
    for (const auto& [k, v] : j.items()) {
        const Field* f = findField(k);
        if (!f) throw std::invalid_argument(unknownField(origin, k));
        // A step is an integer for scale fields, or a string "+n"/"-n" for scale and numeric fields.
        const bool isScale = f->kind == Kind::Scale;
        const bool numeric = f->kind == Kind::Int || f->kind == Kind::Real || f->kind == Kind::Bpm;
        if (isScale && v.is_number()) {
            const double d = v.get<double>();
            if (!v.is_number_integer() || std::abs(d) > 100)
                invalid(origin, k, v, fmt::format("a whole step from -100 to 100, or {}", allowedText(*f)));
            applyStep(c, *f, d);
        } else if ((isScale || numeric) && isStepText(v)) {
            const bool whole = isScale || f->kind == Kind::Int;
            const auto delta = parseStepText(v.get<std::string>(), whole);
            if (!delta)
                invalid(origin, k, v, whole ? "a whole step such as \"+1\" or \"-2\" (a sign and up to six digits)"
                                            : "a step such as \"+1\", \"-2\" or \"+0.5\" (a sign, digits, an optional fraction)");
            applyStep(c, *f, *delta);
        } else {
            absolute[k] = v;
        }
    }
    MusicConfig out = absolute.empty() ? c : mergeMusicConfig(c, absolute.dump(), origin);
    orderRegister(out, j, origin);  // steps may cross the bounds too
    return out;
}

}  // namespace soundstar::music

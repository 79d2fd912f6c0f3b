#pragma once
// MusicConfig: every musical choice a user, the interpreter or an LLM can make, with names,
// ranges and labels compatible with LatentScore's 34-field config (same labels, same tempo
// mapping), plus the explicit values an LLM produces (bpm, key, genre, mood, instrumentation,
// seed). Plain data with JSON in and out; validation errors name the field, the bad value and
// what is allowed; unknown fields are errors [control].
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "music/Theory.h"

namespace soundstar::music {

struct MusicConfig {
    // Scales of five (or three) ordered labels; MusicConfigUpdate steps move along them.
    std::string tempo = "medium", brightness = "medium", space = "medium", motion = "medium";
    std::string stereo = "medium", echo = "subtle", human = "natural", attack = "medium", grain = "warm";
    int density = 4;  // 2..6 layers
    int root = 0;     // pitch class 0..11 ("c".."b" in JSON)
    Mode mode = Mode::Minor;
    // Layer styles.
    std::string bass = "sustained", pad = "warm_slow", melody = "contemplative", rhythm = "minimal";
    std::string texture = "none", accent = "none";
    bool depth = true;  // sub-bass layer on/off
    // Melody.
    std::string melodyEngine = "pattern";
    int phraseLenBars = 4, registerMinOct = 4, registerMaxOct = 6;
    double melodyDensity = 0.5, syncopation = 0.2, swing = 0.0, motifRepeatProb = 0.5, stepBias = 0.7;
    double chromaticProb = 0.05;
    // Harmony.
    std::string harmonyStyle = "auto", chordExtensions = "triads", tensionCurve = "arc";
    int chordChangeBars = 1;
    double cadenceStrength = 0.5;
    // Explicit values (an LLM's or the user's); bpm overrides the tempo label.
    std::optional<double> bpm;
    std::string genre, mood;
    std::vector<std::string> instrumentation;
    std::optional<std::uint64_t> seed;

    /// bpm if set, else LatentScore's mapping 55 + 110 t (t = 0.15, 0.3, 0.5, 0.7, 0.9).
    double resolvedBpm() const;
    /// Position of a scale field's label as 0..1 (e.g. brightness "dark" -> 0.25).
    double level(const std::string& field) const;
};

/// The bpm a tempo label stands for: [lowBpm, highBpm), split halfway between LatentScore's
/// label tempos (71.5, 88, 110, 132, 154 bpm); the ends reach 40 and 220 (both inclusive).
/// Unknown labels read as "medium". A bpm and a tempo label agree when the bpm is in the range.
struct BpmRange {
    double lowBpm = 0, highBpm = 0;
};
BpmRange tempoLabelRange(const std::string& label);
/// The tempo label whose range holds `bpm` (clamped to 40..220).
std::string tempoLabelFor(double bpm);

/// Parses a JSON object (a JSON text). Throws std::invalid_argument: "field 'x' = v is invalid:
/// allowed ...", "unknown field 'y'; fields: ...", or "not valid JSON: ...".
MusicConfig parseMusicConfig(const std::string& json, const std::string& origin = "config");
/// Applies the fields present in a JSON object on top of `base` (same validation).
MusicConfig mergeMusicConfig(const MusicConfig& base, const std::string& json, const std::string& origin = "config");
/// Every field, resolved, as pretty JSON (optional explicit values only when set).
std::string toJson(const MusicConfig& c);
/// The field names, in schema order.
std::vector<std::string> musicConfigFields();
/// A field as the schema types it: `type` is "string", "integer", "number", "boolean" or
/// "array"; `isEnum` with its `labels` for the fields the schema gives an "enum". The schema's
/// properties without building and parsing its JSON (the interpreter reads these at start-up).
struct FieldShape {
    std::string name, type;
    bool isEnum = false;
    std::vector<std::string> labels;
};
/// Every field, in schema order.
std::vector<FieldShape> musicConfigShapes();
/// A JSON Schema (draft 2020-12) for a MusicConfig object, generated from the same field table
/// the parser uses; data/music_config.schema.json is this text (a test keeps them equal).
std::string musicConfigSchema();

/// A change to a config: absolute values ({"brightness": "bright"}) or relative steps along a
/// scale ({"brightness": "+2"}, {"tempo": -1}); steps saturate at the scale's ends. Numeric
/// fields take absolute values or "+x"/"-x" deltas clamped to their range.
MusicConfig applyUpdate(const MusicConfig& base, const std::string& updateJson, const std::string& origin = "update");

}  // namespace soundstar::music

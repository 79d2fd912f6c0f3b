#pragma once
// Clips, patterns and automation lanes from JSON and back [control]. The parsers check every
// field, range and count on their own (the server's schemas come first, the fuzz target feeds
// these directly) and throw std::invalid_argument naming the field, what it was and what is
// allowed, with the limit when a count is over it; messages stay under 2000 bytes.
#include <nlohmann/json.hpp>

#include "sequencer/Sequence.h"

namespace soundstar::sequencer {

/// {"id", "track", "start"?, "length"?, "repeats"?, "notes": [{note, velocity, start, duration}]}
/// or the same with "pattern": {steps: [{velocity, probability, note?}], step_beats, swing, gate,
/// note, seed} instead of notes. A clip's length defaults to its last note's end (a pattern's: its steps).
Clip parseClip(const nlohmann::json& j);
/// {"id", "target": {"track", "param", "effect"?} or {"mixer": track|bus|master, "param"},
///  "points": [{beat, value, curve: "linear"|"exp"}]}; points are sorted by beat.
Lane parseLane(const nlohmann::json& j);
nlohmann::json toJson(const Clip& c);
nlohmann::json toJson(const Lane& l);
/// A name for a clip, lane, marker or track: 1..40 of A-Z a-z 0-9 _ . -
bool validName(const std::string& s);

}  // namespace soundstar::sequencer

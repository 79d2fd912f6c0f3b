#pragma once
// Clips, patterns and automation lanes from JSON and back [control]. The parsers check every
// field, range and count on their own (the server's schemas come first, the fuzz target feeds
// these directly) and throw std::invalid_argument naming the field, what it was and what is
// allowed, with the limit when a count is over it; messages stay under 2000 bytes.
#include <nlohmann/json.hpp>

#include "sequencer/MeterMap.h"
#include "sequencer/Sequence.h"

namespace soundstar::sequencer {

/// {"id", "track", "start"?, "length"?, "repeats"?, "notes": [{note, velocity, start, duration}]}
/// or the same with "pattern": {steps: [{velocity, probability, note?}], step_beats, swing, gate,
/// note, seed} or "audio": {sample, offset (seconds), gain_db} (then length is required) instead
/// of notes; optionally "follow": {action, after_bars, seed} for the session. A clip's length
/// defaults to its last note's end (a pattern's: its steps).
Clip parseClip(const nlohmann::json& j);
/// {"id", "target": {"track", "param", "effect"?} or {"mixer": track|bus|master, "param"},
///  "points": [{beat, value, curve: "linear"|"exp"}]}; points are sorted by beat.
Lane parseLane(const nlohmann::json& j);
nlohmann::json toJson(const Clip& c);
/// [{bar, numerator, denominator}], checked as MeterMap::set checks them.
std::vector<Meter> parseMeters(const nlohmann::json& j);
nlohmann::json toJson(const std::vector<Meter>& meters);
nlohmann::json toJson(const Lane& l);
/// The tempo lane: [{beat, bpm, curve: "step"|"linear"}] (at most kMaxTempoPoints, beats
/// strictly rising, bpm kMinBpm..kMaxBpm, a linear segment at most kMaxTempoRampBeats long).
TempoLane parseTempoLane(const nlohmann::json& j);
nlohmann::json toJson(const TempoLane& t);
/// A name for a clip, lane, marker or track: 1..40 of A-Z a-z 0-9 _ . -
bool validName(const std::string& s);

}  // namespace soundstar::sequencer

#pragma once
// The composer: a SketchConfig (the MusicConfig as the composer hears it, plus a style profile's
// groove, instruments and effects) and an Arrangement become a Score with up to seven layers
// (drums, bass, pad, keys, accent "arp", melody "lead", texture), each style with its own part.
// Deterministic for a given config and seed. (Named "sketch" for its beginnings; it is the only
// composer.)
#include "compose/SketchConfig.h"
#include "music/Arrangement.h"
#include "music/MusicConfig.h"
#include "music/Score.h"

namespace soundstar::compose {

/// Composes every section of the arrangement (its layers at its energy). A piece that ends gets
/// a final tonic chord held to the end of the duration; a loop does not.
music::Score composeSketch(const SketchConfig& config, const music::Arrangement& arrangement);

/// Convenience: arrange (automatic form) and compose a MusicConfig for a duration.
music::Score composeFromConfig(const music::MusicConfig& config, double durationSeconds);

}  // namespace soundstar::compose

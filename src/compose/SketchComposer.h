#pragma once
// The built-in sketch composer: a SketchConfig and an Arrangement become a Score with up to six
// layers (drums, bass, pad, keys, arp, bell lead). Deterministic for a given config and seed. A
// stand-in for the full composer of issue #3 (which gives every layer style its own part).
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

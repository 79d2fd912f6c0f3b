#pragma once
// The built-in sketch composer: a SketchConfig and a duration become a Score with up to six
// layers (drums, bass, pad, keys, arp, bell lead) over a four-section form (intro, A, B, outro)
// whose sections fall on bar lines. Deterministic for a given config and seed. A stand-in for
// the full arranger and composer of issue #3.
#include "compose/SketchConfig.h"
#include "music/Score.h"

namespace soundstar::compose {

/// durationSeconds > 0. The Score's musical length fits inside the duration, leaving room for a
/// final chord to ring out.
music::Score composeSketch(const SketchConfig& config, double durationSeconds);

}  // namespace soundstar::compose

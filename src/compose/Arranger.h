#pragma once
// The arranger: a config and a duration become an Arrangement (sections on bar lines with energy
// and layers), in one of several forms, or from an explicit structure given by a user or an LLM.
#include <string>

#include "music/Arrangement.h"
#include "music/MusicConfig.h"

namespace soundstar::compose {

struct ArrangeOptions {
    std::string form = "auto";  // auto, verse_chorus, aaba, build_drop, ambient_arc, loop
    bool loop = false;          // a seamless loop of whole bars: the tempo moves (at most 15%, within
                                // 40-220 bpm) so they fill the duration exactly; when no bar count
                                // allows that, the tempo stays and the loop lasts whole bars near it
    int unitBars = 0;           // > 0 (with loop; 1 to 64): each share of the form lasts this many bars
                                // and the tempo stays; the length follows from the form (a live
                                // stream's cycle: sections of whole phrases, not squeezed to fit)
};

/// The forms `form` may name.
const std::vector<std::string>& formNames();

/// durationSeconds up to music::kMaxSeconds. Throws std::invalid_argument on an unknown form or a
/// length past the limit.
music::Arrangement arrange(const music::MusicConfig& config, double durationSeconds, const ArrangeOptions& o = {});

/// An explicit structure: a JSON array of {"section": kind, "duration": seconds} or {"section":
/// kind, "bars": n}, optionally with "energy" (0..1) and "layers" (names; these play as named,
/// whatever the density). When durationSeconds
/// > 0 the sections are scaled to fill it; otherwise the piece lasts as long as they add up to.
/// Errors name the entry, the field and what is allowed.
music::Arrangement arrangeFromStructure(const music::MusicConfig& config, const std::string& structureJson,
                                        double durationSeconds, bool loop = false);

}  // namespace soundstar::compose

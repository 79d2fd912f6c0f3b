#pragma once
// The DJ's commands as text [control]: one line (stdin of `soundstar dj`, or dj_command over the
// server) applied to a DjSet. The same words in both places: "" or next (the next move now),
// drop, break, x (effect throw), more energy, less energy, s drums,bass, b 130, k F minor,
// y dub, r bass walking (a layer to another style), say TEXT, g 4 DESCRIPTION (a generated loop;
// g off), q, or free text (a vibe).
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "dj/DjSet.h"

namespace soundstar::dj {

/// What the caller supplies: a profile by name (its DjProfile and its vibe; throws naming the
/// allowed profiles) and a vibe from free text.
struct DjVibes {
    std::function<std::pair<DjProfile, live::StreamVibe>(const std::string& profile)> profile;
    std::function<live::StreamVibe(const std::string& text)> text;
};

/// What a line did: its kind (next, drop, break, x, energy, layers, tempo, key, profile, config,
/// vibe, replace, say, generate, quit) and, for say, the text to speak.
struct DjCommandResult {
    std::string kind;
    std::string spoken;
};

/// The commands, for messages and help.
const char* djCommandHelp();

/// Applies `line` (trailing spaces and CR dropped; at most 2000 bytes) to `set`, acted on at the
/// next bar line. Throws std::invalid_argument naming what was wrong and the allowed commands
/// (an unknown one-letter command, an unknown layer or profile, a tempo outside the profile's
/// range, say with nothing to say, a line over the limit or with control characters); the set is
/// unchanged then.
DjCommandResult applyDjCommand(DjSet& set, std::string line, const DjVibes& vibes);

}  // namespace soundstar::dj

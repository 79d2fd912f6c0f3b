#pragma once
// What a DJ needs from a style profile [control]: the profile file's "dj" object, e.g.
//   "dj": {"tempo": [120, 132],
//          "roles": [{"layer": "drums", "role": "four-on-the-floor kick", "phases": ["intro", "drop"]}, ...],
//          "plan": [{"phase": "intro", "bars": 16}, {"phase": "build", "bars": 16}, ...],
//          "energy": {"intro": [0.25, 0.4], "build": [0.45, 0.8], ...},
//          "effects": ["filter_sweep", "echo_throw"]}
// roles: the layers this profile's DJ plays, in the order they enter, and the phases each plays
// in; plan: the set's phases in order, in whole phrases (4 bars); energy: where each phase starts
// and ends on 0..1; effects: the throws it likes, first the favourite.
#include <array>
#include <string>
#include <vector>

#include "compose/Profiles.h"

namespace soundstar::dj {

/// The phases of a set, in the order a set usually moves through them.
const std::vector<std::string>& phaseNames();
/// Effect throws a profile may like: filter_sweep, echo_throw, reverb_wash.
const std::vector<std::string>& effectNames();

/// Limits on a profile's DJ data.
inline constexpr std::size_t kMaxRoles = 7, kMaxPlanSteps = 32;
inline constexpr int kPhraseBars = 4, kMaxPhaseBars = 256;

struct DjRole {
    std::string layer;                // one of music::layerNames(), once per profile
    std::string role;                 // what it plays, in words (at most 200 bytes)
    std::vector<std::string> phases;  // where it plays
};

struct DjPhaseStep {
    std::string phase;
    int bars = 16;  // a whole number of phrases, 4 to kMaxPhaseBars
};

struct DjProfile {
    std::string name;
    double minBpm = 40.0, maxBpm = 220.0;
    std::vector<DjRole> roles;
    std::vector<DjPhaseStep> plan;
    std::array<std::array<double, 2>, 5> energy{};  // per phaseNames() index: start, end
    std::vector<std::string> effects;
    compose::StyleProfile style;  // the profile's music

    /// Energy [start, end] of a phase by name.
    const std::array<double, 2>& energyOf(const std::string& phase) const;
    /// Whether `layer` plays in `phase` (it has a role that lists the phase).
    bool plays(const std::string& layer, const std::string& phase) const;
};

/// Reads a profile's "dj" JSON object (`origin` names it in errors). The profile's own bpm must
/// lie in its tempo range. Throws std::invalid_argument naming the field, the bad value and what
/// is allowed.
DjProfile parseDjProfile(const std::string& djJson, const compose::StyleProfile& style, const std::string& origin);

/// Every profile of the library that has "dj" data, parsed (the first bad one throws).
std::vector<DjProfile> djProfiles(const compose::ProfileLibrary& library);
/// One by name; throws std::invalid_argument listing the DJ profiles when it is not one.
DjProfile djProfile(const compose::ProfileLibrary& library, const std::string& name);

}  // namespace soundstar::dj

#pragma once
// What people and programs type to steer live music, read strictly [control]: steering lines and
// transition lengths. Every error says what was wrong and what is allowed.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "live/Grid.h"
#include "music/MusicConfig.h"

namespace soundstar::live {

/// A transition as seconds (0.05 to 600: "5", "2.5") or whole bars (1 to 64: "4bars").
struct TransitionLength {
    double seconds = 0.0;
    int bars = 0;
};
TransitionLength parseTransition(const std::string& text);

/// The most parts a blend may have.
inline constexpr std::size_t kMaxBlendParts = 8;

/// What one steering line asks for: a new vibe (text, or a weighted blend of texts), a changed
/// config, the layers that play, or quitting; and when, and over how long.
struct SteeringCommand {
    std::string label;
    std::optional<std::string> vibeText;
    std::vector<std::pair<std::string, double>> blend;  // texts and weights (summing to 1)
    std::optional<music::MusicConfig> config;
    std::optional<std::vector<std::string>> layers;  // "s drums,bass": which layers play (empty: all)
    std::optional<long long> atBar;                  // {"at": {"bar": N}}
    Grid grid = Grid::Auto;
    std::optional<TransitionLength> transition;  // {"transition": "2bars" | SECONDS}
    bool quit = false;
};

/// Reads a steering line (at most 2000 characters): "q", plain text (a vibe), "+bright"/"-space"
/// (one step), "brightness +2", "tempo very_fast", "b 130", "k F minor", "y dub", "s drums,bass"
/// ("s all"), "blend ambient drone 0.7, minimal techno 0.3", or a JSON object
/// {"at": "now"|"beat"|"bar"|"phrase"|{"bar": N}, "vibe"|"vibes"|"config"|"update"|"layers": ...,
/// "transition": "2bars"|SECONDS}. An empty line asks for nothing. Throws std::invalid_argument
/// saying what is allowed.
SteeringCommand parseSteering(const std::string& line, const music::MusicConfig& current);

/// A weighted blend of configs (weights > 0, normalised here): the music (style, key, layers,
/// composition) is the heaviest part's; the continuous fields (brightness, space, motion...)
/// are the weighted mean of their positions on each scale, and the tempo the weighted mean of
/// the parts' tempos, so moving a weight glides between them.
music::MusicConfig blendConfigs(const std::vector<std::pair<music::MusicConfig, double>>& parts);

}  // namespace soundstar::live

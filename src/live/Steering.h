#pragma once
// What people and programs type to steer live music, read strictly [control]: steering lines and
// transition lengths. Every error says what was wrong and what is allowed.
#include <optional>
#include <string>

#include "music/MusicConfig.h"

namespace soundstar::live {

/// What one steering line asks for: a new vibe (text), a changed config, or quitting; and when.
struct SteeringCommand {
    std::string label;
    std::optional<std::string> vibeText;
    std::optional<music::MusicConfig> config;
    std::optional<long long> atBar;  // {"at": {"bar": N}}
    int phraseBars = 1;              // 1: the next bar line; 4: the next phrase
    bool quit = false;
};

/// Reads a steering line (at most 2000 characters): "q", plain text (a vibe), "+bright"/"-space"
/// (one step), "brightness +2", "tempo very_fast", "b 130", "k F minor", "y dub", or a JSON object
/// {"at": "now"|"beat"|"bar"|"phrase"|{"bar": N}, "vibe"|"config"|"update": ...}. An empty line
/// asks for nothing. Throws std::invalid_argument saying what is allowed.
SteeringCommand parseSteering(const std::string& line, const music::MusicConfig& current);

/// A transition as seconds (0.05 to 600: "5", "2.5") or whole bars (1 to 64: "4bars").
struct TransitionLength {
    double seconds = 0.0;
    int bars = 0;
};
TransitionLength parseTransition(const std::string& text);

}  // namespace soundstar::live

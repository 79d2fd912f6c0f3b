#pragma once
// The few musical choices the built-in sketch composer understands. A stand-in for the full
// MusicConfig (issue #3) with the same meanings: tempo in BPM, key, mode, and 0..1 dials.
#include <cstdint>
#include <string>
#include <vector>

#include "music/Theory.h"

namespace soundstar::compose {

struct SketchConfig {
    double bpm = 96.0;             // 40..220
    int root = 9;                  // pitch class 0..11 (9 = A)
    music::Mode mode = music::Mode::Minor;
    float brightness = 0.5f;       // 0 dark .. 1 bright
    float energy = 0.5f;           // 0 calm .. 1 driving (drum pattern, bass motion)
    float space = 0.5f;            // 0 dry .. 1 vast (reverb size and send)
    int density = 4;               // 2..6 layers
    bool drums = true;
    std::uint64_t seed = 1;
    std::vector<std::string> notes;  // what the prompt reader understood, for --explain
};

/// Reads a JSON config ({"bpm": 120, "root": "d", "mode": "minor", "brightness": 0.4, ...}).
/// Unknown fields and bad values are errors naming the field and what is allowed.
SketchConfig parseSketchConfig(const std::string& json, const std::string& origin);
/// The config as JSON (what --print-config shows).
std::string toJson(const SketchConfig& c);
/// Keyword reading of a prompt: tempo words and "N bpm", keys ("in F# minor"), moods, genres,
/// "no drums". A placeholder for the embedded interpreter (issue #4).
SketchConfig sketchFromPrompt(const std::string& prompt);

}  // namespace soundstar::compose

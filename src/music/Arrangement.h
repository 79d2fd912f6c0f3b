#pragma once
// An Arrangement: the song's form as plain data. Sections on bar lines, each with an energy
// (0..1) and the layers that play in it; the tempo; and whether the piece ends (with a final
// chord and a tail) or loops seamlessly.
#include <string>
#include <vector>

namespace soundstar::music {

/// Section kinds an arranger or an explicit structure may use.
inline const std::vector<std::string>& sectionKinds() {
    static const std::vector<std::string> k{"intro", "verse", "chorus", "bridge", "build", "drop",
                                            "breakdown", "outro", "a", "b", "loop"};
    return k;
}
/// Layer names a section may list.
inline const std::vector<std::string>& layerNames() {
    static const std::vector<std::string> k{"drums", "bass", "pad", "keys", "arp", "lead", "texture"};
    return k;
}

/// The longest piece any route (duration, bars, structure, an LLM's plan, a loop) may make, in
/// seconds; checked before any audio is made.
inline constexpr double kMaxSeconds = 3600.0;
/// The tempo range every arrangement stays in, in beats per minute.
inline constexpr double kMinBpm = 40.0, kMaxBpm = 220.0;

struct Section {
    std::string kind;
    int startBar = 0, bars = 1;
    float energy = 0.5f;
    std::vector<std::string> layers;
};

struct Arrangement {
    std::string form;  // "verse_chorus", "aaba", "build_drop", "ambient_arc", "loop", "structure", "short"
    double bpm = 120.0;
    int beatsPerBar = 4;
    int totalBars = 0;
    double durationSeconds = 0.0;  // the exact length of the render
    bool loop = false;
    std::vector<Section> sections;
    double barSeconds() const { return beatsPerBar * 60.0 / bpm; }
};

/// Pretty JSON of the arrangement (what `soundstar arrange` prints).
std::string toJson(const Arrangement& a);

}  // namespace soundstar::music

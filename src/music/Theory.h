#pragma once
// Scales, note names and chords [any].
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace soundstar::music {

enum class Mode { Major, Minor, Dorian, Mixolydian, Lydian, Phrygian, HarmonicMinor, MajorPentatonic, MinorPentatonic };

/// Semitone offsets of the scale's degrees (seven, or five for the pentatonics).
std::span<const int> scaleOf(Mode m);
std::string_view modeName(Mode m);
/// "major", "minor", "dorian", ...; nullopt when unknown.
std::optional<Mode> parseMode(std::string_view s);
/// "c", "C#", "db", "F sharp", "b flat" -> 0..11; nullopt when unknown.
std::optional<int> parsePitchClass(std::string_view s);
std::string_view pitchClassName(int pc);
/// MIDI note of scale degree `degree` (any integer; wraps octaves) above root note `rootMidi`.
int degreeToMidi(int rootMidi, Mode m, int degree);
/// Triad (or seventh when `seventh`) on a scale degree, as MIDI notes from rootMidi.
std::vector<int> chordOnDegree(int rootMidi, Mode m, int degree, bool seventh);
/// True when pitch class pc belongs to the scale on root.
bool inScale(int root, Mode m, int pc);

}  // namespace soundstar::music

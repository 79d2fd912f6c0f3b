#pragma once
// Standard MIDI File (type 1) from a Score: a conductor track with tempo, time signature and key
// signature, then one track per layer with its name, a General MIDI program and its notes;
// drums on channel 10. Timing at 480 ticks per quarter note [control].
#include <cstdint>
#include <filesystem>
#include <vector>

#include "music/Score.h"
#include "music/Theory.h"

namespace soundstar::music {

struct MidiKey {
    int root = 0;
    Mode mode = Mode::Major;
};

/// The file's bytes.
std::vector<std::uint8_t> toMidiFile(const Score& score, const MidiKey& key);
/// Writes the file; throws std::runtime_error naming the path when it cannot.
void writeMidiFile(const std::filesystem::path& path, const Score& score, const MidiKey& key);

}  // namespace soundstar::music

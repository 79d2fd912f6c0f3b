#pragma once
// Reads a MIDI file back with python3 + mido (tests/midi_notes.py), a reader independent of
// Soundstar's writer, as JSON: ticks_per_beat, tempos, time_signatures, keys, and per track its
// name, channels, programs and notes [on_tick, off_tick, note, velocity].
#include <nlohmann/json.hpp>
#include <string>

#include "Cli.h"

namespace soundstar::test {

/// A Python that has mido: Debian's python3-mido installs for /usr/bin/python3, which a pyenv or
/// venv `python3` earlier on PATH would not see. Empty when neither has it.
inline const std::string& pythonWithMido() {
    static const std::string py = [] {
        for (std::string p : {"/usr/bin/python3", "python3"})
            if (runCommand(p + " -c 'import mido'").code == 0) return p;
        return std::string();
    }();
    return py;
}

/// The file as mido reads it, or {"error": stderr} when it cannot.
inline nlohmann::json readWithMido(const std::string& path) {
    const auto r =
        runCommandSplit(pythonWithMido() + " " SOUNDSTAR_TESTS_DIR "/midi_notes.py '" + path + "'");
    if (r.code != 0) return {{"error", r.err}};
    return nlohmann::json::parse(r.out);
}

}  // namespace soundstar::test

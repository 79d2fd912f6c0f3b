#pragma once
// The Score: what the composer decided, as plain data. Per-layer notes in beats, the tempo, and
// the mix (presets, levels, sends, return effects). No audio here.
#include <string>
#include <utility>
#include <vector>

#include "core/Time.h"

namespace soundstar::music {

struct NoteEvent {
    BeatTime start = 0.0, length = 1.0;
    float note = 60.0f, velocity = 0.8f;
};

/// An effect added to a track's chain on top of its preset's (type and parameters by name).
struct TrackEffect {
    std::string type;
    std::vector<std::pair<std::string, float>> params;
};

struct ScoreTrack {
    std::string name;    // the layer: "drums", "bass", "pad", ...
    std::string preset;  // a file stem under data/presets
    float gainDb = 0.0f, pan = 0.0f;
    float reverbSend = 0.0f, delaySend = 0.0f;  // 0..1
    std::vector<NoteEvent> notes;
    /// Instrument parameters set on top of the preset (name, value), e.g. a cutoff for brightness.
    std::vector<std::pair<std::string, float>> params;
    std::vector<TrackEffect> effects;  // e.g. the modulation that `motion` asks for
    bool replacePresetEffects = false;  // true: `effects` replace the preset's chain instead of following it
};

struct MixSettings {
    float reverbSize = 0.6f, reverbDecayS = 2.5f, reverbDamping = 0.4f, reverbPredelayMs = 20.0f;
    double delayBeatsLeft = 0.75, delayBeatsRight = 1.0;
    float delayFeedback = 0.35f, delayToneHz = 4500.0f;
    float width = 1.0f;    // master stereo width: 0 mono, 1 as mixed, 2 extra wide
    float driveDb = 0.0f;  // master saturation drive (0 = clean)
    float targetLufs = -14.0f;  // live streams: the loudness the master's leveller moves toward
};

struct Score {
    double bpm = 120.0;
    int beatsPerBar = 4;
    BeatTime lengthBeats = 0.0;  // musical length; the render adds nothing past the duration asked
    std::string title;
    std::vector<ScoreTrack> tracks;
    MixSettings mix;
    double secondsPerBeat() const { return 60.0 / bpm; }
};

}  // namespace soundstar::music

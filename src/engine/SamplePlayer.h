#pragma once
// A sampler instrument over samples the control side decoded (and stretched or pitch-shifted)
// already: one or more zones, each a sample mapped across a key range from its root note, played
// one-shot or as a sustained loop with a crossfade at the loop point. The samples are handed over
// by shared pointer, so the audio thread never reads a file or allocates [see each method].
#include <memory>
#include <string>
#include <vector>

#include "engine/Instrument.h"

namespace soundstar::engine {

/// Decoded audio at the engine's rate, both channels the same length [immutable once shared].
struct SampleBuffer {
    std::vector<float> left, right;
    std::size_t frames() const { return left.size(); }
};

enum class LoopMode { OneShot, Sustain };

/// One sample across a key range. Frame positions are in the sample's frames.
struct SampleZone {
    std::shared_ptr<const SampleBuffer> sample;
    std::string name;          ///< the sample's name (for sample_play to pick this zone)
    float rootNote = 60.0f;    ///< played at its own pitch on this note
    int lowNote = 0, highNote = 127;
    LoopMode mode = LoopMode::OneShot;
    std::size_t loopStart = 0, loopEnd = 0;  ///< Sustain: loops [loopStart, loopEnd) while held; loopEnd 0 = the end
    std::size_t crossfade = 0;               ///< frames of crossfade before loopEnd (clamped to loopStart and half the loop)
};

/// Parameter indices of makeSamplePlayer's instrument: the "next voice" settings (start, end,
/// rate, gain, pan, zone) apply to the notes that start after them, so a command sequence
/// set-params-then-note-on at one sample plays a sample with exactly those settings.
enum SamplePlayerParam { kSpStart, kSpEnd, kSpRate, kSpGain, kSpPan, kSpZone, kSpAttack, kSpRelease, kSpGate };

/// Throws std::invalid_argument when a zone has no sample, an empty one, or loop points outside it [control].
std::unique_ptr<Instrument> makeSamplePlayer(std::vector<SampleZone> zones);

}  // namespace soundstar::engine

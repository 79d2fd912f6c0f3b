#pragma once
// Our own SoundFont 2 player. It plays a font's voices the way FluidSynth 2.3 does (the same
// generators, default and font modulators, envelopes, LFOs, 4-point interpolation, resonant
// low-pass and pan law), so a track sounds the same whichever plays it, with three differences
// that are the reasons it exists (ADR 0008):
//   - nothing to load: no 60-library dlopen and no first-synth set-up (about 30 ms of a short
//     render); only the presets played are resolved, and only their samples copied out;
//   - single precision, each voice rendered straight into the mix: a fraction of FluidSynth's CPU;
//   - notes start and stop on the sample they are given, not on FluidSynth's 64-sample grid.
// What it does not play (compressed .sf3 samples, 24-bit sm24 data, linked modulators) it
// refuses at load with an error that says so; SoundFontSynth then uses FluidSynth.
//
// Controllers are those of a channel after reset (volume 100, expression 127, pan centred, no
// pressure, no bend), since the engine sends none: every modulator is constant for a note and is
// folded into its generators when the note starts.
//
// Threads: load [control]; a player's prepare() [control]; everything else [rt], allocation-free.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "engine/SoundFontSubset.h"

namespace soundstar::engine {

/// A loaded font: the presets asked for, resolved into the zones a note starts voices from, and
/// copies of the samples they play (nothing of the file is read after loading). Immutable.
class SoundFontBank;

struct SoundFontLoadOptions {
    /// Resolve only this preset (an offline render plays one program); every preset when empty.
    std::optional<SoundFontPresetId> only;
    /// Lock the copied samples in memory, best effort (a live synth: not paged out).
    bool lockSamples = false;
};

/// The most zones one preset may resolve to (preset zones x instrument zones): far above any
/// General MIDI font's (TimGM6mb's largest preset has 20, FluidR3_GM's 64).
inline constexpr std::size_t kMaxSoundFontZonesPerPreset = 4096;

/// Loads the SoundFont 2 at `path`. Throws std::runtime_error naming the file and what is
/// malformed or what this player does not play (.sf3 compression, sm24, linked modulators), or
/// when it has no preset to play (none at all, or not `only`).
std::shared_ptr<const SoundFontBank> loadSoundFontBank(const std::string& path, const SoundFontLoadOptions& options);
/// The same from a whole file in memory (`bytes` must outlive the bank; tests and fuzzing).
std::shared_ptr<const SoundFontBank> loadSoundFontBank(std::span<const std::uint8_t> bytes, const std::string& name,
                                                       const SoundFontLoadOptions& options);

/// Whether a bank resolved this preset.
bool soundFontBankHas(const SoundFontBank& bank, SoundFontPresetId id);

class SoundFontPlayer {
public:
    static constexpr int kMaxVoices = 64;  // FluidSynth's polyphony as SoundFontSynth set it
    SoundFontPlayer();
    ~SoundFontPlayer();
    SoundFontPlayer(const SoundFontPlayer&) = delete;
    SoundFontPlayer& operator=(const SoundFontPlayer&) = delete;

    /// Silences every voice and plays `bank` at `sampleRate` from now on [control].
    void prepare(std::shared_ptr<const SoundFontBank> bank, double sampleRate);
    /// Chooses the preset later notes play; false, and the current one kept, when the bank
    /// lacks it [rt].
    bool selectPreset(SoundFontPresetId id);
    /// key 0-127, velocity 1-127 (0 is a note-off) [rt].
    void noteOn(int key, int velocity);
    void noteOff(int key);
    /// Releases every sounding note [rt].
    void allNotesOff();
    /// Overwrites `frames` frames of `left` and `right` (two buffers that do not overlap) [rt].
    /// The samples are the same however a stretch of time is cut into calls.
    void render(float* left, float* right, int frames);
    int activeVoices() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::engine

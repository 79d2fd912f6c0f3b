#pragma once
// Conforming generated audio to a session [control]: a generator's output has its own tempo, key
// and level; a loop that plays with the rest must be whole bars at the session tempo, loop without
// a click, and sit in the session key at the session loudness. The passes: tempo and beat grid
// (src/analysis, refined by a least-squares fit of the onsets to the grid), a cut on a beat to
// exactly N bars, time-stretch and pitch-shift in one SoundTouch (WSOLA) pass, a raised-cosine
// crossfade of the audio after the cut into the loop's head (so the wrap continues the music), and
// a gain to a target integrated loudness (BS.1770) under a sample-peak ceiling.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace soundstar::models {

/// A key: tonic pitch class (C = 0) and mode.
struct MusicalKey {
    int tonic = 0;
    bool minor = false;
};

/// Limits of a conform request; each is named in the error that refuses it.
inline constexpr double kConformMinBpm = 40.0, kConformMaxBpm = 300.0;
inline constexpr int kConformMaxBars = 64, kConformMaxBeatsPerBar = 32;
inline constexpr double kConformMaxCrossfadeMs = 250.0;
inline constexpr double kConformMaxInputSeconds = 1200.0;

struct ConformOptions {
    double targetBpm = 120.0;                ///< the session tempo, 40-300 bpm
    int bars = 4;                            ///< the loop's length, 1-64 bars
    int beatsPerBar = 4;                     ///< 1-32
    std::optional<MusicalKey> targetKey;     ///< unset: the pitch stays
    std::optional<MusicalKey> sourceKey;     ///< unset: analysed (chroma + Krumhansl-Kessler)
    std::optional<double> sourceBpm;         ///< unset: analysed; given: its beat phase is still analysed
    std::optional<double> targetLufs = -14.0;  ///< unset: the level stays; else -70 to 0 LUFS
    double ceilingDbfs = -1.0;               ///< the gain never lifts a sample peak above this (-30 to 0)
    double crossfadeMs = 20.0;               ///< the loop seam's crossfade, 0-250 ms
    double outputRateHz = 0.0;               ///< 0: the input's rate; else 8000-384000 Hz
    /// An analysed key this weak (Krumhansl-Kessler correlation, 0-1) is not trusted: the pitch stays,
    /// with a warning. Our own renders read 0.62-0.68 with the wrong key; clear material reads 0.8+.
    double minKeyCorrelation = 0.75;
};

struct ConformReport {
    double sourceBpm = 0.0, tempoConfidence = 0.0;
    bool bpmGiven = false;
    MusicalKey sourceKey;
    double keyCorrelation = 0.0;  ///< 1 when the source key was given
    std::optional<MusicalKey> targetKey;
    int semitones = 0;             ///< the pitch shift, -5..+6 (the smallest interval)
    double tempoRatio = 1.0;       ///< target / source tempo
    double startSeconds = 0.0;     ///< where in the source the loop begins (a beat)
    double sourceLufs = 0.0, outputLufs = 0.0, gainDb = 0.0;  ///< -inf LUFS for silence
    std::size_t frames = 0;        ///< exactly round(bars * beatsPerBar * 60 / targetBpm * rate)
    double sampleRateHz = 0.0;
    std::vector<std::string> warnings;
};

struct ConformedLoop {
    std::vector<float> left, right;
    ConformReport report;
};

/// conformLoop's error when the audio has no steady beat to find and no source_bpm was given.
struct NoBeatFound : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Conforms `interleaved` (channels 1-8: mono is doubled, the first two of more are used) at
/// `sampleRate`. Throws std::invalid_argument for options or input out of their limits, and
/// std::runtime_error when the audio has no beat to find or is too short for the bars asked
/// (naming what it has and what it needs).
ConformedLoop conformLoop(std::span<const float> interleaved, int channels, double sampleRate, const ConformOptions& options);

/// conformLoop, and where the audio has no beat to find (a pad, a drone: NoBeatFound; never
/// when source_bpm is given, nor for audio too short) the same cut to whole bars at its own pace (sourceBpm = targetBpm: not
/// stretched), the report's first warning saying so. Throws as conformLoop does when that fails too.
/// With CutWhen::AnyFailure (for layers made without anyone asking: render --generator, the DJ)
/// audio too short at the tempo found is cut the same way, the warning saying why, rather than
/// failing.
enum class CutWhen { NoBeat, AnyFailure };
ConformedLoop conformOrCut(std::span<const float> interleaved, int channels, double sampleRate, ConformOptions options, CutWhen when = CutWhen::NoBeat);

/// The seconds to ask a generator for, for a loop of `bars` bars of `barSeconds`: room for a
/// source up to a tritone of tempo slower and for the start looked for in its first bar; 8 s at
/// least (the tempo estimate), 600 at most.
double generatorSecondsFor(int bars, double barSeconds);

/// The smallest shift (-5..+6 semitones) from one key to another; across modes, the relative
/// key of the target's mode is used (A minor to G major moves as C major to G major: -5).
int keyShiftSemitones(MusicalKey from, MusicalKey to);

/// "C#", "A minor" style names, and their reading ("F#m", "Bb minor", "c major", "A"): nullopt
/// when the text is no key.
std::string keyName(MusicalKey k);
std::optional<MusicalKey> parseKey(const std::string& text);

/// The report as JSON (non-finite values as null).
nlohmann::json toJson(const ConformReport& r);

/// Options from a JSON object (target_bpm, bars, beats_per_bar, key, source_key, source_bpm,
/// lufs (null: keep the level), ceiling_dbfs, crossfade_ms); unknown fields and bad values are
/// refused naming the field and what is allowed. Missing fields keep `base`'s values.
ConformOptions conformOptionsFromJson(const nlohmann::json& j, ConformOptions base = {});

/// Band-limited resampling (libsamplerate's best sinc) of interleaved audio from `fromHz` to
/// `toHz` (each 8000 to 192000; throws std::invalid_argument naming the rate otherwise): a
/// model's output at the rate a session or a file needs. round(frames x toHz / fromHz) frames.
std::vector<float> resampleAudio(std::span<const float> interleaved, int channels, double fromHz, double toHz);

}  // namespace soundstar::models

#pragma once
// A generated loop as a DJ layer [control, made on a worker thread]: the model service (supplied
// by the caller as a function, so the DJ does not know where models run) is asked for audio from a
// description, and models/Conform fits it to the set: exactly N bars (1, 2, 4 or 8) at the set's
// tempo, in its key, at a loudness under the set's target, with a seam that wraps without a
// click. DjSet plays it on a loop track of the live session from a bar line.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/SamplePlayer.h"

namespace soundstar::dj {

/// What the DJ asks a generator for.
struct LoopAsk {
    std::string prompt;
    double seconds = 10.0;
    std::uint64_t seed = 1;
};
/// What a generator gives back: interleaved float samples.
struct LoopAudio {
    std::vector<float> interleaved;
    int channels = 2;
    double sampleRateHz = 0.0;
};
/// Asks a model for audio; throws std::runtime_error saying why it failed. Called on a worker
/// thread, one call at a time.
using LoopGenerator = std::function<LoopAudio(const LoopAsk&)>;

/// Limits of `g` (a generated loop): its description in bytes, and the bar counts allowed.
inline constexpr std::size_t kMaxLoopDescriptionBytes = 300;
/// Whether `bars` is one of 1, 2, 4, 8.
bool loopBarsAllowed(int bars);

/// A generated loop to make: the set's tempo, metre, key (root pitch class, minor or not), rate
/// and the loudness the loop is brought to.
struct LoopPlan {
    std::string description;
    int bars = 4;
    double bpm = 120.0;
    int beatsPerBar = 4;
    int root = 0;
    bool minor = false;
    double sampleRate = 44100.0;
    double lufs = -17.0;
    std::uint64_t seed = 1;
};

struct GeneratedLoop {
    std::shared_ptr<const engine::SampleBuffer> audio;  // exactly round(bars * beats * 60 / bpm * rate) frames
    LoopPlan plan;
    std::string summary;  // source tempo and key, what was done, loudness
    std::vector<std::string> warnings;
};

/// The prompt the generator reads: the description with the set's tempo added when it names none.
std::string loopPrompt(const LoopPlan& plan);
/// Asks `generate` and conforms its audio to `plan` [control; any thread]. Audio without a steady
/// beat is cut to whole bars at its own pace (a warning says so). Throws std::invalid_argument for
/// a plan out of its limits and std::runtime_error when the generator fails or its audio cannot be
/// fitted (saying why).
GeneratedLoop makeGeneratedLoop(const LoopGenerator& generate, const LoopPlan& plan);

}  // namespace soundstar::dj

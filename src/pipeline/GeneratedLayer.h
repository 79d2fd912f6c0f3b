#pragma once
// A generated layer for a render (`render --generator`) [control]: the render asks a generator
// (the model service, supplied by the caller) for audio from its prompt, conforms it to the
// track's tempo, bars, key and loudness (models/Conform), tiles the loop over the whole render from
// bar 0 and adds it to the mix before mastering. The generator is a function so the pipeline does
// not depend on how or where models run (the CLI uses worker processes).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/AudioBuffer.h"

namespace soundstar::pipeline {

struct Composition;

/// What a render asks its generator for.
struct GeneratorAsk {
    std::string prompt;
    double seconds = 10.0;  // 8 to 600
    std::uint64_t seed = 1;
};

/// What a generator gives back: interleaved float samples.
struct GeneratedAudio {
    std::vector<float> interleaved;
    int channels = 2;
    double sampleRateHz = 0.0;
};

using Generator = std::function<GeneratedAudio(const GeneratorAsk&)>;

/// Limits of --generator-gain (the layer's loudness relative to the score's, in LU).
inline constexpr double kGeneratorMinGainDb = -30.0, kGeneratorMaxGainDb = 12.0;

/// The generated layer as rendered.
struct GeneratedLayer {
    StereoBuffer audio;     // as long as the render
    int bars = 0;           // the loop's length
    std::string summary;    // one line: source tempo and key, what was done, loudness
    std::vector<std::string> warnings;
};

/// Asks `generate` for audio and makes the layer for `job` at `sampleRate`, `frames` long, at the
/// score's loudness (`scoreLufs`, -inf for silence) plus `gainDb`. Throws std::invalid_argument for
/// a gain out of its limits and std::runtime_error when the generator fails or its audio cannot be
/// conformed (saying why).
GeneratedLayer makeGeneratedLayer(const Generator& generate, const std::string& prompt, const Composition& job, double sampleRate,
                                  std::size_t frames, double scoreLufs, double gainDb);

}  // namespace soundstar::pipeline

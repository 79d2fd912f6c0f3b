#pragma once
// Strong time types shared by the control and audio sides.
#include <cstdint>

namespace soundstar {

/// Absolute time in samples since the engine started; int64 never wraps in practice.
using SampleTime = std::int64_t;
/// Musical time in beats (quarter notes); double keeps sub-sample precision for hours.
using BeatTime = double;

/// Converts beats to samples at a fixed tempo [any].
inline SampleTime beatsToSamples(BeatTime beats, double bpm, double sampleRate) {
    return static_cast<SampleTime>(beats * 60.0 / bpm * sampleRate + 0.5);
}

}  // namespace soundstar

#pragma once
// SoundTouch and libsamplerate, as Soundstar asks them of its stretch module
// (libsoundstar_stretch.so, StretchModule.cpp), opened by the first stretch or resample
// (core/Module.h): the commands that never conform audio (a render, most of all) start without
// loading either library (ADR 0004). Both sides are built together from this header.
#include <cstddef>
#include <string>
#include <vector>

namespace soundstar::models::stretch {

struct Api {
    /// Interleaved stereo through SoundTouch's WSOLA: tempo ratio, pitch shift in semitones, and
    /// short sequences (40 ms, seek 15 ms, overlap 8 ms: its advice for percussion). Fed 8192
    /// frames at a time, drained after each and after the flush; `out` gets the interleaved
    /// result. False with `error` set when SoundTouch throws.
    bool (*stretchStereo)(const float* interleaved, std::size_t frames, unsigned sampleRate, double tempoRatio, double semitones,
                          std::vector<float>* out, std::string* error);
    /// libsamplerate's src_simple (SINC_BEST_QUALITY, end of input): returns its error code
    /// (0: none) with its text in `error`; `generated` gets the frames written.
    int (*resample)(const float* in, long inFrames, float* out, long outFrames, double ratio, int channels, long* generated,
                    std::string* error);
};

/// The module's entry: `soundstar_stretch_api()`, the table above.
using ApiFn = const Api* (*)();
inline constexpr const char* kApiSymbol = "soundstar_stretch_api";

/// The table, the module opened on the first call; throws std::runtime_error naming the module
/// and where it was looked for when it cannot be opened.
const Api& api();

}  // namespace soundstar::models::stretch

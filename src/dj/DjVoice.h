#pragma once
// Voice drops [control, on a worker thread]: `espeak-ng` run as a separate program (GPL-3; it
// stays out of our binary), its WAV read back and resampled to the engine's rate. The program is
// found on PATH; the text is bounded and passed as one argument (no shell); a run past the
// timeout is killed.
#include <memory>
#include <string>

#include "engine/SamplePlayer.h"

namespace soundstar::dj {

inline constexpr std::size_t kMaxSpeechBytes = 200;
inline constexpr double kSpeechTimeoutSeconds = 5.0, kMaxSpeechSeconds = 20.0;

/// Speaks `text` (1..kMaxSpeechBytes bytes; control characters read as spaces) at `sampleRate`.
/// Throws std::runtime_error naming what went wrong: "espeak-ng is not installed..." when it is
/// not on PATH, a timeout, a failed run, speech longer than kMaxSpeechSeconds; and
/// std::invalid_argument for an empty or too long text.
std::shared_ptr<const engine::SampleBuffer> renderSpeech(const std::string& text, double sampleRate, double timeoutSeconds = kSpeechTimeoutSeconds);

/// Cubic Hermite resampling of one channel from `fromRate` to `toRate`.
std::vector<float> resampleSpeech(const std::vector<float>& x, double fromRate, double toRate);

}  // namespace soundstar::dj

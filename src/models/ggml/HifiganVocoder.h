#pragma once
// AudioLDM's vocoder on ggml [control; one thread calls it at a time]: Hugging Face's
// SpeechT5HifiGan, a HiFi-GAN generator (conv_pre; per stage: leaky ReLU, transposed conv, the
// mean of multi-receptive-field residual blocks; leaky ReLU, conv_post, tanh) from a log-mel
// spectrogram to audio (cvssp/audioldm-*: 64 mel bins, hop 160, 16 kHz). Weights come from a
// GGUF file written by tools/audioldm_to_gguf.py; the sizes are in its metadata (hifigan.*).
// ggml stays inside HifiganVocoder.cpp.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The vocoder's sizes, as SpeechT5HifiGanConfig names them (defaults: AudioLDM's).
struct HifiganConfig {
    int melBins = 64;  // model_in_dim
    int sampleRateHz = 16000;
    int initialChannels = 1024;  // upsample_initial_channel
    std::vector<int> upsampleRates = {5, 4, 2, 2, 2};
    std::vector<int> upsampleKernels = {16, 16, 8, 4, 4};
    std::vector<int> resblockKernels = {3, 7, 11};
    std::vector<std::vector<int>> resblockDilations = {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
    bool normalizeBefore = false;  // (mel - mean) / scale first
    /// Samples for `frames` mel frames: each transposed conv makes (n-1)*rate - 2*pad + kernel.
    std::int64_t samplesFor(std::int64_t frames) const;
};

// One minute at AudioLDM's 100 frames a second: at AudioLDM's sizes the last stage's im2col alone
// takes 1.3 GB for it; longer audio is vocoded in pieces.
inline constexpr int kMaxHifiganFrames = 100 * 60;

class HifiganVocoder {
public:
    /// Loads and checks `gguf` (metadata ranges, every tensor's name, shape and type); throws
    /// std::invalid_argument naming the file and what is wrong. `threads` >= 1.
    HifiganVocoder(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~HifiganVocoder();
    HifiganVocoder(const HifiganVocoder&) = delete;
    HifiganVocoder& operator=(const HifiganVocoder&) = delete;

    const HifiganConfig& config() const;
    std::uint64_t weightBytes() const;
    std::string weightTypes() const;  // e.g. "f32" or "q8_0+f32"

    /// `mel` holds frames x melBins values, frame-major (mel[t * melBins + m]), every one finite.
    /// Returns config().samplesFor(frames) mono samples in [-1, 1]. Throws std::invalid_argument
    /// naming a bad count or value.
    std::vector<float> vocode(const std::vector<float>& mel, int frames);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

#pragma once
// AudioLDM's VAE decoder on ggml [control; one thread calls it at a time]: diffusers'
// AutoencoderKL decoder (post_quant_conv; conv_in; a mid block of resnet, one-head self-attention
// over every position, resnet; up blocks of resnets with a nearest-neighbour x2 upsample and a
// conv; group norm, SiLU, conv_out) from latents to a log-mel spectrogram, which
// HifiganVocoder turns into audio. The pipeline's division by scaling_factor is folded into
// post_quant_conv by tools/audioldm_to_gguf.py; sizes are in the GGUF metadata (vae.*).
// ggml stays inside VaeDecoder.cpp.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The decoder's sizes, as diffusers' AutoencoderKL config names them (defaults: AudioLDM's).
struct VaeConfig {
    int latentChannels = 8;
    std::vector<int> blockOutChannels = {128, 256, 512};
    int layersPerBlock = 2;
    int normGroups = 32;
    int upscale() const;  // 2^(blocks - 1): mel frames (and bins) per latent row (and column)
};

// 30 s at AudioLDM's 25 latent rows a second: the mid block's attention over every position grows
// with the square of the length (12,000 positions: 576 MB of scores).
inline constexpr int kMaxVaeLatentRows = 25 * 30;
inline constexpr int kMaxVaeLatentColumns = 64;

class VaeDecoder {
public:
    /// Loads and checks `gguf`; throws std::invalid_argument naming the file and what is wrong.
    VaeDecoder(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~VaeDecoder();
    VaeDecoder(const VaeDecoder&) = delete;
    VaeDecoder& operator=(const VaeDecoder&) = delete;

    const VaeConfig& config() const;
    std::uint64_t weightBytes() const;

    /// `latents` holds channels x rows x columns values as PyTorch's (1, C, H, W) (rows: time,
    /// columns: frequency), every one finite, as the sampler leaves them (not yet divided by the
    /// scaling factor). Returns (rows x upscale) frames x (columns x upscale) mel bins,
    /// frame-major: what HifiganVocoder::vocode takes. Throws std::invalid_argument on bad sizes.
    std::vector<float> decode(const std::vector<float>& latents, int rows, int columns);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

#pragma once
// AudioLDM from text embeddings to audio [control; one thread calls it at a time]: seeded
// Gaussian latents, DDIM over the UNet with classifier-free guidance, the VAE decoder (latents ->
// log-mel) and the HiFi-GAN vocoder (mel -> 16 kHz audio), all on ggml. A folder holds
// unet.gguf, vae.gguf and vocoder.gguf (tools/audioldm_to_gguf.py); the text embeddings come from
// the caller (CLAP's, L2-normalised; the unconditional one is the empty prompt's).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace soundstar::models {

class AudioldmUnet;
class VaeDecoder;
class HifiganVocoder;

inline constexpr double kMaxAudioldmSeconds = 30.0;
inline constexpr double kMaxAudioldmGuidance = 20.0;

struct AudioldmRequest {
    double seconds = 5.0;   // from one mel frame to kMaxAudioldmSeconds
    int steps = 10;         // DDIM steps, 1 to kMaxDdimSteps (diffusers' AudioLDM default: 10)
    double guidance = 2.5;  // 0 to kMaxAudioldmGuidance; at 1 or below only the conditional pass runs
    std::uint64_t seed = 1;
};

/// Latent rows and columns for a duration, as diffusers' AudioLDMPipeline sizes them: the
/// samples (floor(seconds x rate)) over the vocoder's hop, rounded up to whole latent rows.
struct AudioldmShape {
    int rows = 0;
    int columns = 0;
    std::int64_t samples = 0;  // what the audio is trimmed to
};

class AudioldmPipeline {
public:
    /// Loads DIR/unet.gguf, DIR/vae.gguf and DIR/vocoder.gguf and checks that they fit
    /// together; throws std::invalid_argument naming the file and what is wrong.
    AudioldmPipeline(const std::filesystem::path& dir, int threads);
    /// The same from three files anywhere.
    AudioldmPipeline(const std::filesystem::path& unet, const std::filesystem::path& vae, const std::filesystem::path& vocoder, int threads);
    ~AudioldmPipeline();
    AudioldmPipeline(const AudioldmPipeline&) = delete;
    AudioldmPipeline& operator=(const AudioldmPipeline&) = delete;

    int sampleRateHz() const;
    int embeddingSize() const;
    AudioldmShape shapeFor(double seconds) const;  // throws std::invalid_argument outside the allowed range
    AudioldmUnet& unet();
    /// The threads the UNet, the VAE and the vocoder run on from now on (1 to 256).
    void setThreads(int threads);

    using Progress = std::function<void(int step, int steps)>;

    /// DDIM from `latents` (UNet channels x rows x columns): returns the final latents.
    /// `progress` (may be empty) after each step; throws models::Cancelled soon after `cancel`
    /// (may be null) turns true, within a UNet pass (ggml's abort callback, between graph nodes).
    std::vector<float> sample(std::vector<float> latents, int rows, int columns, const std::vector<float>& cond,
                              const std::vector<float>& uncond, int steps, double guidance, const Progress& progress = {},
                              const std::atomic<bool>* cancel = nullptr);

    /// The whole chain: seeded latents, sample(), the VAE, the vocoder; mono audio at
    /// sampleRateHz(), trimmed to shapeFor(seconds).samples.
    std::vector<float> generate(const std::vector<float>& cond, const std::vector<float>& uncond, const AudioldmRequest& request,
                                const Progress& progress = {}, const std::atomic<bool>* cancel = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

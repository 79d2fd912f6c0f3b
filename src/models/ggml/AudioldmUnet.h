#pragma once
// AudioLDM's latent-diffusion UNet on ggml [control; one thread calls it at a time]: diffusers'
// UNet2DConditionModel as AudioLDM configures it. conv_in; down blocks of resnets (each adding a
// projection of the time embedding) with, at the levels AudioLDM chose, a Transformer2DModel
// after each resnet (group norm, 1x1 proj_in, one BasicTransformerBlock: self-attention, a
// second attention that also attends to the block itself since AudioLDM passes no encoder
// states, a GEGLU feed-forward; 1x1 proj_out, plus the input) and a stride-2 conv; a mid block
// (resnet, transformer, resnet); up blocks that concatenate the down path's states, with a
// nearest-neighbour upsample (to the skip's size) and a conv; group norm, SiLU, conv_out. The
// timestep's sinusoidal embedding (cos first) goes through two linears; the L2-normalised CLAP
// text embedding through class_embedding; the two are concatenated (class_embeddings_concat).
// Sizes are in the GGUF metadata (unet.*, written by tools/audioldm_to_gguf.py), with the DDIM
// scheduler's settings (ddim.*). ggml stays inside AudioldmUnet.cpp.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The UNet's sizes, as diffusers' config names them (defaults: audioldm-s-full-v2's).
struct UnetConfig {
    int inChannels = 8;
    int outChannels = 8;
    std::vector<int> blockOutChannels = {128, 256, 384, 640};
    std::vector<int> attentionHeads = {8, 8, 8, 8};      // per block ("attention_head_dim" in diffusers' config)
    std::vector<bool> attention = {false, true, true, true};  // a transformer after each resnet of block i (and its mirror)
    int layersPerBlock = 2;
    int normGroups = 32;
    int classEmbedDim = 512;  // the text embedding's size (projection_class_embeddings_input_dim)
    int timeEmbedDim() const { return blockOutChannels[0] * 4; }
};

/// The DDIM scheduler's settings stored beside the UNet (AudioLDM's: scaled-linear betas
/// 0.0015 to 0.0195 over 1000 steps, "leading" spacing, steps_offset 1, set_alpha_to_one false).
struct DdimConfig {
    int trainSteps = 1000;
    double betaStart = 0.0015;
    double betaEnd = 0.0195;
    int stepsOffset = 1;
    bool setAlphaToOne = false;
    double clipRange = 0.0;  // clip_sample's range; 0: no clipping
};

inline constexpr int kMaxUnetLatentRows = 25 * 30;  // 30 s at AudioLDM's 25 latent rows a second
inline constexpr int kMaxUnetLatentColumns = 64;
inline constexpr int kMaxUnetBatch = 2;  // conditional and unconditional (classifier-free guidance)

class AudioldmUnet {
public:
    /// Loads and checks `gguf`; throws std::invalid_argument naming the file and what is wrong.
    AudioldmUnet(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~AudioldmUnet();
    AudioldmUnet(const AudioldmUnet&) = delete;
    AudioldmUnet& operator=(const AudioldmUnet&) = delete;

    const UnetConfig& config() const;
    const DdimConfig& ddim() const;
    std::uint64_t weightBytes() const;
    std::string weightTypes() const;  // e.g. "q8_0+f32"

    /// While `flag` (null: none) is true, predict() stops between graph nodes and throws
    /// models::Cancelled.
    void setCancelFlag(const std::atomic<bool>* flag);

    /// The predicted noise for `latents` (inChannels x rows x columns, PyTorch's (1, C, H, W)
    /// order) at `timestep` (0 to trainSteps - 1), once per embedding in `embeddings` (1 or 2,
    /// each classEmbedDim values), computed in one graph. Returns the predictions one after
    /// another, each outChannels x rows x columns. Throws std::invalid_argument on bad sizes or
    /// values that are not finite.
    std::vector<float> predict(const std::vector<float>& latents, int rows, int columns, int timestep,
                               const std::vector<std::vector<float>>& embeddings);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

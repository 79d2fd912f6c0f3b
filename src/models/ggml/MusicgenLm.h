#pragma once
// MusicGen's language model on ggml [control; one thread calls it at a time]: from the text
// encoder's states to EnCodec codes. Per step, the K codebook tokens of the previous position are
// embedded and summed, a sinusoidal position is added, pre-norm decoder layers run (self-attention
// over a KV cache, cross-attention to the projected text states, a GELU FFN), a final LayerNorm,
// and one linear head per codebook gives K x vocab logits. Codebook k runs k steps behind
// codebook 0 (the delay pattern), so `frames` frames take frames + K - 1 steps. Classifier-free
// guidance runs a conditional and an unconditional row (text states zeroed, as Hugging Face's
// MusicGen does) and mixes their logits: uncond + (cond - uncond) x scale. Tokens are drawn with
// temperature and top-k from a seeded generator. Weights: tools/musicgen_to_gguf.py.
// ggml stays inside MusicgenLm.cpp.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The decoder's sizes, as Hugging Face's MusicgenDecoderConfig names them.
struct MusicgenLmConfig {
    int hiddenSize = 1024;
    int layers = 24;
    int heads = 16;
    int ffnSize = 4096;
    int codebooks = 4;
    int vocabSize = 2048;  // per codebook; the pad/start token is vocabSize
    int maxPositions = 2048;
    int textHiddenSize = 768;  // the T5 states' width (projected to hiddenSize when they differ)
    int padToken() const { return vocabSize; }
};

/// How tokens are drawn. topK 1 is greedy (the temperature then does not matter).
struct SamplingSettings {
    int topK = 250;              // 1 to vocabSize
    double temperature = 1.0;    // > 0 (0.01 to 10)
    double guidanceScale = 3.0;  // 0 to 30; 1 runs no unconditional row
    std::uint64_t seed = 1;
};

inline constexpr int kMaxTextTokens = 512;
/// The most takes one generateTakes() makes side by side (each adds its rows to every step).
inline constexpr int kMaxBatchTakes = 8;

/// What a continuation window adds to generate(): a prompt (the last frames of the previous
/// window, as audiocraft primes each window with its extend stride), and a call for each new
/// frame once all its codebooks are drawn (for streaming the audio while the LM runs).
struct FrameHooks {
    std::vector<std::int32_t> prompt;  // codebooks x promptFrames, codebook-major; forced, not drawn
    int promptFrames = 0;              // 0 to frames - 1
    /// frame (promptFrames to frames - 1), then its codebooks' codes; called in frame order.
    std::function<void(int, const std::vector<std::int32_t>&)> onFrame;
};

/// FrameHooks for several takes: each take its own prompt, and frames reported with their take.
struct TakeHooks {
    std::vector<std::vector<std::int32_t>> prompts;  // per take: codebooks x promptFrames, codebook-major; empty when promptFrames is 0
    int promptFrames = 0;
    /// take, frame (promptFrames to frames - 1), then its codebooks' codes; frame by frame, takes in order.
    std::function<void(int, int, const std::vector<std::int32_t>&)> onFrame;
};

class MusicgenLm {
public:
    /// Loads and checks `gguf`; throws std::invalid_argument naming the file and what is wrong.
    MusicgenLm(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~MusicgenLm();
    MusicgenLm(const MusicgenLm&) = delete;
    MusicgenLm& operator=(const MusicgenLm&) = delete;

    const MusicgenLmConfig& config() const;
    std::uint64_t weightBytes() const;
    std::string weightTypes() const;
    /// The most frames one generate() makes: the positions minus the delay.
    int maxFrames() const;

    /// The KV cache's element type for the next generate(): f32 (the default) or f16 (half the
    /// memory and the memory traffic of attention over long windows; logits move by ~1e-3).
    void setHalfPrecisionCache(bool half);

    /// Checks settings; throws std::invalid_argument naming the setting and its range.
    void validate(const SamplingSettings& s) const;

    /// `text` holds textTokens x textHiddenSize floats (row-major). Returns codebooks x frames codes,
    /// codebook-major, delay removed. `progress(step, steps)` after each step; `cancel` is read
    /// between steps (throws Cancelled from models/ModelWorker.h). `stepLogits`, when given,
    /// receives each step's guided logits (steps x codebooks x vocab) for tests. With a prompt in
    /// `hooks`, its frames come first in the result, as given.
    std::vector<std::int32_t> generate(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s,
                                       const std::function<void(int, int)>& progress = {}, const std::atomic<bool>* cancel = nullptr,
                                       std::vector<float>* stepLogits = nullptr, const FrameHooks& hooks = {});

    /// Several takes of the same text at once (a batch): each step runs every take's rows through
    /// the decoder together, so the weights are read once a step for all of them. Take t draws
    /// its tokens from seed + t, and gives the codes a one-take generate() gives with that seed.
    /// 1 to kMaxBatchTakes takes; returns each take's codes as generate() does.
    std::vector<std::vector<std::int32_t>> generateTakes(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s, int takes,
                                                         const std::function<void(int, int)>& progress = {}, const std::atomic<bool>* cancel = nullptr,
                                                         const TakeHooks& hooks = {});

private:
    std::vector<std::vector<std::int32_t>> run(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s, int takes,
                                               const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel, std::vector<float>* stepLogits,
                                               const TakeHooks& hooks);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Draws one token from `logits` (modified in place): top-k, then temperature, softmax, one
/// uniform number from `uniform01` in [0, 1). Deterministic for the same inputs.
int sampleTopK(std::vector<float>& logits, int topK, double temperature, double uniform01);

}  // namespace soundstar::models

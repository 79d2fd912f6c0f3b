#pragma once
// CLAP's text tower on ggml [control; one thread calls it at a time]: AudioLDM's text encoder
// (Hugging Face's ClapTextModelWithProjection, as diffusers' AudioLDMPipeline runs it). The
// prompt is tokenized by RoBERTa's byte-level BPE (BpeTokenizer; vocabulary and merges stored in
// the same GGUF file), then: word + learned absolute position (counted from RoBERTa's pad id + 1)
// + token type 0 embeddings, LayerNorm -> per layer (BERT, post-LN): self-attention, add, LayerNorm,
// GELU (erf) FFN, add, LayerNorm -> pooler (first token, dense, tanh) -> projection (linear,
// ReLU, linear) -> L2-normalised, as the pipeline does. Weights: tools/clap_to_gguf.py.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The text tower's sizes, as Hugging Face's ClapTextConfig names them (defaults: AudioLDM's).
struct ClapTextConfig {
    int vocabSize = 50265;
    int hiddenSize = 768;
    int layers = 12;
    int heads = 12;
    int intermediateSize = 3072;
    int maxPositions = 514;
    int typeVocabSize = 1;
    int projectionDim = 512;
    int padId = 1;
    int maxTokens = 512;  // the tokenizer's model_max_length, at most maxPositions - padId - 1
    float layerNormEps = 1e-12f;
};

class BpeTokenizer;

class ClapTextEncoder {
public:
    /// Loads and checks `gguf` (weights, sizes, the tokenizer); throws std::invalid_argument
    /// naming the file and what is wrong. `threads`: 1 to 256.
    ClapTextEncoder(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~ClapTextEncoder();
    ClapTextEncoder(const ClapTextEncoder&) = delete;
    ClapTextEncoder& operator=(const ClapTextEncoder&) = delete;

    /// projection_dim (512 for AudioLDM).
    int embeddingSize() const;
    /// The L2-normalised text embedding of `text` (embeddingSize() floats); "" gives the
    /// unconditional embedding. Longer prompts are cut to config().maxTokens tokens. Throws
    /// std::invalid_argument for text that is not UTF-8 or over kMaxBpeTextBytes.
    std::vector<float> embed(const std::string& text);

    /// The projection before normalisation for given ids (<s> ... </s>, 1 to maxTokens, each
    /// below vocabSize); throws std::invalid_argument naming a bad count or id.
    std::vector<float> project(const std::vector<std::int32_t>& ids);
    std::vector<std::int32_t> tokenize(const std::string& text) const;
    const ClapTextConfig& config() const;
    const BpeTokenizer& tokenizer() const;
    std::uint64_t weightBytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

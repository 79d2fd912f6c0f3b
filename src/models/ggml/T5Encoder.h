#pragma once
// T5's encoder on ggml [control; one thread calls it at a time]: MusicGen's text encoder (t5-base
// for musicgen-small). Token ids -> embeddings -> per block: RMS norm, self-attention (no
// scaling, plus a bias from bidirectional relative position buckets, learned once in the first
// block and shared by all), RMS norm, an FFN (ReLU, or gated GELU as in T5 v1.1 / Flan-T5) ->
// a final RMS norm. Weights: tools/t5_to_gguf.py. ggml stays inside T5Encoder.cpp.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The encoder's sizes, as Hugging Face's T5Config names them.
struct T5Config {
    int vocabSize = 32128;
    int dModel = 768;
    int dKv = 64;
    int heads = 12;
    int dFf = 3072;
    int layers = 12;
    int buckets = 32;       // relative_attention_num_buckets
    int maxDistance = 128;  // relative_attention_max_distance
    bool gatedGelu = false;
};

inline constexpr int kMaxT5Tokens = 512;

/// T5's bidirectional bucket for a key `relative` positions after (or before, < 0) the query.
int t5RelativeBucket(int relative, int buckets, int maxDistance);

class T5Encoder {
public:
    /// Loads and checks `gguf`; throws std::invalid_argument naming the file and what is wrong.
    T5Encoder(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~T5Encoder();
    T5Encoder(const T5Encoder&) = delete;
    T5Encoder& operator=(const T5Encoder&) = delete;

    const T5Config& config() const;
    std::uint64_t weightBytes() const;

    /// ids (1 to kMaxT5Tokens, each below vocabSize) -> ids.size() x dModel states, row-major.
    /// Throws std::invalid_argument naming a bad count or id.
    std::vector<float> encode(const std::vector<std::int32_t>& ids);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::models

#pragma once
// The interpreter's word vectors: data/interpret/words.bin, built by tools/build_word_vectors.mjs
// from GloVe (100 dimensions, int8 with a scale per word). Loaded once; read-only afterwards.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace soundstar::interpret {

class WordVectors {
public:
    /// Reads words.bin. Throws std::runtime_error naming the file and what is wrong with it.
    static WordVectors load(const std::filesystem::path& file);

    std::size_t size() const { return words_.size(); }
    int dimensions() const { return dim_; }
    /// The word's index, trying simple English inflections ("storms" -> "storm") when the form
    /// itself is missing; nullopt when unknown.
    std::optional<std::uint32_t> find(std::string_view word) const;
    const std::string& word(std::uint32_t index) const { return words_[index]; }
    /// out += weight * vector(index).
    void accumulate(std::uint32_t index, float weight, std::span<float> out) const;
    /// Smooth inverse frequency weight a / (a + p(w)), p from the word's frequency rank (Zipf).
    float sifWeight(std::uint32_t index) const;
    /// Cosine similarity of two words.
    float similarity(std::uint32_t a, std::uint32_t b) const;

private:
    int dim_ = 0;
    std::vector<std::string> words_;
    std::vector<std::uint32_t> ranks_;
    std::vector<float> scales_;
    std::vector<std::int8_t> q_;
    std::unordered_map<std::string_view, std::uint32_t> index_;
};

}  // namespace soundstar::interpret

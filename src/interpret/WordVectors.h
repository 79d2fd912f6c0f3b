#pragma once
// The interpreter's word vectors: data/interpret/words.bin, built by tools/build_word_vectors.mjs
// from GloVe (100 dimensions, int8 with a scale per word). Read-only once made. Either loaded
// from words.bin (and then owned) or a view into a mapped snapshot (Snapshot.h), which must
// outlive it; both give the same answers, as both look words up in the same StringTable.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "interpret/Snapshot.h"
#include "interpret/StringTable.h"

namespace soundstar::interpret {

class SnapshotWriter;
class SnapshotReader;

class WordVectors {
public:
    WordVectors() = default;
    /// Reads words.bin. Throws std::runtime_error naming the file and what is wrong with it.
    static WordVectors load(const std::filesystem::path& file);
    /// The vectors in a snapshot's sections; throws SnapshotError when their sizes disagree.
    static WordVectors view(const SnapshotReader& r);
    /// Adds the vectors' sections to a snapshot (only for vectors made by load()).
    void write(SnapshotWriter& w) const;

    std::size_t size() const { return words_.size(); }
    int dimensions() const { return dim_; }
    /// The word's index, trying simple English inflections ("storms" -> "storm") when the form
    /// itself is missing; nullopt when unknown.
    std::optional<std::uint32_t> find(std::string_view word) const;
    std::string_view word(std::uint32_t index) const { return words_[index]; }
    /// out += weight * vector(index). Throws SnapshotError when a mapped snapshot's row is damaged
    /// (its block is checked when first read).
    void accumulate(std::uint32_t index, float weight, std::span<float> out) const;
    /// Smooth inverse frequency weight a / (a + p(w)), p from the word's frequency rank (Zipf).
    float sifWeight(std::uint32_t index) const;
    /// [any thread] Checks every row of a mapped snapshot now (SnapshotError when one is damaged).
    void checkAll() const { qChecked_.checkAll(); }
    /// Cosine similarity of two words.
    float similarity(std::uint32_t a, std::uint32_t b) const;

private:
    struct Owned;
    std::shared_ptr<const Owned> owned_;  // set by load(); a view leaves it empty
    int dim_ = 0;
    StringTable words_;
    std::span<const std::uint32_t> ranks_;
    std::span<const float> scales_;
    std::span<const std::int8_t> q_;
    CheckedOnRead qChecked_;  // over q_ in a snapshot; checks nothing for loaded vectors
    const std::int8_t* row(std::uint32_t index) const {
        const std::size_t at = static_cast<std::size_t>(index) * static_cast<std::size_t>(dim_);
        qChecked_.check(at, static_cast<std::size_t>(dim_));
        return q_.data() + at;
    }
};

}  // namespace soundstar::interpret

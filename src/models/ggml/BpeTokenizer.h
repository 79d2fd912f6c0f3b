#pragma once
// A byte-level BPE tokenizer as GPT-2 and RoBERTa use it [control; const methods from any thread]:
// the text is cut by GPT-2's pre-tokenizer pattern (contractions, letters, numbers, other
// symbols, each with an optional leading space, and white space runs), each piece's UTF-8 bytes
// are mapped to printable characters (byte-to-unicode), merged by rank from the merges list and
// looked up in the vocabulary; RoBERTa wraps the ids in <s> ... </s>. The vocabulary and merges
// come from the model's GGUF file (written from vocab.json and merges.txt by
// tools/clap_to_gguf.py), so they are untrusted: every count and length is bounded and named.
// Literal special-token text ("<mask>" in a prompt) is BPE'd like any text, not matched.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace soundstar::models {

inline constexpr std::size_t kMaxBpeVocab = 1 << 18;
inline constexpr std::size_t kMaxBpeMerges = 1 << 18;
inline constexpr std::size_t kMaxBpeTokenBytes = 256;
inline constexpr std::size_t kMaxBpeTextBytes = 64 * 1024;
/// One pre-tokenized piece (a word, a run of symbols or of white space): BPE's merging is
/// quadratic in its length at worst.
inline constexpr std::size_t kMaxBpePieceBytes = 8 * 1024;

/// GPT-2's pre-tokenizer: `text` (valid UTF-8) cut as the pattern
/// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ cuts it. At most
/// `maxPieces` pieces are returned (the rest of the text is not read).
std::vector<std::string> gpt2Pretokenize(std::string_view text, std::size_t maxPieces = SIZE_MAX);

/// GPT-2's byte-to-unicode map: the printable character (UTF-8) that stands for `byte`.
std::string bpeByteSymbol(std::uint8_t byte);

class BpeTokenizer {
public:
    /// `vocab`: token text by id; `merges`: "left right" pairs, highest priority first. The
    /// special tokens <s>, </s> and <unk> must be in the vocabulary. Throws
    /// std::invalid_argument naming `where` and what is wrong (a count or length over its limit,
    /// text that is not UTF-8, a repeated token, a merge that is not two tokens).
    BpeTokenizer(std::vector<std::string> vocab, const std::vector<std::string>& merges, const std::string& where);

    /// <s>, the ids of `text`, </s>: at most `maxTokens` (>= 2; longer texts are cut, keeping
    /// </s>). Throws std::invalid_argument for text over kMaxBpeTextBytes or not UTF-8.
    std::vector<std::int32_t> encode(std::string_view text, int maxTokens) const;
    /// The BPE symbols of one pre-tokenized piece (its bytes mapped), before the vocabulary.
    std::vector<std::string> bpe(std::string_view piece) const;

    int vocabSize() const { return static_cast<int>(vocab_.size()); }
    std::int32_t bosId() const { return bos_; }
    std::int32_t eosId() const { return eos_; }
    std::int32_t unkId() const { return unk_; }
    std::int32_t padId() const { return pad_; }  // -1 without <pad>
    std::int32_t id(const std::string& token) const;  // -1 when absent

private:
    std::vector<std::string> vocab_;
    std::unordered_map<std::string, std::int32_t> ids_;
    std::unordered_map<std::string, std::int32_t> ranks_;  // "left right" -> rank
    std::int32_t bos_ = -1, eos_ = -1, unk_ = -1, pad_ = -1;
};

}  // namespace soundstar::models

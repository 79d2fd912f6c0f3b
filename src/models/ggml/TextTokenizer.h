#pragma once
// A SentencePiece tokenizer (Debian's libsentencepiece) for T5 [control]: the model file is the
// checkpoint's spiece.model; encode() appends the end-of-sequence id as Hugging Face's T5
// tokenizer does. sentencepiece's headers stay in TextTokenizer.cpp.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

class TextTokenizer {
public:
    /// Loads `model`; throws std::invalid_argument naming the file and what is wrong.
    explicit TextTokenizer(const std::filesystem::path& model);
    ~TextTokenizer();
    TextTokenizer(const TextTokenizer&) = delete;
    TextTokenizer& operator=(const TextTokenizer&) = delete;

    /// Ids of `text` then the end-of-sequence id, at most `maxTokens` (longer texts are cut,
    /// keeping the end id). Text that is not UTF-8 is refused by name.
    std::vector<std::int32_t> encode(const std::string& text, int maxTokens) const;
    int vocabSize() const;
    int eosId() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string where_;
};

}  // namespace soundstar::models

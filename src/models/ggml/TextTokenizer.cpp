#include "models/ggml/TextTokenizer.h"

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::models {

struct TextTokenizer::Impl {
    sentencepiece::SentencePieceProcessor sp;
};

TextTokenizer::TextTokenizer(const std::filesystem::path& model) : impl_(std::make_unique<Impl>()), where_(model.string()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model, ec)) throw std::invalid_argument(music::clipText(where_ + ": missing: no such tokenizer file", 1900));
    if (std::filesystem::file_size(model, ec) > (std::uintmax_t{64} << 20))
        throw std::invalid_argument(music::clipText(where_ + ": the tokenizer file is over 64 MiB", 1900));
    const auto status = impl_->sp.Load(where_);
    if (!status.ok())
        throw std::invalid_argument(music::clipText(fmt::format("{}: not a SentencePiece model ({})", where_, status.ToString()), 1900));
    if (impl_->sp.eos_id() < 0) throw std::invalid_argument(music::clipText(where_ + ": the SentencePiece model has no end-of-sequence piece (T5's has </s>)", 1900));
}

TextTokenizer::~TextTokenizer() = default;

std::vector<std::int32_t> TextTokenizer::encode(const std::string& text, int maxTokens) const {
    if (maxTokens < 1) throw std::invalid_argument(fmt::format("maxTokens is {}; at least 1", maxTokens));
    if (music::validUtf8(text) != text) throw std::invalid_argument("the prompt is not valid UTF-8 text");
    std::vector<int> ids;
    const auto status = impl_->sp.Encode(text, &ids);
    if (!status.ok()) throw std::invalid_argument(music::clipText(fmt::format("the tokenizer refused the prompt ({})", status.ToString()), 1900));
    if (ids.size() >= static_cast<std::size_t>(maxTokens)) ids.resize(static_cast<std::size_t>(maxTokens) - 1);
    ids.push_back(impl_->sp.eos_id());
    return {ids.begin(), ids.end()};
}

int TextTokenizer::vocabSize() const { return impl_->sp.GetPieceSize(); }
int TextTokenizer::eosId() const { return impl_->sp.eos_id(); }

}  // namespace soundstar::models

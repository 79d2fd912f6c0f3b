#include "models/ggml/TextTokenizer.h"

#include <fmt/format.h>

#include <stdexcept>

#include "core/Module.h"
#include "models/ggml/SpmModule.h"
#include "music/JsonText.h"

namespace soundstar::models {

// SentencePiece itself is in Soundstar's spm module (SpmModule.h), opened by the first tokenizer.
struct TextTokenizer::Impl {
    const spm::Api* api = nullptr;
    void* sp = nullptr;
    ~Impl() {
        if (sp) api->release(sp);
    }
};

TextTokenizer::TextTokenizer(const std::filesystem::path& model) : impl_(std::make_unique<Impl>()), where_(model.string()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(model, ec)) throw std::invalid_argument(music::clipText(where_ + ": missing: no such tokenizer file", 1900));
    if (std::filesystem::file_size(model, ec) > (std::uintmax_t{64} << 20))
        throw std::invalid_argument(music::clipText(where_ + ": the tokenizer file is over 64 MiB", 1900));
    static const spm::Api* api = core::moduleFunction<spm::ApiFn>("spm", spm::kApiSymbol)();
    impl_->api = api;
    std::string error;
    impl_->sp = api->load(where_, &error);
    if (!impl_->sp) throw std::invalid_argument(music::clipText(fmt::format("{}: not a SentencePiece model ({})", where_, error), 1900));
    if (api->eosId(impl_->sp) < 0) throw std::invalid_argument(music::clipText(where_ + ": the SentencePiece model has no end-of-sequence piece (T5's has </s>)", 1900));
}

TextTokenizer::~TextTokenizer() = default;

std::vector<std::int32_t> TextTokenizer::encode(const std::string& text, int maxTokens) const {
    if (maxTokens < 1) throw std::invalid_argument(fmt::format("maxTokens is {}; at least 1", maxTokens));
    if (music::validUtf8(text) != text) throw std::invalid_argument("the prompt is not valid UTF-8 text");
    std::vector<int> ids;
    std::string error;
    if (!impl_->api->encode(impl_->sp, text, &ids, &error))
        throw std::invalid_argument(music::clipText(fmt::format("the tokenizer refused the prompt ({})", error), 1900));
    if (ids.size() >= static_cast<std::size_t>(maxTokens)) ids.resize(static_cast<std::size_t>(maxTokens) - 1);
    ids.push_back(impl_->api->eosId(impl_->sp));
    return {ids.begin(), ids.end()};
}

int TextTokenizer::vocabSize() const { return impl_->api->pieceCount(impl_->sp); }
int TextTokenizer::eosId() const { return impl_->api->eosId(impl_->sp); }

}  // namespace soundstar::models

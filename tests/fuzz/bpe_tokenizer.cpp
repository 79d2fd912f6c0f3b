// Fuzz target: the byte-level BPE tokenizer from an untrusted vocabulary and merges (as a CLAP
// GGUF file stores them) and any prompt. Input: a byte for maxTokens, then vocabulary lines
// (after <s> <pad> </s> <unk>), a NUL, merge lines, a NUL, the text; empty lines are skipped.
// Properties: every refusal is std::invalid_argument with a bounded message (naming the input
// for a bad vocabulary or merge list); an accepted text gives 2 to maxTokens ids, each in the
// vocabulary, starting with <s> and ending with </s>; the pre-tokenizer's pieces put back
// together are the text.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "FuzzCheck.h"
#include "models/ggml/BpeTokenizer.h"

using namespace soundstar;

namespace {
std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size() && out.size() < 4096) {
        const auto end = s.find('\n', start);
        auto line = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!line.empty()) out.push_back(std::move(line));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const int maxTokens = 2 + data[0] % 64;
    const std::string all = fuzz::asText(data + 1, size - 1);
    const auto a = all.find('\0');
    const auto b = a == std::string::npos ? std::string::npos : all.find('\0', a + 1);
    const std::string text = b == std::string::npos ? all : all.substr(b + 1);
    std::vector<std::string> vocab{"<s>", "<pad>", "</s>", "<unk>"};
    std::vector<std::string> merges;
    if (b != std::string::npos) {
        for (auto& v : lines(all.substr(0, a))) vocab.push_back(v);
        merges = lines(all.substr(a + 1, b - a - 1));
    }
    std::string joined;
    for (const auto& piece : models::gpt2Pretokenize(std::string_view(text).substr(0, models::kMaxBpeTextBytes)))
        if (piece.empty()) fuzz::finding("an empty piece"); else joined += piece;
    if (joined != text.substr(0, models::kMaxBpeTextBytes)) fuzz::finding("the pieces do not make the text");
    try {
        const models::BpeTokenizer tok(std::move(vocab), merges, "fuzz.vocab");
        try {
            const auto ids = tok.encode(text, maxTokens);
            if (ids.size() < 2 || ids.size() > static_cast<std::size_t>(maxTokens)) fuzz::finding("token count out of range");
            if (ids.front() != tok.bosId() || ids.back() != tok.eosId()) fuzz::finding("ids not wrapped in <s> ... </s>");
            for (auto id : ids)
                if (id < 0 || id >= tok.vocabSize()) fuzz::finding("an id outside the vocabulary");
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
        }
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        if (std::string(e.what()).rfind("fuzz.vocab: ", 0) != 0) fuzz::finding("the error does not name the input", e.what());
    }
    return 0;
}

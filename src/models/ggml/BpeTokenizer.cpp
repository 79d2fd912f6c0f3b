#include "models/ggml/BpeTokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>

#include "models/ggml/UnicodeClasses.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {


[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

struct CodePoint {
    char32_t c;
    std::size_t at;  // byte offset in the text
};

// `text` is valid UTF-8 (checked by the caller).
std::vector<CodePoint> decode(std::string_view text) {
    std::vector<CodePoint> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        for (std::size_t k = 1; k < len && i + k < text.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        out.push_back({c, i});
        i += len;
    }
    return out;
}

enum class CharKind { Letter, Number, Space, Other };

CharKind kindOf(char32_t c) {
    if (isUnicodeLetter(c)) return CharKind::Letter;
    if (isUnicodeNumber(c)) return CharKind::Number;
    if (isUnicodeSpace(c)) return CharKind::Space;
    return CharKind::Other;
}

// The end (exclusive) of the pattern's match at code point i; the alternatives in the pattern's order.
std::size_t matchAt(const std::vector<CodePoint>& cps, const std::vector<CharKind>& kinds, std::size_t i) {
    const std::size_t n = cps.size();
    auto at = [&](std::size_t k) { return k < n ? cps[k].c : U'\0'; };
    if (at(i) == U'\'') {  // 's 't 're 've 'm 'll 'd
        const char32_t a = at(i + 1), b = at(i + 2);
        if (a == U's' || a == U't' || a == U'm' || a == U'd') return i + 2;
        if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return i + 3;
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: a space is none of the three classes, so the
    // optional space is taken exactly when the next code point starts the run.
    const std::size_t start = (at(i) == U' ' && i + 1 < n) ? i + 1 : i;
    if (kinds[start] != CharKind::Space) {
        const CharKind k = kinds[start];
        std::size_t j = start + 1;
        while (j < n && kinds[j] == k) ++j;
        return j;
    }
    // `\s+(?!\S)` then `\s+`: a run of white space, less its last one when text follows it.
    std::size_t j = i + 1;
    while (j < n && kinds[j] == CharKind::Space) ++j;
    return (j < n && j - 1 > i) ? j - 1 : j;
}

void appendUtf8(std::string& s, char32_t c) {
    if (c < 0x80) {
        s += static_cast<char>(c);
    } else if (c < 0x800) {
        s += static_cast<char>(0xC0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (c >> 12));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    }
}

// GPT-2's map: printable Latin-1 bytes stand for themselves, the other 68 for 256, 257, ... in order.
const std::array<std::string, 256>& byteSymbols() {
    static const std::array<std::string, 256> table = [] {
        std::array<std::string, 256> t;
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            appendUtf8(t[static_cast<std::size_t>(b)], printable ? static_cast<char32_t>(b) : next++);
        }
        return t;
    }();
    return table;
}

}  // namespace

std::vector<std::string> gpt2Pretokenize(std::string_view text, std::size_t maxPieces) {
    const auto cps = decode(text);
    std::vector<CharKind> kinds(cps.size());
    for (std::size_t i = 0; i < cps.size(); ++i) kinds[i] = kindOf(cps[i].c);
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < cps.size() && pieces.size() < maxPieces;) {
        const std::size_t j = matchAt(cps, kinds, i);
        const std::size_t end = j < cps.size() ? cps[j].at : text.size();
        pieces.emplace_back(text.substr(cps[i].at, end - cps[i].at));
        i = j;
    }
    return pieces;
}

std::string bpeByteSymbol(std::uint8_t byte) { return byteSymbols()[byte]; }

BpeTokenizer::BpeTokenizer(std::vector<std::string> vocab, const std::vector<std::string>& merges, const std::string& where) : vocab_(std::move(vocab)) {
    if (vocab_.empty() || vocab_.size() > kMaxBpeVocab) bad(where, fmt::format("the vocabulary has {} tokens; allowed 1 to {}", vocab_.size(), kMaxBpeVocab));
    if (merges.size() > kMaxBpeMerges) bad(where, fmt::format("{} merges; at most {} allowed", merges.size(), kMaxBpeMerges));
    ids_.reserve(vocab_.size());
    for (std::size_t i = 0; i < vocab_.size(); ++i) {
        const auto& t = vocab_[i];
        if (t.empty() || t.size() > kMaxBpeTokenBytes) bad(where, fmt::format("token {} is {} bytes long; allowed 1 to {}", i, t.size(), kMaxBpeTokenBytes));
        if (music::validUtf8(t) != t) bad(where, fmt::format("token {} is not valid UTF-8", i));
        if (!ids_.emplace(t, static_cast<std::int32_t>(i)).second)
            bad(where, fmt::format("token {} ({}) repeats token {}", i, music::quoteJson(t), ids_.at(t)));
    }
    ranks_.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const auto& m = merges[i];
        const auto space = m.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == m.size() || m.find(' ', space + 1) != std::string::npos ||
            m.size() > 2 * kMaxBpeTokenBytes + 1)
            bad(where, fmt::format("merge {} ({}) is not two tokens of 1 to {} bytes with one space between", i, music::quoteJson(music::clipText(m, 80)),
                                   kMaxBpeTokenBytes));
        ranks_[m] = static_cast<std::int32_t>(i);  // a repeated merge keeps its last rank, as Hugging Face's dict does
    }
    bos_ = id("<s>");
    eos_ = id("</s>");
    unk_ = id("<unk>");
    pad_ = id("<pad>");
    for (const auto& [name, v] : {std::pair{"<s>", bos_}, {"</s>", eos_}, {"<unk>", unk_}})
        if (v < 0) bad(where, fmt::format("the vocabulary has no {} token (RoBERTa's special tokens <s>, </s> and <unk> are needed)", name));
}

std::int32_t BpeTokenizer::id(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
}

// Hugging Face's loop: merge every occurrence (left to right) of the adjacent pair with the lowest
// rank, until no pair has one. Pair ranks are kept in an array and only the pairs touching a
// merged symbol are looked up again, so a piece costs O(n) lookups and O(n^2) integer steps at worst.
std::vector<std::string> BpeTokenizer::bpe(std::string_view piece) const {
    std::vector<std::string> syms;
    syms.reserve(piece.size());
    for (char ch : piece) syms.push_back(bpeByteSymbol(static_cast<std::uint8_t>(ch)));
    auto rankOf = [&](const std::string& a, const std::string& b) {
        const auto it = ranks_.find(a + ' ' + b);
        return it == ranks_.end() ? INT_MAX : it->second;
    };
    std::vector<std::int32_t> pairRank;
    for (std::size_t i = 0; i + 1 < syms.size(); ++i) pairRank.push_back(rankOf(syms[i], syms[i + 1]));
    std::vector<std::string> next;
    std::vector<std::int32_t> nextRank;
    std::vector<std::size_t> from;  // the old index of each new symbol's first part
    std::vector<char> merged;       // whether a new symbol was made in this pass
    while (!pairRank.empty()) {
        const auto best = *std::min_element(pairRank.begin(), pairRank.end());
        if (best == INT_MAX) break;
        next.clear(), from.clear(), merged.clear();
        for (std::size_t i = 0; i < syms.size();) {
            from.push_back(i);
            if (i + 1 < syms.size() && pairRank[i] == best) {
                next.push_back(syms[i] + syms[i + 1]);
                merged.push_back(1);
                i += 2;
            } else {
                next.push_back(std::move(syms[i]));
                merged.push_back(0);
                ++i;
            }
        }
        nextRank.clear();
        for (std::size_t j = 0; j + 1 < next.size(); ++j)
            nextRank.push_back(merged[j] || merged[j + 1] ? rankOf(next[j], next[j + 1]) : pairRank[from[j]]);
        syms.swap(next);
        pairRank.swap(nextRank);
    }
    return syms;
}

std::vector<std::int32_t> BpeTokenizer::encode(std::string_view text, int maxTokens) const {
    if (maxTokens < 2) throw std::invalid_argument(fmt::format("maxTokens is {}; at least 2 (<s> and </s>)", maxTokens));
    if (text.size() > kMaxBpeTextBytes) throw std::invalid_argument(fmt::format("the prompt is {} bytes; at most {} allowed", text.size(), kMaxBpeTextBytes));
    if (music::validUtf8(text) != text) throw std::invalid_argument("the prompt is not valid UTF-8 text");
    const auto limit = static_cast<std::size_t>(maxTokens);
    std::vector<std::int32_t> ids{bos_};
    for (const auto& piece : gpt2Pretokenize(text, limit)) {  // each piece gives at least one token
        if (piece.size() > kMaxBpePieceBytes)
            throw std::invalid_argument(fmt::format("the prompt has a word of {} bytes; at most {} allowed", piece.size(), kMaxBpePieceBytes));
        for (const auto& sym : bpe(piece)) {
            const auto it = ids_.find(sym);
            ids.push_back(it == ids_.end() ? unk_ : it->second);
        }
        if (ids.size() >= limit - 1) break;
    }
    if (ids.size() > limit - 1) ids.resize(limit - 1);
    ids.push_back(eos_);
    return ids;
}

}  // namespace soundstar::models

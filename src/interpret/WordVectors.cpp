#include "interpret/WordVectors.h"

#include "interpret/Snapshot.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace soundstar::interpret {
namespace {

std::uint32_t readU32(const std::vector<char>& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
}

/// Largest scale a word's int8 vector may have (GloVe's are below 0.1): larger ones would
/// overflow the sums of squares.
constexpr float kMaxScale = 1e6f;

}  // namespace

struct WordVectors::Owned {
    FlatStrings words;
    std::vector<std::uint32_t> ranks;
    std::vector<float> scales;
    std::vector<std::int8_t> q;
};

WordVectors WordVectors::load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read the word vectors {}", file.string()));
    const std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto bad = [&](const std::string& why) {
        return std::runtime_error(fmt::format("{} is not a soundstar word-vector file ({}); rebuild it with "
                                              "tools/build_word_vectors.mjs",
                                              file.string(), why));
    };
    if (b.size() < 20 || std::memcmp(b.data(), "SSWV", 4) != 0) throw bad("no SSWV header");
    if (readU32(b, 4) != 1) throw bad(fmt::format("version {}, expected 1", readU32(b, 4)));
    const std::size_t n = readU32(b, 8), dim = readU32(b, 12), wordBytes = readU32(b, 16);
    if (dim == 0 || dim > 1024 || n == 0 || n > 10'000'000) throw bad("implausible size");
    const std::size_t need = 20 + wordBytes + 8 * n + n * dim;
    if (b.size() != need) throw bad(fmt::format("{} bytes, expected {}", b.size(), need));
    std::vector<std::string> words;
    words.reserve(n);
    std::size_t start = 20;
    for (std::size_t i = 20; i <= 20 + wordBytes; ++i)
        if (i == 20 + wordBytes || b[i] == '\n') {
            words.emplace_back(b.data() + start, i - start);
            start = i + 1;
        }
    if (words.size() != n) throw bad(fmt::format("{} words listed, header says {}", words.size(), n));
    auto o = std::make_shared<Owned>();
    o->words = flattenStrings(words, true);
    std::size_t at = 20 + wordBytes;
    o->ranks.resize(n);
    o->scales.resize(n);
    for (std::size_t i = 0; i < n; ++i) o->ranks[i] = readU32(b, at + 4 * i);
    at += 4 * n;
    std::memcpy(o->scales.data(), b.data() + at, 4 * n);  // little-endian floats, as written
    for (std::size_t i = 0; i < n; ++i)
        if (!(std::abs(o->scales[i]) <= kMaxScale)) throw bad(fmt::format("word {} has the scale {} (allowed: -{} to {})", i, o->scales[i], kMaxScale, kMaxScale));
    at += 4 * n;
    o->q.resize(n * dim);
    std::memcpy(o->q.data(), b.data() + at, n * dim);
    WordVectors w;
    w.dim_ = static_cast<int>(dim);
    w.words_ = StringTable(StringList({o->words.chars.data(), o->words.chars.size()}, o->words.offsets, file.string()),
                           o->words.slots, file.string());
    w.ranks_ = o->ranks;
    w.scales_ = o->scales;
    w.q_ = o->q;
    w.owned_ = std::move(o);
    return w;
}

WordVectors WordVectors::view(const SnapshotReader& r) {
    WordVectors w;
    const auto meta = r.get<std::uint32_t>(SectionId::Meta, 1);
    if (meta[0] == 0 || meta[0] > 1024) throw SnapshotError(fmt::format("{}: {} dimensions (1 to 1024 allowed)", r.what(), meta[0]));
    w.dim_ = static_cast<int>(meta[0]);
    try {
        w.words_ = StringTable(r.strings(SectionId::Words), r.get<std::uint32_t>(SectionId::WordSlots), r.what() + ": words");
    } catch (const SnapshotError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw SnapshotError(e.what());
    }
    const std::size_t n = w.words_.size();
    w.ranks_ = r.get<std::uint32_t>(SectionId::WordRanks, n);
    w.scales_ = r.get<float>(SectionId::WordScales, n);
    for (const float x : w.scales_)
        if (!(std::abs(x) <= kMaxScale)) throw SnapshotError(fmt::format("{}: a word has the scale {} (allowed: -{} to {})", r.what(), x, kMaxScale, kMaxScale));
    w.qChecked_ = r.checkedOnRead(SectionId::WordVectors, SectionId::WordVectorSums, "the word vectors");
    const auto q = w.qChecked_.bytes();
    if (q.size() != n * meta[0])
        throw SnapshotError(fmt::format("{}: the word vectors hold {} bytes, expected {} words x {} dimensions", r.what(), q.size(), n, meta[0]));
    w.q_ = {reinterpret_cast<const std::int8_t*>(q.data()), q.size()};
    return w;
}

void WordVectors::write(SnapshotWriter& w) const {
    if (!owned_) throw std::logic_error("WordVectors::write: only loaded vectors can be written");
    w.add(SectionId::Meta, std::vector<std::uint32_t>{static_cast<std::uint32_t>(dim_)});
    w.addStrings(SectionId::Words, owned_->words);
    w.add(SectionId::WordSlots, owned_->words.slots);
    w.add(SectionId::WordRanks, owned_->ranks);
    w.add(SectionId::WordScales, owned_->scales);
    w.addCheckedOnRead(SectionId::WordVectors, SectionId::WordVectorSums, std::as_bytes(std::span<const std::int8_t>(owned_->q)));
}

std::optional<std::uint32_t> WordVectors::find(std::string_view word) const {
    if (const auto i = words_.find(word)) return i;
    if (word.ends_with("'s") && word.size() > 3) return find(word.substr(0, word.size() - 2));  // "grandma's"
    if (word.size() < 4) return std::nullopt;
    const auto tryForm = [&](std::string_view stem, std::string_view suffix) -> std::optional<std::uint32_t> {
        std::string s(stem);
        s += suffix;
        return words_.find(s);
    };
    const auto ends = [&](std::string_view suf) { return word.size() > suf.size() + 2 && word.ends_with(suf); };
    for (const auto& [suf, repl] : {std::pair<std::string_view, std::string_view>{"ies", "y"}, {"es", ""}, {"s", ""},
                                    {"ing", ""}, {"ing", "e"}, {"ed", ""}, {"ed", "e"}, {"ly", ""}, {"ness", ""}, {"iest", "y"},
                                    {"ier", "y"}, {"est", ""}, {"er", ""}, {"y", ""}})
        if (ends(suf))
            if (auto r = tryForm(word.substr(0, word.size() - suf.size()), repl)) return r;
    return std::nullopt;
}

void WordVectors::accumulate(std::uint32_t index, float weight, std::span<float> out) const {
    const float s = scales_[index] * weight;
    const std::int8_t* q = row(index);
    for (int d = 0; d < dim_; ++d) out[static_cast<std::size_t>(d)] += s * static_cast<float>(q[d]);
}

float WordVectors::sifWeight(std::uint32_t index) const {
    constexpr float a = 1e-3f;
    const float p = 0.06f / (static_cast<float>(ranks_[index]) + 1.0f);  // Zipf: "the" ~ 6% of English text
    return a / (a + p);
}

float WordVectors::similarity(std::uint32_t a, std::uint32_t b) const {
    const std::int8_t* x = row(a);
    const std::int8_t* y = row(b);
    float xy = 0, xx = 0, yy = 0;
    for (int d = 0; d < dim_; ++d) {
        xy += float(x[d]) * float(y[d]);
        xx += float(x[d]) * float(x[d]);
        yy += float(y[d]) * float(y[d]);
    }
    return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0f;
}

}  // namespace soundstar::interpret

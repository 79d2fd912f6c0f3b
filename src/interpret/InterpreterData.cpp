// Making and opening the interpreter's data: from the sources (JSON, TSV, words.bin) the long
// way, or from a snapshot (Snapshot.h) mapped as it is. The sources are always turned into a
// snapshot first, in memory, so both ways run the very same code on the very same bytes.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "interpret/Interpreter.h"
#include "interpret/Text.h"
#include "interpret/Words.h"
#include "music/JsonText.h"

namespace soundstar::interpret {
namespace {

/// An entry's words for word alignment (vector indices: known, not function words, not too
/// common) and how many content words the vectors lack.
std::vector<std::uint32_t> alignmentWords(const WordVectors& v, std::string_view text, float& unknown) {
    std::vector<std::uint32_t> out;
    unknown = 0.0f;
    for (const auto& t : tokenize(text)) {
        const auto idx = v.find(t);
        if (!idx && !isStopword(t)) unknown += 1.0f;  // unmatched: the entry means more than we see
        if (!idx || isStopword(t) || v.sifWeight(*idx) < 0.2f) continue;  // "a", "the", "at", "in"
        out.push_back(*idx);
    }
    return out;
}

/// An entry's embedding without the common component, then with it removed and re-normalised.
std::vector<float> entryEmbedding(const WordVectors& v, std::string_view text) {
    const auto tokens = tokenize(text);
    std::vector<float> e;
    Interpreter::embedWith(v, {}, tokens, std::vector<bool>(tokens.size(), false), e);
    return e;
}
void removeCommon(std::span<float> e, std::span<const float> common) {
    float p = 0, norm = 0;
    for (std::size_t d = 0; d < e.size(); ++d) p += e[d] * common[d];
    for (std::size_t d = 0; d < e.size(); ++d) {
        e[d] -= p * common[d];
        norm += e[d] * e[d];
    }
    norm = std::sqrt(norm);
    if (norm > 0)
        for (float& x : e) x /= norm;
}

/// The library's first principal direction (power iteration on E^T E).
std::vector<float> commonDirection(const std::vector<float>& embeddings, std::size_t dim) {
    const std::size_t n = embeddings.size() / dim;
    std::vector<float> common(dim, 1.0f / std::sqrt(static_cast<float>(dim))), next(dim);
    for (int iter = 0; iter < 20; ++iter) {
        std::fill(next.begin(), next.end(), 0.0f);
        for (std::size_t i = 0; i < n; ++i) {
            const float* e = &embeddings[i * dim];
            float p = 0;
            for (std::size_t d = 0; d < dim; ++d) p += e[d] * common[d];
            for (std::size_t d = 0; d < dim; ++d) next[d] += p * e[d];
        }
        float norm = 0;
        for (float x : next) norm += x * x;
        norm = std::sqrt(norm);
        if (norm <= 0) break;
        for (std::size_t d = 0; d < dim; ++d) common[d] = next[d] / norm;
    }
    return common;
}

/// The blendable fields as this build knows them: a snapshot from another schema is stale.
std::vector<std::string> fieldSignature() {
    std::vector<std::string> out;
    for (const auto& f : blendFields())
        out.push_back(fmt::format("{}:{}:{}", f.name, static_cast<int>(f.kind), fmt::join(f.labels, ",")));
    return out;
}

std::vector<std::string> split(std::string_view s) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at <= s.size();) {
        std::size_t end = s.find(' ', at);
        if (end == std::string_view::npos) end = s.size();
        out.emplace_back(s.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

/// The block names as phrases a prompt may say: "the"/"a" dropped, names two categories share
/// ("jungle": a genre and a place) left to similarity, longest first.
void addPhrases(const Blocks& blocks, SnapshotWriter& w) {
    std::map<std::vector<std::string>, std::set<std::string>> categoriesOf;
    std::vector<std::pair<std::vector<std::string>, std::uint32_t>> all, kept;
    for (std::size_t b = 0; b < blocks.blocks.size(); ++b)
        for (const auto& name : blocks.blocks[b].names) {
            auto t = tokenize(name);
            if (!t.empty() && in(t[0], {"a", "an", "the"})) t.erase(t.begin());
            if (t.empty()) continue;
            categoriesOf[t].insert(blocks.blocks[b].category);
            all.emplace_back(t, static_cast<std::uint32_t>(b));
        }
    for (auto& p : all)
        if (categoriesOf[p.first].size() == 1) kept.push_back(std::move(p));
    std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    std::vector<std::string> text;
    std::vector<std::uint32_t> block;
    for (const auto& [tokens, b] : kept) {
        text.push_back(joinTokens(tokens));
        block.push_back(b);
    }
    w.addStrings(SectionId::Phrases, flattenStrings(text, false));
    w.add(SectionId::PhraseBlocks, block);
    std::vector<std::string> cats, names, fields;
    for (const auto& b : blocks.blocks) {
        cats.push_back(b.category);
        names.push_back(b.names[0]);
        fields.push_back(fragmentToCompact(b.set, true));
    }
    w.addStrings(SectionId::BlockCategories, flattenStrings(cats, false));
    w.addStrings(SectionId::BlockNames, flattenStrings(names, false));
    w.addStrings(SectionId::BlockFields, flattenStrings(fields, false));
}

void addValence(const std::filesystem::path& file, SnapshotWriter& w) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("cannot read the valence lexicon {}", file.string()));
    std::vector<std::string> words;
    std::vector<float> scores;
    std::string word;
    float v = 0;
    while (in >> word >> v) {
        words.push_back(word);
        scores.push_back(v);
    }
    const auto flat = flattenStrings(words, true);
    w.addStrings(SectionId::Valence, flat);
    w.add(SectionId::ValenceSlots, flat.slots);
    w.add(SectionId::ValenceScores, scores);
}

/// The library: texts, exact fields, alignment words, embeddings and the common direction.
void addLibrary(const WordVectors& vectors, const std::vector<LibraryEntry>& entries, SnapshotWriter& w) {
    const auto dim = static_cast<std::size_t>(vectors.dimensions());
    std::vector<std::string> texts, fields;
    std::unordered_map<std::uint32_t, std::uint32_t> local;
    std::vector<std::uint32_t> libWords, starts{0}, words;
    std::vector<float> unknown(entries.size()), embeddings;
    embeddings.reserve(entries.size() * dim);
    for (std::size_t e = 0; e < entries.size(); ++e) {
        texts.push_back(entries[e].text);
        fields.push_back(fragmentToCompact(entries[e].fragment, true));
        for (const auto idx : alignmentWords(vectors, entries[e].text, unknown[e])) {
            auto [pos, fresh] = local.emplace(idx, static_cast<std::uint32_t>(libWords.size()));
            if (fresh) libWords.push_back(idx);
            words.push_back(pos->second);
        }
        starts.push_back(static_cast<std::uint32_t>(words.size()));
        const auto v = entryEmbedding(vectors, entries[e].text);
        embeddings.insert(embeddings.end(), v.begin(), v.end());
    }
    std::vector<float> libVectors(libWords.size() * dim, 0.0f), libSif;
    for (std::size_t u = 0; u < libWords.size(); ++u) {
        std::span<float> v(&libVectors[u * dim], dim);
        vectors.accumulate(libWords[u], 1.0f, v);
        float norm = 0;
        for (float x : v) norm += x * x;
        if (norm > 0)  // a zero vector stays zero rather than NaN
            for (float& x : v) x /= std::sqrt(norm);
        libSif.push_back(vectors.sifWeight(libWords[u]));
    }
    const auto common = commonDirection(embeddings, dim);
    for (std::size_t e = 0; e < entries.size(); ++e) removeCommon({&embeddings[e * dim], dim}, common);
    w.addStrings(SectionId::EntryTexts, flattenStrings(texts, false));
    w.addStrings(SectionId::EntryFields, flattenStrings(fields, false));
    w.add(SectionId::Embeddings, embeddings);
    w.add(SectionId::EntryUnknown, unknown);
    w.add(SectionId::EntryWordStarts, starts);
    w.add(SectionId::EntryWords, words);
    w.add(SectionId::Common, common);
    w.add(SectionId::LibWords, libWords);
    w.add(SectionId::LibWordVectors, libVectors);
    w.add(SectionId::LibWordSif, libSif);
}

std::vector<std::byte> makeSnapshot(const std::filesystem::path& dir, bool withContentHash) {
    const auto vectors = WordVectors::load(dir / "words.bin");
    const auto blocks = loadBlocks(dir / "blocks.json");
    const auto entries = loadLibrary(dir / "library.tsv");
    if (entries.empty()) throw std::runtime_error(fmt::format("{} holds no entries", (dir / "library.tsv").string()));
    SnapshotWriter w;
    vectors.write(w);
    addValence(dir / "valence.tsv", w);
    addLibrary(vectors, entries, w);
    addPhrases(blocks, w);
    w.addStrings(SectionId::FieldSignature, flattenStrings(fieldSignature(), false));
    return w.finish(stampSources(dir, withContentHash));
}

/// Bytes in memory, kept alive by the interpreter that views them.
struct Buffer {
    std::vector<std::byte> bytes;
};

}  // namespace

std::vector<std::byte> Interpreter::buildSnapshot(const std::filesystem::path& dir) { return makeSnapshot(dir, true); }

Interpreter Interpreter::load(const std::filesystem::path& dir) {
    auto buffer = std::make_shared<Buffer>();
    buffer->bytes = makeSnapshot(dir, false);
    const SnapshotReader r(buffer->bytes, (dir / "library.tsv").string(), false);
    auto it = fromReader(r, buffer, false);
    it.origin_ = fmt::format("the sources in {}", dir.string());
    return it;
}

Interpreter Interpreter::fromBytes(std::vector<std::byte> bytes, bool verifyChecksum) {
    auto buffer = std::make_shared<Buffer>();
    buffer->bytes = std::move(bytes);
    const SnapshotReader r(buffer->bytes, "interpreter snapshot", verifyChecksum);
    auto it = fromReader(r, buffer, !verifyChecksum);
    it.selfCheck(r);
    it.origin_ = "a snapshot in memory";
    return it;
}

/// What a snapshot's interpreter reads once one of its word-vector blocks proves damaged: the
/// sources it was made from, loaded by the first prompt that finds the damage [any thread].
struct Interpreter::Fallback {
    std::filesystem::path dir;
    std::once_flag once;
    std::optional<Interpreter> sources;
    std::string why;
    std::atomic<bool> ready{false};

    const Interpreter& load(const std::string& damage) {
        std::call_once(once, [&] {
            sources.emplace(Interpreter::load(dir));
            why = fmt::format("interpreter snapshot damaged: {}; read from the sources in {} instead", music::clipText(damage, 600), dir.string());
            ready.store(true, std::memory_order_release);
        });
        return *sources;
    }
};

Interpretation Interpreter::interpret(std::string_view prompt) const {
    if (!fallback_) return interpretHere(prompt);
    Fallback& f = *fallback_;
    if (!f.ready.load(std::memory_order_acquire)) try {
            return interpretHere(prompt);
        } catch (const SnapshotError& e) {
            f.load(e.what());
        }
    auto meaning = f.sources->interpretHere(prompt);
    meaning.warning = f.why;
    return meaning;
}

Interpreter Interpreter::open(const std::filesystem::path& snapshot, const std::filesystem::path& sourceDir) {
    const auto file = MappedFile::open(snapshot, kMaxSnapshotBytes);
    const SnapshotReader r(file->bytes(), snapshot.string(), true, [&](std::span<const std::byte> range) { file->willRead(range); });
    if (!sourceDir.empty()) r.checkSources(sourceDir);
    auto it = fromReader(r, file, false);
    it.selfCheck(r);
    it.origin_ = snapshot.string();
    if (!sourceDir.empty()) {
        it.fallback_ = std::make_shared<Fallback>();
        it.fallback_->dir = sourceDir;
    }
    return it;
}

Interpreter Interpreter::loadFastest(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& snapshots,
                                     std::string& warning) {
    std::vector<std::string> why;
    for (const auto& s : snapshots) {
        std::error_code ec;
        if (!std::filesystem::exists(s, ec)) {
            why.push_back(fmt::format("no {}", s.string()));
            continue;
        }
        try {
            auto it = open(s, dir);
            warning.clear();
            return it;
        } catch (const SnapshotError& e) {
            why.push_back(e.what());
        }
    }
    warning = fmt::format("interpreter snapshot not used ({}); reading {} instead (slower)", fmt::join(why, "; "), dir.string());
    return load(dir);
}

Interpreter Interpreter::fromReader(const SnapshotReader& r, std::shared_ptr<const void> backing, bool checkEverything) {
    const auto bad = [&](const std::string& why) { return SnapshotError(fmt::format("{}: {}", r.what(), why)); };
    if (r.strings(SectionId::FieldSignature).size() != blendFields().size()) throw bad("made for another MusicConfig schema (stale)");
    const auto signature = fieldSignature();
    const auto stored = r.strings(SectionId::FieldSignature);
    for (std::size_t i = 0; i < signature.size(); ++i)
        if (stored[i] != signature[i]) throw bad(fmt::format("made for another MusicConfig schema (field {}; stale)", signature[i]));
    Interpreter it;
    it.backing_ = std::move(backing);
    it.vectors_ = WordVectors::view(r);
    const auto dim = static_cast<std::size_t>(it.vectors_.dimensions());
    const std::size_t nWords = it.vectors_.size();
    try {
        it.valence_ = StringTable(r.strings(SectionId::Valence), r.get<std::uint32_t>(SectionId::ValenceSlots), r.what() + ": valence");
    } catch (const SnapshotError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw SnapshotError(e.what());
    }
    it.valenceScores_ = r.get<float>(SectionId::ValenceScores, it.valence_.size());
    it.entryTexts_ = r.strings(SectionId::EntryTexts);
    const std::size_t n = it.entryTexts_.size();
    if (n == 0) throw bad("the library holds no entries");
    it.entryFields_ = r.strings(SectionId::EntryFields);
    if (it.entryFields_.size() != n) throw bad(fmt::format("{} entry texts but {} entry fields", n, it.entryFields_.size()));
    it.embeddings_ = r.get<float>(SectionId::Embeddings, n * dim);
    it.entryUnknown_ = r.get<float>(SectionId::EntryUnknown, n);
    it.common_ = r.get<float>(SectionId::Common, dim);
    it.libWords_ = r.get<std::uint32_t>(SectionId::LibWords);
    for (const auto w : it.libWords_)
        if (w >= nWords) throw bad(fmt::format("a library word names vector {} of {}", w, nWords));
    it.libWordVectors_ = r.get<float>(SectionId::LibWordVectors, it.libWords_.size() * dim);
    it.libWordSif_ = r.get<float>(SectionId::LibWordSif, it.libWords_.size());
    it.entryWords_ = r.get<std::uint32_t>(SectionId::EntryWords);
    it.entryWordStarts_ = r.get<std::uint32_t>(SectionId::EntryWordStarts, n + 1);
    if (it.entryWordStarts_.front() != 0 || it.entryWordStarts_.back() != it.entryWords_.size() ||
        !std::is_sorted(it.entryWordStarts_.begin(), it.entryWordStarts_.end()))
        throw bad("the entries' word lists do not tile their section");
    for (const auto u : it.entryWords_)
        if (u >= it.libWords_.size()) throw bad(fmt::format("an entry word names library word {} of {}", u, it.libWords_.size()));
    const auto cats = r.strings(SectionId::BlockCategories), names = r.strings(SectionId::BlockNames),
               fields = r.strings(SectionId::BlockFields);
    if (names.size() != cats.size() || fields.size() != cats.size()) throw bad("the blocks' names, categories and fields differ in number");
    try {
        for (std::size_t b = 0; b < cats.size(); ++b)
            it.blocks_.push_back({std::string(cats[b]), std::string(names[b]),
                                  fragmentFromCompact(std::string(fields[b]), fmt::format("{}: block {}", r.what(), b))});
        if (checkEverything) {
            for (std::size_t e = 0; e < n; ++e) it.entryFragment(e);
            it.checkContent(r);
        }
    } catch (const std::invalid_argument& e) {
        throw SnapshotError(music::clipText(e.what(), 1500));
    }
    const auto phrases = r.strings(SectionId::Phrases);
    const auto phraseBlocks = r.get<std::uint32_t>(SectionId::PhraseBlocks, phrases.size());
    for (std::size_t i = 0; i < phrases.size(); ++i) {
        auto tokens = split(phrases[i]);
        if (phraseBlocks[i] >= cats.size() || tokens.empty() || tokens.front().empty())
            throw bad(fmt::format("phrase {} is empty or names block {} of {}", i, phraseBlocks[i], cats.size()));
        it.phrases_.push_back({std::move(tokens), phraseBlocks[i]});
        it.phrasesByFirstWord_[it.phrases_.back().tokens.front()].push_back(i);
    }
    return it;
}

void Interpreter::checkContent(const SnapshotReader& r) const {
    // Text reaches notes, explanations and JSON: it must be UTF-8 (nlohmann checks as it writes).
    const auto utf8 = [&](auto count, auto at, const char* what) {
        for (std::size_t i = 0; i < count; ++i) try {
                (void)nlohmann::json(std::string(at(i))).dump();
            } catch (const nlohmann::json::exception&) {
                throw SnapshotError(fmt::format("{}: {} {} is not UTF-8 text", r.what(), what, i));
            }
    };
    utf8(vectors_.size(), [&](std::size_t i) { return vectors_.word(static_cast<std::uint32_t>(i)); }, "word");
    utf8(entryTexts_.size(), [&](std::size_t i) { return entryTexts_[i]; }, "library entry");
    utf8(entryFields_.size(), [&](std::size_t i) { return entryFields_[i]; }, "library entry's fields");
    utf8(blocks_.size(), [&](std::size_t i) { return blocks_[i].category + blocks_[i].name + fragmentToCompact(blocks_[i].set, true); }, "block");
    utf8(phrases_.size(), [&](std::size_t i) { return joinTokens(phrases_[i].tokens); }, "phrase");
    // Unit vectors, weights in 0..1, counts: a NaN or a huge value here would make every score
    // NaN and a blended label index meaningless.
    const auto within = [&](std::span<const float> xs, float lo, float hi, const char* what) {
        for (const float x : xs)
            if (!(x >= lo && x <= hi)) throw SnapshotError(fmt::format("{}: {} holds {} (allowed {} to {})", r.what(), what, x, lo, hi));
    };
    within(embeddings_, -1.001f, 1.001f, "an embedding");
    within(common_, -1.001f, 1.001f, "the common direction");
    within(libWordVectors_, -1.001f, 1.001f, "a library word vector");
    within(libWordSif_, 0.0f, 1.0f, "a word weight");
    within(entryUnknown_, 0.0f, 1e6f, "an unknown-word count");
    within(valenceScores_, -4.0f, 4.0f, "a valence score");
}

Fragment Interpreter::entryFragment(std::size_t e) const {
    return fragmentFromCompact(std::string(entryFields_[e]), fmt::format("library entry {}", e));
}

void Interpreter::selfCheck(const SnapshotReader& r) const {
    const auto dim = static_cast<std::size_t>(vectors_.dimensions());
    const std::size_t n = entryTexts_.size(), step = std::max<std::size_t>(1, n / 16);
    for (std::size_t e = 0; e < n; e += step) {
        float unknown = 0;
        const auto words = alignmentWords(vectors_, entryTexts_[e], unknown);
        const auto stored = entryWords(e);
        bool same = words.size() == stored.size() && unknown == entryUnknown_[e];
        for (std::size_t i = 0; same && i < words.size(); ++i) same = libWords_[stored[i]] == words[i];
        auto v = entryEmbedding(vectors_, entryTexts_[e]);
        removeCommon(v, common_);
        same = same && std::equal(v.begin(), v.end(), embeddings_.begin() + static_cast<std::ptrdiff_t>(e * dim));
        if (!same)
            throw SnapshotError(fmt::format("{}: entry {} ('{}') reads differently with this build's code (stale: rebuild it)",
                                            r.what(), e, music::clipText(std::string(entryTexts_[e]), 60)));
    }
}

}  // namespace soundstar::interpret

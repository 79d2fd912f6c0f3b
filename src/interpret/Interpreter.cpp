#include "interpret/Interpreter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>

#include "interpret/Draft.h"
#include "interpret/Text.h"
#include "interpret/Words.h"
#include "music/Theory.h"

namespace soundstar::interpret {
namespace {

using Json = nlohmann::json;

// The genre and mood names a prompt may say, longest first (Interpreter::load builds them).
// "my house", "the rock": a single-word genre after one of these is a noun.
bool genreAsNoun(const std::string& before) {
    return in(before, {"a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "coffee", "haunted",
                       "tree", "old", "big", "country", "opera", "full", "green", "on", "summer", "beach"});
}

}  // namespace

Interpreter Interpreter::load(const std::filesystem::path& dir) {
    Interpreter it;
    it.vectors_ = WordVectors::load(dir / "words.bin");
    it.blocks_ = loadBlocks(dir / "blocks.json");
    it.entries_ = loadLibrary(dir / "library.tsv");
    if (it.entries_.empty()) throw std::runtime_error(fmt::format("{} holds no entries", (dir / "library.tsv").string()));
    {
        std::ifstream in(dir / "valence.tsv");
        if (!in) throw std::runtime_error(fmt::format("cannot read the valence lexicon {}", (dir / "valence.tsv").string()));
        std::string word;
        float v = 0;
        while (in >> word >> v) it.valence_.emplace(word, v);
    }
    // Block names for explicit matching; a name used by two categories ("jungle": a genre and a
    // place) is ambiguous and left to similarity.
    std::map<std::vector<std::string>, std::set<std::string>> categoriesOf;
    std::vector<Phrase> all;
    for (std::size_t b = 0; b < it.blocks_.blocks.size(); ++b)
        for (const auto& name : it.blocks_.blocks[b].names) {
            auto t = tokenize(name);
            if (!t.empty() && in(t[0], {"a", "an", "the"})) t.erase(t.begin());
            if (t.empty()) continue;
            categoriesOf[t].insert(it.blocks_.blocks[b].category);
            all.push_back({t, b});
        }
    for (auto& p : all)
        if (categoriesOf[p.tokens].size() == 1) it.phrases_.push_back(std::move(p));
    std::stable_sort(it.phrases_.begin(), it.phrases_.end(),
                     [](const Phrase& a, const Phrase& b) { return a.tokens.size() > b.tokens.size(); });
    for (std::size_t i = 0; i < it.phrases_.size(); ++i) it.phrasesByFirstWord_[it.phrases_[i].tokens.front()].push_back(i);

    // The library's own vocabulary, for word alignment.
    {
        const auto dim = static_cast<std::size_t>(it.vectors_.dimensions());
        std::unordered_map<std::uint32_t, std::uint32_t> local;
        it.entryWords_.resize(it.entries_.size());
        it.entryUnknown_.assign(it.entries_.size(), 0.0f);
        for (std::size_t e = 0; e < it.entries_.size(); ++e)
            for (const auto& t : tokenize(it.entries_[e].text)) {
                const auto idx = it.vectors_.find(t);
                if (!idx && !isStopword(t)) it.entryUnknown_[e] += 1.0f;  // unmatched: the entry means more than we see
                if (!idx || isStopword(t) || it.vectors_.sifWeight(*idx) < 0.2f) continue;  // "a", "the", "at", "in"
                auto [pos, fresh] = local.emplace(*idx, static_cast<std::uint32_t>(it.libWords_.size()));
                if (fresh) it.libWords_.push_back(*idx);
                it.entryWords_[e].push_back(pos->second);
            }
        it.libWordVectors_.assign(it.libWords_.size() * dim, 0.0f);
        for (std::size_t w = 0; w < it.libWords_.size(); ++w) {
            std::span<float> v(&it.libWordVectors_[w * dim], dim);
            it.vectors_.accumulate(it.libWords_[w], 1.0f, v);
            float norm = 0;
            for (float x : v) norm += x * x;
            for (float& x : v) x /= std::sqrt(norm);
            it.libWordSif_.push_back(it.vectors_.sifWeight(it.libWords_[w]));
        }
    }
    // Embed the library; remove the direction every entry shares (SIF's common component).
    const auto dim = static_cast<std::size_t>(it.vectors_.dimensions());
    const std::size_t n = it.entries_.size();
    it.embeddings_.assign(n * dim, 0.0f);
    std::vector<float> v(dim);
    for (std::size_t i = 0; i < n; ++i) {
        const auto tokens = tokenize(it.entries_[i].text);
        it.embed(tokens, std::vector<bool>(tokens.size(), false), v);
        std::copy(v.begin(), v.end(), it.embeddings_.begin() + static_cast<std::ptrdiff_t>(i * dim));
    }
    it.common_.assign(dim, 1.0f / std::sqrt(static_cast<float>(dim)));
    std::vector<float> next(dim);
    for (int iter = 0; iter < 20; ++iter) {  // power iteration on E^T E
        std::fill(next.begin(), next.end(), 0.0f);
        for (std::size_t i = 0; i < n; ++i) {
            const float* e = &it.embeddings_[i * dim];
            float p = 0;
            for (std::size_t d = 0; d < dim; ++d) p += e[d] * it.common_[d];
            for (std::size_t d = 0; d < dim; ++d) next[d] += p * e[d];
        }
        float norm = 0;
        for (float x : next) norm += x * x;
        norm = std::sqrt(norm);
        if (norm <= 0) break;
        for (std::size_t d = 0; d < dim; ++d) it.common_[d] = next[d] / norm;
    }
    for (std::size_t i = 0; i < n; ++i) {
        float* e = &it.embeddings_[i * dim];
        float p = 0, norm = 0;
        for (std::size_t d = 0; d < dim; ++d) p += e[d] * it.common_[d];
        for (std::size_t d = 0; d < dim; ++d) {
            e[d] -= p * it.common_[d];
            norm += e[d] * e[d];
        }
        norm = std::sqrt(norm);
        if (norm > 0)
            for (std::size_t d = 0; d < dim; ++d) e[d] /= norm;
    }
    return it;
}

bool Interpreter::embed(const std::vector<std::string>& tokens, const std::vector<bool>& skip, std::vector<float>& out) const {
    out.assign(static_cast<std::size_t>(vectors_.dimensions()), 0.0f);
    bool any = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (skip[i]) continue;
        if (const auto idx = vectors_.find(tokens[i])) {
            vectors_.accumulate(*idx, vectors_.sifWeight(*idx), out);
            any = true;
        }
    }
    if (!common_.empty()) {
        float p = 0;
        for (std::size_t d = 0; d < out.size(); ++d) p += out[d] * common_[d];
        for (std::size_t d = 0; d < out.size(); ++d) out[d] -= p * common_[d];
    }
    float norm = 0;
    for (float x : out) norm += x * x;
    norm = std::sqrt(norm);
    if (norm > 0)
        for (float& x : out) x /= norm;
    return any && norm > 0;
}

void Interpreter::readNames(Draft& d) const {
    static const std::vector<std::size_t> kNoPhrases;
    std::vector<std::pair<std::size_t, bool>> hits;  // block, negated
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto f = phrasesByFirstWord_.find(d.tokens[i]);
        for (const std::size_t pi : f == phrasesByFirstWord_.end() ? kNoPhrases : f->second) {
            const Phrase& p = phrases_[pi];
            const auto& cat = blocks_.blocks[p.block].category;
            if ((cat != "genre" && cat != "mood") || i + p.tokens.size() > d.size()) continue;
            bool match = true;
            for (std::size_t t = 0; t < p.tokens.size() && match; ++t) match = !d.consumed[i + t] && d.tokens[i + t] == p.tokens[t];
            if (!match || (cat == "genre" && p.tokens.size() == 1 && genreAsNoun(d.prev(i)))) continue;
            for (std::size_t t = 0; t < p.tokens.size(); ++t) d.consumed[i + t] = true;
            hits.emplace_back(p.block, d.negated[i]);
            if (d.negated[i]) d.note(fmt::format("'not {}': that {} is avoided, not chosen", joinTokens(p.tokens), cat));
            break;
        }
    }
    // The genre first, then the mood colours it (mode, brightness, melody), leaving rhythm and
    // layers to the genre and the scene.
    for (const std::string cat : {"genre", "mood"}) {
        std::vector<std::pair<const Fragment*, double>> parts;
        std::vector<std::string> said;
        for (const auto& [b, neg] : hits)
            if (!neg && blocks_.blocks[b].category == cat) {
                parts.emplace_back(&blocks_.blocks[b].set, 1.0);
                if (std::find(said.begin(), said.end(), blocks_.blocks[b].names[0]) == said.end()) said.push_back(blocks_.blocks[b].names[0]);
            }
        if (parts.empty()) continue;
        const std::string why = fmt::format("{} word{} '{}'", cat, said.size() > 1 ? "s" : "", fmt::join(said, "', '"));
        auto fields = Json::parse(fragmentToJson(blend(parts, 0.0)));
        if (cat == "mood")
            for (const char* f : {"rhythm", "density", "accent", "space", "bass", "texture", "instrumentation"}) fields.erase(f);
        std::vector<std::string> kept;
        for (const auto& [field, value] : fields.items())
            if (!d.set(field, value, why, Source::Name)) kept.push_back(field);
        d.note(fmt::format("{} -> {}{}", why, fields.dump(), kept.empty() ? "" : fmt::format(" (the prompt's own {} kept)", fmt::join(kept, ", "))));
        d.result.understood = true;
    }
}

void finish(std::string_view prompt, Draft& d) {
    const std::uint64_t hash = textHash(prompt);
    if (d.sourceOf("root") == Source::Default) {
        d.config["root"] = std::string(music::pitchClassName(static_cast<int>((hash >> 32) % 12)));
        d.result.decidedBy["root"] = "the prompt's hash (no key named)";
    }
    d.config["seed"] = hash & 0xFFFFFFFFull;
    auto& r = d.result;
    for (const auto& [field, source] : d.sources)
        if (source >= kExplicit) r.explicitFields.insert(field);
    if (!r.understood) {
        d.note(prompt.find_first_not_of(" \t\r\n") == std::string_view::npos
                   ? "empty prompt: a balanced default"
                   : fmt::format("nothing in the prompt was understood{}; a balanced default",
                                 r.unknownWords.empty() ? "" : fmt::format(" (unknown words: {})", fmt::join(r.unknownWords, ", "))));
    } else if (!r.unknownWords.empty()) {
        d.note(fmt::format("words not known: {}", fmt::join(r.unknownWords, ", ")));
    }
    try {
        r.config = music::parseMusicConfig(d.config.dump(), "interpreter");
    } catch (const std::invalid_argument& e) {
        // Cannot happen with valid data files; if it does, say so and keep the user's render going.
        d.note(fmt::format("internal: the interpreted config was invalid ({}); using the default", e.what()));
        r.config = music::MusicConfig{};
        r.config.seed = hash & 0xFFFFFFFFull;
    }
}

Interpretation Interpreter::interpret(std::string_view prompt) const {
    Draft d;
    readClauses(prompt, d);
    readStatedValues(d);  // first, so "130" or "F#" never reach the vectors
    blendNeighbours(d);
    readNames(d);
    readScaleWords(d);
    readInstruments(d);
    readFeelings(valence_, d);
    settleTempo(d);
    finish(prompt, d);
    return std::move(d.result);
}

}  // namespace soundstar::interpret

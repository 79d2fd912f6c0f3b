// The similarity blend: the prompt's meaning against every described configuration in the
// library, two ways (the cosine of SIF-weighted mean vectors, and a BERTScore-like word
// alignment), and the nearest neighbours' configs blended by a softmax of the score. What it
// sets is the weakest source: every word, name or stated value overrides it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "interpret/Draft.h"
#include "interpret/Interpreter.h"
#include "interpret/Words.h"

namespace soundstar::interpret {
namespace {

constexpr std::size_t kNeighbours = 12;
constexpr float kTemperature = 0.04f;
// A genre (and with it a style profile that decides tempo, groove and layers) comes from
// neighbours only on strong evidence: several of them agree, carrying most of the weight.
constexpr double kGenreShare = 0.75;
constexpr int kGenreVoters = 3;
constexpr double kGenreVoterWeight = 0.05;

/// Tokens the vectors should not see (stated values, negated words, numbers); counts the known
/// words and names the first unknown ones.
std::vector<bool> similaritySkip(const WordVectors& vectors, Draft& d) {
    std::vector<bool> skip(d.size(), false);
    auto& unknown = d.result.unknownWords;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto& t = d.tokens[i];
        skip[i] = d.consumed[i] || d.negated[i] || isNegator(t) || number(t).has_value();
        if (skip[i]) continue;
        if (vectors.find(t))
            ++d.result.knownWords;
        else if (!isStopword(t) && unknown.size() < 8 &&
                 std::find(unknown.begin(), unknown.end(), t) == unknown.end())
            unknown.push_back(t);
    }
    return skip;
}

/// The blended genre, if the neighbours that carry it are several and most of the weight.
bool strongGenre(const std::vector<std::pair<const Fragment*, double>>& parts, const std::string& genre) {
    double share = 0;
    int voters = 0;
    for (const auto& [frag, w] : parts)
        for (const auto& v : *frag)
            if (blendFields()[static_cast<std::size_t>(v.field)].name == "genre" && v.text == genre) {
                share += w;
                voters += w >= kGenreVoterWeight ? 1 : 0;
            }
    return share >= kGenreShare && voters >= kGenreVoters;
}

}  // namespace

std::vector<Interpreter::PromptWord> Interpreter::promptWords(const Draft& d,
                                                              const std::vector<bool>& skip) const {
    std::vector<PromptWord> words;
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (skip[i]) continue;
        const auto idx = vectors_.find(d.tokens[i]);
        if (!idx || isStopword(d.tokens[i]) || vectors_.sifWeight(*idx) < 0.2f) continue;
        if (std::none_of(words.begin(), words.end(), [&](const auto& w) { return w.word == *idx; }))
            words.push_back({vectors_.sifWeight(*idx), *idx});
    }
    std::sort(words.begin(), words.end(),
              [](const auto& a, const auto& b) { return a.sif != b.sif ? a.sif > b.sif : a.word > b.word; });
    if (words.size() > 64) words.resize(64);  // the 64 rarest of a long prompt
    return words;
}

std::vector<float> Interpreter::wordMatches(const std::vector<PromptWord>& words) const {
    const auto dim = static_cast<std::size_t>(vectors_.dimensions());
    const std::size_t V = libWords_.size();
    std::vector<float> match(words.size() * V);
    std::vector<float> wv(dim);
    for (std::size_t p = 0; p < words.size(); ++p) {
        std::fill(wv.begin(), wv.end(), 0.0f);
        vectors_.accumulate(words[p].word, 1.0f, wv);
        float norm = 0;
        for (float x : wv) norm += x * x;
        norm = std::sqrt(norm);
        for (std::size_t u = 0; u < V; ++u) {
            const float* lv = &libWordVectors_[u * dim];
            float c = 0;
            for (std::size_t k = 0; k < dim; ++k) c += lv[k] * wv[k];
            // A word without a direction (a zero or vanishing vector) matches only itself.
            match[p * V + u] = libWords_[u] == words[p].word ? 1.0f
                               : norm > 0                      ? std::max(0.0f, (c / norm - 0.25f) / 0.75f)
                                                               : 0.0f;
        }
    }
    return match;
}

void Interpreter::noteNearestWords(const std::vector<PromptWord>& words, const std::vector<float>& match,
                                   Draft& d) const {
    const std::size_t V = libWords_.size();
    std::vector<std::string> said;
    for (std::size_t p = 0; p < words.size() && p < 12; ++p) {
        std::vector<std::pair<float, std::size_t>> top;
        for (std::size_t u = 0; u < V; ++u) top.emplace_back(match[p * V + u], u);
        const std::size_t k = std::min<std::size_t>(3, V);
        std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(k), top.end(),
                          std::greater<>());
        std::vector<std::string> near;
        for (std::size_t t = 0; t < k; ++t)
            if (top[t].first > 0)
                near.push_back(
                    fmt::format("{} {:.2f}", vectors_.word(libWords_[top[t].second]), top[t].first));
        said.push_back(
            fmt::format("{} ~ {}", vectors_.word(words[p].word),
                        near.empty() ? "nothing close" : fmt::format("{}", fmt::join(near, ", "))));
    }
    if (!said.empty())
        d.note(fmt::format("words and their nearest library words: {}", fmt::join(said, "; ")));
}

float Interpreter::alignment(std::size_t e, const std::vector<PromptWord>& words,
                             const std::vector<float>& match, std::vector<float>& best) const {
    if (words.empty() || entryWords(e).empty()) return 0.0f;
    const std::size_t V = libWords_.size();
    std::fill(best.begin(), best.end(), 0.0f);
    float back = 0, entrySif = entryUnknown_[e];
    for (const auto u : entryWords(e)) {
        float m = 0;
        for (std::size_t p = 0; p < words.size(); ++p) {
            const float x = match[p * V + u];
            m = std::max(m, x);
            best[p] = std::max(best[p], x);
        }
        back += libWordSif_[u] * m;
        entrySif += libWordSif_[u];
    }
    float cover = 0, promptSif = 0;
    for (std::size_t p = 0; p < words.size(); ++p) {
        cover += words[p].sif * best[p];
        promptSif += words[p].sif;
    }
    cover /= promptSif;
    back /= entrySif;
    return cover + back > 0 ? 2 * cover * back / (cover + back) : 0.0f;  // F1 of the two directions
}

std::vector<std::pair<float, std::size_t>> Interpreter::scoreEntries(Draft& d,
                                                                     const std::vector<bool>& skip) const {
    std::vector<float> q;
    if (!embed(d.tokens, skip, q)) return {};
    const auto words = promptWords(d, skip);
    const auto match = wordMatches(words);
    noteNearestWords(words, match, d);
    std::vector<float> best(words.size());
    std::vector<std::pair<float, std::size_t>> sims(entryTexts_.size());
    for (std::size_t e = 0; e < entryTexts_.size(); ++e) {
        const float* v = &embeddings_[e * q.size()];
        float s = 0;
        for (std::size_t k = 0; k < q.size(); ++k) s += v[k] * q[k];
        sims[e] = {0.4f * s + 0.6f * alignment(e, words, match, best), e};
    }
    return sims;
}

void Interpreter::blendNeighbours(Draft& d) const {
    auto sims = scoreEntries(d, similaritySkip(vectors_, d));
    if (sims.empty()) return;
    auto& r = d.result;
    const std::size_t k = std::min(kNeighbours, sims.size());
    std::partial_sort(sims.begin(), sims.begin() + static_cast<std::ptrdiff_t>(k), sims.end(),
                      std::greater<>());
    std::vector<std::pair<const Fragment*, double>> parts;
    std::vector<Fragment> fragments(k);  // the neighbours' fields, parsed now: 12 of thousands
    double total = 0;
    for (std::size_t i = 0; i < k; ++i) total += std::exp((sims[i].first - sims[0].first) / kTemperature);
    for (std::size_t i = 0; i < k; ++i) {
        const double w = std::exp((sims[i].first - sims[0].first) / kTemperature) / total;
        fragments[i] = entryFragment(sims[i].second);
        parts.emplace_back(&fragments[i], w);
        r.neighbours.push_back({std::string(entryTexts_[sims[i].second]), sims[i].first, static_cast<float>(w)});
    }
    auto blended = nlohmann::json::parse(fragmentToJson(blend(parts, 0.3)));
    // A tempo number only from stated or named tempos; otherwise the tempo label decides.
    blended.erase("bpm");
    if (blended.contains("genre") && !strongGenre(parts, blended["genre"])) {
        d.note(fmt::format("genre {} left out: only some neighbours suggest it", blended["genre"].dump()));
        blended.erase("genre");
    }
    for (const auto& [field, value] : blended.items())
        d.set(field, value, "similar library entries", Source::Neighbours);
    r.understood = true;
    std::vector<std::string> s;
    for (std::size_t i = 0; i < std::min<std::size_t>(5, r.neighbours.size()); ++i)
        s.push_back(fmt::format("'{}' ({:.2f}, weight {:.2f})", r.neighbours[i].text,
                                r.neighbours[i].similarity, r.neighbours[i].weight));
    d.note(fmt::format("nearest described configurations: {}", fmt::join(s, "; ")));
}

}  // namespace soundstar::interpret

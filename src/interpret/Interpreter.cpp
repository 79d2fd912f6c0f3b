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

bool Interpreter::embedWith(const WordVectors& vectors, std::span<const float> common, const std::vector<std::string>& tokens,
                            const std::vector<bool>& skip, std::vector<float>& out) {
    out.assign(static_cast<std::size_t>(vectors.dimensions()), 0.0f);
    bool any = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (skip[i]) continue;
        if (const auto idx = vectors.find(tokens[i])) {
            vectors.accumulate(*idx, vectors.sifWeight(*idx), out);
            any = true;
        }
    }
    if (!common.empty()) {
        float p = 0;
        for (std::size_t d = 0; d < out.size(); ++d) p += out[d] * common[d];
        for (std::size_t d = 0; d < out.size(); ++d) out[d] -= p * common[d];
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
            const auto& cat = blocks_[p.block].category;
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
            if (!neg && blocks_[b].category == cat) {
                parts.emplace_back(&blocks_[b].set, 1.0);
                if (std::find(said.begin(), said.end(), blocks_[b].name) == said.end()) said.push_back(blocks_[b].name);
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

Interpretation Interpreter::interpretHere(std::string_view prompt) const {
    Draft d;
    readClauses(prompt, d);
    readStatedValues(d);  // first, so "130" or "F#" never reach the vectors
    blendNeighbours(d);
    readNames(d);
    readScaleWords(d);
    readInstruments(d);
    readFeelings([this](const std::string& w) -> std::optional<float> {
        if (const auto i = valence_.find(w)) return valenceScores_[*i];
        return std::nullopt;
    }, d);
    settleTempo(d);
    finish(prompt, d);
    return std::move(d.result);
}

}  // namespace soundstar::interpret

#pragma once
// The embedded interpreter: any text to a fitting MusicConfig, offline, in under a millisecond.
// interpret() runs named passes over a Draft (Draft.h), in this order:
// 1. Clauses and negation: tokens, clauses split at punctuation, what each "no"/"without" reaches.
// 2. Stated values: "130 bpm", "in F# minor", "key of Bb", "dorian", "harmonic minor".
// 3. Similarity blend: every described configuration in the library (data/interpret/) is scored
//    against the prompt two ways: the cosine of SIF-weighted mean GloVe vectors (common component
//    removed), and a word-alignment score (BERTScore-like, with static vectors). The nearest
//    neighbours' configs are blended by a softmax of the combined score; a genre only when
//    several neighbours agree on it.
// 4. Genre and mood names ("deep house", "melancholic"): their blocks' fields.
// 5. Scale words with intensifiers and comparatives ("very dark", "a bit faster", "darker").
// 6. Instruments ("piano", "808", "solo cello") and negations ("no drums", "without bass").
// 7. Valence (VADER and AFINN lexicons) and arousal words steer mode, brightness, tempo, density.
// 8. Tempo settlement: bpm and the tempo label agree; then root, seed and the explanation.
// Every field remembers the source that decided it (neighbours < valence/arousal < names <
// words < stated values) and a weaker source never overwrites a stronger one: explicit words
// win. Every decision is recorded for --explain. Any input (empty, emoji, 10,000 characters,
// other languages) gives a valid config; when nothing is understood a note says so.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "interpret/Library.h"
#include "interpret/Snapshot.h"
#include "interpret/WordVectors.h"
#include "music/MusicConfig.h"

namespace soundstar::interpret {

struct Draft;  // the passes' working state (Draft.h)

struct Neighbour {
    std::string text;
    float similarity = 0;  // cosine, -1..1
    float weight = 0;      // share in the blend, 0..1
};

struct Interpretation {
    music::MusicConfig config;
    std::vector<Neighbour> neighbours;            // the blended library entries, nearest first
    std::vector<std::string> notes;               // what decided what, in order
    std::map<std::string, std::string> decidedBy;  // field -> why it has its value
    std::set<std::string> explicitFields;         // fields the prompt's own words decided: a mood or profile keeps them
    std::vector<std::string> unknownWords;        // words the vectors do not know (first few)
    std::size_t knownWords = 0;
    double valence = 0;   // VADER-style compound, -1..1
    double arousal = 0;   // -1 calm .. 1 excited
    bool understood = false;
    /// Set when a mapped snapshot proved damaged as this prompt read it, and the sources were
    /// read instead: "interpreter snapshot damaged: " and what was wrong, for the user (the
    /// answer itself is the sources' own).
    std::string warning;
};

class Interpreter {
public:
    /// Loads words.bin, valence.tsv, blocks.json and library.tsv from `dir` (data/interpret) and
    /// computes the library's embeddings: some 40 ms. Throws std::runtime_error /
    /// std::invalid_argument naming the file and the problem.
    static Interpreter load(const std::filesystem::path& dir);
    /// Maps a snapshot (Snapshot.h) written by buildSnapshot: about a millisecond. When
    /// `sourceDir` is not empty, the snapshot must have been made from the sources there, and a
    /// word-vector row found damaged when a prompt reads it makes that prompt, and every one
    /// after it, be read from those sources instead (load(), once; Interpretation::warning says
    /// so). Throws SnapshotError naming the file and why it cannot be used.
    static Interpreter open(const std::filesystem::path& snapshot, const std::filesystem::path& sourceDir);
    /// A snapshot held in memory. `verifyChecksum` false (the fuzzer) checks every section's
    /// content instead, so any bytes give a usable interpreter or a SnapshotError.
    static Interpreter fromBytes(std::vector<std::byte> bytes, bool verifyChecksum);
    /// The first of `snapshots` that opens and matches the sources in `dir`, else load(dir);
    /// `warning` then says why no snapshot was used (empty when one was).
    static Interpreter loadFastest(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& snapshots,
                                   std::string& warning);
    /// The snapshot of the sources in `dir` (tools/build_interpreter_data writes it).
    static std::vector<std::byte> buildSnapshot(const std::filesystem::path& dir);

    /// [any thread] Throws SnapshotError only for a snapshot opened without its sources (or
    /// from bytes) whose word-vector rows prove damaged as the prompt reads them; with sources,
    /// std::runtime_error when those cannot be read either.
    Interpretation interpret(std::string_view prompt) const;
    /// The SIF-weighted mean of the tokens' vectors, `common` removed, at unit length; false
    /// when no token is known.
    static bool embedWith(const WordVectors& vectors, std::span<const float> common, const std::vector<std::string>& tokens,
                          const std::vector<bool>& skip, std::vector<float>& out);

    std::size_t vocabularySize() const { return vectors_.size(); }
    /// [any thread] Checks now what a mapped snapshot checks as it is read (its word vectors, a
    /// block at a time): `doctor` finds a damaged row before a prompt does. Throws SnapshotError.
    void checkAllData() const { vectors_.checkAll(); }
    std::size_t librarySize() const { return entryTexts_.size(); }
    /// Where the data came from: the snapshot file, or the sources' folder.
    const std::string& origin() const { return origin_; }

private:
    struct Phrase {
        std::vector<std::string> tokens;
        std::size_t block;
    };
    struct BlockInfo {
        std::string category, name;  // name: the first way to say it
        Fragment set;
    };
    Interpreter() = default;
    /// The views into a checked snapshot; `backing` keeps its bytes alive. `checkEverything`
    /// parses every entry's fields (for bytes whose checksum was not verified).
    static Interpreter fromReader(const SnapshotReader& r, std::shared_ptr<const void> backing, bool checkEverything);
    /// Recomputes a sample of entries' embeddings and word lists with this build's code and
    /// compares them bit for bit: a snapshot written by other code is stale.
    void selfCheck(const SnapshotReader& r) const;
    Fragment entryFragment(std::size_t e) const;
    /// Every float within its meaning's range, every text UTF-8 (for bytes whose checksum was
    /// not verified).
    void checkContent(const SnapshotReader& r) const;
    std::span<const std::uint32_t> entryWords(std::size_t e) const {
        return entryWords_.subspan(entryWordStarts_[e], entryWordStarts_[e + 1] - entryWordStarts_[e]);
    }

    /// The prompt read from this interpreter's own data (interpret() adds the fallback).
    Interpretation interpretHere(std::string_view prompt) const;
    struct Fallback;  // the sources a damaged snapshot falls back to (InterpreterData.cpp)
    std::shared_ptr<Fallback> fallback_;  // set by open() with a source folder

    std::shared_ptr<const void> backing_;  // the mapped file or the bytes in memory
    std::string origin_;
    WordVectors vectors_;
    StringList entryTexts_, entryFields_;  // fields in exact compact form, parsed when blended
    std::span<const float> embeddings_;  // entries x dim, unit length, common component removed
    std::span<const float> common_;      // the library's first principal direction
    StringTable valence_;
    std::span<const float> valenceScores_;
    std::vector<BlockInfo> blocks_;
    std::vector<Phrase> phrases_;  // every block name, longest first
    std::unordered_map<std::string, std::vector<std::size_t>> phrasesByFirstWord_;  // indices into phrases_, longest first
    // Word-level matching: the library's distinct words (unit vectors) and each entry's words.
    std::span<const std::uint32_t> libWords_;
    std::span<const float> libWordVectors_;  // libWords_ x dim
    std::span<const float> libWordSif_;
    std::span<const std::uint32_t> entryWordStarts_, entryWords_;  // entry e: entryWords_[starts[e]..starts[e+1]) index libWords_
    std::span<const float> entryUnknown_;                           // content words the vectors lack ("synthwave")

    bool embed(const std::vector<std::string>& tokens, const std::vector<bool>& skip, std::vector<float>& out) const {
        return embedWith(vectors_, common_, tokens, skip, out);
    }
    // The passes that need the library (the others are in Draft.h).
    /// Similarity: the nearest library entries' configs, blended (Source::Neighbours).
    void blendNeighbours(Draft& d) const;
    /// Genre and mood names ("deep house", "melancholic"): their blocks' fields (Source::Name).
    void readNames(Draft& d) const;
    /// Each entry's similarity to the prompt: 0.4 x vector cosine + 0.6 x word alignment.
    std::vector<std::pair<float, std::size_t>> scoreEntries(Draft& d, const std::vector<bool>& skip) const;
    struct PromptWord {
        float sif;
        std::uint32_t word;
    };
    /// The prompt's distinct content words, rarest first (at most 64).
    std::vector<PromptWord> promptWords(const Draft& d, const std::vector<bool>& skip) const;
    /// Prompt word x library word: the cosine, sharpened ((c - 0.25) / 0.75, 1 for the same word).
    std::vector<float> wordMatches(const std::vector<PromptWord>& words) const;
    void noteNearestWords(const std::vector<PromptWord>& words, const std::vector<float>& match, Draft& d) const;
    /// BERTScore-like F1 of entry e: each prompt word's best library word and back, SIF-weighted.
    float alignment(std::size_t e, const std::vector<PromptWord>& words, const std::vector<float>& match, std::vector<float>& best) const;
};

}  // namespace soundstar::interpret

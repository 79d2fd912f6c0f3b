#pragma once
// The interpreter's snapshot: everything Interpreter::load computes from data/interpret (word
// vectors with their index, the valence lexicon, the library's texts, fields, embeddings and
// word lists, the block names) in one binary file that is memory-mapped, not parsed: start-up in
// about a millisecond instead of some 40 ms. tools/build_interpreter_data writes it at build time
// (build/<preset>/data/interpret/interpreter.bin); an install puts it beside the sources.
//
// Layout (little-endian): a 128-byte Header, a table of SectionEntry, then the sections, each at
// a multiple of 64 bytes. A string list section is [u32 count][count + 1 u32 offsets][chars].
// The header carries a version, the file's size, an XXH3-64 checksum of everything after the
// header but the sections checked a block at a time, and the size, modification time and a
// content hash of each source file, so a snapshot of other data ("stale") is recognised.
// A section checked a block at a time (the word vectors: 55% of the file, of which a prompt
// reads a few rows) carries an XXH3-64 per 4 KiB block in a sums section, which the main
// checksum covers; a block is checked when it is first read (CheckedOnRead). Hashing the whole
// file at every start was the largest single item in a 1 s render's profile (14% of its CPU:
// its every page touched once; issue #13). Bad files are never trusted: every size, offset and index is
// checked before use, and any problem is a SnapshotError naming the file and the fault.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "interpret/StringTable.h"

namespace soundstar::interpret {

/// A snapshot that cannot be used (missing, damaged, stale, another version); the message says
/// which file and why.
struct SnapshotError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class SectionId : std::uint32_t {
    Meta = 1,         // u32: dimensions
    Words,            // strings
    WordSlots,        // u32 hash slots over Words
    WordRanks,        // u32 frequency rank per word
    WordScales,       // f32 per word
    WordVectors,      // i8, words x dimensions
    Valence,          // strings
    ValenceSlots,     // u32
    ValenceScores,    // f32 per valence word
    EntryTexts,       // strings: the library's descriptions
    EntryFields,      // strings: each entry's fields in exact compact form
    Embeddings,       // f32, entries x dimensions
    EntryUnknown,     // f32 per entry
    EntryWordStarts,  // u32, entries + 1
    EntryWords,       // u32 indices into LibWords
    Common,           // f32, dimensions
    LibWords,         // u32 word indices
    LibWordVectors,   // f32, lib words x dimensions
    LibWordSif,       // f32 per lib word
    BlockCategories,  // strings
    BlockNames,       // strings: each block's first name
    BlockFields,      // strings: exact compact form
    Phrases,          // strings: tokens joined by spaces, longest first
    PhraseBlocks,     // u32 block per phrase
    FieldSignature,   // strings: the blendable fields as this build knows them
    WordVectorSums,   // u64: XXH3-64 of each kCheckBlock bytes of WordVectors
};

/// The data files a snapshot is made from, in data/interpret.
inline constexpr const char* kSnapshotSources[] = {"words.bin", "valence.tsv", "blocks.json", "library.tsv"};
inline constexpr std::size_t kSnapshotSourceCount = std::size(kSnapshotSources);
inline constexpr std::uint32_t kSnapshotVersion = 2;
/// The block a section checked on read is checked in (the last one may be shorter).
inline constexpr std::size_t kCheckBlock = 4096;
/// Largest snapshot accepted (the shipped one is about 9 MB).
inline constexpr std::uint64_t kMaxSnapshotBytes = 1ull << 30;

struct SourceStamp {
    std::uint64_t bytes = 0;
    std::int64_t mtimeNs = 0;
};
struct SnapshotSourceInfo {
    SourceStamp stamps[kSnapshotSourceCount];
    std::uint64_t contentHash = 0;
};
/// Sizes and times of the sources in `dir` (contentHash too when asked: it reads every byte).
/// Throws SnapshotError when one is missing.
SnapshotSourceInfo stampSources(const std::filesystem::path& dir, bool withContentHash);

/// Collects sections and writes the file image.
class SnapshotWriter {
public:
    template <class T>
    void add(SectionId id, std::span<const T> data) {
        addBytes(id, {reinterpret_cast<const std::byte*>(data.data()), data.size_bytes()});
    }
    template <class T>
    void add(SectionId id, const std::vector<T>& data) {
        add(id, std::span<const T>(data));
    }
    /// A string list; `slotsId` (when the strings carry an index) receives the hash slots.
    void addStrings(SectionId id, const FlatStrings& s);
    /// A section checked a block at a time when read (CheckedOnRead), its sums in `sumsId`.
    void addCheckedOnRead(SectionId id, SectionId sumsId, std::span<const std::byte> bytes);
    std::vector<std::byte> finish(const SnapshotSourceInfo& sources) const;

private:
    void addBytes(SectionId id, std::span<const std::byte> bytes);
    struct Section {
        SectionId id;
        std::vector<std::byte> bytes;
        bool checkedOnRead = false;
    };
    std::vector<Section> sections_;
};

/// A section's bytes, each kCheckBlock-byte block checked against its XXH3-64 when first read
/// [any thread]: a block that matched is marked, for every copy, and not hashed again (two
/// threads reading it first at once may both hash it, to the same answer). Made without sums
/// (bytes already checked, or a file read with its checksums unchecked), it checks nothing.
class CheckedOnRead {
public:
    CheckedOnRead() = default;
    /// `what` names the section in errors, which give byte positions as `fileOffset` + offset.
    CheckedOnRead(std::span<const std::byte> bytes, std::span<const std::uint64_t> sums, std::string what, std::size_t fileOffset);

    std::span<const std::byte> bytes() const { return bytes_; }
    /// Checks the blocks that bytes [offset, offset + n) lie in. Throws SnapshotError naming the
    /// file, the section and the block when one does not match its sum.
    void check(std::size_t offset, std::size_t n) const {
        if (!sums_.empty() && n > 0) checkBlocks(offset / kCheckBlock, (offset + n - 1) / kCheckBlock);
    }
    void checkAll() const {
        if (!sums_.empty()) checkBlocks(0, sums_.size() - 1);
    }

private:
    void checkBlocks(std::size_t first, std::size_t last) const;
    std::span<const std::byte> bytes_;
    std::span<const std::uint64_t> sums_;
    std::shared_ptr<std::atomic<std::uint8_t>[]> checked_;  // per block: 1 once it matched
    std::shared_ptr<const std::string> what_;
    std::size_t fileOffset_ = 0;
};

/// Checks a snapshot's header and section table and hands out its sections as typed views.
/// The bytes must stay alive and 8-byte aligned while the reader and its views are used.
class SnapshotReader {
public:
    /// `what` names the file in errors. Throws SnapshotError. `willRead`, when given, is told
    /// each range of the file before the checksum reads it (a mapped file puts its pages in).
    SnapshotReader(std::span<const std::byte> bytes, std::string what, bool verifyChecksum,
                   const std::function<void(std::span<const std::byte>)>& willRead = {});

    /// The section as T, checking its size is a whole number of T (and `count`, when not -1).
    template <class T>
    std::span<const T> get(SectionId id, std::size_t count = static_cast<std::size_t>(-1)) const {
        const auto b = section(id, sizeof(T), count);
        return {reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T)};
    }
    StringList strings(SectionId id) const;
    /// [any thread] A section written with addCheckedOnRead, checked against its sums in
    /// `sumsId` as it is read (nothing is checked when the reader does not verify checksums);
    /// `name` names it in errors ("the word vectors").
    CheckedOnRead checkedOnRead(SectionId id, SectionId sumsId, std::string_view name) const;
    /// Throws SnapshotError when the sources in `dir` are not those the snapshot was made
    /// from: same sizes and times, or else (a copy, a fresh checkout) the same content.
    void checkSources(const std::filesystem::path& dir) const;
    const std::string& what() const { return what_; }

private:
    std::span<const std::byte> section(SectionId id, std::size_t elemSize, std::size_t count) const;
    struct Section {
        SectionId id;
        std::span<const std::byte> bytes;
        bool checkedOnRead;
    };
    const Section& find(SectionId id) const;
    std::span<const std::byte> bytes_;
    std::string what_;
    bool verify_;
    SnapshotSourceInfo sources_;
    std::vector<Section> sections_;
};

/// A file mapped read-only into memory (the whole of it), unmapped when the last copy goes.
class MappedFile {
public:
    /// Throws SnapshotError naming the file when it cannot be opened or mapped, or is larger
    /// than `maxBytes`.
    static std::shared_ptr<const MappedFile> open(const std::filesystem::path& file, std::uint64_t maxBytes);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
    /// [any thread] Puts the pages of `range` (within bytes()) in place in one call, ahead of
    /// reading them all; a hint (a kernel without MADV_POPULATE_READ faults them in as they are read).
    void willRead(std::span<const std::byte> range) const;

private:
    MappedFile() = default;
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace soundstar::interpret

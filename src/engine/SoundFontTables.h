#pragma once
// The tables of a SoundFont 2 file as they lie on disk [control]: where its INFO, sample-data and
// preset-data chunks are, and the nine preset-data tables checked for size. Shared by the subset
// builder (SoundFontSubset.cpp) and our own player (SoundFontPlayer.cpp). SoundFont 2.04 layout
// (RIFF "sfbk": LIST INFO, LIST sdta, LIST pdta with phdr, pbag, pmod, pgen, inst, ibag, imod,
// igen, shdr; each table ends in a terminal record): the SoundFont Technical Specification 2.04,
// sections 4 to 7.
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace soundstar::engine::sf2 {

inline constexpr std::size_t kPhdr = 38, kBag = 4, kMod = 10, kGen = 4, kInst = 22, kShdr = 46;  // record sizes
inline constexpr std::uint16_t kGenInstrument = 41, kGenSampleId = 53;

inline std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
inline std::uint32_t u32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0] | p[1] << 8 | p[2] << 16) | static_cast<std::uint32_t>(p[3]) << 24;
}
inline bool isTag(const std::uint8_t* p, const char* tag) { return std::memcmp(p, tag, 4) == 0; }

/// Throws std::runtime_error "SoundFont FILE is malformed: WHAT".
[[noreturn]] void malformed(const std::string& file, const std::string& what);

/// One table of the preset data: `count` records of `size` bytes, the last the terminal one.
struct Table {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0, count = 0;
    const std::uint8_t* at(std::size_t i) const { return data + i * size; }
};

/// The nine tables of a pdta chunk (pointing into `body`, which must outlive it), checked for
/// size; indices are checked where they are read.
struct PresetData {
    Table phdr{nullptr, kPhdr}, pbag{nullptr, kBag}, pmod{nullptr, kMod}, pgen{nullptr, kGen}, inst{nullptr, kInst},
        ibag{nullptr, kBag}, imod{nullptr, kMod}, igen{nullptr, kGen}, shdr{nullptr, kShdr};
    std::string file;

    PresetData(std::span<const std::uint8_t> body, std::string name);

    /// [begin, end) of the records a record's index field and its successor's delimit; `last`
    /// is the most `end` may be.
    std::pair<std::size_t, std::size_t> range(const Table& t, std::size_t i, std::size_t field, std::size_t last,
                                              const char* what) const;
    std::pair<std::size_t, std::size_t> presetBags(std::size_t p) const { return range(phdr, p, 24, pbag.count - 1, "preset zone"); }
    std::pair<std::size_t, std::size_t> instBags(std::size_t i) const { return range(inst, i, 20, ibag.count - 1, "instrument zone"); }
    std::pair<std::size_t, std::size_t> gens(const Table& bags, const Table& genTable, std::size_t bag) const {
        return range(bags, bag, 0, genTable.count, "generator");
    }
    std::pair<std::size_t, std::size_t> mods(const Table& bags, const Table& modTable, std::size_t bag) const {
        return range(bags, bag, 2, modTable.count, "modulator");
    }
    std::size_t instrumentOf(const std::uint8_t* gen) const;
    std::size_t sampleOf(const std::uint8_t* gen) const;
    /// The sample a stereo sample is linked to (none for mono and ROM samples, or a link out of range).
    std::optional<std::size_t> linkOf(std::size_t s) const;
};

/// Where a font's three top-level chunks lie; the INFO and pdta bytes read.
struct Layout {
    std::vector<std::uint8_t> info;  // the whole LIST INFO chunk, header and padding included
    std::uint64_t sampleAt = 0, sampleSize = 0;
    std::vector<std::uint8_t> presetData;  // the pdta chunk's body after its "pdta" tag
};

/// Reads `count` bytes at `at`; false past the end or on a read error.
using ReadAt = std::function<bool(std::uint64_t at, std::uint8_t* out, std::uint64_t count)>;

/// Reads from a whole file held in memory (which must outlive the reader).
ReadAt readFromMemory(std::span<const std::uint8_t> file);
/// Reads from an open file with pread (the descriptor must outlive the reader).
ReadAt readFromFile(int fd);

/// Finds the three chunks of a file of `fileSize` bytes; throws (malformed) naming what is wrong.
Layout readLayout(const ReadAt& read, std::uint64_t fileSize, const std::string& file);

}  // namespace soundstar::engine::sf2

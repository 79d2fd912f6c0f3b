#pragma once
// A SoundFont 2 file cut down to a few of its presets [control]. FluidSynth parses every preset,
// instrument, zone and generator of a font when it loads one (TimGM6mb: 39,000 generators, some
// 12 ms and thousands of small allocations), though an offline render plays one program. The
// subset is the same RIFF file with the original INFO and sample-data chunks (the samples are
// read from the original file when FluidSynth asks, never copied, at the same offsets) and a
// preset-data chunk holding only the chosen presets, their instruments and their samples'
// headers, renumbered. FluidSynth reads it through its file callbacks (SoundFontSynth.cpp).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace soundstar::engine {

/// A bank (0-127 melodic, 128 percussion) and program (0-127), as a SoundFont preset header has them.
struct SoundFontPresetId {
    int bank = 0;
    int program = 0;
};

/// The bytes of a subset file: `head` (RIFF header and the original INFO chunk), then the
/// original sample-data chunk read from `path`, then `tail` (the new preset-data chunk).
struct SoundFontSubset {
    std::string path;                  // the original file, whose sample data is read in place
    std::vector<std::uint8_t> head;    // subset bytes [0, head.size())
    std::uint64_t sampleChunkAt = 0;   // the "LIST sdta" chunk's offset in the original file
    std::uint64_t sampleChunkSize = 0; // its size in bytes, header and padding included
    std::vector<std::uint8_t> tail;    // the last bytes of the subset: "LIST pdta"

    std::uint64_t size() const { return head.size() + sampleChunkSize + tail.size(); }
    /// Copies `count` subset bytes from offset `at` into `out`, the sample data read from `fd`
    /// (the original file, opened for reading). False when [at, at + count) passes the end or
    /// the file cannot be read there.
    bool read(int fd, std::uint64_t at, std::uint8_t* out, std::uint64_t count) const;
};

/// The most bytes of preset data (the pdta chunk) read from a font: far above any General MIDI
/// font's (TimGM6mb 0.2 MB, FluidR3_GM 1.3 MB).
inline constexpr std::uint64_t kMaxSoundFontPresetDataBytes = 64u << 20;

/// Builds the subset of the SoundFont 2 at `path` that holds `presets` (those the font lacks are
/// left out). Throws std::runtime_error naming the file and what is malformed (a chunk missing or
/// past the end of the file, a record count or an index out of range, preset data over
/// kMaxSoundFontPresetDataBytes), and when the font has none of the presets.
SoundFontSubset makeSoundFontSubset(const std::string& path, std::span<const SoundFontPresetId> presets);

/// A preset as a font defines it, for comparing a font with its subset (tests and tools).
struct SoundFontPresetInfo {
    SoundFontPresetId id;
    std::string name;
    /// The preset's zones, generators and modulators in order, with each instrument reference
    /// replaced by the instrument's own (name, zones) and each sample reference by the sample's
    /// header (the stereo link by the linked sample's name): independent of numbering.
    std::vector<std::uint8_t> content;
};

/// The presets of a whole SoundFont 2 file held in memory, in file order; the same checks as
/// makeSoundFontSubset (`name` names the file in errors).
std::vector<SoundFontPresetInfo> readSoundFontPresets(std::span<const std::uint8_t> file, const std::string& name);

}  // namespace soundstar::engine

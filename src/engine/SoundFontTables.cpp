// The tables of a SoundFont 2 file (SoundFontTables.h).
#include "engine/SoundFontTables.h"

#include "engine/SoundFontSubset.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace soundstar::engine::sf2 {
namespace {
constexpr std::uint64_t kMaxInfoBytes = 1u << 20;
}  // namespace

void malformed(const std::string& file, const std::string& what) {
    throw std::runtime_error(fmt::format("SoundFont {} is malformed: {}", file, what));
}

PresetData::PresetData(std::span<const std::uint8_t> body, std::string name) : file(std::move(name)) {
    const std::pair<const char*, Table*> tables[] = {{"phdr", &phdr}, {"pbag", &pbag}, {"pmod", &pmod},
                                                     {"pgen", &pgen}, {"inst", &inst}, {"ibag", &ibag},
                                                     {"imod", &imod}, {"igen", &igen}, {"shdr", &shdr}};
    for (std::size_t at = 0; at + 8 <= body.size();) {
        const std::uint64_t size = u32(body.data() + at + 4);
        if (size > body.size() - at - 8) malformed(file, "a preset-data table runs past its chunk");
        for (auto& [tag, table] : tables)
            if (isTag(body.data() + at, tag)) {
                if (size % table->size != 0 || size < table->size)
                    malformed(file, fmt::format("its '{}' table is {} bytes, not a whole number of {}-byte records", tag, size, table->size));
                table->data = body.data() + at + 8;
                table->count = size / table->size;
            }
        at += 8 + size + (size & 1);
    }
    for (auto& [tag, table] : tables)
        if (!table->data) malformed(file, fmt::format("it has no '{}' table", tag));
}

std::pair<std::size_t, std::size_t> PresetData::range(const Table& t, std::size_t i, std::size_t field, std::size_t last,
                                          const char* what) const {
    if (i + 1 >= t.count) malformed(file, fmt::format("a {} list has no terminal record", what));
    const std::size_t begin = u16(t.at(i) + field), end = u16(t.at(i + 1) + field);
    if (begin > end || end > last) malformed(file, fmt::format("{} indices {}..{} are out of order or past {}", what, begin, end, last));
    return {begin, end};
}
std::size_t PresetData::instrumentOf(const std::uint8_t* gen) const {
    const std::size_t i = u16(gen + 2);
    if (i + 1 >= inst.count) malformed(file, fmt::format("a preset zone names instrument {} of {}", i, inst.count - 1));
    return i;
}
std::size_t PresetData::sampleOf(const std::uint8_t* gen) const {
    const std::size_t s = u16(gen + 2);
    if (s + 1 >= shdr.count) malformed(file, fmt::format("an instrument zone names sample {} of {}", s, shdr.count - 1));
    return s;
}
std::optional<std::size_t> PresetData::linkOf(std::size_t s) const {
    const std::uint16_t type = u16(shdr.at(s) + 44), link = u16(shdr.at(s) + 42);
    if ((type & 0x8000) || !(type & 0x000E) || link + 1u >= shdr.count) return std::nullopt;
    return link;
}

ReadAt readFromMemory(std::span<const std::uint8_t> file) {
    return [file](std::uint64_t at, std::uint8_t* out, std::uint64_t count) {
        if (at > file.size() || count > file.size() - at) return false;
        if (count > 0) std::memcpy(out, file.data() + at, count);
        return true;
    };
}

ReadAt readFromFile(int fd) {
    return [fd](std::uint64_t at, std::uint8_t* out, std::uint64_t count) {
        while (count > 0) {
            const ssize_t got = ::pread(fd, out, count, static_cast<off_t>(at));
            if (got <= 0) return false;
            at += static_cast<std::uint64_t>(got);
            out += got;
            count -= static_cast<std::uint64_t>(got);
        }
        return true;
    };
}

Layout readLayout(const ReadAt& read, std::uint64_t fileSize, const std::string& file) {
    std::uint8_t h[12];
    if (fileSize < 12 || !read(0, h, 12) || !isTag(h, "RIFF") || !isTag(h + 8, "sfbk"))
        malformed(file, "it does not start with a RIFF 'sfbk' header");
    const std::uint64_t end = std::min<std::uint64_t>(fileSize, 8 + static_cast<std::uint64_t>(u32(h + 4)));
    Layout l;
    bool haveInfo = false, haveSamples = false, havePresets = false;
    for (std::uint64_t at = 12; at + 12 <= end;) {
        std::uint8_t c[12];
        if (!read(at, c, 12)) malformed(file, "it cannot be read to its end");
        const std::uint64_t size = u32(c + 4), whole = 8 + size + (size & 1);
        if (size < 4 || at + 8 + size > end) malformed(file, fmt::format("a chunk at byte {} runs past the end of the file", at));
        if (isTag(c, "LIST") && isTag(c + 8, "INFO")) {
            if (whole > kMaxInfoBytes) malformed(file, fmt::format("its INFO chunk is over {} bytes", kMaxInfoBytes));
            l.info.resize(static_cast<std::size_t>(whole), 0);
            // as it is, with its pad byte (a zero if the file ends without one)
            if (!read(at, l.info.data(), std::min(whole, end - at))) malformed(file, "its INFO chunk cannot be read");
            haveInfo = true;
        } else if (isTag(c, "LIST") && isTag(c + 8, "sdta")) {
            l.sampleAt = at;
            l.sampleSize = std::min(whole, end - at);
            haveSamples = true;
        } else if (isTag(c, "LIST") && isTag(c + 8, "pdta")) {
            if (size - 4 > kMaxSoundFontPresetDataBytes)
                malformed(file, fmt::format("its preset data is over {} bytes", kMaxSoundFontPresetDataBytes));
            l.presetData.resize(static_cast<std::size_t>(size - 4));
            if (!read(at + 12, l.presetData.data(), size - 4)) malformed(file, "its preset data cannot be read");
            havePresets = true;
        }
        at += whole;
    }
    if (!haveInfo || !haveSamples || !havePresets) malformed(file, "it lacks one of the INFO, sdta and pdta chunks");
    return l;
}


}  // namespace soundstar::engine::sf2

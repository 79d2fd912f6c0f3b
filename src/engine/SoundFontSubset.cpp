// SoundFont 2.04 layout (RIFF "sfbk": LIST INFO, LIST sdta, LIST pdta with phdr, pbag, pmod, pgen,
// inst, ibag, imod, igen, shdr; each table ends in a terminal record): the SoundFont Technical
// Specification 2.04, sections 4 to 7.
#include "engine/SoundFontSubset.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

namespace soundstar::engine {
namespace {

constexpr std::size_t kPhdr = 38, kBag = 4, kMod = 10, kGen = 4, kInst = 22, kShdr = 46;  // record sizes
constexpr std::uint16_t kGenInstrument = 41, kGenSampleId = 53;
constexpr std::uint64_t kMaxInfoBytes = 1u << 20;

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t u32(const std::uint8_t* p) { return static_cast<std::uint32_t>(p[0] | p[1] << 8 | p[2] << 16) | static_cast<std::uint32_t>(p[3]) << 24; }
void put16(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
void append16(std::vector<std::uint8_t>& v, std::uint32_t x) {
    v.push_back(static_cast<std::uint8_t>(x));
    v.push_back(static_cast<std::uint8_t>(x >> 8));
}
void append32(std::vector<std::uint8_t>& v, std::uint64_t x) {
    for (int s = 0; s < 32; s += 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}
void appendTag(std::vector<std::uint8_t>& v, const char* tag) {
    // Byte by byte: GCC 12 under -fsanitize=thread -O2 reads a range insert into a fresh vector as
    // an overflow (-Wstringop-overflow, a false positive that -Werror made a build failure).
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(tag[i]));
}
bool isTag(const std::uint8_t* p, const char* tag) { return std::memcmp(p, tag, 4) == 0; }

[[noreturn]] void malformed(const std::string& file, const std::string& what) {
    throw std::runtime_error(fmt::format("SoundFont {} is malformed: {}", file, what));
}

/// One table of the preset data: `count` records of `size` bytes, the last the terminal one.
struct Table {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0, count = 0;
    const std::uint8_t* at(std::size_t i) const { return data + i * size; }
};

/// The nine tables of a pdta chunk, checked for size; indices are checked where they are read.
struct PresetData {
    Table phdr{nullptr, kPhdr}, pbag{nullptr, kBag}, pmod{nullptr, kMod}, pgen{nullptr, kGen}, inst{nullptr, kInst},
        ibag{nullptr, kBag}, imod{nullptr, kMod}, igen{nullptr, kGen}, shdr{nullptr, kShdr};
    std::string file;

    PresetData(std::span<const std::uint8_t> body, std::string name) : file(std::move(name)) {
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

    /// [begin, end) of the records a record's index field and its successor's delimit; `last`
    /// is the most `end` may be.
    std::pair<std::size_t, std::size_t> range(const Table& t, std::size_t i, std::size_t field, std::size_t last,
                                              const char* what) const {
        if (i + 1 >= t.count) malformed(file, fmt::format("a {} list has no terminal record", what));
        const std::size_t begin = u16(t.at(i) + field), end = u16(t.at(i + 1) + field);
        if (begin > end || end > last) malformed(file, fmt::format("{} indices {}..{} are out of order or past {}", what, begin, end, last));
        return {begin, end};
    }
    std::pair<std::size_t, std::size_t> presetBags(std::size_t p) const { return range(phdr, p, 24, pbag.count - 1, "preset zone"); }
    std::pair<std::size_t, std::size_t> instBags(std::size_t i) const { return range(inst, i, 20, ibag.count - 1, "instrument zone"); }
    std::size_t instrumentOf(const std::uint8_t* gen) const {
        const std::size_t i = u16(gen + 2);
        if (i + 1 >= inst.count) malformed(file, fmt::format("a preset zone names instrument {} of {}", i, inst.count - 1));
        return i;
    }
    std::size_t sampleOf(const std::uint8_t* gen) const {
        const std::size_t s = u16(gen + 2);
        if (s + 1 >= shdr.count) malformed(file, fmt::format("an instrument zone names sample {} of {}", s, shdr.count - 1));
        return s;
    }
    /// The sample a stereo sample is linked to (none for mono and ROM samples, or a link out of range).
    std::optional<std::size_t> linkOf(std::size_t s) const {
        const std::uint16_t type = u16(shdr.at(s) + 44), link = u16(shdr.at(s) + 42);
        if ((type & 0x8000) || !(type & 0x000E) || link + 1u >= shdr.count) return std::nullopt;
        return link;
    }
};

/// Where a font's three top-level chunks lie; the INFO and pdta bytes read.
struct Layout {
    std::vector<std::uint8_t> info;  // the whole LIST INFO chunk, header and padding included
    std::uint64_t sampleAt = 0, sampleSize = 0;
    std::vector<std::uint8_t> presetData;  // the pdta chunk's body after its "pdta" tag
};

using ReadAt = std::function<bool(std::uint64_t at, std::uint8_t* out, std::uint64_t count)>;

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

/// Appends a table as a chunk: its tag, size and records.
void appendChunk(std::vector<std::uint8_t>& out, const char* tag, const std::vector<std::uint8_t>& records) {
    appendTag(out, tag);
    append32(out, records.size());
    out.insert(out.end(), records.begin(), records.end());
}

/// Copies the zones [bags) of a preset or instrument: bag records pointing at the copied
/// generators and modulators, each generator `ref` renumbered by `renumber`.
void copyZones(const PresetData& d, const Table& bags, const Table& gens, const Table& mods, std::pair<std::size_t, std::size_t> zoneRange,
               std::uint16_t ref, const std::function<std::size_t(const std::uint8_t*)>& renumber, std::vector<std::uint8_t>& bagOut,
               std::vector<std::uint8_t>& genOut, std::vector<std::uint8_t>& modOut) {
    for (std::size_t b = zoneRange.first; b < zoneRange.second; ++b) {
        append16(bagOut, static_cast<std::uint32_t>(genOut.size() / kGen));
        append16(bagOut, static_cast<std::uint32_t>(modOut.size() / kMod));
        const auto [g0, g1] = d.range(bags, b, 0, gens.count, "generator");
        const auto [m0, m1] = d.range(bags, b, 2, mods.count, "modulator");
        for (std::size_t g = g0; g < g1; ++g) {
            const std::uint8_t* rec = gens.at(g);
            genOut.insert(genOut.end(), rec, rec + kGen);
            if (u16(rec) == ref) put16(genOut.data() + genOut.size() - 2, static_cast<std::uint32_t>(renumber(rec)));
        }
        modOut.insert(modOut.end(), mods.at(m0), mods.at(m0) + (m1 - m0) * kMod);
    }
}

/// A terminal record: `name` then zeros, `index` at `at` (0 for none).
std::vector<std::uint8_t> terminal(std::size_t size, const char* name, std::size_t at, std::size_t index) {
    std::vector<std::uint8_t> r(size, 0);
    if (name) std::memcpy(r.data(), name, std::strlen(name));
    if (at) put16(r.data() + at, static_cast<std::uint32_t>(index));
    return r;
}

std::vector<std::uint8_t> buildPresetData(const PresetData& d, std::span<const SoundFontPresetId> wanted) {
    std::vector<std::size_t> presets;
    for (std::size_t p = 0; p + 1 < d.phdr.count; ++p) {
        const int program = u16(d.phdr.at(p) + 20), bank = u16(d.phdr.at(p) + 22);
        if (std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.bank == bank && w.program == program; }))
            presets.push_back(p);
    }
    if (presets.empty()) throw std::runtime_error(fmt::format("SoundFont {} has none of the presets asked for", d.file));
    // The instruments those presets use, then their samples and the samples those link to.
    std::map<std::size_t, std::size_t> instruments, samples;  // old index -> new, in file order
    for (const std::size_t p : presets) {
        const auto [b0, b1] = d.presetBags(p);
        for (std::size_t b = b0; b < b1; ++b) {
            const auto [g0, g1] = d.range(d.pbag, b, 0, d.pgen.count, "generator");
            for (std::size_t g = g0; g < g1; ++g)
                if (u16(d.pgen.at(g)) == kGenInstrument) instruments[d.instrumentOf(d.pgen.at(g))] = 0;
        }
    }
    for (auto& [i, unused] : instruments) {
        const auto [b0, b1] = d.instBags(i);
        for (std::size_t b = b0; b < b1; ++b) {
            const auto [g0, g1] = d.range(d.ibag, b, 0, d.igen.count, "generator");
            for (std::size_t g = g0; g < g1; ++g)
                if (u16(d.igen.at(g)) == kGenSampleId) samples[d.sampleOf(d.igen.at(g))] = 0;
        }
    }
    for (auto& [s, unused] : std::map(samples))
        if (const auto link = d.linkOf(s)) samples[*link] = 0;
    std::size_t n = 0;
    for (auto& [i, to] : instruments) to = n++;
    n = 0;
    for (auto& [s, to] : samples) to = n++;

    std::vector<std::uint8_t> phdr, pbag, pmod, pgen, inst, ibag, imod, igen, shdr;
    for (const std::size_t p : presets) {
        phdr.insert(phdr.end(), d.phdr.at(p), d.phdr.at(p) + kPhdr);
        put16(phdr.data() + phdr.size() - kPhdr + 24, static_cast<std::uint32_t>(pbag.size() / kBag));
        copyZones(d, d.pbag, d.pgen, d.pmod, d.presetBags(p), kGenInstrument,
                  [&](const std::uint8_t* g) { return instruments.at(d.instrumentOf(g)); }, pbag, pgen, pmod);
    }
    for (const auto& [i, to] : instruments) {
        inst.insert(inst.end(), d.inst.at(i), d.inst.at(i) + kInst);
        put16(inst.data() + inst.size() - kInst + 20, static_cast<std::uint32_t>(ibag.size() / kBag));
        copyZones(d, d.ibag, d.igen, d.imod, d.instBags(i), kGenSampleId,
                  [&](const std::uint8_t* g) { return samples.at(d.sampleOf(g)); }, ibag, igen, imod);
    }
    for (const auto& [s, to] : samples) {
        shdr.insert(shdr.end(), d.shdr.at(s), d.shdr.at(s) + kShdr);
        if (const auto link = d.linkOf(s)) put16(shdr.data() + shdr.size() - kShdr + 42, static_cast<std::uint32_t>(samples.at(*link)));
    }
    const auto add = [](std::vector<std::uint8_t>& t, const std::vector<std::uint8_t>& r) { t.insert(t.end(), r.begin(), r.end()); };
    add(phdr, terminal(kPhdr, "EOP", 24, pbag.size() / kBag));
    add(pbag, terminal(kBag, nullptr, 0, 0));
    put16(pbag.data() + pbag.size() - 4, static_cast<std::uint32_t>(pgen.size() / kGen));
    put16(pbag.data() + pbag.size() - 2, static_cast<std::uint32_t>(pmod.size() / kMod));
    add(pmod, terminal(kMod, nullptr, 0, 0));
    add(pgen, terminal(kGen, nullptr, 0, 0));
    add(inst, terminal(kInst, "EOI", 20, ibag.size() / kBag));
    add(ibag, terminal(kBag, nullptr, 0, 0));
    put16(ibag.data() + ibag.size() - 4, static_cast<std::uint32_t>(igen.size() / kGen));
    put16(ibag.data() + ibag.size() - 2, static_cast<std::uint32_t>(imod.size() / kMod));
    add(imod, terminal(kMod, nullptr, 0, 0));
    add(igen, terminal(kGen, nullptr, 0, 0));
    add(shdr, terminal(kShdr, "EOS", 0, 0));

    std::vector<std::uint8_t> body;
    appendTag(body, "pdta");
    const std::pair<const char*, const std::vector<std::uint8_t>*> tables[] = {
        {"phdr", &phdr}, {"pbag", &pbag}, {"pmod", &pmod}, {"pgen", &pgen}, {"inst", &inst},
        {"ibag", &ibag}, {"imod", &imod}, {"igen", &igen}, {"shdr", &shdr}};
    for (const auto& [tag, records] : tables) appendChunk(body, tag, *records);
    std::vector<std::uint8_t> chunk;
    appendChunk(chunk, "LIST", body);
    return chunk;
}

/// A zone list as numbering-free bytes (SoundFontPresetInfo::content).
void describeZones(const PresetData& d, const Table& bags, const Table& gens, const Table& mods, std::pair<std::size_t, std::size_t> zoneRange,
                   bool preset, std::vector<std::uint8_t>& out) {
    for (std::size_t b = zoneRange.first; b < zoneRange.second; ++b) {
        appendTag(out, "zone");
        const auto [g0, g1] = d.range(bags, b, 0, gens.count, "generator");
        const auto [m0, m1] = d.range(bags, b, 2, mods.count, "modulator");
        for (std::size_t g = g0; g < g1; ++g) {
            const std::uint8_t* rec = gens.at(g);
            out.insert(out.end(), rec, rec + 2);
            if (preset && u16(rec) == kGenInstrument) {
                const std::size_t i = d.instrumentOf(rec);
                out.insert(out.end(), d.inst.at(i), d.inst.at(i) + 20);
                describeZones(d, d.ibag, d.igen, d.imod, d.instBags(i), false, out);
            } else if (!preset && u16(rec) == kGenSampleId) {
                const std::size_t s = d.sampleOf(rec);
                out.insert(out.end(), d.shdr.at(s), d.shdr.at(s) + 42);
                const auto link = d.linkOf(s);
                if (link) out.insert(out.end(), d.shdr.at(*link), d.shdr.at(*link) + 20);
                else out.insert(out.end(), d.shdr.at(s) + 42, d.shdr.at(s) + 44);
                out.insert(out.end(), d.shdr.at(s) + 44, d.shdr.at(s) + 46);
            } else {
                out.insert(out.end(), rec + 2, rec + 4);
            }
        }
        out.insert(out.end(), mods.at(m0), mods.at(m0) + (m1 - m0) * kMod);
    }
}
}  // namespace

bool SoundFontSubset::read(int fd, std::uint64_t at, std::uint8_t* out, std::uint64_t count) const {
    if (at > size() || count > size() - at) return false;
    while (count > 0) {
        std::uint64_t n = 0;
        if (at < head.size()) {
            n = std::min<std::uint64_t>(count, head.size() - at);
            std::memcpy(out, head.data() + at, n);
        } else if (at < head.size() + sampleChunkSize) {
            n = std::min<std::uint64_t>(count, head.size() + sampleChunkSize - at);
            const ssize_t got = ::pread(fd, out, n, static_cast<off_t>(sampleChunkAt + (at - head.size())));
            if (got <= 0) return false;
            n = static_cast<std::uint64_t>(got);
        } else {
            n = count;  // the rest lies in the tail (checked against size() above)
            std::memcpy(out, tail.data() + (at - head.size() - sampleChunkSize), n);
        }
        at += n;
        out += n;
        count -= n;
    }
    return true;
}

SoundFontSubset makeSoundFontSubset(const std::string& path, std::span<const SoundFontPresetId> presets) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("SoundFont {} cannot be opened", path));
    const off_t fileSize = ::lseek(fd, 0, SEEK_END);
    const ReadAt read = [&](std::uint64_t at, std::uint8_t* out, std::uint64_t count) {
        while (count > 0) {
            const ssize_t got = ::pread(fd, out, count, static_cast<off_t>(at));
            if (got <= 0) return false;
            at += static_cast<std::uint64_t>(got);
            out += got;
            count -= static_cast<std::uint64_t>(got);
        }
        return true;
    };
    Layout l;
    try {
        l = readLayout(read, fileSize < 0 ? 0 : static_cast<std::uint64_t>(fileSize), path);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    SoundFontSubset s;
    s.path = path;
    s.tail = buildPresetData(PresetData(l.presetData, path), presets);
    s.sampleChunkAt = l.sampleAt;
    s.sampleChunkSize = l.sampleSize;
    appendTag(s.head, "RIFF");
    append32(s.head, 4 + l.info.size() + l.sampleSize + s.tail.size());
    appendTag(s.head, "sfbk");
    s.head.insert(s.head.end(), l.info.begin(), l.info.end());
    return s;
}

std::vector<SoundFontPresetInfo> readSoundFontPresets(std::span<const std::uint8_t> file, const std::string& name) {
    const ReadAt read = [&](std::uint64_t at, std::uint8_t* out, std::uint64_t count) {
        if (at > file.size() || count > file.size() - at) return false;
        std::memcpy(out, file.data() + at, count);
        return true;
    };
    const Layout l = readLayout(read, file.size(), name);
    const PresetData d(l.presetData, name);
    std::vector<SoundFontPresetInfo> out;
    for (std::size_t p = 0; p + 1 < d.phdr.count; ++p) {
        SoundFontPresetInfo info;
        info.id = {u16(d.phdr.at(p) + 22), u16(d.phdr.at(p) + 20)};
        const auto* n = reinterpret_cast<const char*>(d.phdr.at(p));
        info.name.assign(n, strnlen(n, 20));
        describeZones(d, d.pbag, d.pgen, d.pmod, d.presetBags(p), true, info.content);
        out.push_back(std::move(info));
    }
    return out;
}

}  // namespace soundstar::engine

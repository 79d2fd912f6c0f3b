// SoundFont 2.04 layout (RIFF "sfbk": LIST INFO, LIST sdta, LIST pdta with phdr, pbag, pmod, pgen,
// inst, ibag, imod, igen, shdr; each table ends in a terminal record): the SoundFont Technical
// Specification 2.04, sections 4 to 7.
#include "engine/SoundFontSubset.h"
#include "engine/SoundFontTables.h"

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

using namespace sf2;

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
        const auto [g0, g1] = d.gens(bags, gens, b);
        const auto [m0, m1] = d.mods(bags, mods, b);
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
            const auto [g0, g1] = d.gens(d.pbag, d.pgen, b);
            for (std::size_t g = g0; g < g1; ++g)
                if (u16(d.pgen.at(g)) == kGenInstrument) instruments[d.instrumentOf(d.pgen.at(g))] = 0;
        }
    }
    for (auto& [i, unused] : instruments) {
        const auto [b0, b1] = d.instBags(i);
        for (std::size_t b = b0; b < b1; ++b) {
            const auto [g0, g1] = d.gens(d.ibag, d.igen, b);
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
        const auto [g0, g1] = d.gens(bags, gens, b);
        const auto [m0, m1] = d.mods(bags, mods, b);
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
    const ReadAt read = readFromFile(fd);
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
    const Layout l = readLayout(readFromMemory(file), file.size(), name);
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

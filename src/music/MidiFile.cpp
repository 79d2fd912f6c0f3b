#include "music/MidiFile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

namespace soundstar::music {
namespace {
constexpr int kPpq = 480;

void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void putVarLen(std::vector<std::uint8_t>& b, std::uint32_t v) {
    std::uint8_t tmp[5];
    int n = 0;
    tmp[n++] = v & 0x7F;
    while ((v >>= 7) != 0) tmp[n++] = static_cast<std::uint8_t>((v & 0x7F) | 0x80);
    while (n > 0) b.push_back(tmp[--n]);
}

struct Event {
    std::uint32_t tick;
    int order;  // at equal ticks: meta first, then note offs, then note ons
    std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> chunk(std::vector<Event> events) {
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.tick != b.tick ? a.tick < b.tick : a.order < b.order;
    });
    std::vector<std::uint8_t> data;
    std::uint32_t last = 0;
    for (const auto& e : events) {
        putVarLen(data, e.tick - last);
        last = e.tick;
        data.insert(data.end(), e.bytes.begin(), e.bytes.end());
    }
    putVarLen(data, 0);
    data.insert(data.end(), {0xFF, 0x2F, 0x00});  // end of track
    std::vector<std::uint8_t> out{'M', 'T', 'r', 'k'};
    put32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

Event meta(std::uint32_t tick, std::uint8_t type, const std::vector<std::uint8_t>& payload) {
    Event e{tick, 0, {0xFF, type}};
    putVarLen(e.bytes, static_cast<std::uint32_t>(payload.size()));
    e.bytes.insert(e.bytes.end(), payload.begin(), payload.end());
    return e;
}

/// Key signature: sharps (+) or flats (-) of the key's relative major, and the minor flag.
std::pair<int, int> keySignature(const MidiKey& k) {
    int offset = 0;  // semitones from the mode's tonic to its relative major
    int minor = 0;
    switch (k.mode) {
        case Mode::Major:
        case Mode::MajorPentatonic: offset = 0; break;
        case Mode::MinorPentatonic: offset = 3; minor = 1; break;
        case Mode::Minor:
        case Mode::HarmonicMinor: offset = 3; minor = 1; break;
        case Mode::Dorian: offset = 10; break;
        case Mode::Phrygian: offset = 8; break;
        case Mode::Lydian: offset = 7; break;
        case Mode::Mixolydian: offset = 5; break;
    }
    static constexpr int kSharps[12] = {0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5};  // C Db D Eb E F F# G Ab A Bb B
    return {kSharps[(k.root + offset) % 12], minor};
}

/// General MIDI program (0-based) for a layer name.
int programFor(const std::string& layer) {
    if (layer == "bass") return 38;   // synth bass 1
    if (layer == "pad") return 89;    // pad 2 (warm)
    if (layer == "keys") return 4;    // electric piano 1
    if (layer == "arp") return 46;    // orchestral harp
    if (layer == "lead") return 14;   // tubular bells
    if (layer == "texture") return 99;  // FX 4 (atmosphere)
    return 0;
}
}  // namespace

std::vector<std::uint8_t> toMidiFile(const Score& score, const MidiKey& key) {
    std::vector<std::uint8_t> out{'M', 'T', 'h', 'd'};
    put32(out, 6);
    const auto ntracks = static_cast<std::uint16_t>(score.tracks.size() + 1);
    out.insert(out.end(), {0x00, 0x01, static_cast<std::uint8_t>(ntracks >> 8), static_cast<std::uint8_t>(ntracks & 0xFF),
                           static_cast<std::uint8_t>(kPpq >> 8), static_cast<std::uint8_t>(kPpq & 0xFF)});
    // Conductor track.
    const auto usPerQuarter = static_cast<std::uint32_t>(std::lround(60000000.0 / score.bpm));
    const auto [sf, mi] = keySignature(key);
    std::vector<Event> conductor{
        meta(0, 0x03, {'s', 'o', 'u', 'n', 'd', 's', 't', 'a', 'r'}),
        meta(0, 0x51, {static_cast<std::uint8_t>(usPerQuarter >> 16), static_cast<std::uint8_t>(usPerQuarter >> 8),
                       static_cast<std::uint8_t>(usPerQuarter)}),
        meta(0, 0x58, {static_cast<std::uint8_t>(score.beatsPerBar), 2, 24, 8}),
        meta(0, 0x59, {static_cast<std::uint8_t>(static_cast<std::int8_t>(sf)), static_cast<std::uint8_t>(mi)}),
    };
    auto c = chunk(conductor);
    out.insert(out.end(), c.begin(), c.end());
    int melodicChannel = 0;
    for (const auto& t : score.tracks) {
        const bool drums = t.name == "drums";
        int ch = 9;
        if (!drums) {
            ch = melodicChannel++;
            if (ch >= 9) ++ch;  // skip the drum channel
            ch = std::min(ch, 15);
        }
        std::vector<Event> ev{meta(0, 0x03, std::vector<std::uint8_t>(t.name.begin(), t.name.end()))};
        if (!drums) ev.push_back({0, 0, {static_cast<std::uint8_t>(0xC0 | ch), static_cast<std::uint8_t>(programFor(t.name))}});
        for (const auto& n : t.notes) {
            const int note = static_cast<int>(std::lround(n.note));
            if (note < 0 || note > 127) continue;
            const auto on = static_cast<std::uint32_t>(std::max(0L, std::lround(n.start * kPpq)));
            const auto off = std::max(on + 1, static_cast<std::uint32_t>(std::lround((n.start + n.length) * kPpq)));
            const auto vel = static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::lround(n.velocity * 127.0f)), 1, 127));
            ev.push_back({on, 2, {static_cast<std::uint8_t>(0x90 | ch), static_cast<std::uint8_t>(note), vel}});
            ev.push_back({off, 1, {static_cast<std::uint8_t>(0x80 | ch), static_cast<std::uint8_t>(note), 0}});
        }
        auto tc = chunk(std::move(ev));
        out.insert(out.end(), tc.begin(), tc.end());
    }
    return out;
}

void writeMidiFile(const std::filesystem::path& path, const Score& score, const MidiKey& key) {
    const auto bytes = toMidiFile(score, key);
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error(fmt::format("writing {} failed", path.string()));
}

}  // namespace soundstar::music

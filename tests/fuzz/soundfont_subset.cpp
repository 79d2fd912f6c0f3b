// Fuzz target: bytes as a SoundFont through engine/SoundFontSubset (the preset-data parser offline
// SoundFont renders use before FluidSynth sees a font). The first byte picks the preset asked for.
// Properties: a refused font is a std::runtime_error with a bounded message; an accepted one gives
// a subset that parses again and defines the chosen presets exactly as the whole font does.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "FuzzCheck.h"
#include "engine/SoundFontSubset.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static const std::string file =
        (std::filesystem::temp_directory_path() / ("soundstar-fuzz-sf2-" + std::to_string(getpid()))).string();
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    const std::span<const std::uint8_t> font(data + 1, size - 1);
    const engine::SoundFontPresetId ids[] = {{data[0] & 1 ? 128 : 0, data[0] >> 1}, {0, 0}};
    try {
        const auto subset = engine::makeSoundFontSubset(file, ids);
        std::vector<std::uint8_t> bytes(subset.size());
        const int fd = ::open(file.c_str(), O_RDONLY);
        const bool read = fd >= 0 && subset.read(fd, 0, bytes.data(), bytes.size());
        if (fd >= 0) ::close(fd);
        if (!read) fuzz::finding("an accepted font's subset cannot be read back");
        const auto whole = engine::readSoundFontPresets(font, "fuzz input");
        const auto part = engine::readSoundFontPresets(bytes, "subset");
        if (part.empty()) fuzz::finding("an accepted subset holds no preset");
        for (const auto& p : part) {
            if (std::none_of(std::begin(ids), std::end(ids), [&](const auto& id) { return id.bank == p.id.bank && id.program == p.id.program; }))
                fuzz::finding("the subset holds a preset not asked for");
            const bool same = std::any_of(whole.begin(), whole.end(), [&](const auto& w) {
                return w.id.bank == p.id.bank && w.id.program == p.id.program && w.content == p.content;
            });
            if (!same) fuzz::finding("a subset preset differs from the font's");
        }
    } catch (const std::runtime_error& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

// A SoundFont cut down to a few presets (engine/SoundFontSubset.h): it defines those presets exactly
// as the whole font does, FluidSynth plays them to the same bytes, and a malformed font is named.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "Cli.h"
#include "engine/Instruments.h"
#include "engine/Param.h"
#include "engine/SoundFontSubset.h"

using namespace soundstar;
using namespace soundstar::engine;

namespace {
const std::string kFont = "/usr/share/sounds/sf2/TimGM6mb.sf2";

std::vector<std::uint8_t> readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> bytesOf(const SoundFontSubset& s) {
    const int fd = ::open(s.path.c_str(), O_RDONLY);
    std::vector<std::uint8_t> out(s.size());
    const bool ok = fd >= 0 && s.read(fd, 0, out.data(), out.size());
    if (fd >= 0) ::close(fd);
    EXPECT_TRUE(ok);
    return out;
}

std::string errorOf(const std::string& path, std::vector<SoundFontPresetId> ids) {
    try {
        makeSoundFontSubset(path, ids);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "no error";
}
}  // namespace

TEST(SoundFontSubset, DefinesTheChosenPresetsAsTheWholeFontDoes) {
    if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "timgm6mb-soundfont missing";
    const std::vector<SoundFontPresetId> ids = {{0, 0}, {0, 48}, {128, 0}, {5, 99}};  // 5:99 is not in the font
    const auto subset = makeSoundFontSubset(kFont, ids);
    const auto font = readAll(kFont);
    const auto cut = bytesOf(subset);
    ASSERT_EQ(cut.size(), subset.size());
    const auto whole = readSoundFontPresets(font, "font");
    const auto part = readSoundFontPresets(cut, "subset");
    ASSERT_EQ(whole.size(), 136u);  // TimGM6mb's General MIDI set
    ASSERT_EQ(part.size(), 3u);
    for (const auto& p : part) {
        const auto same = std::find_if(whole.begin(), whole.end(),
                                       [&](const auto& w) { return w.id.bank == p.id.bank && w.id.program == p.id.program; });
        ASSERT_NE(same, whole.end()) << p.name;
        EXPECT_EQ(p.name, same->name);
        EXPECT_GT(p.content.size(), 100u) << p.name;  // zones, generators, instruments and samples
        EXPECT_TRUE(p.content == same->content) << p.name;
    }
    EXPECT_TRUE(std::any_of(part.begin(), part.end(), [](const auto& p) { return p.name == "Piano 1" && p.id.program == 0; }));
    // The sample data is the font's own, at the same offsets within its chunk.
    ASSERT_LE(subset.sampleChunkAt + subset.sampleChunkSize, font.size());
    EXPECT_TRUE(std::equal(cut.begin() + static_cast<std::ptrdiff_t>(subset.head.size()),
                           cut.begin() + static_cast<std::ptrdiff_t>(subset.head.size() + subset.sampleChunkSize),
                           font.begin() + static_cast<std::ptrdiff_t>(subset.sampleChunkAt)));
    // What FluidSynth parses: 12.7 kB of preset data in place of 205 kB.
    EXPECT_LT(subset.tail.size(), 20000u);
    EXPECT_EQ(std::string(cut.begin(), cut.begin() + 4), "RIFF");
    EXPECT_FALSE(subset.read(-1, subset.size() - 2, std::vector<std::uint8_t>(4).data(), 4));  // past the end
}

TEST(SoundFontSubset, MalformedFontsAndMissingPresetsAreNamed) {
    if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "timgm6mb-soundfont missing";
    test::TempDir dir;
    const auto font = readAll(kFont);
    const auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
        std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        return dir / name;
    };
    std::string e = errorOf(write("short.sf2", {font.begin(), font.begin() + 5000}), {{0, 0}});
    EXPECT_NE(e.find("short.sf2 is malformed"), std::string::npos) << e;
    EXPECT_NE(e.find("past the end"), std::string::npos) << e;
    e = errorOf(write("text.sf2", {'h', 'e', 'l', 'l', 'o'}), {{0, 0}});
    EXPECT_NE(e.find("RIFF 'sfbk'"), std::string::npos) << e;
    e = errorOf(kFont, {{3, 7}});
    EXPECT_NE(e.find("none of the presets"), std::string::npos) << e;
    e = errorOf(dir / "absent.sf2", {{0, 0}});
    EXPECT_NE(e.find("cannot be opened"), std::string::npos) << e;
    // A preset zone naming an instrument past the font's: an index out of range.
    auto bad = font;
    std::vector<SoundFontPresetId> all;
    for (const auto& p : readSoundFontPresets(font, "font")) all.push_back(p.id);
    const std::string pgen = "pgen";
    const auto at = std::search(bad.begin(), bad.end(), pgen.begin(), pgen.end()) - bad.begin();
    for (std::size_t g = static_cast<std::size_t>(at) + 8; g + 4 <= bad.size(); g += 4)
        if (bad[g] == 41 && bad[g + 1] == 0) {  // the first instrument generator
            bad[g + 2] = bad[g + 3] = 0xff;
            break;
        }
    e = errorOf(write("bad.sf2", bad), all);
    EXPECT_NE(e.find("names instrument 65535"), std::string::npos) << e;
}

// Offline renders ("samples" = "selected") load a subset with only the program played: the same
// bytes as the whole font. (Not the drum kit: FluidSynth's per-preset sample loading, which
// "selected" has always used, trims some of its loops unlike a whole load, subset or not.)
TEST(SoundFontSubset, FluidSynthPlaysTheSubsetToTheSameBytes) {
    if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "timgm6mb-soundfont missing";
    struct Case {
        float bank, program;
        std::vector<float> notes;
    };
    const Case cases[] = {{0, 0, {60, 64, 67}}, {0, 30, {52, 59}}, {0, 73, {72}}, {0, 48, {48, 55, 64}}};
    for (const auto& c : cases) {
        std::vector<float> out[2];
        for (const bool selected : {false, true}) {
            auto sf = makeInstrument("soundfont");
            sf->setOption("player", "fluidsynth");  // the subset is what FluidSynth loads
            if (selected) sf->setOption("samples", "selected");
            sf->setParam(findParam(sf->params(), "bank"), c.bank);
            sf->setParam(findParam(sf->params(), "program"), c.program);
            sf->prepare(48000.0, 256);
            for (const float n : c.notes) sf->noteOn(n, 0.8f);
            std::vector<float> l(24064), r(24064);
            for (std::size_t pos = 0; pos < l.size(); pos += 256) {
                if (pos == 12032)
                    for (const float n : c.notes) sf->noteOff(n);
                sf->process({l.data() + pos, r.data() + pos, 256});
            }
            out[selected] = l;
            out[selected].insert(out[selected].end(), r.begin(), r.end());
        }
        double energy = 0;
        for (const float x : out[1]) energy += static_cast<double>(x) * x;
        EXPECT_GT(energy, 1.0) << c.bank << ":" << c.program;  // it sounds
        EXPECT_TRUE(out[0] == out[1]) << c.bank << ":" << c.program;
    }
}

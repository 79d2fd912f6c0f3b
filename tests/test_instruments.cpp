// Sample and SoundFont instruments: pitch, kits, options and the fallback when files are missing.
#include <gtest/gtest.h>

#include <fstream>

#include "Analysis.h"
#include "Cli.h"
#include "engine/Instruments.h"
#include "engine/Preset.h"
#include "io/AudioFile.h"

using namespace soundstar;
using namespace soundstar::engine;

namespace {
constexpr double kSr = 48000.0;

std::vector<float> play(Instrument& inst, float note, int frames) {
    inst.noteOn(note, 0.9f);
    std::vector<float> l(static_cast<std::size_t>(frames)), r(l.size());
    for (int pos = 0; pos < frames; pos += 256) inst.process({l.data() + pos, r.data() + pos, std::min(256, frames - pos)});
    return l;
}

/// A one-second 440 Hz sine written as a 44.1 kHz WAV (so loading also resamples it).
std::string writeSine(const test::TempDir& dir, const char* name, double hz) {
    StereoBuffer b;
    b.resize(44100);
    for (int i = 0; i < 44100; ++i)
        b.left()[static_cast<std::size_t>(i)] = b.right()[static_cast<std::size_t>(i)] =
            0.5f * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * i / 44100.0));
    const auto path = dir / name;
    io::writeAudioFile(path, b, 44100.0, io::FileFormat::WavFloat);
    return path;
}
}  // namespace

TEST(Sampler, TransposesAPitchedSampleByResampling) {
    test::TempDir dir;
    auto s = makeInstrument("sampler");
    s->setOption("sample", writeSine(dir, "a4.wav", 440.0));
    s->setParam(findParam(s->params(), "root"), 69.0f);
    s->prepare(kSr, 256);
    const auto same = play(*s, 69.0f, 24000);
    EXPECT_GT(test::toneAmplitude(same, 440.0, kSr, 2400), 0.3);
    auto up = makeInstrument("sampler");
    up->setOption("sample", dir / "a4.wav");
    up->setParam(findParam(up->params(), "root"), 69.0f);
    up->prepare(kSr, 256);
    const auto octave = play(*up, 81.0f, 12000);  // an octave up plays twice as fast: 0.5 s of sound
    EXPECT_GT(test::toneAmplitude(octave, 880.0, kSr, 1200), 0.3);
    EXPECT_LT(test::toneAmplitude(octave, 440.0, kSr, 1200), 0.02);
}

TEST(Sampler, KitMapsNotesToFilesAndIgnoresOthers) {
    test::TempDir dir;
    auto kit = makeInstrument("sampler");
    kit->setOption("note36", writeSine(dir, "low.wav", 100.0));
    kit->setOption("note38", writeSine(dir, "high.wav", 1000.0));
    kit->prepare(kSr, 256);
    const auto low = play(*kit, 36.0f, 9600);
    EXPECT_GT(test::toneAmplitude(low, 100.0, kSr), 10.0 * test::toneAmplitude(low, 1000.0, kSr));
    kit->allNotesOff();
    std::vector<float> l(48000), r(48000);
    kit->process({l.data(), r.data(), 256});
    for (int k = 0; k < 200; ++k) kit->process({l.data(), r.data(), 256});  // let the first hit end
    const auto none = play(*kit, 60.0f, 4800);
    EXPECT_EQ(test::peak(none), 0.0);
}

// A kit sample at the render's rate plays back as itself times one gain, sample for sample, from
// the note's sample to the file's end and not past it (its last frame is only the neighbour of
// the one before, as the interpolating loop has always played it), however the blocks cut it
// (the kit's steady stretch runs as one vector loop).
TEST(Sampler, AKitSampleAtItsOwnRateIsItsFileTimesOneGain) {
    test::TempDir dir;
    const std::string path = writeSine(dir, "hit.wav", 100.0);  // 44.1 kHz: no resampling at 44.1
    for (const int block : {1, 100, 256}) {
        auto kit = makeInstrument("sampler");
        kit->setOption("note36", path);
        kit->prepare(44100.0, 256);
        std::vector<float> l(53000), r(53000);
        const auto run = [&](int from, int to) {
            for (int pos = from; pos < to; pos += block) kit->process({l.data() + pos, r.data() + pos, std::min(block, to - pos)});
        };
        run(0, 300);
        kit->noteOn(36.0f, 0.9f);  // on sample 300
        run(300, 53000);
        double gain = 0;
        for (int i = 0; i < 44099; ++i) {
            const double want = 0.5 * std::sin(2.0 * std::numbers::pi * 100.0 * i / 44100.0);
            const double got = l[static_cast<std::size_t>(300 + i)];
            if (std::abs(want) < 0.1) continue;
            if (gain == 0) gain = got / want;
            ASSERT_NEAR(got / want, gain, 1e-5 * std::abs(gain)) << "block " << block << ", frame " << i;
            ASSERT_EQ(l[static_cast<std::size_t>(300 + i)], r[static_cast<std::size_t>(300 + i)]);
        }
        EXPECT_GT(gain, 0.1) << block;
        for (int i = 0; i < 300; ++i) ASSERT_EQ(l[static_cast<std::size_t>(i)], 0.0f) << "before the note, block " << block;
        for (std::size_t i = 300 + 44099; i < l.size(); ++i) ASSERT_EQ(l[i], 0.0f) << "past the file's end, block " << block;
    }
}

// notes_used (what offline renders pass): only the listed notes are decoded; the others are
// silent, as unmapped notes always are; a bad list names what is allowed.
TEST(Sampler, NotesUsedDecodesOnlyThoseNotes) {
    test::TempDir dir;
    auto kit = makeInstrument("sampler");
    kit->setOption("note36", writeSine(dir, "low.wav", 100.0));
    kit->setOption("note38", writeSine(dir, "high.wav", 1000.0));
    kit->setOption("notes_used", "38,60");
    kit->prepare(kSr, 256);
    EXPECT_EQ(test::peak(play(*kit, 36.0f, 4800)), 0.0);
    const auto high = play(*kit, 38.0f, 9600);
    EXPECT_GT(test::toneAmplitude(high, 1000.0, kSr), 10.0 * test::toneAmplitude(high, 100.0, kSr));
    for (const char* bad : {"36,x", "128", "-1", "36,,38", "3 6"}) {
        try {
            makeInstrument("sampler")->setOption("notes_used", bad);
            FAIL() << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("MIDI notes 0-127"), std::string::npos) << e.what();
        }
    }
    auto none = makeInstrument("sampler");
    none->setOption("note36", writeSine(dir, "low.wav", 100.0));
    none->setOption("notes_used", "");
    none->prepare(kSr, 256);
    EXPECT_EQ(test::peak(play(*none, 36.0f, 4800)), 0.0);
}

TEST(Sampler, BadOptionsGetClearErrors) {
    auto s = makeInstrument("sampler");
    EXPECT_THROW(s->setOption("loop", "x"), std::invalid_argument);
    try {
        s->setOption("sample", "no_such_sample_anywhere");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("sonic-pi-samples"), std::string::npos);
    }
    EXPECT_THROW(makeInstrument("subtractive")->setOption("file", "x"), std::invalid_argument);
}

TEST(SoundFont, PlaysGeneralMidiAtTheRightPitch) {
    if (!std::filesystem::exists("/usr/share/sounds/sf2/TimGM6mb.sf2")) GTEST_SKIP() << "timgm6mb-soundfont missing";
    auto sf = makeInstrument("soundfont");
    sf->setOption("file", "TimGM6mb.sf2");
    sf->setParam(findParam(sf->params(), "program"), 48.0f);  // strings: a steady tone
    sf->prepare(kSr, 256);
    const auto a4 = play(*sf, 69.0f, 48000);
    EXPECT_GT(test::toneAmplitude(a4, 440.0, kSr, 9600), 5.0 * test::toneAmplitude(a4, 466.16, kSr, 9600));
    EXPECT_GT(test::rms(a4, 9600), 0.005);
    EXPECT_EQ(sf->activeVoices() > 0, true);
    EXPECT_THROW(sf->setOption("file", "no-such-font.sf2"), std::invalid_argument);
}

// samples = selected (offline renders): FluidSynth reads only the chosen program's samples, and
// the program sounds the same as with every sample read.
TEST(SoundFont, SelectedSamplesSoundTheSameAsAll) {
    if (!std::filesystem::exists("/usr/share/sounds/sf2/TimGM6mb.sf2")) GTEST_SKIP() << "timgm6mb-soundfont missing";
    std::vector<float> out[2];
    for (const bool selected : {false, true}) {
        auto sf = makeInstrument("soundfont");
        if (selected) sf->setOption("samples", "selected");
        sf->setParam(findParam(sf->params(), "program"), 48.0f);
        sf->prepare(kSr, 256);
        out[selected] = play(*sf, 69.0f, 24000);
    }
    EXPECT_GT(test::rms(out[1]), 0.005);
    EXPECT_TRUE(out[0] == out[1]);
    try {
        makeInstrument("soundfont")->setOption("samples", "some");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("all or selected"), std::string::npos) << e.what();
    }
}

// prepare() again at another rate (a live device after a file render) gives a fresh synth at the
// new rate: still in tune there, and the first synth freed rather than played or leaked.
TEST(SoundFont, PreparedAgainAtAnotherRateStaysInTune) {
    if (!std::filesystem::exists("/usr/share/sounds/sf2/TimGM6mb.sf2")) GTEST_SKIP() << "timgm6mb-soundfont missing";
    auto sf = makeInstrument("soundfont");
    sf->setParam(findParam(sf->params(), "program"), 48.0f);
    sf->prepare(44100.0, 256);
    play(*sf, 60.0f, 4410);
    sf->prepare(kSr, 256);
    EXPECT_EQ(sf->activeVoices(), 0);  // the note above belonged to the first synth
    const auto a4 = play(*sf, 69.0f, 48000);
    EXPECT_GT(test::toneAmplitude(a4, 440.0, kSr, 9600), 5.0 * test::toneAmplitude(a4, 466.16, kSr, 9600));
    EXPECT_GT(test::rms(a4, 9600), 0.005);
}

// Samples are decoded once per process per engine rate and shared: a second sampler at the same
// rate plays the very same samples, and one at another rate gets its own resampling (in tune).
TEST(Sampler, SamplersShareDecodedSamplesPerRate) {
    test::TempDir dir;
    const auto path = writeSine(dir, "tone.wav", 440.0);
    const auto playAt = [&](double rate) {
        auto s = makeInstrument("sampler");
        s->setOption("sample", path);
        s->setParam(findParam(s->params(), "root"), 69.0f);
        s->prepare(rate, 256);
        return play(*s, 69.0f, static_cast<int>(rate / 5));
    };
    const auto first = playAt(kSr), other = playAt(44100.0), again = playAt(kSr);
    EXPECT_GT(test::rms(first, 4800), 0.1);
    EXPECT_EQ(first, again);
    EXPECT_GT(test::toneAmplitude(other, 440.0, 44100.0, 4410), 5.0 * test::toneAmplitude(other, 404.25, 44100.0, 4410));
    EXPECT_GT(test::toneAmplitude(first, 440.0, kSr, 4800), 5.0 * test::toneAmplitude(first, 478.9, kSr, 4800));
}

TEST(Presets, MissingFilesFallBackToANamedPreset) {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "p");
    std::ofstream(dir / "p/synth.json") << R"({"instrument":"pluck"})";
    std::ofstream(dir / "p/real.json") << R"({"instrument":"sampler","options":{"sample":"definitely_missing"},"fallback":"synth"})";
    PresetLibrary lib;
    lib.loadDirectory(dir / "p");
    EXPECT_EQ(lib.get("real").instrument, "pluck");
    ASSERT_EQ(lib.unavailable().count("real"), 1u);
    EXPECT_NE(lib.unavailable().at("real").find("not found"), std::string::npos);
    std::ofstream(dir / "p/broken.json") << R"({"instrument":"sampler","options":{"sample":"definitely_missing"}})";
    PresetLibrary strict;
    EXPECT_THROW(strict.loadDirectory(dir / "p"), std::invalid_argument);  // no fallback: an error
}

// An indexed folder (what the CLI's data set does) reads a preset when it is first asked for: a
// render reads the few it plays. Fallbacks, errors and the full list behave as a loaded folder's.
TEST(Presets, AnIndexedFolderReadsEachPresetWhenFirstAskedFor) {
    test::TempDir dir;
    std::filesystem::create_directories(dir / "p");
    std::ofstream(dir / "p/synth.json") << R"({"instrument":"pluck"})";
    std::ofstream(dir / "p/real.json") << R"({"instrument":"sampler","options":{"sample":"definitely_missing"},"fallback":"synth"})";
    std::ofstream(dir / "p/chain.json") << R"({"instrument":"sampler","options":{"sample":"missing_too"},"fallback":"real"})";
    std::ofstream(dir / "p/broken.json") << R"({"instrument":"kazoo"})";
    PresetLibrary lib;
    lib.indexDirectory(dir / "p");  // the broken one costs nothing until asked for
    // Written after indexing, before the first get: the read happens at get.
    std::ofstream(dir / "p/synth.json") << R"({"instrument":"pluck","params":{"gain":-3}})";
    const Preset& synth = lib.get("synth");
    EXPECT_EQ(synth.instrument, "pluck");
    ASSERT_EQ(synth.params.size(), 1u);
    EXPECT_EQ(&lib.get("synth"), &synth);  // read once
    EXPECT_EQ(lib.get("real").instrument, "pluck");  // its fallback, read on first use
    EXPECT_TRUE(lib.has("synth"));
    EXPECT_FALSE(lib.has("real"));  // its files are missing: only its fallback plays
    try {
        (void)lib.get("chain");
        ADD_FAILURE() << "a fallback to an unavailable preset was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("preset 'chain' falls back to 'real', which does not exist"), std::string::npos) << e.what();
    }
    for (int attempt = 0; attempt < 2; ++attempt)  // a bad file throws, naming it, every time it is asked for
        try {
            (void)lib.get("broken");
            ADD_FAILURE() << "a broken preset was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos) << e.what();
        }
    EXPECT_THROW((void)lib.names(), std::invalid_argument);  // names() reads them all: the broken one too
    // A folder without the broken and the chained ones: every name, and why the others are out.
    std::filesystem::create_directories(dir / "q");
    for (const char* f : {"synth.json", "real.json"}) std::filesystem::copy_file(std::filesystem::path(dir / "p") / f, std::filesystem::path(dir / "q") / f);
    PresetLibrary fresh;
    fresh.indexDirectory(dir / "q");
    try {
        (void)fresh.get("nothing");
        ADD_FAILURE() << "an unknown preset was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("no preset 'nothing'; known: synth"), std::string::npos) << e.what();
    }
    EXPECT_EQ(fresh.names(), (std::vector<std::string>{"synth"}));
    const auto unavailable = fresh.unavailable();
    ASSERT_EQ(unavailable.size(), 1u);
    EXPECT_NE(unavailable.at("real").find("not found"), std::string::npos);
}

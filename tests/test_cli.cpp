// End to end: the soundstar binary renders files that independent tools (sox, ffprobe, ffmpeg's
// EBU R128 meter) read back with the right shape, loudness and peak; bad input fails clearly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "Cli.h"
#include "Mido.h"

using namespace soundstar::test;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

double field(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) return std::nan("");
    return std::stod(m[1].str());
}

/// ffmpeg's ebur128 filter: integrated loudness (LUFS) and true peak (dBFS) of a file.
std::pair<double, double> ffmpegLoudness(const std::string& file) {
    const auto r = runCommand("ffmpeg -hide_banner -nostats -i '" + file + "' -af ebur128=peak=true -f null -");
    const auto summary = r.output.substr(r.output.rfind("Summary:"));
    return {field(summary, R"(I:\s+(-?[0-9.]+) LUFS)"), field(summary, R"(Peak:\s+(-?[0-9.inf]+) dBFS)")};
}
}  // namespace

TEST(Cli, RenderWritesAMasteredFileOfTheRequestedShape) {
    TempDir dir;
    const auto out = dir / "sunset.wav";
    const auto r = runCommand(kBin + " render 'warm sunset over water' -d 12 --sample-rate 48000 -o " + out);
    ASSERT_EQ(r.code, 0) << r.output;
    const auto info = runCommand("sox --i '" + out + "'");
    EXPECT_NE(info.output.find("Channels       : 2"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("Sample Rate    : 48000"), std::string::npos);
    EXPECT_NE(info.output.find("= 576000 samples"), std::string::npos) << "exactly 12 s to the sample";
    const auto stats = runCommand("sox '" + out + "' -n stats");
    EXPECT_LT(std::abs(field(stats.output, R"(DC offset\s+(-?[0-9.]+))")), 0.001) << stats.output;
    EXPECT_LT(field(stats.output, R"(Pk lev dB\s+(-?[0-9.]+))"), -0.9);
    EXPECT_GT(field(stats.output, R"(RMS lev dB\s+(-?[0-9.]+))"), -30.0) << "not silent";
    const auto [lufs, peakDb] = ffmpegLoudness(out);
    EXPECT_NEAR(lufs, -14.0, 0.5);
    // Our limiter and libebur128 hold -1 dBTP; ffmpeg's own true-peak estimator may read a hair higher.
    EXPECT_LE(peakDb, -0.8);
}

TEST(Cli, SameSeedGivesTheSameBytesAndAnotherSeedDoesNot) {
    TempDir dir;
    const std::string base = kBin + " render 'rainy night in the city' -d 6 -q ";
    ASSERT_EQ(runCommand(base + "--seed 5 -o " + (dir / "a.wav")).code, 0);
    ASSERT_EQ(runCommand(base + "--seed 5 -o " + (dir / "b.wav")).code, 0);
    ASSERT_EQ(runCommand(base + "--seed 6 -o " + (dir / "c.wav")).code, 0);
    const auto a = readBytes(dir / "a.wav"), b = readBytes(dir / "b.wav"), c = readBytes(dir / "c.wav");
    ASSERT_GT(a.size(), 100000u);
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c);
}

TEST(Cli, EveryOutputFormatReadsBackWithTheRightDuration) {
    TempDir dir;
    const std::vector<std::pair<std::string, std::string>> cases{
        {"x.flac", "flac"}, {"x.ogg", "vorbis"}, {"x.mp3", "mp3"}, {"x24.wav --format wav24", "pcm_s24le"},
        {"xf.wav --format wav32f", "pcm_f32le"}};
    for (const auto& [name, codec] : cases) {
        const auto file = dir / name;
        const auto r = runCommand(kBin + " render 'calm piano' -d 4 -q -o " + file);
        ASSERT_EQ(r.code, 0) << name << r.output;
        const std::string path = file.substr(0, file.find(' '));
        const auto probe = runCommand("ffprobe -v error -show_entries stream=codec_name,channels:format=duration -of "
                                      "default=nw=1 '" + path + "'");
        EXPECT_NE(probe.output.find("codec_name=" + codec), std::string::npos) << probe.output;
        EXPECT_NE(probe.output.find("channels=2"), std::string::npos) << probe.output;
        EXPECT_NEAR(field(probe.output, R"(duration=([0-9.]+))"), 4.0, 0.1) << name;
        // sox decodes each one independently of ffmpeg: rate, channels, level.
        const auto info = soxInfo(path);
        EXPECT_EQ(info.sampleRate, 44100.0) << name;
        EXPECT_EQ(info.channels, 2) << name;
        if (codec != "vorbis" && codec != "mp3") {
            EXPECT_EQ(info.frames, 4 * 44100) << name << ": lossless, exact length";
        }
        const auto stats = soxStats(path);
        EXPECT_GT(stats.rmsDb, -30.0) << name << ": not silent";
        EXPECT_LT(stats.peakDb, -0.5) << name << ": mastered below the ceiling";
    }
    EXPECT_EQ(soxInfo(dir / "x24.wav").encoding, "24-bit Signed Integer PCM");
    EXPECT_EQ(soxInfo(dir / "xf.wav").encoding, "32-bit Floating Point PCM");
}

TEST(Cli, LoudnessTargetIsHonouredAndNoMasterLeavesTheMixAlone) {
    TempDir dir;
    const std::string base = kBin + " render 'ambient drone, no drums' -d 8 -q --seed 3 ";
    ASSERT_EQ(runCommand(base + "--target-lufs -23 --ceiling-dbtp -2 -o " + (dir / "quiet.wav")).code, 0);
    ASSERT_EQ(runCommand(base + "--target-lufs -23 --no-master -o " + (dir / "raw.wav")).code, 0);
    const auto [quiet, quietPeak] = ffmpegLoudness(dir / "quiet.wav");
    EXPECT_NEAR(quiet, -23.0, 0.5);
    EXPECT_LE(quietPeak, -1.8);
    const auto [raw, rawPeak] = ffmpegLoudness(dir / "raw.wav");
    EXPECT_GT(raw, -20.0) << "the unmastered mix keeps its own (louder) level";
}

TEST(Cli, ConfigFileIsUsedAndPrintedBack) {
    TempDir dir;
    std::ofstream(dir / "c.json") << R"({"bpm": 140, "root": "f#", "mode": "dorian", "density": 3, "seed": 9})";
    const auto r = runCommand(kBin + " render --config " + (dir / "c.json") + " -d 4 -q --print-config -o " + (dir / "c.wav"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"bpm\": 140"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"mode\": \"dorian\""), std::string::npos);
    EXPECT_NE(r.output.find("\"root\": \"f#\""), std::string::npos);
    const auto info = soxInfo(dir / "c.wav");
    EXPECT_EQ(info.frames, 4 * 44100);
    EXPECT_EQ(info.channels, 2);
    EXPECT_GT(soxStats(dir / "c.wav").rmsDb, -30.0) << "not silent";
    // The file is the config's music: the same config again gives the same bytes, another bpm does not.
    ASSERT_EQ(
        runCommand(kBin + " render --config " + (dir / "c.json") + " -d 4 -q -o " + (dir / "c2.wav")).code,
        0);
    EXPECT_EQ(readBytes(dir / "c.wav"), readBytes(dir / "c2.wav"));
    ASSERT_EQ(runCommand(kBin + " render --config " + (dir / "c.json") +
                         " --update '{\"bpm\":120}' -d 4 -q -o " + (dir / "c3.wav"))
                  .code,
              0);
    EXPECT_NE(readBytes(dir / "c.wav"), readBytes(dir / "c3.wav"));
}

TEST(Cli, UpdateStepsNudgeTheResolvedConfig) {
    TempDir dir;
    const auto r = runCommand(kBin + " render 'bright calm morning' -d 3 -q --print-config --update '{\"brightness\":\"+1\",\"space\":-9}' -o " + (dir / "u.wav"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"brightness\": \"very_bright\""), std::string::npos) << r.output;  // bright + 1
    EXPECT_NE(r.output.find("\"space\": \"dry\""), std::string::npos);                           // saturates
    EXPECT_EQ(soxInfo(dir / "u.wav").frames, 3 * 44100);
    EXPECT_GT(soxStats(dir / "u.wav").rmsDb, -30.0) << "not silent";
    const auto bad = runCommandSplit(kBin + " render 'calm' --update '{\"colour\":1}' -o " + (dir / "v.wav"));
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("--update: unknown field 'colour'"), std::string::npos) << bad.err;
    EXPECT_EQ(bad.out, "");
    EXPECT_FALSE(std::filesystem::exists(dir / "v.wav"));
}

TEST(Cli, BadInputFailsWithAClearMessageAndWritesNothing) {
    TempDir dir;
    std::ofstream(dir / "bad.json") << R"({"bpm": 500})";
    std::ofstream(dir / "unknown.json") << R"({"tempo_feel": "lazy"})";
    std::ofstream(dir / "broken.json") << R"({"bpm": )";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"render 'x' -o " + (dir / "a.xyz"), "cannot tell the format"},
        {"render 'x' --format aiff -o " + (dir / "a.wav"), "unknown --format 'aiff'"},
        {"render -o " + (dir / "a.wav"), "give a prompt or --config"},
        {"render 'x' -d 0 -o " + (dir / "a.wav"), "duration"},
        {"render 'x' --sample-rate 1 -o " + (dir / "a.wav"), "sample-rate"},
        {"render --config " + (dir / "bad.json") + " -o " + (dir / "a.wav"), "field 'bpm' = 500 is invalid: allowed a number of beats per minute from 40 to 220"},
        {"render --config " + (dir / "unknown.json") + " -o " + (dir / "a.wav"), "unknown field 'tempo_feel'"},
        {"render --config " + (dir / "broken.json") + " -o " + (dir / "a.wav"), "not valid JSON"},
        {"render --config " + (dir / "missing.json") + " -o " + (dir / "a.wav"), "missing.json"},
        {"render 'x' -o /nonexistent-dir/a.wav", "cannot write"},
        {"render 'x' -o " + (dir / "a.wav") + " --midi /nonexistent-dir/a.mid", "cannot write /nonexistent-dir/a.mid"},
        {"frobnicate", "unknown command 'frobnicate'"},
        {"render 'x' --target-lufs 3 -o " + (dir / "a.wav"), "target-lufs"},
    };
    for (const auto& [args, expect] : cases) {
        const auto r = runCommandSplit(kBin + " " + args);
        EXPECT_NE(r.code, 0) << args;
        // The message is the first line on stderr and says what was wrong; stdout stays clean.
        EXPECT_NE(r.err.substr(0, r.err.find('\n')).find(expect), std::string::npos) << args << "\n" << r.err;
        EXPECT_EQ(r.out, "") << args;
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "a.wav"));
    EXPECT_FALSE(std::filesystem::exists(dir / "a.xyz"));
}

TEST(Cli, OddPromptsStillRender) {
    TempDir dir;
    const std::string longPrompt(10000, 'z');
    for (const std::string& p : {std::string("🌅🌊"), std::string("    "), longPrompt, std::string("Sonnenuntergang am Meer")}) {
        std::filesystem::remove(dir / "o.wav");
        const auto r = runCommand(kBin + " render '" + p + "' -d 2 -q -o " + (dir / "o.wav"));
        EXPECT_EQ(r.code, 0) << r.output;
        EXPECT_EQ(soxInfo(dir / "o.wav").frames, 2 * 44100) << p.substr(0, 40);
        EXPECT_GT(soxStats(dir / "o.wav").rmsDb, -30.0) << p.substr(0, 40) << ": not silent";
    }
}

TEST(Cli, DoctorReportsLibrariesAndPresets) {
    const auto r = runCommand(kBin + " doctor");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("libsndfile"), std::string::npos);
    EXPECT_NE(r.output.find("presets in"), std::string::npos);
}

// The demo plays the very score it writes: the score it plays (exported with --midi from the
// object handed to the player) and its file are byte for byte what `render` makes of the same
// prompt, seed and length (it once recomposed the prompt without seed, mood or profile).
TEST(Cli, DemoWritesAndPlaysTheScoreRenderMakes) {
    TempDir dir;
    const auto r = runCommand(kBin + " demo --no-play -o " + (dir / "demo.wav") + " --midi " + (dir / "demo.mid"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto same = runCommand(kBin + " render 'warm sunset over water' -d 20 --seed 7 -q -o " + (dir / "render.wav") + " --midi " +
                                 (dir / "render.mid"));
    ASSERT_EQ(same.code, 0) << same.output;
    const auto demoMidi = readText(dir / "demo.mid");
    ASSERT_GT(demoMidi.size(), 200u);
    EXPECT_EQ(demoMidi, readText(dir / "render.mid")) << "the played score";
    EXPECT_EQ(readText(dir / "demo.wav"), readText(dir / "render.wav")) << "the written file";
    const auto info = runCommand("soxi " + (dir / "demo.wav"));
    EXPECT_NE(info.output.find("= 882000 samples"), std::string::npos) << info.output;
}

TEST(Cli, MidiFileHasATrackPerLayerAndPlaysInFluidSynth) {
    TempDir dir;
    const auto mid = dir / "song.mid";
    const auto r = runCommand(kBin + " render 'warm sunset over water' -d 10 -o " + (dir / "song.wav") +
                              " --midi " + mid);
    ASSERT_EQ(r.code, 0) << r.output;
    const double summaryBpm = field(r.output, R"(([0-9.]+) bpm)");  // the render's summary line
    const std::string bytes = readBytes(mid);
    ASSERT_GT(bytes.size(), 100u);
    EXPECT_EQ(bytes.substr(0, 4), "MThd");
    EXPECT_EQ(bytes[9], 1);  // format 1
    const int tracks = (static_cast<unsigned char>(bytes[10]) << 8) | static_cast<unsigned char>(bytes[11]);
    EXPECT_EQ(tracks, 6);  // conductor + the four layers of this prompt at density 4 + its water texture
    // The notes, read back by mido: the tempo the config says, every layer playing through the
    // whole song and nothing after its end.
    if (pythonWithMido().empty()) GTEST_SKIP() << "python3-mido missing (scripts/setup installs it)";
    const auto m = readWithMido(mid);
    ASSERT_FALSE(m.contains("error")) << m.dump();
    ASSERT_EQ(m["tempos"].size(), 1u);
    const double bpm = 60e6 / m["tempos"][0][1].get<double>();
    EXPECT_NEAR(bpm, summaryBpm, 0.01) << r.output;
    const double songBeats = 10.0 * bpm / 60.0;
    const int ppq = m["ticks_per_beat"];
    std::set<std::string> names;
    for (std::size_t i = 1; i < m["tracks"].size(); ++i) {
        const auto& t = m["tracks"][i];
        const std::string name = t["name"];
        names.insert(name);
        ASSERT_FALSE(t["notes"].empty()) << name;
        EXPECT_EQ(t["unmatched_ons"], 0) << name;
        const double firstBeat = t["notes"].front()[0].get<double>() / ppq;
        double lastOnset = 0.0;
        for (const auto& n : t["notes"]) lastOnset = std::max(lastOnset, n[0].get<double>() / ppq);
        EXPECT_LT(firstBeat, songBeats * 0.5) << name << " starts in the first half";
        EXPECT_GT(lastOnset, songBeats * 0.5) << name << " still plays in the second half";
        EXPECT_LT(lastOnset, songBeats) << name << ": no note after the end";
        EXPECT_EQ(t["channels"][0] == 9, name == "drums") << name << ": drums and only drums on channel 10";
    }
    EXPECT_EQ(names.size(), 5u) << "layer names are distinct";
    if (runCommand("command -v fluidsynth").code != 0 || !std::filesystem::exists("/usr/share/sounds/sf2/TimGM6mb.sf2"))
        GTEST_SKIP() << "fluidsynth or timgm6mb-soundfont missing";
    const auto wav = dir / "fs.wav";
    const auto fs = runCommand("fluidsynth -ni -g 1.0 -F " + wav + " -r 44100 /usr/share/sounds/sf2/TimGM6mb.sf2 " + mid);
    ASSERT_EQ(fs.code, 0) << fs.output;
    const auto stats = runCommand("sox '" + wav + "' -n stats");
    EXPECT_GT(field(stats.output, R"(RMS lev dB\s+(-?[0-9.]+))"), -50.0) << stats.output;
    const auto info = runCommand("soxi -D '" + wav + "'");
    const double seconds = std::stod(info.output);
    EXPECT_GT(seconds, 9.0);  // the whole song is there...
    EXPECT_LT(seconds, 16.0);  // ...plus at most the synth's release tail
}

TEST(Cli, StemsAreWrittenOnePerLayerWithTheFullLength) {
    TempDir dir;
    const auto r = runCommand(kBin + " render 'energetic techno at 128 bpm' -d 25 -q -o " + (dir / "mix.wav") + " --stems " +
                              (dir / "stems"));
    ASSERT_EQ(r.code, 0) << r.output;
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir / "stems")) {
        names.insert(e.path().filename().string());
        const auto info = soxInfo(e.path().string());
        EXPECT_EQ(info.frames, 1102500) << e.path();
        EXPECT_EQ(info.channels, 2) << e.path();
        EXPECT_EQ(info.sampleRate, 44100.0) << e.path();
        EXPECT_EQ(info.encoding, "32-bit Floating Point PCM") << e.path();
        EXPECT_GT(soxStats(e.path().string()).rmsDb, -60.0) << e.path() << ": every stem has sound";
    }
    // Six layers at density 6, plus the techno profile's noise-wash texture.
    EXPECT_EQ(names, (std::set<std::string>{"arp.wav", "bass.wav", "drums.wav", "keys.wav", "lead.wav",
                                            "pad.wav", "texture.wav"}));
}

TEST(Cli, ArrangePrintsTheSectionsAndStructureFilesAreChecked) {
    TempDir dir;
    const auto r = runCommand(kBin + " arrange 'energetic techno' -d 60");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"form\": \"build_drop\""), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("\"section\": \"drop\""), std::string::npos);
    std::ofstream(dir / "s.json") << R"([{"section":"intro","bars":2},{"section":"chorus","bars":4}])";
    const auto s = runCommand(kBin + " render 'calm' --structure " + (dir / "s.json") + " -q -o " + (dir / "s.wav"));
    ASSERT_EQ(s.code, 0) << s.output;
    // The file is as long as the arrangement of those six bars says (arrange reads the same file).
    const auto plan = runCommandSplit(kBin + " arrange 'calm' --structure " + (dir / "s.json"));
    ASSERT_EQ(plan.code, 0) << plan.err;
    const auto planJson = nlohmann::json::parse(plan.out);
    EXPECT_EQ(planJson["total_bars"], 6);
    EXPECT_EQ(soxInfo(dir / "s.wav").frames,
              std::lround(planJson["duration_seconds"].get<double>() * 44100.0));
    EXPECT_GT(soxStats(dir / "s.wav").rmsDb, -35.0) << "not silent";
    std::ofstream(dir / "bad.json") << R"([{"section":"solo","bars":2}])";
    const auto b = runCommand(kBin + " render 'calm' --structure " + (dir / "bad.json") + " -o " + (dir / "b.wav"));
    EXPECT_NE(b.code, 0);
    EXPECT_NE(b.output.find("'section' must be one of"), std::string::npos) << b.output;
    const auto bars = runCommand(kBin + " arrange 'calm' --bars 16");
    EXPECT_NE(bars.output.find("\"total_bars\": 16"), std::string::npos) << bars.output;
    const auto l = runCommand(kBin + " render 'calm' -d 7.3 --loop -q -o " + (dir / "l.wav"));
    ASSERT_EQ(l.code, 0) << l.output;
    EXPECT_NE(runCommand("soxi '" + (dir / "l.wav") + "'").output.find("= 321930 samples"), std::string::npos)
        << "a loop keeps the exact duration asked (7.3 s)";
    EXPECT_GT(soxStats(dir / "l.wav").rmsDb, -35.0) << "not silent";
}

// Explicit words win along the whole path: the interpretation, the mood, the style profile and
// the config render prints. bpm and the tempo label agree there too.
TEST(Cli, StatedKeysTemposAndGenresSurviveMoodAndProfileUpToTheRender) {
    TempDir dir;
    const auto both = [&](const std::string& prompt) {
        const auto i = runCommand(kBin + " interpret '" + prompt + "' --json 2>/dev/null");
        const auto r = runCommand(kBin + " render '" + prompt + "' -d 1 -q --print-config -o " + (dir / "x.wav") + " 2>/dev/null");
        EXPECT_EQ(i.code, 0) << i.output;
        EXPECT_EQ(r.code, 0) << r.output;
        return std::pair{nlohmann::json::parse(i.output), nlohmann::json::parse(r.output)};
    };
    for (const auto& cfg : {both("song in F# minor at 100 bpm").first, both("song in F# minor at 100 bpm").second}) {
        EXPECT_EQ(cfg["mode"], "minor") << cfg.dump();
        EXPECT_EQ(cfg["root"], "f#");
        EXPECT_EQ(cfg["bpm"], 100.0);
        EXPECT_EQ(cfg["tempo"], "medium");
    }
    const auto [griefSaid, griefPlayed] = both("grief after a long war");
    for (const auto& cfg : {griefSaid, griefPlayed}) {
        EXPECT_FALSE(cfg.contains("genre")) << cfg.dump();
        EXPECT_FALSE(cfg.contains("bpm")) << cfg.dump();  // the tempo label alone decides
        EXPECT_EQ(cfg["tempo"], "very_slow");
    }
    const auto [houseSaid, housePlayed] = both("sad deep house in F minor, no drums");
    for (const auto& cfg : {houseSaid, housePlayed}) {
        EXPECT_EQ(cfg["genre"], "deep_house");
        EXPECT_EQ(cfg["mode"], "minor") << cfg.dump();  // not the profile's dorian
        EXPECT_EQ(cfg["rhythm"], "none");                // not the profile's soft_four
    }
}

TEST(Cli, InterpretPrintsTheConfigRenderUsesAndExplainsIt) {
    const auto j = runCommand(kBin + " interpret 'energetic techno at 130 bpm, no drums' --json 2>/dev/null");
    ASSERT_EQ(j.code, 0) << j.output;
    const auto cfg = nlohmann::json::parse(j.output);  // stdout is only the JSON
    EXPECT_EQ(cfg["bpm"], 130.0);
    EXPECT_EQ(cfg["rhythm"], "none");
    EXPECT_EQ(cfg["genre"], "techno_minimal");
    // The same prompt renders with the same config.
    TempDir dir;
    const auto r = runCommand(kBin + " render 'energetic techno at 130 bpm, no drums' -d 2 -q --print-config -o " + (dir / "t.wav") + " 2>/dev/null");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(nlohmann::json::parse(r.output), cfg);
    const auto e = runCommand(kBin + " interpret 'melancholic rainy night' --explain");
    ASSERT_EQ(e.code, 0) << e.output;
    EXPECT_NE(e.output.find("nearest described configurations"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("mood word 'melancholic'"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("minor"), std::string::npos) << e.output;
    const auto none = runCommand(kBin + " interpret 'zxqv blorp'");
    EXPECT_EQ(none.code, 0);
    EXPECT_NE(none.output.find("nothing in the prompt was understood"), std::string::npos) << none.output;
    const auto missing = runCommand(kBin + " interpret");
    EXPECT_NE(missing.code, 0);
    EXPECT_NE(missing.output.find("prompt"), std::string::npos) << missing.output;
}

TEST(Cli, MissingInterpreterDataIsAClearError) {
    TempDir dir;
    std::filesystem::create_directories(dir / "data");
    const auto r = runCommand("SOUNDSTAR_DATA=" + (dir / "data") + " " + kBin + " interpret 'rain'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("words.bin"), std::string::npos) << r.output;
}

// The interpreter's snapshot (src/interpret/Snapshot.h): a damaged one beside the data is passed
// over for the build's own (same data: no warning); with data the build's snapshot was not made
// from, the CLI says why it reads the sources and still answers exactly as they say.
TEST(Cli, DamagedOrStaleInterpreterSnapshotsFallBackToTheSources) {
    TempDir dir;
    const std::filesystem::path data = dir / "data";
    std::filesystem::copy(SOUNDSTAR_DATA, data, std::filesystem::copy_options::recursive);
    { std::ofstream(data / "interpret" / "interpreter.bin", std::ios::binary) << "not a snapshot" << std::string(300, 'x'); }
    const std::string prompt = " interpret 'melancholic rainy night in a jazz club' --json";
    const auto reference = runCommandSplit(kBin + prompt);
    ASSERT_EQ(reference.code, 0) << reference.err;
    EXPECT_EQ(reference.err.find("snapshot"), std::string::npos) << reference.err;
    const auto copy = runCommandSplit("SOUNDSTAR_DATA=" + data.string() + " " + kBin + prompt);
    ASSERT_EQ(copy.code, 0) << copy.err;
    EXPECT_EQ(copy.out, reference.out);
    EXPECT_EQ(copy.err.find("snapshot"), std::string::npos) << copy.err;  // the build's snapshot serves the copied data
    { std::ofstream(data / "interpret" / "valence.tsv", std::ios::app) << "zzzglum\t-0.9\n"; }
    const auto stale = runCommandSplit("SOUNDSTAR_DATA=" + data.string() + " " + kBin + prompt);
    ASSERT_EQ(stale.code, 0) << stale.err;
    EXPECT_EQ(stale.out, reference.out);  // the new word is not in the prompt: the sources agree
    EXPECT_NE(stale.err.find("warning: interpreter snapshot not used"), std::string::npos) << stale.err;
    EXPECT_NE(stale.err.find("not an interpreter snapshot"), std::string::npos) << stale.err;  // no SSINTERP header
    EXPECT_NE(stale.err.find("stale"), std::string::npos) << stale.err;
    EXPECT_LT(stale.err.size(), 2000u);
}

// The word vectors in the snapshot are checked a block at a time as prompts read them (not
// at every start): a damaged row that a prompt does not read leaves its answers right, and
// `doctor` checks every row, naming the file and the bytes.
TEST(Cli, DoctorFindsADamagedWordVectorRowThatAPromptDoesNotRead) {
    TempDir dir;
    const std::filesystem::path data = dir / "data";
    std::filesystem::copy(SOUNDSTAR_DATA, data, std::filesystem::copy_options::recursive);
    const std::string built = readText(SOUNDSTAR_SNAPSHOT);  // the build's snapshot, of the same data
    std::vector<std::byte> bytes(built.size());
    std::memcpy(bytes.data(), built.data(), built.size());
    // The section table at 128: id u32, flags u32, offset u64, bytes u64; the word vectors are
    // section 6 (Snapshot.cpp, Snapshot.h).
    std::uint32_t count = 0;
    std::memcpy(&count, bytes.data() + 32, 4);
    std::uint64_t at = 0, size = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t id = 0;
        std::memcpy(&id, bytes.data() + 128 + 24 * i, 4);
        if (id != 6) continue;
        std::memcpy(&at, bytes.data() + 128 + 24 * i + 8, 8);
        std::memcpy(&size, bytes.data() + 128 + 24 * i + 16, 8);
    }
    ASSERT_GT(size, 100000u);
    bytes[at + size - 5] ^= std::byte{0x21};  // the last rows: rare words
    {
        std::ofstream out(data / "interpret" / "interpreter.bin", std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    const std::string prompt = " interpret 'melancholic rainy night in a jazz club' --json";
    const auto reference = runCommandSplit(kBin + prompt);
    const auto damaged = runCommandSplit("SOUNDSTAR_DATA=" + data.string() + " " + kBin + prompt);
    ASSERT_EQ(damaged.code, 0) << damaged.err;
    EXPECT_EQ(damaged.out, reference.out);
    EXPECT_EQ(damaged.err.find("snapshot"), std::string::npos) << damaged.err;  // it read the damaged file, unwarned
    const auto doctor = runCommand("SOUNDSTAR_DATA=" + data.string() + " " + kBin + " doctor");
    EXPECT_NE(doctor.code, 0) << doctor.output;
    EXPECT_NE(doctor.output.find("interpreter data: " + (data / "interpret" / "interpreter.bin").string() + ": the word vectors, bytes "),
              std::string::npos) << doctor.output;
    EXPECT_NE(doctor.output.find("do not match their checksum"), std::string::npos) << doctor.output;
    const auto fine = runCommand(kBin + " doctor");
    EXPECT_EQ(fine.output.find("do not match"), std::string::npos) << fine.output;
}

TEST(Cli, TheThreadCountChangesNoByteOfTheMixOrTheStems) {
    // jazz plays SoundFont piano (FluidSynth) and sampled drums: every kind of track in parallel.
    TempDir dir;
    const std::string base = kBin + " render 'jazz cafe at midnight' -d 8 --seed 4 -q ";
    for (const std::string n : {"1", "2", "3"}) {
        std::filesystem::create_directories(dir / ("stems" + n));
        const auto r = runCommand("SOUNDSTAR_THREADS=" + n + " " + base + "-o " + (dir / (n + ".wav")) + " --stems " + (dir / ("stems" + n)));
        ASSERT_EQ(r.code, 0) << r.output;
    }
    const auto one = readBytes(dir / "1.wav");
    ASSERT_GT(one.size(), 100000u);
    EXPECT_TRUE(one == readBytes(dir / "2.wav"));
    EXPECT_TRUE(one == readBytes(dir / "3.wav"));
    std::size_t stems = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "stems1")) {
        const auto name = e.path().filename().string();
        EXPECT_TRUE(readBytes(e.path().string()) == readBytes(dir / ("stems2/" + name))) << name;
        EXPECT_TRUE(readBytes(e.path().string()) == readBytes(dir / ("stems3/" + name))) << name;
        ++stems;
    }
    EXPECT_GE(stems, 4u);
    for (const std::string bad : {"0", "many", "3x", "999"}) {
        const auto r = runCommand("SOUNDSTAR_THREADS=" + bad + " " + base + "-o " + (dir / "bad.wav"));
        EXPECT_NE(r.code, 0) << bad;
        EXPECT_NE(r.output.find("SOUNDSTAR_THREADS must be a whole number from 1 to 256"), std::string::npos) << r.output;
        EXPECT_FALSE(std::filesystem::exists(dir / "bad.wav"));
    }
}

// libsndfile (and the codecs it needs) is loaded only by the commands that read or write audio
// files: the dynamic loader's own log (LD_DEBUG=libs) names it for a render, whose file reads
// back, and never for `interpret` or `--version`.
TEST(Cli, LibsndfileIsLoadedOnlyByTheCommandsThatUseIt) {
    TempDir dir;
    const std::string out = dir / "x.wav";
    const auto render = runCommand("LD_DEBUG=libs " + kBin + " render 'calm piano' -d 1 -q -o '" + out + "'");
    ASSERT_EQ(render.code, 0) << render.output;
    EXPECT_NE(render.output.find("find library=libsndfile.so"), std::string::npos) << "a render loads libsndfile";
    EXPECT_EQ(runCommand("soxi -s '" + out + "'").output, "44100\n");
    // Nor any library that only other commands use (the stretch module's, Redis's), or whose code
    // is compiled in (fmt, toml++, xxHash), or that the product no longer uses (libebur128).
    for (const char* lib : {"libSoundTouch", "libsamplerate", "libhiredis", "libfmt", "libtomlplusplus", "libxxhash", "libebur128", "libggml", "libgomp"})
        EXPECT_EQ(render.output.find(std::string("library=") + lib), std::string::npos) << "a render loads " << lib;
    // Our modules are opened by their path: the log names the file, not a library looked for.
    for (const char* module : {"libsoundstar_stretch.so", "libsoundstar_ggml.so", "libsoundstar_http.so"})
        EXPECT_EQ(render.output.find(module), std::string::npos) << "a render opens " << module;
    for (const std::string cmd : {" interpret 'calm piano'", " --version"}) {
        const auto r = runCommand("LD_DEBUG=libs " + kBin + cmd);
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_NE(r.output.find("find library=libstdc++"), std::string::npos) << "the loader's log is there" << r.output.substr(0, 400);
        EXPECT_EQ(r.output.find("libsndfile"), std::string::npos) << cmd;
    }
}

// The program's run path names no empty folder: the loader reads an empty entry as the current
// folder, where a library of the same name as one of ours would be loaded first.
TEST(Cli, TheRunPathHasNoEmptyEntry) {
    const auto r = runCommand("readelf -d " + kBin);
    ASSERT_NE(r.output.find("NEEDED"), std::string::npos) << "readelf read the program:\n" << r.output;
    std::smatch m;
    if (std::regex_search(r.output, m, std::regex(R"(R(UN)?PATH\)\s+Library r(un)?path: \[([^\]]*)\])"))) {
        const std::string path = m[3].str();
        EXPECT_FALSE(path.empty() || path.front() == ':' || path.back() == ':' || path.find("::") != std::string::npos) << path;
    }
}

// Only the chosen command's options are built at start-up; every command is still listed, and
// each one's help and checks are its own.
TEST(Cli, EachCommandHasItsOwnOptionsAndAllAreListed) {
    const auto top = runCommand(kBin + " --help");
    for (const char* cmd : {"render", "stream", "live", "dj", "serve", "analyze", "batch", "worker", "submit", "generate", "models", "interpret", "arrange", "demo", "doctor", "schema"})
        EXPECT_NE(top.output.find(std::string("  ") + cmd), std::string::npos) << cmd << " is not listed:\n" << top.output;
    const auto render = runCommand(kBin + " render --help");
    EXPECT_EQ(render.code, 0) << render.output;
    EXPECT_NE(render.output.find("--duration"), std::string::npos) << render.output;
    EXPECT_NE(render.output.find("--target-lufs"), std::string::npos) << render.output;
    const auto stream = runCommand(kBin + " stream --help");
    EXPECT_NE(stream.output.find("--transition"), std::string::npos) << stream.output;
    // Another command's option is refused by name, and a command's own bad value by its check.
    const auto foreign = runCommand(kBin + " render 'calm' --each 5 -o /dev/null");
    EXPECT_NE(foreign.code, 0);
    EXPECT_NE(foreign.output.find("--each"), std::string::npos) << foreign.output;
    const auto bad = runCommand(kBin + " stream a b --each 1 -o /dev/null");
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.output.find("--each"), std::string::npos) << bad.output;
}

// Without a loadable libsndfile (an empty file of its name first on the library path) soundstar
// still starts; a render fails naming the library and the package, writes nothing, and doctor
// reports it missing. What needs no audio file still works.
TEST(Cli, AMissingLibsndfileIsNamedAndNothingIsWritten) {
    TempDir dir;
    std::ofstream(dir / "libsndfile.so.1").close();
    const std::string env = "LD_LIBRARY_PATH='" + std::filesystem::path(dir / "libsndfile.so.1").parent_path().string() + "' ";
    const std::string out = dir / "x.wav";
    const auto render = runCommand(env + kBin + " render 'calm piano' -d 1 -q -o '" + out + "'");
    EXPECT_NE(render.code, 0) << render.output;
    EXPECT_NE(render.output.find("cannot load libsndfile.so.1"), std::string::npos) << render.output;
    EXPECT_NE(render.output.find("apt install libsndfile1"), std::string::npos) << render.output;
    EXPECT_FALSE(std::filesystem::exists(out));
    const auto doctor = runCommand(env + kBin + " doctor");
    EXPECT_NE(doctor.output.find("MISSING  libsndfile: cannot load libsndfile.so.1"), std::string::npos) << doctor.output;
    EXPECT_EQ(runCommand(env + kBin + " interpret 'calm piano'").code, 0);
}

// The command line under hostile input (issue #10): numbers that are NaN or out of range, files
// that never end, outputs that fail half-way, options that contradict each other. Every case
// must fail with a message naming the option, or succeed with what it says; no case may leave a
// partial file or touch an existing one. Files are read back with sox and python's jsonschema.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "Cli.h"
#include "music/MusicConfig.h"

using namespace soundstar::test;
namespace fs = std::filesystem;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Names of the regular files in a folder (to prove nothing else was left there).
std::vector<std::string> filesIn(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// sox's "RMS lev dB" of one channel of a file, or +inf when it cannot be read.
double rmsDb(const std::string& file, int channel) {
    const auto r = runCommand("sox " + quoted(file) + " -n remix " + std::to_string(channel) + " stats");
    const auto at = r.output.find("RMS lev dB");
    return at == std::string::npos ? INFINITY : std::stod(r.output.substr(at + 10));
}
}  // namespace

TEST(HardenedCli, NumbersMustBeFiniteAndInRangeAndTheMessageNamesTheOption) {
    TempDir dir;
    const std::vector<std::pair<std::string, std::string>> cases{
        {"--target-lufs nan", "--target-lufs: 'nan' is not a number"},
        {"--target-lufs -inf", "--target-lufs: '-inf' is not a number"},
        {"-d nan", "--duration: 'nan' is not a number"},
        {"-d 1e400", "--duration"},
        {"--ceiling-dbtp nan", "--ceiling-dbtp: 'nan' is not a number"},
        {"--sample-rate nan", "--sample-rate: 'nan' is not allowed: give a whole number from 8000 to 192000 Hz"},
        {"--sample-rate 44100.5", "--sample-rate: '44100.5' is not allowed"},
        {"--llm-timeout inf", "--llm-timeout: 'inf' is not a number"},
        {"--seed -1", "--seed: '-1' is not allowed: give a whole number from 0 to 18446744073709551615"},
        {"--seed 18446744073709551616", "--seed: '18446744073709551616' is not allowed"},
        {"--seed 12abc", "--seed: '12abc' is not allowed"},
        {"-d 0x10", "--duration: '0x10' is not a number"},
        {"-d .", "--duration: '.' is not a number"},
        {"-d 2e", "--duration: '2e' is not a number"},
        {"-d 2e1234", "--duration: '2e1234' is not a number"},
        {"-d 2.5.1", "--duration: '2.5.1' is not a number"},
        {"-d +", "--duration: '+' is not a number"},
        {"--seed ''", "--seed: '' is not allowed"},
    };
    for (const auto& [args, expect] : cases) {
        const auto r = runCommand(kBin + " render 'rain' -o " + quoted(dir / "a.wav") + " " + args);
        EXPECT_NE(r.code, 0) << args;
        EXPECT_NE(r.output.find(expect), std::string::npos) << args << "\n" << r.output;
    }
    EXPECT_TRUE(filesIn(dir / "").empty());
    // Every decimal form is read: a leading point, a trailing one, an exponent with its sign.
    for (const char* d : {".15e1", "2.", "+1.0", "20E-1"}) {
        const auto r = runCommand(kBin + " render 'rain' -q -d " + d + " -o " + quoted(dir / "d.wav"));
        EXPECT_EQ(r.code, 0) << d << "\n" << r.output;
        EXPECT_TRUE(std::filesystem::exists(dir / "d.wav")) << d;
        std::filesystem::remove(dir / "d.wav");
    }
    // The largest seed is a seed like any other.
    const auto ok = runCommand(kBin + " render 'rain' -d 1 -q --seed 18446744073709551615 --print-config -o " + quoted(dir / "s.wav"));
    ASSERT_EQ(ok.code, 0) << ok.output;
    EXPECT_NE(ok.output.find("\"seed\": 18446744073709551615"), std::string::npos) << ok.output;
}

TEST(HardenedCli, UnendingAndDeeplyNestedFilesAreRefused) {
    TempDir dir;
    const auto zero = runCommand("timeout 20 " + kBin + " render --config /dev/zero -o " + quoted(dir / "a.wav"));
    EXPECT_EQ(zero.code, 1) << zero.output;  // 124 would mean it read forever
    EXPECT_NE(zero.output.find("--config: /dev/zero is larger than the limit of 1048576 bytes"), std::string::npos) << zero.output;
    std::ofstream(dir / "deep.json") << R"({"genre": )" << std::string(100000, '[') << std::string(100000, ']') << "}";
    const auto deep = runCommand(kBin + " render --config " + quoted(dir / "deep.json") + " -o " + quoted(dir / "a.wav"));
    EXPECT_EQ(deep.code, 1) << deep.output;  // not a signal
    EXPECT_NE(deep.output.find("more than 64 levels"), std::string::npos) << deep.output;
    std::ofstream(dir / "deep_s.json") << std::string(100000, '[') << std::string(100000, ']');
    const auto ds = runCommand(kBin + " render rain --structure " + quoted(dir / "deep_s.json") + " -o " + quoted(dir / "a.wav"));
    EXPECT_EQ(ds.code, 1) << ds.output;
    EXPECT_NE(ds.output.find("structure: the JSON nests more than 64 levels"), std::string::npos) << ds.output;
    const auto up = runCommand(kBin + " render rain -o " + quoted(dir / "a.wav") + " --update '" + std::string(1000, '[') + "'");
    EXPECT_EQ(up.code, 1) << up.output;
    EXPECT_FALSE(fs::exists(dir / "a.wav"));
}

TEST(HardenedCli, EveryRouteToALengthObeysTheLimitBeforeAnyAudio) {
    TempDir dir;
    std::ofstream(dir / "s.json") << R"([{"section":"verse","duration":3600},{"section":"chorus","duration":3600}])";
    const auto s = runCommand(kBin + " render calm --structure " + quoted(dir / "s.json") + " -o " + quoted(dir / "a.wav"));
    EXPECT_EQ(s.code, 1);
    EXPECT_NE(s.output.find("would last 7200.0 s; allowed above 0, up to 3600 s"), std::string::npos) << s.output;
    const auto b = runCommand(kBin + " render calm --bars 2000 -o " + quoted(dir / "a.wav"));
    EXPECT_EQ(b.code, 1);
    EXPECT_NE(b.output.find("--bars 2000 at"), std::string::npos) << b.output;
    EXPECT_NE(b.output.find("the limit is 3600 s"), std::string::npos) << b.output;
    EXPECT_FALSE(fs::exists(dir / "a.wav"));
}

TEST(HardenedCli, AFailedWriteLeavesExistingFilesUntouchedAndNothingBehind) {
    TempDir dir;
    const std::string good = dir / "good.flac";
    ASSERT_EQ(runCommand(kBin + " render 'warm sunset' -d 3 -q -o " + quoted(good)).code, 0);
    const std::string before = readText(good);
    ASSERT_GT(before.size(), 10000u);
    // A file-size limit makes the main file's write fail part-way (SIGXFSZ ignored, so the write
    // returns EFBIG as a full disk would return ENOSPC); MIDI, stems and metadata come first.
    const auto r = runCommand("sh -c \"trap '' XFSZ; ulimit -f 64; exec " + kBin + " render 'warm sunset' -d 20 -q -o " + quoted(good) +
                              " --midi " + quoted(dir / "new.mid") + " --stems " + quoted(dir / "stems") + " --metadata " +
                              quoted(dir / "meta.json") + "\"");
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("cannot write " + (dir / "")), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(".part-"), std::string::npos) << "the message names the file asked for, not a temporary name";
    EXPECT_EQ(readText(good), before) << "the good file is untouched";
    EXPECT_EQ(filesIn(dir / ""), std::vector<std::string>{"good.flac"}) << "no MIDI, stems, metadata or temporary file left";
}

TEST(HardenedCli, WriteErrorsSayWhatHappened) {
    const auto full = runCommand(kBin + " render rain -d 2 -q -o /dev/full --format flac");
    EXPECT_EQ(full.code, 1);
    EXPECT_NE(full.output.find("cannot write /dev/full: No space left on device"), std::string::npos) << full.output;
    TempDir dir;
    const auto missing = runCommand(kBin + " render rain -d 2 -q -o " + quoted(dir / "no/such/a.wav"));
    EXPECT_NE(missing.output.find("the folder"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
}

TEST(HardenedCli, StandardOutputCarriesAWavThatSoxReads) {
    TempDir dir;
    const auto r = runCommand(kBin + " render rain -d 2 --sample-rate 48000 -q -o - > " + quoted(dir / "piped.wav"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto info = runCommand("soxi " + quoted(dir / "piped.wav"));
    EXPECT_NE(info.output.find("Sample Rate    : 48000"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("= 96000 samples"), std::string::npos) << info.output;
    EXPECT_LT(rmsDb(dir / "piped.wav", 1), -6.0);
    EXPECT_GT(rmsDb(dir / "piped.wav", 1), -40.0) << "music, not silence";
    // /dev/stdout is standard output too (never a temporary file in /dev renamed over it).
    ASSERT_EQ(runCommand(kBin + " render rain -d 1 -q -o /dev/stdout > " + quoted(dir / "dev.wav")).code, 0);
    EXPECT_NE(runCommand("soxi " + quoted(dir / "dev.wav")).output.find("= 44100 samples"), std::string::npos);
    EXPECT_TRUE(fs::is_symlink("/dev/stdout") || fs::is_character_file("/dev/stdout") || !fs::exists("/dev/stdout"));
    // A symbolic link is written through, even a dangling one: the link stays a link.
    fs::create_symlink(dir / "real.wav", dir / "link.wav");
    ASSERT_EQ(runCommand(kBin + " render rain -d 1 -q -o " + quoted(dir / "link.wav")).code, 0);
    EXPECT_TRUE(fs::is_symlink(dir / "link.wav"));
    EXPECT_NE(runCommand("soxi " + quoted(dir / "real.wav")).output.find("= 44100 samples"), std::string::npos);
    const auto both = runCommand(kBin + " render rain -d 2 -o - --print-config");
    EXPECT_NE(both.output.find("--print-config and -o - both write to standard output"), std::string::npos) << both.output;
}

TEST(HardenedCli, ContradictionsAreRefusedOrReported) {
    TempDir dir;
    std::ofstream(dir / "s.json") << R"([{"section":"verse","bars":4}])";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"-d 2 --format mp3 -o " + quoted(dir / "x.wav"), "--format mp3 does not match the name"},
        {"-d 2 -o " + quoted(dir / "x.wav") + " --midi " + quoted(dir / "x.wav"), "-o and --midi name the same file"},
        {"-d 2 -o " + quoted(dir / "x.wav") + " --metadata " + quoted(dir / "./x.wav"), "-o and --metadata name the same file"},
        {"-d 2 -o " + quoted(dir / "x.wav") + " --stems ''", "--stems: give a folder name"},
        {"-d 2 -o " + quoted(dir / "x.wav") + " --midi ''", "--midi: give a file name"},
        {"-o " + quoted(dir / "x.wav") + " -d 2 --structure " + quoted(dir / "s.json") + " --form loop", "--form loop cannot be used with --structure"},
        {"-o " + quoted(dir / "x.wav") + " --structure " + quoted(dir / "s.json") + " --bars 8", "--bars cannot be used with --structure"},
    };
    for (const auto& [args, expect] : cases) {
        const auto r = runCommand(kBin + " render rain " + args);
        EXPECT_EQ(r.code, 1) << args << "\n" << r.output;
        EXPECT_NE(r.output.find(expect), std::string::npos) << args << "\n" << r.output;
    }
    EXPECT_EQ(filesIn(dir / ""), std::vector<std::string>{"s.json"});
    // A loudness target the ceiling cannot reach is said plainly.
    const auto loud = runCommand(kBin + " render 'rainy night' -d 5 --target-lufs -6 -o " + quoted(dir / "loud.wav"));
    ASSERT_EQ(loud.code, 0) << loud.output;
    EXPECT_NE(loud.output.find("warning: the master reached"), std::string::npos) << loud.output;
    EXPECT_NE(loud.output.find("not the -6 LUFS asked"), std::string::npos) << loud.output;
}

TEST(HardenedCli, UnmasteredStemsSumToTheUnmasteredMixOnBothChannels) {
    TempDir dir;
    const auto r = runCommand(kBin + " render 'jazz cafe at midnight' -d 8 --no-master --format wav32f -q -o " + quoted(dir / "mix.wav") +
                              " --stems " + quoted(dir / "stems"));
    ASSERT_EQ(r.code, 0) << r.output;
    std::string inputs;
    for (const auto& f : filesIn(dir / "stems")) inputs += " -v 1 " + quoted(dir / ("stems/" + f));
    ASSERT_GE(filesIn(dir / "stems").size(), 3u);
    ASSERT_EQ(runCommand("sox -m" + inputs + " " + quoted(dir / "sum.wav")).code, 0);
    ASSERT_EQ(runCommand("sox -m -v 1 " + quoted(dir / "mix.wav") + " -v -1 " + quoted(dir / "sum.wav") + " " + quoted(dir / "diff.wav")).code, 0);
    for (int ch : {1, 2}) {
        const double mix = rmsDb(dir / "mix.wav", ch), diff = rmsDb(dir / "diff.wav", ch);
        EXPECT_LT(mix, -6.0) << "--no-master is not normalised";
        EXPECT_GT(mix, -50.0) << "the mix has music in it";
        EXPECT_LT(diff - mix, -60.0) << "channel " << ch << ": the stems sum to the mix";
    }
}

TEST(HardenedCli, ALoopKeepsItsTempoInRangeAndSaysWhatItUsed) {
    TempDir dir;
    std::ofstream(dir / "slow.json") << R"({"bpm": 40})";
    const auto r = runCommand(kBin + " render --config " + quoted(dir / "slow.json") + " -d 1 --loop --print-config -o " + quoted(dir / "l.wav"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("\"bpm\": 40.0"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("warning: a seamless loop is whole bars: 1 at 40 bpm last 6.000 s, not the 1 s asked"), std::string::npos) << r.output;
    EXPECT_NE(runCommand("soxi " + quoted(dir / "l.wav")).output.find("= 264600 samples"), std::string::npos) << "one bar at 40 bpm";
    // Two bars at 41.7 bpm fill 11.5 s exactly: a small move of the tempo, reported in the config.
    const auto n = runCommand(kBin + " render --config " + quoted(dir / "slow.json") + " -d 11.5 --loop --print-config -o " + quoted(dir / "m.wav"));
    ASSERT_EQ(n.code, 0) << n.output;
    const auto cfg = nlohmann::json::parse(n.output.substr(n.output.find('{'), n.output.rfind('}') - n.output.find('{') + 1));
    EXPECT_NEAR(cfg["bpm"].get<double>(), 2 * 4 * 60.0 / 11.5, 1e-6) << "the printed config holds the tempo used";
    EXPECT_NE(runCommand("soxi " + quoted(dir / "m.wav")).output.find("= 507150 samples"), std::string::npos) << "11.5 s exactly";
}

// The schema must accept exactly what the program accepts: configs generated from the schema's
// own values and their near misses, judged by an independent validator (Debian's python3
// jsonschema) and by the program.
TEST(HardenedCli, TheSchemaAcceptsExactlyWhatTheProgramAccepts) {
    TempDir dir;
    const auto schema = nlohmann::json::parse(runCommand(kBin + " schema 2>/dev/null").output);
    std::ofstream(dir / "schema.json") << schema.dump();
    using J = nlohmann::json;
    std::vector<J> configs;
    const std::vector<std::string> tonics{"c", "C", "c#", "Db", "c sharp", "C Flat", "f\u266F", "B\u266D", "c_", "h", "cb", "E#", "bb", "", "c #", "csharp"};
    const std::vector<std::string> modes{"major", "Minor", "HARMONIC MINOR", "harmonic_minor", "natural minor", "pentatonic", "min", "aeolian",
                                         "harmonic-minor", "minorish", "", "blorp", "dorian ", "Lydian"};
    for (const auto& [name, p] : schema["properties"].items()) {
        std::vector<J> values{nullptr, true, 3, -1, "", "x", J::array(), J::object()};
        if (p.contains("enum"))
            for (const auto& e : p["enum"]) values.push_back(e), values.push_back(e.get<std::string>() + "s");
        if (p.contains("minimum")) {
            const double lo = p["minimum"].get<double>(), hi = p.contains("maximum") ? p["maximum"].get<double>() : 1e6;
            for (double v : {lo, hi, lo - 1, hi + 1, lo - 0.001, (lo + hi) / 2, std::floor((lo + hi) / 2) + 0.5, 1e308}) values.push_back(v);
            if (p["type"] == "integer") values.push_back(static_cast<double>(static_cast<long long>(std::min(hi, 1e15)))), values.push_back(1.0);
        }
        if (name == "seed") values.push_back(J::parse("18446744073709551615")), values.push_back(J::parse("18446744073709551616"));
        if (p.contains("maxLength")) values.push_back(std::string(200, 'a')), values.push_back(std::string(201, 'a'));
        if (p["type"] == "array") values.push_back(J::array({"piano"})), values.push_back(J::array({1})), values.push_back(J(std::vector<std::string>(33, "p")));
        if (name == "root") for (const auto& t : tonics) values.push_back(t);
        if (name == "mode") for (const auto& m : modes) values.push_back(m);
        if (name == "key")
            for (const auto& t : tonics) {
                values.push_back(t);
                for (const auto& m : modes) values.push_back(t + " " + m);
            }
        for (const auto& v : values) configs.push_back(J{{name, v}});
    }
    for (int lo = 0; lo <= 9; ++lo)
        for (int hi = 0; hi <= 9; ++hi) configs.push_back(J{{"register_min_oct", lo}, {"register_max_oct", hi}});
    {
        std::ofstream out(dir / "configs.jsonl");
        for (const auto& c : configs) out << c.dump() << "\n";
    }
    std::ofstream(dir / "judge.py") << "import json, sys\nfrom jsonschema import Draft202012Validator\n"
                                       "v = Draft202012Validator(json.load(open(sys.argv[1])))\n"
                                       "for line in open(sys.argv[2]):\n    print(1 if v.is_valid(json.loads(line)) else 0)\n";
    const auto judged = runCommand("/usr/bin/python3 " + quoted(dir / "judge.py") + " " + quoted(dir / "schema.json") + " " + quoted(dir / "configs.jsonl"));
    ASSERT_EQ(judged.code, 0) << judged.output.substr(0, 2000) << "\n(needs Debian's python3-jsonschema; scripts/setup installs it)";
    ASSERT_EQ(judged.output.size(), configs.size() * 2) << judged.output.substr(0, 2000);
    // The program's verdicts: the parser every --config, --update and LLM answer goes through.
    int accepted = 0, mismatches = 0;
    for (std::size_t i = 0; i < configs.size(); ++i) {
        bool program = true;
        try {
            soundstar::music::parseMusicConfig(configs[i].dump());
        } catch (const std::invalid_argument&) {
            program = false;
        }
        const bool schemaSays = judged.output[2 * i] == '1';
        accepted += program;
        if (program != schemaSays && ++mismatches <= 20)
            ADD_FAILURE() << configs[i].dump() << ": program " << (program ? "accepts" : "refuses") << ", schema "
                          << (schemaSays ? "accepts" : "refuses");
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_GT(accepted, 200) << "the generated set holds many valid configs";
    EXPECT_LT(accepted, static_cast<int>(configs.size()) - 200) << "and many invalid ones";
}

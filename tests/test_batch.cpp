// `soundstar batch` (issue #13): the job-line parser and its schema, then the command end to end:
// bad lines are reported with their line numbers while the other lines render, every file is the
// one `render` writes for the same job (byte for byte, whatever -j), outputs stay inside the
// output folder, and the bounds are enforced with the limit named. Files are read back with sox
// and cmp; the schema is judged by python's jsonschema.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "Cli.h"
#include "batch/JobSpec.h"

using namespace soundstar;
using namespace soundstar::test;
namespace fs = std::filesystem;

namespace {
const std::string kBin = SOUNDSTAR_BIN;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string errorOf(const std::string& line) {
    try {
        batch::parseJobLine(line);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

bool sameBytes(const std::string& a, const std::string& b) {
    return runCommand("cmp " + quoted(a) + " " + quoted(b)).code == 0 && fs::file_size(a) > 1000;
}

void writeLines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path);
    for (const auto& l : lines) out << l << "\n";
}

// The non-hidden entries of a folder, recursively, relative to it.
std::vector<std::string> visibleFiles(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

TEST(JobSpec, ReadsEveryFieldAndKeepsRenderDefaultsForTheRest) {
    const auto j = batch::parseJobLine(
        R"({"prompt":"rainy night","config":{"bpm":90},"update":{"brightness":"+1"},"duration":12.5,"seed":18446744073709551615,)"
        R"("format":"flac","sample_rate":48000,"target_lufs":-16,"no_master":true,"stems":true,"midi":true,"output":"night/rain"})");
    EXPECT_EQ(j.prompt, "rainy night");
    EXPECT_EQ(nlohmann::json::parse(j.configJson)["bpm"], 90);
    EXPECT_EQ(nlohmann::json::parse(j.updateJson)["brightness"], "+1");
    EXPECT_EQ(*j.durationSeconds, 12.5);
    EXPECT_EQ(*j.seed, 18446744073709551615ull);
    EXPECT_EQ(j.format, "flac");
    EXPECT_EQ(*j.sampleRateHz, 48000.0);
    EXPECT_EQ(*j.targetLufs, -16.0);
    EXPECT_TRUE(j.noMaster && j.stems && j.midi);
    EXPECT_EQ(batch::outputName(j, "x"), "night/rain.flac") << "the format gives the extension";
    EXPECT_EQ(batch::midiName("night/rain.flac"), "night/rain.mid");
    EXPECT_EQ(batch::stemsName("night/rain.flac"), "night/rain.stems");
    const auto d = batch::parseJobLine(R"({"prompt":"x"})");
    EXPECT_FALSE(d.durationSeconds || d.seed || d.sampleRateHz || d.targetLufs);
    EXPECT_EQ(batch::outputName(d, "job-0007"), "job-0007.wav");
}

TEST(JobSpec, BadLinesSayWhichFieldAndWhatIsAllowed) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"prompt":"x","duration":5000})", "field 'duration' = 5000 is invalid: allowed a number from 1 to 3600"},
        {R"({"prompt":"x","duration":"long"})", "field 'duration' = \"long\" is invalid: allowed a number from 1 to 3600, not a string"},
        {R"({"prompt":"x","seed":-3})", "field 'seed' = -3 is invalid: allowed a whole number from 0 to 18446744073709551615"},
        {R"({"prompt":"x","seed":1.5})", "field 'seed'"},
        {R"({"prompt":"x","sample_rate":44100.5})", "field 'sample_rate' = 44100.5 is invalid: allowed a whole number from 8000 to 192000"},
        {R"({"prompt":"x","format":"aiff"})", "field 'format' = \"aiff\" is invalid: allowed one of wav, wav24, wav32f, flac, ogg, mp3"},
        {R"({"prompt":"x","stems":"yes"})", "field 'stems' = \"yes\" is invalid: allowed true or false"},
        {R"({"prompt":"x","colour":"red"})", "unknown field \"colour\"; fields: prompt, config, update, duration"},
        {R"({"prompt":"x","config":{"tempo":"warp"}})", "'tempo'"},
        {R"({"prompt":"x","config":[1]})", "field 'config' = [1] is invalid: allowed a MusicConfig object"},
        {R"({"prompt":"x","update":{"brightness":"+x"}})", "brightness"},
        {R"({"duration":3})", "a job needs a non-empty \"prompt\" or a \"config\""},
        {R"({"prompt":""})", "a job needs a non-empty \"prompt\""},
        {R"(["prompt"])", "a job is a JSON object"},
        {R"({"prompt":"x")", "not valid JSON"},
        {R"({"prompt":"x","output":"a.flac","format":"mp3"})", "field 'format' \"mp3\" does not match the output \"a.flac\""},
        {R"({"prompt":"x","output":"a.txt"})", "has an unknown extension"},
    };
    for (const auto& [line, expect] : cases) {
        const auto e = errorOf(line);
        EXPECT_NE(e.find(expect), std::string::npos) << line << "\n got: " << e;
        EXPECT_LT(e.size(), 2000u);
    }
}

TEST(JobSpec, OutputNamesStayInsideTheOutputFolder) {
    for (const std::string& bad : std::vector<std::string>{"../x.wav", "a/../../x.wav", "/etc/x.wav", "a//b.wav", "a/", ".hidden.wav", "a/.x.wav", "a\\b.wav", "a b.wav",
                                  "x\n.wav", "caf\xc3\xa9.wav", "..", "."}) {
        const auto e = errorOf(nlohmann::json{{"prompt", "x"}, {"output", bad}}.dump());
        EXPECT_NE(e.find("field 'output'"), std::string::npos) << bad << ": " << e;
        EXPECT_NE(e.find("is not allowed"), std::string::npos) << bad << ": " << e;
    }
    EXPECT_NE(errorOf(nlohmann::json{{"prompt", "x"}, {"output", std::string(201, 'a')}}.dump()).find("at most 200 bytes"), std::string::npos);
    EXPECT_NE(errorOf(nlohmann::json{{"prompt", "x"}, {"output", "a/b/c/d/e/f/g/h/i/x.wav"}}.dump()).find("more than 8 folders"), std::string::npos);
    EXPECT_EQ(errorOf(nlohmann::json{{"prompt", "x"}, {"output", "a/b/c/d/e/f/g/h/x.wav"}}.dump()), "");
    EXPECT_EQ(errorOf(R"({"prompt":"x","output":"Night_2+1/rain-3.v2.wav"})"), "");
    const std::string tooLong = R"({"prompt":")" + std::string(batch::kMaxLineBytes, 'a') + "\"}";
    EXPECT_NE(errorOf(tooLong).find("the limit is 65536 bytes per job"), std::string::npos);
    EXPECT_NE(errorOf(R"({"prompt":")" + std::string(batch::kMaxPromptBytes + 1, 'a') + "\"}").find("at most 10000 bytes"), std::string::npos);
}

// data/batch_job.schema.json is what the program generates, and an independent validator
// (Debian's python3 jsonschema) accepts exactly the lines the parser accepts, on values drawn
// from the schema's own bounds and their near misses.
TEST(JobSpec, TheSchemaFileIsGeneratedAndAgreesWithTheParser) {
    EXPECT_EQ(readText(std::string(SOUNDSTAR_DATA) + "/batch_job.schema.json"), batch::jobSchema()) << "run: soundstar schema --job > data/batch_job.schema.json";
    TempDir dir;
    using J = nlohmann::json;
    const auto schema = J::parse(batch::jobSchema());
    std::ofstream(dir / "schema.json") << schema.dump();
    std::vector<J> lines;
    for (const auto& [name, p] : schema["properties"].items()) {
        if (name == "update") continue;  // an object whose steps depend on the config: the parser checks more than a schema can
        std::vector<J> values{nullptr, true, false, 3, -1, 0.5, "", "x", J::array(), J::object(), J{{"bpm", 90}}, J{{"bpm", 900}}};
        if (p.contains("enum"))
            for (const auto& e : p["enum"]) values.push_back(e), values.push_back(e.get<std::string>() + "s");
        if (p.contains("minimum")) {
            const double lo = p["minimum"].get<double>(), hi = p["maximum"].get<double>();
            for (double v : {lo, hi, lo - 1, hi + 1, lo - 0.001, (lo + hi) / 2, std::floor((lo + hi) / 2) + 0.5, 1e308}) values.push_back(v);
        }
        if (name == "seed") values.push_back(J::parse("18446744073709551615")), values.push_back(J::parse("18446744073709551616"));
        if (name == "prompt") values.push_back(std::string(10000, 'a')), values.push_back(std::string(10001, 'a'));
        if (name == "output")
            for (const std::string& o : std::vector<std::string>{"a", "a/b", "a/b/c/d/e/f/g/h/i", "a/b/c/d/e/f/g/h/i/j", "../a", "a/..", "/a", "a//b", "a/", ".a", "a/.b", "a b", "a.b.c",
                                        "-a", "a+b", std::string(200, 'a'), std::string(201, 'a')})
                values.push_back(o);
        for (const auto& v : values) lines.push_back(name == "prompt" ? J{{name, v}} : J{{"prompt", "x"}, {name, v}});
    }
    lines.push_back(J{{"config", J::object()}});
    lines.push_back(J::object());
    {
        std::ofstream out(dir / "lines.jsonl");
        for (const auto& l : lines) out << l.dump() << "\n";
    }
    std::ofstream(dir / "judge.py") << "import json, sys\nfrom jsonschema import Draft202012Validator\n"
                                       "v = Draft202012Validator(json.load(open(sys.argv[1])))\n"
                                       "for line in open(sys.argv[2]):\n    print(1 if v.is_valid(json.loads(line)) else 0)\n";
    const auto judged = runCommand("/usr/bin/python3 " + quoted(dir / "judge.py") + " " + quoted(dir / "schema.json") + " " + quoted(dir / "lines.jsonl"));
    ASSERT_EQ(judged.code, 0) << judged.output.substr(0, 2000) << "\n(needs Debian's python3-jsonschema)";
    ASSERT_EQ(judged.output.size(), lines.size() * 2);
    int accepted = 0, mismatches = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const bool program = errorOf(lines[i].dump()).empty();
        const bool schemaSays = judged.output[2 * i] == '1';
        accepted += program;
        if (program != schemaSays && ++mismatches <= 20)
            ADD_FAILURE() << lines[i].dump().substr(0, 200) << ": program " << (program ? "accepts" : "refuses") << ", schema " << (schemaSays ? "accepts" : "refuses");
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_GT(accepted, 40);
    EXPECT_LT(accepted, static_cast<int>(lines.size()) - 60);
}

// A batch with bad lines among good ones: each bad line is named with its number on stderr and
// in the table, the good lines render (sox reads them at their length), the exit status is 1.
TEST(BatchCli, BadLinesAreReportedWithTheirNumbersAndTheRestRender) {
    TempDir dir;
    writeLines(dir / "jobs.jsonl", {
                                       R"({"prompt":"warm sunset over water","duration":2,"seed":1,"output":"sunset.wav"})",
                                       "",
                                       R"({"prompt":"techno","duration":5000})",
                                       "# a comment line",
                                       R"({"config":{"genre":"jazz"},"duration":1.5,"format":"flac"})",
                                       "not json at all",
                                       R"({"prompt":"rain","duration":1,"output":"../escape.wav"})",
                                       R"({"prompt":"rain","duration":1,"output":"sunset.wav"})",
                                       R"({"prompt":"rain","duration":1,"output":"deep/er/rain.ogg"})",
                                   });
    const auto r = runCommandSplit(kBin + " batch " + quoted(dir / "jobs.jsonl") + " -o " + quoted(dir / "out") + " -j 2 --report " + quoted(dir / "report.jsonl"));
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("line 3: field 'duration' = 5000 is invalid"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 6: job: not valid JSON"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 7: field 'output' \"../escape.wav\" is not allowed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 8: sunset.wav is already written by the job on line 1"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("7 jobs: 3 rendered, 4 failed (lines 3, 6, 7, 8)"), std::string::npos) << r.out;
    EXPECT_EQ(visibleFiles(dir / "out"), (std::vector<std::string>{"deep/er/rain.ogg", "job-0005.flac", "sunset.wav"}));
    EXPECT_FALSE(fs::exists(dir / "escape.wav"));
    EXPECT_EQ(soxInfo(dir / "out/sunset.wav").frames, 2 * 44100);
    EXPECT_EQ(soxInfo(dir / "out/job-0005.flac").frames, 66150);
    EXPECT_EQ(soxInfo(dir / "out/deep/er/rain.ogg").frames, 44100);
    EXPECT_GT(soxStats(dir / "out/sunset.wav").rmsDb, -40.0);
    // The report: one line per job, in file order.
    std::ifstream report(dir / "report.jsonl");
    std::vector<nlohmann::json> rows;
    for (std::string l; std::getline(report, l);) rows.push_back(nlohmann::json::parse(l));
    ASSERT_EQ(rows.size(), 7u);
    EXPECT_EQ(rows[0]["line"], 1);
    EXPECT_TRUE(rows[0]["ok"]);
    EXPECT_NEAR(rows[0]["lufs"].get<double>(), -14.0, 1.0);
    EXPECT_EQ(rows[1]["line"], 3);
    EXPECT_FALSE(rows[1]["ok"]);
    EXPECT_NE(rows[1]["error"].get<std::string>().find("duration"), std::string::npos);
}

// Every file a batch writes is the file `render` writes for the same job, with -j 1 and -j 2.
TEST(BatchCli, FilesAreByteIdenticalToRenderWhateverTheParallelism) {
    TempDir dir;
    std::ofstream(dir / "cfg.json") << R"({"genre":"dub","bpm":140})";
    writeLines(dir / "jobs.jsonl", {
                                       R"({"prompt":"melancholic rainy night","duration":3,"seed":42,"output":"a.wav"})",
                                       R"({"prompt":"energetic techno","config":{"genre":"dub","bpm":140},"duration":2,"output":"b.flac","midi":true,"stems":true})",
                                       R"({"config":{"genre":"dub","bpm":140},"update":{"brightness":"+2"},"duration":2,"format":"wav24","output":"c","target_lufs":-18})",
                                       R"({"prompt":"calm piano","duration":2,"sample_rate":48000,"no_master":true,"output":"d.wav"})",
                                   });
    for (const char* j : {"1", "2"}) {
        const auto r = runCommandSplit(kBin + " batch " + quoted(dir / "jobs.jsonl") + " -q -o " + quoted(dir / ("out" + std::string(j))) + " -j " + j);
        ASSERT_EQ(r.code, 0) << r.err << r.out;
        EXPECT_EQ(r.err, "") << "-q prints nothing on stderr";
    }
    const std::vector<std::pair<std::string, std::string>> renders{
        {"a.wav", "render 'melancholic rainy night' -d 3 --seed 42"},
        {"b.flac", "render 'energetic techno' --config " + quoted(dir / "cfg.json") + " -d 2 --midi " + quoted(dir / "b.mid") + " --stems " + quoted(dir / "bs")},
        {"c.wav", "render --config " + quoted(dir / "cfg.json") + " --update '{\"brightness\":\"+2\"}' -d 2 --format wav24 --target-lufs -18"},
        {"d.wav", "render 'calm piano' -d 2 --sample-rate 48000 --no-master"},
    };
    for (const auto& [name, args] : renders) {
        const auto r = runCommand(kBin + " " + args + " -q -o " + quoted(dir / name));
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_TRUE(sameBytes(dir / name, dir / ("out1/" + name))) << name << " -j 1";
        EXPECT_TRUE(sameBytes(dir / name, dir / ("out2/" + name))) << name << " -j 2";
    }
    EXPECT_GT(readText(dir / "b.mid").size(), 100u);
    EXPECT_EQ(readText(dir / "b.mid"), readText(dir / "out2/b.mid"));
    EXPECT_EQ(runCommand("cmp " + quoted(dir / "bs/drums.wav") + " " + quoted(dir / "out2/b.stems/drums.wav")).code, 0);
    EXPECT_EQ(soxInfo(dir / "out2/c.wav").encoding, "24-bit Signed Integer PCM");
}

TEST(BatchCli, BoundsAreEnforcedWithTheLimitNamed) {
    TempDir dir;
    {
        std::ofstream out(dir / "many.jsonl");
        for (std::size_t i = 0; i <= batch::kMaxJobs; ++i) out << R"({"prompt":"x","duration":1})" << "\n";
    }
    auto r = runCommandSplit(kBin + " batch " + quoted(dir / "many.jsonl") + " -o " + quoted(dir / "out"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("has more than 10000 jobs (at line 10001); the limit is 10000 jobs per batch"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << "nothing is rendered (or created) when the file is refused";
    // A line over 64 KiB is one failed job, not the end of the batch.
    {
        std::ofstream out(dir / "long.jsonl");
        out << R"({"prompt":")" << std::string(100000, 'a') << "\"}\n" << R"({"prompt":"x","duration":1,"output":"ok.wav"})" << "\n";
    }
    r = runCommandSplit(kBin + " batch " + quoted(dir / "long.jsonl") + " -o " + quoted(dir / "out2"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("line 1: the line is longer than 65536 bytes, the limit per job"), std::string::npos) << r.err;
    EXPECT_EQ(soxInfo(dir / "out2/ok.wav").frames, 44100);
    // A symbolic link inside the output folder may not lead a job outside it.
    fs::create_directories(dir / "out3");
    fs::create_directories(dir / "elsewhere");
    fs::create_symlink(dir / "elsewhere", dir / "out3/link");
    std::ofstream(dir / "link.jsonl") << R"({"prompt":"x","duration":1,"output":"link/x.wav"})" << "\n";
    r = runCommandSplit(kBin + " batch " + quoted(dir / "link.jsonl") + " -o " + quoted(dir / "out3"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("would be written outside the output folder"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
    // No jobs at all, and a missing file.
    std::ofstream(dir / "empty.jsonl") << "\n# nothing\n";
    r = runCommandSplit(kBin + " batch " + quoted(dir / "empty.jsonl") + " -o " + quoted(dir / "out4"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("has no jobs"), std::string::npos) << r.err;
    r = runCommandSplit(kBin + " batch " + quoted(dir / "missing.jsonl") + " -o " + quoted(dir / "out4"));
    EXPECT_NE(r.err.find("cannot read the jobs file"), std::string::npos) << r.err;
}

// A job whose render process dies is that job's failure; the others still render.
TEST(BatchCli, AJobThatFailsWhileRenderingFailsAloneWithItsReason) {
    TempDir dir;
    fs::create_directories(dir / "out/taken.wav");  // a folder where the file should go
    writeLines(dir / "jobs.jsonl", {R"({"prompt":"x","duration":1,"output":"taken.wav"})", R"({"prompt":"y","duration":1,"output":"fine.wav"})"});
    const auto r = runCommandSplit(kBin + " batch " + quoted(dir / "jobs.jsonl") + " -o " + quoted(dir / "out") + " -j 2");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("line 1: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("2 jobs: 1 rendered, 1 failed (lines 1)"), std::string::npos) << r.out;
    EXPECT_EQ(soxInfo(dir / "out/fine.wav").frames, 44100);
}

// generator / generator_gain in a job line (render --generator): an installed model's name, never
// a folder; the gain needs a generator; each refusal names the field and what is allowed.
TEST(JobSpec, GeneratorIsAnInstalledModelsNameAndItsGainNeedsIt) {
    const auto j = batch::parseJobLine(R"({"prompt":"x","generator":"procedural","generator_gain":-6.5})");
    EXPECT_EQ(j.generator, "procedural");
    ASSERT_TRUE(j.generatorGainDb);
    EXPECT_EQ(*j.generatorGainDb, -6.5);
    EXPECT_EQ(batch::parseJobLine(R"({"prompt":"x"})").generator, "");
    for (const char* bad : {R"("../models/x")", R"("/tmp/model")", R"("")", R"(".hidden")", R"("a b")", R"(7)"}) {
        const auto e = errorOf(std::string(R"({"prompt":"x","generator":)") + bad + "}");
        EXPECT_NE(e.find("field 'generator'"), std::string::npos) << bad << ": " << e;
        EXPECT_NE(e.find("an installed model's name: 1 to 100 letters, digits and ._+- (not starting with a dot; no folders)"), std::string::npos) << e;
    }
    EXPECT_NE(errorOf(R"({"prompt":"x","generator":")" + std::string(101, 'a') + R"("})").find("1 to 100"), std::string::npos);
    EXPECT_NE(errorOf(R"({"prompt":"x","generator":"procedural","generator_gain":13})").find("field 'generator_gain' = 13 is invalid: allowed a number from -30 to 12"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"prompt":"x","generator_gain":-3})").find("field 'generator_gain' needs a \"generator\""), std::string::npos);
}

// A job line with a generator renders the file `render --generator` writes (byte for byte), its
// report row says what the layer is, and its stems hold the generated one as _generated.wav; a line
// naming a model that is not installed fails alone, with its line number and what is installed.
TEST(BatchCli, AGeneratorLineAddsTheLayerAndABadModelFailsOnlyItsLine) {
    TempDir dir;
    writeLines(dir / "jobs.jsonl", {
                                       R"({"prompt":"warm deep house","duration":8,"seed":3,"no_master":true,"format":"wav32f","output":"plain.wav"})",
                                       R"({"prompt":"warm deep house","duration":8,"seed":3,"generator":"no-such-model","output":"bad.wav"})",
                                       R"({"prompt":"warm deep house","duration":8,"seed":3,"no_master":true,"format":"wav32f","generator":"procedural","generator_gain":0,"stems":true,"output":"gen.wav"})",
                                   });
    const auto r = runCommandSplit(kBin + " batch " + quoted(dir / "jobs.jsonl") + " -o " + quoted(dir / "out") + " -j 2 --report " + quoted(dir / "report.jsonl"));
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("line 2: generator 'no-such-model' is not an installed model"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("procedural"), std::string::npos) << "the error lists what is installed: " << r.err;
    EXPECT_NE(r.out.find("3 jobs: 2 rendered, 1 failed (lines 2)"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir / "out/bad.wav"));
    std::ifstream report(dir / "report.jsonl");
    std::vector<nlohmann::json> rows;
    for (std::string l; std::getline(report, l);) rows.push_back(nlohmann::json::parse(l));
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_FALSE(rows[0].contains("generated"));
    EXPECT_NE(rows[2].value("generated", std::string()).find("generated layer: a 4-bar loop"), std::string::npos) << rows[2].dump();
    // The same file render writes, and the mix less the plain render is the generated stem (float
    // WAVs: an unmastered sum may pass full scale).
    const auto same = runCommand(kBin + " render 'warm deep house' -d 8 --seed 3 --no-master --format wav32f --generator procedural --generator-gain 0 -q -o " + quoted(dir / "gen.wav"));
    ASSERT_EQ(same.code, 0) << same.output;
    EXPECT_TRUE(sameBytes(dir / "gen.wav", dir / "out/gen.wav"));
    const auto gen = dir / "out/gen.stems/_generated.wav";
    EXPECT_EQ(soxInfo(gen).frames, soxInfo(dir / "out/plain.wav").frames);
    const auto diff = runCommand("ffmpeg -hide_banner -nostats -i " + quoted(dir / "out/gen.wav") + " -i " + quoted(dir / "out/plain.wav") + " -i " + quoted(gen) +
                                 " -filter_complex '[0:a][1:a][2:a]amerge=inputs=3,aformat=sample_fmts=flt,pan=stereo|c0=c0-c2-c4|c1=c1-c3-c5,"
                                 "aformat=sample_fmts=flt,astats=measure_overall=Peak_level:measure_perchannel=none' -f null -");
    EXPECT_LT(numberIn(diff.output, R"(Peak level dB:\s+(-?[0-9.]+|-inf))"), -100.0) << diff.output;
    EXPECT_GT(soxStats(gen).rmsDb, -40.0) << "the generated layer is there";
}

// MusicGen's language model on ggml (issue #12) against a hand-written PyTorch reference of the
// same architecture (tests/models/musicgen_reference.py: random weights made at run time, greedy
// decoding in float64 without a KV cache), converted by tools/musicgen_to_gguf.py: the same
// greedy codes step for step, logits within tolerance; seeded sampling, settings and cancel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "ModelRef.h"
#include "models/ModelWorker.h"
#include "models/WorkerSupervisor.h"
#include "models/ggml/MusicgenLm.h"

namespace fs = std::filesystem;
using namespace soundstar;
using namespace soundstar::test;

namespace {

fs::path scratch() {
    static const fs::path dir = scratchDir("musicgen");
    return dir;
}

// References are made once per version of the scripts and kept in the build folder (ctest runs
// each test in its own process).
fs::path referenceCache() {
    return test::referenceCache({"models/musicgen_reference.py", "../tools/musicgen_to_gguf.py", "../tools/encodec_to_gguf.py",
                                 "models/encodec_reference.py", "models/t5_reference.py", "../tools/t5_to_gguf.py"});
}

// The reference for `size` with `guidance`, converted to `type` (lm-TYPE.gguf beside it).
fs::path reference(const std::string& size, const std::string& guidance, const std::string& type) {
    const auto dir = referenceCache() / (size + "-g" + guidance);
    makeOnce(dir, "musicgen.pt", [&](const fs::path& tmp) {
        mustRun(kPython + " " + kTests + "/models/musicgen_reference.py --out " + tmp.string() + " --size " + size + " --guidance " + guidance);
    });
    const auto gguf = dir / ("lm-" + type + ".gguf");
    if (fs::exists(gguf)) return gguf;
    const auto tmp = fs::path(gguf.string() + ".tmp" + std::to_string(::getpid()));
    mustRun(kPython + " " + kTools + "/musicgen_to_gguf.py " + (dir / "musicgen.pt").string() + " " + (dir / "config.json").string() + " " +
            tmp.string() + " --type " + type);
    fs::rename(tmp, gguf);
    return gguf;
}

struct Run {
    std::vector<std::int32_t> codes;
    std::vector<float> logits;
};

Run runGreedy(const fs::path& gguf, double guidance, int threads = 2) {
    models::MusicgenLm lm(gguf, threads);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    const int tokens = static_cast<int>(text.size() / lm.config().textHiddenSize);
    models::SamplingSettings s;
    s.topK = 1;
    s.guidanceScale = guidance;
    Run r;
    r.codes = lm.generate(text, tokens, 30, s, {}, nullptr, &r.logits);
    return r;
}

double maxAbs(const std::vector<float>& a) {
    double m = 0;
    for (float v : a) m = std::max(m, static_cast<double>(std::fabs(v)));
    return m;
}

void expectMatchesTorch(const fs::path& gguf, double guidance) {
    const auto want = readRaw<std::int32_t>(gguf.parent_path() / "codes.i32");
    const auto wantLogits = readRaw<float>(gguf.parent_path() / "logits.f32");
    const auto got = runGreedy(gguf, guidance);
    ASSERT_EQ(got.codes.size(), want.size());
    int same = 0;
    for (std::size_t i = 0; i < want.size(); ++i) same += got.codes[i] == want[i];
    EXPECT_EQ(same, static_cast<int>(want.size())) << "greedy codes differ from torch's";
    ASSERT_EQ(got.logits.size(), wantLogits.size());
    double diff = 0;
    for (std::size_t i = 0; i < wantLogits.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(got.logits[i] - wantLogits[i])));
    const double peak = maxAbs(wantLogits);
    std::printf("%s: %zu codes equal, max logit diff %.3g (peak %.3g)\n", gguf.filename().c_str(), want.size(), diff, peak);
    EXPECT_GT(peak, 1.0) << "flat logits would prove little";
    EXPECT_LT(diff, 2e-3) << "peak " << peak;
}

std::string loadError(const fs::path& gguf) { return test::loadError<models::MusicgenLm>(gguf); }


// A whole musicgen folder of tiny random parts that fit together: EnCodec (2 codebooks of 64,
// hop 8, at 8 kHz: 1000 frames a second), the "pipeline" LM, the tiny T5 and a SentencePiece
// model trained by spm_train. Made once per run.
fs::path musicgenFolder() {
    const auto done = referenceCache() / "musicgen-tiny";
    makeOnce(done, "manifest.json", [](const fs::path& dir) {
        const auto work = scratch() / "parts";
        const auto run = mustRun;
        fs::create_directories(dir);
        run(kPython + " " + kTests + "/models/encodec_reference.py --no-reference --size tiny --out " + (work / "encodec").string());
        run(kPython + " -c \"import json; p='" + (work / "encodec" / "config.json").string() +
            "'; c=json.load(open(p)); c['sampling_rate']=8000; json.dump(c, open(p, 'w'))\"");
        run(kPython + " " + kTools + "/encodec_to_gguf.py " + (work / "encodec" / "encodec.pt").string() + " " + (work / "encodec" / "config.json").string() + " " +
            (dir / "encodec.gguf").string());
        run(kPython + " " + kTests + "/models/musicgen_reference.py --size pipeline --frames 4 --out " + (work / "lm").string());
        run(kPython + " " + kTools + "/musicgen_to_gguf.py " + (work / "lm" / "musicgen.pt").string() + " " + (work / "lm" / "config.json").string() + " " +
            (dir / "lm.gguf").string());
        run(kPython + " " + kTests + "/models/t5_reference.py --size tiny --ids 1 --out " + (work / "t5").string());
        run(kPython + " " + kTools + "/t5_to_gguf.py " + (work / "t5" / "t5.pt").string() + " " + (work / "t5" / "config.json").string() + " " + (dir / "t5.gguf").string());
        std::ofstream corpus(work / "corpus.txt");
        for (int i = 0; i < 300; ++i) corpus << (i % 3 ? "warm analog pads " : "dusty drums and bass ") << i % 17 << "\n";
        corpus.close();
        run(fmt::format("spm_train --input={} --model_prefix={} --vocab_size=60 --hard_vocab_limit=false --model_type=unigram --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --minloglevel=2",
                        (work / "corpus.txt").string(), (dir / "spiece").string()));
        std::ofstream(dir / "manifest.json") << R"({"name": "musicgen-tiny", "kind": "musicgen", "sample_rate": 8000, "quantization": "f32",
            "weights": "encodec.gguf", "parameter_count": 100000, "parameters": {"top_k": 20, "temperature": 1.0, "default_guidance": 3.0}})";
    });
    return done;
}

// The tiny folder with a short window (100 frames, 0.1 s; each next window adds 60 after the
// last 40), so that three windows and more are quick.
fs::path windowedFolder(const std::string& parameters = R"("window_seconds": 0.1, "extend_stride": 0.06)") {
    const auto dir = scratch() / ("windowed-" + std::to_string(std::hash<std::string>{}(parameters)));
    if (fs::exists(dir / "manifest.json")) return dir;
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(musicgenFolder())) fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
    std::ofstream(dir / "manifest.json") << R"({"name": "musicgen-tiny", "kind": "musicgen", "sample_rate": 8000, "quantization": "f32",
        "weights": "encodec.gguf", "parameter_count": 100000, "parameters": {"top_k": 20, )" + parameters + "}}";
    return dir;
}

std::string generateCommand(const fs::path& dir, const std::string& extra, const fs::path& out) {
    return std::string(SOUNDSTAR_BIN) + " generate 'warm analog pads' --model " + dir.string() + " -q " + extra + " -o " + out.string();
}

}  // namespace

TEST(MusicgenLm, GreedyWithGuidanceMatchesTorchForThirtyFrames) {
    // 4 codebooks, 2 layers, text states projected from 32 to 64, guidance 3: 33 steps.
    expectMatchesTorch(reference("tiny", "3", "f32"), 3.0);
}

TEST(MusicgenLm, WithoutGuidanceOrProjectionMatchesTorch) {
    // 2 codebooks, 1 layer of 8 heads, no enc_to_dec_proj, guidance 1 (one row).
    expectMatchesTorch(reference("odd", "1", "f32"), 1.0);
}

TEST(MusicgenLm, Q8WeightsKeepTheFirstStepsLogitsClose) {
    const auto q8 = reference("tiny", "3", "q8_0");
    EXPECT_EQ(models::MusicgenLm(q8, 1).weightTypes(), "q8_0+f32");
    EXPECT_LT(fs::file_size(q8), fs::file_size(reference("tiny", "3", "f32")) / 2);
    const auto a = runGreedy(q8, 3.0), b = runGreedy(reference("tiny", "3", "f32"), 3.0);
    const std::size_t firstStep = 4 * 48;
    double diff = 0;
    for (std::size_t i = 0; i < firstStep; ++i) diff = std::max(diff, static_cast<double>(std::fabs(a.logits[i] - b.logits[i])));
    std::vector<float> first(b.logits.begin(), b.logits.begin() + firstStep);
    EXPECT_GT(diff, 0.0) << "q8_0 gave identical logits: were the weights quantized?";
    EXPECT_LT(diff, 0.05 * maxAbs(first));
}

// 4-bit weights (ggml's q4_0, written by the converter): a quarter of f32's size and more, the
// first step's logits still close to f32's (looser than q8_0: 4 bits hold less).
TEST(MusicgenLm, Q4WeightsAreSmallerStillAndKeepTheLogitsClose) {
    const auto q4 = reference("tiny", "3", "q4_0"), q8 = reference("tiny", "3", "q8_0"), f32 = reference("tiny", "3", "f32");
    EXPECT_EQ(models::MusicgenLm(q4, 1).weightTypes(), "q4_0+f32");
    EXPECT_LT(fs::file_size(q4), fs::file_size(q8));
    const auto a = runGreedy(q4, 3.0), b = runGreedy(f32, 3.0), c = runGreedy(q8, 3.0);
    const std::size_t firstStep = 4 * 48;
    double diff4 = 0, diff8 = 0;
    for (std::size_t i = 0; i < firstStep; ++i) {
        diff4 = std::max(diff4, static_cast<double>(std::fabs(a.logits[i] - b.logits[i])));
        diff8 = std::max(diff8, static_cast<double>(std::fabs(c.logits[i] - b.logits[i])));
    }
    std::vector<float> first(b.logits.begin(), b.logits.begin() + firstStep);
    std::printf("first step's logits: q4_0 within %.3g, q8_0 within %.3g (peak %.3g)\n", diff4, diff8, maxAbs(first));
    EXPECT_GT(diff4, diff8) << "q4_0 should lose more than q8_0: were the weights quantized to 4 bits?";
    EXPECT_LT(diff4, 0.3 * maxAbs(first));
}

TEST(MusicgenLm, HalfPrecisionCacheKeepsTheLogitsClose) {
    const auto gguf = reference("tiny", "3", "f32");
    const auto want = readRaw<float>(gguf.parent_path() / "logits.f32");
    models::MusicgenLm lm(gguf, 2);
    lm.setHalfPrecisionCache(true);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    models::SamplingSettings s;
    s.topK = 1;
    std::vector<float> logits;
    lm.generate(text, 7, 30, s, {}, nullptr, &logits);
    ASSERT_EQ(logits.size(), want.size());
    double diff = 0;
    for (std::size_t i = 0; i < want.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(logits[i] - want[i])));
    std::printf("f16 KV cache: max logit diff %.3g (peak %.3g)\n", diff, maxAbs(want));
    EXPECT_GT(diff, 0.0) << "the cache did not change type";
    EXPECT_LT(diff, 0.01 * maxAbs(want));
}

TEST(MusicgenLm, ThreadCountsGiveTheSameCodes) {
    const auto gguf = reference("tiny", "3", "f32");
    EXPECT_EQ(runGreedy(gguf, 3.0, 1).codes, runGreedy(gguf, 3.0, 2).codes);
}

TEST(MusicgenLm, SamplingIsSeededAndTopKOneIsGreedy) {
    const auto gguf = reference("tiny", "3", "f32");
    models::MusicgenLm lm(gguf, 2);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    models::SamplingSettings s;
    s.topK = 20;
    s.temperature = 1.5;
    s.seed = 42;
    const auto a = lm.generate(text, 7, 20, s), b = lm.generate(text, 7, 20, s);
    EXPECT_EQ(a, b);
    s.seed = 43;
    const auto c = lm.generate(text, 7, 20, s);
    EXPECT_NE(a, c);
    const auto greedyCodes = readRaw<std::int32_t>(gguf.parent_path() / "codes.i32");
    s.topK = 1;
    s.temperature = 7;
    const auto g = lm.generate(text, 7, 30, s);
    EXPECT_EQ(g, greedyCodes);
    // Sampled codes spread over the codebook (greedy ones would repeat a few).
    std::map<int, int> seen;
    for (int v : a) ++seen[v];
    EXPECT_GT(seen.size(), 20u);
}

// A batch of takes: every take's rows go through each step together, and take t is exactly the
// one-take generation with seed + t (with guidance, so each take has two rows, and without).
TEST(MusicgenLm, TakesInOneBatchAreTheOneTakeGenerationsOfTheirSeeds) {
    const auto gguf = reference("tiny", "3", "f32");
    models::MusicgenLm lm(gguf, 2);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    for (const double guidance : {3.0, 1.0}) {
        models::SamplingSettings s;
        s.topK = 20;
        s.temperature = 1.3;
        s.seed = 100;
        s.guidanceScale = guidance;
        std::vector<std::pair<int, int>> framesSeen;
        models::TakeHooks hooks;
        hooks.onFrame = [&](int take, int frame, const std::vector<std::int32_t>&) { framesSeen.emplace_back(take, frame); };
        const auto takes = lm.generateTakes(text, 7, 20, s, 3, {}, nullptr, hooks);
        ASSERT_EQ(takes.size(), 3u);
        for (int t = 0; t < 3; ++t) {
            auto one = s;
            one.seed = 100 + static_cast<std::uint64_t>(t);
            EXPECT_EQ(takes[static_cast<std::size_t>(t)], lm.generate(text, 7, 20, one)) << "take " << t << ", guidance " << guidance;
        }
        EXPECT_NE(takes[0], takes[1]);
        ASSERT_EQ(framesSeen.size(), 60u) << "every frame of every take reported";
        EXPECT_EQ(framesSeen[0], std::make_pair(0, 0));
        EXPECT_EQ(framesSeen[2], std::make_pair(2, 0));
        EXPECT_EQ(framesSeen[59], std::make_pair(2, 19));
    }
    models::SamplingSettings s;
    s.topK = 20;
    EXPECT_THROW(
        {
            try {
                lm.generateTakes(text, 7, 20, s, 9);
            } catch (const std::invalid_argument& e) {
                EXPECT_NE(std::string(e.what()).find("allowed 1 to 8"), std::string::npos) << e.what();
                throw;
            }
        },
        std::invalid_argument);
}

TEST(MusicgenLm, SampleTopKFollowsTheSoftmaxOfTheTopK) {
    const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.0f, 1.9f, -3.0f};
    const int k = 3;
    const double t = 0.8;
    // Expected: softmax over {2.0, 1.9, 1.0} / t.
    std::map<int, double> want;
    double total = 0;
    for (int i : {1, 4, 3}) total += want[i] = std::exp(logits[i] / t);
    std::map<int, int> got;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        auto row = logits;
        ++got[models::sampleTopK(row, k, t, (i + 0.5) / n)];
    }
    EXPECT_EQ(got.size(), 3u);
    for (auto [i, w] : want) EXPECT_NEAR(got[i] / static_cast<double>(n), w / total, 1e-4) << "index " << i;
}

TEST(MusicgenLm, BadSettingsAreRefusedByName) {
    models::MusicgenLm lm(reference("tiny", "3", "f32"), 1);
    const std::vector<float> text(7 * 32, 0.1f);
    auto error = [&](models::SamplingSettings s, int frames, int tokens = 7) -> std::string {
        try {
            lm.generate(tokens == 7 ? text : std::vector<float>(static_cast<std::size_t>(tokens) * 32, 0.1f), tokens, frames, s);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(accepted)";
    };
    models::SamplingSettings s;
    s.topK = 0;
    EXPECT_EQ(error(s, 5), "top_k is 0; allowed 1 to 48 (the codebook size)");
    s.topK = 49;
    EXPECT_NE(error(s, 5).find("top_k is 49"), std::string::npos);
    s = {};
    s.topK = 5;
    s.temperature = 0;
    EXPECT_EQ(error(s, 5), "temperature is 0; allowed 0.01 to 10");
    s.temperature = std::nan("");
    EXPECT_NE(error(s, 5).find("allowed 0.01 to 10"), std::string::npos);
    s = {};
    s.topK = 5;
    s.guidanceScale = 31;
    EXPECT_EQ(error(s, 5), "guidance is 31; allowed 0 to 30");
    s = {};
    s.topK = 5;
    EXPECT_EQ(error(s, 0), "0 frames; this model makes 1 to 253 (its 256 positions less the delay)");
    EXPECT_NE(error(s, 254).find("254 frames"), std::string::npos);
    EXPECT_NE(error(s, 5, 513).find("513 text tokens; allowed 1 to 512"), std::string::npos);
    EXPECT_THROW(lm.generate(std::vector<float>(10, 0.f), 7, 5, s), std::invalid_argument);
}

TEST(MusicgenLm, CancelStopsBetweenStepsAndTheModelStillWorks) {
    const auto gguf = reference("tiny", "3", "f32");
    models::MusicgenLm lm(gguf, 1);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    models::SamplingSettings s;
    s.topK = 1;
    std::atomic<bool> cancel{false};
    int lastStep = 0;
    EXPECT_THROW(lm.generate(text, 7, 30, s, [&](int step, int) {
            lastStep = step;
            cancel = step == 3;
        }, &cancel), models::Cancelled);
    EXPECT_EQ(lastStep, 3);
    EXPECT_EQ(lm.generate(text, 7, 30, s), readRaw<std::int32_t>(gguf.parent_path() / "codes.i32"));
}

TEST(MusicgenLm, APromptIsForcedAndContinuedFrom) {
    const auto gguf = reference("tiny", "3", "f32");
    models::MusicgenLm lm(gguf, 2);
    const auto text = readRaw<float>(gguf.parent_path() / "encoder.f32");
    const auto greedy = readRaw<std::int32_t>(gguf.parent_path() / "codes.i32");  // torch's 4 x 30
    const int K = 4, F = 30, P = 12;
    models::SamplingSettings s;
    s.topK = 1;
    // Forcing the first 12 frames the model would pick itself changes nothing: the greedy
    // continuation is torch's, and each new frame is handed out once, in order, complete.
    models::FrameHooks hooks;
    for (int k = 0; k < K; ++k) hooks.prompt.insert(hooks.prompt.end(), greedy.begin() + k * F, greedy.begin() + k * F + P);
    hooks.promptFrames = P;
    std::vector<int> order;
    std::vector<std::int32_t> columns;
    hooks.onFrame = [&](int f, const std::vector<std::int32_t>& column) {
        order.push_back(f);
        columns.insert(columns.end(), column.begin(), column.end());
    };
    EXPECT_EQ(lm.generate(text, 7, F, s, {}, nullptr, nullptr, hooks), greedy);
    ASSERT_EQ(order.size(), static_cast<std::size_t>(F - P));
    for (int i = 0; i < F - P; ++i) {
        EXPECT_EQ(order[i], P + i);
        for (int k = 0; k < K; ++k) EXPECT_EQ(columns[static_cast<std::size_t>(i) * K + k], greedy[static_cast<std::size_t>(k) * F + P + i]);
    }
    // Another prompt: kept as given, and the frames after it follow from it.
    for (auto& v : hooks.prompt) v = (v + 7) % 48;
    hooks.onFrame = {};
    const auto other = lm.generate(text, 7, F, s, {}, nullptr, nullptr, hooks);
    for (int k = 0; k < K; ++k)
        EXPECT_TRUE(std::equal(other.begin() + k * F, other.begin() + k * F + P, hooks.prompt.begin() + k * P)) << "codebook " << k;
    int differ = 0;
    for (int k = 0; k < K; ++k)
        for (int f = P; f < F; ++f) differ += other[static_cast<std::size_t>(k) * F + f] != greedy[static_cast<std::size_t>(k) * F + f];
    EXPECT_GT(differ, (F - P) * K / 4) << "the continuation did not depend on its prompt";
    // Bad prompts are named.
    hooks.promptFrames = F;
    EXPECT_THROW(lm.generate(text, 7, F, s, {}, nullptr, nullptr, hooks), std::invalid_argument);
    hooks.promptFrames = P - 1;
    EXPECT_THROW(lm.generate(text, 7, F, s, {}, nullptr, nullptr, hooks), std::invalid_argument);
}

TEST(MusicgenLm, WrongFilesAreNamed) {
    const auto good = reference("tiny", "3", "f32");
    // An EnCodec-like file or any other architecture is refused by name.
    const auto other = scratch() / "other.gguf";
    {
        const auto r = runCommand(kPython + " -c \"import sys; sys.path.insert(0, '" + kTools +
                                  "'); import numpy as np; from encodec_to_gguf import write_gguf; write_gguf('" + other.string() +
                                  "', {'general.architecture': 'encodec'}, [('x', np.zeros(4, np.float32), 0)])\"");
        ASSERT_EQ(r.code, 0) << r.output;
    }
    EXPECT_NE(loadError(other).find("general.architecture is \"encodec\"; expected \"musicgen\""), std::string::npos) << loadError(other);
    const auto cut = scratch() / "cut.gguf";
    fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(good) - 100);
    EXPECT_NE(loadError(cut).find("cut short"), std::string::npos) << loadError(cut);
}

TEST(MusicgenFolder, GeneratesTheSameSamplesForTheSameSeed) {
    const auto dir = musicgenFolder();
    const auto a = scratch() / "a.wav", b = scratch() / "b.wav", c = scratch() / "c.wav";
    for (const auto& [out, seed] : {std::pair{a, 7}, std::pair{b, 7}, std::pair{c, 8}}) {
        const auto r = runCommand(generateCommand(dir, fmt::format("-d 0.25 --seed {} --top-k 30 --temperature 1.2 --guidance 2.5", seed), out));
        ASSERT_EQ(r.code, 0) << r.output;
    }
    // Read back by sox: 0.25 s at 8 kHz, mono; not silent.
    EXPECT_EQ(runCommand("soxi -s " + a.string()).output, "2000\n");
    EXPECT_EQ(runCommand("soxi -r " + a.string()).output, "8000\n");
    const auto stat = runCommand("sox " + a.string() + " -n stat 2>&1").output;
    const auto at = stat.find("RMS     amplitude:");
    ASSERT_NE(at, std::string::npos) << stat;
    EXPECT_GT(std::stod(stat.substr(at + 18)), 1e-4) << stat;
    EXPECT_EQ(runCommand("cmp " + a.string() + " " + b.string()).code, 0) << "the same seed gave different files";
    EXPECT_NE(runCommand("cmp " + a.string() + " " + c.string()).code, 0) << "another seed gave the same file";
}

// Takes through the CLI: a musicgen folder makes them side by side in one batch, over three
// windows (each take continues its own codes), and take t is byte for byte the one-take file of
// seed + t; the thread count of the request does not change the bytes.
TEST(MusicgenFolder, TakesAreTheOneTakeFilesOfTheirSeedsOverSeveralWindows) {
    const auto dir = windowedFolder();
    const auto takes = scratch() / "takes.wav";
    auto r = runCommand(generateCommand(dir, "-d 0.25 --seed 7 --takes 3 --guidance 2", takes));
    ASSERT_EQ(r.code, 0) << r.output;
    for (int t = 0; t < 3; ++t) {
        const auto take = t == 0 ? takes : scratch() / fmt::format("takes-{}.wav", t + 1);
        const auto one = scratch() / fmt::format("one-{}.wav", t);
        r = runCommand(generateCommand(dir, fmt::format("-d 0.25 --seed {} --guidance 2 --threads {}", 7 + t, 1 + t % 2), one));
        ASSERT_EQ(r.code, 0) << r.output;
        EXPECT_EQ(runCommand("soxi -s " + take.string()).output, "2000\n");
        EXPECT_EQ(runCommand("cmp " + take.string() + " " + one.string()).code, 0) << "take " << t + 1 << " differs from the one-take file of seed " << 7 + t;
    }
    EXPECT_NE(runCommand("cmp " + takes.string() + " " + (scratch() / "takes-2.wav").string()).code, 0) << "two takes are the same";
}

TEST(MusicgenFolder, StreamsChunksWithProgressAndCancels) {
    const auto dir = musicgenFolder();
    models::WorkerSupervisor::Options o;
    o.workerCommand = {SOUNDSTAR_BIN, "model-worker"};
    models::WorkerSupervisor service(o);
    models::GenerateRequest r;
    r.model = dir;
    r.prompt = "dusty drums";
    r.seconds = 1.25;
    r.seed = 3;
    std::vector<int> chunkFrames, chunkSteps;
    int lastStep = 0, steps = 0;
    std::chrono::steady_clock::time_point firstChunk{};
    models::GenerateCallbacks cb;
    cb.onProgress = [&](int step, int total) {
        EXPECT_GT(step, lastStep);
        lastStep = step, steps = total;
    };
    cb.onChunk = [&](const models::AudioChunk& ch) {
        if (chunkFrames.empty()) firstChunk = std::chrono::steady_clock::now();
        chunkFrames.push_back(static_cast<int>(ch.interleaved.size()));
        chunkSteps.push_back(lastStep);
    };
    const auto done = service.generate(r, cb);
    const auto finished = std::chrono::steady_clock::now();
    ASSERT_TRUE(done.ok) << done.error;
    EXPECT_EQ(done.interleaved.size(), 10000u);
    EXPECT_EQ(steps, 1000);  // 1250 frames + 1 delay step + the decode, shown in the protocol's 1000
    EXPECT_EQ(lastStep, 1000);
    // Streamed while the LM runs: the first second's audio came when the LM had made about 1000 of
    // its 1251 steps (shown as 799 of 1000), well before it ended; at most a second a chunk.
    ASSERT_GE(chunkFrames.size(), 2u);
    EXPECT_GE(chunkFrames[0], 7000) << "the first chunk is most of the first second";
    for (int n : chunkFrames) EXPECT_LE(n, 8000);
    EXPECT_LT(chunkSteps[0], 900) << "the first chunk came after the LM had finished";
    EXPECT_LT(firstChunk, finished);
    std::printf("first chunk after LM step %d of 1000 (shown), %.0f ms before the end\n", chunkSteps[0],
                std::chrono::duration<double, std::milli>(finished - firstChunk).count());
    // Cancel after the first progress: the LM stops between steps.
    std::atomic<bool> started{false};
    models::GenerateCallbacks stop;
    stop.onProgress = [&](int, int) { started = true; };
    const auto id = service.submit(r, stop);
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_TRUE(service.cancel(id));
    const auto cancelled = service.wait(id);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    std::printf("cancel took %.1f ms\n", took * 1000);
    EXPECT_FALSE(cancelled.ok);
    EXPECT_TRUE(cancelled.cancelled) << cancelled.error;
    EXPECT_LT(took, 0.5);  // measured a few ms; the bound leaves room for the shared machine
    // The worker still serves.
    r.seconds = 0.25;
    const auto again = service.generate(r);
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_EQ(again.interleaved.size(), 2000u);
}

TEST(MusicgenFolder, SettingsAreValidatedByName) {
    const auto dir = musicgenFolder();
    const auto out = scratch() / "bad.wav";
    auto error = [&](const std::string& extra) {
        const auto r = runCommand(generateCommand(dir, extra, out));
        EXPECT_NE(r.code, 0) << extra;
        return r.output;
    };
    EXPECT_NE(error("-d 1 --top-k 65").find("top_k is 65; allowed 1 to 64 (the codebook size)"), std::string::npos);
    EXPECT_NE(error("-d 1 --top-k 0").find("--top-k"), std::string::npos);
    EXPECT_NE(error("-d 1 --temperature 0").find("--temperature"), std::string::npos);
    EXPECT_NE(error("-d 1 --steps 4").find("steps do not apply to musicgen"), std::string::npos);
    EXPECT_FALSE(fs::exists(out));
    // Windows: an extend stride as long as the window would leave nothing to continue from.
    const auto r = runCommand(generateCommand(windowedFolder(R"("window_seconds": 0.1, "extend_stride": 0.1)"), "-d 0.2", out));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("parameters.extend_stride is 0.1 s; it must be shorter than the window (100 frames, 0.1 s)"), std::string::npos) << r.output;
    const auto k = runCommand(generateCommand(windowedFolder(R"("kv_cache": "f8")"), "-d 0.2", out));
    EXPECT_NE(k.code, 0);
    EXPECT_NE(k.output.find(R"(parameters.kv_cache is "f8"; allowed "f32" or "f16")"), std::string::npos) << k.output;
    const auto t = runCommand(generateCommand(windowedFolder(R"("threads": 0)"), "-d 0.2", out));
    EXPECT_NE(t.code, 0);
    EXPECT_NE(t.output.find("parameters.threads is 0; allowed 1 to 64"), std::string::npos) << t.output;
    EXPECT_FALSE(fs::exists(out));
    // Both settings that are right: one thread and an f16 cache make audio of the asked length.
    const auto ok = runCommand(generateCommand(windowedFolder(R"("kv_cache": "f16", "threads": 1)"), "-d 0.1", out));
    EXPECT_EQ(ok.code, 0) << ok.output;
    EXPECT_EQ(runCommand("soxi -s " + out.string()).output, "800\n");
}

// 3.5 windows of the tiny model (window 100 frames, each next adds 60): the seams (at frames 100,
// 160, 220, 280) jump no more than the audio's own 99.9th percentile of sample differences; the
// same seed gives the same samples again, another seed others.
TEST(MusicgenFolder, ContinuesPastOneWindowWithoutSeams) {
    const auto dir = windowedFolder();
    models::WorkerSupervisor::Options o;
    o.workerCommand = {SOUNDSTAR_BIN, "model-worker"};
    models::WorkerSupervisor service(o);
    models::GenerateRequest r;
    r.model = dir;
    r.prompt = "warm analog pads";
    r.seconds = 0.35;
    r.seed = 5;
    const auto a = service.generate(r);
    ASSERT_TRUE(a.ok) << a.error;
    ASSERT_EQ(a.interleaved.size(), 2800u);
    const auto b = service.generate(r);
    ASSERT_TRUE(b.ok) << b.error;
    EXPECT_EQ(a.interleaved, b.interleaved) << "the same seed gave other samples";
    r.seed = 6;
    const auto c = service.generate(r);
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_NE(a.interleaved, c.interleaved);
    const auto& x = a.interleaved;
    std::vector<double> jumps;
    for (std::size_t i = 1; i < x.size(); ++i) jumps.push_back(std::fabs(x[i] - x[i - 1]));
    auto sorted = jumps;
    std::sort(sorted.begin(), sorted.end());
    const double p999 = sorted[static_cast<std::size_t>(0.999 * (sorted.size() - 1))];
    EXPECT_GT(p999, 1e-4) << "silence would prove little";
    for (int seam : {100, 160, 220, 280}) {
        const std::size_t at = static_cast<std::size_t>(seam) * 8;  // hop 8: the seam's first sample
        double worst = 0;
        for (std::size_t i = at - 2; i <= at + 1; ++i) worst = std::max(worst, jumps[i]);
        std::printf("seam at frame %d: largest jump %.4g, the audio's 99.9th percentile %.4g\n", seam, worst, p999);
        EXPECT_LE(worst, p999) << "seam at frame " << seam;
    }
}

TEST(MusicgenFolder, PartsThatDoNotFitAreNamed) {
    const auto dir = musicgenFolder();
    const auto broken = scratch() / "musicgen-broken";
    fs::create_directories(broken);
    for (const auto& e : fs::directory_iterator(dir)) fs::copy_file(e.path(), broken / e.path().filename(), fs::copy_options::overwrite_existing);
    fs::remove(broken / "t5.gguf");
    auto r = runCommand(generateCommand(broken, "-d 0.2", scratch() / "x.wav"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find((broken / "t5.gguf").string() + ": missing"), std::string::npos) << r.output;
    // An LM of 4 codebooks against EnCodec's 2.
    fs::copy_file(reference("tiny", "3", "f32"), broken / "lm.gguf", fs::copy_options::overwrite_existing);
    fs::copy_file(dir / "t5.gguf", broken / "t5.gguf");
    r = runCommand(generateCommand(broken, "-d 0.2", scratch() / "x.wav"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("the LM predicts 4 codebooks of 48 but the EnCodec decoder reads 2 of 64"), std::string::npos) << r.output;
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

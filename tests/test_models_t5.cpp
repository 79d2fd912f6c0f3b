// T5's encoder on ggml and its SentencePiece tokenizer (issue #12): a tiny tokenizer trained at
// run time by spm_train (Debian's sentencepiece), read back by spm_encode, and the encoder against
// a hand-written PyTorch reference (tests/models/t5_reference.py, random weights made at run
// time) converted by tools/t5_to_gguf.py.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ModelRef.h"
#include "models/ggml/T5Encoder.h"
#include "models/ggml/TextTokenizer.h"

namespace fs = std::filesystem;
using namespace soundstar;
using namespace soundstar::test;

namespace {

const std::string kPrompt = "warm analog pads with a slow deep bass, dusty drums and a bright bell melody over rain";

fs::path scratch() {
    static const fs::path dir = scratchDir("t5");
    return dir;
}

// A tiny SentencePiece model in T5's layout (pad 0, eos 1, unk 2, no bos), trained on music words.
fs::path tokenizerModel() {
    const auto prefix = scratch() / "spiece";
    if (fs::exists(prefix.string() + ".model")) return prefix.string() + ".model";
    std::ofstream corpus(scratch() / "corpus.txt");
    const char* words[] = {"warm", "analog", "pads", "slow", "deep", "bass", "dusty", "drums", "bright", "bell", "melody", "rain", "piano",
                           "guitar", "lofi", "hip", "hop", "beat", "ambient", "techno", "house", "synth", "strings", "choir", "jazz"};
    for (int i = 0; i < 400; ++i) corpus << words[i % 25] << ' ' << words[(i * 7) % 25] << ' ' << words[(i * 11 + 3) % 25] << " with a " << words[(i * 13) % 25] << "\n";
    corpus.close();
    const auto r = runCommand(fmt::format("spm_train --input={} --model_prefix={} --vocab_size=50 --model_type=unigram --pad_id=0 --eos_id=1 --unk_id=2 "
                                          "--bos_id=-1 --minloglevel=2",
                                          (scratch() / "corpus.txt").string(), prefix.string()));
    EXPECT_EQ(r.code, 0) << r.output;
    return prefix.string() + ".model";
}

fs::path reference(const std::string& size, const std::vector<std::int32_t>& ids, const std::string& type) {
    std::string list;
    for (auto id : ids) {
        if (!list.empty()) list += ',';
        list += std::to_string(id);
    }
    const auto dir = scratch() / size;
    const auto gguf = dir / ("t5-" + type + ".gguf");
    if (fs::exists(gguf)) return gguf;
    if (!fs::exists(dir / "t5.pt")) {
        const auto r = runCommand(kPython + " " + kTests + "/models/t5_reference.py --out " + dir.string() + " --size " + size + " --ids " + list);
        EXPECT_EQ(r.code, 0) << r.output;
    }
    const auto r = runCommand(kPython + " " + kTools + "/t5_to_gguf.py " + (dir / "t5.pt").string() + " " + (dir / "config.json").string() + " " +
                              gguf.string() + " --type " + type);
    EXPECT_EQ(r.code, 0) << r.output;
    return gguf;
}

std::vector<std::int32_t> promptIds() {
    models::TextTokenizer tok(tokenizerModel());
    return tok.encode(kPrompt, 512);
}

void expectMatchesTorch(const std::string& size) {
    const auto ids = promptIds();
    const auto gguf = reference(size, ids, "f32");
    models::T5Encoder enc(gguf, 2);
    const auto got = enc.encode(ids);
    const auto want = readRaw<float>(gguf.parent_path() / "states.f32");
    ASSERT_EQ(got.size(), want.size());
    ASSERT_EQ(got.size(), ids.size() * static_cast<std::size_t>(enc.config().dModel));
    const auto c = compareSamples(got, want, fmt::format("{} ({} tokens)", size, ids.size()));
    EXPECT_GT(c.peak, 0.5);
    EXPECT_LT(c.maxAbsDiff, 1e-4);
}

}  // namespace

TEST(TextTokenizer, MatchesSpmEncodeAndEndsWithEos) {
    const auto model = tokenizerModel();
    models::TextTokenizer tok(model);
    EXPECT_EQ(tok.vocabSize(), 50);
    EXPECT_EQ(tok.eosId(), 1);
    const auto ids = tok.encode(kPrompt, 512);
    std::ofstream(scratch() / "prompt.txt") << kPrompt << "\n";
    const auto r = runCommand(fmt::format("spm_encode --model={} --output_format=id < {}", model.string(), (scratch() / "prompt.txt").string()));
    ASSERT_EQ(r.code, 0) << r.output;
    std::istringstream in(r.output);
    std::vector<std::int32_t> want;
    for (int v; in >> v;) want.push_back(v);
    want.push_back(1);
    EXPECT_EQ(ids, want);
    EXPECT_GT(ids.size(), 16u) << "the prompt should span the relative buckets past exact distances";
    // Cut to the limit, keeping the end id; invalid UTF-8 is refused.
    const auto cut = tok.encode(kPrompt, 5);
    EXPECT_EQ(cut.size(), 5u);
    EXPECT_EQ(cut.back(), 1);
    EXPECT_THROW(tok.encode("bad \xff bytes", 512), std::invalid_argument);
    try {
        models::TextTokenizer missing(scratch() / "absent.model");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("absent.model: missing"), std::string::npos) << e.what();
    }
    std::ofstream(scratch() / "junk.model") << "not a model";
    EXPECT_THROW(models::TextTokenizer(scratch() / "junk.model"), std::invalid_argument);
}

TEST(T5Encoder, RelativeBucketsFollowT5) {
    // buckets 32, max distance 128: 0..7 exact, then logarithmic to 15; later keys in the upper half.
    EXPECT_EQ(models::t5RelativeBucket(0, 32, 128), 0);
    EXPECT_EQ(models::t5RelativeBucket(-7, 32, 128), 7);
    EXPECT_EQ(models::t5RelativeBucket(7, 32, 128), 23);
    EXPECT_EQ(models::t5RelativeBucket(-16, 32, 128), 10);
    EXPECT_EQ(models::t5RelativeBucket(-127, 32, 128), 15);
    EXPECT_EQ(models::t5RelativeBucket(500, 32, 128), 31);
}

TEST(T5Encoder, PlainReluMatchesTorch) { expectMatchesTorch("tiny"); }

TEST(T5Encoder, GatedGeluMatchesTorch) { expectMatchesTorch("gated"); }

TEST(T5Encoder, Q8StaysClose) {
    const auto ids = promptIds();
    const auto q8 = reference("gated", ids, "q8_0"), f32 = reference("gated", ids, "f32");
    EXPECT_LT(fs::file_size(q8), fs::file_size(f32));
    const auto a = models::T5Encoder(q8, 1).encode(ids), b = models::T5Encoder(f32, 1).encode(ids);
    double diff = 0, peak = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i]))), peak = std::max(peak, static_cast<double>(std::fabs(b[i])));
    EXPECT_GT(diff, 0.0);
    EXPECT_LT(diff, 0.05 * peak);
}

TEST(T5Encoder, BadIdsAndFilesAreNamed) {
    const auto ids = promptIds();
    models::T5Encoder enc(reference("tiny", ids, "f32"), 1);
    try {
        enc.encode({5, 120});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "token 1 is id 120; this encoder's vocabulary is 0 to 119");
    }
    EXPECT_THROW(enc.encode({}), std::invalid_argument);
    EXPECT_THROW(enc.encode(std::vector<std::int32_t>(513, 3)), std::invalid_argument);
    const auto lm = scratch() / "cut.gguf";
    fs::copy_file(reference("tiny", ids, "f32"), lm, fs::copy_options::overwrite_existing);
    fs::resize_file(lm, fs::file_size(lm) - 64);
    try {
        models::T5Encoder broken(lm, 1);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("cut short"), std::string::npos) << e.what();
    }
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

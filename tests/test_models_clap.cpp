// AudioLDM's text encoder (CLAP's text tower) on ggml and RoBERTa's byte-level BPE tokenizer
// (issue #12): hand-checked tokenizer cases; then the tokenizer and the encoder against a
// hand-written PyTorch reference (tests/models/clap_reference.py: its own tokenizer as a Python
// regular expression, random weights, a tiny vocabulary learned at run time) in the published
// folder layout, converted by tools/clap_to_gguf.py.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "ModelRef.h"
#include "models/ggml/BpeTokenizer.h"
#include "models/ggml/ClapTextEncoder.h"

namespace fs = std::filesystem;
using namespace soundstar;
using namespace soundstar::test;
using Ids = std::vector<std::int32_t>;

namespace {

fs::path scratch() {
    static const fs::path dir = scratchDir("clap");
    return dir;
}

// The reference's model folder for `size` (made once), converted to clap-<type>.gguf.
fs::path reference(const std::string& size, const std::string& type) {
    const auto dir = scratch() / size;
    const auto gguf = dir / ("clap-" + type + ".gguf");
    if (fs::exists(gguf)) return gguf;
    if (!fs::exists(dir / "expected.json")) mustRun(kPython + " " + kTests + "/models/clap_reference.py --out " + dir.string() + " --size " + size);
    mustRun(kPython + " " + kTools + "/clap_to_gguf.py " + dir.string() + " " + gguf.string() + " --type " + type);
    return gguf;
}

nlohmann::json expected(const std::string& size) {
    reference(size, "f32");
    std::ifstream in(scratch() / size / "expected.json");
    return nlohmann::json::parse(in);
}

// RoBERTa's layout in small: <s> <pad> </s> <unk>, then the pieces the merges make.
models::BpeTokenizer handTokenizer() {
    return models::BpeTokenizer({"<s>", "<pad>", "</s>", "<unk>", "a", "b", "c", "d", "\xC4\xA0" /* Ġ */, "ab", "abc", "\xC4\xA0" "ab", "bc"},
                                {"a b", "ab c", "\xC4\xA0 ab"}, "hand");
}

void expectMatchesTorch(const std::string& size) {
    const auto want = expected(size);
    models::ClapTextEncoder enc(reference(size, "f32"), 2);
    double diff = 0;
    std::vector<std::vector<float>> all;
    for (const auto& c : want["cases"]) {
        const auto got = enc.embed(c["text"].get<std::string>());
        const auto ref = c["embedding"].get<std::vector<double>>();
        ASSERT_EQ(got.size(), ref.size());
        ASSERT_EQ(static_cast<int>(got.size()), enc.embeddingSize());
        double norm = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
            diff = std::max(diff, std::fabs(got[i] - ref[i]));
            norm += static_cast<double>(got[i]) * got[i];
        }
        EXPECT_NEAR(norm, 1.0, 1e-5);
        all.push_back(got);
    }
    std::printf("%s: %zu texts, max abs diff %.3g\n", size.c_str(), all.size(), diff);
    EXPECT_LT(diff, 1e-5);
    // Different prompts give different embeddings (the unconditional "" against the first prompt).
    double apart = 0;
    for (std::size_t i = 0; i < all[0].size(); ++i) apart = std::max(apart, static_cast<double>(std::fabs(all[0][i] - all[1][i])));
    EXPECT_GT(apart, 0.05);
}

std::string whatOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(BpeTokenizer, PretokenizerCutsAsGpt2Pattern) {
    using V = std::vector<std::string>;
    EXPECT_EQ(models::gpt2Pretokenize("Hello  world's 123!!"), (V{"Hello", " ", " world", "'s", " 123", "!!"}));
    EXPECT_EQ(models::gpt2Pretokenize("a\n\nb"), (V{"a", "\n", "\n", "b"}));
    EXPECT_EQ(models::gpt2Pretokenize("x   "), (V{"x", "   "}));
    EXPECT_EQ(models::gpt2Pretokenize("a ,b"), (V{"a", " ,", "b"}));
    EXPECT_EQ(models::gpt2Pretokenize("don't they'll 'RE"), (V{"don", "'t", " they", "'ll", " '", "RE"}));
    EXPECT_EQ(models::gpt2Pretokenize("abc123def"), (V{"abc", "123", "def"}));
    EXPECT_EQ(models::gpt2Pretokenize("caf\xC3\xA9 \xC2\xBD\xE2\x80\x94"), (V{"caf\xC3\xA9", " \xC2\xBD", "\xE2\x80\x94"}));  // é a letter, ½ a number, — other
    EXPECT_EQ(models::gpt2Pretokenize("\t x"), (V{"\t", " x"}));
    EXPECT_EQ(models::gpt2Pretokenize(""), V{});
    EXPECT_EQ(models::gpt2Pretokenize("a b c d", 2), (V{"a", " b"}));
}

TEST(BpeTokenizer, ByteSymbolsFollowGpt2) {
    EXPECT_EQ(models::bpeByteSymbol('a'), "a");
    EXPECT_EQ(models::bpeByteSymbol('~'), "~");
    EXPECT_EQ(models::bpeByteSymbol(' '), "\xC4\xA0");   // U+0120 Ġ
    EXPECT_EQ(models::bpeByteSymbol('\n'), "\xC4\x8A");  // U+010A Ċ
    EXPECT_EQ(models::bpeByteSymbol(0), "\xC4\x80");     // U+0100
    EXPECT_EQ(models::bpeByteSymbol(0xAD), "\xC5\x83");  // the 68th unprintable byte: U+0143
    EXPECT_EQ(models::bpeByteSymbol(0xE9), "\xC3\xA9");  // printable Latin-1 stands for itself
}

TEST(BpeTokenizer, MergesByRankHandChecked) {
    const auto tok = handTokenizer();
    EXPECT_EQ(tok.bpe("abc"), (std::vector<std::string>{"abc"}));
    EXPECT_EQ(tok.bpe(" abd"), (std::vector<std::string>{"\xC4\xA0" "ab", "d"}));
    // <s> abc Ġab d <unk for Ġ+e: Ġ then e> </s>
    EXPECT_EQ(tok.encode("abc abd e", 64), (Ids{0, 10, 11, 7, 8, 3, 2}));
    EXPECT_EQ(tok.encode("", 64), (Ids{0, 2}));
    EXPECT_EQ(tok.encode("abc abd e", 3), (Ids{0, 10, 2}));
    // The lower rank wins: with "b c" first, "abc" becomes a + bc.
    models::BpeTokenizer bcFirst({"<s>", "</s>", "<unk>", "a", "b", "c", "ab", "bc"}, {"b c", "a b"}, "bc-first");
    EXPECT_EQ(bcFirst.bpe("abc"), (std::vector<std::string>{"a", "bc"}));
    EXPECT_EQ(tok.padId(), 1);
    EXPECT_EQ(bcFirst.padId(), -1);
}

TEST(BpeTokenizer, BadVocabulariesAndTextsAreNamed) {
    using T = models::BpeTokenizer;
    EXPECT_EQ(whatOf([] { T({"<s>", "</s>", "a"}, {}, "v.gguf"); }), "v.gguf: the vocabulary has no <unk> token (RoBERTa's special tokens <s>, </s> and <unk> are needed)");
    EXPECT_EQ(whatOf([] { T({"<s>", "</s>", "<unk>", "a", "a"}, {}, "v.gguf"); }), "v.gguf: token 4 (\"a\") repeats token 3");
    EXPECT_EQ(whatOf([] { T({"<s>", "</s>", "<unk>", ""}, {}, "v.gguf"); }), "v.gguf: token 3 is 0 bytes long; allowed 1 to 256");
    EXPECT_EQ(whatOf([] { T({"<s>", "</s>", "<unk>", "\xff"}, {}, "v.gguf"); }), "v.gguf: token 3 is not valid UTF-8");
    EXPECT_EQ(whatOf([] { T({"<s>", "</s>", "<unk>"}, {"a b", "ab"}, "v.gguf"); }),
              "v.gguf: merge 1 (\"ab\") is not two tokens of 1 to 256 bytes with one space between");
    EXPECT_NE(whatOf([] { T({"<s>", "</s>", "<unk>"}, {"a  b"}, "v.gguf"); }).find("merge 0"), std::string::npos);
    const auto tok = handTokenizer();
    EXPECT_EQ(whatOf([&] { tok.encode("bad \xff bytes", 64); }), "the prompt is not valid UTF-8 text");
    EXPECT_EQ(whatOf([&] { tok.encode(std::string(models::kMaxBpeTextBytes + 1, 'a'), 64); }), "the prompt is 65537 bytes; at most 65536 allowed");
    EXPECT_EQ(whatOf([&] { tok.encode(std::string(9000, 'a'), 64); }), "the prompt has a word of 9000 bytes; at most 8192 allowed");
    EXPECT_EQ(whatOf([&] { tok.encode("a", 1); }), "maxTokens is 1; at least 2 (<s> and </s>)");
    // Long texts within the limits: a run of 8000 spaces is one piece of 7999 Ġ (no merges: one
    // token each, cut to the limit); 60000 bytes of words are read only as far as the limit needs.
    EXPECT_EQ(tok.encode(std::string(8000, ' ') + "abc", 4), (Ids{0, 8, 8, 2}));
    std::string words;
    while (words.size() < 60000) words += "abc abd ";
    EXPECT_EQ(tok.encode(words, 6), (Ids{0, 10, 11, 7, 8, 2}));  // " abc": "ab c" (rank 1) before "Ġ ab" (rank 2): Ġ abc
}

TEST(ClapTextEncoder, TokenizerMatchesPythonReference) {
    for (const char* size : {"tiny", "deep"}) {
        const auto want = expected(size);
        models::ClapTextEncoder enc(reference(size, "f32"), 1);
        EXPECT_EQ(enc.config().maxTokens, want["max_tokens"].get<int>());
        int cut = 0;
        for (const auto& c : want["cases"]) {
            const auto text = c["text"].get<std::string>();
            EXPECT_EQ(enc.tokenizer().encode(text, 4096), c["ids_uncut"].get<Ids>()) << text;
            const auto ids = enc.tokenize(text);
            EXPECT_EQ(ids, c["ids"].get<Ids>()) << text;
            cut += ids.size() < c["ids_uncut"].size();
        }
        EXPECT_GE(cut, 1) << "the long text should be cut to " << enc.config().maxTokens << " tokens";
        EXPECT_EQ(enc.tokenize(""), (Ids{0, 2}));  // the unconditional prompt: <s> </s>
    }
}

TEST(ClapTextEncoder, TinyMatchesTorch) { expectMatchesTorch("tiny"); }

TEST(ClapTextEncoder, DeeperWithOtherEpsMatchesTorch) { expectMatchesTorch("deep"); }

TEST(ClapTextEncoder, ConverterReadsSafetensorsAsTheBin) {
    // The same random weights saved as model.safetensors (with its int64 buffers) convert to the same bytes.
    const auto dir = scratch() / "tiny-safetensors";
    auto r = runCommand(kPython + " " + kTests + "/models/clap_reference.py --out " + dir.string() + " --size tiny --safetensors");
    ASSERT_EQ(r.code, 0) << r.output;
    ASSERT_TRUE(fs::exists(dir / "text_encoder" / "model.safetensors"));
    ASSERT_FALSE(fs::exists(dir / "text_encoder" / "pytorch_model.bin"));
    r = runCommand(kPython + " " + kTools + "/clap_to_gguf.py " + dir.string() + " " + (dir / "clap.gguf").string());
    ASSERT_EQ(r.code, 0) << r.output;
    auto bytes = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), {});
    };
    EXPECT_EQ(bytes(dir / "clap.gguf"), bytes(reference("tiny", "f32")));
}

TEST(ClapTextEncoder, QuantizedStaysClose) {
    const auto want = expected("tiny");
    const auto f32 = reference("tiny", "f32");
    models::ClapTextEncoder a(f32, 1);
    const std::string text = want["cases"][1]["text"].get<std::string>();
    const auto ref = a.embed(text);
    for (const char* type : {"f16", "q8_0"}) {
        const auto path = reference("tiny", type);
        EXPECT_LT(fs::file_size(path), fs::file_size(f32)) << type;
        models::ClapTextEncoder q(path, 1);
        const auto got = q.embed(text);
        double diff = 0;
        for (std::size_t i = 0; i < got.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(got[i] - ref[i])));
        std::printf("%s: max abs diff from f32 %.3g\n", type, diff);
        EXPECT_GT(diff, 0.0) << type;
        EXPECT_LT(diff, 0.03) << type;
    }
}

TEST(ClapTextEncoder, BadIdsAndFilesAreNamed) {
    const auto gguf = reference("tiny", "f32");
    models::ClapTextEncoder enc(gguf, 1);
    const int vocab = enc.config().vocabSize;
    EXPECT_EQ(whatOf([&] { enc.project({0, vocab, 2}); }), fmt::format("token 1 is id {}; this encoder's vocabulary is 0 to {}", vocab, vocab - 1));
    EXPECT_EQ(whatOf([&] { enc.project({}); }), "0 text tokens; allowed 1 to 32");
    EXPECT_EQ(whatOf([&] { enc.project(Ids(33, 5)); }), "33 text tokens; allowed 1 to 32");
    EXPECT_EQ(whatOf([&] { models::ClapTextEncoder(scratch() / "absent.gguf", 1); }), (scratch() / "absent.gguf").string() + ": missing: no such weights file");
    const auto cut = scratch() / "cut.gguf";
    fs::copy_file(gguf, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(cut) - 64);
    EXPECT_NE(whatOf([&] { models::ClapTextEncoder(cut, 1); }).find("cut short"), std::string::npos);

    // The converter names the file and the problem.
    const auto model = scratch() / "tiny";
    const auto broken = scratch() / "broken";
    fs::remove_all(broken);
    fs::copy(model, broken, fs::copy_options::recursive);
    fs::remove(broken / "tokenizer" / "merges.txt");
    auto r = runCommand(kPython + " " + kTools + "/clap_to_gguf.py " + broken.string() + " " + (scratch() / "x.gguf").string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find((broken / "tokenizer" / "merges.txt").string() + ": missing"), std::string::npos) << r.output;
    std::ofstream(broken / "tokenizer" / "vocab.json") << R"({"<s>": 0, "</s>": 1, "<unk>": 2})";
    r = runCommand(kPython + " " + kTools + "/clap_to_gguf.py " + broken.string() + " " + (scratch() / "x.gguf").string());
    EXPECT_NE(r.output.find("vocab.json: 3 tokens but the text encoder's word_embeddings has"), std::string::npos) << r.output;
    fs::remove(broken / "text_encoder" / "config.json");
    r = runCommand(kPython + " " + kTools + "/clap_to_gguf.py " + broken.string() + " " + (scratch() / "x.gguf").string());
    EXPECT_NE(r.output.find((broken / "text_encoder" / "config.json").string() + ": missing"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(scratch() / "x.gguf"));

    // A GGUF whose stored vocabulary repeats a token, or whose merges are not pairs, is refused by name.
    auto tampered = [&](const std::string& edit, const std::string& name) {
        const auto out = scratch() / name;
        const std::string py = fmt::format(
            "import sys; sys.path.insert(0, '{}'); import clap_to_gguf as c, encodec_to_gguf as e\n"
            "def w(path, meta, tensors):\n    {}\n    e.write_gguf(path, meta, tensors)\n"
            "c.write_gguf = w; sys.argv = ['clap_to_gguf', '{}', '{}']; c.main()\n",
            kTools, edit, model.string(), out.string());
        std::ofstream(scratch() / "tamper.py") << py;
        const auto rr = runCommand(kPython + " " + (scratch() / "tamper.py").string());
        EXPECT_EQ(rr.code, 0) << rr.output;
        return whatOf([&] { models::ClapTextEncoder(out, 1); });
    };
    const auto dup = tampered("meta['tokenizer.ggml.tokens'][300] = meta['tokenizer.ggml.tokens'][299]", "dup.gguf");
    EXPECT_EQ(dup.rfind((scratch() / "dup.gguf").string() + ": token 300 (", 0), 0u) << dup;
    EXPECT_NE(dup.find(") repeats token 299"), std::string::npos) << dup;
    EXPECT_EQ(tampered("meta['tokenizer.ggml.merges'][3] = 'nospace'", "merge.gguf"),
              (scratch() / "merge.gguf").string() + ": merge 3 (\"nospace\") is not two tokens of 1 to 256 bytes with one space between");
    EXPECT_EQ(tampered("meta['tokenizer.ggml.tokens'].pop()", "short.gguf"),
              (scratch() / "short.gguf").string() + fmt::format(": tokenizer.ggml.tokens has {} tokens but clap.vocab_size is {}", vocab - 1, vocab));
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

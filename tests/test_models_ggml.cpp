// The ggml side of the model service (issue #12): GGUF loading and checking, EnCodec's decoder
// against a PyTorch reference of the same architecture (tests/models/encodec_reference.py, random
// weights made at run time, converted by tools/encodec_to_gguf.py), and a musicgen model folder
// in a real `soundstar model-worker` that says what it cannot do yet.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <fstream>

#include "ModelRef.h"
#include "models/ggml/EncodecDecoder.h"
#include "models/ggml/GgufWeights.h"

namespace fs = std::filesystem;
using namespace soundstar;
using namespace soundstar::test;

namespace {

fs::path scratch() {
    static const fs::path dir = scratchDir("ggml");
    return dir;
}

// Makes a reference model of `size` (torch's audio for random codes) and converts it to `type`.
fs::path reference(const std::string& size, const std::string& type, const std::string& extra = "") {
    std::string tag = size + extra;
    std::replace_if(tag.begin(), tag.end(), [](char ch) { return ch == ' ' || ch == '-'; }, '_');
    const auto dir = scratch() / tag;
    const auto gguf = dir / ("encodec-" + type + ".gguf");
    if (fs::exists(gguf)) return gguf;
    mustRun(kPython + " " + kTests + "/models/encodec_reference.py --out " + dir.string() + " --size " + size + " " + extra);
    mustRun(kPython + " " + kTools + "/encodec_to_gguf.py " + (dir / "encodec.pt").string() + " " + (dir / "config.json").string() + " " +
            gguf.string() + " --type " + type);
    return gguf;
}

Comparison decodeAndCompare(const fs::path& gguf) {
    const auto dir = gguf.parent_path();
    models::EncodecDecoder dec(gguf, 2);
    const auto codes = readRaw<std::int32_t>(dir / "codes.i32");
    const int frames = static_cast<int>(codes.size() / dec.config().codebooks);
    const auto got = dec.decode(codes, frames);
    EXPECT_EQ(got.size(), static_cast<std::size_t>(frames) * dec.config().hopLength() * dec.config().audioChannels);
    return compareSamples(got, readRaw<float>(dir / "audio.f32"), gguf.filename().string());
}

std::string loadError(const fs::path& gguf) { return test::loadError<models::EncodecDecoder>(gguf); }

}  // namespace

TEST(EncodecGgml, F32MatchesTorchWithin1e4) {
    const auto c = decodeAndCompare(reference("tiny", "f32"));
    EXPECT_GT(c.peak, 1e-2) << "the reference audio is near silence: the comparison would prove little";
    EXPECT_LT(c.maxAbsDiff, 1e-4) << "peak " << c.peak;
    EXPECT_EQ(c.samples, 40u * 8u);
}

TEST(EncodecGgml, ConvShortcutsDilationsAndOddStridesMatchTorch) {
    // 2 residual layers (dilation 2), 1x1 shortcut convs, strides 3 and 2, 3 codebooks, 1 LSTM layer.
    const auto c = decodeAndCompare(reference("shortcut", "f32"));
    EXPECT_GT(c.peak, 1e-2);
    EXPECT_LT(c.maxAbsDiff, 1e-4) << "peak " << c.peak;
}

TEST(EncodecGgml, Q8WeightsStayWithinFivePercentOfPeak) {
    const auto gguf = reference("tiny", "q8_0");
    EXPECT_EQ(models::EncodecDecoder(gguf, 1).weightTypes(), "q8_0+f32");
    EXPECT_LT(fs::file_size(gguf), fs::file_size(reference("tiny", "f32")) / 2);
    const auto c = decodeAndCompare(gguf);
    EXPECT_GT(c.maxAbsDiff, 0.0) << "q8_0 weights gave bit-identical audio: were they quantized?";
    // q8_0 rounds the weights and, in ggml's matrix products, the activations too (measured: ~2% of peak).
    EXPECT_LT(c.maxAbsDiff, 0.05 * c.peak) << "peak " << c.peak;
}

TEST(EncodecGgml, SameCodesGiveTheSameSamplesAcrossThreadCounts) {
    const auto gguf = reference("tiny", "f32");
    const auto codes = readRaw<std::int32_t>(gguf.parent_path() / "codes.i32");
    models::EncodecDecoder one(gguf, 1), two(gguf, 2);
    const auto a = one.decode(codes, 40), b = two.decode(codes, 40);
    ASSERT_EQ(a.size(), b.size());
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    EXPECT_LT(diff, 1e-6);
}

TEST(EncodecGgml, BadCodesAreRefusedByName) {
    models::EncodecDecoder dec(reference("tiny", "f32"), 1);
    std::vector<std::int32_t> codes(2 * 10, 3);
    codes[13] = 64;
    try {
        dec.decode(codes, 10);
        FAIL() << "an out-of-range code was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("codebook 1, frame 3) is 64; allowed 0 to 63"), std::string::npos) << e.what();
    }
    EXPECT_THROW(dec.decode(codes, 11), std::invalid_argument);  // 20 codes are not 2 x 11
    EXPECT_THROW(dec.decode(std::vector<std::int32_t>(2, 0), 1), std::invalid_argument);  // below minFrames
}

// Decodes `frames` random codes in one go and as a stream fed in pieces of `pieces` sizes (cycled);
// returns the largest difference and checks the stream's bookkeeping.
double streamedVersusWhole(const fs::path& gguf, int frames, const std::vector<int>& pieces, std::size_t* firstOut = nullptr) {
    models::EncodecDecoder dec(gguf, 2);
    const auto& c = dec.config();
    std::mt19937 rng(11);
    std::vector<std::int32_t> codes(static_cast<std::size_t>(c.codebooks) * frames);
    for (auto& v : codes) v = static_cast<std::int32_t>(rng() % static_cast<unsigned>(c.codebookSize));
    const auto whole = dec.decode(codes, frames);
    models::EncodecStream stream(dec);
    std::vector<float> joined;
    for (int at = 0, i = 0; at < frames; ++i) {
        const int n = std::min(pieces[static_cast<std::size_t>(i) % pieces.size()], frames - at);
        std::vector<std::int32_t> part;
        for (int q = 0; q < c.codebooks; ++q)
            part.insert(part.end(), codes.begin() + q * frames + at, codes.begin() + q * frames + at + n);
        const auto out = stream.push(part, n);
        if (firstOut && !out.empty() && *firstOut == 0) *firstOut = joined.size() + out.size();
        joined.insert(joined.end(), out.begin(), out.end());
        at += n;
        EXPECT_EQ(joined.size(), static_cast<std::size_t>(stream.framesOut()) * c.hopLength() * c.audioChannels);
        EXPECT_LE(stream.framesOut(), stream.framesIn());
    }
    EXPECT_LT(stream.framesOut(), frames) << "the last frames wait for finish()";
    const auto rest = stream.finish();
    joined.insert(joined.end(), rest.begin(), rest.end());
    EXPECT_EQ(joined.size(), whole.size());
    double diff = 0, peak = 0;
    for (std::size_t i = 0; i < std::min(joined.size(), whole.size()); ++i) {
        diff = std::max(diff, static_cast<double>(std::fabs(joined[i] - whole[i])));
        peak = std::max(peak, static_cast<double>(std::fabs(whole[i])));
    }
    EXPECT_GT(peak, 1e-3) << "silence would prove little";
    std::printf("%s, %d frames in pieces of %d..: max diff %.3g (peak %.3g), halo %d frames\n", gguf.filename().c_str(), frames, pieces[0], diff, peak,
                stream.backHaloFrames());
    return diff;
}

TEST(EncodecStream, PiecesJoinToTheWholeDecode) {
    // Pieces of one frame, of a few, and a first piece shorter than the decoder's minimum.
    EXPECT_LT(streamedVersusWhole(reference("tiny", "f32"), 40, {1}), 1e-5);
    for (const auto& pieces : std::vector<std::vector<int>>{{3, 17, 5}, {40}, {2, 64}}) EXPECT_LT(streamedVersusWhole(reference("tiny", "f32"), 150, pieces), 1e-5);
    // Dilations, shortcuts and odd strides; q8_0 weights.
    EXPECT_LT(streamedVersusWhole(reference("shortcut", "f32"), 90, {7, 2}), 1e-5);
    EXPECT_LT(streamedVersusWhole(reference("tiny", "q8_0"), 90, {9}), 1e-5);
}

TEST(EncodecStream, AudioComesOutBeforeTheLastCodes) {
    std::size_t first = 0;
    streamedVersusWhole(reference("tiny", "f32"), 200, {20}, &first);
    EXPECT_GT(first, 0u) << "no audio came out before finish()";
    models::EncodecDecoder dec(reference("tiny", "f32"), 1);
    EXPECT_LE(first, static_cast<std::size_t>(60 * dec.config().hopLength() * dec.config().audioChannels)) << "the first samples came late";
}

TEST(EncodecStream, BadPiecesAreRefusedByName) {
    models::EncodecDecoder dec(reference("tiny", "f32"), 1);
    models::EncodecStream stream(dec);
    try {
        stream.push(std::vector<std::int32_t>(4, 9999), 2);
        ADD_FAILURE() << "a bad code was taken";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("is 9999; allowed 0 to"), std::string::npos) << e.what();
    }
    EXPECT_THROW(stream.push(std::vector<std::int32_t>(3, 0), 2), std::invalid_argument);
    EXPECT_THROW(stream.push({}, -1), std::invalid_argument);
    stream.push(std::vector<std::int32_t>(2, 0), 1);
    try {
        stream.finish();
        ADD_FAILURE() << "one frame was decoded";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("1 code frames; this decoder takes at least"), std::string::npos) << e.what();
    }
}

TEST(GgufWeights, MissingOrMisshapenTensorsAreNamed) {
    const auto missing = loadError(reference("tiny", "f32", "--break missing"));
    EXPECT_NE(missing.find("tensor decoder.layers.0.conv.bias is missing (expected shape [128])"), std::string::npos) << missing;
    const auto shape = loadError(reference("tiny", "f32", "--break shape"));
    EXPECT_NE(shape.find("tensor decoder.layers.0.conv.bias has shape [129]; expected [128]"), std::string::npos) << shape;
}

TEST(GgufWeights, CutShortOrForeignFilesAreNamed) {
    const auto good = reference("tiny", "f32");
    const auto cut = scratch() / "cut.gguf";
    fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(good) - 1000);
    const auto e1 = loadError(cut);
    EXPECT_NE(e1.find(cut.string()), std::string::npos) << e1;
    EXPECT_NE(e1.find("cut short"), std::string::npos) << e1;
    const auto head = scratch() / "head.gguf";
    fs::copy_file(good, head, fs::copy_options::overwrite_existing);
    fs::resize_file(head, 200);  // inside the metadata
    const auto e2 = loadError(head);
    EXPECT_NE(e2.find("not a readable GGUF file"), std::string::npos) << e2;
    const auto foreign = scratch() / "foreign.gguf";
    std::ofstream(foreign) << "RIFF....WAVE";
    EXPECT_NE(loadError(foreign).find("not a GGUF file"), std::string::npos);
    EXPECT_NE(loadError(scratch() / "absent.gguf").find("missing"), std::string::npos);
}

TEST(MusicgenFolder, LoadsItsDecoderAndNamesTheMissingParts) {
    const auto gguf = reference("tiny", "q8_0");
    const auto dir = scratch() / "musicgen-tiny";
    fs::create_directories(dir);
    fs::copy_file(gguf, dir / "encodec.gguf", fs::copy_options::overwrite_existing);
    std::ofstream(dir / "manifest.json") << R"({"name": "musicgen-tiny", "kind": "musicgen", "sample_rate": 32000, "quantization": "q8",
        "weights": "encodec.gguf", "parameter_count": 400000})";
    // The decoder loads; the language model (tests/test_models_musicgen.cpp runs whole folders) is named as missing.
    const auto r = runCommand(std::string(SOUNDSTAR_BIN) + " generate \"warm pads\" --model " + dir.string() + " -d 1 -o " + (scratch() / "out.wav").string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find((dir / "lm.gguf").string() + ": missing"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(scratch() / "out.wav"));
    // A broken decoder file fails the load, naming the file.
    fs::resize_file(dir / "encodec.gguf", 5000);
    const auto broken = runCommand(std::string(SOUNDSTAR_BIN) + " generate x --model " + dir.string() + " -d 1 -o " + (scratch() / "out.wav").string());
    EXPECT_NE(broken.code, 0);
    EXPECT_NE(broken.output.find((dir / "encodec.gguf").string()), std::string::npos) << broken.output;
}

// ggml, ggml-base and OpenMP come with Soundstar's ggml module (models/ggml/GgmlModule.h): the
// commands that run no neural model do not load them; the ones that do open the module.
TEST(GgmlModule, OnlyTheCommandsThatRunANeuralModelLoadGgml) {
    const auto render = runCommand("LD_DEBUG=libs " + std::string(SOUNDSTAR_BIN) + " render 'calm piano' -d 1 -q -o " + (scratch() / "r.wav").string());
    ASSERT_EQ(render.code, 0) << render.output.substr(0, 2000);
    EXPECT_NE(render.output.find("library=libstdc++"), std::string::npos) << "the loader's log is there";
    for (const char* lib : {"library=libggml", "libsoundstar_ggml.so", "library=libgomp"})
        EXPECT_EQ(render.output.find(lib), std::string::npos) << "a render loads " << lib;
    fs::create_directories(scratch() / "no-models");
    const auto models = runCommand("LD_DEBUG=libs " + std::string(SOUNDSTAR_BIN) + " models --dir " + (scratch() / "no-models").string());
    EXPECT_NE(models.output.find("libsoundstar_ggml.so"), std::string::npos) << models.output.substr(0, 2000);
    EXPECT_NE(models.output.find("library=libggml-base"), std::string::npos);
    EXPECT_NE(models.output.find("ggml CPU: "), std::string::npos);
    EXPECT_EQ(models.output.find("ggml CPU: unusable"), std::string::npos) << models.output.substr(0, 2000);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

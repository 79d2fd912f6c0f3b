// AudioLDM's parts on ggml (issue #12), each against a hand-written PyTorch reference of the same
// architecture with random weights made at run time (tests/models/audioldm_reference.py, in the
// diffusers folder layout) and converted by tools/audioldm_to_gguf.py. So far: the HiFi-GAN vocoder
// and the VAE decoder (latents -> mel -> audio).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "ModelRef.h"
#include "models/ggml/HifiganVocoder.h"
#include "models/ggml/VaeDecoder.h"

namespace fs = std::filesystem;
using namespace soundstar;
using namespace soundstar::test;

namespace {

fs::path scratch() {
    static const fs::path dir = scratchDir("audioldm");
    return dir;
}

// A reference checkpoint folder (`extra`: reference options), converted to `type`; returns the
// folder holding vocoder.gguf, vae.gguf and the reference's inputs and outputs. Made once per
// build (ctest runs each test in its own process), keyed by the scripts' text.
fs::path reference(const std::string& type, const std::string& extra = "") {
    std::string tag = type + extra;
    std::replace_if(tag.begin(), tag.end(), [](char ch) { return ch == ' ' || ch == '-'; }, '_');
    const auto dir = referenceCache({"models/audioldm_reference.py", "../tools/audioldm_to_gguf.py", "../tools/encodec_to_gguf.py"}) / tag;
    makeOnce(dir, "vocoder.gguf", [&](const fs::path& tmp) {
        mustRun(kPython + " " + kTests + "/models/audioldm_reference.py --out " + tmp.string() + " " + extra);
        mustRun(kPython + " " + kTools + "/audioldm_to_gguf.py " + tmp.string() + " " + tmp.string() + " --type " + type);
    });
    return dir;
}

Comparison vocodeAndCompare(const fs::path& dir, int threads = 2) {
    models::HifiganVocoder voc(dir / "vocoder.gguf", threads);
    const auto mel = readRaw<float>(dir / "mel.f32");
    const int frames = static_cast<int>(mel.size() / static_cast<std::size_t>(voc.config().melBins));
    const auto got = voc.vocode(mel, frames);
    EXPECT_EQ(static_cast<std::int64_t>(got.size()), voc.config().samplesFor(frames));
    return compareSamples(got, readRaw<float>(dir / "audio.f32"), dir.filename().string());
}

std::string loadError(const fs::path& gguf) { return test::loadError<models::HifiganVocoder>(gguf); }

}  // namespace

TEST(HifiganGgml, F32MatchesTorchWithin1e4) {
    // Kernel 16 over stride 5 (not a whole number of strides: (24-1)*5 - 2*5 + 16 = 121 frames),
    // then kernel 4 over stride 2; resblock kernels 3 and 5 with dilations 1,3,5 and 1,2,3; the
    // mel normalised by mean and scale first.
    const auto c = vocodeAndCompare(reference("f32"));
    EXPECT_GT(c.peak, 1e-2) << "the reference audio is near silence: the comparison would prove little";
    EXPECT_LT(c.maxAbsDiff, 1e-4) << "peak " << c.peak;
    EXPECT_EQ(c.samples, 242u);
}

TEST(HifiganGgml, OneMelFrameAndAnotherSeedMatchTorch) {
    const auto one = vocodeAndCompare(reference("f32", "--frames 1 --seed 5"), 1);
    EXPECT_EQ(one.samples, 12u);  // (0*5 - 10 + 16) = 6, then (6-1)*2 - 2 + 4 = 12
    EXPECT_LT(one.maxAbsDiff, 1e-4) << "peak " << one.peak;
    const auto other = vocodeAndCompare(reference("f32", "--frames 57 --seed 9"), 2);
    EXPECT_GT(other.peak, 1e-2);
    EXPECT_LT(other.maxAbsDiff, 1e-4) << "peak " << other.peak;
}

TEST(HifiganGgml, Q8WeightsStayWithinFivePercentOfPeak) {
    const auto dir = reference("q8_0");
    EXPECT_EQ(models::HifiganVocoder(dir / "vocoder.gguf", 1).weightTypes(), "q8_0+f32");
    EXPECT_LT(fs::file_size(dir / "vocoder.gguf"), fs::file_size(reference("f32") / "vocoder.gguf") * 6 / 10);  // q8_0 where rows are whole blocks
    const auto c = vocodeAndCompare(dir);
    EXPECT_GT(c.maxAbsDiff, 0.0) << "q8_0 weights gave bit-identical audio: were they quantized?";
    EXPECT_LT(c.maxAbsDiff, 0.05 * c.peak) << "peak " << c.peak;
}

TEST(HifiganGgml, SameMelGivesTheSameSamplesAcrossThreadCounts) {
    const auto dir = reference("f32");
    const auto mel = readRaw<float>(dir / "mel.f32");
    models::HifiganVocoder one(dir / "vocoder.gguf", 1), two(dir / "vocoder.gguf", 2);
    const int frames = static_cast<int>(mel.size() / 16);
    const auto a = one.vocode(mel, frames), b = two.vocode(mel, frames);
    ASSERT_EQ(a.size(), b.size());
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    EXPECT_LT(diff, 1e-6);
}

TEST(HifiganGgml, BadMelsAreRefusedByName) {
    models::HifiganVocoder voc(reference("f32") / "vocoder.gguf", 1);
    std::vector<float> mel(16 * 4, 0.5f);
    EXPECT_THROW(voc.vocode(mel, 5), std::invalid_argument);  // 64 values are not 5 x 16
    EXPECT_THROW(voc.vocode({}, 0), std::invalid_argument);
    EXPECT_THROW(voc.vocode(mel, models::kMaxHifiganFrames + 1), std::invalid_argument);
    mel[37] = std::numeric_limits<float>::quiet_NaN();
    try {
        voc.vocode(mel, 4);
        FAIL() << "a NaN in the mel was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("mel value 37 (frame 2, bin 5) is not finite"), std::string::npos) << e.what();
    }
}

TEST(HifiganGgml, MissingOrMisshapenTensorsAreNamed) {
    const auto missing = loadError(reference("f32", "--break missing") / "vocoder.gguf");
    EXPECT_NE(missing.find("tensor conv_post.bias is missing (expected shape [1])"), std::string::npos) << missing;
    const auto shape = loadError(reference("f32", "--break shape") / "vocoder.gguf");
    EXPECT_NE(shape.find("tensor conv_pre.bias has shape [65]; expected [64]"), std::string::npos) << shape;
    const auto cut = scratch() / "cut.gguf";
    fs::copy_file(reference("f32") / "vocoder.gguf", cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(cut) - 1000);
    const auto e = loadError(cut);
    EXPECT_NE(e.find(cut.string()), std::string::npos) << e;
}

TEST(VaeGgml, LatentsToMelMatchTorchWithin1e4AndTheChainToAudioToo) {
    // 2 up blocks (32 -> 16 channels: a 1x1 shortcut), 2 resnets each, one-head attention in the
    // mid block, group norms with random affine parameters, 1/scaling_factor folded by the converter.
    const auto dir = reference("f32");
    models::VaeDecoder vae(dir / "vae.gguf", 2);
    models::HifiganVocoder voc(dir / "vocoder.gguf", 2);
    int rows = 0, columns = 0;
    std::ifstream(dir / "latents.txt") >> rows >> columns;
    ASSERT_EQ(rows, 12);
    ASSERT_EQ(columns, 8);
    const auto latents = readRaw<float>(dir / "latents.f32");
    const auto want = readRaw<float>(dir / "vae_mel.f32");
    const auto mel = vae.decode(latents, rows, columns);
    ASSERT_EQ(mel.size(), want.size());
    EXPECT_EQ(mel.size(), static_cast<std::size_t>(rows * 2 * columns * 2));
    double diff = 0, peak = 0;
    for (std::size_t i = 0; i < mel.size(); ++i) {
        diff = std::max(diff, static_cast<double>(std::fabs(mel[i] - want[i])));
        peak = std::max(peak, static_cast<double>(std::fabs(want[i])));
    }
    std::printf("vae mel: max abs diff %.3g, peak %.3g, %zu values\n", diff, peak, mel.size());
    EXPECT_GT(peak, 0.1);
    EXPECT_LT(diff, 1e-4);
    const auto audio = voc.vocode(mel, rows * 2);
    const auto wantAudio = readRaw<float>(dir / "vae_audio.f32");
    ASSERT_EQ(audio.size(), wantAudio.size());
    double adiff = 0, apeak = 0;
    for (std::size_t i = 0; i < audio.size(); ++i) {
        adiff = std::max(adiff, static_cast<double>(std::fabs(audio[i] - wantAudio[i])));
        apeak = std::max(apeak, static_cast<double>(std::fabs(wantAudio[i])));
    }
    std::printf("vae -> vocoder audio: max abs diff %.3g, peak %.3g\n", adiff, apeak);
    EXPECT_GT(apeak, 1e-2);
    EXPECT_LT(adiff, 1e-4);
}

TEST(VaeGgml, OldAttentionNamesAreConverted) {
    const auto dir = reference("f32", "--legacy-attention --seed 3");
    models::VaeDecoder vae(dir / "vae.gguf", 2);
    const auto want = readRaw<float>(dir / "vae_mel.f32");
    const auto mel = vae.decode(readRaw<float>(dir / "latents.f32"), 12, 8);
    ASSERT_EQ(mel.size(), want.size());
    double diff = 0;
    for (std::size_t i = 0; i < mel.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(mel[i] - want[i])));
    EXPECT_LT(diff, 1e-4);
}

TEST(VaeGgml, BadLatentsAndForeignFilesAreRefusedByName) {
    const auto dir = reference("f32");
    models::VaeDecoder vae(dir / "vae.gguf", 1);
    std::vector<float> z(4 * 3 * 2, 0.1f);
    EXPECT_THROW(vae.decode(z, 3, 3), std::invalid_argument);  // 24 values are not 4 x 3 x 3
    EXPECT_THROW(vae.decode(z, 0, 2), std::invalid_argument);
    EXPECT_THROW(vae.decode(z, 3, models::kMaxVaeLatentColumns + 1), std::invalid_argument);
    z[7] = std::numeric_limits<float>::infinity();
    try {
        vae.decode(z, 3, 2);
        FAIL() << "an infinite latent was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("latent value 7 is not finite"), std::string::npos) << e.what();
    }
    try {
        models::VaeDecoder wrong(dir / "vocoder.gguf", 1);
        FAIL() << "a vocoder file loaded as a VAE";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("general.architecture is \"hifigan\"; expected \"audioldm_vae\""), std::string::npos) << e.what();
    }
}

TEST(AudioldmConverter, NamesAMissingPartAndReadsSafetensors) {
    const auto empty = scratch() / "empty";
    fs::create_directories(empty);
    const auto r = runCommand(kPython + " " + kTools + "/audioldm_to_gguf.py " + empty.string() + " " + empty.string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find((empty / "vocoder" / "config.json").string() + ": missing"), std::string::npos) << r.output;
    // The same checkpoint as safetensors (written here by hand: u64 header length, JSON, data)
    // converts to the same audio.
    const auto src = reference("f32");
    const auto st = scratch() / "safetensors";
    fs::create_directories(st / "vocoder");
    fs::copy_file(src / "vocoder" / "config.json", st / "vocoder" / "config.json", fs::copy_options::overwrite_existing);
    fs::copy_file(src / "mel.f32", st / "mel.f32", fs::copy_options::overwrite_existing);
    fs::copy_file(src / "audio.f32", st / "audio.f32", fs::copy_options::overwrite_existing);
    const std::string script =
        "import json,struct,sys,torch\n"
        "sd=torch.load(sys.argv[1]); h={}; data=b''\n"
        "for k,v in sd.items():\n"
        "  b=v.half().numpy().tobytes() if k.startswith('resblocks.0.') else v.float().numpy().tobytes()\n"
        "  h[k]={'dtype':'F16' if k.startswith('resblocks.0.') else 'F32','shape':list(v.shape),'data_offsets':[len(data),len(data)+len(b)]}; data+=b\n"
        "j=json.dumps(h).encode(); open(sys.argv[2],'wb').write(struct.pack('<Q',len(j))+j+data)\n";
    std::ofstream(scratch() / "to_st.py") << script;
    auto w = runCommand(kPython + " " + (scratch() / "to_st.py").string() + " " + (src / "vocoder" / "pytorch_model.bin").string() + " " +
                        (st / "vocoder" / "diffusion_pytorch_model.safetensors").string());
    ASSERT_EQ(w.code, 0) << w.output;
    w = runCommand(kPython + " " + kTools + "/audioldm_to_gguf.py " + st.string() + " " + st.string());
    ASSERT_EQ(w.code, 0) << w.output;
    const auto c = vocodeAndCompare(st);
    EXPECT_GT(c.maxAbsDiff, 0.0) << "f16 weights in resblocks.0 gave identical audio: was the dtype read?";
    EXPECT_LT(c.maxAbsDiff, 0.01 * c.peak) << "peak " << c.peak;
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

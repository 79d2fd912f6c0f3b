// AudioLDM's parts on ggml (issue #12), each against a hand-written PyTorch reference of the same
// architecture with random weights made at run time (tests/models/audioldm_reference.py, in the
// diffusers folder layout) and converted by tools/audioldm_to_gguf.py: the HiFi-GAN vocoder, the
// VAE decoder (latents -> mel -> audio), the UNet (tests/models/audioldm_unet_reference.py), DDIM
// with classifier-free guidance, and the pipeline from seed and embeddings to audio.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include "ModelRef.h"
#include "models/ModelWorker.h"
#include "models/WorkerSupervisor.h"
#include "models/ggml/AudioldmPipeline.h"
#include "models/ggml/AudioldmUnet.h"
#include "models/ggml/DdimScheduler.h"
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

// The UNet reference folder (unet/, scheduler/, vae/, vocoder/ and the reference's outputs),
// converted to `type`; made once per build like reference().
fs::path unetReference(const std::string& type, const std::string& extra = "") {
    std::string tag = "unet_" + type + extra;
    std::replace_if(tag.begin(), tag.end(), [](char ch) { return ch == ' ' || ch == '-'; }, '_');
    const auto dir = referenceCache({"models/audioldm_unet_reference.py", "models/audioldm_reference.py", "../tools/audioldm_to_gguf.py",
                                     "../tools/encodec_to_gguf.py"}) / tag;
    makeOnce(dir, "unet.gguf", [&](const fs::path& tmp) {
        mustRun(kPython + " " + kTests + "/models/audioldm_unet_reference.py --out " + tmp.string() + " " + extra);
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

namespace {

struct Diff {
    double maxAbs = 0, peak = 0;
};
Diff compare(const std::vector<float>& got, const std::vector<float>& want) {
    EXPECT_EQ(got.size(), want.size());
    Diff d;
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        EXPECT_TRUE(std::isfinite(got[i])) << i;
        d.maxAbs = std::max(d.maxAbs, static_cast<double>(std::fabs(got[i] - want[i])));
        d.peak = std::max(d.peak, static_cast<double>(std::fabs(want[i])));
    }
    return d;
}

std::vector<float> noisePrediction(models::AudioldmUnet& unet, const fs::path& dir, int rows, int timestep) {
    return unet.predict(readRaw<float>(dir / ("x_" + std::to_string(rows) + ".f32")), rows, 8, timestep, {readRaw<float>(dir / "cond.f32")});
}

}  // namespace

TEST(AudioldmUnetGgml, F32NoisePredictionMatchesTorchWithin1e4) {
    // 3 blocks (32, 64, 96 channels; attention at the two lower levels and in the mid block,
    // 4 heads), 2 resnets a block, the timestep's and the text's embeddings concatenated; 12 latent
    // rows halve evenly (12, 6, 3); 5 rows do not (5, 3, 2: the up path meets skips of 3 and 5).
    const auto dir = unetReference("f32");
    models::AudioldmUnet unet(dir / "unet.gguf", 2);
    EXPECT_EQ(unet.config().blockOutChannels, (std::vector<int>{32, 64, 96}));
    EXPECT_EQ(unet.config().attention, (std::vector<bool>{false, true, true}));
    EXPECT_EQ(unet.weightTypes(), "f32");
    for (const auto& [rows, t] : {std::pair{12, 901}, std::pair{5, 17}}) {
        const auto d = compare(noisePrediction(unet, dir, rows, t), readRaw<float>(dir / ("pred_" + std::to_string(rows) + ".f32")));
        std::printf("unet noise prediction, %d rows, t %d: max abs diff %.3g, peak %.3g\n", rows, t, d.maxAbs, d.peak);
        EXPECT_GT(d.peak, 0.1);
        EXPECT_LT(d.maxAbs, 1e-4) << rows << " rows";
    }
}

TEST(AudioldmUnetGgml, QuantizedWeightsStayNearTheReference) {
    for (const char* type : {"q8_0", "f16"}) {
        const auto dir = unetReference(type);
        models::AudioldmUnet unet(dir / "unet.gguf", 2);
        EXPECT_EQ(unet.weightTypes(), std::string(type) == "q8_0" ? "q8_0+f32" : "f32+f16");  // the types present, reverse-sorted
        EXPECT_LT(fs::file_size(dir / "unet.gguf"), fs::file_size(unetReference("f32") / "unet.gguf") * 6 / 10) << type;
        const auto d = compare(noisePrediction(unet, dir, 12, 901), readRaw<float>(dir / "pred_12.f32"));
        std::printf("unet %s: max abs diff %.3g, peak %.3g\n", type, d.maxAbs, d.peak);
        EXPECT_GT(d.maxAbs, 0.0) << type << " weights gave identical noise: were they converted?";
        EXPECT_LT(d.maxAbs, 0.05 * d.peak) << type;
    }
}

TEST(AudioldmDdim, TimestepsAreDiffusersLeadingSpacing) {
    const models::DdimConfig audioldm;  // 0.0015 to 0.0195 over 1000, offset 1
    EXPECT_EQ(models::DdimScheduler(audioldm, 3).timesteps(), (std::vector<int>{667, 334, 1}));
    EXPECT_EQ(models::DdimScheduler(audioldm, 10).timesteps(), (std::vector<int>{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}));
    EXPECT_EQ(models::DdimScheduler(audioldm, 200).timesteps().front(), 996);
    EXPECT_EQ(models::DdimScheduler(audioldm, 1).timesteps(), (std::vector<int>{1}));
    EXPECT_THROW(models::DdimScheduler(audioldm, 0), std::invalid_argument);
    try {
        models::DdimScheduler(audioldm, models::kMaxDdimSteps + 1);
        FAIL() << "201 steps were accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("201 diffusion steps; allowed 1 to 200"), std::string::npos) << e.what();
    }
}

TEST(AudioldmDdim, SeededLatentsAreTheReferencesAndGaussian) {
    const auto dir = unetReference("f32");
    const auto want = readRaw<float>(dir / "traj_start.f32");  // seed 7, by the reference's own SplitMix64 + Box-Muller
    const auto got = models::gaussianLatents(7, want.size());
    EXPECT_LT(compare(got, want).maxAbs, 1e-6);
    EXPECT_EQ(models::gaussianLatents(7, 100), models::gaussianLatents(7, 100));
    EXPECT_NE(models::gaussianLatents(7, 100), models::gaussianLatents(8, 100));
    const auto many = models::gaussianLatents(123, 100000);
    double mean = 0, square = 0;
    for (float x : many) mean += x, square += static_cast<double>(x) * x;
    mean /= many.size();
    const double sd = std::sqrt(square / many.size() - mean * mean);
    EXPECT_LT(std::fabs(mean), 0.02);
    EXPECT_NEAR(sd, 1.0, 0.02);
}

TEST(AudioldmDdim, GuidedTrajectoryMatchesTheReferenceStepByStep) {
    // 3 DDIM steps at guidance 2.5 from seed 7's latents (40 rows x 8 columns), the reference's
    // own DDIM (diffusers' formulas, float32 PyTorch) against ours (double), step by step.
    const auto dir = unetReference("f32");
    models::AudioldmPipeline pipe(dir, 2);
    auto& unet = pipe.unet();
    const auto cond = readRaw<float>(dir / "cond.f32"), uncond = readRaw<float>(dir / "uncond.f32");
    const auto traj = readRaw<float>(dir / "traj.f32");
    auto x = readRaw<float>(dir / "traj_start.f32");
    const std::size_t n = x.size();
    ASSERT_EQ(n, 4u * 40 * 8);
    ASSERT_EQ(traj.size(), 3 * n);
    const models::DdimScheduler ddim(unet.ddim(), 3);
    for (std::size_t i = 0; i < 3; ++i) {
        auto e = unet.predict(x, 40, 8, ddim.timesteps()[i], {uncond, cond});
        std::vector<float> eps(n);
        for (std::size_t k = 0; k < n; ++k) eps[k] = e[k] + 2.5f * (e[n + k] - e[k]);
        ddim.step(x, eps, i);
        const auto d = compare(x, std::vector<float>(traj.begin() + static_cast<long>(i * n), traj.begin() + static_cast<long>((i + 1) * n)));
        std::printf("ddim step %zu (t %d): max abs diff %.3g, peak %.3g\n", i, ddim.timesteps()[i], d.maxAbs, d.peak);
        EXPECT_LT(d.maxAbs, 2e-4) << "step " << i;
    }
    std::vector<int> seen;
    const auto last = pipe.sample(readRaw<float>(dir / "traj_start.f32"), 40, 8, cond, uncond, 3, 2.5, [&](int step, int steps) {
        EXPECT_EQ(steps, 3);
        seen.push_back(step);
    });
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(last, x);
}

TEST(AudioldmPipelineGgml, SeedAndEmbeddingsToAudioMatchTorch) {
    const auto dir = unetReference("f32");
    models::AudioldmPipeline pipe(dir, 2);
    EXPECT_EQ(pipe.sampleRateHz(), 16000);
    EXPECT_EQ(pipe.embeddingSize(), 16);
    const auto cond = readRaw<float>(dir / "cond.f32"), uncond = readRaw<float>(dir / "uncond.f32");
    const models::AudioldmRequest request{0.05, 3, 2.5, 7};
    const auto shape = pipe.shapeFor(0.05);
    EXPECT_EQ(shape.rows, 40);  // 800 samples / 10 a frame = 80 frames, 2 a latent row
    EXPECT_EQ(shape.columns, 8);
    const auto audio = pipe.generate(cond, uncond, request);
    ASSERT_EQ(audio.size(), 800u);
    const auto d = compare(audio, readRaw<float>(dir / "pipeline_audio.f32"));
    std::printf("pipeline audio: max abs diff %.3g, peak %.3g\n", d.maxAbs, d.peak);
    EXPECT_GT(d.peak, 1e-2);
    EXPECT_LT(d.maxAbs, 1e-3 * std::max(1.0, d.peak));
    EXPECT_EQ(pipe.generate(cond, uncond, request), audio) << "the same seed gave other audio";
    EXPECT_NE(pipe.generate(cond, uncond, {0.05, 3, 2.5, 8}), audio) << "another seed gave the same audio";
    EXPECT_NE(pipe.generate(uncond, cond, request), audio) << "the text embedding made no difference";
    std::atomic<bool> cancel{true};
    EXPECT_THROW(pipe.generate(cond, uncond, request, {}, &cancel), models::Cancelled);
}

TEST(AudioldmPipelineGgml, BadRequestsAreRefusedByName) {
    const auto dir = unetReference("f32");
    models::AudioldmPipeline pipe(dir, 1);
    const std::vector<float> e(16, 0.25f);
    auto error = [&](const models::AudioldmRequest& r, const std::vector<float>& cond) -> std::string {
        try {
            pipe.generate(cond, e, r);
        } catch (const std::invalid_argument& ex) {
            return ex.what();
        }
        return "(accepted)";
    };
    EXPECT_NE(error({0.0, 3, 2.5, 1}, e).find("duration 0 s; allowed 0.000625 (one mel frame) to 30 s"), std::string::npos) << error({0.0, 3, 2.5, 1}, e);
    EXPECT_NE(error({31, 3, 2.5, 1}, e).find("allowed"), std::string::npos);
    EXPECT_NE(error({0.05, 0, 2.5, 1}, e).find("0 diffusion steps; allowed 1 to 200"), std::string::npos);
    EXPECT_NE(error({0.05, 3, 21, 1}, e).find("guidance 21; allowed 0 to 20"), std::string::npos);
    EXPECT_NE(error({0.05, 3, 2.5, 1}, std::vector<float>(15, 0.1f)).find("embedding 1 has 15 values; this UNet takes 16"), std::string::npos);
    auto& unet = pipe.unet();
    std::vector<float> x(4 * 4 * 8, 0.1f);
    EXPECT_THROW(unet.predict(x, 4, 8, 1000, {e}), std::invalid_argument);
    EXPECT_THROW(unet.predict(x, 5, 8, 10, {e}), std::invalid_argument);
    EXPECT_THROW(unet.predict(x, 4, 8, 10, {e, e, e}), std::invalid_argument);
    x[9] = std::nanf("");
    EXPECT_THROW(unet.predict(x, 4, 8, 10, {e}), std::invalid_argument);
}

TEST(AudioldmConverter, RefusesAUnetOrSchedulerItCannotRun) {
    const auto src = unetReference("f32");
    const auto bad = scratch() / "badunet";
    fs::create_directories(bad / "unet");
    fs::create_directories(bad / "scheduler");
    fs::copy_file(src / "unet" / "diffusion_pytorch_model.bin", bad / "unet" / "diffusion_pytorch_model.bin", fs::copy_options::overwrite_existing);
    auto edit = [&](const std::string& part, const std::string& file, const std::string& key, const std::string& value) {
        const auto r = runCommand(kPython + " -c \"import json,sys; p=sys.argv[1]; c=json.load(open(p)); c[sys.argv[2]]=json.loads(sys.argv[3]); json.dump(c,open(p,'w'))\" " +
                                  (bad / part / file).string() + " " + key + " '" + value + "'");
        ASSERT_EQ(r.code, 0) << r.output;
    };
    fs::copy_file(src / "unet" / "config.json", bad / "unet" / "config.json", fs::copy_options::overwrite_existing);
    fs::copy_file(src / "scheduler" / "scheduler_config.json", bad / "scheduler" / "scheduler_config.json", fs::copy_options::overwrite_existing);
    edit("scheduler", "scheduler_config.json", "prediction_type", "\"v_prediction\"");
    auto r = runCommand(kPython + " " + kTools + "/audioldm_to_gguf.py " + bad.string() + " " + bad.string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("prediction_type is 'v_prediction'; Soundstar's DDIM runs 'epsilon'"), std::string::npos) << r.output;
    fs::copy_file(src / "scheduler" / "scheduler_config.json", bad / "scheduler" / "scheduler_config.json", fs::copy_options::overwrite_existing);
    edit("unet", "config.json", "class_embeddings_concat", "false");
    r = runCommand(kPython + " " + kTools + "/audioldm_to_gguf.py " + bad.string() + " " + bad.string());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("unet class_embeddings_concat is False; the ggml UNet runs AudioLDM's True"), std::string::npos) << r.output;
}

namespace {

// A tiny `audioldm` model folder: the UNet reference's unet/vae/vocoder (a 24-value text
// embedding) and clap_reference.py's tiny CLAP (projection 24), converted; made once per build.
fs::path audioldmFolder() {
    const auto dir = referenceCache({"models/audioldm_unet_reference.py", "models/audioldm_reference.py", "models/clap_reference.py",
                                     "../tools/audioldm_to_gguf.py", "../tools/clap_to_gguf.py", "../tools/encodec_to_gguf.py"}) / "folder";
    makeOnce(dir, "manifest.json", [](const fs::path& tmp) {
        for (const auto& cmd : {kPython + " " + kTests + "/models/audioldm_unet_reference.py --out " + tmp.string() + " --text-dim 24 --no-reference --seed 2",
                                kPython + " " + kTests + "/models/audioldm_reference.py --out " + tmp.string() + " --seed 2",
                                kPython + " " + kTools + "/audioldm_to_gguf.py " + tmp.string() + " " + tmp.string(),
                                kPython + " " + kTests + "/models/clap_reference.py --out " + (tmp / "clap").string() + " --size tiny --no-reference",
                                kPython + " " + kTools + "/clap_to_gguf.py " + (tmp / "clap").string() + " " + (tmp / "clap.gguf").string()})
            mustRun(cmd);
        std::ofstream(tmp / "manifest.json") << R"({"name": "audioldm-tiny", "kind": "audioldm", "sample_rate": 16000, "quantization": "f32",
        "weights": "unet.gguf", "parameter_count": 4000000, "parameters": {"default_steps": 4, "default_guidance": 2.5, "threads": 2}})";
    });
    return dir;
}

std::string generateCommand(const fs::path& dir, const std::string& prompt, const std::string& extra, const fs::path& out) {
    return std::string(SOUNDSTAR_BIN) + " generate '" + prompt + "' --model " + dir.string() + " -q " + extra + " -o " + out.string();
}

}  // namespace

TEST(AudioldmFolder, GeneratesFromAPromptTheSameBytesForTheSameSeed) {
    const auto dir = audioldmFolder();
    const auto a = scratch() / "a.wav", b = scratch() / "b.wav", c = scratch() / "c.wav", d = scratch() / "d.wav";
    for (const auto& [out, prompt, seed] : {std::tuple{a, "a calm piano", 5}, std::tuple{b, "a calm piano", 5}, std::tuple{c, "a calm piano", 6},
                                            std::tuple{d, "loud drums", 5}}) {
        const auto r = runCommand(generateCommand(dir, prompt, "-d 0.1 --steps 3 --guidance 2.5 --seed " + std::to_string(seed), out));
        ASSERT_EQ(r.code, 0) << r.output;
    }
    // Read back by sox: 0.1 s at 16 kHz; not silent.
    EXPECT_EQ(runCommand("soxi -s " + a.string()).output, "1600\n");
    EXPECT_EQ(runCommand("soxi -r " + a.string()).output, "16000\n");
    const auto stat = runCommand("sox " + a.string() + " -n stat 2>&1").output;
    const auto at = stat.find("RMS     amplitude:");
    ASSERT_NE(at, std::string::npos) << stat;
    EXPECT_GT(std::stod(stat.substr(at + 18)), 1e-4) << stat;
    EXPECT_EQ(runCommand("cmp " + a.string() + " " + b.string()).code, 0) << "the same seed gave different files";
    EXPECT_NE(runCommand("cmp " + a.string() + " " + c.string()).code, 0) << "another seed gave the same file";
    EXPECT_NE(runCommand("cmp " + a.string() + " " + d.string()).code, 0) << "another prompt gave the same file";
    // Settings that do not apply, and out of range, are named.
    auto r = runCommand(generateCommand(dir, "x", "-d 0.1 --top-k 5", scratch() / "bad.wav"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("top-k and temperature do not apply to audioldm"), std::string::npos) << r.output;
    r = runCommand(generateCommand(dir, "x", "-d 0.1 --steps 201", scratch() / "bad.wav"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("201 diffusion steps; allowed 1 to 200"), std::string::npos) << r.output;
    r = runCommand(generateCommand(dir, "x", "-d 31", scratch() / "bad.wav"));
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("duration 31 s; allowed"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(scratch() / "bad.wav"));
}

TEST(AudioldmFolder, ProgressAndCancelThroughTheWorker) {
    const auto dir = audioldmFolder();
    models::WorkerSupervisor::Options o;
    o.workerCommand = {SOUNDSTAR_BIN, "model-worker"};
    models::WorkerSupervisor service(o);
    models::GenerateRequest r;
    r.model = dir;
    r.prompt = "rain on a tin roof";
    r.seconds = 0.1;
    r.seed = 3;
    std::vector<int> seen;
    int total = 0;
    models::GenerateCallbacks cb;
    cb.onProgress = [&](int step, int steps) {
        seen.push_back(step);
        total = steps;
    };
    const auto done = service.generate(r, cb);
    ASSERT_TRUE(done.ok) << done.error;
    EXPECT_EQ(done.interleaved.size(), 1600u);
    EXPECT_EQ(total, 5);  // the manifest's 4 DDIM steps, then the VAE and vocoder
    EXPECT_EQ(seen.back(), 5);
    // Cancel after the first progress of a long run: it stops between UNet passes.
    r.steps = 200;
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
    EXPECT_LT(took, 0.5);
    r.steps = 2;  // the worker still serves
    const auto again = service.generate(r);
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_EQ(again.interleaved.size(), 1600u);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    fs::remove_all(scratch());
    return rc;
}

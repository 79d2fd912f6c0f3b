// AudioLDM on ggml (issue #12) at AudioLDM-s's published sizes (random weights made by
// tests/models/audioldm_reference.py and audioldm_unet_reference.py --size real, converted by
// tools/audioldm_to_gguf.py): the VAE decoder (latents -> mel) and the HiFi-GAN vocoder (mel ->
// 16 kHz audio) in seconds of audio per second of wall time, the vocoder f32 and q8_0; and the
// UNet's time per DDIM step with classifier-free guidance (two passes) at that duration's
// latents (25 rows a second x 16 columns), f32 and q8_0.
//   bench_audioldm [seconds of audio, default 2] [threads, default all cores]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "models/ggml/AudioldmUnet.h"
#include "models/ggml/HifiganVocoder.h"
#include "models/ggml/VaeDecoder.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    const int threads = argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
    const auto dir = fs::temp_directory_path() / fmt::format("soundstar-bench-audioldm-{}", ::getpid());
    fs::create_directories(dir);
    const std::string py = "/usr/bin/python3 " + std::string(SOUNDSTAR_TESTS_DIR);
    if (std::system(fmt::format("{}/models/audioldm_reference.py --out {} --size real --no-reference >/dev/null", py, dir.string()).c_str()) != 0) return 1;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    auto clock = [] { return std::chrono::steady_clock::now(); };
    auto since = [&](auto t0) { return std::chrono::duration<double>(clock() - t0).count(); };
    const int melFrames = static_cast<int>(seconds * 100);  // hop 160 at 16 kHz
    {
        if (std::system(fmt::format("{}/../tools/audioldm_to_gguf.py {} {} >/dev/null", py, dir.string(), dir.string()).c_str()) != 0) return 1;
        soundstar::models::VaeDecoder vae(dir / "vae.gguf", threads);
        const int rows = melFrames / vae.config().upscale(), columns = 64 / vae.config().upscale();
        std::vector<float> z(static_cast<std::size_t>(vae.config().latentChannels) * rows * columns);
        for (auto& x : z) x = normal(rng);
        vae.decode(z, rows, columns);  // warm-up: threads, allocator
        const auto t0 = clock();
        const auto mel = vae.decode(z, rows, columns);
        const double wall = since(t0);
        fmt::print("vae     f32  {:>6.1f} MiB weights, {} threads: {} latent rows ({:.2f} s) -> {} mel frames in {:.3f} s = {:.2f} s of audio per second\n",
                   vae.weightBytes() / 1048576.0, threads, rows, seconds, mel.size() / 64, wall, seconds / wall);
    }
    for (const char* type : {"f32", "q8_0"}) {
        if (std::system(fmt::format("{}/../tools/audioldm_to_gguf.py {} {} --type {} >/dev/null", py, dir.string(), dir.string(), type).c_str()) != 0) return 1;
        soundstar::models::HifiganVocoder voc(dir / "vocoder.gguf", threads);
        std::vector<float> mel(static_cast<std::size_t>(melFrames) * voc.config().melBins);
        for (auto& x : mel) x = normal(rng) - 5.0f;
        voc.vocode(std::vector<float>(mel.begin(), mel.begin() + 10 * voc.config().melBins), 10);  // warm-up
        const auto t0 = clock();
        const auto audio = voc.vocode(mel, melFrames);
        const double wall = since(t0);
        const double audioSeconds = static_cast<double>(audio.size()) / voc.config().sampleRateHz;
        fmt::print("vocoder {:<5}{:>6.1f} MiB weights, {} threads: {:.2f} s of audio in {:.3f} s = {:.2f} s of audio per second\n", type,
                   voc.weightBytes() / 1048576.0, threads, audioSeconds, wall, audioSeconds / wall);
    }
    if (std::system(fmt::format("{}/models/audioldm_unet_reference.py --out {} --size real --no-reference >/dev/null", py, dir.string()).c_str()) != 0) return 1;
    for (const char* type : {"f32", "q8_0"}) {
        if (std::system(fmt::format("{}/../tools/audioldm_to_gguf.py {} {} --type {} >/dev/null", py, dir.string(), dir.string(), type).c_str()) != 0) return 1;
        soundstar::models::AudioldmUnet unet(dir / "unet.gguf", threads);
        const int rows = std::max(1, static_cast<int>(seconds * 25)), columns = 16;
        std::vector<float> z(static_cast<std::size_t>(unet.config().inChannels) * rows * columns);
        for (auto& x : z) x = normal(rng);
        std::vector<std::vector<float>> text(2, std::vector<float>(static_cast<std::size_t>(unet.config().classEmbedDim)));
        for (auto& e : text) {
            double norm = 0;
            for (auto& x : e) {
                x = normal(rng);
                norm += static_cast<double>(x) * x;
            }
            for (auto& x : e) x = static_cast<float>(x / std::sqrt(norm));
        }
        unet.predict(z, rows, columns, 901, text);  // warm-up: threads, allocator
        constexpr int kSteps = 3;
        const auto t0 = clock();
        for (int i = 0; i < kSteps; ++i) unet.predict(z, rows, columns, 801 - 100 * i, text);
        const double perStep = since(t0) / kSteps;
        fmt::print("unet    {:<5}{:>6.1f} MiB weights ({}), {} threads: {} x {} latents ({:.2f} s): {:.3f} s per guided DDIM step (2 passes); 10 steps {:.1f} s\n", type,
                   unet.weightBytes() / 1048576.0, unet.weightTypes(), threads, rows, columns, seconds, perStep, 10 * perStep);
    }
    fs::remove_all(dir);
    return 0;
}

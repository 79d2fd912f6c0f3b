// MusicGen's language model on ggml (issue #12): steps (code frames) per second with
// classifier-free guidance (two rows), for the tiny test model and for facebook/musicgen-small's
// decoder sizes (random weights made by tests/models/musicgen_reference.py, converted by
// tools/musicgen_to_gguf.py), the median step and the time 10 s of audio (500 frames + 3 delay steps) would take.
//   bench_musicgen [steps, default 40] [threads, default all cores] [types, default "f32,q8_0"] [takes, default "1,2,4"]
// Takes: the same steps for a batch of takes (generateTakes, f32 KV), the median step and a take's share of it.
// $SOUNDSTAR_BENCH_MODELS=DIR keeps the random models there and reuses them (making musicgen-small's
// takes minutes); $SOUNDSTAR_GGML_CPU=x64 etc. times another ggml CPU variant (src/models/ggml/GgmlCpu.h).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>
#include <thread>

#include "models/ggml/GgmlCpu.h"
#include "models/ggml/MusicgenLm.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 40;
    const int threads = argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
    const std::string types = argc > 3 ? argv[3] : "f32,q8_0";
    const std::string takeList = argc > 4 ? argv[4] : "1,2,4";
    const char* keep = std::getenv("SOUNDSTAR_BENCH_MODELS");
    const auto dir = keep && *keep ? fs::path(keep) : fs::temp_directory_path() / fmt::format("soundstar-bench-musicgen-{}", ::getpid());
    fs::create_directories(dir);
    fmt::print("ggml CPU: {}\n", soundstar::models::describeGgmlCpu());
    for (const char* size : {"tiny", "small"}) {
        const auto d = dir / size;
        if (!(fs::exists(d / "config.json") && fs::exists(d / "musicgen.pt")) &&
            std::system(fmt::format("/usr/bin/python3 {}/models/musicgen_reference.py --out {} --size {} --no-reference", SOUNDSTAR_TESTS_DIR, d.string(), size).c_str()) != 0)
            return 1;
        std::stringstream list(types);
        for (std::string type; std::getline(list, type, ',');) {
            const auto gguf = d / fmt::format("{}.gguf", type);
            if (!fs::exists(gguf) && std::system(fmt::format("/usr/bin/python3 {}/../tools/musicgen_to_gguf.py {} {} {} --type {} >/dev/null", SOUNDSTAR_TESTS_DIR,
                                        (d / "musicgen.pt").string(), (d / "config.json").string(), gguf.string(), type).c_str()) != 0)
                return 1;
            soundstar::models::MusicgenLm lm(gguf, threads);
            const auto& c = lm.config();
            const int textTokens = 12;
            std::vector<float> text(static_cast<std::size_t>(textTokens) * c.textHiddenSize, 0.1f);
            soundstar::models::SamplingSettings s;
            s.topK = std::min(250, c.vocabSize);
            s.guidanceScale = 3.0;
            for (const bool half : {false, true}) {
                lm.setHalfPrecisionCache(half);
                lm.generate(text, textTokens, 2, s);  // warm-up: threads, allocator
                const int frames = steps - c.codebooks + 1;
                const auto t0 = std::chrono::steady_clock::now();
                std::vector<double> stepSeconds;
                auto last = t0;
                lm.generate(text, textTokens, frames, s, [&](int, int) {
                    const auto now = std::chrono::steady_clock::now();
                    stepSeconds.push_back(std::chrono::duration<double>(now - last).count());
                    last = now;
                });
                const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                // Medians (the shared machine's stalls fall out): all steps, and the last 40 (attention over the longest cache).
                auto median = [](std::vector<double> v) {
                    std::sort(v.begin(), v.end());
                    return v[v.size() / 2];
                };
                const double perStep = median(stepSeconds);
                const double late = median(std::vector<double>(stepSeconds.end() - std::min<std::ptrdiff_t>(40, static_cast<std::ptrdiff_t>(stepSeconds.size())), stepSeconds.end()));
                fmt::print("{:<6} {:<5} {} KV, {:>7.1f} MiB weights, {} threads: {} steps in {:.2f} s, median {:.1f} ms a step (last 40: {:.1f} ms); "
                           "10 s of audio (503 steps) ~ {:.0f} s\n",
                           size, type, half ? "f16" : "f32", lm.weightBytes() / 1048576.0, threads, steps, wall, perStep * 1000, late * 1000,
                           (perStep + late) / 2 * 503);
            }
            lm.setHalfPrecisionCache(false);
            std::stringstream takesIn(takeList);
            double single = 0;
            for (std::string item; std::getline(takesIn, item, ',');) {
                const int takes = std::atoi(item.c_str());
                if (takes < 1 || takes > soundstar::models::kMaxBatchTakes) continue;
                std::vector<double> stepSeconds;
                auto last = std::chrono::steady_clock::now();
                lm.generateTakes(text, textTokens, steps - c.codebooks + 1, s, takes, [&](int, int) {
                    const auto now = std::chrono::steady_clock::now();
                    stepSeconds.push_back(std::chrono::duration<double>(now - last).count());
                    last = now;
                });
                std::sort(stepSeconds.begin(), stepSeconds.end());
                const double perStep = stepSeconds[stepSeconds.size() / 2];
                if (takes == 1) single = perStep;
                fmt::print("{:<6} {:<5} {} takes: median {:.1f} ms a step, {:.1f} ms a take-step{}\n", size, type, takes, perStep * 1000, perStep / takes * 1000,
                           single > 0 && takes > 1 ? fmt::format(" ({:.2f}x the one-take step for {} takes)", perStep / single, takes) : "");
            }
        }
        if (!keep) fs::remove_all(d);
    }
    if (!keep) fs::remove_all(dir);
    return 0;
}

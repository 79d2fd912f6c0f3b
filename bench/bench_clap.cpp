// AudioLDM's text encoder on ggml (issue #12): CLAP's text tower at AudioLDM's published sizes
// (12 layers, hidden 768, 12 heads, FFN 3072, projection 512, vocabulary 50265; random weights
// made by tests/models/clap_reference.py --size base, converted by tools/clap_to_gguf.py): load
// time and the median time to embed a prompt and the empty (unconditional) prompt, f32 and q8_0.
//   bench_clap [threads, default all cores] [runs, default 7]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "models/ggml/ClapTextEncoder.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : static_cast<int>(std::thread::hardware_concurrency());
    const int runs = std::max(1, argc > 2 ? std::atoi(argv[2]) : 7);
    const auto dir = fs::temp_directory_path() / fmt::format("soundstar-bench-clap-{}", ::getpid());
    fs::create_directories(dir);
    const std::string py = "/usr/bin/python3 " + std::string(SOUNDSTAR_TESTS_DIR);
    if (std::system(fmt::format("{}/models/clap_reference.py --out {} --size base --no-reference >/dev/null", py, dir.string()).c_str()) != 0) return 1;
    auto clock = [] { return std::chrono::steady_clock::now(); };
    auto since = [&](auto t0) { return std::chrono::duration<double>(clock() - t0).count(); };
    const std::string prompt = "warm analog pads with a slow deep bass, dusty drums and a bright bell melody over rain";
    for (const char* type : {"f32", "q8_0"}) {
        const auto gguf = dir / fmt::format("clap-{}.gguf", type);
        if (std::system(fmt::format("{}/../tools/clap_to_gguf.py {} {} --type {} >/dev/null", py, dir.string(), gguf.string(), type).c_str()) != 0) return 1;
        auto t0 = clock();
        soundstar::models::ClapTextEncoder enc(gguf, threads);
        const double load = since(t0);
        for (const auto& text : {prompt, std::string()}) {
            enc.embed(text);  // warm-up: threads, allocator
            std::vector<double> times;
            for (int i = 0; i < runs; ++i) {
                t0 = clock();
                enc.embed(text);
                times.push_back(since(t0));
            }
            std::sort(times.begin(), times.end());
            fmt::print("clap {:<5}{:>6.1f} MiB weights, load {:.2f} s, {} threads: {:>2} tokens embedded in {:.1f} ms (median of {}, {:.1f}-{:.1f})\n", type,
                       enc.weightBytes() / 1048576.0, load, threads, enc.tokenize(text).size(), 1e3 * times[times.size() / 2], runs, 1e3 * times.front(),
                       1e3 * times.back());
        }
    }
    fs::remove_all(dir);
    return 0;
}

// EnCodec's decoder on ggml (issue #12): seconds of audio decoded per second of wall time, for a
// tiny model and for MusicGen-small's facebook/encodec_32khz sizes (random weights made by
// tests/models/encodec_reference.py, converted by tools/encodec_to_gguf.py), f32 and q8_0.
//   bench_encodec [seconds of audio, default 10] [threads, default all cores]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "models/ggml/EncodecDecoder.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
    const int threads = argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
    const auto dir = fs::temp_directory_path() / fmt::format("soundstar-bench-encodec-{}", ::getpid());
    fs::create_directories(dir);
    for (const char* size : {"tiny", "small"}) {
        const auto d = dir / size;
        if (std::system(fmt::format("/usr/bin/python3 {}/models/encodec_reference.py --out {} --size {} --no-reference", SOUNDSTAR_TESTS_DIR, d.string(), size).c_str()) != 0)
            return 1;
        for (const char* type : {"f32", "q8_0"}) {
            const auto gguf = d / fmt::format("{}.gguf", type);
            if (std::system(fmt::format("/usr/bin/python3 {}/../tools/encodec_to_gguf.py {} {} {} --type {} >/dev/null", SOUNDSTAR_TESTS_DIR,
                                        (d / "encodec.pt").string(), (d / "config.json").string(), gguf.string(), type).c_str()) != 0)
                return 1;
            soundstar::models::EncodecDecoder dec(gguf, threads);
            const auto& c = dec.config();
            const int frames = std::clamp(static_cast<int>(seconds * c.sampleRateHz / c.hopLength()), dec.minFrames(), soundstar::models::kMaxEncodecFrames);
            std::mt19937 rng(1);
            std::vector<std::int32_t> codes(static_cast<std::size_t>(c.codebooks) * frames);
            for (auto& x : codes) x = static_cast<std::int32_t>(rng() % c.codebookSize);
            const int warm = std::min(frames, 50);  // warm-up: threads, allocator
            dec.decode(std::vector<std::int32_t>(static_cast<std::size_t>(c.codebooks) * warm, 0), warm);
            const auto t0 = std::chrono::steady_clock::now();
            const auto audio = dec.decode(codes, frames);
            const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double audioSeconds = static_cast<double>(audio.size()) / c.audioChannels / c.sampleRateHz;
            fmt::print("{:<6} {:<5} {:>6.1f} MiB weights, {} threads: {:.2f} s of audio in {:.3f} s = {:.2f} s of audio per second\n", size, type,
                       dec.weightBytes() / 1048576.0, threads, audioSeconds, wall, audioSeconds / wall);
        }
    }
    fs::remove_all(dir);
    return 0;
}

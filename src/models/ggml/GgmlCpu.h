#pragma once
// ggml's CPU backend, chosen at run time [control]. scripts/build-ggml.sh builds ggml with
// GGML_BACKEND_DL and several CPU variants (libggml-cpu-x64.so for any x86-64, -sse42,
// -sandybridge (AVX), -haswell (AVX2, FMA, F16C), -skylakex (AVX-512) ...). On first use the
// variant with the highest ggml_backend_score() that this CPU can run is loaded, so one build
// gets the SIMD speed here and still runs on a plain x86-64 machine. The ggml-cpu.h calls the
// models make (ggml_backend_cpu_init, ggml_backend_cpu_set_n_threads) are served by the loaded
// variant (GgmlCpu.cpp); ggml_backend_cpu_buffer_type is libggml-base's own.
//
// Where the variants are: $SOUNDSTAR_GGML_CPU_DIR, else the folder the build found them in.
// $SOUNDSTAR_GGML_CPU=NAME (e.g. x64) forces one variant; an unknown name or one this CPU
// cannot run is an error that lists the variants there.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace soundstar::models {

struct GgmlCpuVariant {
    std::string name;                   ///< the variant's tag, e.g. "haswell"
    std::string path;                   ///< the shared module it was loaded from
    int score = 0;                      ///< ggml_backend_score(): higher is a better fit
    std::vector<std::string> features;  ///< the instruction sets it was compiled with ("AVX2", "FMA", ...)
    bool forced = false;                ///< chosen by $SOUNDSTAR_GGML_CPU rather than by score
};

/// The CPU variant in use, loading it on the first call (thread-safe). Throws std::runtime_error
/// naming the folder and what is wrong when no variant can be loaded.
const GgmlCpuVariant& ggmlCpuVariant();

/// One line for `soundstar models` / `soundstar doctor`: "haswell (AVX2 F16C FMA ...) from PATH".
std::string describeGgmlCpu();

/// Weights under this many bytes (all of a folder's files together) run on one thread unless
/// told otherwise: their graphs' nodes are too small for more threads to pay back the barrier
/// between nodes, and on a loaded machine every spinning thread steals a core from other work.
/// Measured with `soundstar generate` on 2 cores: the 1.7 MB test MusicGen folder, 1.25 s of
/// audio, 0.43 s on one thread against 0.80 s on two; the 18 MB test AudioLDM folder 0.43 s
/// against 0.51 s. MusicGen-small's LM alone is 1.6 GB (f32).
inline constexpr std::uint64_t kOneThreadModelBytes = 32ull << 20;

/// The threads a model folder runs on when neither its manifest nor the request names a count:
/// one for weights (`files`' sizes together) under kOneThreadModelBytes, else every core (at
/// most 64). A file that cannot be read counts as nothing (loading it names the problem).
int defaultModelThreads(const std::vector<std::filesystem::path>& files);

}  // namespace soundstar::models

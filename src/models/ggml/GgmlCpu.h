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

}  // namespace soundstar::models

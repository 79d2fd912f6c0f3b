// ggml's CPU backend picked at run time (src/models/ggml/GgmlCpu.h, issue #12): the variant in use
// only uses instruction sets /proc/cpuinfo lists, takes AVX2/FMA/F16C (and AVX-512) where the CPU
// has them, is what `soundstar models` and `soundstar doctor` report, and SOUNDSTAR_GGML_CPU
// forces the plain x86-64 one (whose numbers tests/CMakeLists.txt checks against PyTorch too).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "Cli.h"
#include "models/ggml/GgmlCpu.h"

namespace fs = std::filesystem;
using soundstar::models::ggmlCpuVariant;
using soundstar::test::runCommand;

namespace {

const std::string kBin = SOUNDSTAR_BIN;

// The CPU's flags, as the kernel lists them (the first processor's "flags" line).
std::set<std::string> cpuFlags() {
    std::ifstream in("/proc/cpuinfo");
    std::set<std::string> flags;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("flags", 0) != 0) continue;
        std::istringstream words(line.substr(line.find(':') + 1));
        for (std::string w; words >> w;) flags.insert(w);
        break;
    }
    return flags;
}

// ggml's feature names for x86 instruction sets -> the /proc/cpuinfo flag each needs.
const std::map<std::string, std::string> kIsaFlag = {
    {"SSE3", "pni"},           {"SSSE3", "ssse3"},         {"AVX", "avx"},           {"AVX_VNNI", "avx_vnni"},
    {"AVX2", "avx2"},          {"F16C", "f16c"},           {"FMA", "fma"},           {"BMI2", "bmi2"},
    {"AVX512", "avx512f"},     {"AVX512_VBMI", "avx512vbmi"}, {"AVX512_VNNI", "avx512_vnni"}, {"AVX512_BF16", "avx512_bf16"},
    {"AMX_INT8", "amx_int8"},
};

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string modelsLine(const std::string& env) {
    const auto empty = fs::temp_directory_path() / "soundstar-ggml-cpu-none";
    fs::create_directories(empty);
    const auto r = runCommand(env + " " + kBin + " models --dir " + empty.string());
    const auto at = r.output.find("ggml CPU: ");
    if (at == std::string::npos) return "(no ggml CPU line in: " + r.output + ")";
    return r.output.substr(at, r.output.find('\n', at) - at);
}

}  // namespace

TEST(GgmlCpu, UsesOnlyWhatThisCpuHasAndTakesItsSimd) {
#if !defined(__x86_64__)
    GTEST_SKIP() << "the instruction-set checks are for x86-64";
#endif
    const auto flags = cpuFlags();
    ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
    const auto& v = ggmlCpuVariant();
    EXPECT_FALSE(v.forced);
    EXPECT_GT(v.score, 0);
    EXPECT_TRUE(fs::exists(v.path)) << v.path;
    EXPECT_EQ(fs::path(v.path).filename().string(), "libggml-cpu-" + v.name + ".so");
    for (const auto& f : v.features) {
        const auto it = kIsaFlag.find(f);
        if (it != kIsaFlag.end()) {
            EXPECT_TRUE(flags.count(it->second)) << v.name << " uses " << f << " but /proc/cpuinfo has no " << it->second;
        }
    }
    const auto dir = fs::path(v.path).parent_path();
    // Where the CPU has AVX2, FMA and F16C and the haswell variant was built, the chosen one has them.
    if (flags.count("avx2") && flags.count("fma") && flags.count("f16c") && flags.count("bmi2") && fs::exists(dir / "libggml-cpu-haswell.so")) {
        EXPECT_TRUE(has(v.features, "AVX2")) << v.name;
        EXPECT_TRUE(has(v.features, "FMA")) << v.name;
        EXPECT_TRUE(has(v.features, "F16C")) << v.name;
    } else if (flags.count("avx") && fs::exists(dir / "libggml-cpu-sandybridge.so")) {
        EXPECT_TRUE(has(v.features, "AVX")) << v.name;
    }
    // And AVX-512 where the CPU has skylakex's set.
    if (flags.count("avx512f") && flags.count("avx512cd") && flags.count("avx512vl") && flags.count("avx512dq") && flags.count("avx512bw") && flags.count("avx2") &&
        flags.count("fma") && flags.count("f16c") && fs::exists(dir / "libggml-cpu-skylakex.so")) {
        EXPECT_TRUE(has(v.features, "AVX512")) << v.name;
    }
}

TEST(GgmlCpu, TheCliReportsTheVariantInUse) {
    const auto& v = ggmlCpuVariant();
    const auto line = modelsLine("");
    EXPECT_EQ(line.rfind("ggml CPU: " + v.name + " (", 0), 0u) << line;
    for (const auto& f : v.features) EXPECT_NE(line.find(f), std::string::npos) << line;
    EXPECT_NE(line.find(v.path), std::string::npos) << line;
    const auto doctor = runCommand(kBin + " doctor");
    EXPECT_NE(doctor.output.find("ok       ggml CPU backend " + v.name + " ("), std::string::npos) << doctor.output;
}

TEST(GgmlCpu, TheBaselineCanBeForcedAndUsesNoSimd) {
    const auto line = modelsLine("SOUNDSTAR_GGML_CPU=x64");
    EXPECT_EQ(line.rfind("ggml CPU: x64 (", 0), 0u) << line;
    EXPECT_NE(line.find("forced by SOUNDSTAR_GGML_CPU"), std::string::npos) << line;
    for (const auto& [isa, flag] : kIsaFlag) EXPECT_EQ(line.find(" " + isa + " "), std::string::npos) << isa << " in " << line;
    EXPECT_EQ(line.find("AVX"), std::string::npos) << line;
}

TEST(GgmlCpu, AnUnknownVariantIsNamedWithTheChoices) {
    const auto line = modelsLine("SOUNDSTAR_GGML_CPU=pentium2");
    EXPECT_NE(line.find("unusable: ggml: SOUNDSTAR_GGML_CPU=pentium2 is not one of them"), std::string::npos) << line;
    EXPECT_NE(line.find("x64 (score"), std::string::npos) << line;
    const auto r = runCommand("SOUNDSTAR_GGML_CPU_DIR=/nonexistent-ggml " + kBin + " doctor");
    EXPECT_NE(r.output.find("MISSING  ggml CPU backend: ggml: no CPU variant in /nonexistent-ggml"), std::string::npos) << r.output;
}

// A folder's default threads: one for weights under 32 MiB in all (the test models), every core
// for bigger ones; the files' sizes count together, and an unreadable file counts as nothing.
TEST(GgmlCpu, SmallModelsDefaultToOneThreadAndLargeOnesToEveryCore) {
    soundstar::test::TempDir dir;
    const auto sized = [&](const std::string& name, std::uintmax_t bytes) {
        const std::filesystem::path p = dir / name;
        std::ofstream(p).close();
        std::filesystem::resize_file(p, bytes);  // sparse: no disk used
        return p;
    };
    const auto small = sized("small.gguf", 20ull << 20), other = sized("other.gguf", 13ull << 20), big = sized("big.gguf", 600ull << 20);
    const int cores = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
    EXPECT_EQ(soundstar::models::defaultModelThreads({small}), 1);
    EXPECT_EQ(soundstar::models::defaultModelThreads({small, std::filesystem::path(dir / "missing.gguf")}), 1);
    EXPECT_EQ(soundstar::models::defaultModelThreads({small, other}), cores) << "20 MiB and 13 MiB together are over the line";
    EXPECT_EQ(soundstar::models::defaultModelThreads({big}), cores);
    EXPECT_EQ(soundstar::models::defaultModelThreads({}), 1);
}

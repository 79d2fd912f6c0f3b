#pragma once
// Shared by the ggml model tests (test_models_*.cpp): the paths of the reference scripts and
// converters, a per-process scratch folder, references cached in the build folder by a hash of the
// scripts that make them (made under a temporary name and renamed, so tests running in parallel
// processes never see half a folder), raw float/int files, and a sample-by-sample comparison.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "Cli.h"

namespace soundstar::test {

inline const std::string kPython = "/usr/bin/python3";
inline const std::string kTests = SOUNDSTAR_TESTS_DIR;
inline const std::string kTools = std::string(SOUNDSTAR_TESTS_DIR) + "/../tools";

/// A folder for this test process, `soundstar-NAME-PID` under the system's temporary folder.
inline std::filesystem::path scratchDir(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("soundstar-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

inline std::string fileText(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

#ifdef SOUNDSTAR_TEST_CACHE
/// The cache folder (the target's SOUNDSTAR_TEST_CACHE) for references made by `scripts` (paths relative to the source tree's tests/,
/// e.g. "models/t5_reference.py" or "../tools/t5_to_gguf.py"): a new folder whenever one changes.
inline std::filesystem::path referenceCache(std::initializer_list<std::string> scripts) {
    std::string text;
    for (const auto& s : scripts) text += fileText(kTests + "/" + s);
    return std::filesystem::path(SOUNDSTAR_TEST_CACHE) / fmt::format("{:016x}", std::hash<std::string>{}(text));
}
#endif

/// Runs `make(tmp)` to fill `dir` unless `dir / sentinel` exists; `tmp` is renamed to `dir`
/// afterwards. Test processes take turns on `dir`.lock, so one makes it and the rest reuse it.
inline void makeOnce(const std::filesystem::path& dir, const std::string& sentinel, const std::function<void(const std::filesystem::path&)>& make) {
    if (std::filesystem::exists(dir / sentinel)) return;
    std::filesystem::create_directories(dir.parent_path());
    // One maker at a time: the others wait on the lock and then find the folder made (ctest runs a
    // test per process, as many as there are cores; five making the same torch models at once
    // pushed the tests that waited on them past their timeout).
    const int lock = ::open((dir.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock >= 0)
        while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
        }
    struct Unlock {
        int fd;
        ~Unlock() {
            if (fd >= 0) ::close(fd);
        }
    } unlock{lock};
    if (std::filesystem::exists(dir / sentinel)) return;
    const auto tmp = std::filesystem::path(dir.string() + ".tmp" + std::to_string(::getpid()));
    make(tmp);
    std::error_code ec;
    // Only a whole folder is kept: a make that failed part way (its EXPECTs have failed this
    // test) leaves nothing for the next process to trust.
    if (std::filesystem::exists(tmp / sentinel) && !::testing::Test::HasFailure()) std::filesystem::rename(tmp, dir, ec);
    std::filesystem::remove_all(tmp, ec);
}

/// Runs a command that must succeed (its output in the failure message).
inline void mustRun(const std::string& cmd) {
    const auto r = runCommand(cmd);
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.output;
}

template <typename T>
std::vector<T> readRaw(const std::filesystem::path& p) {
    const std::string bytes = fileText(p);
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

struct Comparison {
    double maxAbsDiff = 0, peak = 0;
    std::size_t samples = 0;
};

/// Compares `got` with the reference's `want` over their common length (their lengths must be
/// equal, and every value finite), printing the figures under `label`.
inline Comparison compareSamples(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
    EXPECT_EQ(got.size(), want.size()) << label;
    Comparison c;
    c.samples = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < c.samples; ++i) {
        EXPECT_TRUE(std::isfinite(got[i])) << label << " value " << i;
        c.maxAbsDiff = std::max(c.maxAbsDiff, static_cast<double>(std::fabs(got[i] - want[i])));
        c.peak = std::max(c.peak, static_cast<double>(std::fabs(want[i])));
    }
    std::printf("%s: max abs diff %.3g, peak %.3g, %zu values\n", label.c_str(), c.maxAbsDiff, c.peak, c.samples);
    return c;
}

/// What constructing `Part(gguf, 1)` throws as std::invalid_argument.
template <typename Part>
std::string loadError(const std::filesystem::path& gguf) {
    try {
        Part part(gguf, 1);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(loaded without an error)";
}

}  // namespace soundstar::test

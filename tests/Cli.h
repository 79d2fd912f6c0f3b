#pragma once
// Runs a shell command and captures its exit code and output (for CLI end-to-end tests), and reads
// audio files back with independent tools (sox's soxi and stats).
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

namespace soundstar::test {

struct CommandResult {
    int code = -1;
    std::string output;
};

/// Runs a shell command line as given; its standard output only.
inline CommandResult runShell(const std::string& line) {
    CommandResult r;
    FILE* p = popen(line.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) r.output += buf.data();
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

/// Runs a command; its standard output and standard error together.
inline CommandResult runCommand(const std::string& cmd) {
    return runShell(cmd + " 2>&1");
}

/// Runs a command with standard output and standard error kept apart.
struct SplitResult {
    int code = -1;
    std::string out, err;
};
inline SplitResult runCommandSplit(const std::string& cmd) {
    const auto errFile =
        (std::filesystem::temp_directory_path() / ("soundstar-err-" + std::to_string(getpid()))).string();
    const auto r = runShell("( " + cmd + " ) 2>'" + errFile + "'");
    SplitResult s{r.code, r.output, ""};
    if (FILE* f = std::fopen(errFile.c_str(), "rb")) {
        std::array<char, 4096> buf{};
        for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) s.err.append(buf.data(), n);
        std::fclose(f);
    }
    std::filesystem::remove(errFile);
    return s;
}

/// The first number captured by `pattern`'s group 1 in text; NaN when absent.
inline double numberIn(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) return std::nan("");
    return std::stod(m[1].str());
}

/// An audio file's header as soxi reads it (channels, rate, length in sample frames).
struct SoxInfo {
    int channels = 0;
    double sampleRate = 0.0;
    long frames = -1;
    std::string encoding;  // e.g. "16-bit Signed Integer PCM", "32-bit Floating Point PCM"
};
inline SoxInfo soxInfo(const std::string& path) {
    const auto r = runCommand("soxi '" + path + "'");
    SoxInfo i;
    const double ch = numberIn(r.output, R"(Channels\s*:\s*([0-9]+))");
    i.channels = std::isnan(ch) ? 0 : static_cast<int>(ch);
    i.sampleRate = numberIn(r.output, R"(Sample Rate\s*:\s*([0-9.]+))");
    const double frames = numberIn(r.output, R"(= ([0-9]+) samples)");
    i.frames = std::isnan(frames) ? -1 : static_cast<long>(frames);
    std::smatch m;
    if (std::regex_search(r.output, m, std::regex(R"(Sample Encoding\s*:\s*([^\n]+))")))
        i.encoding = m[1].str();
    return i;
}

/// Levels from `sox FILE -n stats` over all channels (dBFS; DC as a fraction of full scale).
struct SoxStats {
    double rmsDb = std::nan(""), peakDb = std::nan(""), dcOffset = std::nan("");
};
inline SoxStats soxStats(const std::string& path) {
    const auto r = runCommand("sox '" + path + "' -n stats");
    return {numberIn(r.output, R"(RMS lev dB\s+(-?[0-9.]+|-inf))"),
            numberIn(r.output, R"(Pk lev dB\s+(-?[0-9.]+|-inf))"),
            numberIn(r.output, R"(DC offset\s+(-?[0-9.]+))")};
}

/// A whole file as text ("" when it cannot be read).
inline std::string readText(const std::string& path) {
    std::string out;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        std::array<char, 4096> buf{};
        for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) out.append(buf.data(), n);
        std::fclose(f);
    }
    return out;
}

/// jackd's scheduling flags for a shell command line: real-time (SCHED_FIFO 70, and its clients'
/// process threads with it) where this user may have it, else --no-realtime. Without real time a
/// loaded machine (ctest running a test per core beside it) delays the dummy backend's cycles:
/// the frame clock falls behind the wall clock and the timing tests read their music late or cut
/// (DjCli's MIDI clock test failed 3 runs in 4 with four busy loops on the two cores here, and
/// passed 5 of 5 in real time).
inline const std::string kJackdScheduling = "$(chrt -f 70 true 2>/dev/null && echo -R -P 70 || echo --no-realtime)";

/// A fresh temporary folder per test, removed afterwards.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "soundstar-XXXXXX").string();
        path_ = mkdtemp(tmpl.data());
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

}  // namespace soundstar::test

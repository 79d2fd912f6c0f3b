#include "dj/DjVoice.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "analysis/AudioInput.h"
#include "music/JsonText.h"

extern char** environ;

namespace soundstar::dj {
namespace {
/// A temp file removed when this goes.
struct TempWav {
    std::filesystem::path path;
    TempWav() {
        std::string t = (std::filesystem::temp_directory_path() / "soundstar-voice-XXXXXX.wav").string();
        const int fd = mkstemps(t.data(), 4);
        if (fd < 0) throw std::runtime_error("voice: cannot make a temp file");
        ::close(fd);
        path = t;
    }
    ~TempWav() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

/// Runs espeak-ng writing `wav`; returns its exit status. Throws when it is missing or too slow.
int runEspeak(const std::string& text, const std::string& wav, double timeoutSeconds) {
    std::string out = wav;
    std::vector<std::string> args{"espeak-ng", "-w", out, "--", text};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, "espeak-ng", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT) throw std::runtime_error("espeak-ng is not installed (apt-get install espeak-ng); voice drops are off, the set plays on");
    if (rc != 0) throw std::runtime_error(fmt::format("voice: could not start espeak-ng ({})", std::strerror(rc)));
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        if (r < 0) throw std::runtime_error("voice: lost espeak-ng");
        if (std::chrono::steady_clock::now() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            throw std::runtime_error(fmt::format("voice: espeak-ng took over {:g} s and was stopped", timeoutSeconds));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}
}  // namespace

std::vector<float> resampleSpeech(const std::vector<float>& x, double fromRate, double toRate) {
    if (x.empty() || fromRate == toRate) return x;
    const auto n = static_cast<std::size_t>(std::floor(static_cast<double>(x.size()) * toRate / fromRate));
    std::vector<float> y(n);
    const auto at = [&](long i) { return x[static_cast<std::size_t>(std::clamp(i, 0L, static_cast<long>(x.size()) - 1))]; };
    for (std::size_t j = 0; j < n; ++j) {  // Catmull-Rom (cubic Hermite) through the four nearest samples
        const double t = static_cast<double>(j) * fromRate / toRate;
        const long i = static_cast<long>(std::floor(t));
        const float f = static_cast<float>(t - static_cast<double>(i));
        const float p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
        y[j] = p1 + 0.5f * f * (p2 - p0 + f * (2.0f * p0 - 5.0f * p1 + 4.0f * p2 - p3 + f * (3.0f * (p1 - p2) + p3 - p0)));
    }
    return y;
}

std::shared_ptr<const engine::SampleBuffer> renderSpeech(const std::string& text, double sampleRate, double timeoutSeconds) {
    if (text.empty() || text.size() > kMaxSpeechBytes)
        throw std::invalid_argument(fmt::format("voice: the text must be 1 to {} bytes (it is {})", kMaxSpeechBytes, text.size()));
    std::string clean = music::clipText(text, kMaxSpeechBytes);
    for (auto& c : clean)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    TempWav wav;
    if (const int code = runEspeak(clean, wav.path.string(), timeoutSeconds); code != 0)
        throw std::runtime_error(fmt::format("voice: espeak-ng failed (exit status {})", code));
    const auto d = analysis::readAudioForAnalysis(wav.path, {std::size_t{64} << 20, kMaxSpeechSeconds, 2});
    auto out = std::make_shared<engine::SampleBuffer>();
    out->left = resampleSpeech(d.left, d.sampleRate, sampleRate);
    out->right = out->left;
    if (out->left.empty()) throw std::runtime_error("voice: espeak-ng made no sound");
    return out;
}

}  // namespace soundstar::dj

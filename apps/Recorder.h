#pragma once
// Where played audio goes besides the device [control]: a float WAV whose header is kept up to
// date (valid whenever the program stops) and raw PCM on standard output (f32 or s16,
// interleaved). Used by `live` and `dj`.
#include <fmt/format.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace soundstar::app {

class Recorder {
public:
    Recorder(const std::string& path, const std::string& stdoutFormat, double sampleRate) : path_(path), stdout_(stdoutFormat) {
        if (!stdout_.empty() && stdout_ != "f32" && stdout_ != "s16")
            throw std::invalid_argument(fmt::format("--stdout {}: allowed f32 or s16", stdout_));
        if (path.empty()) return;
        SF_INFO info{};
        info.channels = 2;
        info.samplerate = static_cast<int>(sampleRate);
        info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
        file_ = sf_open(path.c_str(), SFM_WRITE, &info);
        if (!file_) throw std::runtime_error(fmt::format("cannot write {}: {}", path, sf_strerror(nullptr)));
        sf_command(file_, SFC_SET_UPDATE_HEADER_AUTO, nullptr, SF_TRUE);
        sf_command(file_, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
    }
    ~Recorder() {
        if (file_) sf_close(file_);
    }
    bool active() const { return file_ || !stdout_.empty(); }
    void write(const float* interleaved, std::size_t frames) {
        if (file_ && sf_writef_float(file_, interleaved, static_cast<sf_count_t>(frames)) != static_cast<sf_count_t>(frames))
            throw std::runtime_error(fmt::format("cannot write {}: {}", path_, sf_strerror(file_)));
        if (stdout_ == "f32") writeOut(interleaved, frames * 2 * sizeof(float));
        if (stdout_ == "s16") {
            pcm_.resize(frames * 2);
            for (std::size_t i = 0; i < pcm_.size(); ++i)
                pcm_[i] = static_cast<std::int16_t>(std::lrint(std::clamp(interleaved[i], -1.0f, 1.0f) * 32767.0f));
            writeOut(pcm_.data(), pcm_.size() * sizeof(std::int16_t));
        }
    }

private:
    void writeOut(const void* data, std::size_t bytes) {
        const auto* p = static_cast<const char*>(data);
        for (std::size_t done = 0; done < bytes;) {
            const ssize_t n = ::write(STDOUT_FILENO, p + done, bytes - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error(fmt::format("cannot write to standard output: {}", std::strerror(errno)));
            done += static_cast<std::size_t>(n);
        }
    }
    std::string path_, stdout_;
    SNDFILE* file_ = nullptr;
    std::vector<std::int16_t> pcm_;
};
}  // namespace soundstar::app

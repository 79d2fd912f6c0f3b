#include "io/AudioFile.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cctype>
#include <stdexcept>
#include <vector>

#include "core/Rng.h"

namespace soundstar::io {

std::optional<FileFormat> parseFormat(const std::string& name) {
    std::string n;
    for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n == "wav" || n == "wav16") return FileFormat::Wav16;
    if (n == "wav24") return FileFormat::Wav24;
    if (n == "wav32f" || n == "float" || n == "wavf") return FileFormat::WavFloat;
    if (n == "flac") return FileFormat::Flac;
    if (n == "ogg" || n == "vorbis") return FileFormat::Ogg;
    if (n == "mp3") return FileFormat::Mp3;
    return std::nullopt;
}

std::optional<FileFormat> formatFromPath(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    return parseFormat(ext);
}

const char* formatNames() { return "wav (16-bit), wav24, wav32f, flac, ogg, mp3"; }

const char* containerOf(FileFormat f) {
    switch (f) {
        case FileFormat::Wav16:
        case FileFormat::Wav24:
        case FileFormat::WavFloat: return "wav";
        case FileFormat::Flac: return "flac";
        case FileFormat::Ogg: return "ogg";
        case FileFormat::Mp3: return "mp3";
    }
    return "wav";
}

std::string sndfileVersion() { return sf_version_string(); }

namespace {
// Where libsndfile's bytes go, through its virtual I/O: a regular file written through its own
// descriptor (so a failed write keeps errno: "No space left on device"), or memory for targets
// that cannot seek (standard output, a pipe, a device), flushed in one pass at the end.
struct Sink {
    int fd = -1;
    bool seekable = false;
    std::vector<unsigned char> memory;
    sf_count_t position = 0, length = 0;
    int error = 0;  // errno of the first failed write
};

sf_count_t sinkLength(void* user) { return static_cast<Sink*>(user)->length; }

sf_count_t sinkSeek(sf_count_t offset, int whence, void* user) {
    auto& s = *static_cast<Sink*>(user);
    const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s.position : s.length;
    if (base + offset < 0) return -1;
    s.position = base + offset;
    return s.position;
}

sf_count_t sinkRead(void*, sf_count_t, void*) { return 0; }  // write-only

sf_count_t sinkWrite(const void* data, sf_count_t count, void* user) {
    auto& s = *static_cast<Sink*>(user);
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (!s.seekable) {
        if (s.memory.size() < static_cast<std::size_t>(s.position + count)) s.memory.resize(static_cast<std::size_t>(s.position + count));
        std::copy(bytes, bytes + count, s.memory.begin() + s.position);
    } else {
        for (sf_count_t done = 0; done < count;) {
            const ssize_t n = ::pwrite(s.fd, bytes + done, static_cast<std::size_t>(count - done), s.position + done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (!s.error) s.error = n < 0 ? errno : ENOSPC;
                s.position += done;
                s.length = std::max(s.length, s.position);
                return done;
            }
            done += n;
        }
    }
    s.position += count;
    s.length = std::max(s.length, s.position);
    return count;
}

sf_count_t sinkTell(void* user) { return static_cast<Sink*>(user)->position; }

// Writes all of `bytes` to `fd`, retrying short writes; the errno of a failure, or 0.
int writeAll(int fd, const std::vector<unsigned char>& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : ENOSPC;
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

int sndfileFormat(FileFormat format) {
    switch (format) {
        case FileFormat::Wav16: return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        case FileFormat::Wav24: return SF_FORMAT_WAV | SF_FORMAT_PCM_24;
        case FileFormat::WavFloat: return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
        case FileFormat::Flac: return SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
        case FileFormat::Ogg: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
        case FileFormat::Mp3: return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    }
    return 0;
}

// Encodes the audio into the sink through libsndfile. Throws with the reason on failure.
void encode(Sink& sink, const std::string& name, const StereoBuffer& audio, double sampleRate, FileFormat format,
            std::uint64_t ditherSeed) {
    SF_INFO info{};
    info.channels = 2;
    info.samplerate = static_cast<int>(sampleRate);
    info.format = sndfileFormat(format);
    if (static_cast<double>(info.samplerate) != sampleRate || !sf_format_check(&info))
        throw std::runtime_error(fmt::format("this libsndfile ({}) cannot write that format at {:g} Hz", sf_version_string(), sampleRate));
    SF_VIRTUAL_IO io{sinkLength, sinkSeek, sinkRead, sinkWrite, sinkTell};
    SNDFILE* f = sf_open_virtual(&io, SFM_WRITE, &info, &sink);
    const auto failure = [&](const char* doing) {
        const std::string reason = sink.error ? std::strerror(sink.error) : f ? sf_strerror(f) : sf_strerror(nullptr);
        return std::runtime_error(fmt::format("cannot write {}: {} ({})", name, reason, doing));
    };
    if (!f) throw failure("starting the encoder");
    if (format == FileFormat::Ogg || format == FileFormat::Mp3) {
        double q = 0.8;  // high quality for lossy formats
        sf_command(f, SFC_SET_VBR_ENCODING_QUALITY, &q, sizeof q);
    }
    sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    sf_command(f, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);  // its timestamp would make equal audio unequal bytes
    Rng rng(ditherSeed);
    const bool dither = format == FileFormat::Wav16;
    constexpr float kLsb = 1.0f / 32768.0f;
    const auto n = static_cast<std::size_t>(audio.frames());
    std::vector<float> inter(8192 * 2);
    for (std::size_t pos = 0; pos < n; pos += 8192) {
        const std::size_t m = std::min<std::size_t>(8192, n - pos);
        for (std::size_t i = 0; i < m; ++i) {
            float l = audio.left()[pos + i], r = audio.right()[pos + i];
            if (dither) {  // TPDF: sum of two uniforms, +-1 LSB
                l += (rng.uniform() - rng.uniform()) * kLsb;
                r += (rng.uniform() - rng.uniform()) * kLsb;
            }
            inter[2 * i] = l;
            inter[2 * i + 1] = r;
        }
        if (sf_writef_float(f, inter.data(), static_cast<sf_count_t>(m)) != static_cast<sf_count_t>(m) || sink.error) {
            const auto e = failure("writing audio");
            sf_close(f);
            throw e;
        }
    }
    const bool closed = sf_close(f) == 0;
    f = nullptr;
    if (!closed || sink.error) throw failure("finishing the file");
}
}  // namespace

void writeAudioFile(const std::filesystem::path& path, const StereoBuffer& audio, double sampleRate, FileFormat format,
                    std::uint64_t ditherSeed) {
    const bool toStdout = path == "-" || path == "/dev/stdout";
    const std::string name = toStdout ? "standard output" : path.string();
    Sink sink;
    if (toStdout) {
        sink.fd = STDOUT_FILENO;
    } else {
        sink.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (sink.fd < 0) throw std::runtime_error(fmt::format("cannot write {}: {}", name, std::strerror(errno)));
        struct stat st {};
        sink.seekable = ::fstat(sink.fd, &st) == 0 && S_ISREG(st.st_mode);
    }
    try {
        encode(sink, name, audio, sampleRate, format, ditherSeed);
        if (!sink.seekable)
            if (const int err = writeAll(sink.fd, sink.memory)) throw std::runtime_error(fmt::format("cannot write {}: {}", name, std::strerror(err)));
    } catch (...) {
        if (!toStdout) ::close(sink.fd);
        throw;
    }
    if (!toStdout && ::close(sink.fd) != 0) throw std::runtime_error(fmt::format("cannot write {}: {}", name, std::strerror(errno)));
}

}  // namespace soundstar::io

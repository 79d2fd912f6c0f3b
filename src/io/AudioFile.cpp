#include "io/AudioFile.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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
    // A file's bytes gather here and go out in writes of kSinkBuffer: libsndfile hands over
    // 8 KB at a time, and one write per 8 KB costs the kernel several times more. Reserved once
    // at its full size (see encode): grown by doubling, its four reallocations each faulted in
    // fresh pages, 6 ms of a 30 s render's 13 ms write on this VM.
    std::vector<unsigned char> pending;
    sf_count_t pendingAt = 0;
    sf_count_t position = 0, length = 0;
    int error = 0;  // errno of the first failed write
};
constexpr std::size_t kSinkBuffer = std::size_t{256} << 10;

// pwrite()s all of [bytes, bytes + count) at `at`; false (with s.error set) on failure.
bool writeAt(Sink& s, const unsigned char* bytes, sf_count_t count, sf_count_t at) {
    for (sf_count_t done = 0; done < count;) {
        const ssize_t n = ::pwrite(s.fd, bytes + done, static_cast<std::size_t>(count - done), at + done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (!s.error) s.error = n < 0 ? errno : ENOSPC;
            return false;
        }
        done += n;
    }
    return true;
}

bool flushSink(Sink& s) {
    const bool ok = s.pending.empty() || writeAt(s, s.pending.data(), static_cast<sf_count_t>(s.pending.size()), s.pendingAt);
    s.pending.clear();
    return ok && !s.error;
}

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
        const bool follows = s.pendingAt + static_cast<sf_count_t>(s.pending.size()) == s.position;
        if ((!follows || s.pending.size() + static_cast<std::size_t>(count) > kSinkBuffer) && !flushSink(s)) return 0;
        if (s.pending.empty()) s.pendingAt = s.position;
        if (static_cast<std::size_t>(count) >= kSinkBuffer) {
            if (!writeAt(s, bytes, count, s.position)) return 0;
        } else {
            s.pending.insert(s.pending.end(), bytes, bytes + count);
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

// TPDF dither and rounding to 16 bits, eight frames at a time: eight xoshiro128+ generators
// (core/Rng's algorithm) in vector lanes, seeded from the render's seed, so the same audio and
// seed give the same bytes and the draws cost a few vector operations per eight frames.
class Quantizer16 {
public:
    explicit Quantizer16(std::uint64_t seed) {
        Rng seeder(seed);
        for (int l = 0; l < 8; ++l) {
            s0_[l] = seeder.nextU32();
            s1_[l] = seeder.nextU32();
            s2_[l] = seeder.nextU32();
            s3_[l] = seeder.nextU32();
            if ((s0_[l] | s1_[l] | s2_[l] | s3_[l]) == 0) s0_[l] = 1;
        }
    }
    /// Interleaved 16-bit frames of left/right [0, frames): x * 32768 plus +-1 LSB TPDF,
    /// rounded to the nearest step and clipped to [-32768, 32767].
    void run(const float* left, const float* right, std::size_t frames, short* out) {
        std::size_t pos = 0;
        for (; pos + 8 <= frames; pos += 8) {  // whole groups: vector loads, an interleaving shuffle, one store
            F8 l, r;
            std::memcpy(&l, left + pos, sizeof l);
            std::memcpy(&r, right + pos, sizeof r);
            const I8 ql = quantize(l * 32768.0f + tpdf());
            const I8 qr = quantize(r * 32768.0f + tpdf());
            const I16 both = __builtin_shufflevector(ql, qr, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            const S16 shorts = __builtin_convertvector(both, S16);  // in range: quantize() clipped them
            std::memcpy(out + 2 * pos, &shorts, sizeof shorts);
        }
        if (pos < frames) {  // the last few frames, the rest of the group zeros
            const std::size_t m = frames - pos;
            F8 l{}, r{};
            std::memcpy(&l, left + pos, m * sizeof(float));
            std::memcpy(&r, right + pos, m * sizeof(float));
            const I8 ql = quantize(l * 32768.0f + tpdf());
            const I8 qr = quantize(r * 32768.0f + tpdf());
            for (std::size_t i = 0; i < m; ++i) {
                out[2 * (pos + i)] = static_cast<short>(ql[i]);
                out[2 * (pos + i) + 1] = static_cast<short>(qr[i]);
            }
        }
    }

private:
    using U8 = std::uint32_t __attribute__((vector_size(32)));
    using I8 = std::int32_t __attribute__((vector_size(32)));
    using F8 = float __attribute__((vector_size(32)));
    using I16 = std::int32_t __attribute__((vector_size(64)));
    using S16 = std::int16_t __attribute__((vector_size(32)));
    // Triangular dither: the first draw less the second (in that order, whatever the compiler).
    F8 tpdf() {
        const F8 first = uniform();
        return first - uniform();
    }
    F8 uniform() {  // [0, 1) per lane, as Rng::uniform
        const U8 result = s0_ + s3_, t = s1_ << 9;
        s2_ ^= s0_;
        s3_ ^= s1_;
        s1_ ^= s2_;
        s0_ ^= s3_;
        s2_ ^= t;
        s3_ = (s3_ << 11) | (s3_ >> 21);
        return __builtin_convertvector(result >> 8, F8) * (1.0f / 16777216.0f);
    }
    static I8 quantize(F8 v) {
        const F8 lo = F8{} - 32768.0f, hi = F8{} + 32767.0f;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        const F8 up = v + 0.5f;  // round half up: floor(v + 0.5)
        const I8 t = __builtin_convertvector(up, I8);  // toward zero
        return __builtin_convertvector(t, F8) > up ? t - 1 : t;
    }
    U8 s0_{}, s1_{}, s2_{}, s3_{};
};

// Reserves a WAV file's data blocks before it is written, on the file systems that delay
// allocation (ext4, XFS, btrfs): ext4 otherwise allocates them when the file is renamed over an
// existing one (its replace-by-rename safeguard, auto_da_alloc), on the render's clock. A
// 3-minute WAV rendered over an old file: written in 42-43 ms against 53-56. The size is kept
// (FALLOC_FL_KEEP_SIZE): the file's length is what is written. A file system that refuses is
// simply written as before.
void reserveBlocks(int fd, const StereoBuffer& audio, FileFormat format) {
    const int bytes = format == FileFormat::Wav16 ? 2 : format == FileFormat::Wav24 ? 3 : format == FileFormat::WavFloat ? 4 : 0;
    struct statfs fs {};
    if (bytes == 0 || audio.frames() < 1 << 16 || ::fstatfs(fd, &fs) != 0) return;
    if (fs.f_type != EXT4_SUPER_MAGIC && fs.f_type != XFS_SUPER_MAGIC && fs.f_type != BTRFS_SUPER_MAGIC) return;
    (void)::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(audio.frames()) * 2 * bytes);
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
    if (sink.seekable) sink.pending.reserve(kSinkBuffer);
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
    // 16-bit: dithered and rounded here, handed over as shorts (libsndfile only copies them).
    const bool pcm16 = format == FileFormat::Wav16;
    Quantizer16 quantizer(ditherSeed);
    const auto n = static_cast<std::size_t>(audio.frames());
    std::vector<float> inter(pcm16 ? 0 : 8192 * 2);
    std::vector<short> shorts(pcm16 ? 8192 * 2 : 0);
    for (std::size_t pos = 0; pos < n; pos += 8192) {
        const std::size_t m = std::min<std::size_t>(8192, n - pos);
        if (pcm16) {
            quantizer.run(audio.left().data() + pos, audio.right().data() + pos, m, shorts.data());
        } else {
            for (std::size_t i = 0; i < m; ++i) {
                inter[2 * i] = audio.left()[pos + i];
                inter[2 * i + 1] = audio.right()[pos + i];
            }
        }
        const sf_count_t wrote = pcm16 ? sf_writef_short(f, shorts.data(), static_cast<sf_count_t>(m))
                                       : sf_writef_float(f, inter.data(), static_cast<sf_count_t>(m));
        if (wrote != static_cast<sf_count_t>(m) || sink.error) {
            const auto e = failure("writing audio");
            sf_close(f);
            throw e;
        }
    }
    const bool closed = sf_close(f) == 0;
    f = nullptr;
    if (!closed || (sink.seekable && !flushSink(sink)) || sink.error) throw failure("finishing the file");
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
        if (sink.seekable) reserveBlocks(sink.fd, audio, format);
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

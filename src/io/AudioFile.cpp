#include "io/AudioFile.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
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

std::string sndfileVersion() { return sf_version_string(); }

void writeAudioFile(const std::filesystem::path& path, const StereoBuffer& audio, double sampleRate,
                    FileFormat format, std::uint64_t ditherSeed) {
    SF_INFO info{};
    info.channels = 2;
    info.samplerate = static_cast<int>(sampleRate);
    switch (format) {
        case FileFormat::Wav16: info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16; break;
        case FileFormat::Wav24: info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24; break;
        case FileFormat::WavFloat: info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT; break;
        case FileFormat::Flac: info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_24; break;
        case FileFormat::Ogg: info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS; break;
        case FileFormat::Mp3: info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III; break;
    }
    if (!sf_format_check(&info))
        throw std::runtime_error(fmt::format("this libsndfile ({}) cannot write that format at {} Hz", sf_version_string(),
                                             info.samplerate));
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), sf_strerror(nullptr)));
    if (format == FileFormat::Ogg || format == FileFormat::Mp3) {
        double q = 0.8;  // high quality for lossy formats
        sf_command(f, SFC_SET_VBR_ENCODING_QUALITY, &q, sizeof q);
    }
    sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
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
        if (sf_writef_float(f, inter.data(), static_cast<sf_count_t>(m)) != static_cast<sf_count_t>(m)) {
            const std::string err = sf_strerror(f);
            sf_close(f);
            throw std::runtime_error(fmt::format("writing {} failed: {}", path.string(), err));
        }
    }
    if (sf_close(f) != 0) throw std::runtime_error(fmt::format("closing {} failed", path.string()));
}

}  // namespace soundstar::io

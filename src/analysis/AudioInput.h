#pragma once
// Reading a stored file for analysis through libsndfile (WAV, FLAC, Ogg Vorbis, MP3 and the rest
// libsndfile reads) [control], bounded: file size, duration, channels and sample rate.
#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

namespace soundstar::analysis {

struct InputLimits {
    std::size_t maxFileBytes = std::size_t{1} << 30;  ///< 1 GiB
    double maxSeconds = 1200.0;                       ///< 20 minutes
    int maxChannels = 32;
};

struct DecodedAudio {
    double sampleRate = 0.0;
    int channels = 0;  ///< in the file; a mono file is read into both sides, more than two keep the first two
    std::vector<float> left, right;  ///< NaN and inf read as 0; samples held within +-10^4 (+80 dBFS)
};

/// Throws std::runtime_error naming the file and what was wrong (missing, unreadable, not audio,
/// over a limit, which is named).
DecodedAudio readAudioForAnalysis(const std::filesystem::path& path, const InputLimits& limits = {});

/// The same from bytes in memory (`origin` names them in errors); what the fuzz target drives.
DecodedAudio decodeAudioBytes(std::string_view bytes, std::string_view origin, const InputLimits& limits = {});

}  // namespace soundstar::analysis

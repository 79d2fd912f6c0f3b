#pragma once
// Writing audio files through libsndfile: WAV (16-bit, 24-bit, float), FLAC, Ogg Vorbis, MP3 [control].
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/AudioBuffer.h"

namespace soundstar::io {

enum class FileFormat { Wav16, Wav24, WavFloat, Flac, Ogg, Mp3 };

/// "wav" (= wav16), "wav16", "wav24", "wav32f"/"float", "flac", "ogg", "mp3"; nullopt otherwise.
std::optional<FileFormat> parseFormat(const std::string& name);
/// From the file extension (.wav -> Wav16, .flac, .ogg, .mp3); nullopt when unknown.
std::optional<FileFormat> formatFromPath(const std::filesystem::path& p);
const char* formatNames();
/// The container a format writes, which is also its file extension: "wav", "flac", "ogg", "mp3".
const char* containerOf(FileFormat f);

/// Writes interleaved stereo. 16-bit output gets TPDF dither from a seeded generator, so the
/// same audio and seed give the same bytes. "-" writes to standard output. Throws
/// std::runtime_error saying what failed ("cannot write x.flac: No space left on device").
void writeAudioFile(const std::filesystem::path& path, const StereoBuffer& audio, double sampleRate,
                    FileFormat format, std::uint64_t ditherSeed = 1);

/// libsndfile's version string (for doctor).
std::string sndfileVersion();

}  // namespace soundstar::io

#pragma once
// The sampler service's store [control]: samples decoded from files under --data (libsndfile:
// WAV, FLAC, Ogg, MP3), resampled to the engine's rate, held by name within a memory bound, and
// new ones made from them by time-stretch and pitch-shift (SoundTouch). Tracks get shared
// pointers to the audio, so what plays is never decoded or stretched on the audio thread.
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/SamplePlayer.h"

namespace soundstar::server {

struct StoredSample {
    std::shared_ptr<const engine::SampleBuffer> audio;  ///< at the engine's rate
    std::string origin;                                 ///< the file it came from, or how it was made
    double sourceRate = 0.0;
    int channels = 0;
    std::optional<double> bpm;  ///< its tempo, when known (given at load, or stretched to)
    std::size_t bytes() const { return audio ? audio->frames() * 2 * sizeof(float) : 0; }
};

class SampleBank {
public:
    static constexpr std::size_t kMaxSamples = 256;
    static constexpr double kMaxSeconds = 600.0;
    SampleBank(double engineRate, std::size_t maxBytes) : rate_(engineRate), maxBytes_(maxBytes) {}

    /// Decodes `file` (already checked to lie under --data), resampled to the engine rate.
    /// Throws ApiError: 409 a name in use, 413 over the memory bound or kMaxSeconds, 400 not audio.
    const StoredSample& load(const std::string& name, const std::filesystem::path& file, const std::string& shownAs, std::optional<double> bpm);
    /// A new sample `name` from `source`: its tempo times `tempoRatio` (1.25 plays in 80 % of the
    /// time; the result has exactly round(frames / tempoRatio) frames) and its pitch moved by
    /// `semitones`. Throws ApiError as load does, and 404 for an unknown source.
    const StoredSample& stretch(const std::string& name, const std::string& source, double tempoRatio, double semitones, std::optional<double> bpm);
    /// Throws ApiError 404 naming the samples there are.
    const StoredSample& get(const std::string& name) const;
    void free(const std::string& name);
    nlohmann::json list() const;
    std::size_t bytes() const;
    std::size_t maxBytes() const { return maxBytes_; }

private:
    void admit(const std::string& name, std::size_t bytes) const;
    double rate_;
    std::size_t maxBytes_;
    std::map<std::string, StoredSample> samples_;
};

/// `in` stretched in time by 1/tempoRatio and shifted by `semitones` with SoundTouch (WSOLA),
/// aligned at its start and cut or padded to exactly round(frames / tempoRatio) frames [control].
engine::SampleBuffer stretchAudio(const engine::SampleBuffer& in, double sampleRate, double tempoRatio, double semitones);

/// Cubic Hermite resampling of one channel from `fromRate` to `toRate` [control].
std::vector<float> resampleChannel(const std::vector<float>& x, double fromRate, double toRate);

}  // namespace soundstar::server

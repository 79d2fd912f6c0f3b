#pragma once
// Incremental analysis of a live stereo stream [control]: the same measures as the offline
// Analyzer, worked out as blocks arrive so a message costs only what is new. Integrated
// loudness (BS.1770 gating over a histogram of block loudness, since the start or the last
// reset) and true peak (4x oversampled, exact across blocks) run sample by sample; onsets come
// from a running spectral flux, picked once the moving median around them is complete; pitch is
// YIN over the last 8192 samples; tempo and beats are worked out from a running flux over a
// sliding window, key from chroma over a sliding window. Each measure costs only when selected.
// Positions are stream samples: 0 is the first sample pushed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/Key.h"
#include "analysis/Onsets.h"
#include "analysis/Pitch.h"
#include "analysis/Tempo.h"

namespace soundstar::analysis {

/// The measures a live analysis can be asked for; the analyser works out loudness (integrated),
/// true_peak, onsets, pitch, tempo and key, the server spectrum, levels and the windowed loudness.
struct LiveFeatures {
    bool spectrum = true, levels = true, loudness = true;
    bool truePeak = false, onsets = false, pitch = false, tempo = false, key = false;
};

/// The names a feature list may hold, in order.
inline constexpr std::array<const char*, 8> kLiveFeatureNames = {"spectrum", "levels", "loudness", "true_peak", "onsets", "pitch", "tempo", "key"};

/// Turns on the feature called `name`; false for a name not in kLiveFeatureNames [any].
bool enableLiveFeature(LiveFeatures& f, const std::string& name);

/// A running spectral flux, value for value what spectralFlux gives on the whole stream.
class RunningFlux {
public:
    explicit RunningFlux(const OnsetOptions& o);
    /// Appends the flux of every frame the new samples complete to `out` [control].
    void push(const float* mono, std::size_t n, std::vector<double>& out);
    const OnsetOptions& options() const { return o_; }

private:
    OnsetOptions o_;
    std::vector<double> window_, prev_;
    std::vector<float> pending_;  // the samples of the next frame, at most frameSize
    bool first_ = true;
};

class LiveAnalyzer {
public:
    static constexpr double kTempoWindowSeconds = 8.0, kKeyWindowSeconds = 10.0;
    /// Tempo is worked out again once this much new audio has come in (it costs about 1 ms over
    /// its 8 s window; messages in between get the last estimate).
    static constexpr double kTempoEverySeconds = 0.5;

    LiveAnalyzer(double sampleRate, LiveFeatures f);
    /// Feeds n interleaved stereo frames [control].
    void push(const float* interleaved, std::size_t n);
    /// Starts integrated loudness and true peak again from the next sample [control].
    void resetIntegrated();

    std::int64_t frames() const { return frames_; }
    /// Integrated loudness (LUFS) since the start or the reset; nullopt below the gate or under 400 ms.
    std::optional<double> integratedLufs() const;
    /// True peak (dBTP) since the start or the reset; nullopt for silence.
    std::optional<double> truePeakDbtp() const;
    /// Stream samples of the onsets found since the last call (each reported once, once settled).
    std::vector<std::int64_t> takeOnsets();
    /// YIN over the last 8192 samples (hz 0 when unvoiced or too little).
    PitchSummary pitch() const;
    /// Tempo over the last kTempoWindowSeconds (bpm 0 under 4 s), as of at most
    /// kTempoEverySeconds ago; beats as stream samples.
    struct Tempo {
        double bpm = 0.0, confidence = 0.0;
        std::vector<std::int64_t> beats;
    };
    Tempo tempo() const;
    /// Key over the last kKeyWindowSeconds of chroma (nullopt before the first 16384 samples).
    std::optional<KeyEstimate> key() const;

private:
    void feedLoudness(const float* interleaved, std::size_t n);
    void feedTruePeak(const float* interleaved, std::size_t n);
    void feedKey();
    /// The last n mono samples (fewer if the history is shorter).
    std::vector<float> lastMono(std::size_t n) const;

    double rate_;
    LiveFeatures f_;
    std::int64_t frames_ = 0;
    // Mono history (mid channel), circular.
    std::vector<float> mono_;
    std::size_t monoWrite_ = 0;
    // Integrated loudness: K-weighting state per channel, 100 ms step powers, a histogram of
    // block loudness in 0.01 LU bins from -70 to +10 LUFS holding counts and power sums.
    struct Biquad {
        double b0, b1, b2, a1, a2, z1 = 0.0, z2 = 0.0;
        double tick(double x) {
            const double y = b0 * x + z1;
            z1 = b1 * x - a1 * y + z2;
            z2 = b2 * x - a2 * y;
            return y;
        }
    };
    std::array<Biquad, 4> kWeight_{};  // shelf then high-pass, left and right
    std::size_t step_ = 4410, inStep_ = 0;
    double stepSum_ = 0.0;
    std::array<double, 4> lastSteps_{};
    std::size_t stepsDone_ = 0;
    std::vector<std::uint32_t> histCount_;
    std::vector<double> histPower_;
    // True peak: the last 15 samples of each channel, then the new block.
    std::array<std::vector<float>, 2> peakWork_;
    float truePeak_ = 0.0f;
    // Onsets: the running flux, its recent values (stream frame index of the first), settled up to.
    std::optional<RunningFlux> onsetFlux_;
    std::vector<double> onsetEnv_;
    std::int64_t onsetEnvFirst_ = 0, onsetCheckedTo_ = -1, lastOnset_ = -1;
    std::vector<std::int64_t> onsetsOut_;
    // Tempo: the running flux at the tempo's options, its recent values.
    std::optional<RunningFlux> tempoFlux_;
    std::vector<double> tempoEnv_;
    std::int64_t tempoEnvFirst_ = 0;
    mutable Tempo tempoLast_;
    mutable std::int64_t tempoAt_ = -1;  // frames_ when tempoLast_ was worked out
    // Key: chroma of each 16384-sample frame (hop 8192), the last ones kept.
    std::vector<std::array<double, 12>> chromas_;
    std::int64_t keyNextAt_ = 16384;
};

}  // namespace soundstar::analysis

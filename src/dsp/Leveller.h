#pragma once
// Slow loudness levelling for endless streams: the music's short-term loudness (ITU-R BS.1770
// K-weighting, a ~3 s exponential window) is measured as it plays and a gain moves slowly
// (seconds, never within a phrase) toward the one that brings it to the target. A jump up (a
// DJ's layers coming in at once: a 1 s window reads more than 4 dB over the 3 s one) is met
// quickly: the 3 s window then follows the 1 s one and the gain cuts four times faster than it
// boosts, so a set that starts small and doubles its layers does not sit several LU over the
// target for the seconds a symmetric leveller takes to catch up. Quiet passages
// (more than 20 LU under the target) hold the gain instead of being pumped up. Within a block
// the gain is a straight line from the last block's, so nothing steps. Feed-forward, no
// look-ahead; a true-peak limiter after it catches the peaks. prepare() [control]; the rest [rt].
#include <algorithm>
#include <cmath>

#include "core/AudioBuffer.h"
#include "dsp/LaneFilter.h"

namespace soundstar::dsp {

class Leveller {
public:
    void prepare(double sampleRate) {
        sampleRate_ = sampleRate;
        // BS.1770 K-weighting (the same stages the offline loudness meter uses).
        const auto [shelf, highpass] = kWeightingStages(sampleRate);
        shelf_ = {shelf.b0, shelf.b1, shelf.b2, shelf.a1, shelf.a2};
        highpass_ = {highpass.b0, highpass.b1, highpass.b2, highpass.a1, highpass.a2};
        reset();
    }
    void reset() {
        for (auto& s : state_) s = {};
        meanSquare_ = fastMeanSquare_ = 0.0;
        primed_ = false;
        gainDb_ = 0.0;
    }
    /// target: LUFS; maxGainDb: the most it boosts or cuts; seconds: how slowly the gain moves.
    void set(float targetLufs, float maxGainDb, float seconds) {
        target_ = targetLufs;
        maxGain_ = std::max(0.0f, maxGainDb);
        seconds_ = std::max(0.5f, seconds);
    }
    float gainDb() const { return static_cast<float>(gainDb_); }
    /// The short-term loudness it measured last (LUFS, before its gain).
    float loudness() const { return static_cast<float>(-0.691 + 10.0 * std::log10(std::max(meanSquare_, 1e-20))); }

    void process(StereoView io) {
        if (io.frames <= 0) return;
        double power = 0.0;
        for (int c = 0; c < 2; ++c) {
            const float* x = c == 0 ? io.left : io.right;
            State& s1 = state_[static_cast<std::size_t>(2 * c)];
            State& s2 = state_[static_cast<std::size_t>(2 * c + 1)];
            for (int i = 0; i < io.frames; ++i) {
                const double y = filter(shelf_, s1, x[i]);
                const double z = filter(highpass_, s2, y);
                power += z * z;
            }
        }
        power /= io.frames;
        const double n = io.frames;
        if (!primed_ && power > 1e-9) meanSquare_ = fastMeanSquare_ = power, primed_ = true;  // the first sound sets the level at once
        fastMeanSquare_ += (1.0 - std::exp(-n / (kFastSeconds * sampleRate_))) * (power - fastMeanSquare_);
        const bool jump = fastMeanSquare_ > meanSquare_ * kJumpRatio;
        meanSquare_ += (1.0 - std::exp(-n / ((jump ? kFastSeconds : 3.0) * sampleRate_))) * (power - meanSquare_);
        const double level = loudness();
        const double before = gainDb_;
        if (primed_ && level > target_ - 20.0) {
            const double want = std::clamp(static_cast<double>(target_) - level, -static_cast<double>(maxGain_), static_cast<double>(maxGain_));
            const double seconds = want < gainDb_ ? seconds_ / 4.0 : seconds_;  // cut faster than boost
            gainDb_ += (1.0 - std::exp(-n / (seconds * sampleRate_))) * (want - gainDb_);
        }
        const double g0 = std::pow(10.0, before / 20.0), g1 = std::pow(10.0, gainDb_ / 20.0);
        const double step = (g1 - g0) / io.frames;
        for (int i = 0; i < io.frames; ++i) {
            const auto g = static_cast<float>(g0 + step * (i + 1));
            io.left[i] *= g;
            io.right[i] *= g;
        }
        // Denormals and NaN never stay in the filters.
        for (auto& s : state_) {
            if (!std::isfinite(s.z1) || !std::isfinite(s.z2)) s = {};
            if (std::abs(s.z1) < 1e-25) s.z1 = 0.0;
            if (std::abs(s.z2) < 1e-25) s.z2 = 0.0;
        }
    }

private:
    struct Coefs {
        double b0, b1, b2, a1, a2;
    };
    struct State {
        double z1 = 0.0, z2 = 0.0;
    };
    static double filter(const Coefs& c, State& s, double x) {  // transposed direct form II
        const double y = c.b0 * x + s.z1;
        s.z1 = c.b1 * x - c.a1 * y + s.z2;
        s.z2 = c.b2 * x - c.a2 * y;
        return y;
    }
    double sampleRate_ = 48000.0;
    Coefs shelf_{}, highpass_{};
    State state_[4]{};
    static constexpr double kFastSeconds = 1.0;
    static constexpr double kJumpRatio = 2.5118864315;  // 4 dB in power
    double meanSquare_ = 0.0, fastMeanSquare_ = 0.0, gainDb_ = 0.0;
    bool primed_ = false;
    float target_ = -14.0f, maxGain_ = 12.0f, seconds_ = 6.0f;
};

}  // namespace soundstar::dsp

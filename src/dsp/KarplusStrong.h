#pragma once
// Karplus-Strong plucked string (Karplus & Strong 1983, with Jaffe & Smith's 1983 extensions:
// fractional-delay tuning, a brightness-controlled loop filter and decay stretching).
// prepare() allocates the loop [control]; pluck() and tick() [rt].
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/Rng.h"

namespace soundstar::dsp {

class KarplusStrong {
public:
    /// minFreqHz sets the longest loop the string can hold.
    void prepare(double sampleRate, float minFreqHz = 20.0f) {
        sampleRate_ = sampleRate;
        line_.assign(static_cast<std::size_t>(sampleRate / minFreqHz) + 4, 0.0f);
    }
    void seed(std::uint64_t s) { rng_.reseed(s); }
    /// brightness 0..1 (dull to bright pick and loop filter); decayS = time to -60 dB.
    void pluck(float freqHz, float velocity, float brightness, float decayS) {
        const double period = std::clamp<double>(sampleRate_ / std::max(freqHz, 1.0f), 2.0,
                                                 static_cast<double>(line_.size() - 3));
        // The two-point averaging loop filter adds half a sample of delay.
        delay_ = period - 0.5;
        const float bright = std::clamp(brightness, 0.0f, 1.0f);
        // Per-loop gain so the fundamental decays 60 dB in decayS.
        const double loops = std::max(decayS, 0.01f) * freqHz;
        loopGain_ = static_cast<float>(std::pow(10.0, -3.0 / loops));
        blend_ = 0.5f + 0.45f * bright;  // weight of the newest sample in the loop filter
        // Excitation: noise through a one-pole lowpass whose cutoff follows brightness.
        const float a = 0.1f + 0.9f * bright;
        float lp = 0.0f;
        const int n = static_cast<int>(period) + 1;
        std::fill(line_.begin(), line_.end(), 0.0f);
        for (int i = 0; i < n; ++i) {
            lp += a * (rng_.bipolar() - lp);
            line_[static_cast<std::size_t>(i)] = lp * velocity;
        }
        write_ = static_cast<std::size_t>(n) % line_.size();
        last_ = 0.0f;
        active_ = true;
        silentCount_ = 0;
    }
    void damp() { loopGain_ *= 0.9f; }
    bool active() const { return active_; }
    void reset() {
        std::fill(line_.begin(), line_.end(), 0.0f);
        active_ = false;
    }
    float tick() {
        if (!active_) return 0.0f;
        const std::size_t size = line_.size();
        double rp = static_cast<double>(write_) - delay_;
        while (rp < 0.0) rp += static_cast<double>(size);
        const auto i0 = static_cast<std::size_t>(rp);
        const float frac = static_cast<float>(rp - static_cast<double>(i0));
        const float a = line_[i0 % size], b = line_[(i0 + 1) % size];
        const float y = a + (b - a) * frac;
        const float filtered = (blend_ * y + (1.0f - blend_) * last_) * loopGain_;
        last_ = y;
        line_[write_] = filtered;
        write_ = (write_ + 1) % size;
        silentCount_ = std::abs(y) < 1e-5f ? silentCount_ + 1 : 0;
        if (silentCount_ > static_cast<int>(size)) active_ = false;
        return y;
    }

    /// n samples of tick(), times gain, added into out (the same values: the fractional read
    /// offset is fixed per pluck, so the loop needs no divisions).
    void process(float* out, int n, float gain) {
        if (!active_) return;
        const std::size_t size = line_.size();
        // tick() reads at write - delay: index i0 = write - di - 1 (wrapped), weight frac.
        const auto di = static_cast<std::size_t>(std::ceil(delay_));
        const double back = static_cast<double>(di) - delay_;  // in [0, 1)
        const float frac = static_cast<float>(back);
        std::size_t w = write_;
        std::size_t r0 = (w + size - di) % size;  // floor(write - delay), wrapped
        float* line = line_.data();
        float last = last_;
        int silent = silentCount_;
        const float blend = blend_, keep = 1.0f - blend_, g = loopGain_;
        const int limit = static_cast<int>(size);
        for (int i = 0; i < n; ++i) {
            const std::size_t r1 = r0 + 1 == size ? 0 : r0 + 1;
            const float a = line[r0], b = line[r1];
            const float y = a + (b - a) * frac;
            line[w] = (blend * y + keep * last) * g;
            last = y;
            w = w + 1 == size ? 0 : w + 1;
            r0 = r1;
            out[i] += y * gain;
            silent = std::abs(y) < 1e-5f ? silent + 1 : 0;
            if (silent > limit) {
                active_ = false;
                break;
            }
        }
        write_ = w;
        last_ = last;
        silentCount_ = silent;
    }

private:
    std::vector<float> line_;
    double sampleRate_ = 48000.0, delay_ = 100.0;
    std::size_t write_ = 0;
    float loopGain_ = 0.99f, blend_ = 0.5f, last_ = 0.0f;
    int silentCount_ = 0;
    bool active_ = false;
    Rng rng_{11};
};

}  // namespace soundstar::dsp

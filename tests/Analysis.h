#pragma once
// Small analysis helpers for tests: RMS, single-bin DFT magnitude, peak, finiteness.
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/AudioBuffer.h"

namespace soundstar::test {

inline double rms(const std::vector<float>& x, std::size_t from = 0) {
    double s = 0.0;
    for (std::size_t i = from; i < x.size(); ++i) s += static_cast<double>(x[i]) * x[i];
    return std::sqrt(s / static_cast<double>(std::max<std::size_t>(1, x.size() - from)));
}

inline double peak(const std::vector<float>& x) {
    double p = 0.0;
    for (float v : x) p = std::max(p, static_cast<double>(std::abs(v)));
    return p;
}

inline bool allFinite(const std::vector<float>& x) {
    return std::all_of(x.begin(), x.end(), [](float v) { return std::isfinite(v); });
}

/// Amplitude of the component at freqHz (Goertzel-style DFT bin with a Hann window).
inline double toneAmplitude(const std::vector<float>& x, double freqHz, double sampleRate, std::size_t from = 0) {
    double re = 0.0, im = 0.0, wsum = 0.0;
    const std::size_t n = x.size() - from;
    for (std::size_t i = 0; i < n; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
        const double ph = 2.0 * std::numbers::pi * freqHz * static_cast<double>(i) / sampleRate;
        re += w * x[from + i] * std::cos(ph);
        im += w * x[from + i] * std::sin(ph);
        wsum += w;
    }
    return 2.0 * std::sqrt(re * re + im * im) / wsum;
}

inline std::vector<float> sine(double freqHz, double sampleRate, std::size_t n, float amp = 1.0f) {
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = amp * static_cast<float>(std::sin(2.0 * std::numbers::pi * freqHz * static_cast<double>(i) / sampleRate));
    return x;
}

inline double db(double g) { return 20.0 * std::log10(std::max(g, 1e-12)); }

/// Kick onsets (s): the low band's envelope (two 150 Hz one-poles) found above a quarter of the
/// file's loudest peak (0.25 s apart at least), each placed where it first crosses 40% of its own
/// peak (the next 80 ms), so a level that changes over the file (a leveller at work) does not move
/// an onset by a wave cycle.
inline std::vector<double> kickTimes(const StereoBuffer& a, double rate) {
    std::vector<double> env(a.left().size());
    double lp1 = 0.0, lp2 = 0.0;
    const double k = 1.0 - std::exp(-2.0 * std::numbers::pi * 150.0 / rate);
    for (std::size_t i = 0; i < env.size(); ++i) {
        lp1 += k * (0.5 * (a.left()[i] + a.right()[i]) - lp1);
        lp2 += k * (lp1 - lp2);
        env[i] = std::abs(lp2);
    }
    const double loud = *std::max_element(env.begin(), env.end());
    const auto span = [&](double seconds) { return static_cast<std::size_t>(seconds * rate); };
    std::vector<double> kicks;
    for (std::size_t i = span(1.0); i < env.size(); ++i) {
        if (env[i] <= 0.25 * loud || (!kicks.empty() && static_cast<double>(i) / rate - kicks.back() <= 0.25)) continue;
        const std::size_t from = i - std::min(i, span(0.03)), to = std::min(env.size(), i + span(0.08));
        const double peak = *std::max_element(env.begin() + static_cast<long>(from), env.begin() + static_cast<long>(to));
        std::size_t onset = from;
        while (onset < to && env[onset] <= 0.4 * peak) ++onset;
        kicks.push_back(static_cast<double>(onset) / rate);
        i = std::max(i, onset);
    }
    return kicks;
}

/// How far the worst of a list of kick spacings (s) strays from their least-squares line, and the
/// line's slope per kick: a tempo ramp gives a steady slope and small residuals (the drummer's
/// seeded human timing, a few ms); a second grid of kicks or a jump gives a large residual.
struct SpacingTrend {
    double slope = 0.0, worst = 0.0;
};
inline SpacingTrend spacingTrend(const std::vector<double>& d) {
    const double n = static_cast<double>(d.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const double x = static_cast<double>(i);
        sx += x, sy += d[i], sxx += x * x, sxy += x * d[i];
    }
    SpacingTrend t;
    t.slope = (n * sxy - sx * sy) / std::max(1e-12, n * sxx - sx * sx);
    const double c = (sy - t.slope * sx) / n;
    for (std::size_t i = 0; i < d.size(); ++i) t.worst = std::max(t.worst, std::abs(d[i] - (c + t.slope * static_cast<double>(i))));
    return t;
}

}  // namespace soundstar::test

// The FFT, average spectrum, centroid, chroma and key live in the analysis library
// (src/analysis/Spectrum.h, Key.h); tests use them from there.

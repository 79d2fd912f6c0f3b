#pragma once
// Small analysis helpers for tests: RMS, single-bin DFT magnitude, peak, finiteness.
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

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

}  // namespace soundstar::test

// The FFT, average spectrum, centroid, chroma and key live in the analysis library
// (src/analysis/Spectrum.h, Key.h); tests use them from there.

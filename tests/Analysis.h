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

#include <complex>

namespace soundstar::test {

/// In-place radix-2 FFT (n a power of two); enough for test analysis.
inline void fft(std::vector<std::complex<double>>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const double ang = -2.0 * std::numbers::pi / static_cast<double>(len);
        const std::complex<double> wl(std::cos(ang), std::sin(ang));
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<double> w(1.0);
            for (std::size_t k = 0; k < len / 2; ++k) {
                const auto u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                w *= wl;
            }
        }
    }
}

/// Average magnitude spectrum over Hann-windowed frames of `n` samples (hop n/2).
inline std::vector<double> averageSpectrum(const std::vector<float>& x, std::size_t n = 8192) {
    std::vector<double> mag(n / 2, 0.0);
    std::vector<std::complex<double>> buf(n);
    for (std::size_t pos = 0; pos + n <= x.size(); pos += n / 2) {
        for (std::size_t i = 0; i < n; ++i) {
            const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
            buf[i] = x[pos + i] * w;
        }
        fft(buf);
        for (std::size_t k = 0; k < n / 2; ++k) mag[k] += std::abs(buf[k]);
    }
    return mag;
}

/// Spectral centroid in Hz of the average spectrum.
inline double spectralCentroid(const std::vector<float>& x, double sampleRate, std::size_t n = 8192) {
    const auto mag = averageSpectrum(x, n);
    double num = 0.0, den = 0.0;
    for (std::size_t k = 1; k < mag.size(); ++k) {
        const double f = static_cast<double>(k) * sampleRate / static_cast<double>(n);
        num += f * mag[k];
        den += mag[k];
    }
    return num / std::max(den, 1e-12);
}

/// 12-bin chroma (C = 0) from the average spectrum between loHz and hiHz. The default band
/// (55-350 Hz) holds the fundamentals of bass and chords but not their fifth harmonics, which
/// would otherwise add a phantom major third to every minor chord.
inline std::array<double, 12> chroma(const std::vector<float>& x, double sampleRate, std::size_t n = 16384,
                                     double loHz = 55.0, double hiHz = 350.0) {
    const auto mag = averageSpectrum(x, n);
    std::array<double, 12> c{};
    for (std::size_t k = 1; k < mag.size(); ++k) {
        const double f = static_cast<double>(k) * sampleRate / static_cast<double>(n);
        if (f < loHz || f > hiHz) continue;
        const double midi = 69.0 + 12.0 * std::log2(f / 440.0);
        const int pc = static_cast<int>(std::lround(midi)) % 12;
        c[static_cast<std::size_t>((pc + 12) % 12)] += mag[k];  // magnitude: loud bass notes do not drown the chords
    }
    return c;
}

/// Best-matching key (Krumhansl-Kessler profiles): {tonic pitch class, minor?}.
inline std::pair<int, bool> estimateKey(const std::array<double, 12>& chroma) {
    static constexpr double kMajor[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
    static constexpr double kMinor[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
    const auto corr = [&](const double* prof, int tonic) {
        double mx = 0, my = 0;
        for (int i = 0; i < 12; ++i) {
            mx += chroma[static_cast<std::size_t>(i)];
            my += prof[i];
        }
        mx /= 12;
        my /= 12;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < 12; ++i) {
            const double a = chroma[static_cast<std::size_t>((i + tonic) % 12)] - mx, b = prof[i] - my;
            sxy += a * b;
            sxx += a * a;
            syy += b * b;
        }
        return sxy / std::sqrt(sxx * syy + 1e-30);
    };
    std::pair<int, bool> best{0, false};
    double bestR = -2.0;
    for (int t = 0; t < 12; ++t)
        for (bool minor : {false, true}) {
            const double r = corr(minor ? kMinor : kMajor, t);
            if (r > bestR) {
                bestR = r;
                best = {t, minor};
            }
        }
    return best;
}

}  // namespace soundstar::test

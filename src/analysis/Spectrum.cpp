#include "analysis/Spectrum.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace soundstar::analysis {

std::optional<Window> parseWindow(const std::string& name) {
    if (name == "hann") return Window::Hann;
    if (name == "hamming") return Window::Hamming;
    if (name == "blackman") return Window::Blackman;
    return std::nullopt;
}

const char* windowName(Window w) {
    switch (w) {
        case Window::Hann: return "hann";
        case Window::Hamming: return "hamming";
        case Window::Blackman: return "blackman";
    }
    return "hann";
}

bool validFftSize(std::size_t n) { return n >= kMinFftSize && n <= kMaxFftSize && (n & (n - 1)) == 0; }

void fft(std::vector<std::complex<double>>& a) {
    const std::size_t n = a.size();
    if (n == 0 || (n & (n - 1)) != 0) throw std::invalid_argument("fft: the size must be a power of two");
    for (std::size_t i = 1, j = 0; i < n; ++i) {  // bit-reversed order
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    // Twiddles exp(-2 pi i k / n) for k < n/2, one table per size and thread; plain arithmetic on
    // the parts (std::complex's operator* checks for NaN and infinity on every product).
    thread_local std::vector<double> cosT, sinT;
    if (cosT.size() != n / 2) {
        cosT.resize(n / 2);
        sinT.resize(n / 2);
        for (std::size_t k = 0; k < n / 2; ++k) {
            const double ang = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
            cosT[k] = std::cos(ang);
            sinT[k] = std::sin(ang);
        }
    }
    auto* d = reinterpret_cast<double*>(a.data());  // [re, im] pairs, as the standard lays them out
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::size_t half = len / 2, stride = n / len;
        for (std::size_t i = 0; i < n; i += len)
            for (std::size_t k = 0; k < half; ++k) {
                const double wr = cosT[k * stride], wi = sinT[k * stride];
                double* u = d + 2 * (i + k);
                double* v = d + 2 * (i + k + half);
                const double vr = v[0] * wr - v[1] * wi, vi = v[0] * wi + v[1] * wr;
                v[0] = u[0] - vr;
                v[1] = u[1] - vi;
                u[0] += vr;
                u[1] += vi;
            }
    }
}

std::vector<double> windowCoefficients(Window w, std::size_t n) {
    std::vector<double> c(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = 2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
        switch (w) {
            case Window::Hann: c[i] = 0.5 - 0.5 * std::cos(x); break;
            case Window::Hamming: c[i] = 0.54 - 0.46 * std::cos(x); break;
            case Window::Blackman: c[i] = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2.0 * x); break;
        }
    }
    return c;
}

std::vector<double> averageSpectrum(std::span<const float> x, std::size_t n, Window w) {
    std::vector<double> mag(n / 2, 0.0);
    std::vector<std::complex<double>> buf(n);
    const auto win = windowCoefficients(w, n);
    const auto frame = [&](std::size_t pos) {
        for (std::size_t i = 0; i < n; ++i) buf[i] = (pos + i < x.size() ? x[pos + i] : 0.0f) * win[i];
        fft(buf);
        for (std::size_t k = 0; k < n / 2; ++k) mag[k] += std::sqrt(std::norm(buf[k]));
    };
    if (x.size() < n) {
        frame(0);
        return mag;
    }
    for (std::size_t pos = 0; pos + n <= x.size(); pos += n / 2) frame(pos);
    return mag;
}

double spectralCentroid(std::span<const float> x, double sampleRate, std::size_t n) {
    const auto mag = averageSpectrum(x, n);
    double num = 0.0, den = 0.0;
    for (std::size_t k = 1; k < mag.size(); ++k) {
        const double f = static_cast<double>(k) * sampleRate / static_cast<double>(n);
        num += f * mag[k];
        den += mag[k];
    }
    return num / std::max(den, 1e-12);
}

}  // namespace soundstar::analysis

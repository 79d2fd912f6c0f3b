#include "analysis/Onsets.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>

#include "analysis/Spectrum.h"

namespace soundstar::analysis {

std::vector<double> spectralFlux(std::span<const float> mono, const OnsetOptions& o) {
    const std::size_t n = o.frameSize;
    std::vector<double> flux;
    if (mono.size() < n || o.hop == 0) return flux;
    const auto win = windowCoefficients(Window::Hann, n);
    std::vector<double> prev(n / 2, 0.0);
    std::vector<std::complex<double>> buf(n);
    for (std::size_t pos = 0; pos + n <= mono.size(); pos += o.hop) {
        for (std::size_t i = 0; i < n; ++i) buf[i] = mono[pos + i] * win[i];
        fft(buf);
        double f = 0.0;
        for (std::size_t k = 1; k < n / 2; ++k) {
            const double m = std::log1p(1000.0 * std::sqrt(std::norm(buf[k])));
            f += std::max(0.0, m - prev[k]);
            prev[k] = m;
        }
        flux.push_back(flux.empty() ? 0.0 : f);
    }
    return flux;
}

double fluxFloor(const OnsetOptions& o) { return o.minFluxPerBin * static_cast<double>(o.frameSize / 2 - 1); }

double fluxFrameSeconds(std::size_t i, const OnsetOptions& o, double sampleRate) {
    // The log compression makes an attack's first entry into a frame (its last hop, under the
    // window's tail) the largest rise: the middle of that last hop.
    return (static_cast<double>(i * o.hop + o.frameSize) - static_cast<double>(o.hop) / 2.0) / sampleRate;
}

std::vector<double> detectOnsets(std::span<const float> mono, double sampleRate, const OnsetOptions& o) {
    return pickOnsets(spectralFlux(mono, o), mono, sampleRate, o);
}

std::vector<double> pickOnsets(std::span<const double> flux, std::span<const float> mono, double sampleRate, const OnsetOptions& o) {
    std::vector<double> out;
    if (flux.size() < 3) return out;
    const double mean = std::accumulate(flux.begin(), flux.end(), 0.0) / static_cast<double>(flux.size());
    std::vector<double> around;
    for (std::size_t i = 1; i + 1 < flux.size(); ++i) {
        if (!(flux[i] >= flux[i - 1] && flux[i] > flux[i + 1])) continue;
        const std::size_t lo = i > o.medianRadius ? i - o.medianRadius : 0, hi = std::min(flux.size(), i + o.medianRadius + 1);
        around.assign(flux.begin() + static_cast<long>(lo), flux.begin() + static_cast<long>(hi));
        std::nth_element(around.begin(), around.begin() + static_cast<long>(around.size() / 2), around.end());
        const double threshold = around[around.size() / 2] * o.medianWeight + o.meanWeight * mean;
        if (flux[i] <= threshold || flux[i] < fluxFloor(o)) continue;
        double sq = 0.0;
        for (std::size_t j = i * o.hop; j < std::min(mono.size(), i * o.hop + o.frameSize); ++j) sq += static_cast<double>(mono[j]) * mono[j];
        if (10.0 * std::log10(std::max(sq / static_cast<double>(o.frameSize), 1e-30)) < o.silenceDb) continue;
        const double t = fluxFrameSeconds(i, o, sampleRate);
        if (out.empty() || t - out.back() > o.minGapSeconds) out.push_back(t);
    }
    return out;
}

}  // namespace soundstar::analysis

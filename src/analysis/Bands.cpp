#include "analysis/Bands.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "analysis/Spectrum.h"

namespace soundstar::analysis {
namespace {
constexpr std::array<const char*, kOctaveBands> kNames{"31.5Hz", "63Hz", "125Hz", "250Hz", "500Hz", "1kHz", "2kHz", "4kHz", "8kHz"};
constexpr std::size_t kFrame = 4096;
}  // namespace

double octaveBandEdgeHz(std::size_t b) { return 1000.0 * std::pow(2.0, static_cast<double>(b) - 5.0) / std::sqrt(2.0); }

std::string octaveBandName(std::size_t b) { return b < kOctaveBands ? kNames[b] : "?"; }

BandEnergies octaveBandEnergies(std::span<const float> x, double sampleRate) {
    BandEnergies e{};
    if (x.empty() || !(sampleRate > 0.0)) return e;
    // Which band each bin falls in (kOctaveBands: none).
    std::vector<std::size_t> bandOf(kFrame / 2, kOctaveBands);
    for (std::size_t k = 1; k < kFrame / 2; ++k) {
        const double f = static_cast<double>(k) * sampleRate / static_cast<double>(kFrame);
        for (std::size_t b = 0; b < kOctaveBands; ++b)
            if (f >= octaveBandEdgeHz(b) && f < octaveBandEdgeHz(b + 1)) bandOf[k] = b;
    }
    const auto win = windowCoefficients(Window::Hann, kFrame);
    double winPower = 0.0;
    for (const double w : win) winPower += w * w;
    std::vector<std::complex<double>> buf(kFrame);
    int frames = 0;
    for (std::size_t pos = 0; pos == 0 || pos + kFrame <= x.size(); pos += kFrame / 2, ++frames) {
        for (std::size_t i = 0; i < kFrame; ++i) buf[i] = (pos + i < x.size() ? x[pos + i] : 0.0f) * win[i];
        fft(buf);
        // Parseval: the one-sided power of bins 1..N/2-1, twice each, over N times the window's power.
        for (std::size_t k = 1; k < kFrame / 2; ++k)
            if (bandOf[k] < kOctaveBands) e[bandOf[k]] += 2.0 * std::norm(buf[k]) / (static_cast<double>(kFrame) * winPower);
    }
    for (auto& v : e) v /= std::max(1, frames);
    return e;
}

BandEnergies bandShares(const BandEnergies& e) {
    double total = 0.0;
    for (const double v : e) total += v;
    BandEnergies s{};
    if (total > 0.0)
        for (std::size_t b = 0; b < kOctaveBands; ++b) s[b] = e[b] / total;
    return s;
}

double spectralOverlap(const BandEnergies& part, const BandEnergies& mix) {
    double covered = 0.0, total = 0.0;
    for (std::size_t i = 0; i < kOctaveBands; ++i) covered += std::min(part[i], mix[i]), total += part[i];
    return total > 0.0 ? covered / total : 0.0;
}

std::size_t mostOverlappedBand(const BandEnergies& a, const BandEnergies& b) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < kOctaveBands; ++i)
        if (std::min(a[i], b[i]) > std::min(a[best], b[best])) best = i;
    return best;
}

}  // namespace soundstar::analysis

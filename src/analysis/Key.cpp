#include "analysis/Key.h"

#include <cmath>

#include "analysis/Spectrum.h"

namespace soundstar::analysis {

std::array<double, 12> chroma(std::span<const float> x, double sampleRate, std::size_t n, double loHz, double hiHz) {
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

KeyEstimate estimateKey(const std::array<double, 12>& chroma) {
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
    KeyEstimate best{0, false, -2.0};
    for (int t = 0; t < 12; ++t)
        for (bool minor : {false, true}) {
            const double r = corr(minor ? kMinor : kMajor, t);
            if (r > best.correlation) best = {t, minor, r};
        }
    if (best.correlation < -1.0) best.correlation = 0.0;  // a flat chroma (silence) matches nothing
    return best;
}

}  // namespace soundstar::analysis

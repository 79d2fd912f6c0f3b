#include "analysis/Pitch.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "analysis/Spectrum.h"

namespace soundstar::analysis {

double hzToMidi(double hz) { return 69.0 + 12.0 * std::log2(hz / 440.0); }

namespace {
double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
}
}  // namespace

PitchSummary trackPitch(std::span<const float> mono, double sampleRate, const PitchOptions& o) {
    PitchSummary s;
    const std::size_t w = o.window;
    const auto tauMax = static_cast<std::size_t>(std::ceil(sampleRate / o.minHz));
    const auto tauMin = std::max<std::size_t>(2, static_cast<std::size_t>(std::floor(sampleRate / o.maxHz)));
    const std::size_t len = w + tauMax + 1;
    if (w == 0 || o.hop == 0 || mono.size() < len || tauMin + 2 >= tauMax) return s;
    std::size_t n = 1;
    while (n < w + len) n <<= 1;
    std::vector<std::complex<double>> a(n), b(n);
    std::vector<double> d(tauMax + 2), cmnd(tauMax + 2), sq(len + 1);
    std::vector<double> voicedHz, voicedConf;
    std::size_t frames = 0;
    for (std::size_t pos = 0; pos + len <= mono.size(); pos += o.hop, ++frames) {
        const float* x = mono.data() + pos;
        sq[0] = 0.0;
        for (std::size_t j = 0; j < len; ++j) sq[j + 1] = sq[j] + static_cast<double>(x[j]) * x[j];
        PitchFrame f;
        f.seconds = (static_cast<double>(pos) + static_cast<double>(w) / 2.0) / sampleRate;
        const double rms = std::sqrt(sq[w] / static_cast<double>(w));
        if (20.0 * std::log10(std::max(rms, 1e-12)) < o.silenceDb) {
            s.frames.push_back(f);
            continue;
        }
        // r(tau) = sum_{j<w} x_j x_{j+tau}, by FFT: conj(A) B.
        for (std::size_t j = 0; j < n; ++j) {
            a[j] = j < w ? x[j] : 0.0;
            b[j] = j < len ? x[j] : 0.0;
        }
        fft(a);
        fft(b);
        for (std::size_t j = 0; j < n; ++j) a[j] = std::conj(std::conj(a[j]) * b[j]);  // inverse via conj-fft-conj
        fft(a);
        const double inv = 1.0 / static_cast<double>(n);
        // d(tau) = sum (x_j - x_{j+tau})^2 = E(0..w) + E(tau..tau+w) - 2 r(tau)
        double running = 0.0;
        d[0] = 0.0;
        cmnd[0] = 1.0;
        for (std::size_t tau = 1; tau <= tauMax + 1 && tau + w <= len; ++tau) {
            const double r = a[tau].real() * inv;
            d[tau] = std::max(0.0, sq[w] + (sq[tau + w] - sq[tau]) - 2.0 * r);
            running += d[tau];
            cmnd[tau] = running > 0.0 ? d[tau] * static_cast<double>(tau) / running : 1.0;
        }
        std::size_t best = 0;
        for (std::size_t tau = tauMin; tau < tauMax; ++tau)
            if (cmnd[tau] < o.threshold) {
                while (tau + 1 < tauMax && cmnd[tau + 1] < cmnd[tau]) ++tau;
                best = tau;
                break;
            }
        if (best == 0) {  // no dip under the threshold: the deepest one, reported with its low confidence
            best = tauMin;
            for (std::size_t tau = tauMin; tau < tauMax; ++tau)
                if (cmnd[tau] < cmnd[best]) best = tau;
        }
        double period = static_cast<double>(best);
        const double y0 = d[best - 1], y1 = d[best], y2 = d[best + 1], den = y0 - 2.0 * y1 + y2;
        if (den > 0.0) period += 0.5 * (y0 - y2) / den;
        f.confidence = std::clamp(1.0 - cmnd[best], 0.0, 1.0);
        if (cmnd[best] < o.threshold && period > 0.0) {
            f.hz = sampleRate / period;
            voicedHz.push_back(f.hz);
            voicedConf.push_back(f.confidence);
        }
        s.frames.push_back(f);
    }
    s.hz = median(voicedHz);
    s.confidence = median(voicedConf);
    s.voicedFraction = frames ? static_cast<double>(voicedHz.size()) / static_cast<double>(frames) : 0.0;
    return s;
}

}  // namespace soundstar::analysis

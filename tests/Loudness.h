#pragma once
// An independent loudness meter for tests: ITU-R BS.1770-4 integrated loudness (K-weighting,
// 400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU) and a 4x
// oversampled true peak. It shares no code with src (dsp::LoudnessMeter, dsp::TruePeakMeter), so a test
// can check the mastering's numbers against it instead of against themselves.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace soundstar::test {

/// Direct-form-I biquad in double precision (a0 = 1).
struct TestBiquad {
    double b0, b1, b2, a1, a2;
    std::vector<double> run(const std::vector<double>& x) const {
        std::vector<double> y(x.size());
        double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double v = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = x[i];
            y2 = y1;
            y1 = v;
            y[i] = v;
        }
        return y;
    }
};

/// The K-weighting pre-filter (high shelf, +4 dB above ~1.7 kHz) and RLB high-pass (~38 Hz) of
/// BS.1770, from their analogue prototypes through the bilinear transform at any sample rate
/// (the published 48 kHz coefficients come out to 1e-8).
inline std::pair<TestBiquad, TestBiquad> kWeighting(double sampleRate) {
    double f0 = 1681.974450955533, gainDb = 3.999843853973347, q = 0.7071752369554196;
    double k = std::tan(std::numbers::pi * f0 / sampleRate);
    const double vh = std::pow(10.0, gainDb / 20.0), vb = std::pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / q + k * k;
    const TestBiquad shelf{(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
                           (vh - vb * k / q + k * k) / a0, 2.0 * (k * k - 1.0) / a0,
                           (1.0 - k / q + k * k) / a0};
    f0 = 38.13547087602444;
    q = 0.5003270373238773;
    k = std::tan(std::numbers::pi * f0 / sampleRate);
    a0 = 1.0 + k / q + k * k;
    const TestBiquad highpass{1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
    return {shelf, highpass};
}

/// Integrated loudness in LUFS of one or more channels (each weighted 1.0, as L and R are).
/// -inf when every block is below the absolute gate.
inline double integratedLufs(const std::vector<std::vector<float>>& channels, double sampleRate) {
    const auto [shelf, highpass] = kWeighting(sampleRate);
    std::vector<std::vector<double>> weighted;
    for (const auto& ch : channels)
        weighted.push_back(highpass.run(shelf.run(std::vector<double>(ch.begin(), ch.end()))));
    const auto block = static_cast<std::size_t>(std::lround(0.4 * sampleRate));
    const auto step = static_cast<std::size_t>(std::lround(0.1 * sampleRate));
    const std::size_t n = weighted.empty() ? 0 : weighted[0].size();
    std::vector<double> power;  // sum over channels of each block's mean square
    for (std::size_t start = 0; start + block <= n; start += step) {
        double p = 0.0;
        for (const auto& w : weighted) {
            double s = 0.0;
            for (std::size_t i = start; i < start + block; ++i) s += w[i] * w[i];
            p += s / static_cast<double>(block);
        }
        power.push_back(p);
    }
    const auto lufs = [](double p) { return -0.691 + 10.0 * std::log10(p); };
    const auto gatedMean = [&](double gateLufs) {
        double sum = 0.0;
        int count = 0;
        for (double p : power)
            if (p > 0.0 && lufs(p) > gateLufs) {
                sum += p;
                ++count;
            }
        return count ? sum / count : 0.0;
    };
    const double absolute = gatedMean(-70.0);
    if (absolute <= 0.0) return -INFINITY;
    return lufs(gatedMean(lufs(absolute) - 10.0));
}

/// True peak in dBTP: the largest magnitude after 4x oversampling with a 65-tap Kaiser-windowed
/// sinc interpolator (BS.1770 Annex 2 asks for at least 4x at 48 kHz).
inline double truePeakDbtp(const std::vector<std::vector<float>>& channels) {
    constexpr int kFactor = 4, kHalf = 32, kTaps = 2 * kHalf + 1;  // tap kHalf is time 0
    const auto besselI0 = [](double x) {
        double sum = 1.0, term = 1.0;
        for (int k = 1; k < 30; ++k) {
            term *= (x / (2.0 * k)) * (x / (2.0 * k));
            sum += term;
        }
        return sum;
    };
    constexpr double kBeta = 8.0;
    std::vector<double> h(kTaps);
    for (int i = 0; i < kTaps; ++i) {
        const double t = static_cast<double>(i - kHalf) / kFactor;  // in input samples
        const double sinc = i == kHalf ? 1.0 : std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
        const double r = static_cast<double>(i - kHalf) / kHalf;
        h[static_cast<std::size_t>(i)] =
            sinc * besselI0(kBeta * std::sqrt(std::max(0.0, 1.0 - r * r))) / besselI0(kBeta);
    }
    double peak = 0.0;
    for (const auto& x : channels) {
        const auto n = static_cast<long>(x.size());
        for (long i = 0; i < n; ++i) {
            peak = std::max(peak, std::abs(static_cast<double>(x[static_cast<std::size_t>(i)])));
            for (int phase = 1; phase < kFactor; ++phase) {
                // The value at input time i + phase / kFactor from the samples j around it.
                double acc = 0.0;
                for (long j = i - kHalf / kFactor; j <= i + kHalf / kFactor; ++j) {
                    const long tap = kHalf + (i - j) * kFactor + phase;
                    if (j < 0 || j >= n || tap < 0 || tap >= kTaps) continue;
                    acc += h[static_cast<std::size_t>(tap)] * x[static_cast<std::size_t>(j)];
                }
                peak = std::max(peak, std::abs(acc));
            }
        }
    }
    return 20.0 * std::log10(std::max(peak, 1e-12));
}

}  // namespace soundstar::test

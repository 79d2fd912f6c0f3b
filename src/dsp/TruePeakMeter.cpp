#include "dsp/TruePeakMeter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "dsp/Simd.h"

namespace soundstar::dsp {
namespace {
constexpr int kHalf = TruePeakMeter::kTapsPerPhase / 2;

struct Taps {
    // phase[p][k] weighs x[m - kHalf + 1 + k] for the value at m + (p + 1) / 4.
    std::array<std::array<float, TruePeakMeter::kTapsPerPhase>, 3> phase{};
    float bound = 1.0f;  // largest sum of |taps| over the phases
};

double besselI0(double x) {
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 40; ++k) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
    }
    return sum;
}

const Taps& taps() {
    static const Taps t = [] {
        Taps r;
        constexpr double kBeta = 8.0;
        for (int p = 0; p < 3; ++p) {
            double sum = 0.0;
            std::array<double, TruePeakMeter::kTapsPerPhase> h{};
            for (int k = 0; k < TruePeakMeter::kTapsPerPhase; ++k) {
                const double t = (kHalf - 1) + (p + 1) / 4.0 - k;  // distance in input samples
                const double u = t / kHalf;
                const double sinc = std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
                h[static_cast<std::size_t>(k)] = sinc * besselI0(kBeta * std::sqrt(std::max(0.0, 1.0 - u * u))) / besselI0(kBeta);
                sum += h[static_cast<std::size_t>(k)];
            }
            float absSum = 0.0f;
            for (int k = 0; k < TruePeakMeter::kTapsPerPhase; ++k) {
                const auto v = static_cast<float>(h[static_cast<std::size_t>(k)] / sum);  // unity gain at DC
                r.phase[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)] = v;
                absSum += std::abs(v);
            }
            r.bound = std::max(r.bound, absSum);
        }
        return r;
    }();
    return t;
}

float samplePeak(const float* x, std::size_t n) {
    using namespace simd;
    v8 m = splat(0.0f);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) m = max(m, abs(load(x + i)));
    float r = 0.0f;
    for (int l = 0; l < 8; ++l) r = std::max(r, m[l]);
    for (; i < n; ++i) r = std::max(r, std::abs(x[i]));
    return r;
}

// The largest interpolated magnitude at positions [start, start + len), from a zero-padded copy.
float chunkPeak(const float* x, std::size_t n, std::size_t start, std::size_t len, const Taps& t) {
    using namespace simd;
    constexpr std::size_t kBefore = kHalf - 1;
    alignas(32) std::array<float, 512 + 40> buf{};
    for (std::size_t j = 0; j < len + 32; ++j) {
        const std::size_t pos = start + j;  // buf[j] holds x[start + j - kBefore]
        buf[j] = pos >= kBefore && pos - kBefore < n ? x[pos - kBefore] : 0.0f;
    }
    v8 best = splat(0.0f);
    for (std::size_t i = 0; i < len; i += 8) {
        v8 a1 = splat(0.0f), a2 = splat(0.0f), a3 = splat(0.0f);
        for (int k = 0; k < TruePeakMeter::kTapsPerPhase; ++k) {
            const v8 h = load(buf.data() + i + static_cast<std::size_t>(k));
            const auto kk = static_cast<std::size_t>(k);
            a1 += splat(t.phase[0][kk]) * h;
            a2 += splat(t.phase[1][kk]) * h;
            a3 += splat(t.phase[2][kk]) * h;
        }
        best = max(best, max(max(abs(a1), abs(a2)), abs(a3)));
    }
    float r = 0.0f;
    for (int l = 0; l < 8; ++l) r = std::max(r, best[l]);
    return r;
}
}  // namespace

float TruePeakMeter::truePeak(const float* x, std::size_t frames) {
    constexpr std::size_t kChunk = 512;
    const Taps& t = taps();
    const std::size_t chunks = (frames + kChunk - 1) / kChunk;
    std::vector<float> peaks(chunks);
    float best = 0.0f;
    for (std::size_t c = 0; c < chunks; ++c) {
        peaks[c] = samplePeak(x + c * kChunk, std::min(kChunk, frames - c * kChunk));
        best = std::max(best, peaks[c]);
    }
    for (std::size_t c = 0; c < chunks; ++c) {
        // The interpolator reaches 8 samples into the neighbouring chunks.
        float reach = peaks[c];
        if (c > 0) reach = std::max(reach, peaks[c - 1]);
        if (c + 1 < chunks) reach = std::max(reach, peaks[c + 1]);
        if (reach * t.bound <= best) continue;
        best = std::max(best, chunkPeak(x, frames, c * kChunk, std::min(kChunk, frames - c * kChunk), t));
    }
    return best;
}

float TruePeakMeter::truePeakSpan(const float* x, std::size_t frames, std::size_t start, std::size_t len, float best) {
    if (start >= frames || len == 0) return best;
    len = std::min({len, frames - start, std::size_t{512}});
    best = std::max(best, samplePeak(x + start, len));
    // The values between samples at [start, start + len) weigh x[start - 7, start + len + 8].
    const std::size_t from = start >= kHalf ? start - kHalf : 0, to = std::min(frames, start + len + kHalf);
    const Taps& t = taps();
    // With room for the float sums' rounding: a skipped span never holds the answer, so the
    // result does not depend on which `best` a span was measured against.
    if (samplePeak(x + from, to - from) * t.bound * 1.0001f <= best) return best;
    return std::max(best, chunkPeak(x, frames, start, len, t));
}

float TruePeakMeter::truePeakInterior(const float* x, std::size_t frames) {
    float best = samplePeak(x, frames);
    if (frames < static_cast<std::size_t>(kTapsPerPhase)) return best;
    const Taps& t = taps();
    constexpr auto half = static_cast<std::size_t>(kHalf);
    // The value between x[m] and x[m + 1] weighs x[m - half + 1 .. m + half].
    for (std::size_t m = half - 1; m + half < frames; ++m) {
        const float* w = x + m - (half - 1);
        for (const auto& phase : t.phase) {
            float v = 0.0f;
            for (std::size_t k = 0; k < phase.size(); ++k) v += phase[k] * w[k];
            best = std::max(best, std::abs(v));
        }
    }
    return best;
}

double TruePeakMeter::truePeakDbtp(const float* left, const float* right, std::size_t frames) {
    const float p = std::max(truePeak(left, frames), truePeak(right, frames));
    return p > 0.0f ? 20.0 * std::log10(static_cast<double>(p)) : -std::numeric_limits<double>::infinity();
}

}  // namespace soundstar::dsp

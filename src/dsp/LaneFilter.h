#pragma once
// Whole-buffer IIR filtering of a stereo signal in vector lanes: the buffer is cut into up to
// eight stretches of whole steps, and the stretches run through a biquad cascade (transposed
// direct form II) side by side in the sixteen lanes of one vector (the eight stretches' left
// channels, then their right), so a recurrence that is one long dependency chain per channel
// keeps sixteen chains in flight. Every stretch but
// the first starts its filters `warmSeconds` early on the real input, so its state on entering
// the stretch matches the sequential filter's to within the decay of the filter's impulse
// response over that time (below 1e-20 for the loudness filters and 0.25 s). Offline [any].
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numbers>
#include <utility>

#include "dsp/Simd.h"

namespace soundstar::dsp {

/// Normalised biquad coefficients (a0 = 1), double precision.
struct BiquadCoeffs {
    double b0 = 1.0, b1 = 0.0, b2 = 0.0, a1 = 0.0, a2 = 0.0;
};

/// BS.1770's K-weighting: the high shelf (+4 dB above about 1.7 kHz) and the RLB high-pass
/// (about 38 Hz), from the analogue prototypes through the bilinear transform at any rate
/// (the published 48 kHz coefficients to 1e-8).
inline std::pair<BiquadCoeffs, BiquadCoeffs> kWeightingStages(double sampleRate) {
    double f0 = 1681.974450955533, q = 0.7071752369554196;
    const double gainDb = 3.999843853973347;
    double k = std::tan(std::numbers::pi * f0 / sampleRate);
    const double vh = std::pow(10.0, gainDb / 20.0), vb = std::pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / q + k * k;
    const BiquadCoeffs shelf{(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
                             2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
    f0 = 38.13547087602444;
    q = 0.5003270373238773;
    k = std::tan(std::numbers::pi * f0 / sampleRate);
    a0 = 1.0 + k / q + k * k;
    const BiquadCoeffs highpass{1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
    return {shelf, highpass};
}

/// A second-order Butterworth-style high-pass (RBJ's cookbook), for DC removal.
inline BiquadCoeffs highPassCoeffs(double sampleRate, double hz, double q) {
    const double w0 = 2.0 * std::numbers::pi * hz / sampleRate, cw = std::cos(w0), alpha = std::sin(w0) / (2.0 * q);
    const double a0 = 1.0 + alpha;
    return {(1.0 + cw) / 2.0 / a0, -(1.0 + cw) / a0, (1.0 + cw) / 2.0 / a0, -2.0 * cw / a0, (1.0 - alpha) / a0};
}

/// Up to three biquads in series.
struct LaneCascade {
    std::array<BiquadCoeffs, 3> stages{};
    int count = 0;
};

namespace lanes {
constexpr std::size_t kStretches = 8;
constexpr std::size_t kPrefetchAhead = 512;  // frames (2 KB) ahead of each stretch's reads

using simd::transpose8;

/// One biquad's coefficients as vectors (single precision, as the audio is), sixteen lanes: the
/// eight stretches' left channels and then their right.
struct Stage {
    simd::v16 b0, b1, b2, a1, a2;
};

inline Stage makeStage(const BiquadCoeffs& c) {
    const auto splat = [](double v) { return simd::v16{} + static_cast<float>(v); };
    return {splat(c.b0), splat(c.b1), splat(c.b2), splat(c.a1), splat(c.a2)};
}

/// The written stage's coefficients in double precision: a 10 Hz high-pass has its poles so
/// near z = 1 that single precision's rounding, fed back through them, comes out about 63 dB
/// under the signal; in double it is far below the output's own float rounding.
struct StageD {
    simd::v8d b0, b1, b2, a1, a2;
};

inline StageD makeStageD(const BiquadCoeffs& c) {
    using simd::splatd;
    return {splatd(c.b0), splatd(c.b1), splatd(c.b2), splatd(c.a1), splatd(c.a2)};
}

/// Left and right side by side in one sixteen-lane vector.
inline simd::v16 join(simd::v8 left, simd::v8 right) {
    return __builtin_shufflevector(left, right, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/// Where the stretches lie: stretch s covers [start[s], start[s] + length) of the buffer
/// (clipped to frames) and starts its filters `lead` frames before that.
struct Layout {
    std::array<std::size_t, kStretches> start{};
    std::size_t stretches = 1, length = 0, lead = 0, frames = 0, step = 1;
};

/// The whole run: the written stage (when kWritten, in double; its output replaces the input in
/// out) then kMeasured stages, on the left channels of the eight stretches and the right side by side in one
/// sixteen-lane vector (one AVX-512 register: half the operations of a vector a channel, and
/// the same arithmetic in every lane). Frames come in eight at a time, transposed in registers;
/// the filter state stays in locals.
template <bool kWritten, int kMeasured, typename OnStep>
void laneLoop(const float* left, const float* right, float* outLeft, float* outRight, const Layout& at,
              const std::array<Stage, 2>& stages, const StageD& written, OnStep& onStep, std::array<double, 2>& writtenSum) {
    using simd::v8;
    using simd::v16;
    simd::v8d wide[2] = {simd::splatd(0.0), simd::splatd(0.0)};  // the written output's sums
    v16 z1[2], z2[2];
    for (int i = 0; i < 2; ++i) z1[i] = z2[i] = v16{};
    simd::v8d wz1[2] = {simd::splatd(0.0), simd::splatd(0.0)}, wz2[2] = {simd::splatd(0.0), simd::splatd(0.0)};
    v16 acc = v16{};
    std::size_t inStep = 0, stepIndex = 0;
    const std::size_t total = at.lead + at.length;
    for (std::size_t o = 0; o < total; o += 8) {
        // Frame o + j of stretch s is buffer position start[s] + o + j - lead.
        const std::size_t n = std::min<std::size_t>(8, total - o);
        v8 rows[2][8], cols[2][8];
        bool inside = n == 8;
        for (std::size_t s = 0; s < at.stretches && inside; ++s)
            inside = at.start[s] + o >= at.lead && at.start[s] + o + 8 - at.lead <= at.frames;
        for (std::size_t s = 0; s < kStretches; ++s) {
            if (s >= at.stretches) {  // an idle lane
                rows[0][s] = rows[1][s] = simd::splat(0.0f);
                continue;
            }
            if (inside) {
                const std::size_t p = at.start[s] + o - at.lead;
                rows[0][s] = simd::load(left + p);
                rows[1][s] = simd::load(right + p);
                // Sixteen streams at once are more than the hardware prefetcher follows.
                if ((o & 15) == 0 && p + kPrefetchAhead < at.frames) {
                    __builtin_prefetch(left + p + kPrefetchAhead);
                    __builtin_prefetch(right + p + kPrefetchAhead);
                }
                continue;
            }
            alignas(32) float l[8] = {}, r[8] = {};
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t p = at.start[s] + o + j;
                if (p >= at.lead && p - at.lead < at.frames) {
                    l[j] = left[p - at.lead];
                    r[j] = right[p - at.lead];
                }
            }
            rows[0][s] = simd::load(l);
            rows[1][s] = simd::load(r);
        }
        transpose8(rows[0], cols[0]);
        transpose8(rows[1], cols[1]);
        for (std::size_t j = 0; j < n; ++j) {
            if constexpr (kWritten) {
                for (int c = 0; c < 2; ++c) {  // in double, each channel's eight stretches
                    const simd::v8d xd = __builtin_convertvector(cols[c][j], simd::v8d);
                    const simd::v8d y = written.b0 * xd + wz1[c];
                    const simd::v8d t = written.b1 * xd + wz2[c];
                    wz1[c] = t - written.a1 * y;
                    wz2[c] = -(written.a2 * y) + written.b2 * xd;
                    cols[c][j] = __builtin_convertvector(y, v8);
                }
            }
            v16 x = join(cols[0][j], cols[1][j]);
            for (int i = 0; i < kMeasured; ++i) {
                const Stage& st = stages[static_cast<std::size_t>(i)];
                // Written so that from one y to the next stand two fused multiply-adds: the
                // terms that wait for y are added last.
                const v16 y = st.b0 * x + z1[i];
                const v16 t = st.b1 * x + z2[i];
                z1[i] = t - st.a1 * y;
                z2[i] = -(st.a2 * y) + st.b2 * x;
                x = y;
            }
            if (o + j >= at.lead) acc += x * x;
            if (o + j >= at.lead && ++inStep == at.step) {
                for (std::size_t s = 0; s < at.stretches; ++s) {
                    const std::size_t index = s * (at.length / at.step) + stepIndex;
                    if ((index + 1) * at.step <= at.frames) onStep(index, static_cast<double>(acc[s]), static_cast<double>(acc[s + 8]));
                }
                acc = v16{};
                inStep = 0;
                ++stepIndex;
            }
        }
        if (!kWritten || o + n <= at.lead) continue;
        transpose8(cols[0], rows[0]);
        transpose8(cols[1], rows[1]);
        // Eight whole frames of every stretch's own part: whole vectors out, summed as they go.
        const bool own = inside && o >= at.lead && o + 8 - at.lead <= at.length;
        v8 part[2] = {simd::splat(0.0f), simd::splat(0.0f)};
        for (std::size_t s = 0; s < at.stretches; ++s) {
            if (own) {
                simd::store(outLeft + (at.start[s] + o - at.lead), rows[0][s]);
                simd::store(outRight + (at.start[s] + o - at.lead), rows[1][s]);
                part[0] += rows[0][s];
                part[1] += rows[1][s];
                continue;
            }
            alignas(32) float l[8], r[8];
            simd::store(l, rows[0][s]);
            simd::store(r, rows[1][s]);
            for (std::size_t j = 0; j < n; ++j) {
                // Only the stretch's own frames: the warm-up belongs to the stretch before.
                const std::size_t p = at.start[s] + o + j;
                if (o + j < at.lead || p - at.lead >= at.frames || o + j - at.lead >= at.length) continue;
                outLeft[p - at.lead] = l[j];
                outRight[p - at.lead] = r[j];
                writtenSum[0] += static_cast<double>(l[j]);
                writtenSum[1] += static_cast<double>(r[j]);
            }
        }
        for (int c = 0; c < 2; ++c) wide[c] += __builtin_convertvector(part[c], simd::v8d);
    }
    for (int c = 0; c < 2; ++c)
        for (int l = 0; l < 8; ++l) writtenSum[c] += wide[c][l];
}
}  // namespace lanes

/// Runs `written` (if given; its output replaces the input in outLeft/outRight and feeds the
/// rest) and then `measured` (one or two stages) over frames of left/right, and calls
/// onStep(stepIndex, sumLeft, sumRight) with the sums of squares of the last output over every
/// complete step of `step` frames, in no particular order.
/// Up to 8 stretches, each at least 4 warm-ups long; shorter buffers use fewer (one, with no
/// warm-up, under 8 warm-ups). The measured stages run in single precision, as the audio is:
/// the loudness differs from a double-precision filter's by under 0.001 LU (the tests compare
/// with libebur128). The written stage, whose output is the audio, runs in double.
/// writtenSum (when given) receives the sums of the written output, left and right.
template <typename OnStep>
void runLanes(const float* left, const float* right, std::size_t frames, std::size_t step, double sampleRate,
              const LaneCascade& measured, const BiquadCoeffs* written, float* outLeft, float* outRight, OnStep onStep,
              double warmSeconds = 0.25, std::array<double, 2>* writtenSum = nullptr) {
    using lanes::kStretches;
    if (frames == 0 || step == 0 || measured.count < 1 || measured.count > 2) return;
    lanes::Layout at;
    at.frames = frames;
    at.step = step;
    const std::size_t steps = (frames + step - 1) / step;
    const auto warm = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(warmSeconds * sampleRate)));
    at.stretches = frames < 8 * warm ? 1 : std::min({kStretches, frames / (4 * warm), steps});
    at.length = (steps + at.stretches - 1) / at.stretches * step;
    for (std::size_t s = 0; s < kStretches; ++s) at.start[s] = s * at.length;
    at.lead = at.stretches > 1 ? warm : 0;
    std::array<lanes::Stage, 2> stages{};
    const lanes::StageD writtenStage = lanes::makeStageD(written ? *written : BiquadCoeffs{});
    for (int i = 0; i < measured.count; ++i)
        stages[static_cast<std::size_t>(i)] = lanes::makeStage(measured.stages[static_cast<std::size_t>(i)]);
    std::array<double, 2> sums{};
    if (written) {
        if (measured.count == 1) lanes::laneLoop<true, 1>(left, right, outLeft, outRight, at, stages, writtenStage, onStep, sums);
        else lanes::laneLoop<true, 2>(left, right, outLeft, outRight, at, stages, writtenStage, onStep, sums);
    } else {
        if (measured.count == 1) lanes::laneLoop<false, 1>(left, right, outLeft, outRight, at, stages, writtenStage, onStep, sums);
        else lanes::laneLoop<false, 2>(left, right, outLeft, outRight, at, stages, writtenStage, onStep, sums);
    }
    if (writtenSum) *writtenSum = sums;
}

}  // namespace soundstar::dsp

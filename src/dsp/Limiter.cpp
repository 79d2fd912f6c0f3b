#include "dsp/Limiter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "dsp/Simd.h"

namespace soundstar::dsp {
namespace {
/// The largest magnitude among n samples, eight at a time.
float simdPeak(const float* x, int n) {
    using namespace simd;
    v8 m = splat(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = max(m, abs(load(x + i)));
    float r = 0.0f;
    for (int l = 0; l < 8; ++l) r = std::max(r, m[l]);
    for (; i < n; ++i) r = std::max(r, std::abs(x[i]));
    return r;
}
}  // namespace

void Limiter::prepare(double sampleRate, float lookaheadMs) {
    sampleRate_ = sampleRate;
    lookahead_ = std::max(kTapsPerPhase, static_cast<int>(sampleRate * lookaheadMs * 0.001));
    // The interpolator centre lags the newest sample by kTapsPerPhase/2; the audio delay adds that
    // lag so a peak leaves the delay exactly when the box filter has fully absorbed its gain.
    delayLen_ = lookahead_ + kTapsPerPhase / 2 - 1;
    delayL_.assign(static_cast<std::size_t>(delayLen_), 0.0f);
    delayR_.assign(static_cast<std::size_t>(delayLen_), 0.0f);
    minValues_.assign(static_cast<std::size_t>(lookahead_) + 1, 1.0f);
    minTimes_.assign(static_cast<std::size_t>(lookahead_) + 1, 0);
    boxWindow_.assign(static_cast<std::size_t>(lookahead_), 1.0f);
    // Windowed-sinc (Hann) interpolator: phase p estimates x(n - c + p/4), c = centre tap.
    constexpr int kHalf = kTapsPerPhase / 2;
    for (int p = 1; p <= 3; ++p) {
        float norm = 0.0f;
        auto& taps = phases_[static_cast<std::size_t>(p - 1)];
        for (int k = 0; k < kTapsPerPhase; ++k) {
            const double t = static_cast<double>(k - kHalf) + p / 4.0;
            const double sinc = std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
            const double w = 0.5 + 0.5 * std::cos(std::numbers::pi * t / (kHalf + 1));
            taps[static_cast<std::size_t>(k)] = static_cast<float>(sinc * w);
            norm += taps[static_cast<std::size_t>(k)];
        }
        for (auto& t : taps) t /= norm;
        float absSum = 0.0f;
        for (float t : taps) absSum += std::abs(t);
        tapBound_ = std::max(tapBound_, absSum);
        for (int k = 0; k < kTapsPerPhase; ++k)
            interleaved_[static_cast<std::size_t>(4 * k + p - 1)] = taps[static_cast<std::size_t>(k)];
    }
    set(-1.0f, 80.0f);
    reset();
}

void Limiter::reset() {
    tailL_.fill(0.0f);
    tailR_.fill(0.0f);
    std::fill(delayL_.begin(), delayL_.end(), 0.0f);
    std::fill(delayR_.begin(), delayR_.end(), 0.0f);
    minHead_ = minCount_ = 0;
    tick_ = 0;
    std::fill(boxWindow_.begin(), boxWindow_.end(), 1.0f);
    boxSum_ = static_cast<double>(lookahead_);
    release_ = 1.0f;
    minGain_ = 1.0f;
    lastHeld_ = 1.0f;
    heldRun_ = 0;
    delayPos_ = windowPos_ = 0;
}

void Limiter::set(float ceilingDb, float releaseMs) {
    ceiling_ = std::pow(10.0f, std::min(ceilingDb, 0.0f) / 20.0f);
    releaseCoef_ = std::exp(-1.0f / (0.001f * std::max(releaseMs, 1.0f) * static_cast<float>(sampleRate_)));
}

float Limiter::truePeak(const float* h) const {
    using v4 = float __attribute__((vector_size(16)));
    v4 acc{0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < kTapsPerPhase; ++k) {
        v4 t;
        std::memcpy(&t, &interleaved_[static_cast<std::size_t>(4 * k)], sizeof t);
        acc += t * h[k];  // the three fractional positions at once
    }
    const float a = std::max(std::abs(acc[0]), std::max(std::abs(acc[1]), std::abs(acc[2])));
    return std::max(a, std::abs(h[kTapsPerPhase / 2]));
}

[[gnu::always_inline]] inline float Limiter::slidingMin(float value) {
    const int cap = static_cast<int>(minValues_.size());
    // Drop values no smaller than the newcomer from the back, expired ones from the front.
    while (minCount_ > 0) {
        int back = minHead_ + minCount_ - 1;  // indices wrap by comparison: no division per sample
        if (back >= cap) back -= cap;
        if (minValues_[static_cast<std::size_t>(back)] < value) break;
        --minCount_;
    }
    int at = minHead_ + minCount_;
    if (at >= cap) at -= cap;
    const auto slot = static_cast<std::size_t>(at);
    minValues_[slot] = value;
    minTimes_[slot] = tick_;
    ++minCount_;
    while (minTimes_[static_cast<std::size_t>(minHead_)] <= tick_ - lookahead_) {
        if (++minHead_ == cap) minHead_ = 0;
        --minCount_;
    }
    ++tick_;
    return minValues_[static_cast<std::size_t>(minHead_)];
}

void Limiter::truePeaks(const float* x, int n, float* peak) const {
    using namespace simd;
    int i = 0;
    for (; i + 8 <= n; i += 8) {  // eight samples per vector, the three phases side by side
        v8 a1 = splat(0.0f), a2 = splat(0.0f), a3 = splat(0.0f);
        for (int k = 0; k < kTapsPerPhase; ++k) {
            const v8 h = load(x + i + k);
            const auto t = static_cast<std::size_t>(4 * k);
            a1 += splat(interleaved_[t]) * h;
            a2 += splat(interleaved_[t + 1]) * h;
            a3 += splat(interleaved_[t + 2]) * h;
        }
        const v8 centre = abs(load(x + i + kTapsPerPhase / 2));
        store(peak + i, max(max(abs(a1), abs(a2)), max(abs(a3), centre)));
    }
    for (; i < n; ++i) peak[i] = truePeak(x + i);
}

bool Limiter::settled(const float* peak, int n) const {
    // Nothing in the chunk asks for less than unity, the release has come to rest (its
    // recursion maps it onto itself), and the sliding minimum and the box filter have held that
    // one value for a whole window: every sample would get the same gain and change no state
    // but the positions. Checked exactly, so the shortcut never changes a sample.
    if (peak && simdPeak(peak, n) > ceiling_) return false;
    return heldRun_ >= lookahead_ && minCount_ == 1 && minValues_[static_cast<std::size_t>(minHead_)] == release_ &&
           lastHeld_ == release_ && 1.0f + (release_ - 1.0f) * releaseCoef_ == release_;
}

template <typename Gain>
void Limiter::throughDelay(float* inL, float* inR, int n, Gain gain) {
    for (int i = 0; i < n;) {
        // Runs up to the delay line's wrap: a plain swap through it, scaled.
        const int m = std::min(n - i, delayLen_ - delayPos_);
        float* dl = delayL_.data() + delayPos_;
        float* dr = delayR_.data() + delayPos_;
        for (int j = 0; j < m; ++j) {
            const float outL = dl[j], outR = dr[j];
            dl[j] = inL[i + j];
            dr[j] = inR[i + j];
            inL[i + j] = outL * gain(i + j);
            inR[i + j] = outR * gain(i + j);
        }
        i += m;
        delayPos_ += m;
        if (delayPos_ == delayLen_) delayPos_ = 0;
    }
}

void Limiter::passThrough(float* inL, float* inR, int n) {
    const float gain = std::min(lastHeld_, static_cast<float>(boxSum_ / static_cast<double>(lookahead_)));
    minGain_ = std::min(minGain_, gain);
    throughDelay(inL, inR, n, [gain](int) { return gain; });
    tick_ += n;
    minTimes_[static_cast<std::size_t>(minHead_)] = tick_ - 1;  // the newest copy of the held value
    windowPos_ = (windowPos_ + n) % lookahead_;
}

void Limiter::process(StereoView io) {
    // When nothing in this block (or the interpolator's history) can reach the ceiling even
    // between samples, skip the true-peak interpolation: the bound is exact, not a guess.
    const float blockPeak = std::max({simdPeak(tailL_.data(), kTapsPerPhase - 1), simdPeak(tailR_.data(), kTapsPerPhase - 1),
                                      simdPeak(io.left, io.frames), simdPeak(io.right, io.frames)});
    const bool quiet = blockPeak * tapBound_ < ceiling_;
    constexpr int kChunk = 64, kTail = kTapsPerPhase - 1;
    for (int done = 0; done < io.frames; done += kChunk) {
        const int n = std::min(kChunk, io.frames - done);
        float* inL = io.left + done;
        float* inR = io.right + done;
        // The true peak of every sample in the chunk first (no recurrence in it), from windows
        // that end at that sample.
        alignas(32) float xl[kTail + kChunk], xr[kTail + kChunk], peak[kChunk], peakR[kChunk];
        std::copy(tailL_.begin(), tailL_.end(), xl);
        std::copy(tailR_.begin(), tailR_.end(), xr);
        std::copy(inL, inL + n, xl + kTail);
        std::copy(inR, inR + n, xr + kTail);
        std::copy(xl + n, xl + n + kTail, tailL_.begin());
        std::copy(xr + n, xr + n + kTail, tailR_.begin());
        if (quiet) {
            if (settled(nullptr, n)) {  // nothing asks for gain reduction: skip the per-sample loop
                passThrough(inL, inR, n);
                continue;
            }
            std::fill(peak, peak + n, 0.0f);
        } else {
            truePeaks(xl, n, peak);
            truePeaks(xr, n, peakR);
            for (int i = 0; i < n; ++i) peak[i] = std::max(peak[i], peakR[i]);
        }
        if (settled(peak, n)) {
            passThrough(inL, inR, n);
            continue;
        }
        // Three passes over the chunk, each one recurrence (the same operations in the same
        // order as one fused loop, so the same bits): the release and the sliding minimum; the
        // box filter and the gain; the delay line, a plain run.
        alignas(32) float held[kChunk], gains[kChunk];
        for (int i = 0; i < n; ++i) peak[i] = peak[i] > ceiling_ ? ceiling_ / peak[i] : 1.0f;  // what each sample wants
        float release = release_;
        for (int i = 0; i < n; ++i) {
            // Release: rise slowly, fall at once.
            const float want = peak[i];
            release = want < release ? want : want + (release - want) * releaseCoef_;
            held[i] = slidingMin(release);
        }
        float minGain = minGain_, lastHeld = lastHeld_;
        int heldRun = heldRun_, windowPos = windowPos_;
        double boxSum = boxSum_;
        float* box = boxWindow_.data();
        for (int i = 0; i < n; ++i) {
            heldRun = held[i] == lastHeld ? std::min(heldRun + 1, lookahead_) : 1;
            lastHeld = held[i];
            boxSum += held[i] - box[windowPos];
            box[windowPos] = held[i];
            if (++windowPos == lookahead_) windowPos = 0;
            gains[i] = std::min(held[i], static_cast<float>(boxSum / static_cast<double>(lookahead_)));
            minGain = std::min(minGain, gains[i]);
        }
        throughDelay(inL, inR, n, [&gains](int i) { return gains[i]; });
        release_ = release;
        minGain_ = minGain;
        lastHeld_ = lastHeld;
        heldRun_ = heldRun;
        windowPos_ = windowPos;
        boxSum_ = boxSum;
    }
}

}  // namespace soundstar::dsp

#include "dsp/Reverb.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "dsp/Simd.h"

namespace soundstar::dsp {
namespace {
// Mutually prime-ish base lengths in ms for the largest size.
constexpr std::array<float, Reverb::kLines> kBaseMs{45.1f, 53.7f, 61.3f, 68.9f, 77.3f, 84.7f, 93.1f, 101.9f};
constexpr std::array<float, 4> kDiffMs{4.77f, 3.59f, 12.7f, 9.31f};
constexpr float kDiffGain = 0.62f;
}  // namespace

void Reverb::prepare(double sampleRate) {
    sampleRate_ = sampleRate;
    for (auto& l : lines_) l.prepare(static_cast<std::size_t>(sampleRate * 0.12) + 64);
    for (std::size_t i = 0; i < diffusers_.size(); ++i) {
        diffLen_[i] = static_cast<float>(kDiffMs[i] * 0.001 * sampleRate);
        diffusers_[i].prepare(static_cast<std::size_t>(diffLen_[i]) + 4);
        diffIdx_[i] = static_cast<std::size_t>(diffLen_[i]);
    }
    // Room for the longest predelay plus one chunk pushed ahead of its reads.
    preL_.prepare(static_cast<std::size_t>(sampleRate * 0.2) + 4 + 64);
    preR_.prepare(static_cast<std::size_t>(sampleRate * 0.2) + 4 + 64);
    mod_.prepare(sampleRate);
    mod_.setRate(0.35f);
    mix_.prepare(sampleRate, 30.0f);
    mix_.snap(0.25f);
    updateLines();
}

void Reverb::reset() {
    for (auto& l : lines_) l.reset();
    for (auto& d : diffusers_) d.reset();
    preL_.reset();
    preR_.reset();
    lpState_.fill(0.0f);
}

void Reverb::set(float size, float decayS, float damping, float predelayMs, float mix) {
    size_ = std::clamp(size, 0.0f, 1.0f);
    decayS_ = std::clamp(decayS, 0.1f, 30.0f);
    damping_ = std::clamp(damping, 0.0f, 1.0f);
    predelay_ = std::clamp(static_cast<float>(predelayMs * 0.001 * sampleRate_), 1.0f,
                           static_cast<float>(preL_.maxDelay() - 64));
    mix_.setTarget(std::clamp(mix, 0.0f, 1.0f));
    updateLines();
}

void Reverb::updateLines() {
    const float scale = 0.25f + 0.75f * size_;
    for (std::size_t i = 0; i < kLines; ++i) {
        lengths_[i] = static_cast<float>(kBaseMs[i] * scale * 0.001 * sampleRate_);
        lengthIdx_[i] = static_cast<std::size_t>(lengths_[i]);
        // Gain per pass so the loop decays 60 dB in decayS: g = 10^(-3 * len / (T60 * fs)).
        gains_[i] = static_cast<float>(std::pow(10.0, -3.0 * lengths_[i] / (decayS_ * sampleRate_)));
        // Damping: a one-pole lowpass in each line; darker lines for higher damping.
        lpCoef_[i] = 0.05f + 0.85f * damping_;
    }
}

// Whether eight samples from each ring's index at[i] + s (lines `from`..7) lie before its end.
template <std::size_t N>
static bool noWrap(const std::array<DelayLine, N>& lines, const std::array<std::size_t, N>& at, std::size_t from, int s) {
    for (std::size_t i = from; i < N; ++i)
        if (at[i] + static_cast<std::size_t>(s) + 8 > lines[i].size()) return false;
    return true;
}

// The longest stretch process() works on at once (shorter when a line is shorter).
constexpr int kBlockChunk = 64;

// out[s] = line.readAhead(s, delay[s]) for s < n (n <= kBlockChunk): the integer delay moves only now and then
// (the wobble is slow and a few samples deep), so the reads run in stretches of one integer
// delay, each contiguous in the ring where it does not wrap: whole vectors instead of a gather
// per sample (gathers are slow on the machines this runs on). The same values [rt].
static void readModulated(const DelayLine& line, const float* delay, float* out, int n) {
    const std::size_t mask = line.mask(), w = line.writeIndex();
    const float* buf = line.data();
    const auto top = static_cast<float>(mask - 1);
    std::size_t whole[kBlockChunk];
    float frac[kBlockChunk];
    for (int s = 0; s < n; ++s) {
        const float d = std::clamp(delay[s], 1.0f, top);
        whole[s] = static_cast<std::size_t>(d);
        frac[s] = d - static_cast<float>(whole[s]);
    }
    for (int s = 0; s < n;) {
        int e = s + 1;
        while (e < n && whole[e] == whole[s]) ++e;
        const std::size_t a0 = (w + static_cast<std::size_t>(s) - whole[s]) & mask;  // the stretch's first point
        if (a0 >= 1 && a0 + static_cast<std::size_t>(e - s) <= mask + 1) {
            const float* a = buf + a0;
            const float* b = a - 1;  // one sample older
            for (int k = s; k < e; ++k) out[k] = a[k - s] + (b[k - s] - a[k - s]) * frac[k];
        } else {
            for (int k = s; k < e; ++k) out[k] = line.readAhead(k, delay[k]);
        }
        s = e;
    }
}

// The lines 2..7 into y[s][2..7], s < n: eight samples of every line read as one vector each
// and turned into eight samples' vectors of the lines in registers (transpose8), where no line
// wraps within them; the rest sample by sample. The same values as readBlock's [rt].
void Reverb::readLines(float (*y)[kLines], int n) const {
    using namespace simd;
    std::array<std::size_t, kLines> from{};
    for (std::size_t i = 2; i < kLines; ++i) from[i] = (lines_[i].writeIndex() - lengthIdx_[i]) & lines_[i].mask();
    int s = 0;
    for (; s + 8 <= n && noWrap(lines_, from, 2, s); s += 8) {
        v8 rows[8], cols[8];
        rows[0] = rows[1] = splat(0.0f);  // lines 0 and 1 are read apart (modulated)
        for (std::size_t i = 2; i < kLines; ++i) rows[i] = load(lines_[i].data() + from[i] + static_cast<std::size_t>(s));
        transpose8(rows, cols);
        for (int j = 0; j < 8; ++j) store(y[s + j], cols[j]);
    }
    for (std::size_t i = 2; i < kLines; ++i)
        for (int k = s; k < n; ++k) y[k][i] = lines_[i].data()[(from[i] + static_cast<std::size_t>(k)) & lines_[i].mask()];
}

// fb[s][i] pushed onto line i, s < n, eight samples at a time as readLines reads them [rt].
void Reverb::writeLines(const float (*fb)[kLines], int n) {
    using namespace simd;
    std::array<std::size_t, kLines> at{};
    for (std::size_t i = 0; i < kLines; ++i) at[i] = lines_[i].writeIndex();
    int s = 0;
    for (; s + 8 <= n && noWrap(lines_, at, 0, s); s += 8) {
        v8 rows[8], cols[8];
        for (int j = 0; j < 8; ++j) rows[j] = load(fb[s + j]);
        transpose8(rows, cols);
        for (std::size_t i = 0; i < kLines; ++i) store(lines_[i].data() + at[i] + static_cast<std::size_t>(s), cols[i]);
    }
    for (std::size_t i = 0; i < kLines; ++i) {
        for (int k = s; k < n; ++k) lines_[i].data()[(at[i] + static_cast<std::size_t>(k)) & lines_[i].mask()] = fb[k][i];
        lines_[i].advance(static_cast<std::size_t>(n));
    }
}

void Reverb::process(StereoView io) {
    // Block form of the FDN: within a chunk shorter than every line, all line reads refer to
    // samples written before the chunk, so lines are read in bulk, the 8x8 feedback runs as
    // 8-wide vector arithmetic per sample, and lines are written in bulk.
    constexpr int kChunk = kBlockChunk;
    int maxChunk = kChunk;
    for (std::size_t i = 0; i < kLines; ++i) maxChunk = std::min(maxChunk, static_cast<int>(lengthIdx_[i]) - 8);
    maxChunk = std::max(maxChunk, 1);
    alignas(32) float y[kChunk][kLines];
    alignas(32) float fb[kChunk][kLines];
    float xin[kChunk], wob[kChunk], wetL[kChunk], wetR[kChunk];
    const auto pre = static_cast<std::size_t>(predelay_);
    for (int done = 0; done < io.frames; done += maxChunk) {
        const int n = std::min(maxChunk, io.frames - done);
        // Predelay: push the chunk, then read each sample `pre` back from where it was written.
        {
            const std::size_t w0 = preL_.writeIndex(), mask = preL_.mask();
            preL_.pushBlock(io.left + done, n, 1);
            preR_.pushBlock(io.right + done, n, 1);
            const float* bl = preL_.data();
            const float* br = preR_.data();
            // Up to the ring's end, then from its start: whole vectors, no index masked per sample.
            const std::size_t r0 = (w0 + 1 - pre) & mask, first = std::min<std::size_t>(static_cast<std::size_t>(n), mask + 1 - r0);
            for (std::size_t s = 0; s < first; ++s) xin[s] = 0.5f * (bl[r0 + s] + br[r0 + s]);
            for (std::size_t s = first; s < static_cast<std::size_t>(n); ++s) xin[s] = 0.5f * (bl[s - first] + br[s - first]);
        }
        // Series allpass diffusion smears the input into a dense burst. Every diffuser is longer
        // than a chunk, so each runs over the whole chunk at once: read, compute, push.
        for (std::size_t d = 0; d < diffusers_.size(); ++d) {
            float delayed[kChunk], v[kChunk];
            diffusers_[d].readBlock(delayed, n, diffIdx_[d], 1);
            for (int s = 0; s < n; ++s) v[s] = xin[s] + kDiffGain * delayed[s];
            diffusers_[d].pushBlock(v, n, 1);
            for (int s = 0; s < n; ++s) xin[s] = delayed[s] - kDiffGain * v[s];
        }
        for (int s = 0; s < n; ++s) xin[s] *= 0.35f;
        mod_.processSine(wob, n);
        for (int s = 0; s < n; ++s) wob[s] *= 6.0f;
        // Two lines are modulated (fractional reads) to break up metallic modes; the rest read
        // at integer lengths, which is cheaper and sounds the same.
        readLines(y, n);  // (whole rows of y: before lines 0 and 1 are filled in)
        float m0[kChunk], m1[kChunk], d0[kChunk], d1[kChunk];
        for (int s = 0; s < n; ++s) d0[s] = lengths_[0] - wob[s], d1[s] = lengths_[1] + wob[s];
        readModulated(lines_[0], d0, m0, n);
        readModulated(lines_[1], d1, m1, n);
        for (int s = 0; s < n; ++s) y[s][0] = m0[s], y[s][1] = m1[s];
        // The network, eight lines as the eight lanes of one vector. The damping lowpass is the
        // only recurrence: lp = c * lp + (1 - c) * y, one fused multiply-add per sample.
        using namespace simd;
        v8 lp = load(lpState_.data());
        const v8 c = load(lpCoef_.data()), a = splat(1.0f) - c, g = load(gains_.data());
        const v8 sign{-1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f};  // odd lines take +input
        const v8 evenMask{1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f};
        // Only lp carries from sample to sample: the lines' sums (the Householder matrix and
        // the left/right taps) are taken afterwards, eight samples at a time.
        v8 out[kChunk], outEven[kChunk];
        for (int s = 0; s < n; ++s) {
            lp = c * lp + a * load(y[s]);
            out[s] = lp * g;
            outEven[s] = out[s] * evenMask;
        }
        float sum[kChunk];
        storeHsums(out, sum, n);
        storeHsums(outEven, wetL, n);
        for (int s = 0; s < n; ++s) {
            // Householder feedback: x_i - (2/N) * sum keeps the matrix orthogonal (lossless).
            store(fb[s], out[s] - splat(sum[s] * (2.0f / kLines)) + sign * splat(xin[s]));
            wetR[s] = sum[s] - wetL[s];
        }
        store(lpState_.data(), lp);
        writeLines(fb, n);
        for (int s = 0; s < n; ++s) {
            const float m = mix_.next();
            float& l = io.left[done + s];
            float& r = io.right[done + s];
            l = l * (1.0f - m) + wetL[s] * m * 0.5f;
            r = r * (1.0f - m) + wetR[s] * m * 0.5f;
        }
    }
}

}  // namespace soundstar::dsp

#pragma once
// Feed-forward stereo-linked compressor with a soft knee; level detection in the log domain
// with separate attack and release (Giannoulis, Massberg & Reiss 2012, "Digital Dynamic Range
// Compressor Design - A Tutorial and Analysis"). [rt after prepare]
#include <algorithm>
#include <cmath>

#include "core/AudioBuffer.h"
#include "dsp/FastMath.h"
#include "dsp/Simd.h"

namespace soundstar::dsp {

inline float dbToGain(float db) { return std::pow(10.0f, db * 0.05f); }
inline float gainToDb(float g) { return 20.0f * std::log10(std::max(g, 1e-9f)); }

class Compressor {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        set(thresholdDb_, ratio_, kneeDb_, attackMs_, releaseMs_, makeupDb_);
    }
    void reset() { envDb_ = 0.0f; }
    /// thresholdDb (-60..0), ratio (1..40), kneeDb (0..24), attack/release in ms, makeup in dB.
    void set(float thresholdDb, float ratio, float kneeDb, float attackMs, float releaseMs, float makeupDb) {
        thresholdDb_ = std::clamp(thresholdDb, -60.0f, 0.0f);
        ratio_ = std::clamp(ratio, 1.0f, 40.0f);
        kneeDb_ = std::clamp(kneeDb, 0.0f, 24.0f);
        attackMs_ = std::max(attackMs, 0.01f);
        releaseMs_ = std::max(releaseMs, 1.0f);
        makeupDb_ = makeupDb;
        attackCoef_ = std::exp(-1.0f / (0.001f * attackMs_ * sampleRate_));
        releaseCoef_ = std::exp(-1.0f / (0.001f * releaseMs_ * sampleRate_));
    }
    /// Static curve: gain reduction in dB (<= 0) for an input level in dB.
    float gainReductionDb(float levelDb) const {
        const float over = levelDb - thresholdDb_;
        const float slope = 1.0f / ratio_ - 1.0f;
        if (2.0f * over < -kneeDb_) return 0.0f;
        if (kneeDb_ > 0.0f && 2.0f * std::abs(over) <= kneeDb_) {
            const float t = over + kneeDb_ * 0.5f;
            return slope * t * t / (2.0f * kneeDb_);
        }
        return slope * over;
    }
    /// process() over n samples of silence, without the samples: the output is zeros whatever
    /// the gain, and only the detector moves, released toward no reduction by the same
    /// multiplications process() makes (its target there is -0 dB, which adds nothing) [rt].
    void skipSilence(int n) {
        float env = envDb_;
        for (int i = 0; i < n && env != 0.0f; ++i) env = env * releaseCoef_;
        envDb_ = env;
    }
    /// Last gain reduction applied, dB (for meters).
    float currentReductionDb() const { return -envDb_; }
    void process(StereoView io) {
        // Three passes per chunk: the level and static curve for eight samples at a time, the
        // attack/release smoothing serially (the only recurrence), then the gain, eight at a
        // time. Fast log/exp: the detector needs ~0.05 dB, not libm's precision.
        using namespace simd;
        constexpr int kChunk = 64;
        alignas(32) float want[kChunk];
        const float makeup = dbToGain(makeupDb_);
        const v8 thr = splat(thresholdDb_), knee = splat(kneeDb_), slope = splat(1.0f / ratio_ - 1.0f);
        const v8 halfKnee = splat(kneeDb_ * 0.5f), kneeDiv = splat(kneeDb_ > 0.0f ? 1.0f / (2.0f * kneeDb_) : 0.0f);
        for (int done = 0; done < io.frames; done += kChunk) {
            const int n = std::min(kChunk, io.frames - done);
            float* l = io.left + done;
            float* r = io.right + done;
            int i = 0;
            for (; i + 8 <= n; i += 8) {
                const v8 peak = max(max(abs(load(l + i)), abs(load(r + i))), splat(1e-9f));
                const v8 over = splat(6.0206f) * log2(peak) - thr;
                // gainReductionDb, branch-free: below the knee 0, inside it the quadratic, above
                // it the slope.
                const v8 t = over + halfKnee;
                const v8 inKnee = slope * t * t * kneeDiv;
                v8 gr = slope * over;
                gr = abs(over) * splat(2.0f) <= knee ? inKnee : gr;
                gr = over * splat(2.0f) < -knee ? splat(0.0f) : gr;
                store(want + i, -gr);
            }
            for (; i < n; ++i) {
                const float peak = std::max(std::abs(l[i]), std::abs(r[i]));
                want[i] = -gainReductionDb(6.0206f * fastLog2(std::max(peak, 1e-9f)));
            }
            // env' = w + (env - w) c, as env c + w (1 - c): both coefficients' outcomes and the
            // comparison that picks one all wait only for env, so a sample costs one multiply-add
            // and a select on the chain, not a compare, a select, a subtract and a multiply-add.
            alignas(32) float wa[kChunk], wr[kChunk];
            const float oneMinusA = 1.0f - attackCoef_, oneMinusR = 1.0f - releaseCoef_;
            for (i = 0; i < n; ++i) {
                wa[i] = want[i] * oneMinusA;
                wr[i] = want[i] * oneMinusR;
            }
            float env = envDb_;
            for (i = 0; i < n; ++i) {
                const float attack = env * attackCoef_ + wa[i], release = env * releaseCoef_ + wr[i];
                env = want[i] > env ? attack : release;
                want[i] = env;  // now the smoothed reduction
            }
            envDb_ = env;
            i = 0;
            for (; i + 8 <= n; i += 8) {
                const v8 e = load(want + i);
                const v8 g = e < splat(1e-4f) ? splat(makeup)
                                               : exp2(max(e * splat(-0.16609640f), splat(-126.0f))) * splat(makeup);
                store(l + i, load(l + i) * g);
                store(r + i, load(r + i) * g);
            }
            for (; i < n; ++i) {
                const float g = want[i] < 1e-4f ? makeup : fastExp2(-want[i] * 0.16609640f) * makeup;
                l[i] *= g;
                r[i] *= g;
            }
        }
    }

private:
    float sampleRate_ = 48000.0f;
    float thresholdDb_ = -18.0f, ratio_ = 3.0f, kneeDb_ = 6.0f, attackMs_ = 10.0f, releaseMs_ = 120.0f;
    float makeupDb_ = 0.0f, attackCoef_ = 0.0f, releaseCoef_ = 0.0f, envDb_ = 0.0f;
};

/// Noise gate: closes (down by rangeDb) when the level stays below threshold past the hold time.
class Gate {
public:
    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        set(thresholdDb_, 1.0f, 50.0f, 100.0f, rangeDb_);
    }
    void set(float thresholdDb, float attackMs, float holdMs, float releaseMs, float rangeDb = -80.0f) {
        thresholdDb_ = thresholdDb;
        threshold_ = dbToGain(thresholdDb);
        rangeDb_ = std::min(rangeDb, 0.0f);
        floor_ = dbToGain(rangeDb_);
        attackCoef_ = std::exp(-1.0f / (0.001f * std::max(attackMs, 0.01f) * sampleRate_));
        releaseCoef_ = std::exp(-1.0f / (0.001f * std::max(releaseMs, 1.0f) * sampleRate_));
        holdSamples_ = static_cast<int>(holdMs * 0.001f * sampleRate_);
    }
    void process(StereoView io) {
        for (int i = 0; i < io.frames; ++i) {
            const float peak = std::max(std::abs(io.left[i]), std::abs(io.right[i]));
            if (peak >= threshold_) holdLeft_ = holdSamples_;
            else if (holdLeft_ > 0) --holdLeft_;
            const float target = (peak >= threshold_ || holdLeft_ > 0) ? 1.0f : floor_;
            const float c = target > gain_ ? attackCoef_ : releaseCoef_;
            gain_ = target + (gain_ - target) * c;
            io.left[i] *= gain_;
            io.right[i] *= gain_;
        }
    }

private:
    float sampleRate_ = 48000.0f, thresholdDb_ = -50.0f, threshold_ = 0.003f, rangeDb_ = -80.0f;
    float floor_ = 1e-4f, attackCoef_ = 0.0f, releaseCoef_ = 0.0f, gain_ = 1.0f;
    int holdSamples_ = 0, holdLeft_ = 0;
};

}  // namespace soundstar::dsp

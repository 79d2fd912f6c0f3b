#pragma once
// Four-operator phase-modulation (DX-style FM) voice. Each operator has a frequency ratio, an
// output level (modulation index when it modulates), its own ADSR and optional self-feedback.
// Algorithms choose who modulates whom. prepare() [control]; the rest [rt].
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "dsp/Envelope.h"
#include "dsp/FastMath.h"
#include "dsp/Simd.h"

namespace soundstar::dsp {

enum class FmAlgorithm {
    Stack,         // 4 -> 3 -> 2 -> 1 (carrier 1)
    TwoStacks,     // 2 -> 1, 4 -> 3 (carriers 1, 3)
    ThreeToOne,    // 2, 3, 4 -> 1 (carrier 1)
    Additive,      // all four are carriers
    TwoOperator    // 2 -> 1 only (classic 2-op)
};

class Fm4 {
public:
    struct Operator {
        float ratio = 1.0f, level = 1.0f, feedback = 0.0f;
        float attackS = 0.005f, decayS = 0.3f, sustain = 0.7f, releaseS = 0.3f;
    };

    void prepare(double sampleRate) {
        sampleRate_ = sampleRate;
        for (auto& e : env_) e.prepare(sampleRate);
        applyEnvelopes();
    }
    void setAlgorithm(FmAlgorithm a) { algo_ = a; }
    void setOperator(int i, const Operator& op) {
        ops_[static_cast<std::size_t>(i)] = op;
        inc_[static_cast<std::size_t>(i)] = freqHz_ * op.ratio / sampleRate_;
        env_[static_cast<std::size_t>(i)].set(op.attackS, op.decayS, op.sustain, op.releaseS);
    }
    void noteOn(float freqHz) {
        setFrequency(freqHz);
        for (auto& p : phase_) p = 0.0;
        prev_ = {};
        for (auto& e : env_) e.gateOn();
    }
    void noteOff() {
        for (auto& e : env_) e.gateOff();
    }
    void setFrequency(float hz) {
        freqHz_ = hz;
        for (std::size_t k = 0; k < 4; ++k) inc_[k] = freqHz_ * ops_[k].ratio / sampleRate_;
    }
    bool active() const {
        for (std::size_t i = 0; i < 4; ++i)
            if (isCarrier(static_cast<int>(i)) && env_[i].active()) return true;
        return false;
    }
    void reset() {
        for (auto& e : env_) e.reset();
    }
    /// The main carrier's envelope level (for voice stealing).
    float level() const { return env_[0].level(); }

    /// Renders n samples and adds them, times gain, into out (the fast path: operator by
    /// operator over chunks of up to 64 samples instead of sample by sample).
    void process(float* out, int n, float gain) {
        using simd::v8;
        constexpr int kChunk = 64;
        // Whole vectors of eight; lanes past m are computed from stale (initialised) values and
        // never reach the output.
        alignas(32) float env[kChunk]{}, a[kChunk]{}, b[kChunk]{}, c[kChunk]{}, d[kChunk]{};
        float* opOut[4] = {a, b, c, d};
        for (int done = 0; done < n; done += kChunk) {
            const int m = std::min(kChunk, n - done);
            const int vecs = (m + 7) / 8;
            for (int i = topOperator(); i >= 0; --i) {
                const auto k = static_cast<std::size_t>(i);
                env_[k].process(env, m);
                float* y = opOut[k];
                // Modulation input (already in cycles) from the operators above, per algorithm.
                const float* m1 = nullptr;
                const float* m2 = nullptr;
                const float* m3 = nullptr;
                switch (algo_) {
                    case FmAlgorithm::Stack: m1 = i < 3 ? opOut[k + 1] : nullptr; break;
                    case FmAlgorithm::TwoStacks: m1 = i == 0 ? b : (i == 2 ? d : nullptr); break;
                    case FmAlgorithm::ThreeToOne:
                        if (i == 0) { m1 = b; m2 = c; m3 = d; }
                        break;
                    case FmAlgorithm::TwoOperator: m1 = i == 0 ? b : nullptr; break;
                    case FmAlgorithm::Additive: break;
                }
                constexpr float kCycles = 0.5f;  // index pi radians at full level = half a cycle
                const double ph = phase_[k];
                const double inc = inc_[k];
                const float fb = ops_[k].feedback * (0.5f / std::numbers::pi_v<float>);
                // Phase per sample from the chunk's start in double (no serial accumulation).
                const v8 level = simd::splat(ops_[k].level);
                const simd::v8d iotad{0, 1, 2, 3, 4, 5, 6, 7};
                alignas(32) float phs[kChunk];
                for (int v = 0; v < vecs; ++v) {
                    // In double, wrapped to [0, 1) before rounding to float.
                    const simd::v8d pd = simd::splatd(ph) + (iotad + simd::splatd(8.0 * v)) * simd::splatd(inc);
                    v8 p = __builtin_convertvector(pd - simd::floor(pd), v8);
                    if (m1) {
                        v8 mod = simd::load(m1 + 8 * v);
                        if (m2) mod += simd::load(m2 + 8 * v) + simd::load(m3 + 8 * v);
                        p += simd::splat(kCycles) * mod;
                    }
                    simd::store(phs + 8 * v, p);
                    simd::store(env + 8 * v, simd::load(env + 8 * v) * level);
                }
                if (fb == 0.0f) {
                    for (int v = 0; v < vecs; ++v)
                        simd::store(y + 8 * v, simd::sinCycles(simd::load(phs + 8 * v)) * simd::load(env + 8 * v));
                    prev_[k] = y[m - 1];
                } else {
                    float prev = prev_[k];
                    for (int s = 0; s < m; ++s) {
                        prev = sinCyclesPoly(phs[s] + fb * prev) * env[s];
                        y[s] = prev;
                    }
                    prev_[k] = prev;
                }
                const double end = ph + static_cast<double>(m) * inc;
                phase_[k] = end - std::floor(end);
            }
            float* dst = out + done;
            switch (algo_) {
                case FmAlgorithm::TwoStacks:
                    for (int s = 0; s < m; ++s) dst[s] += gain * 0.5f * (a[s] + c[s]);
                    break;
                case FmAlgorithm::Additive:
                    for (int s = 0; s < m; ++s) dst[s] += gain * 0.25f * (a[s] + b[s] + c[s] + d[s]);
                    break;
                default:
                    for (int s = 0; s < m; ++s) dst[s] += gain * a[s];
                    break;
            }
        }
    }

    /// One sample (the reference path; process() gives the same result faster).
    float tick() {
        std::array<float, 4> out{};
        // Evaluate from operator 4 down so modulators are ready before their carriers.
        for (int i = topOperator(); i >= 0; --i) {
            const auto k = static_cast<std::size_t>(i);
            float mod = ops_[k].feedback * prev_[k];
            mod += modulationInto(i, out);
            const double inc = inc_[k];
            const float s = sinCycles(phase_[k] + mod * (0.5f / std::numbers::pi_v<float>));
            phase_[k] += inc;
            if (phase_[k] >= 1.0) phase_[k] -= 1.0;
            out[k] = s * env_[k].tick() * ops_[k].level;
            prev_[k] = out[k];
        }
        switch (algo_) {
            case FmAlgorithm::TwoStacks: return 0.5f * (out[0] + out[2]);
            case FmAlgorithm::Additive: return 0.25f * (out[0] + out[1] + out[2] + out[3]);
            default: return out[0];
        }
    }

private:
    // The two-operator algorithm leaves operators 3 and 4 out entirely.
    int topOperator() const { return algo_ == FmAlgorithm::TwoOperator ? 1 : 3; }
    bool isCarrier(int i) const {
        switch (algo_) {
            case FmAlgorithm::Stack:
            case FmAlgorithm::ThreeToOne:
            case FmAlgorithm::TwoOperator: return i == 0;
            case FmAlgorithm::TwoStacks: return i == 0 || i == 2;
            case FmAlgorithm::Additive: return true;
        }
        return i == 0;
    }
    // Modulation index in radians: an operator's level times pi at full scale.
    float modulationInto(int i, const std::array<float, 4>& out) const {
        constexpr float kIndex = std::numbers::pi_v<float>;
        switch (algo_) {
            case FmAlgorithm::Stack: return i < 3 ? out[static_cast<std::size_t>(i + 1)] * kIndex : 0.0f;
            case FmAlgorithm::TwoStacks:
                return (i == 0) ? out[1] * kIndex : (i == 2 ? out[3] * kIndex : 0.0f);
            case FmAlgorithm::ThreeToOne: return i == 0 ? (out[1] + out[2] + out[3]) * kIndex : 0.0f;
            case FmAlgorithm::TwoOperator: return i == 0 ? out[1] * kIndex : 0.0f;
            case FmAlgorithm::Additive: return 0.0f;
        }
        return 0.0f;
    }
    void applyEnvelopes() {
        for (std::size_t i = 0; i < 4; ++i)
            env_[i].set(ops_[i].attackS, ops_[i].decayS, ops_[i].sustain, ops_[i].releaseS);
    }
    double sampleRate_ = 48000.0;
    float freqHz_ = 440.0f;
    FmAlgorithm algo_ = FmAlgorithm::Stack;
    std::array<Operator, 4> ops_{};
    std::array<Adsr, 4> env_{};
    std::array<double, 4> phase_{}, inc_{};
    std::array<float, 4> prev_{};
};

}  // namespace soundstar::dsp

#include "dsp/SawVoiceBank.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/Pan.h"
#include "dsp/Simd.h"

namespace soundstar::dsp {
namespace {
using namespace simd;
constexpr float kAttackOvershoot = 1.25f;  // one-pole attack aims past 1 and is clamped there
}  // namespace

void SawVoiceBank::prepare(double sampleRate, int maxVoices) {
    sampleRate_ = sampleRate;
    groups_.assign(static_cast<std::size_t>((std::max(maxVoices, 1) + kLanes - 1) / kLanes), Group{});
    reset();
}

void SawVoiceBank::reset() {
    for (auto& g : groups_) {
        g = Group{};
        for (int l = 0; l < kLanes; ++l) {
            g.stage[l] = kIdle;
            g.inc[l] = 0.01f;
            g.invInc[l] = 100.0f;
        }
        g.activeCount = 0;
    }
}

float SawVoiceBank::coefFor(float seconds) const {
    const double n = std::max(1.0, static_cast<double>(seconds) * sampleRate_);
    return static_cast<float>(std::exp(std::log(1e-3) / n));
}

void SawVoiceBank::setFrequency(int v, float freqHz) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    const float inc = std::clamp(freqHz / static_cast<float>(sampleRate_), 1e-5f, 0.45f);
    g.inc[l] = inc;
    g.invInc[l] = 1.0f / inc;
}

void SawVoiceBank::setCutoff(int v, float cutoffHz, float q) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    const double fc = std::clamp<double>(cutoffHz, 10.0, sampleRate_ * 0.45);
    const auto gg = static_cast<float>(std::tan(std::numbers::pi * fc / sampleRate_));
    const float k = 1.0f / std::max(q, 0.1f);
    g.a1[l] = 1.0f / (1.0f + gg * (gg + k));
    g.a2[l] = gg * g.a1[l];
    g.a3[l] = gg * g.a2[l];
}

void SawVoiceBank::start(int v, float freqHz, float cutoffHz, float q, float pan, float amp, const Envelope& env) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    if (g.stage[l] == kIdle) ++g.activeCount;
    setFrequency(v, freqHz);
    setCutoff(v, cutoffHz, q);
    g.phase[l] = 0.0f;
    g.ic1[l] = g.ic2[l] = 0.0f;
    g.env[l] = 0.0f;
    const PanGains pg = equalPowerPan(pan);
    g.gainL[l] = pg.left * amp;
    g.gainR[l] = pg.right * amp;
    // Attack: one pole toward 1.25 reaches 1 after attackS: coef^n = 0.2 (ln 0.2 / n).
    const double na = std::max(1.0, static_cast<double>(env.attackS) * sampleRate_);
    g.envCoef[l] = static_cast<float>(std::exp(std::log(1.0 - 1.0 / kAttackOvershoot) / na));
    g.envTarget[l] = kAttackOvershoot;
    g.decayCoef[l] = coefFor(env.decayS);
    g.releaseCoef[l] = coefFor(env.releaseS);
    g.sustain[l] = std::clamp(env.sustain, 0.0f, 1.0f);
    g.stage[l] = kAttack;
}

void SawVoiceBank::release(int v) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    if (g.stage[l] == kIdle || g.stage[l] == kRelease) return;
    g.stage[l] = kRelease;
    g.envTarget[l] = 0.0f;
    g.envCoef[l] = g.releaseCoef[l];
}

bool SawVoiceBank::active(int v) const {
    return groups_[static_cast<std::size_t>(v / kLanes)].stage[v % kLanes] != kIdle;
}
bool SawVoiceBank::released(int v) const {
    return groups_[static_cast<std::size_t>(v / kLanes)].stage[v % kLanes] == kRelease;
}
float SawVoiceBank::level(int v) const { return groups_[static_cast<std::size_t>(v / kLanes)].env[v % kLanes]; }

void SawVoiceBank::advanceStages(Group& g) {
    for (int l = 0; l < kLanes; ++l) {
        switch (g.stage[l]) {
            case kAttack:
                if (g.env[l] >= 1.0f) {
                    g.stage[l] = kDecay;
                    g.envTarget[l] = g.sustain[l];
                    g.envCoef[l] = g.decayCoef[l];
                }
                break;
            case kRelease:
                if (g.env[l] < 1e-4f) {
                    g.stage[l] = kIdle;
                    g.env[l] = 0.0f;
                    g.gainL[l] = g.gainR[l] = 0.0f;
                    --g.activeCount;
                }
                break;
            default: break;
        }
    }
}

namespace {
/// A vector of voices in the sample loop (one group, or two groups side by side in one AVX-512
/// register): saw -> TPT lowpass -> envelope, the same arithmetic per lane at either width.
template <class V>
struct Voices {
    V phase, inc, invInc, ic1, ic2, a1, a2, a3, env, tgt, coef;
    /// One sample: the enveloped filter output per lane.
    V step() {
        const V one = V{} + 1.0f;
        // PolyBLEP saw, branch-free: both residuals computed, the right one selected per lane.
        const V saw = simd::saw(phase, inc, invInc);
        phase += inc;
        phase = phase >= one ? phase - one : phase;
        // TPT state-variable lowpass (Simper).
        const V v3 = saw - ic2;
        const V v1 = a1 * ic1 + a2 * v3;
        const V v2 = ic2 + a2 * ic1 + a3 * v3;
        ic1 = v1 + v1 - ic1;
        ic2 = v2 + v2 - ic2;
        env = tgt + (env - tgt) * coef;
        env = env > one ? one : env;
        return v2 * env;
    }
};
inline v16 join(v8 lo, v8 hi) { return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
inline v8 low(v16 x) { return __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7); }
inline v8 high(v16 x) { return __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15); }
}  // namespace

// G groups in one loop: each group's filter is a serial recurrence (about 11 cycles per
// sample), so running several side by side fills the pipeline instead of waiting on one. With
// AVX-512, groups go two to a register (the voice arithmetic in half the instructions); their
// outputs are mixed group by group, in the same order as eight lanes at a time, so the
// samples are the same either way.
template <int G>
void SawVoiceBank::processGroups(Group* const* gs, void* accLv, void* accRv, int n) {
    v8* accL = static_cast<v8*>(accLv);
    v8* accR = static_cast<v8*>(accRv);
#if defined(__AVX512F__)
    constexpr int kPairs = G / 2;
#else
    constexpr int kPairs = 0;
#endif
    constexpr int kSingles = G - 2 * kPairs;
    Voices<v16> pair[kPairs > 0 ? kPairs : 1];
    Voices<v8> single[kSingles > 0 ? kSingles : 1];
    v8 gl[G], gr[G];
    const auto loadInto = [](auto& v, const Group& g, auto get) {
        v.phase = get(g.phase), v.inc = get(g.inc), v.invInc = get(g.invInc), v.ic1 = get(g.ic1), v.ic2 = get(g.ic2);
        v.a1 = get(g.a1), v.a2 = get(g.a2), v.a3 = get(g.a3), v.env = get(g.env), v.tgt = get(g.envTarget), v.coef = get(g.envCoef);
    };
    for (int p = 0; p < kPairs; ++p) {
        const Group &a = *gs[2 * p], &b = *gs[2 * p + 1];
        Voices<v8> lo, hi;
        loadInto(lo, a, [](const float* x) { return load(x); });
        loadInto(hi, b, [](const float* x) { return load(x); });
        pair[p] = {join(lo.phase, hi.phase), join(lo.inc, hi.inc), join(lo.invInc, hi.invInc), join(lo.ic1, hi.ic1), join(lo.ic2, hi.ic2),
                   join(lo.a1, hi.a1),       join(lo.a2, hi.a2),   join(lo.a3, hi.a3),         join(lo.env, hi.env), join(lo.tgt, hi.tgt),
                   join(lo.coef, hi.coef)};
    }
    for (int q = 0; q < kSingles; ++q) loadInto(single[q], *gs[2 * kPairs + q], [](const float* x) { return load(x); });
    for (int k = 0; k < G; ++k) gl[k] = load(gs[k]->gainL), gr[k] = load(gs[k]->gainR);
    for (int s = 0; s < n; ++s) {
        v8 sumL = splat(0.0f), sumR = splat(0.0f);
        for (int p = 0; p < kPairs; ++p) {
            const v16 y = pair[p].step();
            const v8 ya = low(y), yb = high(y);
            sumL += ya * gl[2 * p];
            sumR += ya * gr[2 * p];
            sumL += yb * gl[2 * p + 1];
            sumR += yb * gr[2 * p + 1];
        }
        for (int q = 0; q < kSingles; ++q) {
            const v8 y = single[q].step();
            sumL += y * gl[2 * kPairs + q];
            sumR += y * gr[2 * kPairs + q];
        }
        accL[s] += sumL;
        accR[s] += sumR;
    }
    const auto storeFrom = [](Group& g, v8 phase, v8 ic1, v8 ic2, v8 env) {
        store(g.phase, phase);
        store(g.ic1, ic1);
        store(g.ic2, ic2);
        store(g.env, env);
    };
    for (int p = 0; p < kPairs; ++p) {
        const Voices<v16>& v = pair[p];
        storeFrom(*gs[2 * p], low(v.phase), low(v.ic1), low(v.ic2), low(v.env));
        storeFrom(*gs[2 * p + 1], high(v.phase), high(v.ic1), high(v.ic2), high(v.env));
    }
    for (int q = 0; q < kSingles; ++q) {
        const Voices<v8>& v = single[q];
        storeFrom(*gs[2 * kPairs + q], v.phase, v.ic1, v.ic2, v.env);
    }
}

void SawVoiceBank::process(float* left, float* right, int frames) {
    int done = 0;
    while (done < frames) {
        const int n = std::min(kChunk, frames - done);
        // Lanes accumulate in vectors across all groups; one horizontal sum per output sample.
        v8 accL[kChunk], accR[kChunk];
        for (int s = 0; s < n; ++s) accL[s] = accR[s] = splat(0.0f);
        forActiveBatches(
            groups_.data(), groups_.size(), [](const Group& g) { return g.activeCount > 0; },
            [&](Group* const* batch, int count) {
                switch (count) {
                    case 4: processGroups<4>(batch, accL, accR, n); break;
                    case 3: processGroups<3>(batch, accL, accR, n); break;
                    case 2: processGroups<2>(batch, accL, accR, n); break;
                    default: processGroups<1>(batch, accL, accR, n); break;
                }
                for (int k = 0; k < count; ++k) advanceStages(*batch[k]);
            });
        addHsums(accL, left + done, n);
        addHsums(accR, right + done, n);
        done += n;
    }
}

}  // namespace soundstar::dsp

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

// G groups in one loop: each group's filter is a serial recurrence (about 11 cycles per
// sample), so running several side by side fills the pipeline instead of waiting on one.
template <int G>
void SawVoiceBank::processGroups(Group* const* gs, void* accLv, void* accRv, int n) {
    v8* accL = static_cast<v8*>(accLv);
    v8* accR = static_cast<v8*>(accRv);
    v8 phase[G], inc[G], invInc[G], ic1[G], ic2[G], a1[G], a2[G], a3[G], env[G], tgt[G], coef[G], gl[G], gr[G];
    for (int k = 0; k < G; ++k) {
        const Group& g = *gs[k];
        phase[k] = load(g.phase), inc[k] = load(g.inc), invInc[k] = load(g.invInc);
        ic1[k] = load(g.ic1), ic2[k] = load(g.ic2);
        a1[k] = load(g.a1), a2[k] = load(g.a2), a3[k] = load(g.a3);
        env[k] = load(g.env), tgt[k] = load(g.envTarget), coef[k] = load(g.envCoef);
        gl[k] = load(g.gainL), gr[k] = load(g.gainR);
    }
    const v8 one = splat(1.0f);
    for (int s = 0; s < n; ++s) {
        v8 sumL = splat(0.0f), sumR = splat(0.0f);
        for (int k = 0; k < G; ++k) {
            // PolyBLEP saw, branch-free: both residuals computed, the right one selected per lane.
            const v8 saw = simd::saw(phase[k], inc[k], invInc[k]);
            phase[k] += inc[k];
            phase[k] = phase[k] >= one ? phase[k] - one : phase[k];
            // TPT state-variable lowpass (Simper).
            const v8 v3 = saw - ic2[k];
            const v8 v1 = a1[k] * ic1[k] + a2[k] * v3;
            const v8 v2 = ic2[k] + a2[k] * ic1[k] + a3[k] * v3;
            ic1[k] = v1 + v1 - ic1[k];
            ic2[k] = v2 + v2 - ic2[k];
            env[k] = tgt[k] + (env[k] - tgt[k]) * coef[k];
            env[k] = env[k] > one ? one : env[k];
            const v8 y = v2 * env[k];
            sumL += y * gl[k];
            sumR += y * gr[k];
        }
        accL[s] += sumL;
        accR[s] += sumR;
    }
    for (int k = 0; k < G; ++k) {
        Group& g = *gs[k];
        store(g.phase, phase[k]);
        store(g.ic1, ic1[k]);
        store(g.ic2, ic2[k]);
        store(g.env, env[k]);
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

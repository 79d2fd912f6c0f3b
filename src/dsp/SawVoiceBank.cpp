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

void SawVoiceBank::processGroup(Group& g, void* accLv, void* accRv, int n) {
    v8* accL = static_cast<v8*>(accLv);
    v8* accR = static_cast<v8*>(accRv);
    v8 phase = load(g.phase), inc = load(g.inc), invInc = load(g.invInc);
    v8 ic1 = load(g.ic1), ic2 = load(g.ic2);
    const v8 a1 = load(g.a1), a2 = load(g.a2), a3 = load(g.a3);
    v8 env = load(g.env);
    const v8 tgt = load(g.envTarget), coef = load(g.envCoef), gl = load(g.gainL), gr = load(g.gainR);
    const v8 one = splat(1.0f);
    for (int s = 0; s < n; ++s) {
        // PolyBLEP saw, branch-free: both residuals computed, the right one selected per lane.
        const v8 saw = simd::saw(phase, inc, invInc);
        phase += inc;
        phase = phase >= one ? phase - one : phase;
        // TPT state-variable lowpass (Simper).
        const v8 v3 = saw - ic2;
        const v8 v1 = a1 * ic1 + a2 * v3;
        const v8 v2 = ic2 + a2 * ic1 + a3 * v3;
        ic1 = v1 + v1 - ic1;
        ic2 = v2 + v2 - ic2;
        env = tgt + (env - tgt) * coef;
        env = env > one ? one : env;
        const v8 y = v2 * env;
        accL[s] += y * gl;
        accR[s] += y * gr;
    }
    store(g.phase, phase);
    store(g.ic1, ic1);
    store(g.ic2, ic2);
    store(g.env, env);
}

void SawVoiceBank::process(float* left, float* right, int frames) {
    int done = 0;
    while (done < frames) {
        const int n = std::min(kChunk, frames - done);
        // Lanes accumulate in vectors across all groups; one horizontal sum per output sample.
        v8 accL[kChunk], accR[kChunk];
        for (int s = 0; s < n; ++s) accL[s] = accR[s] = splat(0.0f);
        for (auto& g : groups_) {
            if (g.activeCount == 0) continue;
            processGroup(g, accL, accR, n);
            advanceStages(g);
        }
        for (int s = 0; s < n; ++s) {
            left[done + s] += hsum(accL[s]);
            right[done + s] += hsum(accR[s]);
        }
        done += n;
    }
}

}  // namespace soundstar::dsp

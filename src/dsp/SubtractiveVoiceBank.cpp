#include "dsp/SubtractiveVoiceBank.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/FastMath.h"
#include "dsp/Simd.h"

namespace soundstar::dsp {
namespace {
using namespace simd;
constexpr float kAttackOvershoot = 1.25f;

inline v8 square(v8 t, v8 dt, v8 invDt, float width) {
    const v8 one = splat(1.0f), w = splat(width);
    v8 t2 = t + (one - w);
    t2 = t2 >= one ? t2 - one : t2;
    const v8 naive = t < w ? one : -one;
    return naive + polyBlep(t, dt, invDt) - polyBlep(t2, dt, invDt);
}

/// One oscillator sample for all lanes; `tri` carries the triangle's integrator.
inline v8 osc(Waveform w, v8 t, v8 dt, float width, v8& tri) {
    const v8 invDt = splat(1.0f) / dt;
    switch (w) {
        case Waveform::Saw: return simd::saw(t, dt, invDt);
        case Waveform::Square: return square(t, dt, invDt, 0.5f);
        case Waveform::Pulse: return square(t, dt, invDt, width);
        case Waveform::Triangle:
            tri = splat(4.0f) * dt * square(t, dt, invDt, 0.5f) + tri * splat(0.9995f);
            return tri;
        case Waveform::Sine: {
            v8 y;
            for (int l = 0; l < 8; ++l) y[l] = sinCyclesPoly(t[l]);
            return y;
        }
    }
    return t;
}

inline v8 saturate(v8 x) {
    const v8 lim = splat(3.0f);
    x = x > lim ? lim : x;
    x = x < -lim ? -lim : x;
    const v8 x2 = x * x;
    return x * (splat(27.0f) + x2) / (splat(27.0f) + splat(9.0f) * x2);
}
}  // namespace

void SubtractiveVoiceBank::prepare(double sampleRate, int maxVoices) {
    sampleRate_ = sampleRate;
    groups_.assign(static_cast<std::size_t>((std::max(maxVoices, 1) + kLanes - 1) / kLanes), Group{});
    reset();
}

void SubtractiveVoiceBank::reset() {
    for (auto& g : groups_) {
        g = Group{};
        for (int l = 0; l < kLanes; ++l) {
            g.amp.stage[l] = g.filt.stage[l] = kIdle;
            g.inc1[l] = g.inc2[l] = 0.01f;
        }
        g.activeCount = 0;
    }
}

void SubtractiveVoiceBank::setPatch(const Patch& p) { patch_ = p; }

float SubtractiveVoiceBank::coefFor(float seconds) const {
    const double n = std::max(1.0, static_cast<double>(seconds) * sampleRate_);
    return static_cast<float>(std::exp(std::log(1e-4) / n));  // -80 dB in `seconds`
}

void SubtractiveVoiceBank::startEnv(Env& e, int l, const Segments& s) const {
    const double na = std::max(1.0, static_cast<double>(s.attackS) * sampleRate_);
    e.coef[l] = static_cast<float>(std::exp(std::log(1.0 - 1.0 / kAttackOvershoot) / na));
    e.target[l] = kAttackOvershoot;
    e.decayCoef[l] = coefFor(s.decayS);
    e.releaseCoef[l] = coefFor(s.releaseS);
    e.sustain[l] = std::clamp(s.sustain, 0.0f, 1.0f);
    e.stage[l] = kAttack;
}

void SubtractiveVoiceBank::start(int v, float note, float velocity) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    if (g.amp.stage[l] == kIdle) {
        ++g.activeCount;
        g.ph1[l] = 0.0f;
        g.ph2[l] = 0.37f;
        g.tri1[l] = g.tri2[l] = 0.0f;
        g.s1[l] = g.s2[l] = g.s3[l] = g.s4[l] = 0.0f;
        g.amp.level[l] = g.filt.level[l] = 0.0f;
    }
    const auto hz = static_cast<float>(440.0 * std::exp2((note - 69.0) / 12.0));
    const auto fs = static_cast<float>(sampleRate_);
    g.inc1[l] = std::clamp(hz / fs, 1e-6f, 0.45f);
    g.inc2[l] = std::clamp(hz * std::exp2(patch_.detuneCents / 1200.0f) / fs, 1e-6f, 0.45f);
    g.keyOct[l] = (note - 60.0f) / 12.0f;
    g.vel[l] = velocity;
    startEnv(g.amp, l, patch_.amp);
    startEnv(g.filt, l, patch_.filter);
}

void SubtractiveVoiceBank::release(int v) {
    Group& g = groups_[static_cast<std::size_t>(v / kLanes)];
    const int l = v % kLanes;
    for (Env* e : {&g.amp, &g.filt}) {
        if (e->stage[l] == kIdle || e->stage[l] == kRelease) continue;
        e->stage[l] = kRelease;
        e->target[l] = 0.0f;
        e->coef[l] = e->releaseCoef[l];
    }
}

bool SubtractiveVoiceBank::active(int v) const {
    return groups_[static_cast<std::size_t>(v / kLanes)].amp.stage[v % kLanes] != kIdle;
}
bool SubtractiveVoiceBank::released(int v) const {
    return groups_[static_cast<std::size_t>(v / kLanes)].amp.stage[v % kLanes] == kRelease;
}
float SubtractiveVoiceBank::level(int v) const {
    return groups_[static_cast<std::size_t>(v / kLanes)].amp.level[v % kLanes];
}

void SubtractiveVoiceBank::advance(Env& e, int l, bool isAmp, Group& g) {
    switch (e.stage[l]) {
        case kAttack:
            if (e.level[l] >= 1.0f) {
                e.stage[l] = kDecay;
                e.target[l] = e.sustain[l];
                e.coef[l] = e.decayCoef[l];
            }
            break;
        case kRelease:
            if (e.level[l] < 1e-4f) {
                e.stage[l] = kIdle;
                e.level[l] = 0.0f;
                if (isAmp) {
                    --g.activeCount;
                    g.filt.stage[l] = kIdle;
                }
            }
            break;
        default: break;
    }
}

void SubtractiveVoiceBank::processGroup(Group& g, float* out, int n) {
    const Patch& p = patch_;
    const auto fs = static_cast<float>(sampleRate_);
    // Per-lane ladder coefficients for this chunk from cutoff, key tracking and filter envelope.
    float G[kLanes], norm[kLanes];
    const float k = 4.0f * std::clamp(p.resonance, 0.0f, 1.0f) * 0.98f;
    const float baseOct = std::log2(std::max(p.cutoffHz, 20.0f));
    for (int l = 0; l < kLanes; ++l) {
        const float oct = baseOct + p.keyTrack * g.keyOct[l] + p.filterEnvOctaves * g.filt.level[l];
        const float fc = std::clamp(fastExp2(oct), 5.0f, fs * 0.45f);
        const float t = std::tan(std::numbers::pi_v<float> * fc / fs);
        G[l] = t / (1.0f + t);
        const float g4 = G[l] * G[l] * G[l] * G[l];
        norm[l] = 1.0f / (1.0f + k * g4);
    }
    const v8 vG = load(G), vNorm = load(norm), one = splat(1.0f), vk = splat(k);
    const v8 oneMinusG = one - vG, c4 = oneMinusG, c3 = vG * oneMinusG, c2 = vG * c3, c1 = vG * c2;
    v8 ph1 = load(g.ph1), ph2 = load(g.ph2), tri1 = load(g.tri1), tri2 = load(g.tri2);
    const v8 inc1 = load(g.inc1), inc2 = load(g.inc2);
    v8 s1 = load(g.s1), s2 = load(g.s2), s3 = load(g.s3), s4 = load(g.s4);
    v8 aEnv = load(g.amp.level), fEnv = load(g.filt.level);
    const v8 aT = load(g.amp.target), aC = load(g.amp.coef), fT = load(g.filt.target), fC = load(g.filt.coef);
    const v8 gain = load(g.vel) * splat(p.gain), mix2 = splat(p.mix2), half = splat(0.5f);
    const bool two = p.mix2 > 0.0f;
    for (int s = 0; s < n; ++s) {
        v8 x = osc(p.wave1, ph1, inc1, p.pulseWidth, tri1);
        if (two) x += mix2 * osc(p.wave2, ph2, inc2, p.pulseWidth, tri2);
        ph1 += inc1;
        ph1 = ph1 >= one ? ph1 - one : ph1;
        ph2 += inc2;
        ph2 = ph2 >= one ? ph2 - one : ph2;
        // Zero-delay-feedback ladder: solve the loop linearly, then run the four stages.
        const v8 sigma = c1 * s1 + c2 * s2 + c3 * s3 + c4 * s4;
        const v8 u = saturate((x * half - vk * sigma) * vNorm);
        v8 v = (u - s1) * vG;
        const v8 y1 = v + s1;
        s1 = y1 + v;
        v = (y1 - s2) * vG;
        const v8 y2 = v + s2;
        s2 = y2 + v;
        v = (y2 - s3) * vG;
        const v8 y3 = v + s3;
        s3 = y3 + v;
        v = (y3 - s4) * vG;
        const v8 y4 = v + s4;
        s4 = y4 + v;
        v8 y;
        switch (p.mode) {
            case FilterMode::LowPass: y = y4; break;
            case FilterMode::HighPass: y = u - splat(4.0f) * y1 + splat(6.0f) * y2 - splat(4.0f) * y3 + y4; break;
            case FilterMode::BandPass: y = splat(4.0f) * y2 - splat(8.0f) * y3 + splat(4.0f) * y4; break;
            default: y = u - splat(2.0f) * y1 + splat(2.0f) * y2; break;
        }
        aEnv = aT + (aEnv - aT) * aC;
        aEnv = aEnv > one ? one : aEnv;
        fEnv = fT + (fEnv - fT) * fC;
        fEnv = fEnv > one ? one : fEnv;
        const v8 o = y * aEnv * gain;
        out[s] += (o[0] + o[1]) + (o[2] + o[3]) + ((o[4] + o[5]) + (o[6] + o[7]));
    }
    store(g.ph1, ph1);
    store(g.ph2, ph2);
    store(g.tri1, tri1);
    store(g.tri2, tri2);
    store(g.s1, s1);
    store(g.s2, s2);
    store(g.s3, s3);
    store(g.s4, s4);
    store(g.amp.level, aEnv);
    store(g.filt.level, fEnv);
}

void SubtractiveVoiceBank::process(float* out, int frames) {
    for (int done = 0; done < frames; done += kChunk) {
        const int n = std::min(kChunk, frames - done);
        for (auto& g : groups_) {
            if (g.activeCount == 0) continue;
            processGroup(g, out + done, n);
            for (int l = 0; l < kLanes; ++l) {
                advance(g.filt, l, false, g);
                advance(g.amp, l, true, g);
            }
        }
    }
}

}  // namespace soundstar::dsp

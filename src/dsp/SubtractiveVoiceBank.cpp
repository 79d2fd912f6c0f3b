#include "dsp/SubtractiveVoiceBank.h"

#include <algorithm>
#include <cmath>
#include <numbers>

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

/// tan(x) for x in [0, 1.42] (up to 0.45 * pi): the [7/6] Pade approximant.
inline v8 tanPade(v8 x) {
    const v8 x2 = x * x;
    const v8 num = x * (splat(135135.0f) - x2 * (splat(17325.0f) - x2 * (splat(378.0f) - x2)));
    const v8 den = splat(135135.0f) - x2 * (splat(62370.0f) - x2 * (splat(3150.0f) - x2 * splat(28.0f)));
    return num / den;
}

/// The waveform of one oscillator without the triangle's integrator: for a triangle, the square
/// that the integrator takes in; otherwise the oscillator's output.
inline v8 oscWave(Waveform w, v8 t, v8 dt, float width) {
    const v8 invDt = splat(1.0f) / dt;
    switch (w) {
        case Waveform::Saw: return simd::saw(t, dt, invDt);
        case Waveform::Square:
        case Waveform::Triangle: return square(t, dt, invDt, 0.5f);
        case Waveform::Pulse: return square(t, dt, invDt, width);
        case Waveform::Sine: return simd::sinCycles(t);
    }
    return t;
}

/// One oscillator sample for all lanes; `tri` carries the triangle's integrator.
inline v8 osc(Waveform w, v8 t, v8 dt, float width, v8& tri) {
    const v8 wave = oscWave(w, t, dt, width);
    if (w != Waveform::Triangle) return wave;
    tri = splat(4.0f) * dt * wave + tri * splat(0.9995f);
    return tri;
}

/// tanh's [3/2] Pade form, x (27 + x^2) / (27 + 9 x^2), held at +-1 beyond +-3 (where it
/// reaches exactly 1: 3 * 36 / 108). The hold is chosen after the division rather than by
/// clamping x before it, which takes two dependent operations off the ladder's feedback chain;
/// within +-3 the arithmetic, and so every bit, is the clamped form's.
inline v8 saturate(v8 x) {
    const v8 x2 = x * x;
    const v8 y = x * (splat(27.0f) + x2) / (splat(27.0f) + splat(9.0f) * x2);
    const v8 held = x > splat(0.0f) ? splat(1.0f) : splat(-1.0f);
    return abs(x) > splat(3.0f) ? held : y;
}
/// A group's ladder coefficients for a chunk, from cutoff, key tracking and filter envelope,
/// all eight lanes at once (tan by its [7/6] Pade form: 4e-9 relative error up to the 0.45 * fs
/// clamp).
struct LadderCoeffs {
    v8 g, c1, c2, c3, c4, inNorm, fbNorm;
};
LadderCoeffs ladderCoeffs(const SubtractiveVoiceBank::Patch& p, float baseOct, float fs, const float* keyOct, const float* filterLevel) {
    const float k = 4.0f * std::clamp(p.resonance, 0.0f, 1.0f) * 0.98f;
    const v8 one = splat(1.0f);
    const v8 oct = splat(baseOct) + splat(p.keyTrack) * load(keyOct) + splat(p.filterEnvOctaves) * load(filterLevel);
    const v8 fc = min(max(simd::exp2(min(oct, splat(126.0f))), splat(5.0f)), splat(fs * 0.45f));
    const v8 t = tanPade(fc * splat(std::numbers::pi_v<float> / fs));
    LadderCoeffs c;
    c.g = t / (one + t);
    const v8 g2 = c.g * c.g;
    const v8 nv = one / (one + splat(k) * g2 * g2), oneMinusG = one - c.g;
    c.c4 = oneMinusG;
    c.c3 = c.g * oneMinusG;
    c.c2 = c.g * c.c3;
    c.c1 = c.g * c.c2;
    c.inNorm = splat(0.5f) * nv;  // x * 0.5 * norm
    c.fbNorm = splat(k) * nv;     // k * norm
    return c;
}

/// The one-group form's weights: with g = G and c = 1 - g, the stages' state parts
/// P_k = c sum_{j<=k} g^(k-j) s_j, and the next loop sum's part from the states,
/// B = sum_k c_k (2 P_k - s_k) = sum_j w_j s_j, as weights on the states themselves; the next
/// sample's loop sum is 2K u + B, its feedback term carried as fbNorm B and (fbNorm 2K) u.
struct OneGroupWeights {
    v8 g1, gPow2, gPow3, gPow4, cc, l1, l2, l3, w1, w2, w3, w4, fbK;
};
OneGroupWeights oneGroupWeights(const LadderCoeffs& c) {
    const v8 one = splat(1.0f), two = splat(2.0f);
    OneGroupWeights w;
    w.g1 = c.g, w.gPow2 = w.g1 * w.g1, w.gPow3 = w.gPow2 * w.g1, w.gPow4 = w.gPow2 * w.gPow2, w.cc = c.c4;
    w.l1 = w.cc * w.g1, w.l2 = w.cc * w.gPow2, w.l3 = w.cc * w.gPow3;  // c g^d: the weight d stages back
    w.w1 = w.l3 * (splat(8.0f) * w.cc - one), w.w2 = w.l2 * (splat(6.0f) * w.cc - one), w.w3 = w.l1 * (splat(4.0f) * w.cc - one),
    w.w4 = w.cc * (two * w.cc - one);
    const v8 twoK = splat(8.0f) * w.cc * w.gPow4;
    w.fbK = c.fbNorm * twoK;
    return w;
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

void SubtractiveVoiceBank::setPatch(const Patch& p) {
    patch_ = p;
    baseOct_ = std::log2(std::max(p.cutoffHz, 20.0f));  // once, not every chunk
}

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

// G groups in one loop, so their filter recurrences overlap in the pipeline. The ladder's stages
// are written as y = G * in + (1 - G) * s (one fused multiply-add after the input arrives) and
// the loop's gain normalisation is folded into the input: the same filter as dsp::Ladder with a
// shorter chain of dependent operations per sample.
template <int G>
void SubtractiveVoiceBank::processGroups(Group* const* gs, float* out, int n) {
    const Patch& p = patch_;
    const auto fs = static_cast<float>(sampleRate_);
    const v8 one = splat(1.0f), two = splat(2.0f), mix2 = splat(p.mix2);
    const bool twoOsc = p.mix2 > 0.0f;
    v8 vG[G], c1[G], c2[G], c3[G], c4[G], inNorm[G], fbNorm[G];
    v8 ph1[G], ph2[G], tri1[G], tri2[G], inc1[G], inc2[G], s1[G], s2[G], s3[G], s4[G];
    v8 aEnv[G], fEnv[G], aT[G], aC[G], fT[G], fC[G], gain[G];
    for (int q = 0; q < G; ++q) {
        Group& g = *gs[q];
        const LadderCoeffs c = ladderCoeffs(p, baseOct_, fs, g.keyOct, g.filt.level);
        vG[q] = c.g, c1[q] = c.c1, c2[q] = c.c2, c3[q] = c.c3, c4[q] = c.c4, inNorm[q] = c.inNorm, fbNorm[q] = c.fbNorm;
        ph1[q] = load(g.ph1), ph2[q] = load(g.ph2), tri1[q] = load(g.tri1), tri2[q] = load(g.tri2);
        inc1[q] = load(g.inc1), inc2[q] = load(g.inc2);
        s1[q] = load(g.s1), s2[q] = load(g.s2), s3[q] = load(g.s3), s4[q] = load(g.s4);
        aEnv[q] = load(g.amp.level), fEnv[q] = load(g.filt.level);
        aT[q] = load(g.amp.target), aC[q] = load(g.amp.coef), fT[q] = load(g.filt.target), fC[q] = load(g.filt.coef);
        gain[q] = load(g.vel) * splat(p.gain);
    }
    // The one-group form (used only when G == 1).
    const OneGroupWeights w = oneGroupWeights({vG[0], c1[0], c2[0], c3[0], c4[0], inNorm[0], fbNorm[0]});
    const v8 g1 = w.g1, gPow2 = w.gPow2, gPow3 = w.gPow3, gPow4 = w.gPow4, cc = w.cc, l1 = w.l1, l2 = w.l2, l3 = w.l3;
    const v8 w1 = w.w1, w2 = w.w2, w3 = w.w3, w4 = w.w4, fbK = w.fbK;
    // The first sample's loop sum comes from the states (u taken as 0).
    v8 bLast = c1[0] * s1[0] + c2[0] * s2[0] + c3[0] * s3[0] + c4[0] * s4[0], uLast = splat(0.0f);
    // A lone group with one or two voices sounding: their oscillators along time.
    v8 xs[kChunk];
    bool alongTime = false;
    if constexpr (G == 1) alongTime = oscillatorsAlongTime(*gs[0], tri1[0], tri2[0], xs, n);
    v8 sums[kChunk];
    for (int s = 0; s < n; ++s) {
        v8 sum = splat(0.0f);
#pragma GCC unroll 4
        for (int q = 0; q < G; ++q) {
            v8 x;
            if (alongTime) {
                x = xs[s];
            } else {
                x = osc(p.wave1, ph1[q], inc1[q], p.pulseWidth, tri1[q]);
                if (twoOsc) x += mix2 * osc(p.wave2, ph2[q], inc2[q], p.pulseWidth, tri2[q]);
            }
            ph1[q] += inc1[q];
            ph1[q] = ph1[q] >= one ? ph1[q] - one : ph1[q];
            ph2[q] += inc2[q];
            ph2[q] = ph2[q] >= one ? ph2[q] - one : ph2[q];
            v8 y1, y2, y3, y4, u;
            if constexpr (G == 1) {
                // One group (a monophonic bass): nothing else to overlap with, so the recursion's
                // latency is what costs. Every stage is linear in u, y_k = g^k u + P_k, and the
                // states, the next loop sum's part B and the P_k are each a sum of weighted
                // states worked out as a tree, not stage after stage: from one u to the next
                // stand one fused multiply-add and the saturation, and from u through the
                // states to the u after next, four more and B's tree. The same filter as below
                // up to rounding.
                const v8 p1 = cc * s1[q];
                const v8 p2 = l1 * s1[q] + cc * s2[q];
                const v8 p3 = (l2 * s1[q] + l1 * s2[q]) + cc * s3[q];
                const v8 p4 = (l3 * s1[q] + l2 * s2[q]) + (l1 * s3[q] + cc * s4[q]);
                const v8 b = (w1 * s1[q] + w2 * s2[q]) + (w3 * s3[q] + w4 * s4[q]);
                u = saturate(x * inNorm[q] - fbNorm[q] * bLast - fbK * uLast);
                bLast = b;
                uLast = u;
                y1 = g1 * u + p1;
                y2 = gPow2 * u + p2;
                y3 = gPow3 * u + p3;
                y4 = gPow4 * u + p4;
                s1[q] = two * y1 - s1[q];
                s2[q] = two * y2 - s2[q];
                s3[q] = two * y3 - s3[q];
                s4[q] = two * y4 - s4[q];
            } else {
                // Zero-delay-feedback ladder: solve the loop linearly, then run the four stages.
                const v8 sigma = c1[q] * s1[q] + c2[q] * s2[q] + c3[q] * s3[q] + c4[q] * s4[q];
                u = saturate(x * inNorm[q] - fbNorm[q] * sigma);
                y1 = vG[q] * u + c4[q] * s1[q];
                y2 = vG[q] * y1 + c4[q] * s2[q];
                y3 = vG[q] * y2 + c4[q] * s3[q];
                y4 = vG[q] * y3 + c4[q] * s4[q];
                s1[q] = two * y1 - s1[q];
                s2[q] = two * y2 - s2[q];
                s3[q] = two * y3 - s3[q];
                s4[q] = two * y4 - s4[q];
            }
            v8 y;
            switch (p.mode) {
                case FilterMode::LowPass: y = y4; break;
                case FilterMode::HighPass: y = u - splat(4.0f) * y1 + splat(6.0f) * y2 - splat(4.0f) * y3 + y4; break;
                case FilterMode::BandPass: y = splat(4.0f) * y2 - splat(8.0f) * y3 + splat(4.0f) * y4; break;
                default: y = u - splat(2.0f) * y1 + splat(2.0f) * y2; break;
            }
            aEnv[q] = aT[q] + (aEnv[q] - aT[q]) * aC[q];
            aEnv[q] = aEnv[q] > one ? one : aEnv[q];
            fEnv[q] = fT[q] + (fEnv[q] - fT[q]) * fC[q];
            fEnv[q] = fEnv[q] > one ? one : fEnv[q];
            sum += y * aEnv[q] * gain[q];
        }
        sums[s] = sum;
    }
    addHsums(sums, out, n);
    for (int q = 0; q < G; ++q) {
        Group& g = *gs[q];
        store(g.ph1, ph1[q]);
        store(g.ph2, ph2[q]);
        store(g.tri1, tri1[q]);
        store(g.tri2, tri2[q]);
        store(g.s1, s1[q]);
        store(g.s2, s2[q]);
        store(g.s3, s3[q]);
        store(g.s4, s4[q]);
        store(g.amp.level, aEnv[q]);
        store(g.filt.level, fEnv[q]);
    }
}

// A lone group with one or two voices sounding (a monophonic bass, or its note and the one
// before it in release): the eight-lane loop would work out eight oscillators a sample of which
// six or seven are idle. Here each sounding voice's phases are stepped as that loop steps them,
// its waveforms worked out eight samples a vector along time and the triangle's integrator run
// sample by sample; xs[s] then holds each voice's input in its own lane (the first voice's in the
// idle lanes, which are silent). The operations per voice are the loop's, written as the same
// expressions so the compiler fuses the same multiply-adds (tested bit for bit with the compiler
// that builds it); the ladder and envelopes stay in the loop.
bool SubtractiveVoiceBank::oscillatorsAlongTime(const Group& g, simd::v8& tri1, simd::v8& tri2, simd::v8* xs, int n) {
    static_assert(kChunk % 8 == 0, "the waveforms are worked out eight samples at a time up to kChunk");
    if (eightLanesAlways_ || g.activeCount > 2) return false;
    int lanes[2], sounding = 0;
    for (int l = 0; l < kLanes && sounding < 2; ++l)
        if (g.amp.stage[l] != kIdle) lanes[sounding++] = l;
    if (sounding == 0) return false;
    const Patch& p = patch_;
    const bool twoOsc = p.mix2 > 0.0f;
    const auto integrate = [n](Waveform wf, float* wave, float dt, float tri) {
        if (wf != Waveform::Triangle) return tri;
        const float in = 4.0f * dt;
        for (int s = 0; s < n; ++s) wave[s] = tri = in * wave[s] + tri * 0.9995f;
        return tri;
    };
    alignas(32) float x[2][kChunk];
    for (int j = 0; j < sounding; ++j) {
        const int l = lanes[j];
        alignas(32) float t1[kChunk] = {}, t2[kChunk] = {}, w1[kChunk], w2[kChunk];
        float ph1 = g.ph1[l], ph2 = g.ph2[l];
        const float inc1 = g.inc1[l], inc2 = g.inc2[l];
        for (int s = 0; s < n; ++s) {
            t1[s] = ph1, t2[s] = ph2;
            ph1 += inc1;
            ph1 = ph1 >= 1.0f ? ph1 - 1.0f : ph1;
            ph2 += inc2;
            ph2 = ph2 >= 1.0f ? ph2 - 1.0f : ph2;
        }
        for (int s = 0; s < n; s += 8) {
            store(w1 + s, oscWave(p.wave1, load(t1 + s), splat(inc1), p.pulseWidth));
            if (twoOsc) store(w2 + s, oscWave(p.wave2, load(t2 + s), splat(inc2), p.pulseWidth));
        }
        tri1[l] = integrate(p.wave1, w1, inc1, tri1[l]);
        if (twoOsc) tri2[l] = integrate(p.wave2, w2, inc2, tri2[l]);
        for (int s = 0; s < n; s += 8) store(x[j] + s, twoOsc ? load(w1 + s) + splat(p.mix2) * load(w2 + s) : load(w1 + s));
    }
    for (int s = 0; s < n; ++s) {
        xs[s] = splat(x[0][s]);
        if (sounding == 2) xs[s][lanes[1]] = x[1][s];
    }
    ++alongTimeChunks_;
    return true;
}

void SubtractiveVoiceBank::process(float* out, int frames) {
    for (int done = 0; done < frames; done += kChunk) {
        const int n = std::min(kChunk, frames - done);
        forActiveBatches(
            groups_.data(), groups_.size(), [](const Group& g) { return g.activeCount > 0; },
            [&](Group* const* batch, int count) {
                switch (count) {
                    case 4: processGroups<4>(batch, out + done, n); break;
                    case 3: processGroups<3>(batch, out + done, n); break;
                    case 2: processGroups<2>(batch, out + done, n); break;
                    default: processGroups<1>(batch, out + done, n); break;
                }
                for (int q = 0; q < count; ++q)
                    for (int l = 0; l < kLanes; ++l) {
                        advance(batch[q]->filt, l, false, *batch[q]);
                        advance(batch[q]->amp, l, true, *batch[q]);
                    }
            });
    }
}

}  // namespace soundstar::dsp

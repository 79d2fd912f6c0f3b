#pragma once
// Eight-lane float vectors (GCC vector extensions; one AVX register, two SSE registers without
// AVX) and the branch-free helpers the SIMD voice banks share [rt].
#include <bit>
#include <cstddef>
#include <cstring>

namespace soundstar::dsp::simd {

using v8 = float __attribute__((vector_size(32)));

inline v8 load(const float* p) {
    v8 r;
    std::memcpy(&r, p, sizeof r);
    return r;
}
inline void store(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }
inline float hsum(v8 v) { return (v[0] + v[1]) + (v[2] + v[3]) + ((v[4] + v[5]) + (v[6] + v[7])); }

/// hsum of eight vectors at once, lane i = hsum(a[i]) bit for bit (the same pairs added in the
/// same order), by a transpose-and-add tree: 7 vector adds instead of 56 scalar ones.
inline v8 hsum8(const v8* a) {
    const auto pairs = [](v8 x, v8 y) {
        return __builtin_shufflevector(x, y, 0, 8, 2, 10, 4, 12, 6, 14) + __builtin_shufflevector(x, y, 1, 9, 3, 11, 5, 13, 7, 15);
    };
    const auto quads = [](v8 x, v8 y) {
        return __builtin_shufflevector(x, y, 0, 1, 8, 9, 4, 5, 12, 13) + __builtin_shufflevector(x, y, 2, 3, 10, 11, 6, 7, 14, 15);
    };
    const v8 lo = quads(pairs(a[0], a[1]), pairs(a[2], a[3])), hi = quads(pairs(a[4], a[5]), pairs(a[6], a[7]));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11) + __builtin_shufflevector(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15);
}

/// out[s] = hsum(a[s]) for s in [0, n): eight at a time through hsum8.
inline void storeHsums(const v8* a, float* out, int n) {
    int s = 0;
    for (; s + 8 <= n; s += 8) store(out + s, hsum8(a + s));
    for (; s < n; ++s) out[s] = hsum(a[s]);
}

/// out[s] += hsum(a[s]) for s in [0, n): eight at a time through hsum8.
inline void addHsums(const v8* a, float* out, int n) {
    int s = 0;
    for (; s + 8 <= n; s += 8) store(out + s, load(out + s) + hsum8(a + s));
    for (; s < n; ++s) out[s] += hsum(a[s]);
}

using i8 = int __attribute__((vector_size(32)));

inline i8 splatInt(int x) { return i8{x, x, x, x, x, x, x, x}; }
inline i8 iotaInt() { return i8{0, 1, 2, 3, 4, 5, 6, 7}; }

/// floor per lane for |x| < 2^31.
inline v8 floor(v8 x) {
    const v8 t = __builtin_convertvector(__builtin_convertvector(x, i8), v8);  // toward zero
    return t > x ? t - splat(1.0f) : t;
}

/// Eight doubles (one AVX-512 register, two AVX registers) for phases that must stay exact.
using v8d = double __attribute__((vector_size(64)));
inline v8d splatd(double x) { return v8d{x, x, x, x, x, x, x, x}; }
/// floor per lane for |x| < 2^31.
inline v8d floor(v8d x) {
    const v8d t = __builtin_convertvector(__builtin_convertvector(x, i8), v8d);
    return t > x ? t - splatd(1.0) : t;
}

inline v8 max(v8 a, v8 b) { return a > b ? a : b; }
inline v8 min(v8 a, v8 b) { return a < b ? a : b; }
inline v8 abs(v8 x) { return x < splat(0.0f) ? -x : x; }

/// dsp::fastLog2 per lane (x > 0, normal): exponent bits plus the same quartic on the mantissa.
inline v8 log2(v8 x) {
    const i8 bits = std::bit_cast<i8>(x);
    const i8 e = ((bits >> 23) & 0xFF) - 127;
    const i8 mbits = (bits & 0x007FFFFF) | 0x3F800000;
    const v8 t = std::bit_cast<v8>(mbits) - splat(1.0f);
    return __builtin_convertvector(e, v8) +
           t * (splat(1.4385454f) + t * (splat(-0.6780715f) + t * (splat(0.3236105f) + t * splat(-0.0842731f))));
}

/// dsp::fastExp2 per lane for x in [-126, 127] (callers clamp).
inline v8 exp2(v8 x) {
    const v8 fl = floor(x), f = x - fl;
    const v8 p = splat(1.0f) + f * (splat(0.6930186f) + f * (splat(0.2414053f) + f * (splat(0.0520730f) + f * splat(0.0134941f))));
    const i8 scale = (__builtin_convertvector(fl, i8) + 127) << 23;
    return p * std::bit_cast<v8>(scale);
}

/// Sixteen lanes: one AVX-512 register (two AVX registers without it).
using v16 = float __attribute__((vector_size(64)));

/// sin(2*pi*x) per lane: the same folding and polynomial as dsp::sinCyclesPoly.
inline v8 sinCycles(v8 x) {
    v8 r = x - floor(x + splat(0.5f));  // [-0.5, 0.5)
    r = r > splat(0.25f) ? splat(0.5f) - r : r;
    r = r < splat(-0.25f) ? splat(-0.5f) - r : r;
    const v8 t = r * splat(6.2831853f), t2 = t * t;
    return t * (splat(1.0f) +
                t2 * (splat(-1.6666667e-1f) +
                      t2 * (splat(8.3333333e-3f) +
                            t2 * (splat(-1.9841270e-4f) + t2 * (splat(2.7557319e-6f) + t2 * splat(-2.5052108e-8f))))));
}

/// Calls run(batch, count) for the active groups in batches of up to four (count 1..4), so a
/// voice bank can process several groups' recurrences in one loop [rt].
template <typename Group, typename Active, typename Run>
void forActiveBatches(Group* groups, std::size_t size, Active&& active, Run&& run) {
    Group* batch[4];
    int count = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (!active(groups[i])) continue;
        batch[count++] = &groups[i];
        if (count == 4) {
            run(batch, count);
            count = 0;
        }
    }
    if (count > 0) run(batch, count);
}

/// PolyBLEP step residual per lane for phase t (cycles) with increment dt and 1/dt; for eight
/// lanes (v8) or sixteen (one AVX-512 register), the same arithmetic per lane.
template <class V>
inline V polyBlep(V t, V dt, V invDt) {
    const V one = V{} + 1.0f, zero = V{};
    const V x1 = t * invDt, x2 = (t - one) * invDt;
    const V c1 = x1 + x1 - x1 * x1 - one, c2 = x2 * x2 + x2 + x2 + one;
    return t < dt ? c1 : (t > one - dt ? c2 : zero);
}

/// Band-limited saw in [-1, 1] per lane.
template <class V>
inline V saw(V t, V dt, V invDt) {
    return t * (V{} + 2.0f) - (V{} + 1.0f) - polyBlep(t, dt, invDt);
}

/// 8x8 transpose in registers: rows r[i][j] become columns c[j][i] (three rounds of shuffles).
inline void transpose8(const v8 (&r)[8], v8 (&c)[8]) {
    v8 t[8], u[8];
    for (int k = 0; k < 4; ++k) {
        t[2 * k] = __builtin_shufflevector(r[2 * k], r[2 * k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[2 * k + 1] = __builtin_shufflevector(r[2 * k], r[2 * k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int k = 0; k < 2; ++k) {
        const int a = 4 * k;
        u[a] = __builtin_shufflevector(t[a], t[a + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[a + 1] = __builtin_shufflevector(t[a], t[a + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[a + 2] = __builtin_shufflevector(t[a + 1], t[a + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[a + 3] = __builtin_shufflevector(t[a + 1], t[a + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int k = 0; k < 4; ++k) {
        c[k] = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        c[k + 4] = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

}  // namespace soundstar::dsp::simd

#pragma once
// Eight-lane float vectors (GCC vector extensions; one AVX register, two SSE registers without
// AVX) and the branch-free helpers the SIMD voice banks share [rt].
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

/// PolyBLEP step residual per lane for phase t (cycles) with increment dt and 1/dt.
inline v8 polyBlep(v8 t, v8 dt, v8 invDt) {
    const v8 one = splat(1.0f), zero = splat(0.0f);
    const v8 x1 = t * invDt, x2 = (t - one) * invDt;
    const v8 c1 = x1 + x1 - x1 * x1 - one, c2 = x2 * x2 + x2 + x2 + one;
    return t < dt ? c1 : (t > one - dt ? c2 : zero);
}

/// Band-limited saw in [-1, 1] per lane.
inline v8 saw(v8 t, v8 dt, v8 invDt) { return t * splat(2.0f) - splat(1.0f) - polyBlep(t, dt, invDt); }

}  // namespace soundstar::dsp::simd

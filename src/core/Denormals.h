#pragma once
// Flush-to-zero / denormals-are-zero for the scope of a callback [rt].
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace soundstar {

class DenormalGuard {
public:
    DenormalGuard() {
#if defined(__SSE__) || defined(__x86_64__)
        saved_ = _mm_getcsr();
        _mm_setcsr(saved_ | 0x8040);  // FTZ | DAZ
#endif
    }
    ~DenormalGuard() {
#if defined(__SSE__) || defined(__x86_64__)
        _mm_setcsr(saved_);
#endif
    }
    DenormalGuard(const DenormalGuard&) = delete;
    DenormalGuard& operator=(const DenormalGuard&) = delete;

private:
    unsigned saved_ = 0;
};

}  // namespace soundstar

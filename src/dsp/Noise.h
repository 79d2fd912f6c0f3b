#pragma once
// White and pink noise from the render's seeded generator [rt].
#include "core/Rng.h"

namespace soundstar::dsp {

class WhiteNoise {
public:
    void seed(std::uint64_t s) { rng_.reseed(s); }
    float tick() { return rng_.bipolar(); }
    void process(float* out, int n) {
        for (int i = 0; i < n; ++i) out[i] = tick();
    }

private:
    Rng rng_{7};
};

/// Pink (-3 dB/octave) noise: Paul Kellet's refined filter bank over white noise.
class PinkNoise {
public:
    void seed(std::uint64_t s) { white_.seed(s); }
    void reset() { b0_ = b1_ = b2_ = b3_ = b4_ = b5_ = b6_ = 0.0f; }
    float tick() {
        const float w = white_.tick();
        b0_ = 0.99886f * b0_ + w * 0.0555179f;
        b1_ = 0.99332f * b1_ + w * 0.0750759f;
        b2_ = 0.96900f * b2_ + w * 0.1538520f;
        b3_ = 0.86650f * b3_ + w * 0.3104856f;
        b4_ = 0.55000f * b4_ + w * 0.5329522f;
        b5_ = -0.7616f * b5_ - w * 0.0168980f;
        const float y = b0_ + b1_ + b2_ + b3_ + b4_ + b5_ + b6_ + w * 0.5362f;
        b6_ = w * 0.115926f;
        return y * 0.11f;
    }
    void process(float* out, int n) {
        for (int i = 0; i < n; ++i) out[i] = tick();
    }

private:
    WhiteNoise white_;
    float b0_ = 0, b1_ = 0, b2_ = 0, b3_ = 0, b4_ = 0, b5_ = 0, b6_ = 0;
};

}  // namespace soundstar::dsp

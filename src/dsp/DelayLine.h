#pragma once
// Circular delay line with linear-interpolated fractional reads. prepare() allocates [control];
// push/read [rt].
#include <algorithm>
#include <cstddef>
#include <vector>

namespace soundstar::dsp {

class DelayLine {
public:
    /// maxSamples: the longest delay that can be read.
    void prepare(std::size_t maxSamples) {
        std::size_t n = 1;
        while (n < maxSamples + 2) n <<= 1;
        buf_.assign(n, 0.0f);
        mask_ = n - 1;
        write_ = 0;
    }
    void reset() { std::fill(buf_.begin(), buf_.end(), 0.0f); }
    void push(float x) {
        buf_[write_] = x;
        write_ = (write_ + 1) & mask_;
    }
    /// Sample written `delay` samples ago (delay >= 1 after push; fractional allowed).
    float read(float delay) const {
        const float d = std::clamp(delay, 1.0f, static_cast<float>(mask_ - 1));
        const auto di = static_cast<std::size_t>(d);
        const float frac = d - static_cast<float>(di);
        const float a = buf_[(write_ - di) & mask_];
        const float b = buf_[(write_ - di - 1) & mask_];
        return a + (b - a) * frac;
    }
    float readInt(std::size_t delay) const { return buf_[(write_ - delay) & mask_]; }
    std::size_t maxDelay() const { return mask_ - 1; }

private:
    std::vector<float> buf_{0.0f, 0.0f};
    std::size_t mask_ = 1, write_ = 0;
};

}  // namespace soundstar::dsp

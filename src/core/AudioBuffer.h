#pragma once
// Non-owning views over planar audio, plus a small owning stereo buffer for the control side.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace soundstar {

/// A stereo block: two planar channel pointers and a frame count [rt].
struct StereoView {
    float* left = nullptr;
    float* right = nullptr;
    int frames = 0;

    StereoView offset(int start, int count) const { return {left + start, right + start, count}; }
    void clear() const {
        std::fill(left, left + frames, 0.0f);
        std::fill(right, right + frames, 0.0f);
    }
    void addFrom(const StereoView& o, float gain = 1.0f) const {
        for (int i = 0; i < frames; ++i) {
            left[i] += o.left[i] * gain;
            right[i] += o.right[i] * gain;
        }
    }
};

/// Owning planar stereo buffer; allocate in prepare() only [control].
class StereoBuffer {
public:
    void resize(int frames) {
        l_.assign(static_cast<std::size_t>(frames), 0.0f);
        r_.assign(static_cast<std::size_t>(frames), 0.0f);
    }
    StereoView view() { return {l_.data(), r_.data(), static_cast<int>(l_.size())}; }
    StereoView view(int frames) { return {l_.data(), r_.data(), frames}; }
    int frames() const { return static_cast<int>(l_.size()); }
    std::vector<float>& left() { return l_; }
    std::vector<float>& right() { return r_; }
    const std::vector<float>& left() const { return l_; }
    const std::vector<float>& right() const { return r_; }

private:
    std::vector<float> l_, r_;
};

}  // namespace soundstar

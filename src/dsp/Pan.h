#pragma once
// Equal-power panning and mid/side stereo width [rt].
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/AudioBuffer.h"

namespace soundstar::dsp {

struct PanGains {
    float left = 0.7071f, right = 0.7071f;
};

/// pan -1 (left) .. +1 (right); L^2 + R^2 = 1 everywhere (-3 dB at centre).
inline PanGains equalPowerPan(float pan) {
    const float p = (std::clamp(pan, -1.0f, 1.0f) + 1.0f) * 0.25f * std::numbers::pi_v<float>;
    return {std::cos(p), std::sin(p)};
}

/// Stereo width: 0 mono, 1 unchanged, up to 2 extra wide (mid/side scaling).
class StereoWidth {
public:
    void setWidth(float w) { width_ = std::clamp(w, 0.0f, 2.0f); }
    void process(StereoView io) const {
        for (int i = 0; i < io.frames; ++i) {
            const float mid = 0.5f * (io.left[i] + io.right[i]);
            const float side = 0.5f * (io.left[i] - io.right[i]) * width_;
            io.left[i] = mid + side;
            io.right[i] = mid - side;
        }
    }

private:
    float width_ = 1.0f;
};

}  // namespace soundstar::dsp

#pragma once
// Clippers and a waveshaper with drive [rt].
#include <algorithm>
#include <cmath>

#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/FastMath.h"

namespace soundstar::dsp {

/// Hard clip to [-limit, limit].
inline float hardClip(float x, float limit = 1.0f) { return std::clamp(x, -limit, limit); }
/// Cubic soft clip: smooth, unity slope at 0, saturates at +-2/3 * 1.5 = 1.
inline float softClip(float x) {
    x = std::clamp(x, -1.5f, 1.5f);
    return x - (4.0f / 27.0f) * x * x * x;
}

enum class ShapeType { Tanh, Soft, Hard, Fold };

/// Waveshaper: drive in dB before the curve, output gain compensates; mix 0..1.
class Waveshaper {
public:
    void prepare(double sampleRate) {
        drive_.prepare(sampleRate, 10.0f);
        drive_.snap(1.0f);
    }
    void set(ShapeType type, float driveDb, float mix) {
        type_ = type;
        drive_.setTarget(std::pow(10.0f, std::clamp(driveDb, 0.0f, 48.0f) / 20.0f));
        mix_ = std::clamp(mix, 0.0f, 1.0f);
    }
    float shape(float x) const {
        switch (type_) {
            case ShapeType::Tanh: return fastTanh(x);
            case ShapeType::Soft: return softClip(x);
            case ShapeType::Hard: return hardClip(x);
            case ShapeType::Fold: {
                // Triangle folding keeps the output in [-1, 1] for any drive.
                const float t = std::fmod(std::abs(x + 1.0f), 4.0f);
                return (t < 2.0f ? t : 4.0f - t) - 1.0f;
            }
        }
        return x;
    }
    /// Every curve maps 0 to 0 and there is no state: a block of zeros comes out as zeros, with
    /// nothing to do unless the drive is gliding (its smoother must move) [rt].
    bool processSilence(StereoView io) {
        if (!drive_.ramping()) return true;
        process(io);
        return false;
    }
    void process(StereoView io) {
        if (!drive_.ramping()) {  // the usual case: one drive for the block, the curve chosen once
            switch (type_) {
                case ShapeType::Tanh: return processWith(io, [](float x) { return fastTanh(x); });
                case ShapeType::Soft: return processWith(io, [](float x) { return softClip(x); });
                case ShapeType::Hard: return processWith(io, [](float x) { return hardClip(x); });
                case ShapeType::Fold: break;
            }
        }
        for (int i = 0; i < io.frames; ++i) {
            const float d = drive_.next();
            const float comp = 1.0f / std::sqrt(d);
            io.left[i] += mix_ * (shape(io.left[i] * d) * comp - io.left[i]);
            io.right[i] += mix_ * (shape(io.right[i] * d) * comp - io.right[i]);
        }
    }

private:
    template <typename Curve>
    void processWith(StereoView io, Curve curve) {
        const float d = drive_.value(), comp = 1.0f / std::sqrt(d), mix = mix_;
        for (int i = 0; i < io.frames; ++i) {  // vectorizes: the curves are branch-free
            io.left[i] += mix * (curve(io.left[i] * d) * comp - io.left[i]);
            io.right[i] += mix * (curve(io.right[i] * d) * comp - io.right[i]);
        }
    }
    ShapeType type_ = ShapeType::Tanh;
    LinearSmoother drive_;
    float mix_ = 1.0f;
};

}  // namespace soundstar::dsp

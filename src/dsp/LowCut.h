#pragma once
// A stereo low cut that engages and releases without a click: a 2nd-order Butterworth high-pass
// (RBJ "Audio EQ Cookbook", Q = 1/sqrt 2) whose output is crossfaded with the dry signal by a
// linear ramp of the wet share. The coefficients never move while the filter is heard (a step in
// a recursive filter's coefficients is a step in its output); only the blend does, and both
// signals are continuous, so the result is too. Off and settled, it costs a branch.
// prepare() [control]; setCutoff(), reset(), process() [rt].
#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/Biquad.h"

namespace soundstar::dsp {

class LowCut {
public:
    /// `rampMs`: how long engaging or releasing takes (the wet share's linear ramp).
    void prepare(double sampleRate, float rampMs = 40.0f) {
        left_.prepare(sampleRate), right_.prepare(sampleRate);
        wet_.prepare(sampleRate, rampMs);
        wet_.snap(0.0f);
        cutoffHz_ = 0.0f;
    }
    /// `hz` > 0: engage at that corner (ramped in from where the blend is); 0: release (ramped
    /// out). A new corner while engaged takes effect at once (the DJ uses one corner) [rt].
    void setCutoff(float hz) {
        if (hz > 0.0f) {
            if (hz != cutoffHz_) {
                left_.set(BiquadType::HighPass, hz, kButterworthQ);
                right_.set(BiquadType::HighPass, hz, kButterworthQ);
            }
            // Silent filter state from a rest: its first outputs follow the input (b0 ~ 1).
            if (!engaged()) left_.reset(), right_.reset();
            cutoffHz_ = hz;
            wet_.setTarget(1.0f);
        } else {
            wet_.setTarget(0.0f);
        }
    }
    /// Engaged or released at once, with no ramp (a track put in place already cut) [rt].
    void snap(float hz) {
        setCutoff(hz);
        wet_.snap(hz > 0.0f ? 1.0f : 0.0f);
    }
    void reset() { left_.reset(), right_.reset(); }
    /// The corner asked for (0: released or releasing).
    float cutoffHz() const { return wet_.target() > 0.0f ? cutoffHz_ : 0.0f; }
    /// Heard at all (engaged, or on its way in or out).
    bool engaged() const { return wet_.ramping() || wet_.value() > 0.0f; }

    void process(StereoView io) {
        if (!engaged()) return;
        if (!wet_.ramping()) {  // fully in: the filter alone
            Biquad::processPair(left_, io.left, right_, io.right, io.frames);
            return;
        }
        for (int i = 0; i < io.frames; ++i) {
            const float w = wet_.next(), l = io.left[i], r = io.right[i];
            io.left[i] = l + w * (left_.tick(l) - l);
            io.right[i] = r + w * (right_.tick(r) - r);
        }
    }

private:
    static constexpr float kButterworthQ = 0.70710678f;
    Biquad left_, right_;
    LinearSmoother wet_;
    float cutoffHz_ = 0.0f;
};

}  // namespace soundstar::dsp

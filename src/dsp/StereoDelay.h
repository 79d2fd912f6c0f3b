#pragma once
// Stereo echo: independent stereo, ping-pong, or tape (wow and flutter, saturation and a darker
// feedback path). Times in ms, smoothed so changes glide like a tape machine's [rt after prepare].
#include "core/AudioBuffer.h"
#include "core/Smoother.h"
#include "dsp/Biquad.h"
#include "dsp/DelayLine.h"
#include "dsp/Lfo.h"

namespace soundstar::dsp {

enum class DelayMode { Stereo, PingPong, Tape };

class StereoDelay {
public:
    void prepare(double sampleRate, float maxMs = 4000.0f);
    void reset();
    void setMode(DelayMode m) { mode_ = m; }
    /// Delay time per side in ms (clamped to the prepared maximum).
    void setTime(float leftMs, float rightMs);
    /// Feedback 0..0.98; mix 0..1 (wet share); toneHz: lowpass in the feedback path.
    void setFeedback(float fb);
    void setMix(float mix) { mix_.setTarget(mix); }
    void setTone(float toneHz);
    void process(StereoView io);

private:
    void processSteady(StereoView io, float dl, float dr);
    double sampleRate_ = 48000.0;
    float maxSamples_ = 1.0f, feedback_ = 0.35f;
    DelayMode mode_ = DelayMode::Stereo;
    DelayLine l_, r_;
    OnePoleSmoother timeL_, timeR_;
    LinearSmoother mix_;
    Biquad toneL_, toneR_;
    Lfo wow_, flutter_;
};

}  // namespace soundstar::dsp

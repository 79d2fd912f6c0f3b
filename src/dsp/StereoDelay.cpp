#include "dsp/StereoDelay.h"

#include <algorithm>
#include <cmath>

#include "dsp/FastMath.h"

namespace soundstar::dsp {

void StereoDelay::prepare(double sampleRate, float maxMs) {
    sampleRate_ = sampleRate;
    maxSamples_ = static_cast<float>(sampleRate * maxMs * 0.001);
    l_.prepare(static_cast<std::size_t>(maxSamples_) + 64);
    r_.prepare(static_cast<std::size_t>(maxSamples_) + 64);
    timeL_.prepare(sampleRate, 80.0f);
    timeR_.prepare(sampleRate, 80.0f);
    mix_.prepare(sampleRate, 20.0f);
    toneL_.prepare(sampleRate);
    toneR_.prepare(sampleRate);
    wow_.prepare(sampleRate);
    wow_.setRate(0.6f);
    flutter_.prepare(sampleRate);
    flutter_.setRate(6.3f);
    setTone(6000.0f);
    timeL_.snap(static_cast<float>(sampleRate * 0.375));
    timeR_.snap(static_cast<float>(sampleRate * 0.5));
    mix_.snap(0.3f);
}

void StereoDelay::reset() {
    l_.reset();
    r_.reset();
    toneL_.reset();
    toneR_.reset();
}

void StereoDelay::setTime(float leftMs, float rightMs) {
    const auto toSamples = [&](float ms) {
        return std::clamp(static_cast<float>(ms * 0.001 * sampleRate_), 1.0f, maxSamples_);
    };
    timeL_.setTarget(toSamples(leftMs));
    timeR_.setTarget(toSamples(rightMs));
}

void StereoDelay::setFeedback(float fb) { feedback_ = std::clamp(fb, 0.0f, 0.98f); }

void StereoDelay::setTone(float toneHz) {
    toneL_.set(BiquadType::LowPass, toneHz, 0.6f);
    toneR_.set(BiquadType::LowPass, toneHz, 0.6f);
}

void StereoDelay::process(StereoView io) {
    const float fb = feedback_;
    const bool tape = mode_ == DelayMode::Tape;
    for (int i = 0; i < io.frames; ++i) {
        float dl = timeL_.next(), dr = timeR_.next();
        if (tape) {
            const float mod = 1.0f + 0.0025f * wow_.tick() + 0.0006f * flutter_.tick();
            dl *= mod;
            dr *= mod;
        }
        const float inL = io.left[i], inR = io.right[i];
        float wl = toneL_.tick(l_.read(dl));
        float wr = toneR_.tick(r_.read(dr));
        if (tape) {
            wl = fastTanh(wl * 1.2f) * 0.85f;
            wr = fastTanh(wr * 1.2f) * 0.85f;
        }
        if (mode_ == DelayMode::PingPong) {
            // Mono input enters the left line; each line feeds the other.
            l_.push(0.5f * (inL + inR) + wr * fb);
            r_.push(wl * fb);
        } else {
            l_.push(inL + wl * fb);
            r_.push(inR + wr * fb);
        }
        const float m = mix_.next();
        io.left[i] = inL * (1.0f - m) + wl * m;
        io.right[i] = inR * (1.0f - m) + wr * m;
    }
}

}  // namespace soundstar::dsp

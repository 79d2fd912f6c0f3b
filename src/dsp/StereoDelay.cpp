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
    // Delay times within a thousandth of a sample of their targets have arrived.
    for (auto* t : {&timeL_, &timeR_})
        if (std::abs(t->value() - t->target()) < 1e-3f) t->snap(t->target());
    const float dl0 = timeL_.value(), dr0 = timeR_.value();
    if (!tape && dl0 == timeL_.target() && dr0 == timeR_.target() && std::min(dl0, dr0) >= 9.0f) {
        processSteady(io, dl0, dr0);
        return;
    }
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

namespace {
/// line.readAhead(s, delay) for s = 0..n-1 (delay >= n + 1): the two integer taps of a fixed
/// delay are contiguous runs of the ring, read as such rather than gathered sample by sample.
void readFractional(const DelayLine& line, float* out, int n, float delay) {
    constexpr int kMax = 64;
    const auto di = static_cast<std::size_t>(delay);
    const float frac = delay - static_cast<float>(di);
    float later[kMax];
    line.readBlock(out, n, di, 1);
    line.readBlock(later, n, di + 1, 1);
    for (int s = 0; s < n; ++s) out[s] = out[s] + (later[s] - out[s]) * frac;
}
}  // namespace

// Fixed times and no tape modulation (the usual case on a return bus): every read in a chunk
// shorter than the delay refers to samples written before the chunk, so the chunk is read,
// filtered, fed back and mixed as whole arrays. The same arithmetic as the per-sample loop.
void StereoDelay::processSteady(StereoView io, float dl, float dr) {
    constexpr int kChunk = 64;
    const float fb = feedback_;
    const int maxChunk = std::min(kChunk, static_cast<int>(std::min(dl, dr)) - 1);
    const bool ping = mode_ == DelayMode::PingPong;
    for (int done = 0; done < io.frames; done += maxChunk) {
        const int n = std::min(maxChunk, io.frames - done);
        float wl[kChunk], wr[kChunk], feedL[kChunk], feedR[kChunk];
        readFractional(l_, wl, n, dl);
        readFractional(r_, wr, n, dr);
        Biquad::processPair(toneL_, wl, toneR_, wr, n);
        float* inL = io.left + done;
        float* inR = io.right + done;
        if (ping) {
            for (int s = 0; s < n; ++s) {
                feedL[s] = 0.5f * (inL[s] + inR[s]) + wr[s] * fb;
                feedR[s] = wl[s] * fb;
            }
        } else {
            for (int s = 0; s < n; ++s) {
                feedL[s] = inL[s] + wl[s] * fb;
                feedR[s] = inR[s] + wr[s] * fb;
            }
        }
        l_.pushBlock(feedL, n, 1);
        r_.pushBlock(feedR, n, 1);
        for (int s = 0; s < n; ++s) {
            const float m = mix_.next();
            inL[s] = inL[s] * (1.0f - m) + wl[s] * m;
            inR[s] = inR[s] * (1.0f - m) + wr[s] * m;
        }
    }
}

}  // namespace soundstar::dsp

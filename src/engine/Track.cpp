#include "engine/Track.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "dsp/Pan.h"

namespace soundstar::engine {

void Track::prepare(double sampleRate, int maxBlock) {
    sampleRate_ = sampleRate;
    buffer_.resize(maxBlock);
    if (instrument) instrument->prepare(sampleRate, maxBlock);
    for (auto& e : effects) e->prepare(sampleRate, maxBlock);
    wet_.assign(effects.size(), LinearSmoother{});
    for (auto& w : wet_) {
        w.prepare(sampleRate, 10.0f);
        w.snap(1.0f);
    }
    dry_.resize(maxBlock);
    lowCut_.prepare(sampleRate);
    lowCut_.snap(initialLowCutHz);
    output_ = outFrom_ = initialOutput >= 0 && initialOutput < kMaxSends ? initialOutput : -1;
    outLeft_ = 0;
    for (auto* s : {&gain_, &panL_, &panR_, &trimL_, &trimR_}) s->prepare(sampleRate, 20.0f);
    setGainDb(initialGainDb);
    setPan(initialPan);
    setTrim(initialTrimDb, initialBalance);
    trimL_.snap(trimL_.target());
    trimR_.snap(trimR_.target());
    gain_.snap(gain_.target());
    panL_.snap(panL_.target());
    panR_.snap(panR_.target());
    for (std::size_t b = 0; b < sends_.size(); ++b) {
        sends_[b].prepare(sampleRate, 20.0f);
        sends_[b].snap(std::clamp(initialSends[b], 0.0f, 1.0f));
    }
}

float Track::fadeGainNow() const {
    if (fadeLeft_ <= 0) return gain_.value();
    constexpr float kHalfPi = std::numbers::pi_v<float> * 0.5f;
    const float t = 1.0f - static_cast<float>(fadeLeft_) / static_cast<float>(fadeLength_);
    float s = t;
    if (fadeShape_ == FadeShape::EqualPower) s = fadeTo_ > fadeFrom_ ? std::sin(kHalfPi * t) : 1.0f - std::cos(kHalfPi * t);
    return fadeFrom_ + (fadeTo_ - fadeFrom_) * s;
}

void Track::setGainDb(float db) {
    if (fadeLeft_ > 0) gain_.snap(fadeGainNow());  // a plain gain change ends a fade where it is
    fadeLeft_ = 0;
    gain_.setTarget(db <= -120.0f ? 0.0f : std::pow(10.0f, std::min(db, 12.0f) / 20.0f));
}

void Track::fadeTo(float gain, int samples, FadeShape shape) {
    fadeFrom_ = fadeGainNow();  // a fade under way is taken over from where it has got to
    fadeTo_ = gain;
    fadeShape_ = shape;
    fadeLength_ = fadeLeft_ = std::max(1, samples);
}

// The fade's gain per sample (with the pan), then the smoother holds the end value.
void Track::applyFade(StereoView v) {
    constexpr float kHalfPi = std::numbers::pi_v<float> * 0.5f;
    const bool up = fadeTo_ > fadeFrom_;
    for (int i = 0; i < v.frames; ++i) {
        float g = fadeTo_;
        if (fadeLeft_ > 0) {
            const float t = 1.0f - static_cast<float>(--fadeLeft_) / static_cast<float>(fadeLength_);
            float s = t;
            if (fadeShape_ == FadeShape::EqualPower) s = up ? std::sin(kHalfPi * t) : 1.0f - std::cos(kHalfPi * t);
            g = fadeFrom_ + (fadeTo_ - fadeFrom_) * s;
        }
        v.left[i] *= g * panL_.next();
        v.right[i] *= g * panR_.next();
    }
    if (fadeLeft_ == 0) gain_.snap(fadeTo_);
}

void Track::setPan(float pan) {
    // Equal-power law scaled so the centre is unity for a stereo source.
    const auto g = dsp::equalPowerPan(pan);
    panL_.setTarget(g.left * std::numbers::sqrt2_v<float>);
    panR_.setTarget(g.right * std::numbers::sqrt2_v<float>);
}

void Track::setTrim(float db, float balance) {
    constexpr float kHalfPi = std::numbers::pi_v<float> * 0.5f;
    const float g = db <= -120.0f ? 0.0f : std::pow(10.0f, std::min(db, 12.0f) / 20.0f);
    const float b = std::clamp(balance, -1.0f, 1.0f);
    // A balance: the side it moves toward stays at unity, the other falls to silence at the end.
    trimL_.setTarget(g * (b > 0.0f ? std::cos(kHalfPi * b) : 1.0f));
    trimR_.setTarget(g * (b < 0.0f ? std::cos(kHalfPi * -b) : 1.0f));
}

void Track::applyTrim(StereoView v, bool silent) {
    if (!trimL_.ramping() && !trimR_.ramping()) {
        const float l = trimL_.value(), r = trimR_.value();
        if ((l == 1.0f && r == 1.0f) || silent) return;
        for (int i = 0; i < v.frames; ++i) {
            v.left[i] *= l;
            v.right[i] *= r;
        }
        return;
    }
    for (int i = 0; i < v.frames; ++i) {
        v.left[i] *= trimL_.next();
        v.right[i] *= trimR_.next();
    }
}

void Track::setSend(int bus, float level) {
    if (bus >= 0 && bus < kMaxSends) sends_[static_cast<std::size_t>(bus)].setTarget(std::clamp(level, 0.0f, 1.0f));
}

void Track::setBypass(int slot, bool bypassed) {
    if (slot >= 0 && static_cast<std::size_t>(slot) < wet_.size()) wet_[static_cast<std::size_t>(slot)].setTarget(bypassed ? 0.0f : 1.0f);
}

void Track::setOutput(int bus) {
    const int to = bus >= 0 && bus < kMaxSends ? bus : -1;
    if (to == output_) return;
    // A change within 10 ms of the last one starts from its destination (what is left of the
    // older source ends there).
    outFrom_ = output_;
    output_ = to;
    outLength_ = outLeft_ = std::max(1, static_cast<int>(std::lround(sampleRate_ * kOutputFadeMs / 1000.0)));
}

float Track::nextSend(int bus, int frames) {
    auto& s = sends_[static_cast<std::size_t>(bus)];
    float v = s.value();
    for (int i = 0; i < frames && s.ramping(); ++i) v = s.next();
    return v;
}

namespace {
/// Every sample of the block is zero, of either sign (a sounding block fails at its first).
bool silentBlock(const StereoView& v) {
    if (v.frames > 0 && (v.left[0] != 0.0f || v.right[0] != 0.0f)) return false;
    std::uint32_t bits = 0;
    for (int i = 0; i < v.frames; ++i) bits |= (std::bit_cast<std::uint32_t>(v.left[i]) | std::bit_cast<std::uint32_t>(v.right[i])) << 1;
    return bits == 0;
}
}  // namespace

void Track::renderInto(StereoView v, bool clearFirst) {
    const int frames = v.frames;
    if (instrument) instrument->process(v);
    else if (clearFirst) v.clear();
    // Silence (an instrument between its notes, a bus with nothing sent) stays known as such
    // down the chain while each effect leaves it zeros.
    bool silent = skipSilence && silentBlock(v);
    const auto run = [&](Effect& fx) {
        if (!silent) fx.process(v);
        else if (!fx.processSilence(v)) silent = silentBlock(v);
    };
    for (std::size_t e = 0; e < effects.size(); ++e) {
        LinearSmoother* w = e < wet_.size() ? &wet_[e] : nullptr;
        if (!w || (!w->ramping() && w->value() >= 1.0f)) {
            run(*effects[e]);
            continue;
        }
        StereoView dry = dry_.view(frames);
        std::copy_n(v.left, frames, dry.left);
        std::copy_n(v.right, frames, dry.right);
        const bool silentIn = silent;
        run(*effects[e]);
        if (!w->ramping()) {  // fully bypassed: the dry signal
            std::copy_n(dry.left, frames, v.left);
            std::copy_n(dry.right, frames, v.right);
            silent = silentIn;
            continue;
        }
        for (int i = 0; i < frames; ++i) {
            const float g = w->next();
            v.left[i] = dry.left[i] + g * (v.left[i] - dry.left[i]);
            v.right[i] = dry.right[i] + g * (v.right[i] - dry.right[i]);
        }
        silent = silentIn && silent;
    }
    if (lowCut_.engaged()) {
        lowCut_.process(v);
        if (silent) silent = silentBlock(v);
    }
    if (fadeLeft_ > 0) {
        applyFade(v);
    } else if (!gain_.ramping() && !panL_.ramping() && !panR_.ramping()) {
        if (silent) return applyTrim(v, true);  // zeros times a steady gain: zeros
        const float gl = gain_.value() * panL_.value(), gr = gain_.value() * panR_.value();
        for (int i = 0; i < frames; ++i) {
            v.left[i] *= gl;
            v.right[i] *= gr;
        }
    } else {
        for (int i = 0; i < frames; ++i) {
            const float g = gain_.next();
            v.left[i] *= g * panL_.next();
            v.right[i] *= g * panR_.next();
        }
    }
    applyTrim(v, silent);
}

}  // namespace soundstar::engine

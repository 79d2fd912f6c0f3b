#include "dsp/DrumVoice.h"

#include "dsp/FastMath.h"
#include "dsp/Simd.h"

#include <algorithm>
#include <cstring>
#include <numbers>

namespace soundstar::dsp {
namespace {
// TR-808 cymbal oscillator frequencies (Hz): six detuned square waves.
constexpr std::array<double, 6> kHatFreqs{205.3, 304.4, 369.6, 522.7, 540.0, 800.0};
}  // namespace

void DrumVoice::prepare(double sampleRate) {
    sampleRate_ = sampleRate;
    bp_.prepare(sampleRate);
    hp_.prepare(sampleRate);
    chokeCoef_ = coef(0.01f);
}

float DrumVoice::coef(float seconds) const {
    // One-pole decay reaching -60 dB after `seconds`.
    const double n = std::max(1.0, static_cast<double>(seconds) * sampleRate_);
    return static_cast<float>(std::pow(0.001, 1.0 / n));
}

void DrumVoice::trigger(float velocity) {
    velocity_ = std::clamp(velocity, 0.0f, 1.0f);
    active_ = true;
    amp_ = 1.0f;
    phase_ = 0.0;
    age_ = 0;
    noiseAmp_ = 0.0f;
    bp_.reset();
    hp_.reset();
    switch (type_) {
        case DrumType::Kick:
            basePitch_ = 48.0f * tune_;
            pitchEnv_ = 3.5f;  // starts 4.5x the base pitch and sweeps down
            pitchDecay_ = coef(0.045f);
            ampDecay_ = coef(0.55f * decay_);
            noiseAmp_ = 0.5f * tone_;  // the beater click
            noiseDecay_ = coef(0.006f);
            bp_.set(BiquadType::BandPass, 3000.0f, 0.8f);
            break;
        case DrumType::Snare:
            basePitch_ = 185.0f * tune_;
            pitchEnv_ = 0.6f;
            pitchDecay_ = coef(0.03f);
            ampDecay_ = coef(0.16f * decay_);
            noiseAmp_ = 0.6f + 0.4f * tone_;
            noiseDecay_ = coef(0.22f * decay_);
            hp_.set(BiquadType::HighPass, 1200.0f, 0.7f);
            bp_.set(BiquadType::BandPass, 4500.0f + 3000.0f * tone_, 0.6f);
            break;
        case DrumType::Clap:
            amp_ = 0.0f;
            noiseAmp_ = 1.0f;
            noiseDecay_ = coef(0.012f);
            ampDecay_ = coef(0.25f * decay_);
            clapCount_ = 3;
            clapTimer_ = static_cast<int>(0.011 * sampleRate_);
            bp_.set(BiquadType::BandPass, 1100.0f * tune_ + 600.0f * tone_, 1.4f);
            break;
        case DrumType::ClosedHat:
        case DrumType::OpenHat:
            ampDecay_ = coef((type_ == DrumType::ClosedHat ? 0.06f : 0.45f) * decay_);
            hp_.set(BiquadType::HighPass, 7000.0f * tune_, 0.7f);
            bp_.set(BiquadType::BandPass, 10000.0f * tune_, 0.9f);
            break;
        case DrumType::Tom:
            basePitch_ = 110.0f * tune_;
            pitchEnv_ = 0.9f;
            pitchDecay_ = coef(0.12f);
            ampDecay_ = coef(0.4f * decay_);
            noiseAmp_ = 0.15f * tone_;
            noiseDecay_ = coef(0.02f);
            bp_.set(BiquadType::BandPass, 2000.0f, 0.8f);
            break;
        case DrumType::Rim:
            basePitch_ = 480.0f * tune_;
            pitchEnv_ = 0.0f;
            ampDecay_ = coef(0.035f * decay_);
            noiseAmp_ = 0.4f;
            noiseDecay_ = coef(0.004f);
            bp_.set(BiquadType::BandPass, 1700.0f * tune_, 3.0f);
            break;
    }
}

namespace {
// One sample of the six square oscillators as lanes of one vector; lanes 6 and 7 stand still at
// +1 and -1 and cancel. Phases advance and wrap in double, exactly as six scalars would.
inline float metallicStep(simd::v8d& phase, simd::v8d inc) {
    using namespace simd;
    phase += inc;
    phase = phase >= splatd(1.0) ? phase - splatd(1.0) : phase;
    const v8d sign = phase < splatd(0.5) ? splatd(1.0) : splatd(-1.0);
    const double sum = ((sign[0] + sign[1]) + (sign[2] + sign[3])) + ((sign[4] + sign[5]) + (sign[6] + sign[7]));
    return static_cast<float>(sum) * (1.0f / 6.0f);
}
simd::v8d hatIncrements(float tune, double sampleRate) {
    simd::v8d inc{};
    for (int i = 0; i < 6; ++i) inc[i] = kHatFreqs[static_cast<std::size_t>(i)] * tune / sampleRate;
    return inc;
}
}  // namespace

float DrumVoice::metallic() {
    simd::v8d phase;
    std::memcpy(&phase, hatPhase_.data(), sizeof phase);
    const float y = metallicStep(phase, hatIncrements(tune_, sampleRate_));
    std::memcpy(hatPhase_.data(), &phase, sizeof phase);
    return y;
}

float DrumVoice::tick() {
    if (!active_) return 0.0f;
    float y = 0.0f;
    ++age_;
    switch (type_) {
        case DrumType::Kick:
        case DrumType::Tom:
        case DrumType::Snare:
        case DrumType::Rim: {
            const float f = basePitch_ * (1.0f + pitchEnv_);
            pitchEnv_ *= pitchDecay_;
            phase_ += f / sampleRate_;
            if (phase_ >= 1.0) phase_ -= 1.0;
            float body = sinCycles(phase_) * amp_;
            if (type_ == DrumType::Kick) body = fastTanh(body * (1.0f + tone_));
            float n = noise_.tick() * noiseAmp_;
            if (type_ == DrumType::Snare) n = bp_.tick(hp_.tick(n));
            else n = bp_.tick(n);
            y = type_ == DrumType::Snare ? body * (0.8f - 0.4f * tone_) + n : body + n;
            amp_ *= ampDecay_;
            noiseAmp_ *= noiseDecay_;
            break;
        }
        case DrumType::Clap: {
            // Three fast bursts then a longer diffuse tail.
            if (clapCount_ > 0 && --clapTimer_ <= 0) {
                --clapCount_;
                noiseAmp_ = 1.0f;
                clapTimer_ = static_cast<int>(0.011 * sampleRate_);
                if (clapCount_ == 0) amp_ = 0.6f;
            }
            const float n = noise_.tick();
            y = bp_.tick(n * (noiseAmp_ + amp_)) * 1.6f;
            noiseAmp_ *= noiseDecay_;
            amp_ *= ampDecay_;
            break;
        }
        case DrumType::ClosedHat:
        case DrumType::OpenHat: {
            const float src = metallic() * (1.0f - 0.5f * tone_) + noise_.tick() * 0.5f * tone_;
            y = hp_.tick(bp_.tick(src)) * amp_ * 1.5f;
            amp_ *= ampDecay_;
            break;
        }
    }
    if (amp_ < 1e-4f && noiseAmp_ < 1e-4f && clapCount_ == 0 && age_ > 64) active_ = false;
    return y * velocity_;
}

void DrumVoice::process(float* out, int n) {
    switch (type_) {
        case DrumType::Kick: run<DrumType::Kick>(out, n); break;
        case DrumType::Snare: run<DrumType::Snare>(out, n); break;
        case DrumType::Tom: run<DrumType::Tom>(out, n); break;
        case DrumType::Rim: run<DrumType::Rim>(out, n); break;
        case DrumType::Clap: run<DrumType::Clap>(out, n); break;
        case DrumType::ClosedHat:
        case DrumType::OpenHat: run<DrumType::ClosedHat>(out, n); break;
    }
}

// tick()'s arithmetic, operation for operation, for one drum family, with every piece of state
// in locals for the loop (stores to out could alias members otherwise).
template <DrumType T>
void DrumVoice::run(float* out, int n) {
    int i = 0;
    if (active_) {
        double phase = phase_;
        float amp = amp_, noiseAmp = noiseAmp_, pitchEnv = pitchEnv_;
        int age = age_, clapCount = clapCount_, clapTimer = clapTimer_;
        Biquad bp = bp_, hp = hp_;
        WhiteNoise noise = noise_;
        simd::v8d hat;
        std::memcpy(&hat, hatPhase_.data(), sizeof hat);
        const simd::v8d hatInc = hatIncrements(tune_, sampleRate_);
        const float tone = tone_, velocity = velocity_;
        for (; i < n; ++i) {
            float y = 0.0f;
            ++age;
            if constexpr (T == DrumType::Clap) {
                if (clapCount > 0 && --clapTimer <= 0) {
                    --clapCount;
                    noiseAmp = 1.0f;
                    clapTimer = static_cast<int>(0.011 * sampleRate_);
                    if (clapCount == 0) amp = 0.6f;
                }
                const float x = noise.tick();
                y = bp.tick(x * (noiseAmp + amp)) * 1.6f;
                noiseAmp *= noiseDecay_;
                amp *= ampDecay_;
            } else if constexpr (T == DrumType::ClosedHat) {
                const float src = metallicStep(hat, hatInc) * (1.0f - 0.5f * tone) + noise.tick() * 0.5f * tone;
                y = hp.tick(bp.tick(src)) * amp * 1.5f;
                amp *= ampDecay_;
            } else {
                const float f = basePitch_ * (1.0f + pitchEnv);
                pitchEnv *= pitchDecay_;
                phase += f / sampleRate_;
                if (phase >= 1.0) phase -= 1.0;
                float body = sinCycles(phase) * amp;
                if constexpr (T == DrumType::Kick) body = fastTanh(body * (1.0f + tone));
                float x = noise.tick() * noiseAmp;
                if constexpr (T == DrumType::Snare) x = bp.tick(hp.tick(x));
                else x = bp.tick(x);
                y = T == DrumType::Snare ? body * (0.8f - 0.4f * tone) + x : body + x;
                amp *= ampDecay_;
                noiseAmp *= noiseDecay_;
            }
            out[i] = y * velocity;
            if (amp < 1e-4f && noiseAmp < 1e-4f && clapCount == 0 && age > 64) {
                active_ = false;
                ++i;
                break;
            }
        }
        phase_ = phase;
        amp_ = amp;
        noiseAmp_ = noiseAmp;
        pitchEnv_ = pitchEnv;
        age_ = age;
        clapCount_ = clapCount;
        clapTimer_ = clapTimer;
        bp_ = bp;
        hp_ = hp;
        noise_ = noise;
        std::memcpy(hatPhase_.data(), &hat, sizeof hat);
    }
    std::fill(out + i, out + n, 0.0f);
}

}  // namespace soundstar::dsp

// Adapters that expose each DSP unit as a named-parameter Effect. Kept together: each is a
// parameter table and a few lines of forwarding.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cmath>
#include <stdexcept>

#include "dsp/Biquad.h"
#include "dsp/Chorus.h"
#include "dsp/Compressor.h"
#include "dsp/Flanger.h"
#include "dsp/Leveller.h"
#include "dsp/Limiter.h"
#include "dsp/Pan.h"
#include "dsp/Phaser.h"
#include "dsp/Reverb.h"
#include "dsp/Shaper.h"
#include "dsp/StereoDelay.h"
#include "dsp/Svf.h"
#include "engine/Effect.h"

namespace soundstar::engine {
namespace {

/// Holds parameter values initialised from the table; apply() pushes them into the unit.
template <std::size_t N>
class TableEffect : public Effect {
public:
    explicit TableEffect(const ParamSpec (&specs)[N]) : specs_(specs) {
        for (std::size_t i = 0; i < N; ++i) p_[i] = specs[i].def;
    }
    void setParam(int index, float value) override {
        if (index < 0 || index >= static_cast<int>(N)) return;
        p_[static_cast<std::size_t>(index)] = value;
        apply();
    }
    std::span<const ParamSpec> params() const override { return {specs_, N}; }

protected:
    virtual void apply() = 0;
    float p(int i) const { return p_[static_cast<std::size_t>(i)]; }

private:
    const ParamSpec* specs_;
    std::array<float, N> p_{};
};

constexpr ParamSpec kEqParams[] = {
    {"low_cut", 10, 1000, 20, "Hz", "highpass"},
    {"low_gain", -24, 24, 0, "dB", "low shelf at 120 Hz"},
    {"mid_freq", 100, 10000, 1000, "Hz", ""},
    {"mid_gain", -24, 24, 0, "dB", ""},
    {"mid_q", 0.1f, 10, 0.7f, "", ""},
    {"high_gain", -24, 24, 0, "dB", "high shelf at 8 kHz"},
};
class Eq final : public TableEffect<std::size(kEqParams)> {
public:
    Eq() : TableEffect(kEqParams) {}
    void prepare(double sr, int) override {
        for (auto* b : {&lc_[0], &lc_[1], &ls_[0], &ls_[1], &pk_[0], &pk_[1], &hs_[0], &hs_[1]}) b->prepare(sr);
        apply();
    }
    void process(StereoView io) override {
        // Flat bands are skipped (their coefficients are an identity).
        using dsp::Biquad;
        if (p(0) > 10.0f) Biquad::processPair(lc_[0], io.left, lc_[1], io.right, io.frames);
        if (p(1) != 0.0f) Biquad::processPair(ls_[0], io.left, ls_[1], io.right, io.frames);
        if (p(3) != 0.0f) Biquad::processPair(pk_[0], io.left, pk_[1], io.right, io.frames);
        if (p(5) != 0.0f) Biquad::processPair(hs_[0], io.left, hs_[1], io.right, io.frames);
    }
    bool processSilence(StereoView io) override {
        const auto rest = [](const dsp::Biquad* pair) { return pair[0].atRest() && pair[1].atRest(); };
        if ((p(0) <= 10.0f || rest(lc_)) && (p(1) == 0.0f || rest(ls_)) && (p(3) == 0.0f || rest(pk_)) && (p(5) == 0.0f || rest(hs_)))
            return true;
        process(io);
        return false;
    }
    const char* kind() const override { return "eq"; }

private:
    void apply() override {
        for (int c = 0; c < 2; ++c) {
            lc_[c].set(dsp::BiquadType::HighPass, p(0), 0.707f);
            ls_[c].set(dsp::BiquadType::LowShelf, 120.0f, 0.707f, p(1));
            pk_[c].set(dsp::BiquadType::Peak, p(2), p(4), p(3));
            hs_[c].set(dsp::BiquadType::HighShelf, 8000.0f, 0.707f, p(5));
        }
    }
    dsp::Biquad lc_[2], ls_[2], pk_[2], hs_[2];
};

constexpr ParamSpec kCompParams[] = {
    {"threshold", -60, 0, -18, "dB", ""}, {"ratio", 1, 40, 3, ":1", ""},   {"knee", 0, 24, 6, "dB", ""},
    {"attack", 0.01f, 500, 10, "ms", ""}, {"release", 1, 5000, 150, "ms", ""}, {"makeup", -24, 24, 0, "dB", ""},
};
class CompressorFx final : public TableEffect<std::size(kCompParams)> {
public:
    CompressorFx() : TableEffect(kCompParams) {}
    void prepare(double sr, int) override {
        c_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { c_.process(io); }
    bool processSilence(StereoView io) override {
        c_.skipSilence(io.frames);
        return true;
    }
    const char* kind() const override { return "compressor"; }

private:
    void apply() override { c_.set(p(0), p(1), p(2), p(3), p(4), p(5)); }
    dsp::Compressor c_;
};

constexpr ParamSpec kLimParams[] = {{"ceiling", -24, 0, -1, "dBTP", ""}, {"release", 1, 2000, 80, "ms", ""}};
class LimiterFx final : public TableEffect<std::size(kLimParams)> {
public:
    LimiterFx() : TableEffect(kLimParams) {}
    void prepare(double sr, int) override {
        l_.prepare(sr, 2.0f);
        apply();
    }
    void process(StereoView io) override { l_.process(io); }
    const char* kind() const override { return "limiter"; }
    int latencySamples() const override { return l_.latencySamples(); }

private:
    void apply() override { l_.set(p(0), p(1)); }
    dsp::Limiter l_;
};

constexpr ParamSpec kLevellerParams[] = {{"target", -36, -6, -14, "LUFS", "short-term loudness it moves toward"},
                                         {"max_gain", 0, 24, 12, "dB", "the most it boosts or cuts"},
                                         {"speed", 0.5f, 60, 6, "s", "how slowly the gain moves"}};
class LevellerFx final : public TableEffect<std::size(kLevellerParams)> {
public:
    LevellerFx() : TableEffect(kLevellerParams) {}
    void prepare(double sr, int) override {
        l_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { l_.process(io); }
    const char* kind() const override { return "leveller"; }

private:
    void apply() override { l_.set(p(0), p(1), p(2)); }
    dsp::Leveller l_;
};

constexpr ParamSpec kDelayParams[] = {
    {"mode", 0, 2, 1, "", "0 stereo, 1 ping-pong, 2 tape"},
    {"time_left", 1, 4000, 375, "ms", ""},
    {"time_right", 1, 4000, 500, "ms", ""},
    {"feedback", 0, 0.98f, 0.35f, "", ""},
    {"tone", 200, 20000, 5000, "Hz", "lowpass in the feedback path"},
    {"mix", 0, 1, 1, "", "wet share (1 on a return bus)"},
};
class DelayFx final : public TableEffect<std::size(kDelayParams)> {
public:
    DelayFx() : TableEffect(kDelayParams) {}
    void prepare(double sr, int) override {
        d_.prepare(sr, 4000.0f);
        apply();
    }
    void process(StereoView io) override { d_.process(io); }
    const char* kind() const override { return "delay"; }

private:
    void apply() override {
        d_.setMode(static_cast<dsp::DelayMode>(static_cast<int>(p(0))));
        d_.setTime(p(1), p(2));
        d_.setFeedback(p(3));
        d_.setTone(p(4));
        d_.setMix(p(5));
    }
    dsp::StereoDelay d_;
};

constexpr ParamSpec kReverbParams[] = {
    {"size", 0, 1, 0.6f, "", "small room (0) to vast hall (1)"},
    {"decay", 0.1f, 30, 2.5f, "s", "T60"},
    {"damping", 0, 1, 0.4f, "", "high-frequency damping"},
    {"predelay", 0, 200, 20, "ms", ""},
    {"mix", 0, 1, 1, "", "wet share (1 on a return bus)"},
};
class ReverbFx final : public TableEffect<std::size(kReverbParams)> {
public:
    ReverbFx() : TableEffect(kReverbParams) {}
    void prepare(double sr, int) override {
        r_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { r_.process(io); }
    const char* kind() const override { return "reverb"; }

private:
    void apply() override { r_.set(p(0), p(1), p(2), p(3), p(4)); }
    dsp::Reverb r_;
};

constexpr ParamSpec kChorusParams[] = {
    {"rate", 0.05f, 5, 0.8f, "Hz", ""}, {"depth", 0, 1, 0.5f, "", ""}, {"mix", 0, 1, 0.5f, "", ""}};
class ChorusFx final : public TableEffect<std::size(kChorusParams)> {
public:
    ChorusFx() : TableEffect(kChorusParams) {}
    void prepare(double sr, int) override {
        c_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { c_.process(io); }
    bool processSilence(StereoView io) override { return c_.processSilence(io); }
    const char* kind() const override { return "chorus"; }

private:
    void apply() override { c_.set(p(0), p(1), p(2)); }
    dsp::Chorus c_;
};

constexpr ParamSpec kFlangerParams[] = {{"rate", 0.01f, 5, 0.25f, "Hz", ""},
                                        {"depth", 0, 1, 0.7f, "", ""},
                                        {"feedback", -0.95f, 0.95f, 0.5f, "", ""},
                                        {"mix", 0, 1, 0.5f, "", ""}};
class FlangerFx final : public TableEffect<std::size(kFlangerParams)> {
public:
    FlangerFx() : TableEffect(kFlangerParams) {}
    void prepare(double sr, int) override {
        f_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { f_.process(io); }
    const char* kind() const override { return "flanger"; }

private:
    void apply() override { f_.set(p(0), p(1), p(2), p(3)); }
    dsp::Flanger f_;
};

constexpr ParamSpec kPhaserParams[] = {{"rate", 0.01f, 5, 0.3f, "Hz", ""},
                                       {"depth", 0, 1, 0.8f, "", ""},
                                       {"feedback", 0, 0.9f, 0.4f, "", ""},
                                       {"mix", 0, 1, 0.5f, "", ""}};
class PhaserFx final : public TableEffect<std::size(kPhaserParams)> {
public:
    PhaserFx() : TableEffect(kPhaserParams) {}
    void prepare(double sr, int) override {
        ph_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { ph_.process(io); }
    bool processSilence(StereoView io) override { return ph_.processSilence(io); }
    const char* kind() const override { return "phaser"; }

private:
    void apply() override { ph_.set(p(0), p(1), p(2), p(3)); }
    dsp::Phaser ph_;
};

constexpr ParamSpec kDriveParams[] = {
    {"type", 0, 3, 0, "", "0 tanh, 1 soft, 2 hard, 3 fold"}, {"drive", 0, 48, 6, "dB", ""}, {"mix", 0, 1, 1, "", ""}};
class DriveFx final : public TableEffect<std::size(kDriveParams)> {
public:
    DriveFx() : TableEffect(kDriveParams) {}
    void prepare(double sr, int) override {
        w_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { w_.process(io); }
    bool processSilence(StereoView io) override { return w_.processSilence(io); }
    const char* kind() const override { return "drive"; }

private:
    void apply() override { w_.set(static_cast<dsp::ShapeType>(static_cast<int>(p(0))), p(1), p(2)); }
    dsp::Waveshaper w_;
};

constexpr ParamSpec kGateParams[] = {{"threshold", -90, 0, -50, "dB", ""},
                                     {"attack", 0.01f, 100, 1, "ms", ""},
                                     {"hold", 0, 1000, 50, "ms", ""},
                                     {"release", 1, 2000, 100, "ms", ""},
                                     {"range", -90, 0, -80, "dB", "attenuation when closed"}};
class GateFx final : public TableEffect<std::size(kGateParams)> {
public:
    GateFx() : TableEffect(kGateParams) {}
    void prepare(double sr, int) override {
        g_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { g_.process(io); }
    const char* kind() const override { return "gate"; }

private:
    void apply() override { g_.set(p(0), p(1), p(2), p(3), p(4)); }
    dsp::Gate g_;
};

constexpr ParamSpec kWidthParams[] = {{"width", 0, 2, 1, "", "0 mono, 1 unchanged, 2 extra wide"}};
class WidthFx final : public TableEffect<std::size(kWidthParams)> {
public:
    WidthFx() : TableEffect(kWidthParams) {}
    void prepare(double, int) override { apply(); }
    void process(StereoView io) override { w_.process(io); }
    bool processSilence(StereoView) override { return true; }  // mid and side of zeros: zeros
    const char* kind() const override { return "width"; }

private:
    void apply() override { w_.setWidth(p(0)); }
    dsp::StereoWidth w_;
};

constexpr ParamSpec kFilterParams[] = {{"mode", 0, 3, 0, "", "0 lowpass, 1 highpass, 2 bandpass, 3 notch"},
                                       {"cutoff", 20, 20000, 2000, "Hz", ""},
                                       {"q", 0.1f, 20, 0.707f, "", ""}};
class FilterFx final : public TableEffect<std::size(kFilterParams)> {
public:
    FilterFx() : TableEffect(kFilterParams) {}
    void prepare(double sr, int) override {
        l_.prepare(sr);
        r_.prepare(sr);
        apply();
    }
    void process(StereoView io) override { dsp::Svf::processPair(l_, r_, io.left, io.right, io.frames); }
    bool processSilence(StereoView io) override {
        if (l_.atRest() && r_.atRest()) return true;
        process(io);
        return false;
    }
    const char* kind() const override { return "filter"; }

private:
    void apply() override {
        for (auto* f : {&l_, &r_}) {
            f->setMode(static_cast<dsp::FilterMode>(static_cast<int>(p(0))));
            f->set(p(1), p(2));
        }
    }
    dsp::Svf l_, r_;
};
}  // namespace

std::vector<std::string> effectKinds() {
    return {"eq", "compressor", "limiter", "delay", "reverb", "chorus", "flanger", "phaser", "drive", "gate", "width", "filter", "leveller"};
}

std::unique_ptr<Effect> makeEffect(const std::string& kind) {
    if (kind == "eq") return std::make_unique<Eq>();
    if (kind == "compressor") return std::make_unique<CompressorFx>();
    if (kind == "limiter") return std::make_unique<LimiterFx>();
    if (kind == "delay") return std::make_unique<DelayFx>();
    if (kind == "reverb") return std::make_unique<ReverbFx>();
    if (kind == "chorus") return std::make_unique<ChorusFx>();
    if (kind == "flanger") return std::make_unique<FlangerFx>();
    if (kind == "phaser") return std::make_unique<PhaserFx>();
    if (kind == "drive") return std::make_unique<DriveFx>();
    if (kind == "gate") return std::make_unique<GateFx>();
    if (kind == "width") return std::make_unique<WidthFx>();
    if (kind == "filter") return std::make_unique<FilterFx>();
    if (kind == "leveller") return std::make_unique<LevellerFx>();
    throw std::invalid_argument(fmt::format("unknown effect '{}'; known: {}", kind, fmt::join(effectKinds(), ", ")));
}

}  // namespace soundstar::engine

#pragma once
// Pieces shared by streams and live sessions: what an unused layer slot plays, the order in
// which layers change during a transition, and bar lengths [control].
#include <algorithm>
#include <string>
#include <vector>

#include "engine/Instrument.h"

namespace soundstar::live {

/// What a layer slot holds before any vibe has used it.
class Silence final : public engine::Instrument {
public:
    void prepare(double, int) override {}
    void noteOn(float, float) override {}
    void noteOff(float) override {}
    void allNotesOff() override {}
    void setParam(int, float) override {}
    void process(StereoView io) override { io.clear(); }
    std::span<const engine::ParamSpec> params() const override { return {}; }
    int activeVoices() const override { return 0; }
    const char* kind() const override { return "silence"; }
};

/// Gain that counts as silent for fades.
inline constexpr float kSilentDb = -120.0f;

/// A 4/4 bar in samples (fractional: bar lines are rounded where they are used).
inline double barSamples(double bpm, double sampleRate) { return 4.0 * 60.0 / bpm * sampleRate; }

/// Sustained layers change first, the rhythm last, so a transition reads as one gesture: the
/// layer's fade starts this many bars into a transition of `transitionBars` whole bars.
inline int staggerBars(const std::string& layer, int transitionBars) {
    static const std::vector<std::string> kOrder{"pad", "texture", "keys", "arp", "lead", "bass", "drums"};
    const auto it = std::find(kOrder.begin(), kOrder.end(), layer);
    const int rank = it == kOrder.end() ? 3 : static_cast<int>(it - kOrder.begin());
    return transitionBars >= 2 ? rank * (transitionBars / 2) / 6 : 0;
}

}  // namespace soundstar::live

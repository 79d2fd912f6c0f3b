#pragma once
// The DJ's rule-based brain [control]: where the set is (phase, energy, which layers play) and,
// bar by bar, what to do next. It knows nothing of audio or time in samples: DjSet asks it on
// every bar line and turns its moves into LiveSession changes. Deterministic for a profile, a
// seed, a set length and the same requests at the same bars.
//
// The rules: the profile's phase plan (stretched or squeezed to the set's length in whole
// phrases; an open-ended set cycles build, drop, breakdown after it) sets the phase; a layer
// plays in a phase when its role lists it; on each phrase line the energy moves along the
// phase's [start, end] and layers move toward the phase's set, one in and one out per phrase,
// except that a drop brings everything in and a breakdown takes everything out at once. In a
// long drop a layer sometimes sits out a phrase (seeded); the last bar of a build before a drop
// throws the profile's favourite effect. From a phase's second phrase on, a phrase line where no
// layer moves sometimes swaps one playing layer (not the drums) for another style of it, at the
// energy's intensity, crossfaded over two bars (seeded).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/Rng.h"
#include "dj/DjProfile.h"

namespace soundstar::dj {

/// One layer's part swapped for another style of it (DjSet resolves the style: `style` if set,
/// else what `description` names, else the one at `intensity`), crossfaded over `bars` (1..8).
struct DjReplace {
    std::string layer, style, description;
    double intensity = 0.5;
    int bars = 1;
    std::optional<float> gainDb, pan;  // the layer's trim after it (dB, -24..6; -1..1)
};

/// What the DJ does on one bar line. An empty move (nothing set) changes nothing.
struct DjMove {
    std::string phase;                     // non-empty: this phase starts here
    std::vector<std::string> add, remove;  // layers that come in / go out here
    std::optional<double> energy;          // the energy to move to (0..1)
    int energyBars = 4;                    // over how many bars (0: at once)
    bool cut = false;                      // layers move at once rather than over a bar
    std::string effect;                    // an effect throw (one of effectNames())
    std::vector<DjReplace> replace;        // layers whose part changes style here (playing ones)
    std::string why;                       // what asked for it: "plan", "drop", "user", "llm", ...
    bool empty() const { return phase.empty() && add.empty() && remove.empty() && !energy && effect.empty() && replace.empty(); }
};

class DjBrain {
public:
    /// `setBars` > 0: the set's length in bars (the plan is fitted to it and ends with its
    /// outro); 0: open-ended.
    DjBrain(DjProfile profile, std::uint64_t seed, int setBars);

    /// The move for bar line `bar` (bars from the set's start; call once per bar, in order).
    DjMove onBar(int bar);

    // Requests from the user, acted on at the next bar line.
    void requestNext();                                 ///< Enter: the next move now
    void requestDrop();                                 ///< everything in, full energy
    void requestBreak();                                ///< rhythm and bass out, energy down
    void requestEffect();                               ///< throw the next favourite effect
    void wantLayers(std::vector<std::string> layers);   ///< these layers until the phase ends (empty: the phase's own)
    void nudgeEnergy(double delta);                     ///< move the energy by delta until the phase ends
    /// Another profile (`y dub`): its roles and energy from the next bar; the phase goes on.
    void setProfile(DjProfile profile);
    /// A move from elsewhere (an LLM), already validated; applied at the next bar line.
    void queueMove(DjMove move);
    /// Whether the rules swap a playing layer's style now and then in a long phase (on by default).
    void allowSwaps(bool on) { swaps_ = on; }
    /// The set's new length in bars (after a tempo change; ignored for an open-ended set): the
    /// outro moves so that it still ends the set.
    void setSetBars(int bars);

    const DjProfile& profile() const { return profile_; }
    const std::string& phase() const { return phase_; }
    double energy() const { return energy_; }
    /// Layers playing now (after the last move), in layer order.
    const std::vector<std::string>& playing() const { return playing_; }
    /// The layers of the first phase's first phrase (what the set starts with).
    std::vector<std::string> openingLayers() const;
    /// The phase plan as fitted: phase and first bar of each step.
    const std::vector<std::pair<std::string, int>>& schedule() const { return schedule_; }

private:
    void fitPlan();
    std::vector<std::string> wantedIn(const std::string& phase) const;
    void enterPhase(const std::string& phase, int bar, int bars, DjMove& m);
    void moveLayers(DjMove& m, bool atOnce);
    bool choosePhase(int bar, DjMove& m, bool& atOnce);  // true: decide the layers and energy here
    void restOneLayer(const DjMove& m);
    void maybeSwap(int bar, DjMove& m);
    void mergeQueued(int bar, DjMove& m);
    void applyMove(DjMove& m);
    double energyTarget(int bar) const;
    DjProfile profile_;
    Rng rng_;
    int setBars_ = 0;
    std::vector<std::pair<std::string, int>> schedule_;  // fitted plan: phase, first bar
    std::vector<int> scheduleBars_;                      // and its length
    std::size_t step_ = 0;                               // current step in schedule_ (or beyond, cycling)
    std::string phase_;
    int phaseStart_ = 0, phaseBars_ = 4;
    double energy_ = 0.0, energyOffset_ = 0.0;
    std::vector<std::string> playing_;
    std::optional<std::vector<std::string>> userLayers_;
    std::string sittingOut_;  // a layer resting for this phrase
    bool next_ = false, drop_ = false, break_ = false, effect_ = false;
    std::size_t nextEffect_ = 0;
    std::vector<DjMove> queued_;
    int lastBar_ = -1;
    bool swaps_ = true;
};

}  // namespace soundstar::dj

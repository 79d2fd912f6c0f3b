#include "dj/DjBrain.h"

#include <algorithm>
#include <cmath>

#include "dj/DjStyles.h"
#include "music/Arrangement.h"

namespace soundstar::dj {
namespace {
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

/// `layers` in music::layerNames() order, without repeats.
std::vector<std::string> inLayerOrder(const std::vector<std::string>& layers) {
    std::vector<std::string> out;
    for (const auto& l : music::layerNames())
        if (has(layers, l)) out.push_back(l);
    return out;
}
}  // namespace

DjBrain::DjBrain(DjProfile profile, std::uint64_t seed, int setBars) : profile_(std::move(profile)), rng_(seed ^ 0xD1D1D1ull), setBars_(setBars) {
    fitPlan();
    phase_ = schedule_.front().first;
    phaseBars_ = scheduleBars_.front();
    energy_ = energyTarget(0);
    playing_ = openingLayers();
}

void DjBrain::fitPlan() {
    // The plan in whole phrases; a set of known length gets each step scaled by the same factor
    // (at least a phrase each) and the last step takes what is left.
    const auto& plan = profile_.plan;
    int total = 0;
    for (const auto& s : plan) total += s.bars;
    const double factor = setBars_ > 0 ? static_cast<double>(setBars_) / total : 1.0;
    int start = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        int bars = std::max(kPhraseBars, static_cast<int>(std::lround(plan[i].bars * factor / kPhraseBars)) * kPhraseBars);
        if (setBars_ > 0 && i + 1 == plan.size()) bars = std::max(kPhraseBars, setBars_ - start);
        schedule_.emplace_back(plan[i].phase, start);
        scheduleBars_.push_back(bars);
        start += bars;
    }
    // A set too short for every phase a phrase still ends in its outro (after the first phrase).
    if (setBars_ > 0 && schedule_.size() > 1 && schedule_.back().first == "outro")
        schedule_.back().second = std::max(kPhraseBars, std::min(schedule_.back().second, setBars_ - scheduleBars_.back()));
}

std::vector<std::string> DjBrain::openingLayers() const {
    // The first phrase has the first role the opening phase lists (a set starts small).
    const auto wanted = wantedIn(schedule_.front().first);
    return wanted.empty() ? wanted : std::vector<std::string>{wanted.front()};
}

std::vector<std::string> DjBrain::wantedIn(const std::string& phase) const {
    std::vector<std::string> out;  // in role order: the order they enter
    for (const auto& r : profile_.roles)
        if (has(r.phases, phase)) out.push_back(r.layer);
    return out;
}

double DjBrain::energyTarget(int bar) const {
    const auto& [from, to] = profile_.energyOf(phase_);
    const int phrases = std::max(1, phaseBars_ / kPhraseBars), phrase = std::clamp((bar - phaseStart_) / kPhraseBars, 0, phrases - 1);
    const double at = phrases > 1 ? static_cast<double>(phrase) / (phrases - 1) : 1.0;
    return std::clamp(from + (to - from) * at + energyOffset_, 0.0, 1.0);
}

void DjBrain::enterPhase(const std::string& phase, int bar, int bars, DjMove& m) {
    phase_ = phase;
    phaseStart_ = bar;
    phaseBars_ = std::max(kPhraseBars, bars);
    userLayers_.reset();
    energyOffset_ = 0.0;
    sittingOut_.clear();
    m.phase = phase;
}

void DjBrain::moveLayers(DjMove& m, bool atOnce) {
    auto wanted = userLayers_ ? *userLayers_ : wantedIn(phase_);
    if (!sittingOut_.empty()) std::erase(wanted, sittingOut_);
    // Out: in reverse role order (the last to come is the first to go); in: in role order.
    std::vector<std::string> out, in;
    for (auto it = playing_.rbegin(); it != playing_.rend(); ++it)
        if (!has(wanted, *it)) out.push_back(*it);
    for (const auto& l : wanted)
        if (!has(playing_, l)) in.push_back(l);
    if (!atOnce) {
        if (out.size() > 1) out.resize(1);
        if (in.size() > 1) in.resize(1);
    }
    m.add.insert(m.add.end(), in.begin(), in.end());
    m.remove.insert(m.remove.end(), out.begin(), out.end());
}

void DjBrain::applyMove(DjMove& m) {
    for (const auto& l : m.remove) std::erase(playing_, l);
    // At most kMaxLayers at once: adds past it are dropped (the layer names are fewer today).
    std::vector<std::string> added;
    for (const auto& l : m.add) {
        if (!has(playing_, l) && playing_.size() >= kMaxLayers) continue;
        if (!has(playing_, l)) playing_.push_back(l);
        added.push_back(l);
    }
    m.add = std::move(added);
    playing_ = inLayerOrder(playing_);
    if (m.energy) energy_ = *m.energy;
}

bool DjBrain::choosePhase(int bar, DjMove& m, bool& atOnce) {
    const bool phrase = (bar - phaseStart_) % kPhraseBars == 0;
    if (drop_ || break_) {
        enterPhase(drop_ ? "drop" : "breakdown", bar, 2 * kPhraseBars, m);
        m.why = drop_ ? "drop" : "break";
        m.cut = atOnce = true;
        m.energyBars = 0;
        drop_ = break_ = next_ = false;
        return true;
    }
    if (setBars_ > 0 && phase_ != "outro" && schedule_.back().first == "outro" && bar >= schedule_.back().second &&
        (phrase || bar >= phaseStart_ + phaseBars_)) {
        // Time for the outro (the plan's, or moved up when the set got shorter in bars).
        step_ = schedule_.size() - 1;
        enterPhase("outro", bar, setBars_ - bar, m);
        return true;
    }
    if (bar >= phaseStart_ + phaseBars_ && setBars_ > 0 && step_ + 1 >= schedule_.size()) {
        phaseBars_ += kPhraseBars;  // a fitted set's last phase lasts until the set ends
        return phrase;
    }
    if (bar < phaseStart_ + phaseBars_ && !(next_ && !phrase && wantedIn(phase_).size() == playing_.size())) return phrase;
    // The phase is over (or Enter with nothing left to do in it): the next step of the plan.
    ++step_;
    if (step_ >= schedule_.size()) {
        // Open-ended: cycle from the first build; a fitted set keeps its last phase.
        std::size_t firstBuild = 0;
        while (firstBuild < schedule_.size() && schedule_[firstBuild].first != "build") ++firstBuild;
        step_ = setBars_ > 0 || firstBuild >= schedule_.size() ? schedule_.size() - 1 : firstBuild;
    }
    int bars = scheduleBars_[step_];
    if (setBars_ > 0 && step_ + 1 < schedule_.size()) bars = std::max(kPhraseBars, schedule_[step_ + 1].second - bar);  // back on the plan after a detour
    enterPhase(schedule_[step_].first, bar, bars, m);
    atOnce = phase_ == "drop" || phase_ == "breakdown";
    m.cut = phase_ == "drop";
    return true;
}

void DjBrain::restOneLayer(const DjMove& m) {
    // A long drop breathes: now and then a layer other than drums and bass sits a phrase out.
    sittingOut_.clear();
    if (!m.phase.empty() || phase_ != "drop" || playing_.size() < 3 || rng_.uniform() >= 0.3f) return;
    std::vector<std::string> resting;
    for (const auto& l : playing_)
        if (l != "drums" && l != "bass") resting.push_back(l);
    if (!resting.empty()) sittingOut_ = resting[rng_.nextU32() % resting.size()];
}

void DjBrain::maybeSwap(int bar, DjMove& m) {
    // Mid-phase, on a phrase where nothing else moves: one playing layer changes style.
    if (!swaps_ || !m.phase.empty() || !m.add.empty() || !m.remove.empty() || phase_ == "outro" || bar - phaseStart_ < kPhraseBars) return;
    if (rng_.uniform() >= 0.5f) return;
    std::vector<std::string> swappable;
    for (const auto& l : playing_)
        if (l != "drums" && !styleFieldOf(l).empty()) swappable.push_back(l);
    if (swappable.empty()) return;
    DjReplace r;
    r.layer = swappable[rng_.nextU32() % swappable.size()];
    r.intensity = std::clamp(energy_ + (rng_.uniform() - 0.5) * 0.3, 0.0, 1.0);
    r.bars = 2;
    m.replace.push_back(std::move(r));
}

void DjBrain::mergeQueued(int bar, DjMove& m) {
    for (auto& q : queued_) {  // the user's or an LLM's moves: theirs where they say something
        if (!q.phase.empty()) enterPhase(q.phase, bar, 2 * kPhraseBars, m);
        for (const auto& l : q.add) std::erase(m.remove, l), m.add.push_back(l);
        for (const auto& l : q.remove) std::erase(m.add, l), m.remove.push_back(l);
        if (q.energy) m.energy = q.energy, m.energyBars = q.energyBars;
        m.cut = m.cut || q.cut;
        if (!q.effect.empty()) m.effect = q.effect;
        for (const auto& r : q.replace) {  // theirs over the rules'; one per layer
            std::erase_if(m.replace, [&](const DjReplace& x) { return x.layer == r.layer; });
            m.replace.push_back(r);
        }
        m.why = q.why.empty() ? "llm" : q.why;
    }
    queued_.clear();
    // Keep only real moves: in what is out, out what is in.
    std::erase_if(m.add, [&](const std::string& l) { return has(playing_, l); });
    std::erase_if(m.remove, [&](const std::string& l) { return !has(playing_, l); });
    m.add = inLayerOrder(m.add), m.remove = inLayerOrder(m.remove);
    // Only a layer that plays after this move is replaced (one that comes in comes in as it is).
    std::erase_if(m.replace, [&](const DjReplace& r) { return !has(playing_, r.layer) || has(m.remove, r.layer); });
}

DjMove DjBrain::onBar(int bar) {
    DjMove m;
    if (bar <= lastBar_) return m;
    lastBar_ = bar;
    m.why = "plan";
    bool atOnce = false;
    bool decide = choosePhase(bar, m, atOnce);
    if (next_) decide = true, next_ = false, m.why = m.phase.empty() ? "next" : m.why;
    if (decide) {
        restOneLayer(m);
        moveLayers(m, atOnce);
        m.energy = energyTarget(bar);
        if (!m.cut) m.energyBars = kPhraseBars;
        maybeSwap(bar, m);
    }
    mergeQueued(bar, m);
    const bool buildEnds = phase_ == "build" && bar + 1 == phaseStart_ + phaseBars_ && step_ + 1 < schedule_.size() && schedule_[step_ + 1].first == "drop";
    if ((effect_ || buildEnds) && !profile_.effects.empty()) {
        m.effect = profile_.effects[nextEffect_ % profile_.effects.size()];
        if (effect_) ++nextEffect_;
        effect_ = false;
    }
    applyMove(m);
    return m;
}

void DjBrain::requestNext() { next_ = true; }
void DjBrain::requestDrop() { drop_ = true, break_ = false; }
void DjBrain::requestBreak() { break_ = true, drop_ = false; }
void DjBrain::requestEffect() { effect_ = true; }

void DjBrain::wantLayers(std::vector<std::string> layers) {
    if (layers.empty()) userLayers_.reset();
    else userLayers_ = inLayerOrder(layers);
    next_ = true;  // the user's layers move at the next bar line, all at once
    queued_.push_back({});
    queued_.back().add = userLayers_ ? *userLayers_ : wantedIn(phase_);
    for (const auto& l : playing_)
        if (!has(queued_.back().add, l)) queued_.back().remove.push_back(l);
    queued_.back().why = "user";
    queued_.back().cut = true;  // asked for: at once
}

void DjBrain::nudgeEnergy(double delta) {
    energyOffset_ = std::clamp(energyOffset_ + delta, -1.0, 1.0);
    next_ = true;
}

void DjBrain::setProfile(DjProfile profile) {
    profile_ = std::move(profile);
    // Its layers from the next phrase; the phase and the plan's timing go on.
    std::erase_if(playing_, [&](const std::string& l) { return !has(wantedIn(phase_), l) && !has(wantedIn("drop"), l); });
}

void DjBrain::setSetBars(int bars) {
    if (setBars_ <= 0 || bars <= 0) return;
    setBars_ = bars;
    if (schedule_.back().first == "outro" && step_ + 1 < schedule_.size())
        schedule_.back().second = std::max(lastBar_ + 1, bars - scheduleBars_.back());
}

void DjBrain::queueMove(DjMove move) { queued_.push_back(std::move(move)); }

}  // namespace soundstar::dj

#include "sequencer/MeterMap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace soundstar::sequencer {

void MeterMap::set(std::vector<Meter> changes) {
    if (changes.empty()) throw std::invalid_argument("time_signatures is empty: give the signature at bar 0");
    if (changes.size() > kMaxMeterChanges)
        throw std::invalid_argument(fmt::format("{} time signatures: at most {} are allowed", changes.size(), kMaxMeterChanges));
    for (std::size_t i = 0; i < changes.size(); ++i) {
        const Meter& m = changes[i];
        if (m.numerator < 1 || m.numerator > kMaxNumerator)
            throw std::invalid_argument(fmt::format("time signature {}: numerator {} is outside 1..{}", i, m.numerator, kMaxNumerator));
        if (m.denominator != 1 && m.denominator != 2 && m.denominator != 4 && m.denominator != 8 && m.denominator != 16)
            throw std::invalid_argument(fmt::format("time signature {}: denominator {} is not one of 1, 2, 4, 8, 16", i, m.denominator));
        if (i == 0 && m.bar != 0) throw std::invalid_argument("the first time signature is at bar 0");
        if (i > 0 && m.bar <= changes[i - 1].bar)
            throw std::invalid_argument(fmt::format("time signature {}: bar {} is not after the previous change's bar {}", i, m.bar, changes[i - 1].bar));
        if (static_cast<double>(m.bar) > kMaxMeterBar)
            throw std::invalid_argument(fmt::format("time signature {}: bar {} is past bar {:g}", i, m.bar, kMaxMeterBar));
    }
    std::vector<BeatTime> starts(changes.size(), 0.0);
    for (std::size_t i = 1; i < changes.size(); ++i)
        starts[i] = starts[i - 1] + static_cast<double>(changes[i].bar - changes[i - 1].bar) * changes[i - 1].barBeats();
    changes_ = std::move(changes);
    starts_ = std::move(starts);
}

std::size_t MeterMap::indexAtBeat(BeatTime beat) const {
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), beat);
    return it == starts_.begin() ? 0 : static_cast<std::size_t>(it - starts_.begin()) - 1;
}

BeatTime MeterMap::beatOfBar(double bar) const {
    const auto it = std::upper_bound(changes_.begin(), changes_.end(), bar, [](double b, const Meter& m) { return b < static_cast<double>(m.bar); });
    const std::size_t i = it == changes_.begin() ? 0 : static_cast<std::size_t>(it - changes_.begin()) - 1;
    return starts_[i] + (bar - static_cast<double>(changes_[i].bar)) * changes_[i].barBeats();
}

double MeterMap::barAt(BeatTime beat) const {
    const std::size_t i = indexAtBeat(beat);
    return static_cast<double>(changes_[i].bar) + (beat - starts_[i]) / changes_[i].barBeats();
}

const Meter& MeterMap::meterAt(BeatTime beat) const { return changes_[indexAtBeat(beat)]; }

BeatTime MeterMap::quantise(BeatTime earliest, double bars) const {
    if (!(bars > 0.0)) return earliest;
    const double k = std::ceil(barAt(earliest) / bars - 1e-9);
    return beatOfBar(k * bars);  // within 1e-9 bars of `earliest` counts as on the grid
}

}  // namespace soundstar::sequencer

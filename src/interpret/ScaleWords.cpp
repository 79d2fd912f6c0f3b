// Scale words with intensifiers and comparatives ("very dark", "a bit faster", "darker"), swing
// words, and the tempo settlement that keeps bpm and the tempo label in agreement.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "interpret/Draft.h"
#include "interpret/Words.h"

namespace soundstar::interpret {
namespace {

/// Where a scale word puts its field: a named label (an intensifier pushes it to the scale's
/// end, a softener only one step towards it), or a comparative's step from where it is.
int targetPosition(const ScaleWord& sw, double k, int before, const std::vector<std::string>& labels) {
    const int mid = static_cast<int>(labels.size()) / 2;
    if (*sw.label == '\0') return before + sw.step * (k > 1.5 ? 2 : 1);
    int target = static_cast<int>(std::find(labels.begin(), labels.end(), sw.label) - labels.begin());
    if (k > 1.5 && target != mid) target = target < mid ? 0 : static_cast<int>(labels.size()) - 1;
    if (k < 0.9) target = before + (target > before ? 1 : target < before ? -1 : 0);
    return target;
}

void readSwing(Draft& d) {
    for (std::size_t i = 0; i < d.size(); ++i)
        if (!d.consumed[i] && !d.negated[i] &&
            in(d.tokens[i], {"swing", "swung", "swinging", "shuffle", "shuffled", "shuffling"})) {
            d.set("swing", 0.55, fmt::format("word '{}'", d.tokens[i]), Source::Word);
            d.note(fmt::format("'{}' -> swing 0.55", d.tokens[i]));
            return;
        }
}

}  // namespace

void readScaleWords(Draft& d) {
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (d.consumed[i] || d.negated[i]) continue;
        const ScaleWord* sw = findScaleWord(d.tokens[i]);
        if (!sw || (d.tokens[i] == "close" && in(d.prev(i), {"to", "so"}))) continue;
        const std::string field = sw->field;
        const double k = intensity(d.prev(i));
        const int before = d.position(field);
        const int target = targetPosition(*sw, k, before, Draft::labelsOf(field));
        const std::string said = (k != 1.0 ? d.prev(i) + " " : "") + d.tokens[i];
        d.setPosition(field, target, fmt::format("word '{}'", said), Source::Word);
        if (field == "tempo") d.tempoSteps += d.position("tempo") - before;
        d.consumed[i] = true;
        d.note(fmt::format("'{}' -> {} {}", said, field, d.config[field].dump()));
        d.result.understood = true;
    }
    readSwing(d);
}

void settleTempo(Draft& d) {
    auto& c = d.config;
    if (d.statedBpm) {  // the number decides; the label follows it
        const auto label = music::tempoLabelFor(*d.statedBpm);
        if (c["tempo"] != label)
            d.note(fmt::format("tempo label {} follows the stated {} bpm", label, *d.statedBpm));
        d.set("tempo", label, "the stated bpm", Source::Stated);
        return;
    }
    if (!c.contains("bpm")) return;  // the label alone decides the tempo
    double bpm = c["bpm"].get<double>();
    if (d.tempoSteps != 0) {  // "slow techno": the genre's own tempo, moved as the label moved
        bpm *= std::pow(1.12, d.tempoSteps);
        d.set("bpm", bpm,
              fmt::format("tempo words moved the bpm by {:+d} step{}", d.tempoSteps,
                          std::abs(d.tempoSteps) == 1 ? "" : "s"),
              d.sourceOf("bpm"));
    }
    const std::string label = c["tempo"];
    if (d.sourceOf("tempo") >= Source::Word) {  // a tempo word bounds a genre's bpm
        const auto range = music::tempoLabelRange(label);
        const double bounded =
            std::clamp(std::round(bpm), std::ceil(range.lowBpm), std::ceil(range.highBpm) - 1.0);
        if (bounded != std::round(bpm))
            d.note(fmt::format("bpm {:.0f} -> {:.0f} to be {}", bpm, bounded, label));
        bpm = bounded;
    } else if (music::tempoLabelFor(std::round(bpm)) !=
               label) {  // a genre's bpm beats a neighbour's or a feeling's label
        d.set("tempo", music::tempoLabelFor(std::round(bpm)), fmt::format("the genre's {:.0f} bpm", bpm),
              d.sourceOf("bpm"));
    }
    c["bpm"] = std::clamp(std::round(bpm), 40.0, 220.0);
}

}  // namespace soundstar::interpret

// Valence (VADER and AFINN lexicons, with VADER's negation and booster rules) and arousal
// words: how pleasant and how excited the prompt is. They steer mode, brightness, tempo and
// density only where nothing stronger (a name, a word, a stated value) decided them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "interpret/Draft.h"
#include "interpret/Words.h"

namespace soundstar::interpret {
namespace {

/// VADER's compound score of the valence words, -1..1; `said` lists the first few.
double valenceOf(const ValenceLookup& lexicon, const Draft& d,
                 std::vector<std::string>& said) {
    double sum = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto score = lexicon(d.tokens[i]);
        if (!score || isNegator(d.tokens[i])) continue;
        double v = *score * 4.0;  // VADER's -4..4 scale
        const double k = intensity(d.prev(i));
        v *= k > 1.5 ? 1.3 : k < 0.9 ? 0.7 : 1.0;
        if (d.negated[i]) v *= -0.74;
        sum += v;
        if (said.size() < 6)
            said.push_back(fmt::format("{}{} {:+.1f}", d.negated[i] ? "not " : "", d.tokens[i], v));
    }
    return sum / std::sqrt(sum * sum + 15.0);
}

/// The mean arousal of the arousal words, -1..1; `said` lists the first few.
double arousalOf(const Draft& d, std::vector<std::string>& said) {
    double sum = 0;
    int count = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto it = arousalWords().find(d.tokens[i]);
        if (it == arousalWords().end()) continue;
        double a = it->second * (intensity(d.prev(i)) > 1.5 ? 1.3 : 1.0);
        if (d.negated[i]) a *= -0.5;
        sum += a;
        ++count;
        if (said.size() < 6) said.push_back(d.tokens[i]);
    }
    return count ? std::clamp(sum / count, -1.0, 1.0) : 0.0;
}

/// Sad prompts lean minor and darker, glad ones major and brighter.
void steerByValence(Draft& d, const std::vector<std::string>& said) {
    const double v = d.result.valence;
    std::string did;
    const bool major = majorFamily(d.config["mode"].get<std::string>());
    if ((v <= -0.3 && major) || (v >= 0.3 && !major)) {
        const char* mode = v <= -0.5 ? "minor" : v < 0 ? "dorian" : v >= 0.5 ? "major" : "mixolydian";
        if (d.set("mode", mode, "valence", Source::Feeling)) did += fmt::format(", mode {}", mode);
    }
    if (std::abs(v) >= 0.5 &&
        d.setPosition("brightness", d.position("brightness") + (v > 0 ? 1 : -1), "valence", Source::Feeling))
        did += fmt::format(", brightness {}", d.config["brightness"].get<std::string>());
    d.note(fmt::format("valence {:+.2f} from {}{}", v, fmt::join(said, ", "),
                       did.empty() ? " (fits as it is)" : " ->" + did.substr(1)));
}

/// Excited prompts run faster and fuller, calm ones slower and sparser.
void steerByArousal(Draft& d, const std::vector<std::string>& said) {
    const double a = d.result.arousal;
    const int steps = a >= 0.45 ? 1 : a <= -0.45 ? -1 : 0;
    std::string did;
    if (steps && !d.statedBpm) {
        const int before = d.position("tempo");
        if (d.setPosition("tempo", before + steps, "arousal words", Source::Feeling)) {
            d.tempoSteps += d.position("tempo") - before;
            did += fmt::format(", tempo {}", d.config["tempo"].get<std::string>());
        }
    }
    if (steps && d.setPosition("density", d.position("density") + steps, "arousal words", Source::Feeling))
        did += fmt::format(", density {}", d.config["density"].get<int>());
    d.note(fmt::format("arousal {:+.2f} from {}{}", a, fmt::join(said, ", "),
                       did.empty() ? "" : " ->" + did.substr(1)));
}

}  // namespace

void readFeelings(const ValenceLookup& valence, Draft& d) {
    std::vector<std::string> said, aroused;
    d.result.valence = valenceOf(valence, d, said);
    d.result.arousal = arousalOf(d, aroused);
    if (!said.empty()) steerByValence(d, said);
    if (!aroused.empty()) steerByArousal(d, aroused);
    d.result.understood = d.result.understood || !said.empty() || !aroused.empty();
}

void readFeelings(const std::unordered_map<std::string, float>& valence, Draft& d) {
    readFeelings(
        [&](const std::string& w) -> std::optional<float> {
            const auto it = valence.find(w);
            return it == valence.end() ? std::nullopt : std::optional<float>(it->second);
        },
        d);
}

}  // namespace soundstar::interpret

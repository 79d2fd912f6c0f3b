// Instruments the prompt names ("piano", "808", "solo cello"), and what it says to leave out
// ("no drums", "without bass", "drumless").
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "interpret/Draft.h"
#include "interpret/Words.h"

namespace soundstar::interpret {
namespace {

using Names = std::vector<std::string>;

void removeName(Names& names, const std::string& name) {
    names.erase(std::remove(names.begin(), names.end(), name), names.end());
}

/// "no drums", "without bass", "no melody", "no reverb", "no echo", "no vocals", "no piano".
void readLeftOut(const std::string& w, Draft& d, Names& instruments) {
    const auto why = fmt::format("'no {}'", w);
    if (isDrumWord(w) || w == "drumkit") {
        d.set("rhythm", "none", why, Source::Word);
        d.note(fmt::format("'no {}' -> rhythm none", w));
        removeName(instruments, "drums");
    } else if (in(w, {"bass", "bassline", "basslines", "sub", "low-end"})) {
        d.set("bass", "none", why, Source::Word);
        d.set("depth", false, why, Source::Word);
        d.note(fmt::format("'no {}' -> bass none, no sub", w));
        removeName(instruments, "808");
    } else if (in(w, {"melody", "melodies", "lead", "tune"})) {
        d.set("melody", "minimal", why, Source::Word);
        d.set("accent", "none", why, Source::Word);
        d.note(fmt::format("'no {}' -> melody minimal, no accent layer", w));
    } else if (in(w, {"reverb", "space"})) {
        d.set("space", "dry", why, Source::Word);
        d.note(fmt::format("'no {}' -> space dry", w));
    } else if (in(w, {"echo", "echoes", "delay", "delays"})) {
        d.set("echo", "none", why, Source::Word);
        d.note(fmt::format("'no {}' -> echo none", w));
    } else if (in(w, {"vocals", "vocal", "singing", "lyrics", "voice", "voices"})) {
        d.note(fmt::format("'no {}': soundstar sings no words anyway", w));
        removeName(instruments, "choir");
    } else if (const auto it = instrumentWords().find(w); it != instrumentWords().end()) {
        removeName(instruments, it->second);
        d.note(fmt::format("'no {}' -> no {} in the instrumentation", w, it->second));
    }
}

/// An instrument word that names no instrument here: "acoustic piano", "keys to", "string of".
bool isModifier(std::size_t i, const Draft& d) {
    const auto& w = d.tokens[i];
    const std::string next = i + 1 < d.size() ? d.tokens[i + 1] : "";
    if (w == "acoustic" && instrumentWords().count(next)) return true;
    return in(w, {"keys", "string", "horn", "drum"}) && !instrumentWords().count(next) &&
           in(next, {"of", "to"});
}

/// A named instrument: added (or made the only one, "solo piano"); drums turn the rhythm on.
void readNamed(std::size_t i, const std::string& name, Draft& d, Names& instruments, Names& named) {
    const auto& w = d.tokens[i];
    if (name == "drums") {
        // "drums" brings back a rhythm that similarity or a genre left out, not one the prompt refused.
        if (d.config["rhythm"] == "none" && d.sourceOf("rhythm") < Source::Word &&
            d.set("rhythm", "kit_medium", fmt::format("word '{}'", w), Source::Word))
            d.note(fmt::format("'{}' -> rhythm kit_medium", w));
        return;
    }
    if (std::find(instruments.begin(), instruments.end(), name) == instruments.end())
        instruments.push_back(name);
    named.push_back(name);
    const std::string next = i + 1 < d.size() ? d.tokens[i + 1] : "";
    if (in(d.prev(i), {"solo", "just", "only", "lone", "unaccompanied"}) ||
        in(next, {"solo", "only", "alone"})) {
        d.set("rhythm", "none", fmt::format("'solo {}'", w), Source::Word);
        d.set("density", 3, fmt::format("'solo {}'", w), Source::Word);
        instruments = {name};
        d.note(fmt::format("'{} {}' -> just that instrument: no drums, density 3", d.prev(i), w));
    }
    if (in(w, {"sax", "saxophone"})) d.note(fmt::format("'{}': no saxophone yet; brass stands in", w));
    if (name == "808") d.set("depth", true, "word '808'", Source::Word);
}

}  // namespace

void readInstruments(Draft& d) {
    Names instruments =
        d.config.contains("instrumentation") ? d.config["instrumentation"].get<Names>() : Names{};
    Names named;
    for (std::size_t i = 0; i < d.size(); ++i) {
        const auto& w = d.tokens[i];  // genre names may name instruments too ("orchestral", "string quartet")
        if (number(w) && d.consumed[i]) continue;
        if (d.negated[i]) {
            readLeftOut(w, d, instruments);
        } else if (in(w, {"drumless", "beatless", "a-cappella", "arrhythmic"})) {
            d.set("rhythm", "none", fmt::format("word '{}'", w), Source::Word);
            d.note(fmt::format("'{}' -> rhythm none", w));
        } else if (const auto it = instrumentWords().find(w);
                   it != instrumentWords().end() && !isModifier(i, d)) {
            readNamed(i, it->second, d, instruments, named);
        }
    }
    if (named.empty() && !d.config.contains("instrumentation")) return;
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    if (!named.empty()) {
        d.note(fmt::format("instrument words -> instrumentation {}", fmt::join(instruments, ", ")));
        d.set("instrumentation", instruments, "instrument words", Source::Word);
        d.result.understood = true;
    } else if (instruments.empty()) {
        d.set("instrumentation", instruments, "negation", Source::Word);
    } else if (instruments != d.config["instrumentation"].get<Names>()) {
        d.set("instrumentation", instruments, "negation", d.sourceOf("instrumentation"));
    }
}

}  // namespace soundstar::interpret

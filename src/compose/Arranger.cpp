#include "compose/Arranger.h"

#include "music/JsonText.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace soundstar::compose {
namespace {
using music::Arrangement;
using music::Section;
using nlohmann::json;

struct Shape {
    const char* kind;
    double weight;  // share of the bars
    float energy;   // relative to the piece's energy
};

std::vector<Shape> shapeOf(const std::string& form) {
    if (form == "verse_chorus")
        return {{"intro", 1, 0.35f}, {"verse", 2, 0.6f},  {"chorus", 2, 0.9f}, {"verse", 2, 0.65f},
                {"chorus", 2, 0.95f}, {"bridge", 1, 0.5f}, {"chorus", 2, 1.0f}, {"outro", 1, 0.3f}};
    if (form == "aaba") return {{"a", 1, 0.6f}, {"a", 1, 0.7f}, {"b", 1, 0.85f}, {"a", 1, 0.75f}};
    if (form == "build_drop")
        return {{"intro", 1, 0.3f}, {"build", 1, 0.6f}, {"drop", 2, 1.0f}, {"breakdown", 1, 0.35f},
                {"build", 1, 0.7f}, {"drop", 2, 1.0f}, {"outro", 1, 0.3f}};
    if (form == "ambient_arc")
        return {{"intro", 1, 0.2f}, {"verse", 2, 0.45f}, {"chorus", 2, 0.7f}, {"bridge", 1, 0.5f}, {"outro", 1, 0.25f}};
    return {{"loop", 1, 0.85f}};
}

/// Which layers a section kind uses, before density limits them.
std::vector<std::string> layersFor(const std::string& kind) {
    if (kind == "intro") return {"pad", "keys", "texture"};
    if (kind == "outro") return {"pad", "keys", "lead", "texture"};
    if (kind == "build") return {"drums", "bass", "pad", "arp", "texture"};
    if (kind == "breakdown") return {"pad", "lead", "texture"};
    if (kind == "bridge") return {"pad", "bass", "keys", "lead", "texture"};
    if (kind == "verse" || kind == "a") return {"drums", "bass", "pad", "keys", "texture"};
    return {"drums", "bass", "pad", "keys", "arp", "lead", "texture"};  // chorus, drop, b, loop
}

/// Layers the config allows: density 2..6 picks pad and bass, then drums, keys, arp (the accent
/// layer), lead in that order; rhythm "none" removes drums, accent "none" the accent layer,
/// bass "none" the bass.
std::vector<std::string> allowedLayers(const music::MusicConfig& c) {
    std::vector<std::string> out{"pad"};
    if (c.bass != "none") out.emplace_back("bass");  // "none": no bass line (and so no sub either)
    int budget = std::clamp(c.density, 2, 6) - 2;
    for (const char* l : {"drums", "keys", "arp", "lead"}) {
        if (std::string(l) == "drums" && c.rhythm == "none") continue;
        if (std::string(l) == "arp" && c.accent == "none") continue;  // the accent layer
        if (budget-- > 0) out.emplace_back(l);
    }
    if (c.texture != "none") out.emplace_back("texture");  // a background bed, outside the density count
    return out;
}

std::vector<std::string> intersect(const std::vector<std::string>& want, const std::vector<std::string>& allowed) {
    std::vector<std::string> out;
    for (const auto& l : want)
        if (std::find(allowed.begin(), allowed.end(), l) != allowed.end()) out.push_back(l);
    if (out.empty()) out.push_back("pad");  // never a silent section
    return out;
}

std::string autoForm(const music::MusicConfig& c, double seconds) {
    if (seconds < 20.0) return "short";
    if (c.rhythm == "electronic" || c.genre == "techno" || c.genre == "house") return "build_drop";
    if (c.rhythm == "none" || c.rhythm == "minimal" || c.rhythm == "heartbeat") return "ambient_arc";
    if (c.genre == "jazz") return "aaba";
    return "verse_chorus";
}

/// The tension curve's level (0..1) at position x (0..1) through the piece.
float tension(const std::string& curve, double x) {
    constexpr double kPi = 3.14159265358979;
    if (curve == "ramp") return static_cast<float>(0.35 + 0.65 * x);
    if (curve == "flat") return 0.75f;
    if (curve == "wave") return static_cast<float>(0.65 + 0.35 * std::sin(4.0 * kPi * x - kPi / 2.0));
    if (curve == "valley") return static_cast<float>(1.0 - 0.6 * std::sin(kPi * x));
    return static_cast<float>(0.4 + 0.6 * std::sin(kPi * x));  // arc
}

/// Splits `bars` among shapes by weight (every section at least one bar, rounding kept exact).
std::vector<int> splitBars(const std::vector<Shape>& shapes, int bars) {
    double total = 0.0;
    for (const auto& s : shapes) total += s.weight;
    std::vector<int> out;
    int used = 0;
    double acc = 0.0;
    for (const auto& s : shapes) {
        acc += s.weight;
        const int end = static_cast<int>(std::lround(acc / total * bars));
        out.push_back(std::max(1, end - used));
        used += out.back();
    }
    // Fix any overshoot from the one-bar minimum by trimming the longest sections.
    while (used > bars) {
        auto it = std::max_element(out.begin(), out.end());
        if (*it <= 1) break;
        --*it;
        --used;
    }
    return out;
}

/// Tempo and bar count for the duration: a loop nudges the tempo so whole bars fill it exactly;
/// an ending leaves room (about 15%, 0.5..2.5 s) for the final chord to ring.
// Whole bars, at least one each, summing exactly to `total` (>= ideal.size()): the floors, then
// the largest remainders get the bars left over, or the largest sections give back the excess.
std::vector<int> wholeBars(const std::vector<double>& ideal, int total) {
    std::vector<int> bars;
    int sum = 0;
    for (const double x : ideal) sum += bars.emplace_back(std::max(1, static_cast<int>(std::floor(x))));
    while (sum != total) {
        std::size_t pick = 0;
        for (std::size_t i = 1; i < bars.size(); ++i) {
            const double gapI = ideal[i] - bars[i], gapPick = ideal[pick] - bars[pick];
            if (sum < total ? gapI > gapPick : (bars[i] > 1 && (bars[pick] == 1 || gapI < gapPick))) pick = i;
        }
        const int step = sum < total ? 1 : -1;
        bars[pick] += step;
        sum += step;
    }
    return bars;
}

void checkLength(double seconds, const std::string& what) {
    if (!std::isfinite(seconds) || seconds <= 0.0 || seconds > music::kMaxSeconds)
        throw std::invalid_argument(fmt::format("{} would last {:.1f} s; allowed above 0, up to {:g} s (the length limit)", what,
                                                seconds, music::kMaxSeconds));
}

// A loop is whole bars. Prefer the bar count whose exact fit to `seconds` moves the tempo least;
// accept it when the move is within kLoopTempoNudge and the tempo stays in range. Otherwise keep
// the tempo and let the loop's length be whole bars near `seconds` (the caller reports both).
constexpr double kLoopTempoNudge = 0.15;
void fitLoop(Arrangement& a, double seconds) {
    const double asked = a.bpm;
    int best = 0;
    double bestMove = 1e9;
    const int most = static_cast<int>(seconds * music::kMaxBpm / (60.0 * a.beatsPerBar)) + 1;
    for (int bars = std::max(1, static_cast<int>(seconds * music::kMinBpm / (60.0 * a.beatsPerBar))); bars <= most; ++bars) {
        const double bpm = bars * a.beatsPerBar * 60.0 / seconds;
        if (bpm < music::kMinBpm || bpm > music::kMaxBpm) continue;
        const double move = std::abs(bpm / asked - 1.0);
        if (move < bestMove) best = bars, bestMove = move;
    }
    if (best > 0 && bestMove <= kLoopTempoNudge) {
        a.totalBars = best;
        a.bpm = best * a.beatsPerBar * 60.0 / seconds;
        a.durationSeconds = seconds;
        return;
    }
    a.totalBars = std::max(1, static_cast<int>(std::lround(seconds / a.barSeconds())));
    a.durationSeconds = a.totalBars * a.barSeconds();
}

void fitBars(Arrangement& a, const music::MusicConfig& c, double seconds) {
    checkLength(seconds, "the piece");
    a.bpm = c.resolvedBpm();
    a.durationSeconds = seconds;
    if (a.loop) {
        fitLoop(a, seconds);
        checkLength(a.durationSeconds, fmt::format("a seamless loop of {} whole bars at {:.4g} bpm", a.totalBars, a.bpm));
    } else {
        const double ring = std::clamp(seconds * 0.15, 0.5, 2.5);
        a.totalBars = std::max(1, static_cast<int>(std::floor((seconds - ring) / a.barSeconds())));
    }
}
}  // namespace

const std::vector<std::string>& formNames() {
    static const std::vector<std::string> f{"auto", "verse_chorus", "aaba", "build_drop", "ambient_arc", "loop"};
    return f;
}

Arrangement arrange(const music::MusicConfig& c, double seconds, const ArrangeOptions& o) {
    if (std::find(formNames().begin(), formNames().end(), o.form) == formNames().end())
        throw std::invalid_argument(fmt::format("unknown form '{}'; allowed: {}", o.form, fmt::join(formNames(), ", ")));
    Arrangement a;
    a.loop = o.loop;
    fitBars(a, c, seconds);
    a.form = o.form == "auto" ? autoForm(c, seconds) : o.form;
    auto shapes = shapeOf(a.form);
    if (a.form == "short") shapes = {{"verse", 1, 0.8f}};
    if (a.loop && a.form != "loop") {
        // A loop has no intro or outro: keep the body of the form.
        shapes.erase(std::remove_if(shapes.begin(), shapes.end(),
                                    [](const Shape& s) { return std::string(s.kind) == "intro" || std::string(s.kind) == "outro"; }),
                     shapes.end());
        if (shapes.empty()) shapes = {{"loop", 1, 0.85f}};
    }
    if (o.unitBars != 0) {
        if (!a.loop || o.unitBars < 1 || o.unitBars > 64)
            throw std::invalid_argument(fmt::format("unitBars {}: allowed 1 to 64, and only for a loop", o.unitBars));
        double units = 0.0;
        for (const auto& s : shapes) units += s.weight;
        a.bpm = c.resolvedBpm();
        a.totalBars = o.unitBars * std::max(1, static_cast<int>(std::lround(units)));
        a.durationSeconds = a.totalBars * a.barSeconds();
        checkLength(a.durationSeconds, fmt::format("a cycle of {} bars at {:.4g} bpm", a.totalBars, a.bpm));
    }
    if (static_cast<int>(shapes.size()) > a.totalBars) shapes.resize(static_cast<std::size_t>(std::max(1, a.totalBars)));
    const auto bars = splitBars(shapes, a.totalBars);
    const auto allowed = allowedLayers(c);
    // The piece's energy: the rhythm style and the tempo label (see sketchFromMusicConfig).
    const float base = std::clamp(0.35f + 0.5f * static_cast<float>(c.level("tempo")) +
                                      (c.rhythm == "electronic" || c.rhythm == "kit_medium" ? 0.15f : 0.0f),
                                  0.1f, 1.0f);
    int start = 0;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const double centre = (start + bars[i] * 0.5) / std::max(1, a.totalBars);
        const float energy = base * (0.5f * shapes[i].energy + 0.5f * tension(c.tensionCurve, centre));
        a.sections.push_back({shapes[i].kind, start, bars[i], std::clamp(energy, 0.0f, 1.0f),
                              intersect(layersFor(shapes[i].kind), allowed)});
        start += bars[i];
    }
    a.totalBars = start;
    return a;
}

Arrangement arrangeFromStructure(const music::MusicConfig& c, const std::string& text, double seconds, bool loop) {
    const json j = music::parseJsonBounded(text, "structure");
    if (!j.is_array() || j.empty() || j.size() > 64)
        throw std::invalid_argument("structure: must be a JSON array of 1 to 64 sections, e.g. "
                                    "[{\"section\":\"verse\",\"duration\":15}]");
    Arrangement a;
    a.loop = loop;
    a.form = "structure";
    a.bpm = c.resolvedBpm();
    struct Entry {
        std::string kind;
        double bars;
        float energy;
        std::vector<std::string> layers;
    };
    std::vector<Entry> entries;
    const auto allowed = allowedLayers(c);
    for (std::size_t i = 0; i < j.size(); ++i) {
        const json& e = j[i];
        const auto where = fmt::format("structure[{}]", i);
        if (!e.is_object()) throw std::invalid_argument(where + ": each section must be an object");
        for (const auto& [k, v] : e.items())
            if (k != "section" && k != "duration" && k != "bars" && k != "energy" && k != "layers")
                throw std::invalid_argument(
                    fmt::format("{}: unknown field '{}'; allowed: section, duration, bars, energy, layers", where, music::clipText(k, 60)));
        if (!e.contains("section") || !e["section"].is_string() ||
            std::find(music::sectionKinds().begin(), music::sectionKinds().end(), e["section"].get<std::string>()) ==
                music::sectionKinds().end())
            throw std::invalid_argument(fmt::format("{}: 'section' must be one of {}", where, fmt::join(music::sectionKinds(), ", ")));
        Entry en{e["section"].get<std::string>(), 0.0, -1.0f, {}};
        if (e.contains("bars")) {
            if (!e["bars"].is_number_integer() || e["bars"].get<int>() < 1 || e["bars"].get<int>() > 512)
                throw std::invalid_argument(fmt::format("{}: 'bars' = {} is invalid: allowed an integer from 1 to 512", where, music::quoteJson(e["bars"])));
            en.bars = e["bars"].get<int>();
        } else if (e.contains("duration")) {
            if (!e["duration"].is_number() || e["duration"].get<double>() <= 0.0 || e["duration"].get<double>() > 3600.0)
                throw std::invalid_argument(fmt::format("{}: 'duration' = {} is invalid: allowed seconds above 0, up to 3600", where, music::quoteJson(e["duration"])));
            en.bars = e["duration"].get<double>() / a.barSeconds();
        } else {
            throw std::invalid_argument(where + ": give 'duration' (seconds) or 'bars'");
        }
        if (e.contains("energy")) {
            if (!e["energy"].is_number() || e["energy"].get<double>() < 0.0 || e["energy"].get<double>() > 1.0)
                throw std::invalid_argument(fmt::format("{}: 'energy' = {} is invalid: allowed 0 to 1", where, music::quoteJson(e["energy"])));
            en.energy = e["energy"].get<float>();
        }
        if (e.contains("layers")) {
            if (!e["layers"].is_array()) throw std::invalid_argument(where + ": 'layers' must be a list of layer names");
            for (const auto& l : e["layers"]) {
                if (!l.is_string() || std::find(music::layerNames().begin(), music::layerNames().end(), l.get<std::string>()) ==
                                          music::layerNames().end())
                    throw std::invalid_argument(fmt::format("{}: layer {} is unknown; allowed: {}", where, music::quoteJson(l),
                                                            fmt::join(music::layerNames(), ", ")));
                en.layers.push_back(l.get<std::string>());
            }
        }
        entries.push_back(std::move(en));
    }
    double totalBars = 0.0;
    for (const auto& e : entries) totalBars += e.bars;
    if (seconds <= 0.0) checkLength(totalBars * a.barSeconds(), fmt::format("the structure's {} sections", entries.size()));
    // Scale to the requested duration when one is given; otherwise the sections' own sum, plus
    // room for the final chord to ring unless it loops.
    if (seconds > 0.0) {
        fitBars(a, c, seconds);
    } else {
        a.totalBars = std::max(1, static_cast<int>(std::lround(totalBars)));
        const double body = a.totalBars * a.barSeconds();
        a.durationSeconds = loop ? body : body + std::clamp(body * 0.15, 0.5, 2.5);
    }
    if (static_cast<int>(entries.size()) > a.totalBars)
        throw std::invalid_argument(fmt::format("structure: {} sections need at least {} bars, but {:g} s holds only {} bars at {:.4g} bpm; "
                                                "give fewer sections or a longer duration",
                                                entries.size(), entries.size(), seconds, a.totalBars, a.bpm));
    std::vector<double> ideal;
    for (const auto& e : entries) ideal.push_back(e.bars * a.totalBars / std::max(totalBars, 1e-9));
    const auto bars = wholeBars(ideal, a.totalBars);
    int start = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        const auto shapes = shapeOf("verse_chorus");
        float energy = e.energy;
        if (energy < 0.0f) {
            energy = 0.6f;
            for (const auto& s : shapeOf("build_drop"))
                if (e.kind == s.kind) energy = s.energy;
            for (const auto& s : shapes)
                if (e.kind == s.kind) energy = s.energy;
        }
        // Layers named explicitly play as asked; otherwise the kind's layers within the density.
        a.sections.push_back({e.kind, start, bars[i], energy, e.layers.empty() ? intersect(layersFor(e.kind), allowed) : e.layers});
        start += bars[i];
    }
    a.totalBars = start;
    return a;
}

}  // namespace soundstar::compose

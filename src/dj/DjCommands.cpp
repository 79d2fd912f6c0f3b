#include "dj/DjCommands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "dj/DjStyles.h"
#include "dj/DjVoice.h"
#include "live/Steering.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"

namespace soundstar::dj {
namespace {

// The plain words, as a table (the steering parser reads the rest).
struct Word {
    const char* word;
    const char* kind;
    void (*run)(DjSet&);
};
const Word kWords[] = {
    {"", "next", [](DjSet& s) { s.brain().requestNext(); }},
    {"next", "next", [](DjSet& s) { s.brain().requestNext(); }},
    {"drop", "drop", [](DjSet& s) { s.brain().requestDrop(); }},
    {"break", "break", [](DjSet& s) { s.brain().requestBreak(); }},
    {"x", "x", [](DjSet& s) { s.brain().requestEffect(); }},
    {"more energy", "energy", [](DjSet& s) { s.brain().nudgeEnergy(0.25); }},
    {"less energy", "energy", [](DjSet& s) { s.brain().nudgeEnergy(-0.25); }},
};
constexpr std::size_t kMaxLine = 2000;

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument(fmt::format("{}; allowed commands: {}", what, djCommandHelp())); }

/// r ROLE [DESCRIPTION]: a playing layer's part to another style (the one the description
/// names, else the next at the set's energy) over two bars from the next bar line.
DjCommandResult replaceCommand(DjSet& set, const std::string& line) {
    std::string rest = line.size() > 2 ? line.substr(2) : std::string();
    while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
    if (rest.empty()) refuse("r needs a layer (r bass walking)");
    const auto space = rest.find(' ');
    const std::string role = rest.substr(0, space), description = space == std::string::npos ? std::string() : rest.substr(space + 1);
    DjReplace r;
    r.layer = layerForRole(role);
    const auto& playing = set.brain().playing();
    if (r.layer.empty() || styleFieldOf(r.layer).empty() || std::find(playing.begin(), playing.end(), r.layer) == playing.end()) {
        std::vector<std::string> styled;
        for (const auto& l : playing)
            if (!styleFieldOf(l).empty()) styled.push_back(l);
        refuse(fmt::format("r: '{}' is not a playing layer with styles; allowed now: {}", music::clipText(role, 40),
                           styled.empty() ? std::string("none") : fmt::format("{}", fmt::join(styled, ", "))));
    }
    r.description = music::clipText(description, 200);
    r.intensity = set.brain().energy();
    r.bars = 2;
    DjMove m;
    m.replace.push_back(std::move(r));
    m.why = "user";
    set.brain().queueMove(std::move(m));
    return {"replace", {}};
}

/// g [BARS] DESCRIPTION: a generated loop (1, 2, 4 or 8 bars; 4 when not given) from the model
/// the set was started with; g off: the loop leaves.
DjCommandResult generateCommand(DjSet& set, const std::string& line) {
    std::string rest = line.size() > 2 ? line.substr(2) : std::string();
    while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
    if (rest == "off") {
        if (!set.stopLoop()) refuse("g off: no generated loop plays");
        return {"generate", {}};
    }
    int bars = 4;
    const auto space = rest.find(' ');
    const std::string first = rest.substr(0, space);
    if (!first.empty() && std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        bars = first.size() <= 2 ? std::stoi(first) : 0;
        if (!loopBarsAllowed(bars)) refuse(fmt::format("g: a loop is 1, 2, 4 or 8 bars (not {})", music::clipText(first, 12)));
        rest = space == std::string::npos ? std::string() : rest.substr(space + 1);
        while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
    }
    if (rest.empty()) refuse("g needs a description of the loop (g 4 dub chords stabs; g off)");
    try {
        set.generateLoop(rest, bars);
    } catch (const std::invalid_argument& e) {
        refuse(e.what());
    }
    return {"generate", {}};
}

}  // namespace

const char* djCommandHelp() {
    return "next (or an empty line), drop, break, x (effect throw), more energy, less energy, s LAYERS (s drums,bass; s all), b BPM, k KEY (k F minor), "
           "y PROFILE, r LAYER [STYLE] (r bass walking), say TEXT, g [BARS] DESCRIPTION (a generated loop; g off), q, or free text (a vibe)";
}

DjCommandResult applyDjCommand(DjSet& set, std::string line, const DjVibes& vibes) {
    if (line.size() > kMaxLine) refuse(fmt::format("a command is at most {} bytes (this one is {})", kMaxLine, line.size()));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(line.begin());
    if (std::any_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        refuse("a command is one line of text without control characters");
    if (line == "q") return {"quit", {}};
    for (const auto& w : kWords)
        if (line == w.word) return w.run(set), DjCommandResult{w.kind, {}};
    if (line == "say" || line.rfind("say ", 0) == 0) {
        auto text = line.size() > 4 ? line.substr(4) : std::string();
        if (text.find_first_not_of(' ') == std::string::npos) refuse("say needs something to say (say TEXT)");
        if (text.size() > kMaxSpeechBytes) refuse(fmt::format("say: at most {} bytes to speak (this is {})", kMaxSpeechBytes, text.size()));
        text = music::clipText(text, kMaxSpeechBytes);  // valid UTF-8 (it goes into events)
        try {
            set.say(text);
        } catch (const std::invalid_argument& e) {
            refuse(e.what());
        }
        return {"say", text};
    }
    if (line == "r" || line.rfind("r ", 0) == 0) return replaceCommand(set, line);
    if (line == "g" || line.rfind("g ", 0) == 0) return generateCommand(set, line);
    // A one-letter word is a command: only s, b, k, y, x, r and g are.
    if (line.size() >= 2 && line[1] == ' ' && std::string("sbkyxrg").find(line[0]) == std::string::npos)
        refuse(fmt::format("'{}' is not a command", music::clipText(line.substr(0, 1), 8)));
    if (line.size() == 1 && std::string("sbky").find(line[0]) != std::string::npos) refuse(fmt::format("'{}' needs a value", line));
    if (line.rfind("x ", 0) == 0) refuse("x takes nothing after it (x: the next favourite effect)");
    try {
        if (line.rfind("y ", 0) == 0) {
            auto [profile, vibe] = vibes.profile(line.substr(2));
            set.changeVibe(std::move(vibe), std::move(profile));
            return {"profile", {}};
        }
        const auto c = live::parseSteering(line, set.base().config);
        if (c.quit) return {"quit", {}};
        if (c.layers) {
            const auto& names = music::layerNames();
            for (const auto& l : *c.layers)
                if (std::find(names.begin(), names.end(), l) == names.end())
                    throw std::invalid_argument(fmt::format("'{}' is not a layer; allowed: {}, or all", music::clipText(l, 40), fmt::join(names, ", ")));
            set.brain().wantLayers(*c.layers);
            return {"layers", {}};
        }
        if (line.rfind("b ", 0) == 0 && c.config && c.config->bpm) {
            set.setTempo(*c.config->bpm);
            return {"tempo", {}};
        }
        if (c.config) {
            auto v = set.base();
            v.config = *c.config;
            v.label = c.label;
            set.changeVibe(v, std::nullopt);
            return {line.rfind("k ", 0) == 0 ? "key" : "config", {}};
        }
        if (c.vibeText) {
            auto v = vibes.text(*c.vibeText);
            v.config.density = 6;  // every layer is composed; the DJ decides which play
            set.changeVibe(v, std::nullopt);
            return {"vibe", {}};
        }
    } catch (const std::invalid_argument& e) {
        refuse(music::clipText(e.what(), 1200));
    }
    refuse(fmt::format("'{}' asks for nothing", music::clipText(line, 80)));
}

}  // namespace soundstar::dj

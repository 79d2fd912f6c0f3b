// Fuzz target: what the DJ reads, a profile's "dj" object (dj::parseDjProfile) and an LLM's plan
// (dj::parseDjAnswer). Properties: errors are std::invalid_argument with a bounded message; an
// accepted profile keeps its limits and a brain playing it for 96 bars (fitted and open-ended)
// only ever plays its roles at an energy in 0..1 in the five phases; an accepted plan only names
// the profile's roles, once each, at most kMaxActions of them.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include "FuzzCheck.h"
#include "dj/DjAnswer.h"
#include "dj/DjBrain.h"
#include "dj/DjGenLoop.h"
#include "dj/DjProfile.h"

using namespace soundstar;

namespace {
void playIt(const dj::DjProfile& p, int setBars) {
    dj::DjBrain brain(p, 1, setBars);
    for (int bar = 1; bar < 96; ++bar) {
        if (bar == 40) brain.requestDrop();
        if (bar == 50) brain.requestBreak();
        brain.onBar(bar);
        if (!(brain.energy() >= 0.0 && brain.energy() <= 1.0)) fuzz::finding("an energy out of 0..1");
        const auto& names = dj::phaseNames();
        if (std::find(names.begin(), names.end(), brain.phase()) == names.end()) fuzz::finding("an unknown phase", brain.phase());
        for (const auto& l : brain.playing())
            if (std::none_of(p.roles.begin(), p.roles.end(), [&](const dj::DjRole& r) { return r.layer == l; })) fuzz::finding("a layer without a role", l);
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    compose::StyleProfile style;
    style.name = "fuzz";
    style.configJson = R"({"bpm": 120})";
    try {
        const auto p = dj::parseDjProfile(text, style, "fuzz");
        if (p.roles.empty() || p.roles.size() > dj::kMaxRoles || p.plan.empty() || p.plan.size() > dj::kMaxPlanSteps || !(p.minBpm <= p.maxBpm))
            fuzz::finding("a profile past its limits");
        for (const auto& s : p.plan)
            if (s.bars % dj::kPhraseBars != 0 || s.bars < dj::kPhraseBars || s.bars > dj::kMaxPhaseBars) fuzz::finding("a plan step of part phrases");
        playIt(p, 0);
        playIt(p, 48);
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    static const dj::DjProfile techno = [] {
        compose::ProfileLibrary lib;
        lib.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "profiles");
        return dj::djProfile(lib, "techno_minimal");
    }();
    try {
        const auto a = dj::parseDjAnswer(text, techno);
        std::vector<std::string> all = a.move.add;
        all.insert(all.end(), a.move.remove.begin(), a.move.remove.end());
        if (all.size() > dj::kMaxActions) fuzz::finding("more moves than actions");
        std::sort(all.begin(), all.end());
        if (std::adjacent_find(all.begin(), all.end()) != all.end()) fuzz::finding("a layer moved twice");
        for (const auto& l : all)
            if (!techno.plays(l, "intro") && !techno.plays(l, "build") && !techno.plays(l, "drop") && !techno.plays(l, "breakdown") && !techno.plays(l, "outro"))
                fuzz::finding("a layer that is not a role", l);
        if (a.move.energy && !(*a.move.energy >= 0.0 && *a.move.energy <= 1.0)) fuzz::finding("an energy out of 0..1");
        if (a.loop && (a.loop->description.empty() || a.loop->description.size() > dj::kMaxLoopDescriptionBytes || !dj::loopBarsAllowed(a.loop->bars)))
            fuzz::finding("a generate_loop out of its limits");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

#pragma once
// Shared by the DJ tests (test_dj*.cpp): the style profiles from the data folder, a DJ profile that
// plays only some layers, and the vibe a set of that profile starts from.
#include <filesystem>
#include <string>
#include <vector>

#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/DjProfile.h"
#include "live/Stream.h"

namespace soundstar::test {

inline const compose::ProfileLibrary& profileLibrary() {
    static const compose::ProfileLibrary lib = [] {
        compose::ProfileLibrary l;
        l.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "profiles");
        return l;
    }();
    return lib;
}

/// techno_minimal's music (126 bpm) with a DJ that plays only `layers`, entering in this order a
/// phrase apart (one long intro).
inline dj::DjProfile onlyLayers(const std::vector<std::string>& layers) {
    const auto techno = dj::djProfile(profileLibrary(), "techno_minimal");
    std::string roles;
    for (const auto& l : layers) roles += (roles.empty() ? "" : ", ") + std::string(R"({"layer": ")") + l + R"(", "role": "part", "phases": ["intro", "outro"]})";
    return dj::parseDjProfile(R"({"tempo": [120, 132], "roles": [)" + roles + R"(], "plan": [{"phase": "intro", "bars": 64}, {"phase": "outro", "bars": 4}],
        "energy": {"intro": [0.5, 0.5], "build": [0.5, 0.5], "drop": [0.5, 0.5], "breakdown": [0.5, 0.5], "outro": [0.5, 0.5]}, "effects": ["echo_throw"]})",
                              techno.style, "test");
}

/// The vibe a set of `p` starts from: its style profile applied, density 6, seed 4.
inline live::StreamVibe vibeOf(const dj::DjProfile& p) {
    music::MusicConfig cfg;
    cfg.genre = p.name;
    cfg = compose::applyProfile(cfg, p.style);
    cfg.density = 6;
    cfg.seed = 4;
    return {p.name, cfg, compose::sketchFromMusicConfig(cfg), 0.0};
}

}  // namespace soundstar::test

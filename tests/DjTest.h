#pragma once
// Shared by the DJ tests (test_dj*.cpp): the style profiles from the data folder, a DJ profile that
// plays only some layers, and the vibe a set of that profile starts from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "compose/Profiles.h"
#include "core/AudioBuffer.h"
#include "core/Time.h"
#include "compose/SketchConfig.h"
#include "dj/DjBrain.h"
#include "dj/DjProfile.h"
#include "live/LiveSession.h"
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
/// The live options the in-process DJ tests play with: one long form ("loop"), no master chain
/// (the set's audio is its layers'), the brain's layers from the start; the brain's swaps off.
inline live::LiveOptions liveOptionsFor(dj::DjBrain& brain, double sampleRate, int blockSize) {
    brain.allowSwaps(false);
    live::LiveOptions o;
    o.sampleRate = sampleRate;
    o.blockSize = blockSize;
    o.form = "loop";
    o.masterChain = false;
    o.initialLayers = brain.playing();
    return o;
}

inline live::StreamVibe vibeOf(const dj::DjProfile& p) {
    music::MusicConfig cfg;
    cfg.genre = p.name;
    cfg = compose::applyProfile(cfg, p.style);
    cfg.density = 6;
    cfg.seed = 4;
    return {p.name, cfg, compose::sketchFromMusicConfig(cfg), 0.0};
}

// The live click measure: the largest sample jump within 50 ms of each change against twice the
// 99.9th percentile of the jumps elsewhere.
/// The largest |x[i] - x[i-1]| within 50 ms of `at`.
inline float worstJump(const std::vector<float>& x, SampleTime at) {
    float w = 0.0f;
    const auto from = static_cast<std::size_t>(std::max<SampleTime>(1, at - 2205)), to = std::min(x.size(), static_cast<std::size_t>(at + 2205));
    for (auto i = from; i < to; ++i) w = std::max(w, std::abs(x[i] - x[i - 1]));
    return w;
}

/// The 99.9th percentile of the jumps outside 50 ms of every point.
inline float jumpPercentile(const std::vector<float>& x, const std::vector<SampleTime>& points) {
    std::vector<float> jumps;
    for (std::size_t i = 1; i < x.size(); ++i) {
        const auto near = std::any_of(points.begin(), points.end(), [&](SampleTime p) { return std::llabs(static_cast<SampleTime>(i) - p) <= 2205; });
        if (!near) jumps.push_back(std::abs(x[i] - x[i - 1]));
    }
    auto at = jumps.begin() + static_cast<long>(static_cast<double>(jumps.size()) * 0.999);
    std::nth_element(jumps.begin(), at, jumps.end());
    return *at;
}

inline void expectClickFree(const StereoBuffer& a, const std::vector<SampleTime>& points, const std::string& what) {
    for (const auto* x : {&a.left(), &a.right()}) {
        const float p999 = jumpPercentile(*x, points);
        for (const auto p : points) EXPECT_LE(worstJump(*x, p), 2.0f * p999) << what << ": a click near sample " << p;
    }
}

}  // namespace soundstar::test

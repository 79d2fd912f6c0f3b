// Fuzz target: a DJ command line (stdin of `soundstar dj`, the server's dj_command) through
// dj::applyDjCommand on a set playing techno_minimal. Properties: errors are std::invalid_argument
// with a bounded message that names the allowed commands; an accepted line's kind is one of the
// known ones; say's text is bounded and valid UTF-8 (it goes into JSON events).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "FuzzCheck.h"
#include "compose/Profiles.h"
#include "compose/SketchConfig.h"
#include "dj/DjCommands.h"
#include "dj/DjSet.h"
#include "engine/Preset.h"

using namespace soundstar;

namespace {
struct World {
    compose::ProfileLibrary profiles;
    engine::PresetLibrary presets;
    std::unique_ptr<dj::DjBrain> brain;
    std::unique_ptr<live::LiveSession> session;
    std::unique_ptr<dj::DjSet> set;
    dj::DjVibes vibes;
    live::StreamVibe vibeFor(const dj::DjProfile& p) const {
        auto cfg = compose::applyProfile(music::MusicConfig{}, p.style);
        cfg.density = 6;
        return {p.name, cfg, compose::sketchFromMusicConfig(cfg), 0.0};
    }
    World() {
        profiles.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "profiles");
        presets.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "presets");
        const auto p = dj::djProfile(profiles, "techno_minimal");
        brain = std::make_unique<dj::DjBrain>(p, 1, 0);
        live::LiveOptions o;
        o.initialLayers = brain->playing();
        o.form = "loop";
        const auto base = vibeFor(p);
        session = std::make_unique<live::LiveSession>(presets, dj::withEnergy(base, brain->energy(), ""), o);
        set = std::make_unique<dj::DjSet>(*session, *brain, base, 44100.0, 256);
        vibes.profile = [this](const std::string& name) {
            auto q = dj::djProfile(profiles, name);
            auto v = vibeFor(q);
            return std::pair{std::move(q), std::move(v)};
        };
        vibes.text = [this](const std::string& text) {
            auto v = vibeFor(brain->profile());
            v.label = text;
            return v;
        };
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World w;
    static const std::set<std::string> kinds{"next", "drop", "break", "x", "energy", "layers", "tempo", "key", "profile", "config", "vibe", "say", "replace", "generate", "quit"};
    const std::string text = fuzz::asText(data, size);
    try {
        const auto r = dj::applyDjCommand(*w.set, text, w.vibes);
        if (!kinds.count(r.kind)) fuzz::finding("an unknown kind", r.kind);
        if (r.spoken.size() > 403) fuzz::finding("say's text past its bound (400 and \"...\")");
        if (r.kind == "say" && r.spoken.empty()) fuzz::finding("say with nothing to say");
        (void)nlohmann::json(r.spoken).dump();  // throws on invalid UTF-8
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        if (std::string_view(e.what()).find("allowed commands: ") == std::string_view::npos) fuzz::finding("a refusal without the allowed commands", e.what());
    }
    return 0;
}

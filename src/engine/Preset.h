#pragma once
// Instrument presets are data: JSON files naming an instrument kind, its parameter values and an
// optional effect chain, e.g.
//   {"instrument": "subtractive", "params": {"cutoff": 900}, "effects": [{"type": "chorus"}]}
// Loading validates every name and value against the parameter tables [control].
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/Controller.h"

namespace soundstar::engine {

struct EffectSpec {
    std::string type;
    std::vector<std::pair<std::string, float>> params;
};

struct Preset {
    std::string name, instrument, description;
    std::vector<std::pair<std::string, std::string>> options;  // files for sampler / soundfont
    std::vector<std::pair<std::string, float>> params;
    std::vector<EffectSpec> effects;
    std::string fallback;  // the preset to use where this one's files are missing
};

/// Parses and validates; `origin` names the source in error messages. Throws std::invalid_argument.
Preset parsePreset(const std::string& json, const std::string& origin);

/// Every *.json under a folder, by file stem.
class PresetLibrary {
public:
    /// Loads all presets; throws on the first bad file, naming it.
    void loadDirectory(const std::filesystem::path& dir);
    /// Throws std::invalid_argument listing the known names when missing. A preset whose files
    /// are not installed resolves to its fallback.
    const Preset& get(const std::string& name) const;
    bool has(const std::string& name) const { return presets_.count(name) > 0; }
    std::vector<std::string> names() const;
    /// Presets whose sample or SoundFont files are missing, with the reason (for doctor).
    const std::map<std::string, std::string>& unavailable() const { return unavailable_; }

private:
    std::map<std::string, Preset> presets_;
    std::map<std::string, std::string> unavailable_;  // name -> why
    std::map<std::string, std::string> fallbacks_;    // unavailable name -> fallback preset
};

/// Adds a track playing the preset (instrument, parameters, effect chain); returns its address.
/// withEffects false leaves out the preset's effect chain (the caller supplies its own).
int addPresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb = 0.0f, float pan = 0.0f,
                   bool withEffects = true);
/// The same track, built apart from any graph, for Controller::replaceTrack.
std::unique_ptr<Track> makePresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb = 0.0f, float pan = 0.0f,
                                       bool withEffects = true);

}  // namespace soundstar::engine

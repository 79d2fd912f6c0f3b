#pragma once
// Instrument presets are data: JSON files naming an instrument kind, its parameter values and an
// optional effect chain, e.g.
//   {"instrument": "subtractive", "params": {"cutoff": 900}, "effects": [{"type": "chorus"}]}
// Loading validates every name and value against the parameter tables [control].
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
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
    /// Loads all presets now; throws on the first bad file, naming it.
    void loadDirectory(const std::filesystem::path& dir);
    /// Lists the presets now and reads each when first asked for (get, has): a render reads the
    /// few it plays. names() and unavailable() read them all. A bad file throws, naming it, when
    /// it is read. Safe from several threads; a returned preset stays valid and unchanged.
    void indexDirectory(const std::filesystem::path& dir);
    /// Throws std::invalid_argument listing the known names when missing. A preset whose files
    /// are not installed resolves to its fallback.
    const Preset& get(const std::string& name) const;
    /// Whether `name` is a preset whose files are installed.
    bool has(const std::string& name) const;
    std::vector<std::string> names() const;
    /// Presets whose sample or SoundFont files are missing, with the reason (for doctor).
    std::map<std::string, std::string> unavailable() const;

private:
    void readLocked(const std::string& name, const std::filesystem::path& file) const;
    void readAllLocked() const;
    void readIfListedLocked(const std::string& name) const;
    const Preset* findLocked(const std::string& name, int depth) const;

    std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
    mutable std::map<std::string, Preset> presets_;
    mutable std::map<std::string, std::string> unavailable_;     // name -> why
    mutable std::map<std::string, std::string> fallbacks_;       // unavailable name -> fallback preset
    mutable std::map<std::string, std::filesystem::path> files_;  // listed, not read yet
};

/// Adds a track playing the preset (instrument, parameters, effect chain); returns its address.
/// withEffects false leaves out the preset's effect chain (the caller supplies its own).
int addPresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb = 0.0f, float pan = 0.0f,
                   bool withEffects = true);
/// The same track, built apart from any graph, for Controller::replaceTrack.
std::unique_ptr<Track> makePresetTrack(Controller& c, const Preset& p, std::string trackName, float gainDb = 0.0f, float pan = 0.0f,
                                       bool withEffects = true);

}  // namespace soundstar::engine

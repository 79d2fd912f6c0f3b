#pragma once
// Style profiles are data (data/profiles/*.json): a MusicConfig fragment that fills in what a
// genre implies, an optional drum groove, and optional instrument presets per layer, e.g.
//   {"description": "...", "config": {"bpm": 174, "bass": "sub_pulse"}, "groove": "two_step",
//    "presets": {"bass": "bass_sub"}, "effects": {"keys": [{"type": "delay", "params": {"mode": 2}}]}}
// A config whose `genre` names a profile takes the profile's values for every field it left at
// its default; fields the prompt or the user chose stay as they are [control].
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "music/MusicConfig.h"
#include "music/Score.h"

namespace soundstar::compose {

struct StyleProfile {
    std::string name, description;
    std::string configJson;                      // a MusicConfig fragment (validated on load)
    std::string groove;                          // "" or one of grooveNames()
    std::map<std::string, std::string> presets;  // layer -> preset name
    std::map<std::string, std::vector<music::TrackEffect>> effects;  // layer -> effects added to its chain
    std::string djJson;  // "" or what `soundstar dj` needs (a JSON object, read by dj::parseDjProfile)
};

/// Drum grooves a profile may name: four_on_floor, breakbeat, boom_bap, half_time, two_step, rock.
const std::vector<std::string>& grooveNames();

class ProfileLibrary {
public:
    /// Loads every *.json now; throws std::invalid_argument naming the file and the problem.
    void loadDirectory(const std::filesystem::path& dir);
    /// Lists the *.json files now and reads each when find() first asks for it: a command reads
    /// the one profile it uses. A bad file throws from find() (the same error), each time.
    void indexDirectory(const std::filesystem::path& dir);
    /// nullptr when no profile has that name. Safe from several threads.
    const StyleProfile* find(const std::string& name) const;
    std::vector<std::string> names() const;

private:
    std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
    mutable std::map<std::string, StyleProfile> profiles_;
    mutable std::map<std::string, std::filesystem::path> files_;  // listed, not read yet
};

/// Whether a mood or a profile may fill `field`: never one in `keep` (the fields the prompt
/// stated: Interpretation::explicitFields); "key" is kept with root or mode, and bpm and the
/// tempo label are one quantity, kept together.
bool mayFill(const std::string& field, const std::set<std::string>& keep);

/// The config with the profile's values in every field still at its default and not in `keep`.
/// A bpm it fills brings the tempo label with it, so the two agree (music::tempoLabelFor).
music::MusicConfig applyProfile(const music::MusicConfig& config, const StyleProfile& profile, const std::set<std::string>& keep = {});

}  // namespace soundstar::compose

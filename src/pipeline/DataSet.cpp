#include "pipeline/DataSet.h"

#include <mutex>
#include <optional>

#include "compose/Profiles.h"
#include "engine/Preset.h"
#include "interpret/Interpreter.h"

namespace soundstar::pipeline {

struct DataSet::Parts {
    std::once_flag presetsOnce, profilesOnce, interpreterOnce;
    std::optional<engine::PresetLibrary> presets;
    std::optional<compose::ProfileLibrary> profiles;
    std::optional<interpret::Interpreter> interpreter;
    std::string interpreterWarning;
};

DataSet::DataSet(std::filesystem::path dir, std::vector<std::filesystem::path> moreSnapshots)
    : dir_(std::move(dir)), moreSnapshots_(std::move(moreSnapshots)), parts_(std::make_unique<Parts>()) {}

DataSet::~DataSet() = default;

const engine::PresetLibrary& DataSet::presets() const {
    std::call_once(parts_->presetsOnce, [this] {
        engine::PresetLibrary lib;
        lib.indexDirectory(dir_ / "presets");  // each preset read when first used
        parts_->presets.emplace(std::move(lib));
    });
    return *parts_->presets;
}

const compose::ProfileLibrary& DataSet::profiles() const {
    std::call_once(parts_->profilesOnce, [this] {
        compose::ProfileLibrary lib;
        lib.indexDirectory(dir_ / "profiles");  // each profile read when first used
        parts_->profiles.emplace(std::move(lib));
    });
    return *parts_->profiles;
}

const interpret::Interpreter& DataSet::interpreter() const {
    // The snapshot beside the data (an install) or a build's own, if either matches the data;
    // else the sources themselves, some 40 ms slower, with a warning that says why.
    std::call_once(parts_->interpreterOnce, [this] {
        const auto dir = dir_ / "interpret";
        std::vector<std::filesystem::path> snapshots{dir / "interpreter.bin"};
        snapshots.insert(snapshots.end(), moreSnapshots_.begin(), moreSnapshots_.end());
        std::string warning;
        parts_->interpreter.emplace(interpret::Interpreter::loadFastest(dir, snapshots, warning));
        parts_->interpreterWarning = warning;
    });
    return *parts_->interpreter;
}

std::string DataSet::interpreterWarning() const { return parts_->interpreterWarning; }

}  // namespace soundstar::pipeline

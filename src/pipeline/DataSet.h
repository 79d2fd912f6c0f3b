#pragma once
// What a render reads from a data folder (presets/, profiles/, interpret/): each part loaded once,
// on first use, and shared read-only afterwards, so one DataSet serves renders on many threads [any].
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::engine {
class PresetLibrary;
}
namespace soundstar::compose {
class ProfileLibrary;
}
namespace soundstar::interpret {
class Interpreter;
}

namespace soundstar::pipeline {

class DataSet {
public:
    /// `dir` holds presets/, profiles/ and interpret/. The interpreter's snapshot is looked for as
    /// dir/interpret/interpreter.bin, then in `moreSnapshots` (a build tree's own), in that order.
    explicit DataSet(std::filesystem::path dir, std::vector<std::filesystem::path> moreSnapshots = {});
    ~DataSet();
    DataSet(const DataSet&) = delete;
    DataSet& operator=(const DataSet&) = delete;

    const std::filesystem::path& dir() const { return dir_; }
    /// Each throws (naming the file and the problem) when its part of the folder is unreadable;
    /// a later call tries again.
    const engine::PresetLibrary& presets() const;
    const compose::ProfileLibrary& profiles() const;
    const interpret::Interpreter& interpreter() const;
    /// Why interpreter() read the sources instead of a snapshot (slower); "" when it did not.
    std::string interpreterWarning() const;

private:
    struct Parts;
    std::filesystem::path dir_;
    std::vector<std::filesystem::path> moreSnapshots_;
    std::unique_ptr<Parts> parts_;
};

}  // namespace soundstar::pipeline

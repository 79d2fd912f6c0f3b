#pragma once
// The *.json files of a data folder (presets, style profiles), by name (the file's stem).
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace soundstar::core {

/// Throws std::invalid_argument "<what> folder DIR does not exist" when it is not a folder.
inline std::map<std::string, std::filesystem::path> jsonFilesByName(const std::filesystem::path& dir, const std::string& what) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) throw std::invalid_argument(what + " folder " + dir.string() + " does not exist");
    std::map<std::string, std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".json") files[entry.path().stem().string()] = entry.path();
    return files;
}

}  // namespace soundstar::core

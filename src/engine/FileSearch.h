#pragma once
// Finds a data file (a sample, a SoundFont) by name in an environment-variable folder and then in
// the system folders Debian packages install to [control].
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>

namespace soundstar::engine {

/// An absolute path is taken as is; a bare name is looked up in $envVar, then in each folder,
/// trying the listed extensions when the name has none. nullopt when nothing exists.
std::optional<std::filesystem::path> findDataFile(const std::string& name, const char* envVar,
                                                  std::initializer_list<const char*> folders,
                                                  std::initializer_list<const char*> extensions);

}  // namespace soundstar::engine

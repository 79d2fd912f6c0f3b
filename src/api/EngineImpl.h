#pragma once
// What an Engine shares with the facade's other types (Stream): the data set [any].
#include <filesystem>
#include <map>
#include <mutex>

#include "pipeline/DataSet.h"
#include "pipeline/ModelGenerator.h"
#include "soundstar/soundstar.hpp"

namespace soundstar {

struct Engine::Impl {
    explicit Impl(const std::filesystem::path& dir) : data(dir, {std::filesystem::path(SOUNDSTAR_BUILT_DATA_DIR) / "interpret" / "interpreter.bin"}) {}
    pipeline::DataSet data;
    // Generators by the name or folder asked for, each keeping its model worker (and the loaded
    // model) between renders; made on first use.
    mutable std::mutex generatorsLock;
    mutable std::map<std::string, pipeline::ServiceGenerator> generators;
};

}  // namespace soundstar

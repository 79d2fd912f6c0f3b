#pragma once
// What an Engine shares with the facade's other types (Stream): the data set [any].
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>

#include "pipeline/DataSet.h"
#include "pipeline/ModelGenerator.h"
#include "soundstar/soundstar.hpp"

namespace soundstar {

/// A generator an Engine keeps (and its model worker), with when it was last used.
struct KeptGenerator {
    pipeline::ServiceGenerator generator;
    std::uint64_t lastUse = 0;
};

struct Engine::Impl {
    explicit Impl(const std::filesystem::path& dir) : data(dir, {std::filesystem::path(SOUNDSTAR_BUILT_DATA_DIR) / "interpret" / "interpreter.bin"}) {}
    pipeline::DataSet data;
    // Generators by the name or folder asked for, each keeping its model worker (and the loaded
    // model) between renders; made on first use.
    mutable std::mutex generatorsLock;
    mutable std::map<std::string, KeptGenerator> generators;
    mutable std::uint64_t generatorUses = 0;
};

}  // namespace soundstar

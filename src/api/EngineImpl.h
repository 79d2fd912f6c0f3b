#pragma once
// What an Engine shares with the facade's other types (Stream): the data set [any].
#include <filesystem>

#include "pipeline/DataSet.h"
#include "soundstar/soundstar.hpp"

namespace soundstar {

struct Engine::Impl {
    explicit Impl(const std::filesystem::path& dir) : data(dir, {std::filesystem::path(SOUNDSTAR_BUILT_DATA_DIR) / "interpret" / "interpreter.bin"}) {}
    pipeline::DataSet data;
};

}  // namespace soundstar

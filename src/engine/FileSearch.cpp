#include "engine/FileSearch.h"

#include <cstdlib>
#include <vector>

namespace soundstar::engine {

std::optional<std::filesystem::path> findDataFile(const std::string& name, const char* envVar,
                                                  std::initializer_list<const char*> folders,
                                                  std::initializer_list<const char*> extensions) {
    namespace fs = std::filesystem;
    const fs::path p(name);
    std::vector<fs::path> candidates;
    if (p.is_absolute()) {
        candidates.push_back(p);
    } else {
        std::vector<fs::path> dirs;
        if (const char* env = std::getenv(envVar); env && *env) dirs.emplace_back(env);
        for (const char* f : folders) dirs.emplace_back(f);
        for (const auto& d : dirs) {
            candidates.push_back(d / p);
            if (!p.has_extension())
                for (const char* e : extensions) candidates.push_back(d / (name + e));
        }
    }
    for (const auto& c : candidates)
        if (fs::is_regular_file(c)) return c;
    return std::nullopt;
}

}  // namespace soundstar::engine

// The main program's side of the ggml module (GgmlModule.h): no ggml header, no ggml library.
#include <stdexcept>

#include "core/Module.h"
#include "models/ggml/GgmlModule.h"

namespace soundstar::models::ggml {
namespace {
const Api& api() {
    static const Api* table = core::moduleFunction<ApiFn>("ggml", kApiSymbol)();
    return *table;
}
}  // namespace

std::unique_ptr<Generator> makeGenerator(const std::filesystem::path& dir, const ModelManifest& m) {
    std::string error;
    bool invalid = false;
    auto g = api().make(dir, m, &error, &invalid);
    if (g) return g;
    if (invalid) throw std::invalid_argument(error);
    throw std::runtime_error(error);
}

std::string describeCpu() {
    std::string error;
    auto text = api().describeCpu(&error);
    if (!error.empty()) throw std::runtime_error(error);
    return text;
}

}  // namespace soundstar::models::ggml

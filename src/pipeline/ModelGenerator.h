#pragma once
// A render's generator backed by the model service [control]: a model folder (or the name of one
// in the model roots) checked at once, and a worker process (`soundstar model-worker`) started at
// the first call and kept, so later calls skip loading the model. The CLI (`render --generator`,
// the DJ) and the library (RenderRequest::generator) both use it.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/GeneratedLayer.h"

namespace soundstar::pipeline {

struct ModelGeneratorOptions {
    std::vector<std::filesystem::path> modelRoots;  // where a bare name is looked for, in order
    std::vector<std::string> workerCommand;         // argv of a model worker (soundstar model-worker)
    std::string optionName = "--generator";         // how errors name the setting
    bool quiet = true;                              // false: a line on stderr per call
};

/// A generator and a `cancel` that makes a call in progress end soon (it throws "cancelled") and
/// every later call refuse at once: cancel is for ending, not for skipping one loop.
struct ServiceGenerator {
    Generator generate;
    std::function<void()> cancel;
    std::string name, kind;  // the manifest's
};

/// Throws std::invalid_argument naming the model and where it was looked for when `model` is no
/// model folder, or naming the file and the problem when its manifest is broken.
ServiceGenerator serviceGenerator(const std::string& model, const ModelGeneratorOptions& options);

/// The model roots: `first`, then each folder of $SOUNDSTAR_MODELS (colon-separated), then `dataDir`/models.
std::vector<std::filesystem::path> modelRoots(const std::vector<std::filesystem::path>& first, const std::filesystem::path& dataDir);

}  // namespace soundstar::pipeline

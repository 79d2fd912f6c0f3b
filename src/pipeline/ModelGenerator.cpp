#include "pipeline/ModelGenerator.h"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "models/ModelManifest.h"
#include "models/WorkerSupervisor.h"
#include "music/JsonText.h"

namespace soundstar::pipeline {

std::vector<std::filesystem::path> modelRoots(const std::vector<std::filesystem::path>& first, const std::filesystem::path& dataDir) {
    std::vector<std::filesystem::path> roots = first;
    if (const char* env = std::getenv("SOUNDSTAR_MODELS"); env && *env) {
        const std::string s = env;
        for (std::size_t at = 0; at <= s.size();) {
            const auto colon = std::min(s.find(':', at), s.size());
            if (colon > at) roots.emplace_back(s.substr(at, colon - at));
            at = colon + 1;
        }
    }
    roots.push_back(dataDir / "models");
    return roots;
}

ServiceGenerator serviceGenerator(const std::string& model, const ModelGeneratorOptions& options) {
    // A folder, or the name of one in the model roots.
    std::filesystem::path dir = model;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec) && dir.filename() == dir)
        for (const auto& root : options.modelRoots)
            if (std::filesystem::is_directory(root / model, ec)) {
                dir = root / model;
                break;
            }
    if (model.empty() || !std::filesystem::is_directory(dir, ec)) {
        std::string roots;
        for (const auto& r : options.modelRoots) roots += (roots.empty() ? "" : ", ") + r.string();
        throw std::invalid_argument(fmt::format("{} '{}' is no model folder (a folder with manifest.json and its weights) nor the name of one "
                                                "installed in {} (see soundstar models)",
                                                options.optionName, music::clipText(model, 200), music::clipText(roots, 1000)));
    }
    if (options.workerCommand.empty()) throw std::invalid_argument(fmt::format("{}: no model worker program to run the model", options.optionName));
    const auto manifest = models::readModelDir(dir);  // a broken folder fails here, before the render
    // The worker is started at the first call and kept, so a DJ's next loop skips loading the model.
    struct Shared {
        std::mutex lock;
        std::unique_ptr<models::WorkerSupervisor> service;
        std::optional<models::TaskId> current;  // the call in progress
        bool cancelled = false;                  // sticky: a cancel before the submit still counts
    };
    auto shared = std::make_shared<Shared>();
    ServiceGenerator out;
    out.name = manifest.name;
    out.kind = manifest.kind;
    out.generate = [dir, manifest, options, shared](const GeneratorAsk& ask) {
        models::GenerateRequest r;
        r.model = dir;
        r.prompt = ask.prompt;
        r.seconds = ask.seconds;
        r.seed = ask.seed;
        if (!options.quiet) fmt::print(stderr, "soundstar: generating {:.1f} s with {} ({})\n", ask.seconds, manifest.name, manifest.kind);
        models::TaskId id;
        {
            const std::scoped_lock hold(shared->lock);
            if (shared->cancelled) throw std::runtime_error(fmt::format("{} {}: cancelled", options.optionName, manifest.name));
            if (!shared->service) {
                models::WorkerSupervisor::Options o;
                o.workerCommand = options.workerCommand;
                shared->service = std::make_unique<models::WorkerSupervisor>(o);
            }
            id = shared->service->submit(r);
            shared->current = id;
        }
        const auto result = shared->service->wait(id);
        {
            const std::scoped_lock hold(shared->lock);
            shared->current.reset();
        }
        if (result.cancelled) throw std::runtime_error(fmt::format("{} {}: cancelled", options.optionName, manifest.name));
        if (!result.ok) throw std::runtime_error(fmt::format("{} {}: generating failed: {}", options.optionName, manifest.name, result.error));
        return GeneratedAudio{result.interleaved, result.channels, result.sampleRateHz};
    };
    out.cancel = [shared] {
        const std::scoped_lock hold(shared->lock);
        shared->cancelled = true;
        if (shared->current) shared->service->cancel(*shared->current);
    };
    return out;
}

}  // namespace soundstar::pipeline

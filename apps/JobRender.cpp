// One batch or worker job rendered into an output folder: the job's fields become the very
// `render` arguments a user would type, so the file is the one `render` writes, byte for byte.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include "Commands.h"
#include "batch/JobSpec.h"
#include "interpret/Interpreter.h"

namespace soundstar::app {
namespace fs = std::filesystem;

void preloadRenderData(bool prompts) {
    (void)shippedPresets();
    (void)styleProfiles();
    if (prompts) (void)interpreter();
}

RenderArgs renderArgsForJob(const batch::JobSpec& job, const fs::path& dir, const std::string& name) {
    RenderArgs a;
    a.prompt = job.prompt;
    a.configJson = job.configJson;
    a.update = job.updateJson;
    if (job.durationSeconds) {
        a.durationSeconds = *job.durationSeconds;
        a.durationGiven = true;
    }
    a.seed = job.seed;
    a.format = job.format;
    if (job.sampleRateHz) a.sampleRate = *job.sampleRateHz;
    if (job.targetLufs) a.targetLufs = *job.targetLufs;
    a.noMaster = job.noMaster;
    a.output = (dir / name).string();
    if (job.midi) {
        a.midiGiven = true;
        a.midiFile = (dir / batch::midiName(name)).string();
    }
    if (job.stems) {
        a.stemsGiven = true;
        a.stemsDir = (dir / batch::stemsName(name)).string();
    }
    a.generatorName = job.generator;
    if (job.generatorGainDb) a.generatorGainDb = *job.generatorGainDb;
    a.quiet = true;
    return a;
}

namespace {
// A job's generator: an installed model's name, looked up in the model roots only (never a folder
// of the job's choosing, nor one in the current folder). Throws naming what is installed.
pipeline::Generator jobGenerator(const std::string& name) {
    std::error_code ec;
    std::vector<std::string> installed;
    for (const auto& root : installedModelRoots()) {
        if (fs::is_directory(root / name, ec) && fs::exists(root / name / "manifest.json", ec)) return modelGenerator((root / name).string(), true);
        for (const auto& e : fs::directory_iterator(root, ec))
            if (e.is_directory(ec) && fs::exists(e.path() / "manifest.json", ec) && installed.size() < 50) installed.push_back(e.path().filename().string());
    }
    std::sort(installed.begin(), installed.end());
    throw std::invalid_argument(fmt::format("generator '{}' is not an installed model (in $SOUNDSTAR_MODELS or data/models); installed: {}", name,
                                            installed.empty() ? std::string("none") : fmt::format("{}", fmt::join(installed, ", "))));
}

// The folder of `name` inside `dir` exists (created if needed) and really lies inside `dir`,
// and no output is an existing symbolic link (render writes through links; a job may not).
void confine(const fs::path& dir, const std::string& name) {
    const fs::path target = dir / name;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create the folder for {}: {}", name, ec.message()));
    const fs::path root = fs::canonical(dir, ec);
    const fs::path parent = fs::canonical(target.parent_path(), ec);
    const auto [rootEnd, parentPos] = std::mismatch(root.begin(), root.end(), parent.begin(), parent.end());
    if (ec || rootEnd != root.end())
        throw std::invalid_argument(fmt::format("output {} would be written outside the output folder (a symbolic link in the way)", name));
    for (const auto& p : {target, dir / batch::midiName(name), dir / batch::stemsName(name)})
        if (fs::is_symlink(p, ec))
            throw std::invalid_argument(fmt::format("{} is a symbolic link; job outputs are not written through links", p.string()));
}
}  // namespace

std::string renderJobInto(const batch::JobSpec& job, const fs::path& dir, const std::string& name) {
    batch::checkOutputName(name);
    confine(dir, name);
    RenderArgs a = renderArgsForJob(job, dir, name);
    if (!job.generator.empty()) a.generator = jobGenerator(job.generator);  // a bad model fails before the render
    const RenderOutcome r = renderToFiles(a);
    nlohmann::json out{{"audio_seconds", r.audioSeconds}, {"layers", r.layers}, {"warnings", r.warnings}};
    if (!r.generated.empty()) out["generated"] = r.generated;
    if (r.measured) {
        out["lufs"] = r.lufs;
        out["dbtp"] = r.truePeakDbtp;
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace soundstar::app

// One batch or worker job rendered into an output folder: the job's fields become the very
// `render` arguments a user would type, so the file is the one `render` writes, byte for byte.
#include <fmt/format.h>

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
    a.quiet = true;
    return a;
}

namespace {
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
    const RenderOutcome r = renderToFiles(renderArgsForJob(job, dir, name));
    nlohmann::json out{{"audio_seconds", r.audioSeconds}, {"layers", r.layers}, {"warnings", r.warnings}};
    if (r.measured) {
        out["lufs"] = r.lufs;
        out["dbtp"] = r.truePeakDbtp;
    }
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace soundstar::app

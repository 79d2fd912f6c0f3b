// Fuzz target: a batch or worker job line (a line of JOBS.jsonl, or a Redis Stream entry's "job")
// through batch::parseJobLine, and the same text as a redis:// URL through queue::parseRedisUrl.
// Properties: errors are std::invalid_argument with a bounded message; an accepted job has a
// prompt or a config, values in their ranges, and an output name that stays inside the output
// folder (relative, no "..", no hidden parts) with an extension that matches its format; an
// accepted URL has a host and a port and database in range.
#include <cstdint>
#include <stdexcept>

#include "FuzzCheck.h"
#include "batch/JobSpec.h"
#include "queue/RedisConnection.h"

using namespace soundstar;

namespace {
void checkJob(const batch::JobSpec& j) {
    if (j.prompt.empty() && j.configJson.empty()) fuzz::finding("a job with neither prompt nor config");
    if (j.prompt.size() > batch::kMaxPromptBytes) fuzz::finding("a prompt over the limit");
    if (j.durationSeconds && !(*j.durationSeconds >= 1.0 && *j.durationSeconds <= 3600.0)) fuzz::finding("a duration out of range");
    if (j.sampleRateHz && !(*j.sampleRateHz >= 8000.0 && *j.sampleRateHz <= 192000.0)) fuzz::finding("a sample rate out of range");
    if (j.targetLufs && !(*j.targetLufs >= -40.0 && *j.targetLufs <= -6.0)) fuzz::finding("a loudness target out of range");
    const std::string name = batch::outputName(j, "job-0001");  // must not throw for an accepted job
    batch::checkOutputName(name);
    if (name.find("..") != std::string::npos && (name.find("/..") != std::string::npos || name.rfind("..", 0) == 0))
        fuzz::finding("an output name that climbs out", name);
    if (name.front() == '/' || name.find("/.") != std::string::npos || name.front() == '.') fuzz::finding("an absolute or hidden output name", name);
    batch::checkOutputName(batch::midiName(name));
    batch::checkOutputName(batch::stemsName(name));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    try {
        checkJob(batch::parseJobLine(text));
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    try {
        const auto u = queue::parseRedisUrl(text);
        if (u.host.empty() || u.port < 1 || u.port > 65535 || u.database < 0 || u.database > 15) fuzz::finding("a Redis URL out of range");
        if (queue::describe(u).find('@') != std::string::npos) fuzz::finding("the password is printed");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

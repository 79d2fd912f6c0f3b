// The public C++ facade (include/soundstar/soundstar.hpp) over the render pipeline the CLI uses
// (src/pipeline); the heavy headers stay here, out of the public one.
#include "soundstar/soundstar.hpp"

#include <dlfcn.h>
#include <unistd.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "Checks.h"
#include "EngineImpl.h"
#include "io/AudioFile.h"
#include "io/OutputFiles.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"
#include "music/MusicConfig.h"
#include "pipeline/DataSet.h"
#include "pipeline/GeneratedLayer.h"
#include "pipeline/RenderJob.h"

namespace soundstar {
namespace fs = std::filesystem;
using api::checkRange;

const char* version() { return SOUNDSTAR_VERSION; }

std::string validateConfig(std::string_view configJson) {
    if (configJson.size() > 65536)
        throw std::invalid_argument(fmt::format("the config is {} bytes; the limit is 65536 bytes", configJson.size()));
    return music::toJson(music::mergeMusicConfig(music::MusicConfig{}, std::string(configJson), "config"));
}

std::string applyUpdate(std::string_view configJson, std::string_view updateJson) {
    if (configJson.size() > 65536 || updateJson.size() > 65536)
        throw std::invalid_argument(fmt::format("the config or update is {} bytes; the limit is 65536 bytes", std::max(configJson.size(), updateJson.size())));
    const auto base = configJson.empty() ? music::MusicConfig{} : music::mergeMusicConfig(music::MusicConfig{}, std::string(configJson), "config");
    return music::toJson(music::applyUpdate(base, std::string(updateJson), "update"));
}

namespace {
bool holdsData(const fs::path& dir) {
    std::error_code ec;
    return fs::is_directory(dir / "presets", ec) && fs::is_directory(dir / "interpret", ec);
}

// The folder this shared library was loaded from (empty when it cannot be told).
fs::path libraryFolder() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&Engine::findDataDir), &info) == 0 || !info.dli_fname) return {};
    std::error_code ec;
    const auto path = fs::weakly_canonical(fs::path(info.dli_fname), ec);
    return ec ? fs::path() : path.parent_path();
}

pipeline::RenderArgs argsFor(const RenderRequest& r, std::vector<std::string>& warnings) {
    checkRange("duration", r.durationSeconds, 1.0, music::kMaxSeconds, " s");
    api::checkSampleRate(r.sampleRateHz);
    checkRange("target loudness", r.targetLufs, -40.0, -6.0, " LUFS");
    checkRange("true-peak ceiling", r.ceilingDbtp, -12.0, 0.0, " dBTP");
    // The same bound as a batch job's prompt (batch::kMaxPromptBytes); a config is about 1 KiB.
    constexpr std::size_t kMaxPromptBytes = 10000, kMaxConfigBytes = 65536;
    if (r.prompt.size() > kMaxPromptBytes)
        throw std::invalid_argument(fmt::format("the prompt is {} bytes; the limit is {} bytes", r.prompt.size(), kMaxPromptBytes));
    if (r.configJson.size() > kMaxConfigBytes || r.updateJson.size() > kMaxConfigBytes)
        throw std::invalid_argument(fmt::format("the config or update is {} bytes; the limit is {} bytes",
                                                std::max(r.configJson.size(), r.updateJson.size()), kMaxConfigBytes));
    if (r.prompt.empty() && r.configJson.empty())
        throw std::invalid_argument("nothing to render: give a prompt, a config (MusicConfig JSON), or both");
    pipeline::RenderArgs a;
    a.prompt = r.prompt;
    a.configJson = r.configJson;
    a.update = r.updateJson;
    a.durationSeconds = r.durationSeconds;
    a.durationGiven = true;
    a.seed = r.seed;
    a.sampleRate = r.sampleRateHz;
    a.noMaster = !r.master;
    a.targetLufs = r.targetLufs;
    a.ceilingDbtp = r.ceilingDbtp;
    a.loop = r.loop;
    a.useLlm = r.useLlm;
    if (!r.llmUrl.empty()) a.llmUrl = r.llmUrl;
    if (!r.llmModel.empty()) a.llmModel = r.llmModel;
    a.quiet = true;
    a.warn = [&warnings](const std::string& w) { warnings.push_back(w); };
    return a;
}

bool runnable(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// The program that runs models (`soundstar model-worker`): $SOUNDSTAR_WORKER, else the soundstar
// program installed beside this library, else the one built with it.
std::vector<std::string> workerCommand() {
    if (const char* env = std::getenv("SOUNDSTAR_WORKER"); env && *env) {
        if (runnable(env)) return {env, "model-worker"};
        throw std::invalid_argument(fmt::format("$SOUNDSTAR_WORKER is '{}', which is no program; it should be the soundstar program", music::clipText(env, 300)));
    }
    std::vector<std::string> tried;
    if (const auto lib = libraryFolder(); !lib.empty()) {
        const auto installed = (lib / SOUNDSTAR_BIN_FROM_LIBRARY / "soundstar").lexically_normal();
        if (runnable(installed)) return {installed.string(), "model-worker"};
        tried.push_back(installed.string());
    }
    if (runnable(SOUNDSTAR_BUILD_PROGRAM)) return {SOUNDSTAR_BUILD_PROGRAM, "model-worker"};
    tried.push_back(SOUNDSTAR_BUILD_PROGRAM);
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    throw std::invalid_argument(music::clipText(
        fmt::format("a generator runs its model in the soundstar program (soundstar model-worker), which is not at {}; set $SOUNDSTAR_WORKER to it", list), 1900));
}

// RenderRequest::generator: the Engine's generator for it (made once, its worker kept), in `a`.
// `kept` (guarded by `lock`) holds an Engine's generators by name; `uses` counts calls, so the
// least recently used one goes when a ninth is needed.
void attachGenerator(const fs::path& dataDir, std::mutex& lock, std::map<std::string, KeptGenerator>& kept, std::uint64_t& uses,
                     const RenderRequest& r, pipeline::RenderArgs& a) {
    if (r.generator.empty()) return;
    checkRange("generator gain", r.generatorGainDb, pipeline::kGeneratorMinGainDb, pipeline::kGeneratorMaxGainDb, " dB");
    if (r.generator.size() > 4096) throw std::invalid_argument(fmt::format("the generator is {} bytes; a model's name or folder of at most 4096", r.generator.size()));
    constexpr std::size_t kMaxKept = 8;  // models kept loaded by one Engine
    const std::lock_guard hold(lock);
    auto it = kept.find(r.generator);
    if (it == kept.end()) {
        pipeline::ModelGeneratorOptions o;
        o.modelRoots = pipeline::modelRoots({}, dataDir);
        o.workerCommand = workerCommand();
        o.optionName = "generator";
        auto made = pipeline::serviceGenerator(r.generator, o);
        if (kept.size() >= kMaxKept)  // the least recently used goes (a render using it keeps its own copy)
            kept.erase(std::min_element(kept.begin(), kept.end(), [](const auto& x, const auto& y) { return x.second.lastUse < y.second.lastUse; }));
        it = kept.emplace(r.generator, KeptGenerator{std::move(made), 0}).first;
    }
    it->second.lastUse = ++uses;
    a.generator = it->second.generator.generate;
    a.generatorName = r.generator;
    a.generatorGainDb = r.generatorGainDb;
}

void addInterpreterWarning(const pipeline::DataSet& data, std::vector<std::string>& warnings) {
    if (auto w = data.interpreterWarning(); !w.empty()) warnings.push_back(music::clipText(w, 1500));
}
}  // namespace

std::string Engine::findDataDir() {
    std::vector<std::string> tried;
    if (const char* env = std::getenv("SOUNDSTAR_DATA"); env && *env) {
        if (holdsData(env)) return env;
        tried.push_back(fmt::format("$SOUNDSTAR_DATA ({})", music::clipText(env, 300)));
    }
    if (const auto lib = libraryFolder(); !lib.empty()) {
        const auto installed = (lib / SOUNDSTAR_DATA_FROM_LIBRARY).lexically_normal();
        if (holdsData(installed)) return installed.string();
        tried.push_back(installed.string());
    }
    if (holdsData(SOUNDSTAR_DATA_DIR)) return SOUNDSTAR_DATA_DIR;
    tried.push_back(SOUNDSTAR_DATA_DIR);
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    throw DataNotFound(music::clipText(fmt::format("no Soundstar data (presets/, interpret/) found; tried {}; give the folder "
                                                         "to Engine (or soundstar_engine_new) or set SOUNDSTAR_DATA", list), 1900));
}

Engine::Engine(const std::string& dataDir) {
    fs::path dir = dataDir.empty() ? fs::path(findDataDir()) : fs::path(dataDir);
    if (!holdsData(dir))
        throw DataNotFound(fmt::format("{} is not a Soundstar data folder (it needs presets/ and interpret/)", music::clipText(dir.string(), 500)));
    impl_ = std::make_shared<const Impl>(dir);
}
Engine::~Engine() = default;
Engine::Engine(const Engine&) = default;
Engine& Engine::operator=(const Engine&) = default;

std::string Engine::dataDir() const { return impl_->data.dir().string(); }

std::string Engine::interpret(std::string_view prompt) const {
    RenderRequest r;
    r.prompt = std::string(prompt);
    std::vector<std::string> warnings;
    const auto a = argsFor(r, warnings);
    std::vector<std::string> understood;
    return music::toJson(pipeline::resolveConfig(impl_->data, a, understood));
}

Audio Engine::render(std::string_view prompt) const {
    RenderRequest r;
    r.prompt = std::string(prompt);
    return render(r);
}

Audio Engine::render(const RenderRequest& request) const {
    Audio out;
    auto a = argsFor(request, out.warnings);
    attachGenerator(impl_->data.dir(), impl_->generatorsLock, impl_->generators, impl_->generatorUses, request, a);
    const auto job = pipeline::composeJob(impl_->data, a);
    addInterpreterWarning(impl_->data, out.warnings);
    pipeline::RenderOutcome outcome;
    const StereoBuffer audio = pipeline::renderAudio(impl_->data, a, job, outcome);
    const auto& left = audio.left();
    const auto& right = audio.right();
    out.samples.resize(left.size() * 2);
    for (std::size_t i = 0; i < left.size(); ++i) {
        out.samples[2 * i] = left[i];
        out.samples[2 * i + 1] = right[i];
    }
    out.sampleRateHz = a.sampleRate;
    out.configJson = music::toJson(job.config);
    out.metadataJson = job.outcome.metadata;
    out.measured = outcome.measured;
    out.lufs = outcome.lufs;
    out.truePeakDbtp = outcome.truePeakDbtp;
    out.generated = outcome.generated;
    out.warnings.insert(out.warnings.end(), outcome.warnings.begin(), outcome.warnings.end());
    return out;
}

RenderReport Engine::renderToFile(const RenderRequest& request, const FileOutputs& outputs) const {
    RenderReport report;
    auto a = argsFor(request, report.warnings);
    attachGenerator(impl_->data.dir(), impl_->generatorsLock, impl_->generators, impl_->generatorUses, request, a);
    if (outputs.audioPath.empty()) throw std::invalid_argument("no audio path: FileOutputs::audioPath names the file to write (.wav .flac .ogg .mp3)");
    a.output = outputs.audioPath;
    a.format = outputs.format;
    a.midiFile = outputs.midiPath;
    a.midiGiven = !outputs.midiPath.empty();
    a.stemsDir = outputs.stemsDir;
    a.stemsGiven = !outputs.stemsDir.empty();
    a.metadataFile = outputs.metadataPath;
    a.metadataGiven = !outputs.metadataPath.empty();
    const auto format = pipeline::chooseFormat(a);
    const auto job = pipeline::composeJob(impl_->data, a);
    addInterpreterWarning(impl_->data, report.warnings);
    const auto outcome = pipeline::renderComposition(impl_->data, a, job, format);
    report.seconds = outcome.audioSeconds;
    report.layers = outcome.layers;
    report.measured = outcome.measured;
    report.lufs = outcome.lufs;
    report.truePeakDbtp = outcome.truePeakDbtp;
    report.configJson = music::toJson(job.config);
    report.generated = outcome.generated;
    report.warnings.insert(report.warnings.end(), outcome.warnings.begin(), outcome.warnings.end());
    return report;
}

void Audio::save(const std::string& path, const std::string& format) const {
    if (sampleRateHz < 8000.0 || sampleRateHz > 192000.0)
        throw std::invalid_argument(fmt::format("sample rate {:g} Hz is out of range; allowed: 8000 to 192000 Hz", sampleRateHz));
    if (samples.size() % 2 != 0) throw std::invalid_argument("samples must be interleaved stereo (an even count)");
    if (seconds() > music::kMaxSeconds)
        throw std::invalid_argument(fmt::format("the audio lasts {:.0f} s; the limit is {:g} s", seconds(), music::kMaxSeconds));
    pipeline::RenderArgs a;
    a.output = path;
    a.format = format;
    const auto fileFormat = pipeline::chooseFormat(a);
    StereoBuffer buffer;
    buffer.resize(static_cast<int>(frames()));
    for (std::size_t i = 0; i < frames(); ++i) {
        buffer.left()[i] = samples[2 * i];
        buffer.right()[i] = samples[2 * i + 1];
    }
    io::OutputFiles out;
    try {
        io::writeAudioFile(out.add(path, "path"), buffer, sampleRateHz, fileFormat);
        out.commit();
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(out.withTargetNames(e.what()));
    }
}

}  // namespace soundstar

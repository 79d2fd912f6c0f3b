// `soundstar generate`, `soundstar models` and the hidden `soundstar model-worker`: the model
// service from the command line (src/models).
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>

#include "Commands.h"
#include "io/AudioFile.h"
#include "io/OutputFiles.h"
#include "models/Conform.h"
#include "models/ModelManifest.h"
#include "models/ProceduralModel.h"
#ifdef SOUNDSTAR_HAVE_GGML
#include "models/ggml/GgmlModule.h"
#endif
#include "models/WorkerSupervisor.h"
#include "pipeline/ModelGenerator.h"
#include "music/JsonText.h"
#include "server/Studio.h"

#include <chrono>
#include <thread>

namespace soundstar::app {
namespace {
/// A model's interleaved audio as a stereo buffer (mono played on both sides).
StereoBuffer stereoOf(const std::vector<float>& interleaved, int channels) {
    StereoBuffer audio;
    const auto ch = static_cast<std::size_t>(std::max(channels, 1));
    const std::size_t frames = interleaved.size() / ch;
    audio.resize(static_cast<int>(frames));
    for (std::size_t i = 0; i < frames; ++i) {
        audio.left()[i] = interleaved[i * ch];
        audio.right()[i] = interleaved[i * ch + (ch > 1 ? 1 : 0)];
    }
    return audio;
}
/// `audio` at `toHz` (models::resampleAudio), or as it is when the rate is already that.
StereoBuffer atRate(const StereoBuffer& audio, double fromHz, double toHz) {
    if (fromHz == toHz) return audio;
    const std::size_t n = audio.left().size();
    std::vector<float> inter(2 * n);
    for (std::size_t i = 0; i < n; ++i) inter[2 * i] = audio.left()[i], inter[2 * i + 1] = audio.right()[i];
    return stereoOf(models::resampleAudio(inter, 2, fromHz, toHz), 2);
}
std::vector<std::string> workerCommand() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find this program's own path (/proc/self/exe) to start a model worker");
    return {self.string(), "model-worker"};
}

// Where installed models are looked for: --dir folders, $SOUNDSTAR_MODELS (':'-separated), data/models.
std::vector<std::filesystem::path> modelRoots(const std::vector<std::string>& dirs) {
    return pipeline::modelRoots(std::vector<std::filesystem::path>(dirs.begin(), dirs.end()), dataDir());
}
}  // namespace

std::vector<std::filesystem::path> installedModelRoots() { return modelRoots({}); }

std::function<nlohmann::json(const server::GenerateJobSpec&, const std::function<void(double)>&, const std::atomic<bool>&)> serverModelJobs() {
    std::shared_ptr<models::WorkerSupervisor> service;  // started at the first job, kept (its models stay loaded)
    return [service](const server::GenerateJobSpec& spec, const std::function<void(double)>& progress, const std::atomic<bool>& cancel) mutable {
        if (!service) {
            models::WorkerSupervisor::Options o;
            o.workerCommand = workerCommand();
            service = std::make_shared<models::WorkerSupervisor>(o);
        }
        models::GenerateRequest r;
        r.model = spec.model;
        r.prompt = spec.prompt;
        r.seconds = spec.seconds;
        r.seed = spec.seed;
        r.steps = spec.steps;
        r.guidance = spec.guidance;
        r.topK = spec.topK;
        r.temperature = spec.temperature;
        r.takes = 1 + static_cast<int>(spec.takeOutputs.size());
        r.threads = spec.threads;
        models::GenerateCallbacks cb;
        cb.onProgress = [progress](int step, int steps) { progress(steps > 0 ? std::min(1.0, static_cast<double>(step) / steps) : 0.0); };
        const auto id = service->submit(r, cb);
        // wait() blocks, so it runs on a helper thread while this one watches for a cancel.
        std::atomic<bool> over{false};
        models::GenerateResult result;
        std::thread waiter([&] {
            result = service->wait(id);
            over = true;
        });
        bool cancelSent = false;
        while (!over) {
            if (cancel && !cancelSent) {
                service->cancel(id);
                cancelSent = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        waiter.join();
        if (cancel || result.cancelled) throw std::runtime_error("cancelled");
        if (!result.ok) throw std::runtime_error(fmt::format("generating failed: {}", result.error));
        // Every take is fitted and written, or none is; the report is take 1's.
        nlohmann::json report;
        io::OutputFiles out;
        for (int t = 0; t < result.takes(); ++t) {
            StereoBuffer audio = stereoOf(result.take(t), result.channels);
            if (!spec.loop.is_null()) {  // fitted into a loop for a sampler track (checked when the job was asked for)
                models::ConformedLoop loop;
                try {
                    auto o = models::conformOptionsFromJson(spec.loop);
                    if (spec.sampleRate) o.outputRateHz = *spec.sampleRate;  // fitted at the file's rate: exact bars, a clean seam
                    loop = models::conformOrCut(result.take(t), result.channels, result.sampleRateHz, o);
                } catch (const std::exception& e) {
                    throw std::runtime_error(fmt::format("the generated audio{} cannot be fitted into the loop asked for: {}",
                                                         result.takes() > 1 ? fmt::format(" of take {}", t + 1) : "", e.what()));
                }
                audio.left() = std::move(loop.left);
                audio.right() = std::move(loop.right);
                if (t == 0) report = models::toJson(loop.report);
            }
            const auto& path = t == 0 ? spec.output : spec.takeOutputs.at(static_cast<std::size_t>(t - 1));
            const double rate = spec.sampleRate.value_or(result.sampleRateHz);
            if (spec.loop.is_null()) audio = atRate(audio, result.sampleRateHz, rate);
            io::writeAudioFile(out.add(path, "file"), audio, rate, io::FileFormat::Wav16, spec.seed + static_cast<std::uint64_t>(t));
        }
        out.commit();
        return report;
    };
}

std::filesystem::path defaultModelDir() { return dataDir() / "models" / "procedural"; }

CancellableGenerator cancellableModelGenerator(const std::string& model, bool quiet) {
    pipeline::ModelGeneratorOptions o;
    o.modelRoots = modelRoots({});
    o.workerCommand = workerCommand();
    o.quiet = quiet;
    auto g = pipeline::serviceGenerator(model, o);
    return {std::move(g.generate), std::move(g.cancel)};
}

pipeline::Generator modelGenerator(const std::string& model, bool quiet) { return cancellableModelGenerator(model, quiet).generate; }

int runGenerate(const GenerateArgs& g) {
    const auto format = io::formatFromPath(g.output);
    const auto chosen = g.format.empty() ? format : io::parseFormat(g.format);
    if (!chosen) throw std::invalid_argument(fmt::format("cannot tell the audio format of '{}'; give --format ({})", music::clipText(g.output, 200), io::formatNames()));
    std::optional<models::ConformOptions> loop;
    double seconds = g.seconds;
    if (g.loopBars) {  // checked before the model runs
        loop.emplace();
        loop->bars = *g.loopBars, loop->targetBpm = g.bpm, loop->beatsPerBar = g.beatsPerBar;
        if (!g.key.empty()) {
            loop->targetKey = models::parseKey(g.key);
            if (!loop->targetKey)
                throw std::invalid_argument(fmt::format("--key '{}' is no key: a tonic (C, C#, Db, ... B) and major or minor, e.g. \"F# minor\" or Eb", music::clipText(g.key, 40)));
        }
        if (g.sampleRate) loop->outputRateHz = *g.sampleRate;
        const double barSeconds = g.beatsPerBar * 60.0 / g.bpm;
        if (!g.durationGiven) seconds = models::generatorSecondsFor(*g.loopBars, barSeconds);
        if (*g.loopBars * barSeconds > seconds)
            throw std::invalid_argument(g.durationGiven ? fmt::format("--loop-bars {} at {:g} bpm last {:.4g} s, longer than -d {:g}; ask for about {:.0f} s (room for a slower "
                                                                      "source) or fewer bars",
                                                                      *g.loopBars, g.bpm, *g.loopBars * barSeconds, seconds, models::generatorSecondsFor(*g.loopBars, barSeconds))
                                                        : fmt::format("--loop-bars {} of {} beats at {:g} bpm last {:.4g} s, longer than the 600 s a model is asked for: "
                                                                      "fewer bars or beats, or a faster tempo",
                                                                      *g.loopBars, g.beatsPerBar, g.bpm, *g.loopBars * barSeconds));
    } else if (g.loopShaped) {
        throw std::invalid_argument("--bpm, --beats-per-bar and --key shape a loop: give --loop-bars too");
    }
    models::WorkerSupervisor::Options o;
    o.workerCommand = workerCommand();
    models::WorkerSupervisor service(o);
    models::GenerateRequest r;
    r.model = g.model.empty() ? defaultModelDir() : std::filesystem::path(g.model);
    r.prompt = g.prompt;
    r.seconds = seconds;
    r.seed = g.seed;
    r.steps = g.steps;
    r.guidance = g.guidance;
    r.topK = g.topK;
    r.temperature = g.temperature;
    r.takes = g.takes;
    r.threads = g.threads;
    r.timeoutSeconds = g.timeoutSeconds;
    if (g.takes > 1 && io::isStandardOutput(g.output)) throw std::invalid_argument("--takes writes a file a take: give -o FILE, not -");
    models::GenerateCallbacks cb;
    const bool terminal = ::isatty(2) != 0;
    if (!g.quiet)
        cb.onProgress = [terminal](int step, int steps) {
            if (terminal) fmt::print(stderr, "\rsoundstar: generating, step {}/{}", step, steps);
            else if (step == steps) fmt::print(stderr, "soundstar: generated {} steps", steps);
        };
    const auto result = service.generate(r, cb);
    if (!g.quiet) fmt::print(stderr, "\n");
    if (!result.ok) throw std::runtime_error(fmt::format("generate failed: {}", result.error));
    // Every take lands, or none does.
    io::OutputFiles out;
    std::vector<std::pair<std::string, std::uint64_t>> written;
    for (int t = 0; t < result.takes(); ++t) {
        const auto& pcm = result.take(t);
        StereoBuffer audio = stereoOf(pcm, result.channels);
        const std::string name = models::takeFileName(g.output, t).string();
        if (loop) {
            models::ConformedLoop fitted;
            try {
                fitted = models::conformOrCut(pcm, result.channels, result.sampleRateHz, *loop);
            } catch (const std::exception& e) {
                throw std::runtime_error(fmt::format("the generated audio{} cannot be fitted into {} bars: {}", result.takes() > 1 ? fmt::format(" of take {}", t + 1) : "",
                                                     loop->bars, e.what()));
            }
            audio.left() = std::move(fitted.left);
            audio.right() = std::move(fitted.right);
            const auto& rep = fitted.report;
            if (!g.quiet) {
                fmt::print(stderr, "soundstar: {}loop of {} bars at {:g} bpm from {:.1f} bpm{} ({}), {:+d} semitones, {:.1f} LUFS\n",
                           result.takes() > 1 ? fmt::format("take {}: ", t + 1) : "", loop->bars, g.bpm, rep.sourceBpm,
                           rep.bpmGiven ? " (its own pace: no beat found)" : "", models::keyName(rep.sourceKey), rep.semitones, rep.outputLufs);
                for (const auto& w : rep.warnings) fmt::print(stderr, "soundstar: warning: {}\n", w);
            }
        }
        const double rate = g.sampleRate.value_or(result.sampleRateHz);
        if (!loop) audio = atRate(audio, result.sampleRateHz, rate);  // a loop is fitted at the rate asked (its exact bars and seam)
        io::writeAudioFile(out.add(name, t == 0 ? "-o" : "-o (a take)"), audio, rate, *chosen, r.seed.value_or(1) + static_cast<std::uint64_t>(t));
        written.emplace_back(name, audio.left().size());
    }
    out.commit();
    if (!g.quiet)
        for (const auto& [name, frames] : written)
            fmt::print(stderr, "soundstar: wrote {} ({:.2f} s at {:g} Hz, generated in {:.2f} s)\n", name,
                       static_cast<double>(frames) / g.sampleRate.value_or(result.sampleRateHz), g.sampleRate.value_or(result.sampleRateHz), result.seconds);
    return 0;
}

int runModels(const ModelsArgs& a) {
    std::unique_ptr<models::WorkerSupervisor> service;
    if (a.load) {
        models::WorkerSupervisor::Options o;
        o.workerCommand = workerCommand();
        service = std::make_unique<models::WorkerSupervisor>(o);
    }
    int found = 0, broken = 0;
#ifdef SOUNDSTAR_HAVE_GGML
    try {
        fmt::print("ggml CPU: {}\n", models::ggml::describeCpu());  // the variant picked for this CPU (GgmlCpu.h)
    } catch (const std::exception& e) {
        fmt::print("ggml CPU: unusable: {}\n", e.what());
    }
#endif
    for (const auto& root : modelRoots(a.dirs)) {
        std::error_code ec;
        if (!std::filesystem::is_directory(root, ec)) continue;
        std::vector<std::filesystem::path> dirs;
        for (const auto& e : std::filesystem::directory_iterator(root, ec))
            if (e.is_directory(ec) && std::filesystem::exists(e.path() / "manifest.json", ec)) dirs.push_back(e.path());
        std::sort(dirs.begin(), dirs.end());
        for (const auto& dir : dirs) {
            ++found;
            try {
                const auto m = models::readModelDir(dir);
                fmt::print("{:<20} {:<11} {:>6g} Hz  {:<4} {:>10} params  {:>8.1f} MiB  {}\n", m.name, m.kind, m.sampleRateHz, models::quantizationName(m.quantization),
                           m.parameterCount, m.memoryBytes / 1048576.0, dir.string());
                if (service) {
                    const auto loaded = service->load(dir);
                    fmt::print("  loaded in worker pid {} in {:.2f} s\n", loaded.pid, loaded.loadSeconds);
                }
            } catch (const std::exception& e) {
                ++broken;
                fmt::print("{:<20} unusable: {}\n", dir.filename().string(), e.what());
            }
        }
    }
    if (found == 0) fmt::print("no models installed (looked in --dir, $SOUNDSTAR_MODELS and {})\n", (dataDir() / "models").string());
    if (service) {
        const auto s = service->status();
        fmt::print("loaded: {} model(s), {:.1f} MiB of a {:.1f} MiB budget\n", s.loaded.size(), s.memoryBytes / 1048576.0, s.maxMemoryBytes / 1048576.0);
    } else {
        fmt::print("loaded: none in this command (--load starts a worker per model and reports its load time and memory)\n");
    }
    return broken > 0 ? 1 : 0;
}

int runModelWorker() {
    // The protocol owns the original stdout; anything else printed goes to stderr.
    const int protocolOut = ::dup(1);
    if (protocolOut < 0 || ::dup2(2, 1) < 0) return 1;
    return models::serveModelWorker(0, protocolOut, [](const std::filesystem::path& dir, const models::ModelManifest& m) -> std::unique_ptr<models::Generator> {
#ifdef SOUNDSTAR_HAVE_GGML
        if (m.kind == "musicgen" || m.kind == "audioldm") return models::ggml::makeGenerator(dir, m);
#endif
        return models::makeProceduralModel(cliData(), dir, m);
    });
}

}  // namespace soundstar::app

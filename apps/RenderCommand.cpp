#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "Commands.h"
#include "live/Steering.h"
#include "compose/Arranger.h"
#include "compose/Profiles.h"
#include "compose/SketchComposer.h"
#include "music/MidiFile.h"
#include "music/MusicConfig.h"
#include "engine/Preset.h"
#include "interpret/Interpreter.h"
#include "llm/LlmComposer.h"
#include "io/AudioDevice.h"
#include "io/AudioFile.h"
#include "render/Mastering.h"
#include "render/Renderer.h"
#include "live/Stream.h"
#include "io/OutputFiles.h"
#include "music/JsonText.h"

namespace soundstar::app {

std::filesystem::path dataDir() {
    if (const char* env = std::getenv("SOUNDSTAR_DATA"); env && *env) return env;
    const std::filesystem::path built = SOUNDSTAR_DATA_DIR;
    if (std::filesystem::is_directory(built / "presets")) return built;
    return std::filesystem::current_path() / "data";
}

namespace {
std::string readFile(const std::string& path, const std::string& what) { return music::readTextFile(path, what); }

}  // namespace

io::FileFormat chooseFormat(const RenderArgs& a) {
    if (!a.format.empty()) {
        const auto f = io::parseFormat(a.format);
        if (!f) throw std::invalid_argument(fmt::format("unknown --format '{}'; allowed: {}", a.format, io::formatNames()));
        // A name that says another container would mislead every player that trusts it.
        if (const auto byName = io::formatFromPath(a.output); byName && io::containerOf(*byName) != io::containerOf(*f))
            throw std::invalid_argument(fmt::format("--format {} does not match the name {} (a {} file); use a .{} name or drop --format",
                                                    a.format, a.output, io::containerOf(*byName), io::containerOf(*f)));
        return *f;
    }
    if (io::isStandardOutput(a.output)) return io::FileFormat::Wav16;  // standard output: WAV unless --format says otherwise
    const auto f = io::formatFromPath(a.output);
    if (!f)
        throw std::invalid_argument(fmt::format("cannot tell the format of '{}' from its extension; use .wav, .flac, "
                                                ".ogg or .mp3, or --format ({})",
                                                a.output, io::formatNames()));
    return *f;
}

/// The style profiles, read from data/profiles once per process.
const compose::ProfileLibrary& styleProfiles() {
    static const compose::ProfileLibrary lib = [] {
        compose::ProfileLibrary l;
        l.loadDirectory(dataDir() / "profiles");
        return l;
    }();
    return lib;
}

const engine::PresetLibrary& shippedPresets() {
    static const engine::PresetLibrary lib = [] {
        engine::PresetLibrary l;
        l.loadDirectory(dataDir() / "presets");
        return l;
    }();
    return lib;
}

live::StreamVibe vibeFromText(const std::string& text, const std::optional<std::uint64_t>& seed, double seconds) {
    RenderArgs a;
    a.prompt = text;
    a.seed = seed;
    std::vector<std::string> understood;
    const auto cfg = resolveConfig(a, understood);
    return {text, cfg, sketchFor(cfg), seconds};
}

const interpret::Interpreter& interpreter() {
    // The snapshot beside the data (an install) or the one this build wrote, if either matches
    // the data; else the sources themselves, some 40 ms slower, with a warning that says why.
    static const interpret::Interpreter it = [] {
        const auto dir = dataDir() / "interpret";
        std::string warning;
        auto loaded = interpret::Interpreter::loadFastest(
            dir, {dir / "interpreter.bin", std::filesystem::path(SOUNDSTAR_BUILT_DATA_DIR) / "interpret" / "interpreter.bin"}, warning);
        if (!warning.empty()) fmt::print(stderr, "soundstar: warning: {}\n", music::clipText(warning, 1500));
        return loaded;
    }();
    return it;
}

music::MusicConfig resolveConfig(const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome) {
    // The prompt gives a config (through the LLM with --llm, else the embedded interpreter); a
    // --config file is applied on top of it; --seed wins over both.
    music::MusicConfig cfg;
    std::set<std::string> stated;  // fields the prompt's own words decided: no mood or profile changes them
    nlohmann::json metadata{{"prompt", a.prompt}, {"title", a.prompt}, {"reasoning", ""}, {"palettes", nlohmann::json::array()},
                            {"source", a.prompt.empty() ? "config" : "interpreter"}, {"warnings", nlohmann::json::array()}};
    if (!a.prompt.empty() && a.useLlm) {
        const auto settings = llm::resolveLlmSettings({a.llmUrl, a.llmModel, a.llmTimeout}, [](const char* n) { return std::getenv(n); },
                                                      llm::defaultConfigFile([](const char* n) { return std::getenv(n); }));
        llm::LlmClient client(settings);
        auto comp = llm::composeWithLlm(client, interpreter(), a.prompt, a.durationSeconds, a.structureFile.empty());
        cfg = comp.config;
        understood.insert(understood.end(), comp.notes.begin(), comp.notes.end());
        for (const auto& w : comp.warnings) fmt::print(stderr, "soundstar: warning: {}\n", w);
        metadata = comp.metadata;
        if (outcome) {
            outcome->structure = comp.structure;
            outcome->configFromLlm = comp.configFromLlm;
            outcome->warnings = comp.warnings;
        }
    } else if (!a.prompt.empty()) {
        auto meaning = interpreter().interpret(a.prompt);
        cfg = meaning.config;
        stated = meaning.explicitFields;
        understood.insert(understood.end(), meaning.notes.begin(), meaning.notes.end());
    }
    if (outcome) outcome->metadata = metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!a.configFile.empty()) cfg = music::mergeMusicConfig(cfg, readFile(a.configFile, "--config"), a.configFile);
    if (!a.configJson.empty()) cfg = music::mergeMusicConfig(cfg, a.configJson, "config");
    if (!a.update.empty()) cfg = music::applyUpdate(cfg, a.update, "--update");
    if (a.seed) cfg.seed = *a.seed;
    if (!cfg.seed) cfg.seed = 1;
    // A mood word, then a genre's style profile, fill in what neither the prompt nor the config chose.
    if (const auto said = compose::applyMood(cfg, stated); !said.empty()) understood.push_back(said);
    if (!cfg.genre.empty()) {
        const auto& profiles = styleProfiles();
        if (const auto* p = profiles.find(cfg.genre)) {
            cfg = compose::applyProfile(cfg, *p, stated);
            understood.push_back(fmt::format("genre '{}': {}", cfg.genre, p->description));
        } else {
            understood.push_back(fmt::format("genre '{}' has no style profile (profiles: {})", cfg.genre, fmt::join(profiles.names(), ", ")));
        }
    }
    return cfg;
}

live::StreamVibe vibeFromConfig(const std::string& label, const music::MusicConfig& cfg, double seconds) { return {label, cfg, sketchFor(cfg), seconds}; }

live::StreamVibe vibeFromBlend(const std::string& label, const std::vector<std::pair<std::string, double>>& parts, const std::optional<std::uint64_t>& seed,
                               double seconds) {
    std::vector<std::pair<music::MusicConfig, double>> configs;
    for (const auto& [text, weight] : parts) configs.emplace_back(vibeFromText(text, seed, 0.0).config, weight);
    return vibeFromConfig(label, live::blendConfigs(configs), seconds);
}

compose::SketchConfig sketchFor(const music::MusicConfig& cfg) {
    compose::SketchConfig s = compose::sketchFromMusicConfig(cfg);
    if (!cfg.genre.empty()) {
        const auto& profiles = styleProfiles();
        if (const auto* p = profiles.find(cfg.genre)) {
            s.groove = p->groove;
            s.effects = p->effects;
            for (const auto& [layer, preset] : p->presets) s.presets.emplace(layer, preset);  // instrumentation wins
        }
    }
    return s;
}

music::Arrangement resolveArrangement(const RenderArgs& a, const music::MusicConfig& cfg, const std::optional<std::string>& llmStructure = {}) {
    if (!a.structureFile.empty())
        return compose::arrangeFromStructure(cfg, readFile(a.structureFile, "--structure"), a.durationGiven ? a.durationSeconds : 0.0, a.loop);
    if (llmStructure && a.bars == 0 && a.form == "auto") {
        try {
            return compose::arrangeFromStructure(cfg, *llmStructure, a.durationSeconds, a.loop || a.form == "loop");
        } catch (const std::invalid_argument& e) {
            fmt::print(stderr, "soundstar: warning: the LLM's sections do not fit ({}); the arranger chose the form\n", e.what());
        }
    }
    const bool loop = a.loop || a.form == "loop";
    double seconds = a.durationSeconds;
    if (a.bars > 0) {
        // Whole bars of music, plus the same room for the ending the arranger leaves.
        const double barSeconds = 4.0 * 60.0 / cfg.resolvedBpm();
        const double body = a.bars * barSeconds;
        seconds = loop ? body : body + std::clamp(body * 0.15 / 0.85, 0.5, 2.5) + 1e-6;
        if (seconds > music::kMaxSeconds)
            throw std::invalid_argument(fmt::format("--bars {} at {:.4g} bpm would last {:.0f} s; the limit is {:g} s (at most {} bars at this tempo)",
                                                    a.bars, cfg.resolvedBpm(), seconds, music::kMaxSeconds,
                                                    static_cast<int>((music::kMaxSeconds - 2.5) / barSeconds)));
    }
    return compose::arrange(cfg, seconds, {a.form, loop});
}

namespace {
// Options that cannot be honoured together are refused rather than one silently ignored.
void checkOptionConflicts(const RenderArgs& a) {
    if (!a.structureFile.empty() && a.form != "auto")
        throw std::invalid_argument(fmt::format("--form {} cannot be used with --structure (the structure is the form); for a seamless "
                                                "loop of the structure use --loop", a.form));
    if (!a.structureFile.empty() && a.bars > 0)
        throw std::invalid_argument("--bars cannot be used with --structure (the sections give the length; -d scales them)");
}

/// Everything a render decides before making audio: the config, the arrangement and the score.
struct Composition {
    music::MusicConfig config;
    music::Arrangement arrangement;
    music::Score score;
    PromptOutcome outcome;
    std::vector<std::string> understood;
};

Composition composeJob(const RenderArgs& a) {
    checkOptionConflicts(a);
    Composition job;
    job.config = resolveConfig(a, job.understood, &job.outcome);
    job.arrangement = resolveArrangement(a, job.config, job.outcome.structure);
    // A loop may fit its whole bars by a small tempo change: the config says the tempo used.
    if (std::abs(job.arrangement.bpm - job.config.resolvedBpm()) > 1e-9) {
        job.understood.push_back(fmt::format("seamless loop: {} whole bars at {:.4g} bpm (asked {:.4g} bpm)", job.arrangement.totalBars,
                                             job.arrangement.bpm, job.config.resolvedBpm()));
        job.config.bpm = job.arrangement.bpm;
    }
    job.score = compose::composeSketch(sketchFor(job.config), job.arrangement);
    return job;
}
}  // namespace

int runArrange(const RenderArgs& a) {
    checkOptionConflicts(a);
    std::vector<std::string> understood;
    const auto cfg = resolveConfig(a, understood);
    fmt::print("{}\n", music::toJson(resolveArrangement(a, cfg)));
    return 0;
}

namespace {
void writeMetadata(const std::filesystem::path& path, const RenderArgs& a, const Composition& job) {
    auto meta = nlohmann::json::parse(job.outcome.metadata);
    meta["audio"] = a.output;
    meta["config"] = nlohmann::json::parse(music::toJson(job.config));
    meta["arrangement"] = nlohmann::json::parse(music::toJson(job.arrangement));
    std::ofstream out(path);
    out << meta.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write the metadata file {}: {}", a.metadataFile, std::strerror(errno)));
}

void writeAll(const RenderArgs& a, const Composition& job, const engine::PresetLibrary& presets, const render::RenderOptions& ro,
              StereoBuffer& audio, io::FileFormat format, render::MasteringReport& mr, io::OutputFiles& out,
              const std::vector<StereoBuffer>* stems);

// Writes every output of a render through one OutputFiles: all land, or none does.
// `stems`: the layers from the render's own pass (renderScore with stems), or nullptr to render them here.
void writeOutputs(const RenderArgs& a, const Composition& job, const engine::PresetLibrary& presets, const render::RenderOptions& ro,
                  StereoBuffer& audio, io::FileFormat format, render::MasteringReport& mr,
                  const std::vector<StereoBuffer>* stems = nullptr) {
    io::OutputFiles out;
    try {
        writeAll(a, job, presets, ro, audio, format, mr, out, stems);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(out.withTargetNames(e.what()));  // name the files asked for, not their temporary names
    }
}

void writeAll(const RenderArgs& a, const Composition& job, const engine::PresetLibrary& presets, const render::RenderOptions& ro,
              StereoBuffer& audio, io::FileFormat format, render::MasteringReport& mr, io::OutputFiles& out,
              const std::vector<StereoBuffer>* stems) {
    const auto mixPath = out.add(a.output, "-o");
    const auto midiPath = a.midiGiven ? out.add(a.midiFile, "--midi") : std::filesystem::path();
    const auto metadataPath = a.metadataGiven ? out.add(a.metadataFile, "--metadata") : std::filesystem::path();
    std::vector<std::filesystem::path> stemPaths;
    if (a.stemsGiven) {
        out.ensureFolder(a.stemsDir, "--stems");
        for (const auto& t : job.score.tracks) stemPaths.push_back(out.add(std::filesystem::path(a.stemsDir) / (t.name + ".wav"), "--stems"));
    }
    if (a.midiGiven) music::writeMidiFile(midiPath, job.score, {job.config.root, job.config.mode});
    if (a.stemsGiven) {
        const auto own = stems ? std::vector<StereoBuffer>{} : render::renderStems(job.score, presets, ro);
        const auto& layers = stems ? *stems : own;
        for (std::size_t i = 0; i < layers.size(); ++i) io::writeAudioFile(stemPaths[i], layers[i], a.sampleRate, io::FileFormat::WavFloat);
    }
    if (!a.noMaster) mr = render::master(audio, a.sampleRate, {a.targetLufs, a.ceilingDbtp});
    io::writeAudioFile(mixPath, audio, a.sampleRate, format, *job.config.seed);
    if (a.metadataGiven) writeMetadata(metadataPath, a, job);
    out.commit();
}
}  // namespace

namespace {
// Renders a composed job to its files; says what a user should be warned about.
RenderOutcome renderComposition(const RenderArgs& a, const Composition& job, io::FileFormat format, const std::function<void(double)>& progress) {
    const engine::PresetLibrary& presets = shippedPresets();
    render::RenderOptions ro;
    ro.sampleRate = a.sampleRate;
    ro.blockSize = a.blockSize;
    ro.durationSeconds = job.arrangement.durationSeconds;
    ro.loop = job.arrangement.loop;
    ro.masterChain = !a.noMaster;  // --no-master: the plain sum of the layers (what the stems add up to)
    std::vector<StereoBuffer> stems;  // from the same pass as the mix
    StereoBuffer audio = render::renderScore(job.score, presets, ro, progress, a.stemsGiven ? &stems : nullptr);
    render::MasteringReport mr;
    writeOutputs(a, job, presets, ro, audio, format, mr, a.stemsGiven ? &stems : nullptr);
    RenderOutcome out;
    out.audioSeconds = ro.durationSeconds;
    out.layers = static_cast<int>(job.score.tracks.size());
    out.measured = !a.noMaster && !mr.silent;
    out.lufs = mr.outputLufs;
    out.truePeakDbtp = mr.truePeakDbtp;
    if (job.arrangement.loop && a.durationGiven && std::abs(ro.durationSeconds - a.durationSeconds) > 1e-6)
        out.warnings.push_back(fmt::format("a seamless loop is whole bars: {} at {:.4g} bpm last {:.3f} s, not the {:g} s asked",
                                           job.arrangement.totalBars, job.arrangement.bpm, ro.durationSeconds, a.durationSeconds));
    if (out.measured && std::abs(mr.outputLufs - a.targetLufs) > 0.5)
        out.warnings.push_back(fmt::format("the master reached {:.1f} LUFS, not the {:g} LUFS asked: {}", mr.outputLufs, a.targetLufs,
                   mr.outputLufs < a.targetLufs ? fmt::format("the {:g} dBTP ceiling holds it back (raise --ceiling-dbtp or lower --target-lufs)", a.ceilingDbtp)
                                                : "the music is too sparse to bring down further without silence"));
    return out;
}
}  // namespace

RenderOutcome renderToFiles(const RenderArgs& a) {
    const auto format = chooseFormat(a);
    return renderComposition(a, composeJob(a), format, {});
}

int runRender(const RenderArgs& a) {
    const auto format = chooseFormat(a);  // fail on a bad format before spending time rendering
    if (io::isStandardOutput(a.output) && a.printConfig)
        throw std::invalid_argument("--print-config and -o - both write to standard output; choose one");
    const auto t0 = std::chrono::steady_clock::now();
    const Composition job = composeJob(a);
    if (a.printConfig) fmt::print("{}\n", music::toJson(job.config));
    if (a.explain)
        for (const auto& u : job.understood) fmt::print(stderr, "prompt: {}\n", u);
    const bool progress = !a.quiet && job.arrangement.durationSeconds >= 120.0;
    const RenderOutcome out = renderComposition(a, job, format, [&](double p) {
        if (progress) fmt::print(stderr, "\rrendering {:3.0f}%", p * 100.0);
        if (a.progress) a.progress(p);
    });
    if (progress) fmt::print(stderr, "\rrendering 100%\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& w : out.warnings) fmt::print(stderr, "soundstar: warning: {}\n", w);
    if (!a.quiet) {
        fmt::print(stderr, "wrote {} ({:.2f} s, {:g} Hz, {:.4g} bpm, {} layers, {} form{}) in {:.2f} s", a.output == "-" ? "standard output" : a.output,
                   out.audioSeconds, a.sampleRate, job.score.bpm, job.score.tracks.size(), job.arrangement.form,
                   job.arrangement.loop ? ", seamless loop" : "", secs);
        if (out.measured) fmt::print(stderr, "; {:.1f} LUFS, {:.1f} dBTP", out.lufs, out.truePeakDbtp);
        if (a.stemsGiven) fmt::print(stderr, "; {} stems in {}", job.score.tracks.size(), a.stemsDir);
        fmt::print(stderr, "\n");
    }
    return 0;
}

int runDemo(const std::string& output, bool play, const std::string& midiFile) {
    RenderArgs a;
    a.midiFile = midiFile;  // the score that is played, as MIDI
    a.midiGiven = !midiFile.empty();
    a.prompt = "warm sunset over water";
    a.durationSeconds = 20.0;
    a.output = output;
    a.seed = 7;
    const Composition job = composeJob(a);
    {
        // The file first, from the same composition that is played below.
        const engine::PresetLibrary& presets = shippedPresets();
        render::RenderOptions ro;
        ro.sampleRate = a.sampleRate;
        ro.durationSeconds = job.arrangement.durationSeconds;
        StereoBuffer audio = render::renderScore(job.score, presets, ro);
        render::MasteringReport mr;
        writeOutputs(a, job, presets, ro, audio, chooseFormat(a), mr);
        fmt::print(stderr, "wrote {} ({:.1f} s, {:.1f} LUFS)\n", output, ro.durationSeconds, mr.outputLufs);
    }
    if (!play) return 0;
    return playScore(job.score, job.arrangement.durationSeconds, output);
}

int playScore(const music::Score& score, double seconds, const std::string& writtenFile) {
    // Probe quietly first; only open RtAudio when there is a device to open.
    if (io::listOutputDevices().empty()) {
        fmt::print(stderr, "no audio device here: wrote {} only (run `soundstar doctor` for details)\n", writtenFile);
        return 0;
    }
    std::unique_ptr<io::AudioDevice> dev;
    try {
        dev = io::makeRtAudioDevice();
    } catch (const std::exception& e) {
        dev.reset();
    }
    if (!dev) {
        fmt::print(stderr, "could not open the audio device: wrote {} only\n", writtenFile);
        return 0;
    }
    const engine::PresetLibrary& presets = shippedPresets();
    engine::AudioEngine eng(1 << 15);
    eng.prepare(48000.0, 512);
    engine::Controller ctl(eng);
    render::buildGraph(ctl, score, presets);
    ctl.commit();
    try {
        dev->start(eng);
    } catch (const std::exception& e) {
        fmt::print(stderr, "could not play: {}; the file {} is written\n", e.what(), writtenFile);
        return 0;
    }
    // Schedule 100 ms ahead of the device; the queue drains as it plays.
    const SampleTime start = eng.now() + 4800;
    for (const auto& e : render::schedule(score, 48000.0, static_cast<SampleTime>(seconds * 48000.0)))
        while (!(e.velocity > 0 ? ctl.noteOn(e.track, e.note, e.velocity, start + e.time) : ctl.noteOff(e.track, e.note, start + e.time)))
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    fmt::print(stderr, "playing {:.1f} s on the audio device...\n", seconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds + 0.2));
    dev->stop();
    return 0;
}

}  // namespace soundstar::app

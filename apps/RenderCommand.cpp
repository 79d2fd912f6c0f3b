#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "Commands.h"
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

namespace soundstar::app {

std::filesystem::path dataDir() {
    if (const char* env = std::getenv("SOUNDSTAR_DATA"); env && *env) return env;
    const std::filesystem::path built = SOUNDSTAR_DATA_DIR;
    if (std::filesystem::is_directory(built / "presets")) return built;
    return std::filesystem::current_path() / "data";
}

namespace {
std::string readFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument(fmt::format("cannot read {}", path));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

io::FileFormat chooseFormat(const RenderArgs& a) {
    if (!a.format.empty()) {
        const auto f = io::parseFormat(a.format);
        if (!f) throw std::invalid_argument(fmt::format("unknown --format '{}'; allowed: {}", a.format, io::formatNames()));
        return *f;
    }
    const auto f = io::formatFromPath(a.output);
    if (!f)
        throw std::invalid_argument(fmt::format("cannot tell the format of '{}' from its extension; use .wav, .flac, "
                                                ".ogg or .mp3, or --format ({})",
                                                a.output, io::formatNames()));
    return *f;
}
}  // namespace

/// The style profiles, read from data/profiles once per process.
const compose::ProfileLibrary& styleProfiles() {
    static const compose::ProfileLibrary lib = [] {
        compose::ProfileLibrary l;
        l.loadDirectory(dataDir() / "profiles");
        return l;
    }();
    return lib;
}

const interpret::Interpreter& interpreter() {
    static const interpret::Interpreter it = interpret::Interpreter::load(dataDir() / "interpret");
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
        if (outcome) outcome->structure = comp.structure;
    } else if (!a.prompt.empty()) {
        auto meaning = interpreter().interpret(a.prompt);
        cfg = meaning.config;
        stated = meaning.explicitFields;
        understood.insert(understood.end(), meaning.notes.begin(), meaning.notes.end());
    }
    if (outcome) outcome->metadata = metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!a.configFile.empty()) cfg = music::mergeMusicConfig(cfg, readFile(a.configFile), a.configFile);
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
        return compose::arrangeFromStructure(cfg, readFile(a.structureFile), a.durationGiven ? a.durationSeconds : 0.0, a.loop);
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
        const double body = a.bars * 4.0 * 60.0 / cfg.resolvedBpm();
        seconds = loop ? body : body + std::clamp(body * 0.15 / 0.85, 0.5, 2.5) + 1e-6;
    }
    return compose::arrange(cfg, seconds, {a.form, loop});
}

int runArrange(const RenderArgs& a) {
    std::vector<std::string> understood;
    const auto cfg = resolveConfig(a, understood);
    fmt::print("{}\n", music::toJson(resolveArrangement(a, cfg)));
    return 0;
}

int runRender(const RenderArgs& a) {
    const auto format = chooseFormat(a);  // fail on a bad format before spending time rendering
    std::vector<std::string> understood;
    PromptOutcome outcome;
    const music::MusicConfig cfg = resolveConfig(a, understood, &outcome);
    if (a.printConfig) fmt::print("{}\n", music::toJson(cfg));
    if (a.explain)
        for (const auto& u : understood) fmt::print(stderr, "prompt: {}\n", u);
    const music::Arrangement arrangement = resolveArrangement(a, cfg, outcome.structure);
    const compose::SketchConfig sketch = sketchFor(cfg);

    engine::PresetLibrary presets;
    presets.loadDirectory(dataDir() / "presets");

    const auto t0 = std::chrono::steady_clock::now();
    const music::Score score = compose::composeSketch(sketch, arrangement);
    if (!a.midiFile.empty()) music::writeMidiFile(a.midiFile, score, {cfg.root, cfg.mode});
    render::RenderOptions ro;
    ro.sampleRate = a.sampleRate;
    ro.blockSize = a.blockSize;
    ro.durationSeconds = arrangement.durationSeconds;
    ro.loop = arrangement.loop;
    const bool progress = !a.quiet && ro.durationSeconds >= 120.0;
    StereoBuffer audio = render::renderScore(score, presets, ro, [&](double p) {
        if (progress) fmt::print(stderr, "\rrendering {:3.0f}%", p * 100.0);
    });
    if (progress) fmt::print(stderr, "\rrendering 100%\n");
    if (!a.stemsDir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(a.stemsDir, ec);
        if (ec) throw std::runtime_error(fmt::format("cannot create the stems folder {}: {}", a.stemsDir, ec.message()));
        const auto stems = render::renderStems(score, presets, ro);
        for (std::size_t i = 0; i < stems.size(); ++i)
            io::writeAudioFile(std::filesystem::path(a.stemsDir) / (score.tracks[i].name + ".wav"), stems[i], a.sampleRate,
                               io::FileFormat::WavFloat);
        if (!a.quiet) fmt::print(stderr, "wrote {} stems to {}\n", stems.size(), a.stemsDir);
    }
    render::MasteringReport mr;
    if (!a.noMaster) mr = render::master(audio, a.sampleRate, {a.targetLufs, a.ceilingDbtp});
    io::writeAudioFile(a.output, audio, a.sampleRate, format, *cfg.seed);
    if (!a.metadataFile.empty()) {
        auto meta = nlohmann::json::parse(outcome.metadata);
        meta["audio"] = a.output;
        meta["config"] = nlohmann::json::parse(music::toJson(cfg));
        meta["arrangement"] = nlohmann::json::parse(music::toJson(arrangement));
        std::ofstream out(a.metadataFile);
        out << meta.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        if (!out) throw std::runtime_error(fmt::format("cannot write the metadata file {}", a.metadataFile));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!a.quiet) {
        fmt::print(stderr, "wrote {} ({:.2f} s, {:g} Hz, {:.4g} bpm, {} layers, {} form{}) in {:.2f} s", a.output,
                   ro.durationSeconds, a.sampleRate, score.bpm, score.tracks.size(), arrangement.form,
                   arrangement.loop ? ", seamless loop" : "", secs);
        if (!a.noMaster && !mr.silent)
            fmt::print(stderr, "; {:.1f} LUFS, {:.1f} dBTP", mr.outputLufs, mr.truePeakDbtp);
        fmt::print(stderr, "\n");
    }
    return 0;
}

int runDemo(const std::string& output, bool play) {
    RenderArgs a;
    a.prompt = "warm sunset over water";
    a.durationSeconds = 20.0;
    a.output = output;
    a.seed = 7;
    const int rc = runRender(a);
    if (rc != 0 || !play) return rc;
    // Play the same music live through the engine on the audio device, if there is one.
    // Probe quietly first; only open RtAudio when there is a device to open.
    if (io::listOutputDevices().empty()) {
        fmt::print(stderr, "no audio device here: wrote {} only (run `soundstar doctor` for details)\n", output);
        return 0;
    }
    std::unique_ptr<io::AudioDevice> dev;
    try {
        dev = io::makeRtAudioDevice();
    } catch (const std::exception& e) {
        dev.reset();
    }
    if (!dev) {
        fmt::print(stderr, "could not open the audio device: wrote {} only\n", output);
        return 0;
    }
    engine::PresetLibrary presets;
    presets.loadDirectory(dataDir() / "presets");
    const auto score = compose::composeFromConfig(interpreter().interpret(a.prompt).config, a.durationSeconds);
    engine::AudioEngine eng(1 << 15);
    eng.prepare(48000.0, 512);
    engine::Controller ctl(eng);
    render::buildGraph(ctl, score, presets);
    ctl.commit();
    try {
        dev->start(eng);
    } catch (const std::exception& e) {
        fmt::print(stderr, "could not play: {}; the file {} is written\n", e.what(), output);
        return 0;
    }
    // Schedule 100 ms ahead of the device; the queue drains as it plays.
    const SampleTime start = eng.now() + 4800;
    for (const auto& e : render::schedule(score, 48000.0, static_cast<SampleTime>(a.durationSeconds * 48000.0)))
        while (!(e.velocity > 0 ? ctl.noteOn(e.track, e.note, e.velocity, start + e.time)
                                : ctl.noteOff(e.track, e.note, start + e.time)))
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    fmt::print(stderr, "playing {} s on the audio device...\n", a.durationSeconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(a.durationSeconds + 0.2));
    dev->stop();
    return 0;
}

}  // namespace soundstar::app

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "Commands.h"
#include "live/Steering.h"
#include "compose/Profiles.h"
#include "music/MusicConfig.h"
#include "engine/Preset.h"
#include "interpret/Interpreter.h"
#include "io/AudioDevice.h"
#include "io/AudioFile.h"
#include "render/Mastering.h"
#include "render/Renderer.h"
#include "live/Stream.h"
#include "music/JsonText.h"
#include "io/OutputFiles.h"
#include "pipeline/DataSet.h"
#include "core/Timings.h"

namespace soundstar::app {

std::filesystem::path dataDir() {
    if (const char* env = std::getenv("SOUNDSTAR_DATA"); env && *env) return env;
    // Installed (cmake --install): the data lies in PREFIX/share/soundstar beside PREFIX/bin.
    std::error_code ec;
    if (const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec); !ec) {
        const auto installed = exe.parent_path().parent_path() / "share" / "soundstar";
        if (std::filesystem::is_directory(installed / "presets", ec)) return installed;
    }
    const std::filesystem::path built = SOUNDSTAR_DATA_DIR;
    if (std::filesystem::is_directory(built / "presets")) return built;
    return std::filesystem::current_path() / "data";
}

const pipeline::DataSet& cliData() {
    static const pipeline::DataSet data(dataDir(), {std::filesystem::path(SOUNDSTAR_BUILT_DATA_DIR) / "interpret" / "interpreter.bin"});
    return data;
}

const compose::ProfileLibrary& styleProfiles() { return cliData().profiles(); }

const engine::PresetLibrary& shippedPresets() { return cliData().presets(); }

live::StreamVibe vibeFromText(const std::string& text, const std::optional<std::uint64_t>& seed, double seconds) {
    RenderArgs a;
    a.prompt = text;
    a.seed = seed;
    std::vector<std::string> understood;
    const auto cfg = resolveConfig(a, understood);
    return {text, cfg, sketchFor(cfg), seconds};
}

const interpret::Interpreter& interpreter() {
    static const interpret::Interpreter& it = [] () -> const interpret::Interpreter& {
        const auto& loaded = cliData().interpreter();
        core::timingMark("interpreter loaded");
        if (const auto warning = cliData().interpreterWarning(); !warning.empty())
            fmt::print(stderr, "soundstar: warning: {}\n", music::clipText(warning, 1500));
        return loaded;
    }();
    return it;
}

music::MusicConfig resolveConfig(const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome) {
    if (!a.prompt.empty()) (void)interpreter();  // its warning, once
    return pipeline::resolveConfig(cliData(), a, understood, outcome);
}

live::StreamVibe vibeFromConfig(const std::string& label, const music::MusicConfig& cfg, double seconds) { return {label, cfg, sketchFor(cfg), seconds}; }

live::StreamVibe vibeFromBlend(const std::string& label, const std::vector<std::pair<std::string, double>>& parts, const std::optional<std::uint64_t>& seed,
                               double seconds) {
    std::vector<std::pair<music::MusicConfig, double>> configs;
    for (const auto& [text, weight] : parts) configs.emplace_back(vibeFromText(text, seed, 0.0).config, weight);
    return vibeFromConfig(label, live::blendConfigs(configs), seconds);
}

compose::SketchConfig sketchFor(const music::MusicConfig& cfg) { return pipeline::sketchFor(cliData(), cfg); }

namespace {
pipeline::Composition composeJob(const RenderArgs& a) {
    if (!a.prompt.empty()) (void)interpreter();  // its warning, once
    return pipeline::composeJob(cliData(), a);
}
}  // namespace

int runArrange(const RenderArgs& a) {
    pipeline::checkOptionConflicts(a);
    std::vector<std::string> understood;
    const auto cfg = resolveConfig(a, understood);
    fmt::print("{}\n", music::toJson(pipeline::resolveArrangement(a, cfg)));
    return 0;
}

RenderOutcome renderToFiles(const RenderArgs& a) {
    const auto format = chooseFormat(a);
    return pipeline::renderComposition(cliData(), a, composeJob(a), format);
}

int runRender(const RenderArgs& given) {
    const auto format = chooseFormat(given);  // fail on a bad format before spending time rendering
    RenderArgs a = given;
    if (!a.generatorName.empty()) a.generator = modelGenerator(a.generatorName, a.quiet);  // a bad model fails before the render
    if (io::isStandardOutput(a.output) && a.printConfig)
        throw std::invalid_argument("--print-config and -o - both write to standard output; choose one");
    const auto t0 = std::chrono::steady_clock::now();
    const pipeline::Composition job = composeJob(a);
    if (a.printConfig) fmt::print("{}\n", music::toJson(job.config));
    if (a.explain)
        for (const auto& u : job.understood) fmt::print(stderr, "prompt: {}\n", u);
    // A percentage on a terminal, rewritten when it changes; a log or a pipe gets none of it.
    const bool progress = !a.quiet && job.arrangement.durationSeconds >= 120.0 && isatty(STDERR_FILENO) == 1;
    int shown = -1;
    const RenderOutcome out = pipeline::renderComposition(cliData(), a, job, format, [&](double p) {
        if (const int percent = static_cast<int>(p * 100.0); progress && percent != shown) {
            shown = percent;
            fmt::print(stderr, "\rrendering {:3d}%", percent);
        }
        if (a.progress) a.progress(p);
    });
    if (progress) fmt::print(stderr, "\rrendering 100%\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& w : out.warnings) fmt::print(stderr, "soundstar: warning: {}\n", w);
    if (!a.quiet) {
        fmt::print(stderr, "wrote {} ({:.2f} s, {:g} Hz, {:.4g} bpm, {} layers, {} form{}) in {:.2f} s", a.output == "-" ? "standard output" : a.output,
                   out.audioSeconds, a.sampleRate, job.score.bpm, out.layers, job.arrangement.form,
                   job.arrangement.loop ? ", seamless loop" : "", secs);
        if (out.measured) fmt::print(stderr, "; {:.1f} LUFS, {:.1f} dBTP", out.lufs, out.truePeakDbtp);
        if (a.stemsGiven) fmt::print(stderr, "; {} stems in {}", out.layers, a.stemsDir);
        fmt::print(stderr, "\n");
        if (!out.generated.empty()) fmt::print(stderr, "{}\n", out.generated);
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
    const pipeline::Composition job = composeJob(a);
    // The file first, from the same composition that is played below.
    const RenderOutcome out = pipeline::renderComposition(cliData(), a, job, chooseFormat(a));
    fmt::print(stderr, "wrote {} ({:.1f} s, {:.1f} LUFS)\n", output, out.audioSeconds, out.lufs);
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

#include "pipeline/RenderJob.h"

#include "core/Timings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

#include "compose/Arranger.h"
#include "dsp/LoudnessMeter.h"
#include "compose/Profiles.h"
#include "compose/SketchComposer.h"
#include "engine/Preset.h"
#include "interpret/Interpreter.h"
#include "io/OutputFiles.h"
#include "llm/LlmComposer.h"
#include "music/JsonText.h"
#include "music/MidiFile.h"
#include "pipeline/DataSet.h"
#include "render/Mastering.h"
#include "render/Renderer.h"

namespace soundstar::pipeline {

namespace {
std::string readFile(const std::string& path, const std::string& what) { return music::readTextFile(path, what); }

void warn(const RenderArgs& a, const std::string& text) {
    if (a.warn)
        a.warn(text);
    else
        fmt::print(stderr, "soundstar: warning: {}\n", text);
}
}  // namespace

io::FileFormat chooseFormat(const RenderArgs& a) {
    if (!a.format.empty()) {
        const auto f = io::parseFormat(a.format);
        if (!f) throw std::invalid_argument(fmt::format("unknown --format '{}'; allowed: {}", music::clipText(a.format, 200), io::formatNames()));
        // A name that says another container would mislead every player that trusts it.
        if (const auto byName = io::formatFromPath(a.output); byName && io::containerOf(*byName) != io::containerOf(*f))
            throw std::invalid_argument(fmt::format("--format {} does not match the name {} (a {} file); use a .{} name or drop --format",
                                                    a.format, music::clipText(a.output, 500), io::containerOf(*byName), io::containerOf(*f)));
        return *f;
    }
    if (io::isStandardOutput(a.output)) return io::FileFormat::Wav16;  // standard output: WAV unless --format says otherwise
    const auto f = io::formatFromPath(a.output);
    if (!f)
        throw std::invalid_argument(fmt::format("cannot tell the format of '{}' from its extension; use .wav, .flac, "
                                                ".ogg or .mp3, or --format ({})",
                                                music::clipText(a.output, 500), io::formatNames()));
    return *f;
}

music::MusicConfig resolveConfig(const DataSet& data, const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome) {
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
        auto comp = llm::composeWithLlm(client, data.interpreter(), a.prompt, a.durationSeconds, a.structureFile.empty());
        cfg = comp.config;
        understood.insert(understood.end(), comp.notes.begin(), comp.notes.end());
        for (const auto& w : comp.warnings) warn(a, w);
        metadata = comp.metadata;
        if (outcome) {
            outcome->structure = comp.structure;
            outcome->configFromLlm = comp.configFromLlm;
            outcome->warnings = comp.warnings;
        }
    } else if (!a.prompt.empty()) {
        auto meaning = data.interpreter().interpret(a.prompt);
        if (!meaning.warning.empty()) warn(a, meaning.warning);
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
        const auto& profiles = data.profiles();
        if (const auto* p = profiles.find(cfg.genre)) {
            cfg = compose::applyProfile(cfg, *p, stated);
            understood.push_back(fmt::format("genre '{}': {}", cfg.genre, p->description));
        } else {
            understood.push_back(fmt::format("genre '{}' has no style profile (profiles: {})", cfg.genre, fmt::join(profiles.names(), ", ")));
        }
    }
    return cfg;
}

compose::SketchConfig sketchFor(const DataSet& data, const music::MusicConfig& cfg) {
    compose::SketchConfig s = compose::sketchFromMusicConfig(cfg);
    if (!cfg.genre.empty()) {
        if (const auto* p = data.profiles().find(cfg.genre)) {
            s.groove = p->groove;
            s.effects = p->effects;
            for (const auto& [layer, preset] : p->presets) s.presets.emplace(layer, preset);  // instrumentation wins
        }
    }
    return s;
}

music::Arrangement resolveArrangement(const RenderArgs& a, const music::MusicConfig& cfg, const std::optional<std::string>& llmStructure) {
    if (!a.structureFile.empty())
        return compose::arrangeFromStructure(cfg, readFile(a.structureFile, "--structure"), a.durationGiven ? a.durationSeconds : 0.0, a.loop);
    if (llmStructure && a.bars == 0 && a.form == "auto") {
        try {
            return compose::arrangeFromStructure(cfg, *llmStructure, a.durationSeconds, a.loop || a.form == "loop");
        } catch (const std::invalid_argument& e) {
            warn(a, fmt::format("the LLM's sections do not fit ({}); the arranger chose the form", e.what()));
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

// Options that cannot be honoured together are refused rather than one silently ignored.
void checkOptionConflicts(const RenderArgs& a) {
    if (!a.structureFile.empty() && a.form != "auto")
        throw std::invalid_argument(fmt::format("--form {} cannot be used with --structure (the structure is the form); for a seamless "
                                                "loop of the structure use --loop", a.form));
    if (!a.structureFile.empty() && a.bars > 0)
        throw std::invalid_argument("--bars cannot be used with --structure (the sections give the length; -d scales them)");
}

Composition composeJob(const DataSet& data, const RenderArgs& a) {
    checkOptionConflicts(a);
    Composition job;
    job.config = resolveConfig(data, a, job.understood, &job.outcome);
    core::timingMark("config resolved");
    job.arrangement = resolveArrangement(a, job.config, job.outcome.structure);
    // A loop may fit its whole bars by a small tempo change: the config says the tempo used.
    if (std::abs(job.arrangement.bpm - job.config.resolvedBpm()) > 1e-9) {
        job.understood.push_back(fmt::format("seamless loop: {} whole bars at {:.4g} bpm (asked {:.4g} bpm)", job.arrangement.totalBars,
                                             job.arrangement.bpm, job.config.resolvedBpm()));
        job.config.bpm = job.arrangement.bpm;
    }
    job.score = compose::composeSketch(sketchFor(data, job.config), job.arrangement);
    core::timingMark("composed");
    return job;
}

std::string generatedStemName(const std::vector<std::string>& trackNames) {
    for (std::size_t underscores = 1;; ++underscores) {
        std::string name(underscores, '_');
        name += "generated";
        if (std::find(trackNames.begin(), trackNames.end(), name) == trackNames.end()) return name;
    }
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

// Every output of a render goes through one OutputFiles: all land, or none does.
void writeAll(const RenderArgs& a, const Composition& job, const StereoBuffer& audio, const std::vector<StereoBuffer>& stems,
              io::FileFormat format, io::OutputFiles& out) {
    const auto mixPath = out.add(a.output, "-o");
    const auto midiPath = a.midiGiven ? out.add(a.midiFile, "--midi") : std::filesystem::path();
    const auto metadataPath = a.metadataGiven ? out.add(a.metadataFile, "--metadata") : std::filesystem::path();
    std::vector<std::filesystem::path> stemPaths;
    if (a.stemsGiven) {
        out.ensureFolder(a.stemsDir, "--stems");
        std::vector<std::string> names;
        for (const auto& t : job.score.tracks) {
            stemPaths.push_back(out.add(std::filesystem::path(a.stemsDir) / (t.name + ".wav"), "--stems"));
            names.push_back(t.name);
        }
        if (stems.size() > job.score.tracks.size())  // the generated layer (--generator)
            stemPaths.push_back(out.add(std::filesystem::path(a.stemsDir) / (generatedStemName(names) + ".wav"), "--stems"));
    }
    if (a.midiGiven) music::writeMidiFile(midiPath, job.score, {job.config.root, job.config.mode});
    for (std::size_t i = 0; i < stems.size() && i < stemPaths.size(); ++i)
        io::writeAudioFile(stemPaths[i], stems[i], a.sampleRate, io::FileFormat::WavFloat);
    io::writeAudioFile(mixPath, audio, a.sampleRate, format, *job.config.seed);
    if (a.metadataGiven) writeMetadata(metadataPath, a, job);
    out.commit();
}
}  // namespace

StereoBuffer renderAudio(const DataSet& data, const RenderArgs& a, const Composition& job, RenderOutcome& out,
                         const std::function<void(double)>& progress, std::vector<StereoBuffer>* stems) {
    render::RenderOptions ro;
    ro.sampleRate = a.sampleRate;
    ro.blockSize = a.blockSize;
    ro.durationSeconds = job.arrangement.durationSeconds;
    ro.loop = job.arrangement.loop;
    ro.masterChain = !a.noMaster;  // --no-master: the plain sum of the layers (what the stems add up to)
    const auto& presets = data.presets();
    core::timingMark("presets loaded");
    StereoBuffer audio = render::renderScore(job.score, presets, ro, progress, stems);
    core::timingMark("tracks rendered");
    GeneratedLayer generated;
    if (a.generator) {  // the model's layer, fitted to the track, joins the mix before the master
        const auto frames = audio.left().size();
        const double scoreLufs = dsp::LoudnessMeter::integratedLufs(audio.left().data(), audio.right().data(), frames, a.sampleRate);
        generated = makeGeneratedLayer(a.generator, a.prompt, job, a.sampleRate, frames, scoreLufs, a.generatorGainDb);
        for (std::size_t i = 0; i < frames; ++i) audio.left()[i] += generated.audio.left()[i], audio.right()[i] += generated.audio.right()[i];
        if (stems) stems->push_back(generated.audio);
    }
    render::MasteringReport mr;
    if (!a.noMaster) mr = render::master(audio, a.sampleRate, {a.targetLufs, a.ceilingDbtp});
    core::timingMark("mastered");
    out.audioSeconds = ro.durationSeconds;
    out.layers = static_cast<int>(job.score.tracks.size()) + (a.generator ? 1 : 0);
    out.generated = generated.summary;
    out.warnings.insert(out.warnings.end(), generated.warnings.begin(), generated.warnings.end());
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
    return audio;
}

RenderOutcome renderComposition(const DataSet& data, const RenderArgs& a, const Composition& job, io::FileFormat format,
                                const std::function<void(double)>& progress) {
    RenderOutcome outcome;
    std::vector<StereoBuffer> stems;  // from the same pass as the mix
    const StereoBuffer audio = renderAudio(data, a, job, outcome, progress, a.stemsGiven ? &stems : nullptr);
    io::OutputFiles out;
    try {
        writeAll(a, job, audio, stems, format, out);
        core::timingMark("written");
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(out.withTargetNames(e.what()));  // name the files asked for, not their temporary names
    }
    return outcome;
}

RenderOutcome renderToFiles(const DataSet& data, const RenderArgs& a) {
    const auto format = chooseFormat(a);
    return renderComposition(data, a, composeJob(data, a), format);
}

}  // namespace soundstar::pipeline

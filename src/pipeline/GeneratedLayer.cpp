// A generated layer for a render (see GeneratedLayer.h).
#include "pipeline/GeneratedLayer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/Conform.h"
#include "music/JsonText.h"
#include "music/Theory.h"
#include "pipeline/RenderJob.h"

namespace soundstar::pipeline {
namespace {

/// The key a conform aims at: the config's root, minor when its mode has a minor third.
models::MusicalKey keyOf(const music::MusicConfig& cfg) {
    const auto scale = music::scaleOf(cfg.mode);
    return {cfg.root, std::find(scale.begin(), scale.end(), 3) != scale.end()};
}

/// The text the generator reads: the prompt (or the config's genre and mood), with the track's
/// tempo added when the prompt names none, so a generator that listens plays near it and the
/// stretch stays small.
std::string generatorPrompt(const std::string& prompt, const music::MusicConfig& cfg, double bpm) {
    std::string p = prompt;
    if (p.empty()) p = cfg.genre.empty() && cfg.mood.empty() ? std::string("music") : cfg.genre + (cfg.genre.empty() ? "" : " ") + cfg.mood;
    std::string lower = p;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("bpm") == std::string::npos) p += fmt::format(", {:.0f} bpm", bpm);
    return p;
}

/// The loop over the whole render from sample 0 (a bar line), faded in over 10 ms and, unless the
/// render is a seamless loop, out over its last bar.
StereoBuffer tile(const models::ConformedLoop& loop, std::size_t frames, double rate, double barSeconds, bool seamless) {
    StereoBuffer b;
    b.resize(static_cast<int>(frames));
    const std::size_t n = loop.left.size();
    for (std::size_t i = 0; i < frames; ++i) b.left()[i] = loop.left[i % n], b.right()[i] = loop.right[i % n];
    const auto fadeIn = std::min(frames, static_cast<std::size_t>(0.01 * rate));
    const auto fadeOut = seamless ? 0 : std::min(frames, static_cast<std::size_t>(barSeconds * rate));
    for (std::size_t i = 0; i < frames; ++i) {
        double g = 1.0;
        if (i < fadeIn) g *= static_cast<double>(i) / static_cast<double>(fadeIn);
        if (i + fadeOut >= frames && fadeOut > 0) g *= static_cast<double>(frames - i) / static_cast<double>(fadeOut);
        b.left()[i] *= static_cast<float>(g), b.right()[i] *= static_cast<float>(g);
    }
    return b;
}

}  // namespace

GeneratedLayer makeGeneratedLayer(const Generator& generate, const std::string& prompt, const Composition& job, double sampleRate,
                                  std::size_t frames, double scoreLufs, double gainDb) {
    if (!std::isfinite(gainDb) || gainDb < kGeneratorMinGainDb || gainDb > kGeneratorMaxGainDb)
        throw std::invalid_argument(fmt::format("--generator-gain {} is out of range: {:g} to {:g} dB (the layer's loudness against the score's)",
                                                gainDb, kGeneratorMinGainDb, kGeneratorMaxGainDb));
    const double bpm = std::clamp(job.score.bpm, models::kConformMinBpm, models::kConformMaxBpm);
    const int beatsPerBar = std::clamp(job.score.beatsPerBar, 1, models::kConformMaxBeatsPerBar);
    const double barSeconds = beatsPerBar * 60.0 / bpm, renderSeconds = static_cast<double>(frames) / sampleRate;
    models::ConformOptions o;
    o.targetBpm = bpm;
    o.beatsPerBar = beatsPerBar;
    o.bars = 4;  // a phrase; fewer when the render is shorter
    while (o.bars > 1 && o.bars * barSeconds > renderSeconds) o.bars /= 2;
    o.targetKey = keyOf(job.config);
    o.targetLufs = std::clamp(std::isfinite(scoreLufs) ? scoreLufs + gainDb : -20.0 + gainDb, -70.0, 0.0);
    o.ceilingDbfs = -1.0;
    o.outputRateHz = sampleRate;
    GeneratorAsk ask;
    ask.prompt = generatorPrompt(prompt, job.config, bpm);
    ask.seconds = models::generatorSecondsFor(o.bars, barSeconds);
    ask.seed = job.config.seed.value_or(1);
    const GeneratedAudio got = generate(ask);
    if (got.channels < 1 || got.interleaved.empty())
        throw std::runtime_error(fmt::format("the generator gave no audio for '{}'", music::clipText(ask.prompt, 200)));
    GeneratedLayer layer;
    models::ConformedLoop loop;
    try {
        loop = models::conformOrCut(got.interleaved, got.channels, got.sampleRateHz, o, models::CutWhen::AnyFailure);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("the generated audio cannot be fitted to the track: {}", e.what()));
    }
    const auto& r = loop.report;
    layer.bars = o.bars;
    layer.audio = tile(loop, frames, sampleRate, barSeconds, job.arrangement.loop);
    for (const auto& w : r.warnings) layer.warnings.push_back("generated layer: " + w);
    layer.summary = fmt::format("generated layer: a {}-bar loop of '{}' ({:.1f} bpm{}, {}) at {:.4g} bpm, {:+d} semitones to {}, {:.1f} LUFS", o.bars,
                                music::clipText(ask.prompt, 120), r.sourceBpm, r.bpmGiven ? " as the track's" : "", models::keyName(r.sourceKey), bpm,
                                r.semitones, models::keyName(*o.targetKey), r.outputLufs);
    return layer;
}

}  // namespace soundstar::pipeline

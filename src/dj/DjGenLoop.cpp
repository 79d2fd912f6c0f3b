#include "dj/DjGenLoop.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>
#include <cmath>
#include <stdexcept>

#include "dj/DjSet.h"
#include "live/Layers.h"
#include "models/Conform.h"
#include "music/JsonText.h"
#include "music/Theory.h"

namespace soundstar::dj {

bool loopBarsAllowed(int bars) { return bars == 1 || bars == 2 || bars == 4 || bars == 8; }

std::string loopPrompt(const LoopPlan& plan) {
    std::string p = plan.description.empty() ? std::string("music") : plan.description;
    std::string lower = p;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("bpm") == std::string::npos) p += fmt::format(", {:.0f} bpm", plan.bpm);
    return p;
}

GeneratedLoop makeGeneratedLoop(const LoopGenerator& generate, const LoopPlan& plan) {
    if (!loopBarsAllowed(plan.bars)) throw std::invalid_argument(fmt::format("a generated loop is 1, 2, 4 or 8 bars (not {})", plan.bars));
    if (plan.description.size() > kMaxLoopDescriptionBytes)
        throw std::invalid_argument(fmt::format("a loop's description is at most {} bytes (this one is {})", kMaxLoopDescriptionBytes, plan.description.size()));
    if (!generate) throw std::invalid_argument("no generator: start the set with --generator MODEL");
    models::ConformOptions o;
    o.targetBpm = plan.bpm;
    o.bars = plan.bars;
    o.beatsPerBar = plan.beatsPerBar;
    o.targetKey = models::MusicalKey{plan.root, plan.minor};
    o.targetLufs = std::clamp(plan.lufs, -70.0, 0.0);
    o.outputRateHz = plan.sampleRate;
    const double barSeconds = plan.beatsPerBar * 60.0 / plan.bpm;
    LoopAsk ask;
    ask.prompt = loopPrompt(plan);
    ask.seconds = models::generatorSecondsFor(plan.bars, barSeconds);
    ask.seed = plan.seed;
    const LoopAudio got = generate(ask);
    if (got.channels < 1 || got.interleaved.empty())
        throw std::runtime_error(fmt::format("the generator gave no audio for '{}'", music::clipText(ask.prompt, 200)));
    GeneratedLoop out;
    out.plan = plan;
    models::ConformedLoop loop;
    try {
        loop = models::conformOrCut(got.interleaved, got.channels, got.sampleRateHz, o, models::CutWhen::AnyFailure);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("the generated audio cannot be fitted to the set: {}", e.what()));
    }
    const auto& r = loop.report;
    for (const auto& w : r.warnings) out.warnings.push_back(w);
    auto buffer = std::make_shared<engine::SampleBuffer>();
    buffer->left = std::move(loop.left);
    buffer->right = std::move(loop.right);
    out.audio = std::move(buffer);
    out.summary = fmt::format("{} bar{} of '{}' ({:.1f} bpm, {}) at {:.4g} bpm, {:+d} semitones to {}, {:.1f} LUFS", plan.bars, plan.bars > 1 ? "s" : "",
                              music::clipText(ask.prompt, 120), r.sourceBpm, models::keyName(r.sourceKey), plan.bpm, r.semitones,
                              models::keyName(*o.targetKey), r.outputLufs);
    return out;
}

}  // namespace soundstar::dj

// DjSet's generated loops (declared in DjSet.h; kept here, away from the set's bar decisions).
namespace soundstar::dj {

DjSet::~DjSet() {
    try {
        if (genLoop_.valid() && cancelGenerator_) cancelGenerator_();  // then genLoop_'s destructor waits for a thread that is ending
    } catch (const std::exception&) {  // a destructor must not throw; the wait below is then the model's
    }
}

void DjSet::setGenerator(LoopGenerator generate, double lufs, std::uint64_t seed, std::function<void()> cancel) {
    if (!(lufs >= -70.0 && lufs <= 0.0)) throw std::invalid_argument(fmt::format("a generated loop's loudness is -70 to 0 LUFS (not {})", lufs));
    generator_ = std::move(generate);
    cancelGenerator_ = std::move(cancel);
    generatorProblem_.clear();
    loopLufs_ = lufs;
    loopSeed_ = seed;
}

void DjSet::generateLoop(const std::string& description, int bars) {
    if (!generator_)
        throw std::invalid_argument(generatorProblem_.empty() ? std::string("g: there is no generator; start the set with --generator MODEL (see soundstar models)")
                                                              : "g: there is no generator: " + generatorProblem_);
    if (genLoop_.valid()) throw std::invalid_argument("a generated loop is being made; one at a time (g again after it)");
    if (!loopBarsAllowed(bars)) throw std::invalid_argument(fmt::format("g: a loop is 1, 2, 4 or 8 bars (not {})", bars));
    if (description.size() > kMaxLoopDescriptionBytes)
        throw std::invalid_argument(fmt::format("g: a loop's description is at most {} bytes (this one is {})", kMaxLoopDescriptionBytes, description.size()));
    const auto& cfg = base().config;
    LoopPlan p;
    p.description = music::clipText(description, kMaxLoopDescriptionBytes);
    p.bars = bars;
    p.bpm = nextBpm_.value_or(session_.bpmAt(nextLine_));  // the tempo it will play at
    p.root = cfg.root;
    const auto scale = music::scaleOf(cfg.mode);
    p.minor = std::find(scale.begin(), scale.end(), 3) != scale.end();
    p.sampleRate = sampleRate_;
    p.lufs = loopLufs_;
    p.seed = loopSeed_ + static_cast<std::uint64_t>(loopsAsked_++);
    genDrop_ = false;
    genLoop_ = std::async(std::launch::async, [generate = generator_, p] { return makeGeneratedLoop(generate, p); });
}

bool DjSet::stopLoop() {
    if (!session_.loopPlaying() && !genLoop_.valid()) return false;
    genDrop_ = genLoop_.valid();
    genStop_ = session_.loopPlaying();
    return true;
}

void DjSet::startGenLoop(SampleTime pos) {
    if (genStop_) {  // out over a bar from the next bar line, as a layer leaves
        genStop_ = false;
        const SampleTime at = session_.stopLoop(pos, live::barSamples(session_.bpmAt(pos), sampleRate_) / sampleRate_);
        if (at >= 0) event(at, "gen_layer_out", "user");
    }
    if (!genLoop_.valid() || (!waitSpeech_ && genLoop_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)) return;
    const bool drop = std::exchange(genDrop_, false);
    std::string what = "generated loop";
    try {
        GeneratedLoop loop = genLoop_.get();
        if (drop) return;
        what = fmt::format("generated loop ({})", music::clipText(loop.plan.description, 80));
        const double bpm = session_.bpmAt(session_.nextBarLine(std::max(pos, session_.scheduledUntil())));
        if (std::abs(bpm - loop.plan.bpm) > 1e-6)
            throw std::runtime_error(fmt::format("it was made at {:.2f} bpm and the set now plays at {:.2f} bpm; ask again (g)", loop.plan.bpm, bpm));
        const SampleTime at = session_.playLoop(loop.audio, pos, 60.0 / bpm);
        event(at, "gen_layer_in", loop.summary);
        for (const auto& w : loop.warnings) warn(at, "generated loop: " + w);
        lastLoop_ = std::move(loop);
    } catch (const std::exception& e) {
        if (!drop) warn(pos, fmt::format("{} not played: {}", what, e.what()));
    }
}

void DjSet::followGenLoop() {
    // A loop is fitted to one tempo: when the set's moves (a ramp from the last bar line), it leaves.
    if (!session_.loopPlaying() || !lastLoop_ || lines_.empty()) return;
    const double bpm = session_.bpmAt(nextLine_);
    if (std::abs(bpm - lastLoop_->plan.bpm) <= 1e-6) return;
    const SampleTime at = session_.stopLoop(lines_.back(), live::barSamples(bpm, sampleRate_) / sampleRate_);
    if (at >= 0) event(at, "gen_layer_out", fmt::format("the tempo moves to {:.2f} bpm; the loop was fitted to {:.2f} (g: another)", bpm, lastLoop_->plan.bpm));
}

}  // namespace soundstar::dj

#include "dj/DjSet.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "dj/DjAnswer.h"
#include "dj/DjStyles.h"
#include "dj/DjVoice.h"
#include "live/Layers.h"
#include "music/JsonText.h"

namespace soundstar::dj {
namespace {
const std::vector<std::string> kBrightness{"very_dark", "dark", "medium", "bright", "very_bright"};
constexpr double kInFadeSeconds = 0.01, kCutFadeSeconds = 0.02;
}  // namespace

live::StreamVibe withEnergy(const live::StreamVibe& base, double energy, const std::string& effect) {
    live::StreamVibe v = base;
    // The energy moves the brightness up to two steps either side of the profile's own.
    const double own = base.config.level("brightness") * 4.0;
    v.config.brightness = kBrightness[static_cast<std::size_t>(std::clamp(std::lround(own + (energy - 0.5) * 4.0), 0L, 4L))];
    if (effect == "filter_sweep") v.config.brightness = "very_dark";
    if (effect == "echo_throw") v.config.echo = "infinite";
    if (effect == "reverb_wash") v.config.space = "vast";
    return v;
}

DjSet::DjSet(live::LiveSession& session, DjBrain& brain, live::StreamVibe base, double sampleRate, int blockSize)
    : session_(session), brain_(brain), base_(std::move(base)), sampleRate_(sampleRate), blockSize_(std::max(1, blockSize)), spectra_(session.presets()) {
    lines_.push_back(0);
    nextLine_ = session_.nextBarLine(1);
    lastSound_ = music::toJson(withEnergy(base_, brain_.energy(), "").config);
    event(0, "phase", brain_.phase());
    for (const auto& l : brain_.playing()) event(0, "layer_in", l);
    event(0, "energy", fmt::format("{:.2f} ({})", brain_.energy(), withEnergy(base_, brain_.energy(), "").config.brightness));
    cutUnderBass(0);
}

void DjSet::tick(SampleTime pos) {
    startSpeech(pos);
    startGenLoop(pos);
    // A bar line is decided just before the block that holds it is composed: as late as can be,
    // and still before anything at or after it has been handed to the engine.
    while (nextLine_ < pos + blockSize_) {
        const SampleTime line = nextLine_;
        decide(line);
        nextLine_ = session_.nextBarLine(line + 1);
    }
    followGenLoop();
}

void DjSet::decide(SampleTime line) {
    const int bar = static_cast<int>(lines_.size());
    lines_.push_back(line);
    const double wasBpm = base_.config.resolvedBpm();
    if (nextBpm_) {
        event(line, "tempo", fmt::format("{:.2f} bpm", *nextBpm_));
        base_.config.bpm = *nextBpm_;
        base_.config.tempo = music::tempoLabelFor(*nextBpm_);
        nextVibe_ = nextVibe_.value_or(base_);
        nextVibe_->config.bpm = *nextBpm_, nextVibe_->config.tempo = base_.config.tempo;
        nextBpm_.reset();
    }
    const double bpm = nextVibe_ ? nextVibe_->config.resolvedBpm() : base_.config.resolvedBpm();
    if (end_ > line && bpm != wasBpm)  // the bars left at the new tempo
        brain_.setSetBars(bar + barsFor(static_cast<double>(end_ - line) / sampleRate_, bpm));
    const DjMove m = brain_.onBar(bar);
    if (!m.phase.empty()) event(line, "phase", fmt::format("{} ({})", m.phase, m.why));
    applyLayers(m, line);
    cutUnderBass(line);
    finishOverlapCheck(line);
    applyReplace(m, line);
    applySound(m, line);
}

void DjSet::applyLayers(const DjMove& m, SampleTime line) {
    if (m.add.empty() && m.remove.empty()) return;
    const auto& playing = brain_.playing();
    const auto placed = session_.placedLayers();
    const auto named = [&](const std::string& l) {
        return std::find(placed.begin(), placed.end(), l) == placed.end() && !placed.empty() ? l + " (not in this music)" : l;
    };
    std::vector<std::string> before;  // what plays after the removals, before the additions
    for (const auto& l : playing)
        if (std::find(m.add.begin(), m.add.end(), l) == m.add.end()) before.push_back(l);
    const double barSeconds = live::barSamples(session_.bpmAt(line), sampleRate_) / sampleRate_;
    if (!m.remove.empty() && !before.empty()) {
        const SampleTime at = session_.setLayers(before, line, m.cut ? kCutFadeSeconds : barSeconds);
        for (const auto& l : m.remove) event(at, "layer_out", fmt::format("{} ({})", named(l), m.why));
    }
    if (!m.add.empty() || before.empty()) {
        const SampleTime at = session_.setLayers(playing, line, kInFadeSeconds);
        for (const auto& l : m.add) event(at, "layer_in", fmt::format("{} ({})", named(l), m.why));
        if (before.empty())
            for (const auto& l : m.remove) event(at, "layer_out", fmt::format("{} ({})", named(l), m.why));
    }
}

void DjSet::applyReplace(const DjMove& m, SampleTime line) {
    // Each replaced layer: its part in another style from the bar line, crossfaded equal-power
    // over its bars (at least one). A vibe change due here replaces everything anyway; a tempo
    // change (a followed clock asks for one every bar) glides the music, replaced part and all.
    if (m.replace.empty() || newMusic_) return;
    for (const auto& r : m.replace) {
        const std::string was = styleOf(base_.config, r.layer);
        std::optional<std::string> style;
        try {
            style = r.style.empty() ? replacementStyle(r, was, line) : r.style;
            if (!style) {  // the overlap check runs on a worker: finishOverlapCheck plays it
                check_->why = m.why;
                continue;
            }
            base_ = withLayerStyle(base_, r.layer, *style);
            if (nextVibe_) *nextVibe_ = withLayerStyle(*nextVibe_, r.layer, *style);
        } catch (const std::invalid_argument& e) {
            warn(line, fmt::format("replace {}: {}", r.layer, e.what()));
            continue;
        }
        if (*style != was) playReplacement(r, was, *style, m.why, line);
    }
}

void DjSet::playReplacement(const DjReplace& r, const std::string& was, const std::string& style, const std::string& why, SampleTime line) {
    const double barSeconds = live::barSamples(session_.bpmAt(line), sampleRate_) / sampleRate_;
    // What sounds now with the new style (an energy or throw change here glides after it).
    auto vibe = base_;
    vibe.config = withStyle(music::parseMusicConfig(lastSound_, "dj"), r.layer, style);
    const SampleTime at = session_.replaceLayer(r.layer, vibe, line, std::max(1, r.bars) * barSeconds);
    if (r.gainDb || r.pan) session_.setLayerTrim(r.layer, r.gainDb, r.pan);
    lastSound_ = music::toJson(vibe.config);
    event(at, "layer_replace", fmt::format("{}: {} -> {} over {} bar{} ({})", r.layer, was, style, std::max(1, r.bars), r.bars > 1 ? "s" : "", why));
}

void DjSet::applySound(const DjMove& m, SampleTime line) {
    const int bar = static_cast<int>(lines_.size()) - 1;
    const double barSeconds = live::barSamples(session_.bpmAt(line), sampleRate_) / sampleRate_;
    double seconds = m.energyBars > 0 ? m.energyBars * barSeconds : 0.05;
    if (!m.effect.empty()) {
        throwing_ = m.effect;
        throwEndsBar_ = bar + 1;
        seconds = barSeconds / 4.0;  // thrown over a beat
        event(line, "effect", m.effect);
    } else if (bar == throwEndsBar_) {
        throwing_.clear();
        seconds = barSeconds;  // and back over a bar
    }
    for (const auto& r : ramps_) {  // each asked-for parameter from this bar line, gliding over its bars
        // The composer reads these from the sketch, so it moves with the config.
        const std::string update = nlohmann::json{{r.parameter, r.label}}.dump();
        const auto set = [&](live::StreamVibe& v) {
            v.config = music::applyUpdate(v.config, update, "ramp");
            auto& k = v.sketch;
            if (r.parameter == "motion") k.motion = v.config.motion;
            else (r.parameter == "space" ? k.space : r.parameter == "echo" ? k.echo : k.stereo) =
                static_cast<float>(v.config.level(r.parameter));
        };
        set(base_);
        if (nextVibe_) set(*nextVibe_);
        seconds = std::max(seconds, r.bars * barSeconds);
        event(line, "ramp", fmt::format("{} -> {} over {} bar{}", r.parameter, r.label, r.bars, r.bars > 1 ? "s" : ""));
    }
    ramps_.clear();
    const auto vibe = withEnergy(nextVibe_.value_or(base_), brain_.energy(), throwing_);
    const std::string sound = music::toJson(vibe.config);
    if (m.energy) event(line, "energy", fmt::format("{:.2f} ({})", brain_.energy(), withEnergy(base_, brain_.energy(), "").config.brightness));
    if (nextVibe_) {
        const bool newKey = nextVibe_->config.root != base_.config.root || nextVibe_->config.mode != base_.config.mode;
        base_ = *nextVibe_;
        nextVibe_.reset();
        newMusic_ = false;
        const SampleTime at = session_.change(vibe, line, live::Grid::Auto, nextVibeBars_ * barSeconds);
        if (newKey) {
            const auto j = nlohmann::json::parse(music::toJson(base_.config));
            event(at, "key", fmt::format("{} {}", j.value("root", std::string("?")), j.value("mode", std::string("?"))));
        }
        if (!nextProfile_.empty()) event(at, "profile", nextProfile_);
        nextProfile_.clear();
    } else if (sound != lastSound_) {
        session_.change(vibe, line, live::Grid::Bar, seconds);
    }
    lastSound_ = sound;
}

void DjSet::changeVibe(live::StreamVibe base, std::optional<DjProfile> profile, int transitionBars) {
    if (profile) {
        nextProfile_ = profile->name;
        brain_.setProfile(std::move(*profile));
    }
    nextVibe_ = std::move(base);
    newMusic_ = true;
    nextVibeBars_ = std::clamp(transitionBars, 1, 16);
}

void DjSet::rampParameter(const std::string& parameter, double to, int bars) {
    const auto& names = rampParameters();
    if (std::find(names.begin(), names.end(), parameter) == names.end())
        throw std::invalid_argument(fmt::format("'{}' cannot be ramped; allowed: energy, {}", music::clipText(parameter, 40), fmt::join(names, ", ")));
    if (!(to >= 0.0 && to <= 1.0)) throw std::invalid_argument(fmt::format("a ramp's target is 0 to 1, not {}", to));
    if (bars < 1 || bars > 16) throw std::invalid_argument(fmt::format("a ramp lasts 1 to 16 bars, not {}", bars));
    // The field's labels in order, from the MusicConfig schema (read once).
    static const nlohmann::json schema = nlohmann::json::parse(music::musicConfigSchema());
    const auto& labels = schema.at("properties").at(parameter).at("enum");
    const auto at = static_cast<std::size_t>(std::lround(to * static_cast<double>(labels.size() - 1)));
    std::erase_if(ramps_, [&](const Ramp& r) { return r.parameter == parameter; });
    ramps_.push_back({parameter, labels.at(at).get<std::string>(), bars});
}

void DjSet::setTempo(double bpm) {
    const auto& p = brain_.profile();
    if (!(bpm >= p.minBpm && bpm <= p.maxBpm))
        throw std::invalid_argument(fmt::format("tempo {} bpm is outside {}'s range: allowed {} to {} bpm", bpm, p.name, p.minBpm, p.maxBpm));
    nextBpm_ = bpm;
}

void DjSet::followTempo(double bpm, int rampBars) {
    nextBpm_ = std::clamp(bpm, 40.0, 220.0);
    if (!nextVibe_) nextVibeBars_ = std::clamp(rampBars, 1, 16);
}

void DjSet::retimeTempo(SampleTime at, double bpm, double beats) {
    bpm = std::clamp(bpm, 40.0, 220.0);
    base_.config.bpm = bpm;
    base_.config.tempo = music::tempoLabelFor(bpm);
    if (nextVibe_) nextVibe_->config.bpm = bpm, nextVibe_->config.tempo = base_.config.tempo;
    auto vibe = base_;  // what sounds now (energy, throw) at the new tempo
    vibe.config = music::parseMusicConfig(lastSound_, "dj");
    vibe.config.bpm = bpm, vibe.config.tempo = base_.config.tempo;
    session_.change(vibe, at, live::Grid::Now, std::max(1.0, beats) * 60.0 / session_.bpmAt(at));
    lastSound_ = music::toJson(vibe.config);
    nextLine_ = session_.nextBarLine(lines_.back() + 1);
}

void DjSet::say(const std::string& text) {
    if (speech_.valid()) throw std::invalid_argument("a voice drop is being made; one at a time (say again after it)");
    if (text.empty() || text.size() > kMaxSpeechBytes)
        throw std::invalid_argument(fmt::format("say: the text must be 1 to {} bytes (it is {})", kMaxSpeechBytes, text.size()));
    speechText_ = text;
    speech_ = std::async(std::launch::async, [text, rate = sampleRate_] { return renderSpeech(text, rate); });
}

void DjSet::startSpeech(SampleTime pos) {
    if (!speech_.valid() || (!waitSpeech_ && speech_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)) return;
    try {
        const SampleTime at = session_.playVoice(speech_.get(), pos, kDuckDb);
        event(at, "voice", music::clipText(speechText_, 200));
    } catch (const std::exception& e) {
        warn(pos, fmt::format("voice drop not spoken ({}): {}", music::clipText(speechText_, 80), e.what()));
    }
    speech_ = {};
}

void DjSet::warn(SampleTime at, const std::string& text) { event(at, "warning", music::clipText(text, 400)); }

void DjSet::event(SampleTime at, const std::string& kind, const std::string& label) {
    events_.push_back({at, barAt(at), kind, label, brain_.phase(), brain_.energy()});
}

int DjSet::barAt(SampleTime at) const {
    const auto it = std::upper_bound(lines_.begin(), lines_.end(), at);
    return std::max(0, static_cast<int>(it - lines_.begin()) - 1);
}

std::string DjSet::eventsJsonLines() const {
    struct Line {
        SampleTime sample;
        nlohmann::json j;
    };
    std::vector<Line> lines;
    for (const auto& e : events_)
        lines.push_back({e.sample, {{"sample", e.sample}, {"time", static_cast<double>(e.sample) / sampleRate_}, {"event", e.kind}, {"bar", barAt(e.sample)},
                                    {"phase", e.phase}, {"energy", std::round(e.energy * 1000.0) / 1000.0}, {"label", e.label}}});
    for (const auto& e : session_.events())
        lines.push_back({e.sample, {{"sample", e.sample}, {"time", static_cast<double>(e.sample) / sampleRate_}, {"event", e.kind}, {"bar", barAt(e.sample)},
                                    {"bpm", std::round(e.bpm * 100.0) / 100.0}, {"label", e.label}}});
    std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.sample < b.sample; });
    std::string out;
    for (const auto& l : lines) out += l.j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return out;
}

}  // namespace soundstar::dj

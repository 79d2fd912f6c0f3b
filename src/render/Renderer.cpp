#include "render/Renderer.h"

#include <algorithm>
#include <bitset>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/Timings.h"
#include "dsp/DelayLine.h"
#include "engine/Effect.h"
#include "engine/Graph.h"
#include "render/OfflineGraph.h"

namespace soundstar::render {

std::unique_ptr<engine::Track> makeScoreTrack(engine::Controller& c, const music::ScoreTrack& t, const engine::PresetLibrary& presets,
                                             bool offline) {
    auto track = engine::makePresetTrack(c, presets.get(t.preset), t.name, t.gainDb, t.pan, !t.replacePresetEffects);
    // Offline, no program changes once prepared: a SoundFont reads only its program's samples.
    if (offline && track->instrument && std::string_view(track->instrument->kind()) == "soundfont")
        track->instrument->setOption("samples", "selected");
    // and a kit decodes only the notes this layer plays (rounded as Sampler::noteOn rounds them).
    if (offline && track->instrument && std::string_view(track->instrument->kind()) == "sampler") {
        std::bitset<128> used;
        for (const auto& n : t.notes)
            if (n.note >= 0.0f && n.note <= 127.0f) used.set(static_cast<std::size_t>(std::lround(n.note)));
        std::string list;
        for (std::size_t k = 0; k < used.size(); ++k)
            if (used.test(k)) {
                if (!list.empty()) list.push_back(',');
                list.append(std::to_string(k));
            }
        track->instrument->setOption("notes_used", list);
    }
    for (const auto& [name, value] : t.params) engine::setTrackParam(*track, -1, name, value);
    for (const auto& fx : t.effects) {
        track->effects.push_back(engine::makeEffect(fx.type));
        for (const auto& [name, value] : fx.params) engine::setTrackParam(*track, static_cast<int>(track->effects.size()) - 1, name, value);
    }
    track->initialSends[kReverbBus - engine::kReturnBase] = t.reverbSend;
    track->initialSends[kDelayBus - engine::kReturnBase] = t.delaySend;
    return track;
}

void addReturnsAndMaster(engine::Controller& c, const music::MixSettings& m, double secondsPerBeat, bool masterChain, bool everyStage) {
    using engine::makeEffect;
    const int reverb = c.addBus("reverb");
    const int rv = c.addEffect(reverb, makeEffect("reverb"));
    c.setInitialParam(reverb, rv, "size", m.reverbSize);
    c.setInitialParam(reverb, rv, "decay", m.reverbDecayS);
    c.setInitialParam(reverb, rv, "damping", m.reverbDamping);
    c.setInitialParam(reverb, rv, "predelay", m.reverbPredelayMs);
    c.setInitialParam(reverb, rv, "mix", 1.0f);
    const int delay = c.addBus("delay");
    const int dl = c.addEffect(delay, makeEffect("delay"));
    const float beatMs = static_cast<float>(secondsPerBeat * 1000.0);
    c.setInitialParam(delay, dl, "time_left", std::clamp(static_cast<float>(m.delayBeatsLeft) * beatMs, 1.0f, 4000.0f));
    c.setInitialParam(delay, dl, "time_right", std::clamp(static_cast<float>(m.delayBeatsRight) * beatMs, 1.0f, 4000.0f));
    c.setInitialParam(delay, dl, "feedback", m.delayFeedback);
    c.setInitialParam(delay, dl, "tone", m.delayToneHz);
    c.setInitialParam(delay, dl, "mix", 1.0f);
    if (reverb != kReverbBus || delay != kDelayBus) throw std::logic_error("the return buses must be the graph's first two");
    if (!masterChain) return;
    if (m.driveDb > 0.0f || everyStage) {
        const int drive = c.addEffect(engine::kMasterAddress, makeEffect("drive"));
        c.setInitialParam(engine::kMasterAddress, drive, "type", 0.0f);
        c.setInitialParam(engine::kMasterAddress, drive, "drive", m.driveDb > 0.0f ? m.driveDb : 2.0f);
        c.setInitialParam(engine::kMasterAddress, drive, "mix", m.driveDb > 0.0f ? 0.5f : 0.0f);
    }
    if (m.width != 1.0f || everyStage) {
        const int width = c.addEffect(engine::kMasterAddress, makeEffect("width"));
        c.setInitialParam(engine::kMasterAddress, width, "width", std::clamp(m.width, 0.0f, 2.0f));
    }
    const int eq = c.addEffect(engine::kMasterAddress, makeEffect("eq"));
    c.setInitialParam(engine::kMasterAddress, eq, "low_cut", 25.0f);
    const int comp = c.addEffect(engine::kMasterAddress, makeEffect("compressor"));
    c.setInitialParam(engine::kMasterAddress, comp, "threshold", -12.0f);
    c.setInitialParam(engine::kMasterAddress, comp, "ratio", 2.0f);
    c.setInitialParam(engine::kMasterAddress, comp, "attack", 20.0f);
    c.setInitialParam(engine::kMasterAddress, comp, "release", 200.0f);
    if (everyStage) {  // live: no offline mastering follows, so the loudness is levelled as it plays
        const int level = c.addEffect(engine::kMasterAddress, makeEffect("leveller"));
        c.setInitialParam(engine::kMasterAddress, level, "target", std::clamp(m.targetLufs, -36.0f, -6.0f));
    }
    const int limiter = c.addEffect(engine::kMasterAddress, makeEffect("limiter"));
    // Live output is not measured again afterwards: the limiter keeps a margin under -1 dBTP
    // for the difference between its 4x peak estimate and a meter's.
    if (everyStage) c.setInitialParam(engine::kMasterAddress, limiter, "ceiling", -1.3f);
}

void buildGraph(engine::Controller& c, const music::Score& score, const engine::PresetLibrary& presets,
                bool masterChain, int onlyTrack, bool offline) {
    for (std::size_t i = 0; i < score.tracks.size(); ++i)
        if (onlyTrack < 0 || static_cast<int>(i) == onlyTrack) c.addTrack(makeScoreTrack(c, score.tracks[i], presets, offline));
    addReturnsAndMaster(c, score.mix, score.secondsPerBeat(), masterChain);
}

std::vector<ScheduledNote> schedule(const music::Score& score, double sampleRate, SampleTime endSample,
                                    int onlyTrack) {
    std::vector<ScheduledNote> out;
    const double spb = score.secondsPerBeat() * sampleRate;
    for (std::size_t t = 0; t < score.tracks.size(); ++t) {
        if (onlyTrack >= 0 && static_cast<int>(t) != onlyTrack) continue;
        const int address = onlyTrack >= 0 ? 0 : static_cast<int>(t);
        for (const auto& n : score.tracks[t].notes) {
            if (!(n.note >= 0.0f && n.note <= 127.0f)) continue;  // outside MIDI range: unplayable
            const auto on = std::max<SampleTime>(0, std::llround(n.start * spb));
            if (on >= endSample) continue;
            const auto off = std::max<SampleTime>(on + 1, std::llround((n.start + n.length) * spb));
            out.push_back({on, address, n.note, std::max(n.velocity, 0.001f)});
            if (off < endSample) out.push_back({off, address, n.note, 0.0f});
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const ScheduledNote& a, const ScheduledNote& b) {
        if (a.time != b.time) return a.time < b.time;
        return a.velocity == 0.0f && b.velocity != 0.0f;  // offs first
    });
    return out;
}

namespace {
/// The notes to play over `total` frames (two cycles of `length` for a loop), checked the way
/// Controller::noteOn checks them.
std::vector<ScheduledNote> eventsFor(const music::Score& score, const RenderOptions& o, SampleTime length, SampleTime total) {
    auto events = schedule(score, o.sampleRate, total, o.onlyTrack);
    if (o.loop) {
        const auto first = events;
        for (auto e : first) {
            e.time += length;
            if (e.time < total) events.push_back(e);
        }
        std::stable_sort(events.begin(), events.end(), [](const ScheduledNote& a, const ScheduledNote& b) {
            if (a.time != b.time) return a.time < b.time;
            return a.velocity == 0.0f && b.velocity != 0.0f;
        });
    }
    for (const auto& e : events)
        if (!std::isfinite(e.velocity) || e.velocity < 0.0f || e.velocity > 1.0f)
            throw std::invalid_argument(fmt::format("velocity {:g} is out of range: allowed 0..1", e.velocity));
    return events;
}

/// A loop keeps its second cycle; anything else fades out over its last fadeOutSeconds.
void finish(StereoBuffer& out, const RenderOptions& o, SampleTime length, SampleTime total) {
    if (o.loop) {
        out.left().erase(out.left().begin(), out.left().begin() + length);
        out.right().erase(out.right().begin(), out.right().begin() + length);
        return;
    }
    const auto fade = std::min<SampleTime>(total, static_cast<SampleTime>(o.fadeOutSeconds * o.sampleRate));
    for (SampleTime i = 0; i < fade; ++i) {
        const float g = static_cast<float>(i) / static_cast<float>(std::max<SampleTime>(1, fade));
        const auto k = static_cast<std::size_t>(total - 1 - i);
        out.left()[k] *= g;
        out.right()[k] *= g;
    }
}
}  // namespace

StereoBuffer renderScore(const music::Score& score, const engine::PresetLibrary& presets, const RenderOptions& o,
                         const Progress& progress, std::vector<StereoBuffer>* stems) {
    StereoBuffer out;
    renderScoreInto(out, score, presets, o, progress, stems);
    return out;
}

void renderScoreInto(StereoBuffer& out, const music::Score& score, const engine::PresetLibrary& presets, const RenderOptions& o,
                     const Progress& progress, std::vector<StereoBuffer>* stems) {
    // The engine object only carries the rate and block size here: the graph is driven offline.
    engine::AudioEngine eng(16);
    eng.prepare(o.sampleRate, o.blockSize);
    engine::Controller ctl(eng);
    buildGraph(ctl, score, presets, o.masterChain, o.onlyTrack, true);
    const int threads = o.threads > 0 ? o.threads : defaultRenderThreads();
    const auto length = static_cast<SampleTime>(std::llround(o.durationSeconds * o.sampleRate));
    const SampleTime total = o.loop ? 2 * length : length;  // a loop renders two cycles, keeps the second
    // The delay rings this render writes whole are populated at once: a page faulted in one at a
    // time costs ten times as much (dsp/DelayLine.h).
    const dsp::PopulateScope populate(static_cast<std::size_t>(total));
    const auto graph = ctl.takeGraph(threads);  // the tracks' synths and samples loaded side by side
    core::timingMark("graph built");
    OfflineGraph::Stems stemParts;
    if (stems) {
        stems->assign(graph->tracks.size(), StereoBuffer{});
        stemParts.out = stems;
        for (std::size_t t = 0; t < graph->tracks.size(); ++t) {
            addReturnsAndMaster(ctl, score.mix, score.secondsPerBeat(), false);
            stemParts.returns.push_back(ctl.takeGraph());
        }
    }
    const auto events = eventsFor(score, o, length, total);
    {
        OfflineGraph offline(*graph, o.blockSize, threads);
        core::timingMark("offline graph ready");
        offline.render(events, total, out, stems ? &stemParts : nullptr, progress);
        core::timingMark("rendered");
    }
    finish(out, o, length, total);
    if (stems)
        for (auto& s : *stems) finish(s, o, length, total);
}

std::vector<StereoBuffer> renderStems(const music::Score& score, const engine::PresetLibrary& presets,
                                      const RenderOptions& o) {
    RenderOptions so = o;
    so.masterChain = false;
    std::vector<StereoBuffer> stems;
    renderScore(score, presets, so, {}, &stems);
    return stems;
}

}  // namespace soundstar::render

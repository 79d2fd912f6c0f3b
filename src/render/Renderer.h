#pragma once
// Plays a Score through the engine graph: one track per layer (from its preset), a reverb and a
// tempo-synced delay return, a master chain (EQ, glue compressor, true-peak limiter). Offline
// rendering cuts blocks exactly as AudioEngine::render does live, with the tracks on every core
// (render::OfflineGraph) [control].
#include <functional>
#include <memory>

#include "core/AudioBuffer.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Preset.h"
#include "music/Score.h"

namespace soundstar::render {

struct RenderOptions {
    double sampleRate = 44100.0;
    int blockSize = 256;
    double durationSeconds = 30.0;
    double fadeOutSeconds = 0.5;  // a short fade so nothing is cut mid-note at the very end
    bool masterChain = true;      // false: no master EQ/compressor/limiter (stems, pre-master mix)
    int onlyTrack = -1;           // >= 0: render just this score track (with the return buses)
    bool loop = false;            // seamless loop: render two cycles, keep the second (its start
                                  // holds the first cycle's tails), no fade
    int threads = 0;              // tracks rendered in parallel on this many threads (0: SOUNDSTAR_THREADS,
                                  // else every core); the output is the same bytes whatever the count
};

/// Progress in 0..1, called now and then from the rendering thread.
using Progress = std::function<void(double)>;

/// Builds the engine graph for a score on a controller (tracks in score order, then buses).
/// onlyTrack >= 0 builds that score track alone (it becomes address 0). offline: the graph is
/// only rendered with notes (no program changes), so SoundFonts read only their programs' samples.
void buildGraph(engine::Controller& c, const music::Score& score, const engine::PresetLibrary& presets,
                bool masterChain = true, int onlyTrack = -1, bool offline = false);

/// The return buses every graph has, in this order (score tracks send to them by these addresses).
inline constexpr int kReverbBus = engine::kReturnBase, kDelayBus = engine::kReturnBase + 1;
/// A track for one score layer, built apart from a graph (preset, parameters, effects, sends),
/// for Controller::addTrack or Controller::replaceTrack [control].
std::unique_ptr<engine::Track> makeScoreTrack(engine::Controller& c, const music::ScoreTrack& t, const engine::PresetLibrary& presets,
                                             bool offline = false);
/// The reverb and delay returns (kReverbBus, kDelayBus; the delay synced to secondsPerBeat) and,
/// when masterChain, the master chain (drive, width, EQ, glue compressor, true-peak limiter).
/// everyStage keeps the drive and width stages even where they do nothing (drive mix 0, width 1),
/// so a live session can glide them (master slots: kDriveSlot, kWidthSlot).
void addReturnsAndMaster(engine::Controller& c, const music::MixSettings& mix, double secondsPerBeat, bool masterChain,
                         bool everyStage = false);
inline constexpr int kDriveSlot = 0, kWidthSlot = 1;

/// A time-ordered list of engine commands for a score (note offs before note ons at equal times).
struct ScheduledNote {
    SampleTime time;
    int track;
    float note, velocity;  // velocity 0 = note off
};
std::vector<ScheduledNote> schedule(const music::Score& score, double sampleRate, SampleTime endSample,
                                    int onlyTrack = -1);

/// Renders exactly durationSeconds of audio (to the sample), unmastered: the tracks in parallel
/// (render::OfflineGraph), the same bytes as AudioEngine::render block by block would give.
/// With `stems`, also one buffer per score track from the same pass (see renderStems).
StereoBuffer renderScore(const music::Score& score, const engine::PresetLibrary& presets, const RenderOptions& o,
                         const Progress& progress = {}, std::vector<StereoBuffer>* stems = nullptr);
/// renderScore into `out`, whose memory is reused where it is large enough: a render after a
/// render (a batch, a benchmark) then writes pages already in place. On the 2-core VM the
/// benchmarks run on, a fresh 4 KiB page costs about 5 us at its first write, 1.3 ms a MB (a
/// minute of stereo at 44.1 kHz, 21 MB: about 27 ms); the same bytes either way.
void renderScoreInto(StereoBuffer& out, const music::Score& score, const engine::PresetLibrary& presets, const RenderOptions& o,
                     const Progress& progress = {}, std::vector<StereoBuffer>* stems = nullptr);

/// One buffer per score track: each layer alone through its own chain and its own copy of the
/// return buses, without the master chain. Because tracks are independent and the returns are
/// linear, the stems sum to the pre-master mix (renderScore with masterChain = false).
std::vector<StereoBuffer> renderStems(const music::Score& score, const engine::PresetLibrary& presets,
                                      const RenderOptions& o);

}  // namespace soundstar::render

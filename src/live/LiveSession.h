#pragma once
// A live session: music that keeps playing while it is steered [control]. One engine runs the
// whole time; the current vibe is composed ahead in chunks of whole bars, so a session can run
// for hours. A change starts on the beat grid and is one of two kinds:
// - a glide, when only continuous fields (brightness, space, echo, stereo, motion, grain, attack,
//   human) and the tempo differ: the music goes on (same composition, harmony and bar count),
//   every layer's parameters, sends and the returns glide to their new settings, a layer whose
//   instrument changes is crossfaded playing the same notes, and the tempo ramps in beat time;
// - a transition to other music: the new vibe's layers come in on the other of two slots per
//   layer and the two are crossfaded layer by layer (equal-power fades staggered by bars).
// Reverb and delay tails ring on through both. The control thread calls pump() ahead of the
// playhead; the audio thread (a device, or the caller's own render loop) only renders.
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Preset.h"
#include "engine/SamplePlayer.h"
#include "live/Grid.h"
#include "live/Stream.h"
#include "music/Arrangement.h"
#include "music/Score.h"

namespace soundstar::live {

struct LiveOptions {
    double sampleRate = 44100.0;
    int blockSize = 256;
    double transitionSeconds = 4.0;  // used when transitionBars is 0
    int transitionBars = 0;          // > 0: in bars of the outgoing vibe
    int chunkBars = 16;              // how much is scheduled at a time (composed a cycle at a time)
    float targetLufs = -14.0f;       // the master's slow leveller moves the loudness toward it
    std::vector<std::string> initialLayers;  // the layers that play from the start (empty: all)
    std::string form = "auto";               // each cycle's form (compose::formNames(); "loop": every layer throughout)
    bool masterChain = true;                 // false: no master chain (drive, width, EQ, compressor, leveller, limiter)
    bool voiceTrack = false;                 // true: a track for spoken drops (playVoice), after the layers'
    bool loopTracks = false;                 // true: two tracks for a generated loop (playLoop), after the voice's
};

class LiveSession {
public:
    /// Builds the engine's graph (two slots per layer, returns, master) and starts `first` at
    /// sample 0. Throws std::invalid_argument on bad options.
    LiveSession(const engine::PresetLibrary& presets, const StreamVibe& first, const LiveOptions& o);
    ~LiveSession();
    engine::AudioEngine& engine() { return *engine_; }
    const engine::PresetLibrary& presets() const { return presets_; }

    /// Changes to `next`, starting on `grid` at or after `earliest`; `transitionSeconds` > 0
    /// overrides the session's transition length for this change. A change does not wait for one
    /// under way: a glide takes every ramp over from where it is; only a change that needs a
    /// layer slot still fading out (a transition, or a glide to another instrument) waits for it.
    /// Returns the sample where it starts.
    SampleTime change(const StreamVibe& next, SampleTime earliest, Grid grid = Grid::Auto, double transitionSeconds = 0.0);
    /// Which layers play (names from music::layerNames(); empty: all). The others fade out over
    /// the transition from the next bar line at or after `earliest` and stay silent until asked
    /// for again; `fadeSeconds` > 0 sets the length of these fades instead of the transition.
    /// Throws std::invalid_argument naming an unknown layer.
    SampleTime setLayers(const std::vector<std::string>& layers, SampleTime earliest, double fadeSeconds = 0.0);
    /// Replaces one layer's part with the same layer of `next` (the playing vibe with another
    /// style for that layer: see dj::styleFieldOf), from the next bar line at or after `earliest`:
    /// the new part comes in on the layer's other slot while the old one fades out, equal-power
    /// (sin/cos) over `fadeSeconds` (> 0), so the level holds through it. The music to come is
    /// composed from `next`. Returns the sample where the crossfade starts. Throws
    /// std::invalid_argument naming an unknown layer.
    SampleTime replaceLayer(const std::string& layer, const StreamVibe& next, SampleTime earliest, double fadeSeconds);
    /// Plays `speech` (at the engine's rate) on the voice track from the next bar line at or after
    /// `earliest`, ducking every layer by `duckDb` (> 0) while it speaks: down over ~40 ms from
    /// the bar line, back over ~100 ms after it (the layers' trims, which the sends follow).
    /// Returns the sample where it starts. Throws std::logic_error without LiveOptions::voiceTrack.
    SampleTime playVoice(std::shared_ptr<const engine::SampleBuffer> speech, SampleTime earliest, float duckDb);
    /// Plays `loop` (at the engine's rate; its whole length loops, sample-exact, without a
    /// crossfade of its own: it must wrap cleanly, as models::conformLoop makes it) on a loop track
    /// from the next bar line at or after `earliest`, faded in equal-power (sin) over
    /// `fadeSeconds`; a loop already playing fades out (cos) over the same time from the same
    /// sample on the other loop track. Returns the sample where it starts. Throws
    /// std::logic_error without LiveOptions::loopTracks, std::invalid_argument for an empty loop.
    SampleTime playLoop(std::shared_ptr<const engine::SampleBuffer> loop, SampleTime earliest, double fadeSeconds);
    /// Fades the playing loop out (cos) over `fadeSeconds` from the next bar line at or after
    /// `earliest`; returns that sample, or -1 when no loop plays.
    SampleTime stopLoop(SampleTime earliest, double fadeSeconds);
    /// Whether a loop plays (playLoop, and no stopLoop after it).
    bool loopPlaying() const { return loopPlaying_; }
    /// Whether the session has the generated loop's tracks (LiveOptions::loopTracks).
    bool hasLoopTracks() const { return loopAddress_ >= 0; }
    /// A layer's mute and solo in the session's own mix (a solo keeps only soloed layers).
    struct LayerMix {
        bool mute = false, solo = false;
        float gainDb = 0.0f, pan = 0.0f;  // the user's trim, after the session's own fades and pans
    };
    /// Mutes or solos `layer` (both its slots, and the instruments later put there) from the
    /// first sample not yet scheduled (at most the pump's horizon ahead); returns that sample.
    /// Throws std::invalid_argument naming an unknown layer, std::runtime_error on a full queue.
    SampleTime setLayerMix(const std::string& layer, std::optional<bool> mute, std::optional<bool> solo);
    /// A layer's trim: gain (dB, -60..+12) and balance (-1 left only .. 1 right only) applied to
    /// both its slots after the session's own fades and pans (so a crossfade or glide never
    /// undoes it), from the same sample setLayerMix would use; returns that sample. Throws
    /// std::invalid_argument naming an unknown layer or a value out of range,
    /// std::runtime_error on a full queue.
    SampleTime setLayerTrim(const std::string& layer, std::optional<float> gainDb, std::optional<float> pan);
    const std::vector<LayerMix>& layerMix() const { return layerMix_; }
    /// A layer's low cut (both its slots, and the instruments later put there): from `at` (or
    /// the first sample not yet scheduled, if later) a 2nd-order high-pass at `cutoffHz`
    /// (20..1000) blended in over 40 ms after the layer's effects, or blended out with 0. The DJ
    /// cuts the other layers' low end while a bass plays. `layer` may also be kLoopLayer, the
    /// generated loop's two tracks (LiveOptions::loopTracks). Returns the sample it starts at.
    /// Throws std::invalid_argument naming an unknown layer or a corner out of range.
    SampleTime setLayerLowCut(const std::string& layer, float cutoffHz, SampleTime at);
    /// The name setLayerLowCut and layerLowCutAt take for the generated loop's tracks.
    static constexpr const char* kLoopLayer = "loop";
    /// The low cut `layer` has (or will have) at `at` (0: none).
    float layerLowCutAt(const std::string& layer, SampleTime at) const;
    /// The layers the current vibe has put in place so far (composed), playing or not.
    std::vector<std::string> placedLayers() const;
    /// Fades the whole session out over `seconds` from `at`; after it the session is silent.
    /// Scheduled: `at` is no earlier than what is already posted (the same on every clock).
    /// `urgent` (a person's q or Ctrl-C on a real clock): the master fade goes to the engine at
    /// once on its urgent lane and starts at `at` itself, ahead of what is scheduled.
    void fadeOut(SampleTime at, double seconds, bool urgent = false);
    /// Records something the caller did or saw (a warning, an LLM fallback) in the events.
    void note(SampleTime at, const std::string& kind, const std::string& label);
    /// Composes ahead and posts every command due before `horizon`. Returns false when the
    /// engine's queue was full (call again after the audio thread has caught up).
    bool pump(SampleTime horizon);
    /// The next grid line of the current vibe at or after `at` (Auto reads as Bar).
    SampleTime nextGridLine(SampleTime at, Grid grid) const;
    /// The next bar line of the current vibe at or after `at`; with `every` > 1, the next one
    /// whose bar number (from the vibe's start) is a multiple of it (4: a phrase).
    SampleTime nextBarLine(SampleTime at, int every = 1) const;
    /// Where bar `bar` of the current vibe starts (bars count from its start at 0).
    SampleTime barLine(long long bar) const;
    /// The current vibe's tempo at `at` (during a ramp, between the two).
    double bpmAt(SampleTime at) const;
    /// A change of the music's tempo: from `sample` it moves linearly in beats to `bpm` over
    /// `beats` beats (a glide's or a beat-matched transition's ramp). `made` numbers them from 1.
    struct TempoChange {
        std::uint64_t made = 0;
        SampleTime sample = 0;
        double bpm = 120.0, beats = 0.0;
    };
    /// The latest tempo changes (at most 64), oldest first: a clock that follows the session
    /// (the server's transport) reads those with `made` past the last it saw.
    const std::vector<TempoChange>& tempoChanges() const { return tempoChanges_; }
    /// The current vibe's beat at `at`, counted from its start (0 before it starts): for a
    /// transport display (bar = floor(beat / 4)).
    double beatAt(SampleTime at) const;
    /// The kind of the section playing at `at` (verse, drop...; empty before the first).
    std::string sectionAt(SampleTime at) const;
    const StreamVibe& current() const;
    /// Everything that happened, with its sample: vibes, transitions, glides, layers, the fade-out.
    const std::vector<StreamEvent>& events() const { return events_; }
    /// Where each section of the music starts ("section" events, labelled with the kind: verse,
    /// drop...), as they are scheduled; a section a change cuts off is taken back.
    const std::vector<StreamEvent>& sections() const { return sections_; }
    /// What a section of sections() is: its arrangement section (bars, energy 0..1, the layers it
    /// names; empty: all), or nullptr when unknown.
    const music::Section* sectionShape(const StreamEvent& section) const {
        const auto it = sectionShapes_.find({section.vibe, section.bar});
        return it == sectionShapes_.end() ? nullptr : &it->second;
    }
    /// The layer names, in address order: layer i plays on addresses 2i and 2i+1 of engine().
    const std::vector<std::string>& layers() const { return layers_; }
    long lateCommands() const { return controller_->lateCommands(); }
    /// Every command before this sample has been handed to the engine; changes land after it.
    SampleTime scheduledUntil() const { return posted_; }

    struct Voice;  // a vibe as it plays: its slots, tempo map, composed chunks (internal)

private:
    struct Action;  // one command for the engine at a sample
    /// One cycle of a vibe's music: its form's sections in whole phrases (8 bars a share), composed
    /// at once so harmony and sections run on across the chunks it is scheduled in.
    struct Cycle {
        std::shared_ptr<const music::Score> score;
        double beats = 0.0;
        std::vector<music::Section> sections;  // start bar in the cycle, kind, energy, layers
    };
    Cycle composeCycle(const StreamVibe& vibe, int cycle) const;
    void composeNext(Voice& v);
    void schedule(Action a);
    void sortPending();
    /// Takes back the section events of voice `id` from `from` on (the music there changed).
    void dropSections(int id, SampleTime from);
    /// Schedules `t`'s notes (a cycle starting at `cycleBeat`) on `address`, from `fromBeat` to what `v` has composed.
    void scheduleNotesFrom(const music::ScoreTrack& t, const Voice& v, int address, double cycleBeat, double fromBeat);
    SampleTime glide(Voice& v, const StreamVibe& next, const Cycle& target, SampleTime start, SampleTime length);
    void rampParam(int address, int slot, const std::string& name, float from, float to, SampleTime start, SampleTime length);
    void glideMix(const music::MixSettings& to, double bpm, SampleTime start, SampleTime length);
    SampleTime transitionLength(const Voice& v, double seconds, SampleTime at) const;
    const engine::PresetLibrary& presets_;
    LiveOptions options_;
    std::unique_ptr<engine::AudioEngine> engine_;
    std::unique_ptr<engine::Controller> controller_;
    std::vector<std::string> layers_;
    std::vector<bool> wanted_;                    // per layer: `s` asked for it (all at first)
    std::vector<LayerMix> layerMix_;              // per layer: setLayerMix
    std::vector<std::unique_ptr<Voice>> voices_;  // the playing vibe last; earlier ones until their fades end
    std::vector<Action> pending_;                 // not yet posted; sorted by time when sorted_
    bool sorted_ = true;
    std::vector<StreamEvent> events_;
    std::vector<StreamEvent> sections_;
    std::map<std::pair<int, int>, music::Section> sectionShapes_;  // by (vibe, bar) of a section event
    music::MixSettings mix_;  // what the returns and the master are set to (after any glide)
    double mixBpm_ = 120.0;   // the tempo the delay is synced to
    SampleTime posted_ = 0;   // every command before this sample has been posted
    std::vector<SampleTime> slotFreeAt_;  // per address: cleared (free for another track) from here on
    // The last value posted per (address, effect slot, parameter), where a ramp that takes over
    // from one under way starts. Forgotten when the address gets another track.
    std::map<std::tuple<int, int, std::string>, float> postedValue_;
    int vibesStarted_ = 0;
    std::vector<TempoChange> tempoChanges_;
    void noteTempoChange(SampleTime sample, double bpm, double beats);
    int voiceAddress_ = -1;  // the voice track (LiveOptions::voiceTrack)
    struct Duck {
        SampleTime from, to;
        float db;
    };
    std::vector<Duck> ducks_;  // where the layers are ducked under a voice (a layer put in place there starts ducked)
    float duckAt(SampleTime at) const;
    int loopAddress_ = -1;  // the first of the two loop tracks (LiveOptions::loopTracks)
    int loopSide_ = 1;      // the loop track last started (0 or 1)
    bool loopPlaying_ = false;
    SampleTime loopFreeAt_[2] = {0, 0};  // per loop track: cleared after its fade out from here on
    void fadeLoopOut(int address, SampleTime start, SampleTime length);
    std::vector<std::vector<std::pair<SampleTime, float>>> lowCuts_;  // per layer, then the loop: (from, Hz), in time order
    float lowCutAt(std::size_t line, SampleTime at) const;
    /// The lowCuts_ line of a layer's name (layers_.size() for kLoopLayer); throws naming the allowed ones.
    std::size_t lowCutLine(const std::string& layer) const;
    /// The lowCuts_ line of a track address (a layer's slot or a loop track); npos for others.
    std::size_t lowCutLineOf(int address) const;
};

}  // namespace soundstar::live

#pragma once
// A live session: music that keeps playing while it is steered [control]. One engine runs the
// whole time; the current vibe is composed ahead in chunks of whole bars, so a session can run
// for hours; a change to another vibe starts on a bar line of the current one and crossfades
// layer by layer (two slots per layer, equal-power fades staggered by bars) while reverb and
// delay tails ring on. The control thread calls pump() ahead of the playhead; the audio thread
// (a device, or the caller's own render loop for a virtual clock) only renders.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Preset.h"
#include "live/Stream.h"
#include "music/Score.h"

namespace soundstar::live {

struct LiveOptions {
    double sampleRate = 44100.0;
    int blockSize = 256;
    double transitionSeconds = 4.0;  // used when transitionBars is 0
    int transitionBars = 0;          // > 0: in bars of the outgoing vibe
    int chunkBars = 16;              // how much is composed at a time
};

class LiveSession {
public:
    /// Builds the engine's graph (two slots per layer, returns, master) and starts `first` at
    /// sample 0. Throws std::invalid_argument on bad options.
    LiveSession(const engine::PresetLibrary& presets, const StreamVibe& first, const LiveOptions& o);
    ~LiveSession();
    engine::AudioEngine& engine() { return *engine_; }

    /// Changes to `next`: the transition starts on the first bar line of the current vibe at or
    /// after `earliest` (and after any transition still under way). Returns that sample.
    SampleTime change(const StreamVibe& next, SampleTime earliest);
    /// Fades the whole session out over `seconds` from `at`; after it the session is silent.
    void fadeOut(SampleTime at, double seconds);
    /// Composes ahead and posts every command due before `horizon`. Returns false when the
    /// engine's queue was full (call again after the audio thread has caught up).
    bool pump(SampleTime horizon);
    /// The next bar line of the current vibe at or after `at`; with `every` > 1, the next one
    /// whose bar number (from the vibe's start) is a multiple of it (4: a phrase).
    SampleTime nextBarLine(SampleTime at, int every = 1) const;
    /// Where bar `bar` of the current vibe starts (bars count from its start at 0).
    SampleTime barLine(long long bar) const;
    const StreamVibe& current() const;
    /// Everything that happened, with its sample: vibes, transitions, the fade-out.
    const std::vector<StreamEvent>& events() const { return events_; }
    long lateCommands() const { return controller_->lateCommands(); }
    /// Every command before this sample has been handed to the engine; changes land after it.
    SampleTime scheduledUntil() const { return posted_; }

private:
    struct Voice;   // a vibe as it plays: its slots, tempo, composed chunks
    struct Action;  // one command for the engine at a sample
    void composeNext(Voice& v);
    void schedule(Action a);
    const engine::PresetLibrary& presets_;
    LiveOptions options_;
    std::unique_ptr<engine::AudioEngine> engine_;
    std::unique_ptr<engine::Controller> controller_;
    std::vector<std::string> layers_;
    std::vector<std::unique_ptr<Voice>> voices_;  // the playing vibe last; earlier ones until their fades end
    std::vector<Action> pending_;                 // sorted by time, not yet posted
    std::vector<StreamEvent> events_;
    SampleTime posted_ = 0;  // every command before this sample has been posted
    SampleTime busyUntil_ = 0;  // the end of the latest transition
    int vibesStarted_ = 0;
};

}  // namespace soundstar::live

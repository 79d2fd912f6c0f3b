#pragma once
// A DJ set: a DjBrain playing a LiveSession [control]. On every bar line (decided when the
// block that holds it is about to be composed, so a command heard up to then still makes that
// bar, and the same on either clock) it asks the brain for its move and turns it into session changes: layers in (a 10 ms fade starting on
// the bar line) and out (over a bar, or 20 ms on a cut), a layer's part to another style
// (LiveSession::replaceLayer: equal-power over its bars, from the bar line), the energy as a glide of the
// brightness, effect throws as a glide there and back, and profile, key, tempo or vibe changes
// asked for by the user at the next bar line. Every move is an event with its sample and the
// set's bar.
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dj/DjBrain.h"
#include "dj/DjGenLoop.h"
#include "dj/DjOverlap.h"
#include "live/LiveSession.h"

namespace soundstar::dj {

/// `base` with the energy (0..1) and an effect throw (one of effectNames(), or "") applied: the
/// energy moves the brightness up to two steps either side of the profile's own.
live::StreamVibe withEnergy(const live::StreamVibe& base, double energy, const std::string& effect);

/// Something the DJ did or saw, at a sample; `bar` counts the set's bars from 0.
struct DjEvent {
    SampleTime sample = 0;
    int bar = 0;
    std::string kind;  // phase, layer_in, layer_out, layer_replace, energy, effect, profile, tempo, vibe, warning
    std::string label;
    std::string phase;
    double energy = 0.0;
};

class DjSet {
public:
    /// `base`: the profile's vibe (what plays before energy and throws are applied). The session
    /// must have been made with the brain's playing() layers as its initial layers. `blockSize`:
    /// how far ahead of `pos` each tick() is pumped.
    DjSet(live::LiveSession& session, DjBrain& brain, live::StreamVibe base, double sampleRate, int blockSize);
    /// Cancels a generated loop still being made (setGenerator's `cancel`), then waits for its
    /// thread: quitting does not wait for the model to finish.
    ~DjSet();
    DjSet(const DjSet&) = delete;
    DjSet& operator=(const DjSet&) = delete;

    /// Makes the decisions for every bar line before `pos + blockSize` (call before pumping the
    /// block at `pos`).
    void tick(SampleTime pos);

    /// Another vibe (a profile change with `profile`, a key, free text) from the next bar line,
    /// crossfaded over `transitionBars` bars (a key change waits for a phrase).
    void changeVibe(live::StreamVibe base, std::optional<DjProfile> profile, int transitionBars = 2);
    /// Another tempo from the next bar line (a ramp over 2 bars). Throws std::invalid_argument
    /// when it is outside the profile's tempo range.
    void setTempo(double bpm);
    /// The tempo a clock the set follows has (MIDI clock): from the next bar line, like
    /// setTempo() but outside the profile's range too (40..220 bpm, clamped), ramped over
    /// `rampBars` bars (1..16; a vibe change asked for at the same line keeps its own length).
    void followTempo(double bpm, int rampBars = 2);
    /// Moves a sound parameter (one of rampParameters(): space, echo, motion, stereo) to
    /// `to` (0..1 along its labels, the nearest label) from the next bar line, gliding over
    /// `bars` bars (1..16). Throws std::invalid_argument naming what is allowed.
    void rampParameter(const std::string& parameter, double to, int bars);
    /// Re-tempos the music from `at` (a sample not yet handed to the engine, e.g. a beat line
    /// inside the bar playing): the tempo moves linearly in beats to `bpm` (40..220, clamped)
    /// over `beats` (>= 1) beats, and the bar lines not decided yet move with it (nextLine()).
    /// For a clock the set follows, to bring a bar line onto the clock's before it plays
    /// (PhaseLock's first-bar catch-up); the tempo asked for from the next line is kept.
    void retimeTempo(SampleTime at, double bpm, double beats);
    const live::LiveSession& session() const { return session_; }
    double sampleRate() const { return sampleRate_; }
    /// Something the caller saw (a clock's Start, Stop, clock_lost) as an event of `kind` at `at`.
    void mark(SampleTime at, const std::string& kind, const std::string& label) { event(at, kind, label); }
    /// Where the set ends (for the plan, when the tempo changes; 0: open-ended).
    void setEnd(SampleTime end) { end_ = end; }
    /// A voice drop: `text` spoken by espeak-ng on a worker thread, played from the first bar line
    /// after it is ready with the music ducked by kDuckDb (a "voice" event with its sample); when
    /// espeak-ng is missing or fails, a warning event and the set plays on. One at a time: throws
    /// std::invalid_argument while one is being made, or for a text over kMaxSpeechBytes.
    void say(const std::string& text);
    /// Whether tick() waits for speech or a generated loop being made (the virtual clock: the
    /// same bytes every run).
    void waitForSpeech(bool on) { waitSpeech_ = on; }
    /// Generated loops (`g`, DjGenLoop.h): `generate` asks the model (on a worker thread); each
    /// loop is brought to `lufs` (-70..0) and seeded from `seed` (+1 a loop). The session must have
    /// LiveOptions::loopTracks. `cancel` (may be empty) makes a call of `generate` in progress
    /// return soon (throwing); the set calls it when it ends with a loop still being made.
    void setGenerator(LoopGenerator generate, double lufs, std::uint64_t seed, std::function<void()> cancel = {});
    /// Why there is no generator (a model folder that did not load): `g` is refused saying so.
    void setGeneratorProblem(std::string why) { generatorProblem_ = std::move(why); }
    /// A loop of `bars` (1, 2, 4, 8) made from `description` on a worker thread, conformed to the
    /// set's tempo, key and bars, and started on the first bar line after it is ready on a loop
    /// track, faded in equal-power over a beat (a loop playing then fades out over the same beat):
    /// a "gen_layer_in" event with its sample. A model or conform error gives a warning event and
    /// the set plays on; so does a tempo that changed while it was made. One at a time: throws
    /// std::invalid_argument while one is being made, without a generator, or for bars or a
    /// description out of their limits.
    void generateLoop(const std::string& description, int bars);
    /// The generated loop leaves over a bar from the next bar line ("gen_layer_out"), as a layer
    /// does; false when none plays (or is being made: that one is dropped).
    bool stopLoop();
    /// The generated loop last started (nullptr: none yet).
    const GeneratedLoop* lastLoop() const { return lastLoop_ ? &*lastLoop_ : nullptr; }
    static constexpr float kDuckDb = 8.5f;  // the leveller gives back about 1 dB of it: heard as 7-8 dB
    /// Mixing (DjMixing.cpp). While a bass layer plays, every layer but the bass and the drums
    /// (the kick's layer: the profile parser allows the kick role on drums only) is high-passed
    /// at this corner (dsp::LowCut, blended over 40 ms from the bar line where the bass enters,
    /// back from the one where it leaves; a "low_cut" event). 0: never. Acted on at the next bar line.
    void setBassLowCut(float hz) { bassLowCutHz_ = hz; }
    static constexpr float kBassLowCutHz = 120.0f;
    /// Whether a replacement whose style is not named (the rules' swaps, an LLM's bare
    /// replace_layer) takes, of the styles nearest its intensity, the one whose spectrum overlaps
    /// the playing mix least (a "layer_overlap" event with the bands and the choice); off: the
    /// nearest style, as before. On by default. The check renders (up to a few hundred ms) at the
    /// bar line it is decided on, which the virtual clock can afford (the same bytes every run).
    void setOverlapCheck(bool on) { overlapCheck_ = on; }
    /// A real-time clock: the overlap check renders on a worker thread, never the thread that feeds
    /// the engine, and the replacement plays from the first bar line after it is done (one check at
    /// a time: another replacement meanwhile takes the nearest style). Off by default; set it before
    /// the set plays (the worker owns the check's cache while it runs).
    void setOverlapCheckOnWorker(bool on) { overlapOnWorker_ = on; }
    static constexpr std::size_t kOverlapCandidates = 3;
    /// A warning (an LLM that failed, a refused command) as an event at `at`.
    void warn(SampleTime at, const std::string& text);
    /// The set's length, for the brain's plan (`seconds` <= 0: open-ended).
    static int barsFor(double seconds, double bpm) { return seconds > 0 ? static_cast<int>(seconds * bpm / 240.0) : 0; }

    const std::vector<DjEvent>& events() const { return events_; }
    /// The DJ's events and the session's (vibes, glides, transitions, layers), by sample, as JSON
    /// lines {"sample","time","event","bar","phase","energy","label"}.
    std::string eventsJsonLines() const;
    /// The set's bar playing at `at` (bar lines decided so far).
    int barAt(SampleTime at) const;
    /// Where set bar `bar` starts (-1: not decided yet).
    SampleTime barLine(int bar) const { return bar >= 0 && bar < static_cast<int>(lines_.size()) ? lines_[static_cast<std::size_t>(bar)] : -1; }
    /// The first bar line not decided yet (where a command given now is acted on) and its set bar.
    SampleTime nextLine() const { return nextLine_; }
    int nextBar() const { return static_cast<int>(lines_.size()); }
    DjBrain& brain() { return brain_; }
    const DjBrain& brain() const { return brain_; }
    /// The vibe the energy and throws are applied to (after the last change asked for).
    const live::StreamVibe& base() const { return nextVibe_ ? *nextVibe_ : base_; }

private:
    void decide(SampleTime line);
    void applyLayers(const DjMove& m, SampleTime line);
    void applyReplace(const DjMove& m, SampleTime line);
    void applySound(const DjMove& m, SampleTime line);
    live::StreamVibe soundFor(double energy, const std::string& effect) const;
    void event(SampleTime at, const std::string& kind, const std::string& label);
    live::LiveSession& session_;
    DjBrain& brain_;
    live::StreamVibe base_;
    double sampleRate_;
    int blockSize_;
    std::vector<SampleTime> lines_;  // set bar -> its first sample
    SampleTime nextLine_ = 0;
    std::vector<DjEvent> events_;
    std::string lastSound_;  // the config last asked for (JSON), so an unchanged one is not re-sent
    int throwEndsBar_ = -1;  // the bar an effect throw glides back on
    std::string throwing_;
    std::optional<live::StreamVibe> nextVibe_;
    bool newMusic_ = false;  // nextVibe_ came from changeVibe (other music), not only from a tempo
    int nextVibeBars_ = 2;
    std::string nextProfile_;  // the profile of the vibe change asked for, for its event
    std::optional<double> nextBpm_;
    struct Ramp {
        std::string parameter, label;
        int bars = 1;
    };
    std::vector<Ramp> ramps_;  // asked for, played from the next bar line
    SampleTime end_ = 0;
    std::future<std::shared_ptr<const engine::SampleBuffer>> speech_;
    std::string speechText_;
    bool waitSpeech_ = false;
    void startSpeech(SampleTime pos);
    // Generated loops (DjGenLoop.cpp).
    void startGenLoop(SampleTime pos);
    void followGenLoop();
    LoopGenerator generator_;
    std::string generatorProblem_;
    double loopLufs_ = -17.0;
    std::uint64_t loopSeed_ = 1;
    int loopsAsked_ = 0;
    std::future<GeneratedLoop> genLoop_;
    std::function<void()> cancelGenerator_;
    std::optional<GeneratedLoop> lastLoop_;
    bool genStop_ = false;  // stopLoop() asked for the playing loop to leave
    bool genDrop_ = false;  // stopLoop() came while a loop was being made: it is not played
    // Mixing (DjMixing.cpp).
    void cutUnderBass(SampleTime line);
    /// The style for `r`: named, nearest, or the overlap check's choice. With the check on a
    /// worker thread (not waiting), starts it and returns nullopt: playReplacement follows when done.
    std::optional<std::string> replacementStyle(const DjReplace& r, const std::string& was, SampleTime line);
    /// `r.layer`'s part in `style` from `line`, crossfaded over its bars.
    void playReplacement(const DjReplace& r, const std::string& was, const std::string& style, const std::string& why, SampleTime line);
    /// A finished overlap check from a worker: its replacement from `line`.
    void finishOverlapCheck(SampleTime line);
    float bassLowCutHz_ = kBassLowCutHz;
    bool bassCut_ = false;
    bool overlapCheck_ = true;
    bool overlapOnWorker_ = false;
    LayerSpectra spectra_;  // used by one check at a time (on the worker while one runs there)
    struct OverlapCheck {
        DjReplace replace;
        std::string was, why;
        std::future<OverlapChoice> choice;
    };
    std::optional<OverlapCheck> check_;  // after spectra_: its worker is waited for before spectra_ goes
};

}  // namespace soundstar::dj

#pragma once
// The control-side API of the engine: build a graph (tracks with instruments, effects, return
// buses, master chain), hand it over, then schedule notes and parameter changes with
// sample-accurate times. Names are checked here, so the audio thread only sees indices.
// Every method is [control] and must be called from one thread. Commands should be posted in
// time order: the engine applies them in queue order, each no earlier than its time.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/AudioEngine.h"
#include "engine/Effect.h"
#include "engine/Instrument.h"

namespace soundstar::engine {

class Track;
/// Sets an instrument (slot -1) or effect parameter of a track that is not playing yet, checked
/// by name and range like Controller::setParam [control].
void setTrackParam(Track& track, int slot, std::string_view name, float value);

class Controller {
public:
    explicit Controller(AudioEngine& engine);
    ~Controller();

    // ---- building the next graph ----
    /// Adds an instrument track; returns its address (0, 1, ...).
    int addTrack(std::string name, std::unique_ptr<Instrument> instrument, float gainDb = 0.0f, float pan = 0.0f);
    /// Adds a track built with makeTrack (or makePresetTrack); returns its address.
    int addTrack(std::unique_ptr<Track> track);
    /// Adds a return bus; returns its address (kReturnBase + i). At most Track::kMaxSends.
    int addBus(std::string name, float gainDb = 0.0f);
    /// Appends an effect to the chain at address; returns its slot.
    int addEffect(int address, std::unique_ptr<Effect> effect);
    /// Sets an effect's or instrument's parameter before commit (slot -1 = instrument).
    void setInitialParam(int address, int slot, std::string_view name, float value);
    void setInitialSend(int track, int bus, float level);
    /// Prepares the built graph and swaps it in; the previous one is freed later by collect().
    void commit();
    /// Prepares the built graph and hands it to the caller instead of the engine: offline
    /// renderers drive it directly (render::OfflineGraph); nothing can be scheduled on it here.
    std::unique_ptr<Graph> takeGraph(int prepareThreads = 1);

    // ---- scheduling on the live graph (false: the command queue is full, try later) ----
    bool noteOn(int track, float note, float velocity, SampleTime at);
    bool noteOff(int track, float note, SampleTime at);
    bool allNotesOff(int track, SampleTime at);
    /// Throws std::invalid_argument naming the parameter and its allowed range on bad input.
    bool setParam(int address, int slot, std::string_view name, float value, SampleTime at);
    bool setGain(int address, float gainDb, SampleTime at);
    /// Bypasses effect `slot` of a track or bus (or brings it back), crossfaded over 10 ms.
    /// Throws std::invalid_argument naming the slots there are.
    bool setBypass(int address, int slot, bool bypassed, SampleTime at);
    bool setPan(int address, float pan, SampleTime at);
    /// A trim after the track's own fader and pan (a live layer's user gain and balance, while
    /// the session's fades and glides move the fader): dB -120..+12, balance -1 (left only)..1.
    bool setTrim(int address, float gainDb, float balance, SampleTime at);
    /// A track's low cut after its effect chain (a live layer high-passed under the bass): a
    /// 2nd-order high-pass at `cutoffHz` (20..1000) blended in over 40 ms from `at`, or out with 0.
    /// Throws std::invalid_argument naming the allowed range.
    bool setLowCut(int address, float cutoffHz, SampleTime at);
    bool setMute(int address, bool on, SampleTime at);
    bool setSolo(int address, bool on, SampleTime at);
    bool setSend(int track, int bus, float level, SampleTime at);
    /// Routes a track's output to return bus `bus` (its address) or the master (kMasterAddress),
    /// crossfaded over 10 ms from `at`. Throws std::invalid_argument on a bad track or bus.
    bool setOutput(int track, int bus, SampleTime at);
    /// A timed fade of a channel's gain to `gainDb` over `seconds`, starting exactly at `at`.
    /// `urgent`: on the engine's urgent lane, so it starts at `at` even when commands stamped
    /// later are already queued (a quit's fade while the music is scheduled ahead).
    bool fadeGain(int address, float gainDb, double seconds, FadeShape shape, SampleTime at, bool urgent = false);

    // ---- changing the live graph in place (other tracks, buses and their tails play on) ----
    /// Builds a track (not yet playing) that replaceTrack can put in place; same rules as addTrack.
    std::unique_ptr<Track> makeTrack(std::string name, std::unique_ptr<Instrument> instrument, float gainDb = 0.0f, float pan = 0.0f);
    /// Prepares `track` and puts it in place of the track at `address` at sample `at`; the old
    /// one is freed by collect() once the audio thread hands it back. Waits while too many
    /// replacements are in flight. Throws std::invalid_argument on a bad address.
    void replaceTrack(int address, std::unique_ptr<Track> track, SampleTime at);
    /// Prepares `effects` and puts them in place of the whole effect chain of a return bus or the
    /// master at sample `at` (no fade: the caller fades if it must); the old chain is freed by
    /// collect(). Waits while too many replacements are in flight. Throws std::invalid_argument
    /// on a track address (replaceTrack rebuilds tracks) or a bad one.
    void replaceChain(int address, std::vector<std::unique_ptr<Effect>> effects, SampleTime at);

    /// Frees retired graphs and drains reports; returns the last meter peak seen.
    void collect();
    float lastPeak() const { return lastPeak_; }
    long lateCommands() const { return late_; }
    long badAddresses() const { return bad_; }
    /// Names of the committed graph's tracks (index = address).
    const std::vector<std::string>& trackNames() const { return trackNames_; }

private:
    struct Shadow {  // what the control side knows of each committed channel
        std::string name;
        std::span<const ParamSpec> instrument;
        std::vector<std::span<const ParamSpec>> effects;
    };
    const Shadow& shadowAt(int address) const;
    Track& pendingAt(int address);
    bool post(const Command& c);
    AudioEngine& engine_;
    std::unique_ptr<Graph> pending_;
    std::vector<Shadow> tracks_, buses_;
    Shadow master_;
    std::vector<std::string> trackNames_;
    float lastPeak_ = 0.0f;
    long late_ = 0, bad_ = 0;
    long handedOver_ = 0, returned_ = 0;  // graphs given to the engine / freed after retirement
    long tracksHandedOver_ = 0, tracksReturned_ = 0;  // the same for replaced tracks
};

}  // namespace soundstar::engine

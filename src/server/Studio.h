#pragma once
// What `soundstar serve` drives [control: every method on the server's one control thread]:
// a running engine (tracks created and freed in place while the rest plays on, two return buses,
// the master), its device, a transport, timed commands, a recording of what plays, a live
// session (the same LiveSession and steering lines as `soundstar live`) and render jobs. Its
// operations are rows of the server's OperationTable (StudioOps.cpp).
#include <atomic>
#include <array>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/AudioRing.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Preset.h"
#include "engine/Track.h"
#include "io/AudioDevice.h"
#include "dj/DjCommands.h"
#include "live/LiveSession.h"
#include "server/NetServer.h"
#include "server/Operations.h"
#include "server/Timing.h"

namespace soundstar::sequencer {
struct Event;
class MeterMap;
}

namespace soundstar::server {

/// A render job's request, checked: the prompt, its length and the file to write under --data.
struct RenderJobSpec {
    std::string prompt;
    double durationSeconds = 30.0;
    std::optional<std::uint64_t> seed;
    std::filesystem::path output;
    std::filesystem::path stemsDir, midiFile;  // also write these (empty: not asked for)
};

/// A model job's request, checked: the model folder (under the model roots or --data), the
/// prompt, its length, the seed, the model settings the CLI takes (steps 1-1000, guidance 0-30,
/// top_k 1-65536, temperature 0.01-10; unset: the model's own) and the WAV to write under --data.
inline constexpr double kMaxGenerateSeconds = 300.0;  // the longest audio a model job may ask for
struct GenerateJobSpec {
    std::filesystem::path model;
    std::string prompt;
    double seconds = 10.0;
    std::uint64_t seed = 1;
    std::optional<int> steps;
    std::optional<double> guidance;
    std::optional<int> topK;
    std::optional<double> temperature;
    std::optional<int> threads;  // this job's threads; unset: the model folder's
    std::optional<double> sampleRate;  // the files' rate (resampled); unset: the model's
    std::filesystem::path output;
    std::vector<std::filesystem::path> takeOutputs;  // takes 2, 3 ... (models::takeFileName of output); empty: one take
    /// When not null: the audio is fitted into a loop before it is written (models::conformOrCut
    /// with these options, as models::conformOptionsFromJson reads them; target_bpm always set).
    nlohmann::json loop;
};

/// What the app supplies (the server library knows no interpreter or render pipeline).
struct StudioHooks {
    const engine::PresetLibrary* presets = nullptr;
    std::function<live::StreamVibe(const std::string& text, std::optional<std::uint64_t> seed)> vibeFromText;
    std::function<live::StreamVibe(const std::string& label, const music::MusicConfig& cfg)> vibeFromConfig;
    /// Renders a job to its file; reports progress 0..1; throws on failure [a worker thread].
    std::function<void(const RenderJobSpec&, const std::function<void(double)>& progress)> render;
    /// Runs a model job through the model service and writes its WAV (a temp name renamed into
    /// place); reports progress 0..1; stops soon after `cancel` turns true, writing nothing;
    /// throws on failure [the job thread]. Empty: no model jobs.
    /// Writes spec.output; returns what the client is told besides (the loop's report), or null.
    std::function<nlohmann::json(const GenerateJobSpec&, const std::function<void(double)>& progress, const std::atomic<bool>& cancel)> generate;
    /// Asks the configured LLM [an assistant thread]: with the operations as OpenAI `tools`
    /// (`systemTools`, `tools`), or, where the endpoint refuses tools, for a JSON answer
    /// (`systemJson`, `schema`: {"say", "calls": [{"op", "args"}]}). Returns {"format": "tools"
    /// or "json", "content": the message's text (format json: the JSON answer), "tool_calls":
    /// [{"name", "arguments": JSON text}], "warnings": [...]}; throws with a reason when it
    /// cannot. Empty: no LLM.
    struct LlmAsk {
        std::string systemTools, systemJson, user, schema, tools;
    };
    std::function<nlohmann::json(const LlmAsk&)> askLlm;
    /// The DJ's profiles and free-text vibes for a set with `seed` (as `soundstar dj`). Empty: no DJ.
    std::function<dj::DjVibes(std::optional<std::uint64_t> seed)> djVibes;
};

struct StudioOptions {
    double sampleRate = 44100.0;
    int blockSize = 256;
    std::string device = "null";  // null, default, jack
    std::filesystem::path dataDir = "soundstar-data";
    int maxTracks = 32;
    int maxLiveSessions = 1;
    int maxQueuedJobs = 8;
    std::vector<std::filesystem::path> modelRoots;  // where generate_start's model names and folders may be
    std::size_t sampleMemoryBytes = std::size_t{512} << 20;  // loaded samples, all together (--sample-memory-mb)
};

class SampleBank;

class Studio {
public:
    /// Builds the graph, starts the device. Throws std::runtime_error when the device cannot start.
    Studio(const StudioOptions& options, StudioHooks hooks);
    ~Studio();
    Studio(const Studio&) = delete;
    Studio& operator=(const Studio&) = delete;

    /// Adds every operation to the table (StudioOps.cpp).
    void registerOperations(OperationTable& table);
    /// Hands due commands to the engines, frees what they handed back, writes the recording,
    /// answers sync waiters and pumps the live session [control, every few ms].
    void tick();
    /// Stops the devices and closes the recording (kept valid).
    void shutdown();
    SampleTime now() const { return engine_.now(); }
    /// A file under --data for GET /v1/files/<path>: 403 outside it, 404 missing, 413 over 256 MiB.
    HttpResponse readFile(const std::string& path) const;
    /// Ends a WebSocket client's subscriptions [control].
    void dropClient(std::uint64_t client) {
        subscribers_.erase(client);
        dropAnalysis(client);
    }
    static constexpr std::size_t kMaxSubscribers = 256;
    static constexpr std::size_t kMaxAudioListeners = 32;
    static constexpr std::size_t kAudioFramesPerMessage = 1024;
    const StudioOptions& options() const { return options_; }

private:
    struct TrackSlot {
        std::string name;  // empty: free
        std::string instrument, preset;
        std::vector<std::string> effects;
        std::vector<engine::ParamSpec> instrumentParams;
        std::vector<std::vector<engine::ParamSpec>> effectParams;
        // What rebuilds it (set_effects): its creation args with every later parameter and fader
        // change folded in, and the mixer state set_mix left.
        nlohmann::json args;
        bool mute = false, solo = false;
        std::array<float, 4> sends{};  // by bus index
        int output = -1;               // -1 the master, else a bus index (set_output)
    };
    /// A return bus or the master as the server keeps it: its chain ({type, params, bypass}
    /// entries, parameter changes folded in), their specs, its mix, and the sample its latest
    /// chain change lands on.
    struct BusState {
        std::string name;  // empty: a free bus slot
        nlohmann::json chain = nlohmann::json::array();
        std::vector<std::vector<engine::ParamSpec>> params;
        float gainDb = 0.0f, pan = 0.0f;
        bool mute = false;
        SampleTime readyAt = 0;
        bool sameAs(const BusState& o) const { return name == o.name && chain == o.chain && gainDb == o.gainDb && pan == o.pan && mute == o.mute; }
    };
    static constexpr int kBuiltInBuses = 2;  // reverb and delay
    struct Job;
    struct LiveState;
    struct SyncWaiter {
        SampleTime until;
        Done done;
    };
    struct Recording;
    /// A WebSocket client's subscription: what it wants, how often, and where to send it.
    struct Subscription {
        bool transport = false, meters = false, events = false, audio = false;
        double periodSamples = 4410.0;
        SampleTime nextAt = 0;
        float peakLeft = 0.0f, peakRight = 0.0f;
        std::vector<float> trackPeaks, layerPeaks;  // by studio address, by live layer
        std::function<void(std::string)> push, pushBinary;
        std::string audioPending;  // interleaved f32le frames not yet sent
    };
    struct When {
        SampleTime requested, applied;
        std::optional<double> beat;  // asked for on a beat: moves with tempo changes until handed over
    };

    // timing and addressing
    When resolveAt(const nlohmann::json& args, const CallContext& ctx) const;
    nlohmann::json stamp(const When& w) const;
    /// `w` moved, if need be, to after the pending replacement of the track at `address`.
    When afterSwap(When w, int address) const;
    void schedule(SampleTime t, Scheduler::Post post, std::optional<double> beat = std::nullopt);
    void schedule(const When& w, Scheduler::Post post) { schedule(w.applied, std::move(post), w.beat); }
    int trackAddress(const std::string& name) const;
    int mixAddress(const std::string& target) const;
    std::filesystem::path dataPath(const std::string& name, const char* what) const;
    std::unique_ptr<engine::Track> buildTrack(const nlohmann::json& args, TrackSlot& slot);

    // operations (StudioOps.cpp registers them with their schemas)
    nlohmann::json status() const;
    nlohmann::json startEngine();
    nlohmann::json stopEngine();
    void sync(const nlohmann::json& args, Done done);
    nlohmann::json setTempo(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json setLatency(const nlohmann::json& args);
    nlohmann::json listInstruments() const;
    nlohmann::json listTracks() const;
    /// The master's chain (types, parameters, bypass) and mix.
    nlohmann::json masterState() const { return busJson(master_); }
    nlohmann::json busJson(const BusState& b) const;
    /// Return buses (StudioBuses.cpp): created with a chain in a free slot, freed, listed; a
    /// track's output routed to one. busAt gives the state of the master or a bus by address.
    BusState& busAt(int address);
    const BusState& busAt(int address) const { return const_cast<Studio*>(this)->busAt(address); }
    /// -1 when `name` is no bus; else its address.
    int busAddress(const std::string& name) const;
    /// Throws when `name` is the master's, a bus's or the live track's (tracks and buses share names).
    void checkFreeName(const std::string& name, const char* what) const;
    nlohmann::json listBuses() const;
    nlohmann::json busCreate(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json busFree(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json setOutput(const nlohmann::json& args, const CallContext& ctx);
    void registerBusOperations(OperationTable& t);
    /// The parameter specs of effect `slot` of a bus or the master, or a 400 naming its chain.
    std::span<const engine::ParamSpec> busParams(int address, int slot, const std::string& target) const;
    /// Schedules a bus's or the master's gain, pan and mute as `b` has them, at `t`.
    void scheduleBusMix(int address, const BusState& b, SampleTime t);
    nlohmann::json createTrack(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json freeTrack(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json setEffects(const nlohmann::json& args, const CallContext& ctx);
    /// Fades the track at `address` out over a few ms from `at`, then puts `track` in its place;
    /// returns the sample of the swap.
    SampleTime swapTrack(int address, std::unique_ptr<engine::Track> track, SampleTime at);
    /// insert_effect, move_effect, remove_effect: the new chain of a track (rebuilt as set_effects
    /// does) or of the master (replaced in place).
    nlohmann::json editChain(const std::string& op, const nlohmann::json& args, const CallContext& ctx);
    /// Puts `chain` (entries {type, params, bypass}) in place of the effects of the master or a
    /// bus after a 5 ms dip of its gain; a bad entry throws and changes nothing.
    nlohmann::json setChain(int address, const nlohmann::json& chain, const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json setParams(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json setBypass(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json playNote(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json release(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json mix(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json recordStart(const nlohmann::json& args);
    nlohmann::json recordStop();
    nlohmann::json liveStart(const nlohmann::json& args);
    nlohmann::json liveSteer(const nlohmann::json& args);
    nlohmann::json liveStop();
    nlohmann::json liveMix(const nlohmann::json& args);
    nlohmann::json liveStatus() const;
    /// Checks that a live session may start; returns the free track slot it will play on.
    std::size_t liveSlot() const;
    /// Puts a new live session on the track at `slot` and makes it live_.
    /// Puts a live session on the live track; with `sync`, from the sequencer's next bar line at the live tempo (the answer says where).
    nlohmann::json installLive(std::unique_ptr<LiveState> state, std::size_t slot, bool sync = false);
    /// A synced live session's tempo changes not yet taken, put on the transport (each from its
    /// studio sample, ramping as the session does); returns the last one taken, or null.
    nlohmann::json followLiveTempo();
    // the DJ on the live track (StudioDj.cpp)
    void registerDjOperations(OperationTable& t);
    nlohmann::json djStart(const nlohmann::json& args);
    nlohmann::json djCommand(const nlohmann::json& args);
    nlohmann::json djStatus() const;
    /// Sends the DJ's new events; stops the set at its end [control, each tick].
    void pumpDj(SampleTime liveNow);
    /// The live music's recent and coming sections: sample, kind, bar, bars, energy, layers.
    nlohmann::json liveSections() const;
    /// The live music's place for the transport stream (bar, beat_in_bar, bpm, section, vibe); null when none plays.
    nlohmann::json liveTransport() const;
    nlohmann::json renderStart(const nlohmann::json& args);
    nlohmann::json renderStatus(const nlohmann::json& args) const;
    nlohmann::json renderCancel(const nlohmann::json& args);
    nlohmann::json generateStart(const nlohmann::json& args);
    nlohmann::json generateStatus(const nlohmann::json& args) const;
    nlohmann::json generateCancel(const nlohmann::json& args);
    std::filesystem::path modelPath(const std::string& model) const;
    std::shared_ptr<Job> queueJob(std::shared_ptr<Job> job);
    void renderWorker();
    void assistant(const nlohmann::json& args, Done done);
    /// Applies an assistant's calls through the table; the reply lists what was done and refused.
    nlohmann::json applyCalls(const nlohmann::json& calls);
    /// The LLM's answer (askLlm's object) as a reply: its tool calls, or its JSON answer's calls,
    /// each validated and applied or refused with the reason.
    nlohmann::json applyAnswer(const nlohmann::json& answer);
    /// The interpreter's way when there is no LLM answer: the text steers the live session (or starts one).
    nlohmann::json assistWithInterpreter(const std::string& text, const std::string& why);
    void finishAssistant();
    nlohmann::json subscribe(const nlohmann::json& args, const CallContext& ctx);
    void publish();
    /// Sends an event to every client subscribed to events.
    void emit(nlohmann::json event);
    void drainTap();
    // the sequencer (StudioSequencer.cpp): its operations, and its events rendered ahead each tick
    struct SequencerState;
    void registerSequencerOperations(OperationTable& t);
    void pumpSequencer();
    nlohmann::json sequencerCall(const std::string& op, const nlohmann::json& args, const CallContext& ctx);
    void postSequencerEvents(std::vector<sequencer::Event>& events);
    void scheduleSequencerEvent(SampleTime t, std::shared_ptr<sequencer::Event> ev, int address);
    void scheduleAudioClipEvent(SampleTime t, std::shared_ptr<sequencer::Event> ev, int address);
    /// An audio clip's zone on a sample track (its index, its root note); ApiError 409 / 404 otherwise.
    std::pair<int, float> audioZone(int address, const std::string& sample) const;
    /// The transport's bar, beat in the bar and time signature at `beat` (the sequencer's signatures).
    nlohmann::json barBeat(double beat) const;
    /// The sequencer's time signatures (4/4 until seq_set_time_signatures changes them).
    const sequencer::MeterMap& meters() const;
    void checkLaneTarget(const nlohmann::json& lane) const;
    std::shared_ptr<SequencerState> seq_;
    // state, batches, undo (StudioState.cpp)
    struct Snapshot;
    struct History;
    struct Staged {
        SampleTime time;
        Scheduler::Post post;
        std::optional<double> beat;
    };
    void registerStateOperations(OperationTable& t);
    std::shared_ptr<Snapshot> snapshot() const;
    nlohmann::json snapshotJson(const Snapshot& s) const;
    /// A project file's state, every part checked (its tracks built and discarded) [throws naming the part].
    std::shared_ptr<Snapshot> snapshotFromJson(const nlohmann::json& doc);
    void restore(const Snapshot& s);
    /// A project's buses and master (or the defaults where it has none), each chain checked [throws naming the part].
    void readBuses(const nlohmann::json& doc, Snapshot& s) const;
    void record(const std::string& label, std::shared_ptr<Snapshot> before);
    nlohmann::json stateJson() const;
    nlohmann::json batch(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json undoRedo(bool undo);
    std::shared_ptr<History> history_;
    std::vector<Staged>* staging_ = nullptr;          // a batch in progress: commands wait here
    std::vector<nlohmann::json>* stagedEvents_ = nullptr;  // and the events it would send

    // The sampler and analysis services (StudioSamples.cpp, StudioAnalysis.cpp): their own rows,
    // their own state.
    struct AnalysisState;
    void registerSamplerOperations(OperationTable& t);
    void registerAnalysisOperations(OperationTable& t);
    nlohmann::json sampleTrack(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json samplePlay(const nlohmann::json& args, const CallContext& ctx);
    nlohmann::json sampleStretch(const nlohmann::json& args);
    nlohmann::json analysisSubscribe(const nlohmann::json& args, const CallContext& ctx);
    /// Hands what the engine played (interleaved stereo, from the tap) to live analyses [control].
    void feedAnalysis(const float* frames, std::size_t n);
    void feedBus(const std::string& bus, const float* frames, std::size_t n, SampleTime first);
    /// Frees the engine's track taps no analysis listens to any more.
    void untapUnused();
    void publishAnalysis();
    /// Ends a client's live analyses: of one bus, or of all when `bus` is empty.
    void dropAnalysis(std::uint64_t client, const std::string& bus = {});
    nlohmann::json analysisReset(const nlohmann::json& args, const CallContext& ctx);
    std::shared_ptr<SampleBank> samples_;
    std::shared_ptr<AnalysisState> analysis_;
    std::map<int, std::pair<std::string, std::vector<std::string>>> sampleTracks_;  // address -> track name, its zones' samples

    StudioOptions options_;
    StudioHooks hooks_;
    std::filesystem::path dataRoot_;
    engine::AudioEngine engine_;
    std::unique_ptr<engine::Controller> controller_;
    std::unique_ptr<io::AudioDevice> device_;
    bool running_ = false;
    SampleTime latency_ = 0;  // added to "now" (set_latency), as SuperCollider's server latency
    Transport transport_;
    double tempoBpm_ = 120.0;  // the tempo set_tempo (or an undo, a project, a synced live session) set: the state's
                               // tempo_bpm; the sequencer's tempo lane moves the transport without changing it
    WallClock clock_;
    Scheduler scheduler_;
    std::vector<TrackSlot> slots_;
    mutable nlohmann::json instrumentsCache_;  // list_instruments, built on first use
    // Per track address: the sample its latest replacement (create, set_effects, free) lands on.
    // Later commands for that address are never stamped before it, or they would reach the track
    // that is going away.
    std::vector<SampleTime> readyAt_;
    // The master and the return buses (0 reverb, 1 delay, then those bus_create makes); a chain
    // change dips to silence and back to the gain set_mix last asked for.
    BusState master_;
    std::array<BusState, engine::Track::kMaxSends> buses_;
    std::vector<SyncWaiter> waiters_;
    // Everything the engine plays goes through this ring; drainedFrames_ counts what was read,
    // so a recording knows the exact sample of its first frame. 2.7 s at 48 kHz (1 MiB): the
    // tick thread may stall that long before a frame is lost (1.4 s was not always enough with
    // twenty-one browser pages and a CI run on two cores: the console test saw drops).
    static constexpr std::size_t kTapFrames = std::size_t{1} << 17;
    AudioRing tap_{kTapFrames};
    std::vector<float> tapBuffer_;
    SampleTime drainedFrames_ = 0;
    float peak_ = 0.0f;
    float tickPeakLeft_ = 0.0f, tickPeakRight_ = 0.0f;  // since the last tick
    std::vector<float> tickTrackPeaks_, tickLayerPeaks_;  // per studio track and live layer, since the last tick
    std::map<std::uint64_t, Subscription> subscribers_;
    std::size_t liveEventsSent_ = 0, djEventsSent_ = 0;
    std::map<long, std::string> jobStatesSent_;
    std::map<long, double> jobProgressSent_;
    std::unique_ptr<Recording> recording_;
    std::unique_ptr<LiveState> live_;
    // render jobs: the worker thread and the control thread share these under jobsMutex_
    mutable std::mutex jobsMutex_;
    std::condition_variable jobsReady_;
    std::map<long, std::shared_ptr<Job>> jobs_;
    std::deque<std::shared_ptr<Job>> queue_;
    long nextJob_ = 1;
    bool stopping_ = false;
    std::thread worker_;
    // The assistant: one request at a time; its LLM call runs on its own thread and hands the
    // answer back to the control thread through these (under assistantMutex_).
    const OperationTable* table_ = nullptr;
    std::thread assistantThread_;
    std::mutex assistantMutex_;
    std::optional<std::string> assistantAnswer_, assistantFailure_;
    Done assistantDone_;
    std::string assistantText_;
    nlohmann::json assistantOffered_ = nlohmann::json::array();  // the operations offered to the LLM for the request in flight
};

}  // namespace soundstar::server

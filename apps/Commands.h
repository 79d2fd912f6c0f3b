#pragma once
// The soundstar CLI's subcommands (each returns the process exit code).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "compose/SketchConfig.h"
#include "engine/Preset.h"
#include "io/AudioFile.h"
#include "dj/DjCommands.h"
#include "live/Stream.h"
#include "music/MusicConfig.h"
#include "music/Score.h"
#include "pipeline/RenderJob.h"

namespace soundstar::interpret {
class Interpreter;
}
namespace soundstar::compose {
class ProfileLibrary;
}
namespace soundstar::batch {
struct JobSpec;
}

namespace soundstar::server {
struct GenerateJobSpec;
}

namespace soundstar::app {

using pipeline::PromptOutcome;
using pipeline::RenderArgs;
using pipeline::RenderOutcome;

/// Where presets and other data live: $SOUNDSTAR_DATA, the source tree's data/, or next to the binary.
std::filesystem::path dataDir();
/// The data the CLI reads (dataDir(), and this build's interpreter snapshot), loaded once per process.
const pipeline::DataSet& cliData();

/// The shipped presets, loaded from dataDir()/presets once per process.
const engine::PresetLibrary& shippedPresets();
/// A vibe read from text as render reads a prompt (interpreter, mood, profile), held `seconds`.
live::StreamVibe vibeFromText(const std::string& text, const std::optional<std::uint64_t>& seed, double seconds);
/// A vibe from a resolved config, and from a weighted blend of vibe texts (live::blendConfigs).
live::StreamVibe vibeFromConfig(const std::string& label, const music::MusicConfig& cfg, double seconds = 0.0);
live::StreamVibe vibeFromBlend(const std::string& label, const std::vector<std::pair<std::string, double>>& parts,
                               const std::optional<std::uint64_t>& seed, double seconds = 0.0);

/// The style profiles, loaded from dataDir()/profiles once per process.
const compose::ProfileLibrary& styleProfiles();
/// The embedded interpreter, loaded from dataDir()/interpret once per process.
const interpret::Interpreter& interpreter();
/// The config a render uses: the prompt's interpretation, then --config, --update, --seed, the
/// mood and the genre's style profile. `understood` receives what decided what.
music::MusicConfig resolveConfig(const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome = nullptr);

int runRender(const RenderArgs& a);
/// Renders exactly as `render` does with these arguments and writes the same files, but prints
/// nothing: warnings come back in the outcome. Throws on any error (bad input, a failed write).
RenderOutcome renderToFiles(const RenderArgs& a);
/// The composer's settings for a resolved config (its style profile's groove, effects, presets).
compose::SketchConfig sketchFor(const music::MusicConfig& cfg);
using pipeline::chooseFormat;

/// `soundstar stream`: vibes one after another, each `eachSeconds` (or `totalSeconds` shared).
struct StreamArgs {
    std::vector<std::string> vibes;
    double eachSeconds = 60.0, totalSeconds = 0.0;
    std::string transition = "5";
    std::string output = "soundstar-stream.wav", format, eventsFile;
    std::optional<std::uint64_t> seed;
    double sampleRate = 44100.0, targetLufs = -14.0;
    bool noMaster = false, quiet = false;
    bool play = false;            // --play: play it on --device after rendering
    bool outputGiven = false;     // -o was given (with --play and no -o nothing is written)
    std::string device = "default";  // default, jack or null
};
int runStream(const StreamArgs& s);

/// `soundstar live`: one vibe to start, then steering lines.
struct LiveArgs {
    std::string firstVibe = "calm ambient";
    std::string clock = "real";  // "real" (a device) or "virtual" (as fast as the CPU allows)
    std::string device = "null", scriptFile, output, eventsFile, transition = "4";
    std::string stdoutFormat;  // "f32" or "s16": raw interleaved PCM on standard output
    double minutes = 0.0;  // 0: until q (or, on the virtual clock, the script's end plus 10 s)
    std::optional<std::uint64_t> seed;
    double sampleRate = 44100.0;
    bool quiet = false;
    // --llm [URL]: each vibe is read by the interpreter at once and by the LLM in the background;
    // its answer replaces the interpreter's when it arrives.
    bool useLlm = false;
    std::optional<std::string> llmUrl, llmModel;
    std::optional<double> llmTimeout;
    std::string control;  // "unix:PATH": also read steering lines from a Unix socket
    double targetLufs = -14.0;
};
int runLive(const LiveArgs& a);
/// `soundstar dj`: a DJ set that plays itself (phases, energy, layers on bar lines), steered.
struct DjArgs {
    std::string profile = "techno_minimal";
    std::string clock = "internal";  // "internal" (real time on --device), "virtual" (as fast as the CPU allows), "midi" or "jack" (JACK transport)
    std::string device = "null", scriptFile, output, eventsFile;
    double minutes = 0.0;  // 0: until q (the virtual clock needs a length)
    std::optional<std::uint64_t> seed;
    double sampleRate = 44100.0, targetLufs = -14.0;
    bool quiet = false;
    bool useLlm = false;  // --llm [URL]: an LLM plans each phrase; the rules play on when it fails
    std::optional<std::string> llmUrl, llmModel;
    std::optional<double> llmTimeout;
    std::string midiIn;        // --clock midi: the JACK MIDI port to follow (a name part; empty: our own port)
    double midiOffsetMs = 0.0;  // --midi-offset-ms: the clock's events are taken this much later
    std::optional<std::string> midiOut;  // --midi-out [PORT]: send a MIDI clock (to PORT, a name part)
    std::string generator;        // --generator MODEL: generated loops (g DESCRIPTION)
    double generatorGainDb = -3.0;  // their loudness against --target-lufs
};
int runDj(const DjArgs& a);
/// The DJ profiles and free-text vibes of a set with `seed` (for `dj` and the server's dj_start).
dj::DjVibes djVibes(std::uint64_t seed);
/// `soundstar serve`: the engine as a service (REST, WebSocket, OSC).
struct ServeArgs {
    std::string host = "127.0.0.1", device = "null", apiKey, dataDir = "soundstar-data";
    int port = 7860, oscPort = -1;
    double sampleMemoryMb = 512;  // --sample-memory-mb: loaded samples, all together
    bool quiet = false;
    bool useLlm = false;  // --llm: the assistant asks an LLM
    std::optional<std::string> llmUrl, llmModel;
    std::optional<double> llmTimeout;
};
int runServe(const ServeArgs& a);
/// Prints what the embedded interpreter makes of a prompt: a summary, the config (--json, the
/// config render would use), and which words and neighbours decided what (--explain).
int runInterpret(const std::string& prompt, bool json, bool explain);
/// Renders the demo prompt to `output`, then plays the very same score on the audio device.
/// `midiFile` (optional) receives the played score as a Standard MIDI File.
int runDemo(const std::string& output, bool play, const std::string& midiFile = {});
/// Plays a score live through the engine on the default audio device; says so when there is none.
int playScore(const music::Score& score, double seconds, const std::string& writtenFile);
/// Loads what every render shares (presets, profiles, and the interpreter when `prompts`) so that
/// job processes forked afterwards inherit it instead of loading it again.
void preloadRenderData(bool prompts);
/// The `render` arguments a job means, writing `name` (relative) inside `dir`.
RenderArgs renderArgsForJob(const batch::JobSpec& job, const std::filesystem::path& dir, const std::string& name);
/// Renders one job into `dir` as `name` (and its .mid / .stems beside it when asked), refusing
/// any path that would leave `dir` through a symbolic link. Returns the outcome as a JSON object
/// text (audio_seconds, lufs, dbtp, layers, warnings); throws on failure.
std::string renderJobInto(const batch::JobSpec& job, const std::filesystem::path& dir, const std::string& name);

/// `soundstar batch JOBS.jsonl -o DIR [-j N]`: one render per line, N at a time.
struct BatchArgs {
    std::string jobsFile;  // "-": standard input
    std::string outputDir;
    int parallel = 0;  // 0: one per core
    std::string reportFile;  // optional: one JSON line per job
    bool quiet = false;
};
int runBatch(const BatchArgs& b);

/// `soundstar worker --redis URL`: renders jobs from a Redis Stream until stopped.
struct WorkerArgs {
    std::string redisUrl;
    std::string stream = "soundstar:jobs", group = "soundstar-workers", consumer;  // consumer "": HOST-PID
    int parallel = 1;
    std::string outputDir = ".";
    double claimAfterSeconds = 60.0;   // a job idle this long (its worker gone) is taken over
    double exitWhenIdleSeconds = 0.0;  // > 0: exit after this long with nothing to do
    bool quiet = false;
};
int runWorker(const WorkerArgs& a);

/// `soundstar submit --redis URL [JOBS.jsonl] [--job JSON]... [--prompt TEXT]`: enqueues jobs.
struct SubmitArgs {
    std::string redisUrl;
    std::string stream = "soundstar:jobs", group = "soundstar-workers";
    std::string jobsFile;
    std::vector<std::string> jobTexts;
    std::string prompt, output;
    std::optional<double> durationSeconds;
    std::optional<std::uint64_t> seed;
    bool wait = false;
    double waitSeconds = 3600.0;
    bool quiet = false;
};
int runSubmit(const SubmitArgs& s);

/// `soundstar generate PROMPT --model DIR -d SECONDS -o FILE`: one request to the model service.
struct GenerateArgs {
    std::string prompt, model;  // model "": the shipped procedural model (data/models/procedural)
    double seconds = 10.0;
    std::string output = "soundstar-generated.wav", format;
    std::optional<std::uint64_t> seed;
    std::optional<int> steps;
    std::optional<double> guidance;
    std::optional<int> topK;
    std::optional<double> temperature;
    int takes = 1;               // take t (from 1) is FILE, then FILE-2 ... (models::takeFileName)
    std::optional<int> threads;  // unset: the model folder's
    std::optional<double> sampleRate;  // the files' rate (resampled); unset: the model's
    double timeoutSeconds = 0.0;
    bool quiet = false;
    // --loop-bars: the audio fitted into a loop (models::conformOrCut) before it is written.
    std::optional<int> loopBars;
    double bpm = 120.0;
    int beatsPerBar = 4;
    std::string key;          // "" keeps the pitch
    bool durationGiven = false;  // -d given; else a loop asks for models::generatorSecondsFor
    bool loopShaped = false;     // --bpm, --beats-per-bar or --key given
};
int runGenerate(const GenerateArgs& g);

/// `render --generator MODEL`: the model folder (or an installed model's name) checked now, and a
/// generator that asks it for audio through a model-worker process. Throws naming what is wrong.
pipeline::Generator modelGenerator(const std::string& model, bool quiet);
/// modelGenerator with a `cancel` that makes a call in progress end soon (it throws "cancelled"),
/// and every later call refuse at once: cancel is for ending, not for skipping one loop.
struct CancellableGenerator {
    pipeline::Generator generate;
    std::function<void()> cancel;
};
CancellableGenerator cancellableModelGenerator(const std::string& model, bool quiet);
/// The model roots ($SOUNDSTAR_MODELS, data/models) and, for `serve`, its model jobs: one model
/// service kept for the server's life (models stay loaded between jobs).
std::vector<std::filesystem::path> installedModelRoots();
std::function<nlohmann::json(const server::GenerateJobSpec&, const std::function<void(double)>&, const std::atomic<bool>&)> serverModelJobs();
/// `soundstar models [--dir DIR]... [--load]`: installed models, and with --load each loaded in a worker.
struct ModelsArgs {
    std::vector<std::string> dirs;
    bool load = false;
};
int runModels(const ModelsArgs& a);
/// The hidden `soundstar model-worker`: serves the model protocol on stdin/stdout.
int runModelWorker();

int runDoctor();
/// `soundstar analyze FILE`: the analysis of a stored file (src/analysis), a summary or --json.
struct AnalyzeArgs {
    std::string file, fftSize = "4096", window = "hann";
    bool json = false;
};
int runAnalyze(const AnalyzeArgs& a);
int runSchema();
/// Prints the JSON Schema of a batch job line.
int runJobSchema();
/// Prints the arrangement for a prompt/config as JSON (the same choices render would make).
int runArrange(const RenderArgs& a);

}  // namespace soundstar::app

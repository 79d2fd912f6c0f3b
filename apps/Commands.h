#pragma once
// The soundstar CLI's subcommands (each returns the process exit code).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compose/SketchConfig.h"
#include "engine/Preset.h"
#include "io/AudioFile.h"
#include "live/Stream.h"
#include "music/MusicConfig.h"
#include "music/Score.h"

namespace soundstar::interpret {
class Interpreter;
}
namespace soundstar::compose {
class ProfileLibrary;
}
namespace soundstar::batch {
struct JobSpec;
}

namespace soundstar::app {

struct RenderArgs {
    std::string prompt;
    std::string configFile;
    std::string configJson;  // a MusicConfig as JSON text (a batch job's "config"), applied like --config
    std::string update;  // a MusicConfigUpdate as JSON text, applied last
    std::string midiFile;
    std::string stemsDir;
    std::string structureFile;
    std::string form = "auto";
    bool loop = false;
    bool durationGiven = false;
    int bars = 0;  // > 0: the length in bars instead of seconds
    double durationSeconds = 30.0;
    std::string output = "soundstar.wav";
    std::optional<std::uint64_t> seed;
    double sampleRate = 44100.0;
    std::string format;  // empty: from the extension
    bool noMaster = false;
    double targetLufs = -14.0;
    double ceilingDbtp = -1.0;
    bool printConfig = false;
    bool explain = false;
    bool quiet = false;
    int blockSize = 256;
    // The LLM composer (--llm [URL], --llm-model, --llm-timeout) and --metadata FILE.
    bool useLlm = false;
    std::optional<std::string> llmUrl, llmModel;
    std::optional<double> llmTimeout;
    std::string metadataFile;
    /// Called with 0..1 as the render goes (render jobs of `soundstar serve` report it).
    std::function<void(double)> progress;
    // Which optional outputs were asked for (an empty name given on purpose is an error, not "no").
    bool midiGiven = false, stemsGiven = false, metadataGiven = false;
};

/// What the prompt's reading produced beside the config: an LLM's sections (JSON for the
/// arranger) and the metadata (title, reasoning, palettes, source, warnings) as JSON text.
struct PromptOutcome {
    std::optional<std::string> structure;
    std::string metadata;
    bool configFromLlm = false;         // the LLM's answer was used (not the interpreter's fallback)
    std::vector<std::string> warnings;  // the LLM's repairs and fallbacks, each saying why
};

/// Where presets and other data live: $SOUNDSTAR_DATA, the source tree's data/, or next to the binary.
std::filesystem::path dataDir();

/// The shipped presets, loaded from dataDir()/presets once per process.
const engine::PresetLibrary& shippedPresets();
/// A vibe read from text as render reads a prompt (interpreter, mood, profile), held `seconds`.
live::StreamVibe vibeFromText(const std::string& text, const std::optional<std::uint64_t>& seed, double seconds);

/// The style profiles, loaded from dataDir()/profiles once per process.
const compose::ProfileLibrary& styleProfiles();
/// The embedded interpreter, loaded from dataDir()/interpret once per process.
const interpret::Interpreter& interpreter();
/// The config a render uses: the prompt's interpretation, then --config, --update, --seed, the
/// mood and the genre's style profile. `understood` receives what decided what.
music::MusicConfig resolveConfig(const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome = nullptr);

int runRender(const RenderArgs& a);
/// What one render wrote (for batch and worker summaries).
struct RenderOutcome {
    double audioSeconds = 0.0;
    double lufs = 0.0, truePeakDbtp = 0.0;
    bool measured = false;  // mastered and not silent: lufs and truePeakDbtp hold
    int layers = 0;
    std::vector<std::string> warnings;
};
/// Renders exactly as `render` does with these arguments and writes the same files, but prints
/// nothing: warnings come back in the outcome. Throws on any error (bad input, a failed write).
RenderOutcome renderToFiles(const RenderArgs& a);
/// The composer's settings for a resolved config (its style profile's groove, effects, presets).
compose::SketchConfig sketchFor(const music::MusicConfig& cfg);
/// The file format -o and --format ask for; throws std::invalid_argument when they disagree.
io::FileFormat chooseFormat(const RenderArgs& a);

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
    std::string clock = "internal";  // "internal" (real time on --device) or "virtual" (as fast as the CPU allows)
    std::string device = "null", scriptFile, output, eventsFile;
    double minutes = 0.0;  // 0: until q (the virtual clock needs a length)
    std::optional<std::uint64_t> seed;
    double sampleRate = 44100.0, targetLufs = -14.0;
    bool quiet = false;
    bool useLlm = false;  // --llm [URL]: an LLM plans each phrase; the rules play on when it fails
    std::optional<std::string> llmUrl, llmModel;
    std::optional<double> llmTimeout;
};
int runDj(const DjArgs& a);
/// `soundstar serve`: the engine as a service (REST, WebSocket, OSC).
struct ServeArgs {
    std::string host = "127.0.0.1", device = "null", apiKey, dataDir = "soundstar-data";
    int port = 7860, oscPort = -1;
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

int runDoctor();
int runSchema();
/// Prints the JSON Schema of a batch job line.
int runJobSchema();
/// Prints the arrangement for a prompt/config as JSON (the same choices render would make).
int runArrange(const RenderArgs& a);

}  // namespace soundstar::app

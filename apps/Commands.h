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

namespace soundstar::app {

struct RenderArgs {
    std::string prompt;
    std::string configFile;
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
};

/// Where presets and other data live: $SOUNDSTAR_DATA, the source tree's data/, or next to the binary.
std::filesystem::path dataDir();

/// The shipped presets, loaded from dataDir()/presets once per process.
const engine::PresetLibrary& shippedPresets();
/// A vibe read from text as render reads a prompt (interpreter, mood, profile), held `seconds`.
live::StreamVibe vibeFromText(const std::string& text, const std::optional<std::uint64_t>& seed, double seconds);

/// The embedded interpreter, loaded from dataDir()/interpret once per process.
const interpret::Interpreter& interpreter();
/// The config a render uses: the prompt's interpretation, then --config, --update, --seed, the
/// mood and the genre's style profile. `understood` receives what decided what.
music::MusicConfig resolveConfig(const RenderArgs& a, std::vector<std::string>& understood, PromptOutcome* outcome = nullptr);

int runRender(const RenderArgs& a);
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
};
int runLive(const LiveArgs& a);
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
int runDoctor();
int runSchema();
/// Prints the arrangement for a prompt/config as JSON (the same choices render would make).
int runArrange(const RenderArgs& a);

}  // namespace soundstar::app

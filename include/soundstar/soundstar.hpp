#pragma once
// Soundstar as a library: text to music, locally, in one call.
//
//   soundstar::Engine engine;                          // finds the installed data
//   soundstar::Audio a = engine.render("warm sunset over water");
//   a.save("sunset.wav");
//
// The same pipeline as `soundstar render` (the embedded interpreter or a local LLM, the arranger,
// the composer, the engine, mastering): the same request gives the same samples, bit for bit.
// Errors are exceptions: std::invalid_argument for bad input (the message names what was wrong and
// what is allowed), std::runtime_error for missing data or a failed write.
// This header includes only standard headers; every internal header stays private.
// The C++ structs here grow fields between versions (before 1.0 the ABI is not kept): rebuild
// against the installed header. The C API (soundstar.h) keeps older callers working.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if defined(_WIN32)
#define SOUNDSTAR_API __declspec(dllexport)
#else
#define SOUNDSTAR_API __attribute__((visibility("default")))
#endif

namespace soundstar {

/// Thrown when no data folder holds Soundstar's data (presets/, interpret/).
class SOUNDSTAR_API DataNotFound : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The library's version, "MAJOR.MINOR.PATCH" [any].
SOUNDSTAR_API const char* version();

/// A MusicConfig (JSON, any subset of its fields) checked and completed with the defaults, as
/// the CLI reads --config; throws std::invalid_argument naming the field and what is allowed [any].
SOUNDSTAR_API std::string validateConfig(std::string_view configJson);

/// `configJson` (a MusicConfig, "" for the defaults) with `updateJson` applied: absolute values or
/// steps along each scale ({"brightness": "+2", "space": "-1"}, saturating at the ends), as the
/// CLI's --update reads it; throws std::invalid_argument naming the field and what is allowed [any].
SOUNDSTAR_API std::string applyUpdate(std::string_view configJson, std::string_view updateJson);

/// What to render. A prompt, a MusicConfig (JSON, see `soundstar schema`), or both: the config is
/// applied on top of the prompt's reading, then `updateJson` (absolute values or steps such as
/// {"brightness":"+2"}), then `seed`.
struct RenderRequest {
    std::string prompt{};
    std::string configJson{};
    std::string updateJson{};
    double durationSeconds = 30.0;      // 1 to 3600
    std::optional<std::uint64_t> seed{};  // default: the config's, else 1
    double sampleRateHz = 44100.0;      // a whole number from 8000 to 192000
    bool master = true;                 // false: the plain sum of the layers, no loudness or peak limit
    double targetLufs = -14.0;          // -40 to -6
    double ceilingDbtp = -1.0;          // -12 to 0
    bool loop = false;                  // an exact, seamless loop of whole bars
    // A local OpenAI-compatible LLM reads the prompt (falling back to the interpreter, with a warning).
    bool useLlm = false;
    std::string llmUrl{}, llmModel{};  // empty: the settings file, $SOUNDSTAR_LLM_URL, else the default
    // A layer a model generates from the prompt (`soundstar render --generator`): an installed
    // model's name ($SOUNDSTAR_MODELS, then the data's models/, e.g. "procedural") or a model
    // folder; fitted to the track's tempo, bars, key and loudness and mixed in before mastering.
    // The model runs in a `soundstar model-worker` process ($SOUNDSTAR_WORKER, else the soundstar
    // program installed beside the library or built with it), kept by the Engine between renders.
    std::string generator{};
    double generatorGainDb = -3.0;  // the layer's loudness against the score's: -30 to 12 dB
};

/// Rendered stereo audio in memory.
struct SOUNDSTAR_API Audio {
    std::vector<float> samples;  // interleaved stereo: left0, right0, left1, right1, ...
    double sampleRateHz = 0.0;
    std::string configJson;    // the MusicConfig that was played
    std::string metadataJson;  // title, reasoning, palettes, source (an LLM's when it composed), warnings
    bool measured = false;     // mastered and not silent: lufs and truePeakDbtp hold
    double lufs = 0.0, truePeakDbtp = 0.0;
    std::vector<std::string> warnings;
    std::string generated;     // with a generator: what its layer is (source tempo and key, what was done), one line

    std::size_t frames() const { return samples.size() / 2; }
    double seconds() const { return sampleRateHz > 0.0 ? static_cast<double>(frames()) / sampleRateHz : 0.0; }
    /// Writes the audio to `path` (.wav .flac .ogg .mp3, or `format`: wav, wav24, wav32f, flac,
    /// ogg, mp3) through a temporary name, so a failed write leaves no partial file.
    void save(const std::string& path, const std::string& format = {}) const;
};

/// The files a render writes; empty paths are not written. All are written, or none.
struct FileOutputs {
    std::string audioPath{};     // required: .wav .flac .ogg .mp3
    std::string format{};        // empty: from audioPath's extension
    std::string midiPath{};      // the score as a Standard MIDI File (a track per layer)
    std::string stemsDir{};      // one 32-bit float WAV per layer (pre-master)
    std::string metadataPath{};  // JSON: prompt, title, config, arrangement, ...
};

/// What renderToFile wrote.
struct RenderReport {
    double seconds = 0.0;
    int layers = 0;
    bool measured = false;
    double lufs = 0.0, truePeakDbtp = 0.0;
    std::string configJson;
    std::vector<std::string> warnings;
    std::string generated;  // with a generator: what its layer is, one line
};

/// The data (presets, style profiles, the interpreter) loaded once, on first use, and shared by
/// every call: one Engine renders on many threads at once [any]. Cheap to copy (copies share).
class SOUNDSTAR_API Engine {
public:
    /// `dataDir` empty: $SOUNDSTAR_DATA, else the data installed beside the library
    /// (<prefix>/share/soundstar), else the source tree's data/ (a build tree). Throws
    /// DataNotFound naming the places tried when none holds Soundstar's data.
    explicit Engine(const std::string& dataDir = {});
    ~Engine();
    Engine(const Engine&);
    Engine& operator=(const Engine&);

    /// The data folder in use.
    std::string dataDir() const;
    /// The MusicConfig (JSON) a render of `prompt` would use, as `soundstar interpret --json` prints it.
    std::string interpret(std::string_view prompt) const;
    /// Renders in memory.
    Audio render(const RenderRequest& request) const;
    Audio render(std::string_view prompt) const;
    /// Renders to files as `soundstar render` writes them.
    RenderReport renderToFile(const RenderRequest& request, const FileOutputs& outputs) const;

    /// Where the data would be found with no explicit folder (see the constructor); throws as it does.
    static std::string findDataDir();

private:
    friend class Stream;
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

/// One vibe of a stream and how long it holds. `vibe` is a steering line: text ("morning coffee"),
/// a blend ("blend ambient drone 0.7, minimal techno 0.3"), or a change to the vibe before
/// ("+bright", "b 130", {"update": {"brightness": "+2"}}, {"config": {...}}), as `soundstar live` reads.
struct StreamItem {
    std::string vibe{};
    double seconds = 60.0;            // how long it holds, its share of the transitions included: 0.5 to 3600
    double transitionSeconds = -1.0;  // the change into it: 0.05 to 600; < 0: StreamOptions::transitionSeconds
};

struct StreamOptions {
    double sampleRateHz = 44100.0;      // a whole number from 8000 to 192000
    double transitionSeconds = 4.0;     // a change's length unless it names its own: 0.05 to 600
    std::optional<std::uint64_t> seed{};  // default: each vibe's own
    double targetLufs = -14.0;          // the master's slow leveller aims here: -40 to -6
    double endFadeSeconds = 1.0;        // a stream of items fades out over its last moments: 0.02 to 60
};

/// Something that happened in a stream, with the sample where it starts (from the stream's first).
struct StreamEvent {
    std::int64_t sample = 0;
    double seconds = 0.0;        // sample / sample rate
    std::string kind{};          // vibe, transition, glide, layers, fade_out, section, ...
    std::string label{};         // the vibe (or the section's kind: verse, drop...)
    int bar = 0;                 // the bar of the vibe playing then, from 0
    double bpm = 0.0;
    double lengthSeconds = 0.0;  // a transition's, glide's or fade's length
};

/// Music that plays on while it is steered, pulled on the caller's clock: `pull` renders as fast
/// as it is asked (no device, no thread), so a game, a server or a test decides the pace. The same
/// engine, composer and steering as `soundstar live`; the same vibes, seeds and steering at the
/// same samples give the same samples, however the pulls are cut. One thread at a time [control].
class SOUNDSTAR_API Stream {
public:
    /// An endless stream of `vibe` (a steering line that asks for music), until fadeOut or "q".
    Stream(const Engine& engine, std::string_view vibe, const StreamOptions& options = {});
    /// The items in order, each changing into the next over its transition (centred on the
    /// boundary, from the bar line nearest); the stream ends after the last, faded over
    /// options.endFadeSeconds. At most kMaxQueuedItems items not yet started.
    Stream(const Engine& engine, const std::vector<StreamItem>& items, const StreamOptions& options = {});
    ~Stream();
    Stream(Stream&&) noexcept;
    Stream& operator=(Stream&&) noexcept;

    static constexpr std::size_t kMaxQueuedItems = 64;
    static constexpr double kMaxPullSeconds = 600.0;

    /// Renders the next `frames` (at most kMaxPullSeconds of them) as interleaved stereo into
    /// `interleaved` (2 * frames floats). Returns how many were written: fewer only at the end.
    std::size_t pull(float* interleaved, std::size_t frames);
    std::vector<float> pull(std::size_t frames);
    /// Applies a steering line now (its change starts on the grid it asks for, by default the
    /// next bar line). Returns what was scheduled and from which sample; an empty line schedules
    /// nothing; "q" fades out within 100 ms. Throws std::invalid_argument saying what is allowed.
    StreamEvent steer(std::string_view line);
    /// Queues another item after the last (a stream of items only; refused once it is fading out).
    void append(const StreamItem& item);
    /// Fades everything out over `seconds` (0.02 to 60) from now; the stream then ends.
    void fadeOut(double seconds = 1.0);
    /// True once every frame up to the end has been pulled (never for an endless stream that is playing).
    bool finished() const;
    /// Frames pulled so far. A steer's "now" is the first 256-frame block boundary at or after it.
    std::int64_t position() const;
    /// The last frame + 1 as things stand (items queued, fades); -1 while endless.
    std::int64_t length() const;
    double sampleRateHz() const;
    /// The MusicConfig (JSON) of the vibe playing or coming in.
    std::string configJson() const;
    /// Everything scheduled so far, in order of sample: vibes, transitions, glides, layers,
    /// sections, the fade-out.
    std::vector<StreamEvent> events() const;
    /// The same as JSON lines, as `soundstar live --events` writes them.
    std::string eventsJsonLines() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Audio output devices this build can see ("" entries never; empty when none) [any].
SOUNDSTAR_API std::vector<std::string> outputDevices();

/// Plays audio pushed from the caller's thread through an audio device in real time: "default"
/// (the system's, through RtAudio/JACK) or "null" (a clock, nothing heard: for tests and timing).
/// Throws std::runtime_error saying so when there is no device [control].
class SOUNDSTAR_API Player {
public:
    explicit Player(double sampleRateHz, const std::string& device = "default");
    ~Player();
    Player(const Player&) = delete;
    Player& operator=(const Player&) = delete;
    /// Queues interleaved stereo frames, waiting while about a second is already queued.
    void write(const float* interleaved, std::size_t frames);
    /// Waits until everything written has played.
    void drain();
    std::string deviceName() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Plays `audio` to the end on `device` (see Player) [control].
SOUNDSTAR_API void play(const Audio& audio, const std::string& device = "default");

}  // namespace soundstar

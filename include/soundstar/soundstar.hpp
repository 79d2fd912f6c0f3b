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
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

}  // namespace soundstar

#pragma once
// One render from start to end, as `soundstar render` does it: the prompt's reading (the embedded
// interpreter or an LLM), --config / --update / --seed, the mood and the style profile, the
// arrangement, the score, the audio, mastering and every output file [control].
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compose/SketchConfig.h"
#include "core/AudioBuffer.h"
#include "io/AudioFile.h"
#include "music/Arrangement.h"
#include "music/MusicConfig.h"
#include "music/Score.h"
#include "pipeline/GeneratedLayer.h"

namespace soundstar::pipeline {

class DataSet;

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
    /// Receives each warning met while reading the prompt (an LLM's repairs and fallbacks); unset:
    /// printed to standard error as "soundstar: warning: ...".
    std::function<void(const std::string&)> warn;
    /// --generator MODEL (as given, for messages) and the function that asks the model for audio:
    /// set, a generated layer is conformed to the track and mixed in before mastering (GeneratedLayer.h).
    std::string generatorName;
    Generator generator;
    double generatorGainDb = -3.0;  // --generator-gain: the layer's loudness against the score's, -30 to 12 dB
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

/// What one render wrote (for batch and worker summaries).
struct RenderOutcome {
    double audioSeconds = 0.0;
    double lufs = 0.0, truePeakDbtp = 0.0;
    bool measured = false;  // mastered and not silent: lufs and truePeakDbtp hold
    int layers = 0;
    std::vector<std::string> warnings;
    std::string generated;  // what the generated layer is (--generator), one line; empty without one
};

/// Everything a render decides before making audio: the config, the arrangement and the score.
struct Composition {
    music::MusicConfig config;
    music::Arrangement arrangement;
    music::Score score;
    PromptOutcome outcome;
    std::vector<std::string> understood;
};

/// The config a render uses: the prompt's interpretation, then --config, --update, --seed, the
/// mood and the genre's style profile. `understood` receives what decided what.
music::MusicConfig resolveConfig(const DataSet& data, const RenderArgs& a, std::vector<std::string>& understood,
                                 PromptOutcome* outcome = nullptr);
/// The composer's settings for a resolved config (its style profile's groove, effects, presets).
compose::SketchConfig sketchFor(const DataSet& data, const music::MusicConfig& cfg);
/// The sections a render plays: --structure, the LLM's sections, --bars or the arranger's form.
music::Arrangement resolveArrangement(const RenderArgs& a, const music::MusicConfig& cfg,
                                      const std::optional<std::string>& llmStructure = {});
/// Throws std::invalid_argument for options that cannot be honoured together.
void checkOptionConflicts(const RenderArgs& a);
/// The config, arrangement and score for a render; throws std::invalid_argument on bad input.
Composition composeJob(const DataSet& data, const RenderArgs& a);
/// The file format -o and --format ask for; throws std::invalid_argument when they disagree.
io::FileFormat chooseFormat(const RenderArgs& a);

/// The composition's audio at a.sampleRate, mastered unless a.noMaster (`outcome` receives the
/// loudness, length and warnings); `stems`, when given, receives one unmastered buffer per score track from the same pass
/// (and, with a generator, the generated layer last).
StereoBuffer renderAudio(const DataSet& data, const RenderArgs& a, const Composition& job, RenderOutcome& outcome,
                         const std::function<void(double)>& progress = {}, std::vector<StereoBuffer>* stems = nullptr);
/// The --stems file name (without .wav) of the generated layer: "_generated" (a layer's stem is
/// its name, and layer names are plain words, so a leading underscore cannot be one), with more
/// underscores while a track of `trackNames` has it.
std::string generatedStemName(const std::vector<std::string>& trackNames);
/// Renders a composed job and writes a.output (and --midi, --stems, --metadata) all or none.
RenderOutcome renderComposition(const DataSet& data, const RenderArgs& a, const Composition& job, io::FileFormat format,
                                const std::function<void(double)>& progress = {});
/// Renders exactly as `render` does with these arguments and writes the same files, but prints
/// nothing: warnings come back in the outcome. Throws on any error (bad input, a failed write).
RenderOutcome renderToFiles(const DataSet& data, const RenderArgs& a);

}  // namespace soundstar::pipeline

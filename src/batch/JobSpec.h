#pragma once
// One render job as a line of JSON [control]: what `soundstar batch` reads from a JOBS.jsonl file
// and what `soundstar worker` reads from a Redis Stream entry. The fields are rows of one table
// (name, JSON type, range, what it means); the parser and the JSON Schema
// (data/batch_job.schema.json, `soundstar batch --schema`) both come from it, so they agree.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace soundstar::batch {

/// Bounds on a jobs file and its lines (named in the errors that enforce them).
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
inline constexpr std::size_t kMaxJobs = 10000;
inline constexpr std::size_t kMaxPromptBytes = 10000;
inline constexpr std::size_t kMaxOutputBytes = 200;
inline constexpr int kMaxOutputDepth = 8;
inline constexpr std::size_t kMaxModelNameBytes = 100;

/// A validated job. Optional fields left out keep `soundstar render`'s defaults.
struct JobSpec {
    std::string prompt;
    std::string configJson;  // a MusicConfig object as compact JSON ("" when absent)
    std::string updateJson;  // a MusicConfigUpdate object as compact JSON ("" when absent)
    std::optional<double> durationSeconds;  // 1..3600; render's default 30 s
    std::optional<std::uint64_t> seed;
    std::string format;  // "" (from the output's extension, else wav) or a render --format name
    std::optional<double> sampleRateHz;  // whole Hz, 8000..192000
    std::optional<double> targetLufs;    // -40..-6
    bool noMaster = false;
    bool stems = false;  // also write <output stem>.stems/<layer>.wav
    bool midi = false;   // also write <output stem>.mid
    std::string output;  // a relative path inside the output folder ("" = the caller's default name)
    std::string generator;  // an installed model's name (render --generator); "" = none
    std::optional<double> generatorGainDb;  // -30..12 (render --generator-gain); needs generator
};

/// Parses and validates one job line. Throws std::invalid_argument with a message under 2000
/// bytes that names the field, the value (clipped) and what is allowed; the caller adds where
/// the line came from ("line 7: ...").
JobSpec parseJobLine(std::string_view line);

/// The output file of a job, relative to the output folder: `output`, else `defaultStem`, with
/// the extension the format asks for added when the name has none. Throws std::invalid_argument
/// when the name's extension and the format disagree.
std::string outputName(const JobSpec& job, const std::string& defaultStem);
/// The extra outputs a job writes beside its file (relative names): "<stem>.mid", "<stem>.stems".
std::string midiName(const std::string& output);
std::string stemsName(const std::string& output);

/// Checks a relative output name: not absolute, no "..", "." or hidden components (a leading
/// dot is what temporary files use), at most kMaxOutputBytes bytes and kMaxOutputDepth folders,
/// letters, digits and "._+-" only. Throws std::invalid_argument saying what is allowed.
void checkOutputName(std::string_view name, std::string_view what = "output");

/// The JSON Schema (draft 2020-12) of a job line, generated from the field table.
std::string jobSchema();
/// The field names, in table order (for messages and docs).
std::vector<std::string> jobFields();

}  // namespace soundstar::batch

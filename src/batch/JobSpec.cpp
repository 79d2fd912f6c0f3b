#include "batch/JobSpec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/AudioFile.h"
#include "music/JsonText.h"
#include "music/MusicConfig.h"

namespace soundstar::batch {
namespace {
using json = nlohmann::json;

enum class Kind { Text, Config, Update, Number, Integer, Seed, Bool, Format, Output, ModelName };

// One row per field: the parser, the schema and the messages read the same row.
struct Field {
    const char* name;
    Kind kind;
    double min, max;  // Number and Integer; Text: max bytes
    const char* meaning;
    void (*set)(JobSpec&, const json&);
};

const std::vector<std::string>& formatChoices() {
    static const std::vector<std::string> names{"wav", "wav24", "wav32f", "flac", "ogg", "mp3"};
    return names;
}

const std::vector<Field>& fields() {
    static const std::vector<Field> table{
        {"prompt", Kind::Text, 0, static_cast<double>(kMaxPromptBytes), "What the music should be (read as `render PROMPT` reads it)",
         [](JobSpec& j, const json& v) { j.prompt = v.get<std::string>(); }},
        {"config", Kind::Config, 0, 0, "A MusicConfig object, applied on top of the prompt's (as render --config)",
         [](JobSpec& j, const json& v) { j.configJson = v.dump(); }},
        {"update", Kind::Update, 0, 0, "Steps or values applied last (as render --update), e.g. {\"brightness\":\"+2\"}",
         [](JobSpec& j, const json& v) { j.updateJson = v.dump(); }},
        {"duration", Kind::Number, 1, 3600, "Length in seconds (render -d; default 30)",
         [](JobSpec& j, const json& v) { j.durationSeconds = v.get<double>(); }},
        {"seed", Kind::Seed, 0, 0, "Random seed, 0 to 2^64-1 (default: derived from the prompt)",
         [](JobSpec& j, const json& v) { j.seed = v.is_number_float() ? static_cast<std::uint64_t>(v.get<double>()) : v.get<std::uint64_t>(); }},
        {"format", Kind::Format, 0, 0, "wav, wav24, wav32f, flac, ogg or mp3 (default: from the output's extension, else wav)",
         [](JobSpec& j, const json& v) { j.format = v.get<std::string>(); }},
        {"sample_rate", Kind::Integer, 8000, 192000, "Sample rate in whole Hz (default 44100)",
         [](JobSpec& j, const json& v) { j.sampleRateHz = v.get<double>(); }},
        {"target_lufs", Kind::Number, -40, -6, "Mastering loudness target in LUFS (default -14)",
         [](JobSpec& j, const json& v) { j.targetLufs = v.get<double>(); }},
        {"no_master", Kind::Bool, 0, 0, "Skip the master chain and loudness normalisation",
         [](JobSpec& j, const json& v) { j.noMaster = v.get<bool>(); }},
        {"stems", Kind::Bool, 0, 0, "Also write one float WAV per layer into <output stem>.stems/",
         [](JobSpec& j, const json& v) { j.stems = v.get<bool>(); }},
        {"midi", Kind::Bool, 0, 0, "Also write the score as <output stem>.mid",
         [](JobSpec& j, const json& v) { j.midi = v.get<bool>(); }},
        {"output", Kind::Output, 0, static_cast<double>(kMaxOutputBytes),
         "File name inside the output folder, e.g. \"night/rain.flac\" (letters, digits, ._+- and / only; no .., no leading dot)",
         [](JobSpec& j, const json& v) { j.output = v.get<std::string>(); }},
        {"generator", Kind::ModelName, 0, static_cast<double>(kMaxModelNameBytes),
         "An installed model's name ($SOUNDSTAR_MODELS or data/models; see soundstar models) whose audio is added as a layer fitted to the track (render --generator)",
         [](JobSpec& j, const json& v) { j.generator = v.get<std::string>(); }},
        {"generator_gain", Kind::Number, -30, 12, "The generated layer's loudness against the score's, in dB (render --generator-gain; default -3; needs generator)",
         [](JobSpec& j, const json& v) { j.generatorGainDb = v.get<double>(); }},
    };
    return table;
}

const Field* findField(const std::string& name) {
    for (const auto& f : fields())
        if (name == f.name) return &f;
    return nullptr;
}

std::string typeName(const json& v) { return v.type_name(); }

[[noreturn]] void bad(const Field& f, const json& v, const std::string& allowed) {
    throw std::invalid_argument(fmt::format("field '{}' = {} is invalid: allowed {}", f.name, music::quoteJson(v, 80), allowed));
}

void checkNumber(const Field& f, const json& v, bool whole) {
    if (!v.is_number()) bad(f, v, fmt::format("a number from {:g} to {:g}, not a {}", f.min, f.max, typeName(v)));
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < f.min || x > f.max || (whole && std::floor(x) != x))
        bad(f, v, fmt::format("{} from {:g} to {:g}", whole ? "a whole number" : "a number", f.min, f.max));
}

void checkValue(const Field& f, const json& v) {
    switch (f.kind) {
        case Kind::Text:
            if (!v.is_string()) bad(f, v, fmt::format("a string, not a {}", typeName(v)));
            if (v.get_ref<const std::string&>().size() > static_cast<std::size_t>(f.max))
                bad(f, v, fmt::format("at most {:g} bytes (this one has {})", f.max, v.get_ref<const std::string&>().size()));
            break;
        case Kind::Config:
            if (!v.is_object()) bad(f, v, fmt::format("a MusicConfig object (see `soundstar schema`), not a {}", typeName(v)));
            (void)music::mergeMusicConfig(music::MusicConfig{}, v.dump(), "job field 'config'");
            break;
        case Kind::Update:
            if (!v.is_object()) bad(f, v, fmt::format("an object of values or steps, not a {}", typeName(v)));
            (void)music::applyUpdate(music::MusicConfig{}, v.dump(), "job field 'update'");
            break;
        case Kind::Number: checkNumber(f, v, false); break;
        case Kind::Integer: checkNumber(f, v, true); break;
        case Kind::Seed:
            // 1e3 and 7.0 are whole numbers too (JSON Schema says so); below 2^64, as a double can say it.
            if (!v.is_number_unsigned() &&
                !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && v.get<double>() >= 0 && v.get<double>() < 18446744073709551616.0))
                bad(f, v, "a whole number from 0 to 18446744073709551615");
            break;
        case Kind::Bool:
            if (!v.is_boolean()) bad(f, v, fmt::format("true or false, not a {}", typeName(v)));
            break;
        case Kind::Format:
            if (!v.is_string() || !io::parseFormat(v.get<std::string>()) ||
                std::find(formatChoices().begin(), formatChoices().end(), v.get<std::string>()) == formatChoices().end())
                bad(f, v, fmt::format("one of {}", fmt::join(formatChoices(), ", ")));
            break;
        case Kind::Output:
            if (!v.is_string()) bad(f, v, fmt::format("a file name (string), not a {}", typeName(v)));
            checkOutputName(v.get_ref<const std::string&>(), "field 'output'");
            break;
        case Kind::ModelName: {
            // A name, never a path: a job (from a file or a stream) cannot point the worker at a folder.
            const auto allowed = fmt::format("an installed model's name: 1 to {:g} letters, digits and ._+- (not starting with a dot; no folders)", f.max);
            if (!v.is_string()) bad(f, v, allowed);
            const auto& s = v.get_ref<const std::string&>();
            if (s.empty() || s.size() > static_cast<std::size_t>(f.max) || s.front() == '.' ||
                !std::all_of(s.begin(), s.end(), [](char c) { return (std::isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) || c == '.' || c == '_' || c == '+' || c == '-'; }))
                bad(f, v, allowed);
            break;
        }
    }
}
}  // namespace

std::vector<std::string> jobFields() {
    std::vector<std::string> names;
    for (const auto& f : fields()) names.emplace_back(f.name);
    return names;
}

void checkOutputName(std::string_view name, std::string_view what) {
    const auto quoted = music::quoteJson(json(std::string(name)), 80);
    const auto refuse = [&](const std::string& why) {
        throw std::invalid_argument(fmt::format("{} {} is not allowed: {}; give a relative name inside the output folder such as "
                                                "\"night/rain.flac\" (letters, digits, ._+- and /; at most {} bytes and {} folders)",
                                                what, quoted, why, kMaxOutputBytes, kMaxOutputDepth));
    };
    if (name.empty()) refuse("it is empty");
    if (name.size() > kMaxOutputBytes) refuse(fmt::format("it has {} bytes", name.size()));
    if (name.front() == '/') refuse("it is an absolute path");
    int depth = 0;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t end = std::min(name.find('/', start), name.size());
        const std::string_view part = name.substr(start, end - start);
        if (part.empty()) refuse("it has an empty folder name (// or a trailing /)");
        if (part == "..") refuse("\"..\" would leave the output folder");
        if (part.front() == '.') refuse("a name part starts with a dot (hidden and temporary names are reserved)");
        for (const char c : part)
            if (!(std::isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) && c != '.' && c != '_' && c != '+' &&
                c != '-')
                refuse(fmt::format("the character {} is not allowed", music::quoteJson(json(std::string(1, c)), 12)));
        if (end < name.size() && ++depth > kMaxOutputDepth) refuse(fmt::format("it is more than {} folders deep", kMaxOutputDepth));
        start = end + 1;
    }
}

JobSpec parseJobLine(std::string_view line) {
    if (line.size() > kMaxLineBytes)
        throw std::invalid_argument(fmt::format("the line has {} bytes; the limit is {} bytes per job", line.size(), kMaxLineBytes));
    const json j = music::parseJsonBounded(line, "job", {kMaxLineBytes, 64});
    if (!j.is_object())
        throw std::invalid_argument(fmt::format("a job is a JSON object such as {{\"prompt\":\"rainy night\",\"duration\":20}}, not a {}", typeName(j)));
    JobSpec job;
    for (const auto& [name, value] : j.items()) {
        const Field* f = findField(name);
        if (!f)
            throw std::invalid_argument(fmt::format("unknown field {}; fields: {}", music::quoteJson(json(name), 60), fmt::join(jobFields(), ", ")));
        checkValue(*f, value);
        f->set(job, value);
    }
    if (job.prompt.empty() && job.configJson.empty())
        throw std::invalid_argument("a job needs a non-empty \"prompt\" or a \"config\" (or both)");
    if (job.generatorGainDb && job.generator.empty())
        throw std::invalid_argument("field 'generator_gain' needs a \"generator\" (the model whose layer it sets the loudness of)");
    (void)outputName(job, "job");  // the name's extension and the format must agree
    return job;
}

namespace {
// The container (and extension) a format name writes; "" for an unknown name.
std::string containerFor(const std::string& format) {
    const auto f = io::parseFormat(format);
    return f ? io::containerOf(*f) : "";
}
}  // namespace

std::string outputName(const JobSpec& job, const std::string& defaultStem) {
    const std::string name = job.output.empty() ? defaultStem : job.output;
    const auto dot = name.find_last_of('.');
    const auto slash = name.find_last_of('/');
    const bool hasExtension = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    const std::string askedContainer = job.format.empty() ? std::string() : containerFor(job.format);
    if (!hasExtension) return name + "." + (askedContainer.empty() ? std::string("wav") : askedContainer);
    const std::string extension = name.substr(dot + 1);
    const auto byName = io::formatFromPath(name);
    if (!byName || extension != io::containerOf(*byName))
        throw std::invalid_argument(fmt::format("field 'output' {} has an unknown extension; use .wav, .flac, .ogg or .mp3, or leave the "
                                                "extension out and give \"format\"",
                                                music::quoteJson(json(name), 80)));
    const std::string nameContainer = io::containerOf(*byName);
    if (!askedContainer.empty() && askedContainer != nameContainer)
        throw std::invalid_argument(fmt::format("field 'format' \"{}\" does not match the output {} (a {} file); use a .{} name or leave the "
                                                "extension out",
                                                job.format, music::quoteJson(json(name), 80), nameContainer, askedContainer));
    return name;
}

namespace {
std::string stemOf(const std::string& output) {
    const auto dot = output.find_last_of('.');
    const auto slash = output.find_last_of('/');
    return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? output.substr(0, dot) : output;
}
}  // namespace

std::string midiName(const std::string& output) { return stemOf(output) + ".mid"; }
std::string stemsName(const std::string& output) { return stemOf(output) + ".stems"; }

std::string jobSchema() {
    json props = json::object();
    for (const auto& f : fields()) {
        json p;
        switch (f.kind) {
            case Kind::Text: p = {{"type", "string"}, {"maxLength", f.max}}; break;
            case Kind::Config: {
                p = json::parse(music::musicConfigSchema());
                p.erase("$schema");
                p.erase("title");
                break;
            }
            case Kind::Update: p = {{"type", "object"}}; break;
            case Kind::Number: p = {{"type", "number"}, {"minimum", f.min}, {"maximum", f.max}}; break;
            case Kind::Integer: p = {{"type", "integer"}, {"minimum", f.min}, {"maximum", f.max}}; break;
            case Kind::Seed: p = {{"type", "integer"}, {"minimum", 0}, {"maximum", std::numeric_limits<std::uint64_t>::max()}}; break;
            case Kind::Bool: p = {{"type", "boolean"}}; break;
            case Kind::Format: p = {{"type", "string"}, {"enum", formatChoices()}}; break;
            case Kind::Output:
                p = {{"type", "string"},
                     {"maxLength", f.max},
                     {"pattern", R"(^([A-Za-z0-9_+-][A-Za-z0-9._+-]*/){0,8}([A-Za-z0-9_+-]+|[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.(wav|flac|ogg|mp3))$)"}};
                break;
            case Kind::ModelName: p = {{"type", "string"}, {"minLength", 1}, {"maxLength", f.max}, {"pattern", R"(^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$)"}}; break;
        }
        p["description"] = f.meaning;
        props[f.name] = p;
    }
    const json schema{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                      {"title", "Soundstar batch job (one line of a JOBS.jsonl file, or one Redis Stream entry's job field)"},
                      {"type", "object"},
                      {"additionalProperties", false},
                      {"properties", props},
                      {"anyOf", json::array({json{{"required", {"prompt"}}, {"properties", {{"prompt", {{"minLength", 1}}}}}},
                                             json{{"required", {"config"}}}})},
                      {"dependentRequired", {{"generator_gain", {"generator"}}}}};
    return schema.dump(2) + "\n";
}

}  // namespace soundstar::batch

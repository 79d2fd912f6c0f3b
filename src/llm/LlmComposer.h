#pragma once
// The LLM composer: a local LLM does the semantic deconstruction of a prompt (genre, tempo,
// key, mood, instrumentation and a full MusicConfig, asked for with a JSON schema), the
// structural guidance (sections with durations, for the arranger) and the metadata (a title, a
// short reasoning, colour palettes). Every answer is validated field by field: near misses are
// repaired, the rest dropped with a warning; when nothing usable comes back (down, timeout,
// garbage, dropped connection) the embedded interpreter's config is used and a warning says why.
// A render never fails because of the LLM, and never waits past the timeout.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/LlmClient.h"
#include "music/MusicConfig.h"

namespace soundstar::interpret {
class Interpreter;
}

namespace soundstar::llm {

struct LlmComposition {
    music::MusicConfig config;            // always valid
    std::optional<std::string> structure;  // sections JSON the arranger accepts, or none (auto form)
    nlohmann::json metadata;              // title, reasoning, palettes, source, model, warnings
    std::vector<std::string> warnings;    // repairs, dropped fields, fallbacks: each says why
    std::vector<std::string> notes;       // what came from where
    bool configFromLlm = false, structureFromLlm = false;
};

/// The JSON Schema the deconstruction asks for (built from data/music_config.schema.json's
/// fields, with lengths bounded so grammar-constrained decoding always ends).
std::string deconstructionSchema();
/// The JSON Schema the structural guidance asks for.
std::string structureSchema();

/// Applies an LLM's deconstruction answer (the message text) on top of `base`; the prompt's
/// explicit fields (`keep`) are kept. Repairs and drops are appended to `warnings`. Returns
/// nullopt when the text holds no JSON object at all.
std::optional<music::MusicConfig> applyDeconstruction(const std::string& answer, const music::MusicConfig& base,
                                                      const std::set<std::string>& keep, const interpret::Interpreter* genreReader,
                                                      nlohmann::json& metadata, std::vector<std::string>& warnings);
/// Validates a structure answer into sections JSON for compose::arrangeFromStructure, or nullopt.
std::optional<std::string> applyStructure(const std::string& answer, const music::MusicConfig& config, double durationSeconds,
                                          std::vector<std::string>& warnings);

/// The whole flow for a render. `wantStructure`: also ask for sections.
LlmComposition composeWithLlm(LlmClient& client, const interpret::Interpreter& interpreter, const std::string& prompt,
                              double durationSeconds, bool wantStructure);

}  // namespace soundstar::llm

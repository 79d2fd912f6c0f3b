// Fuzz target: an LLM's answer text (whatever a local model or a hostile endpoint sends back)
// through the pure functions that turn it into a config, metadata and sections:
// llm::applyDeconstruction and llm::applyStructure. A render never fails because of the LLM, so
// any exception is a finding. Properties: the config is valid (prints and parses back unchanged);
// the metadata is valid JSON text (UTF-8) with bounded strings; every warning is bounded; an
// accepted structure is accepted again by compose::arrangeFromStructure.
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "FuzzCheck.h"
#include "compose/Arranger.h"
#include "interpret/Interpreter.h"
#include "llm/LlmComposer.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
const interpret::Interpreter& interpreter() {
    static const interpret::Interpreter it =
        interpret::Interpreter::load(std::filesystem::path(SOUNDSTAR_DATA) / "interpret");
    return it;
}

void checkConfig(const music::MusicConfig& c, const std::string& answer) {
    const std::string once = music::toJson(c);
    try {
        if (music::toJson(music::parseMusicConfig(once, "LLM config")) != once)
            fuzz::finding("the LLM config does not round-trip", once + "\n--- from ---\n" + answer);
    } catch (const std::invalid_argument& e) {
        fuzz::finding("applyDeconstruction produced an invalid config",
                      fmt::format("{}\n{}\n--- from ---\n{}", e.what(), once, answer));
    }
}

void checkMetadata(const nlohmann::json& metadata, const std::string& answer) {
    std::string text;
    try {
        text = metadata.dump();  // throws on invalid UTF-8
    } catch (const nlohmann::json::exception& e) {
        fuzz::finding(fmt::format("the metadata cannot be written as JSON: {}", e.what()), answer);
    }
    if (text.size() > 16 * fuzz::kMaxMessageBytes)
        fuzz::finding("metadata over 32,000 bytes", text.substr(0, 400));
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    interpreter();  // genre names in answers go through the interpreter, as in composeWithLlm
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string answer = fuzz::asText(data, size);
    std::vector<std::string> warnings;
    nlohmann::json metadata = nlohmann::json::object();
    const std::set<std::string> keep{"root"};  // a prompt that named its key
    music::MusicConfig config;
    if (const auto c = llm::applyDeconstruction(answer, music::MusicConfig{}, keep, &interpreter(), metadata,
                                                warnings)) {
        checkConfig(*c, answer);
        checkMetadata(metadata, answer);
        config = *c;
    }
    for (const double seconds : {0.0, 30.0}) {
        if (const auto s = llm::applyStructure(answer, config, seconds, warnings)) {
            try {
                compose::arrangeFromStructure(config, *s, seconds);
            } catch (const std::invalid_argument& e) {
                fuzz::finding(
                    fmt::format("an accepted LLM structure is refused by the arranger: {}", e.what()), *s);
            }
        }
    }
    for (const auto& w : warnings) fuzz::checkMessage(w);
    return 0;
}

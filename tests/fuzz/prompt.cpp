// Fuzz target: a prompt (any text, any bytes) through interpret::Interpreter::interpret.
// The interpreter promises a valid config for every input and never throws, so any exception is
// a finding. Properties: the config prints and parses back unchanged, the tempo is finite and
// within 40..220 bpm, valence and arousal stay in -1..1, neighbour weights are finite and sum to
// at most 1, and every note is bounded.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "FuzzCheck.h"
#include "interpret/Interpreter.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
const interpret::Interpreter& interpreter() {
    static const interpret::Interpreter it =
        interpret::Interpreter::load(std::filesystem::path(SOUNDSTAR_DATA) / "interpret");
    return it;
}

void checkInterpretation(const interpret::Interpretation& r, const std::string& prompt) {
    const auto fail = [&](const std::string& what) { fuzz::finding(what, "prompt: " + prompt); };
    const std::string once = music::toJson(r.config);
    try {
        if (music::toJson(music::parseMusicConfig(once, "interpreted config")) != once)
            fail("the config does not round-trip:\n" + once);
    } catch (const std::invalid_argument& e) {
        fail(fmt::format("the interpreter produced an invalid config: {}\n{}", e.what(), once));
    }
    const double bpm = r.config.resolvedBpm();
    if (!std::isfinite(bpm) || bpm < 40.0 || bpm > 220.0)
        fail(fmt::format("tempo {} bpm outside 40..220", bpm));
    if (!(std::abs(r.valence) <= 1.0) || !(std::abs(r.arousal) <= 1.0))
        fail(fmt::format("valence {} or arousal {} outside -1..1", r.valence, r.arousal));
    double total = 0.0;
    for (const auto& n : r.neighbours) {
        if (!std::isfinite(n.weight) || n.weight < 0.0f || !std::isfinite(n.similarity))
            fail("a neighbour with a non-finite weight");
        total += n.weight;
    }
    if (total > 1.0 + 1e-3) fail(fmt::format("neighbour weights sum to {}", total));
    for (const auto& note : r.notes) fuzz::checkMessage(note);
    for (const auto& [field, why] : r.decidedBy) fuzz::checkMessage(why);
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    interpreter();  // load the vectors and the library once, before the first input
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string prompt = fuzz::asText(data, size);
    checkInterpretation(interpreter().interpret(prompt), prompt);
    return 0;
}

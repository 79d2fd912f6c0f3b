// Fuzz target: conform options as JSON (models::conformOptionsFromJson, what a request's "conform"
// object would carry) and key names (models::parseKey).
// Properties: errors are std::invalid_argument with a bounded message; accepted options are within
// every limit Conform.h names; a key that parses prints a name that parses back to the same key.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "FuzzCheck.h"
#include "models/Conform.h"
#include "music/JsonText.h"

using namespace soundstar;

namespace {
void checkKey(const std::string& text) {
    const auto k = models::parseKey(text);
    if (!k) return;
    if (k->tonic < 0 || k->tonic > 11) fuzz::finding("a key's tonic out of 0..11", text);
    const auto back = models::parseKey(models::keyName(*k));
    if (!back || back->tonic != k->tonic || back->minor != k->minor) fuzz::finding("a key's name does not parse back to it", text);
}

void checkOptions(const models::ConformOptions& o, const std::string& text) {
    const bool ok = o.targetBpm >= models::kConformMinBpm && o.targetBpm <= models::kConformMaxBpm && o.bars >= 1 && o.bars <= models::kConformMaxBars &&
                    o.beatsPerBar >= 1 && o.beatsPerBar <= models::kConformMaxBeatsPerBar && o.crossfadeMs >= 0.0 &&
                    o.crossfadeMs <= models::kConformMaxCrossfadeMs && (!o.targetLufs || (*o.targetLufs >= -70.0 && *o.targetLufs <= 0.0)) &&
                    (!o.sourceBpm || (*o.sourceBpm >= models::kConformMinBpm && *o.sourceBpm <= models::kConformMaxBpm)) &&
                    o.ceilingDbfs >= -30.0 && o.ceilingDbfs <= 0.0;
    if (!ok) fuzz::finding("conform options out of their limits accepted", text);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    checkKey(text);
    nlohmann::json j;
    try {
        j = music::parseJsonBounded(text, "conform options");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    try {
        checkOptions(models::conformOptionsFromJson(j), text);
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    if (j.is_object())
        for (const auto& [name, v] : j.items())
            if (v.is_string()) checkKey(v.get<std::string>());
    return 0;
}

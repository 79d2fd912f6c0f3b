// Fuzz target: a kit sampler's "notes_used" option (what offline renders pass, and what a preset
// file may name) through Sampler::setOption, then prepare and a note on every key.
// Properties: errors are std::invalid_argument with a bounded message; an accepted list is empty
// or comma-separated runs of one to three digits, each 0-127; a prepared sampler without files
// plays silence and never crashes.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "FuzzCheck.h"
#include "engine/Instruments.h"

using namespace soundstar;

namespace {
bool wellFormed(const std::string& list) {
    if (list.empty()) return true;
    std::size_t at = 0;
    while (at <= list.size()) {
        const std::size_t end = std::min(list.find(',', at), list.size());
        const std::string item = list.substr(at, end - at);
        if (item.empty() || item.size() > 3) return false;
        for (char c : item)
            if (c < '0' || c > '9') return false;
        if (std::stoi(item) > 127) return false;
        at = end + 1;
    }
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    auto kit = engine::makeInstrument("sampler");
    try {
        kit->setOption("notes_used", text);
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        if (wellFormed(text) && text.size() <= 1024) fuzz::finding("a well-formed notes_used list refused", text);
        return 0;
    }
    if (!wellFormed(text)) fuzz::finding("a malformed notes_used list accepted", text);
    kit->prepare(48000.0, 64);
    std::vector<float> l(64), r(64);
    for (int note = 0; note < 128; note += 7) {
        kit->noteOn(static_cast<float>(note), 1.0f);
        kit->process({l.data(), r.data(), 64});
        for (float v : l)
            if (v != 0.0f) fuzz::finding("a sampler without files made sound");
    }
    return 0;
}

// Fuzz target: a live steering line (stdin, --script, the console and the server later) through
// live::parseSteering on two configs, and the same text as a --transition through
// live::parseTransition. Properties: errors are std::invalid_argument with a bounded message; a
// changed config is valid (prints and parses back unchanged); a transition is in its range.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "FuzzCheck.h"
#include "live/Steering.h"
#include "music/Arrangement.h"
#include "music/MusicConfig.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    static const music::MusicConfig bases[2] = {music::MusicConfig{},
                                                music::parseMusicConfig(R"({"tempo":"very_fast","brightness":"very_bright","bpm":220,"density":6})")};
    for (const auto& base : bases) {
        try {
            const auto c = live::parseSteering(text, base);
            if (c.config) {
                const std::string once = music::toJson(*c.config);
                if (music::toJson(music::parseMusicConfig(once)) != once) fuzz::finding("a steered config does not round-trip", once);
            }
            if (c.atBar && (*c.atBar < 0 || *c.atBar > 1000000)) fuzz::finding("a bar out of range");
            if (!c.blend.empty()) {
                double sum = 0.0;
                for (const auto& [text, w] : c.blend) sum += w;
                if (c.blend.size() > live::kMaxBlendParts || std::abs(sum - 1.0) > 1e-9) fuzz::finding("a blend out of bounds or not normalised");
            }
            if (c.layers && c.layers->size() > music::layerNames().size()) fuzz::finding("more layers than there are");
            if (c.transition && c.transition->bars == 0 && !(c.transition->seconds >= 0.05 && c.transition->seconds <= 600.0))
                fuzz::finding("a steering transition out of range");
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
        }
    }
    try {
        const auto t = live::parseTransition(text);
        if (t.bars == 0 && !(t.seconds >= 0.05 && t.seconds <= 600.0)) fuzz::finding("transition seconds out of range");
        if (t.bars != 0 && (t.bars < 1 || t.bars > 64)) fuzz::finding("transition bars out of range");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

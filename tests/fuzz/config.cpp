// Fuzz target: a config JSON (--config, the server's config bodies, presets) through
// music::parseMusicConfig. Properties: an error is std::invalid_argument with a bounded
// message; an accepted config prints (toJson) as JSON that parses back to the same config.
#include <cstdint>
#include <stdexcept>

#include "FuzzCheck.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
void checkRoundTrip(const music::MusicConfig& c) {
    const std::string once = music::toJson(c);
    std::string twice;
    try {
        twice = music::toJson(music::parseMusicConfig(once, "round trip"));
    } catch (const std::invalid_argument& e) {
        fuzz::finding("toJson of an accepted config is rejected by parseMusicConfig",
                      std::string(e.what()) + "\n" + once);
    }
    if (twice != once)
        fuzz::finding("a config does not round-trip through toJson", once + "\n--- became ---\n" + twice);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    music::MusicConfig c;
    try {
        c = music::parseMusicConfig(text, "config");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    checkRoundTrip(c);
    return 0;
}

// Fuzz target: an update JSON (--update, the live controller's changes) through
// music::applyUpdate on a few base configs. Properties: errors are std::invalid_argument with a
// bounded message; the updated config is still valid (it prints and parses back unchanged), so a
// step can never move a field out of its range or to NaN; a step string is accepted only when it
// is a plain signed number ("+2", "-0.25", "+1e1"), never "+nan", "+1abc", "+1 " or "+0x10".
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "FuzzCheck.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
// The defaults, and two configs at the ends of the ranges, so steps saturate both ways.
const std::array<music::MusicConfig, 3>& bases() {
    static const std::array<music::MusicConfig, 3> b{
        music::MusicConfig{},
        music::parseMusicConfig(
            R"({"tempo":"very_slow","brightness":"very_dark","density":2,"swing":0,"bpm":40,
                                     "register_min_oct":1,"register_max_oct":1,"phrase_len_bars":1})"),
        music::parseMusicConfig(
            R"({"tempo":"very_fast","brightness":"very_bright","density":6,"swing":1,"bpm":220,
                                     "register_min_oct":8,"register_max_oct":8,"phrase_len_bars":16,"seed":18446744073709551615})"),
    };
    return b;
}

// The first step string in an update that is not a plain signed number, or "" when none is.
// "genre" and "mood" are free text, so "-" there is a value, not a step.
std::string looseStep(const std::string& text) {
    static const std::regex kStep(R"([+-]([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)");
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return "";
    for (const auto& [k, v] : j.items()) {
        if (k == "genre" || k == "mood" || !v.is_string()) continue;
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && (s[0] == '+' || s[0] == '-') && !std::regex_match(s, kStep)) return k + ": " + s;
    }
    return "";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text = fuzz::asText(data, size);
    for (const auto& base : bases()) {
        music::MusicConfig c;
        try {
            c = music::applyUpdate(base, text, "update");
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
            continue;
        }
        if (const auto loose = looseStep(text); !loose.empty())
            fuzz::finding("applyUpdate accepted a step that is not a plain number", loose);
        const std::string once = music::toJson(c);
        try {
            if (music::toJson(music::parseMusicConfig(once, "updated config")) != once)
                fuzz::finding("an updated config does not round-trip through toJson", once);
        } catch (const std::invalid_argument& e) {
            fuzz::finding("applyUpdate produced an invalid config", std::string(e.what()) + "\n" + once);
        }
    }
    return 0;
}

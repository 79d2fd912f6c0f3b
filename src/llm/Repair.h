#pragma once
// Near-miss repair for what an LLM answers: JSON wrapped in prose or code fences, "120 BPM",
// "F sharp minor", "Very Dark", "50%", "0:15". Each returns nullopt when the value is beyond
// repair, so the caller can drop it with a warning.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "music/Theory.h"

namespace soundstar::llm {

/// The text with every invalid UTF-8 sequence replaced by U+FFFD (a JSON parser rejects them).
std::string sanitizeUtf8(const std::string& text);
/// At most `maxBytes` bytes, never cutting a UTF-8 character in two.
std::string clipUtf8(const std::string& text, std::size_t maxBytes);

/// The first JSON object (or array) in the text: code fences and prose around it are ignored,
/// trailing commas are forgiven.
std::optional<nlohmann::json> extractJson(const std::string& text);
/// 40..220 from 120, "120", "120 BPM", "~120bpm", "120-130" (the mean).
std::optional<double> repairBpm(const nlohmann::json& v);
/// A key: "F# minor", "F sharp minor", "f#m", "Gb major", "Bb", "A min", "C Dorian".
struct RepairedKey {
    int root = 0;
    bool hasMode = false;
    music::Mode mode = music::Mode::Minor;
};
std::optional<RepairedKey> repairKey(const std::string& text);
/// A label from `labels`: case, spaces and hyphens forgiven ("Very Dark" -> "very_dark").
std::optional<std::string> repairLabel(const nlohmann::json& v, const std::vector<std::string>& labels);
/// A number in [lo, hi]: numbers, numeric strings, percentages for 0..1 ("50%"); values a little
/// outside (up to the range's width) are clamped, further ones rejected.
std::optional<double> repairNumber(const nlohmann::json& v, double lo, double hi);
/// Seconds from 15, "15", "15s", "15 seconds", "0:15", "1 min", "1.5 minutes".
std::optional<double> repairSeconds(const nlohmann::json& v);
/// A section kind (music::sectionKinds) from "Verse 1", "CHORUS", "pre-chorus", "hook", "coda", ...
std::optional<std::string> repairSection(const std::string& text);
/// "#rrggbb" from "#RRGGBB", "rrggbb", "#rgb" or a common colour name.
std::optional<std::string> repairColour(const std::string& text);

}  // namespace soundstar::llm

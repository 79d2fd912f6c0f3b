#pragma once
// Which style field of the music each DJ layer plays, the styles in order of intensity, and the
// role words an LLM may use for a layer [control]. A replace_layer swaps one layer's style for
// another of the same field (LiveSession::replaceLayer crossfades the two parts).
//
// Limits enforced here: one kick role (the drums layer) and one bass role (the bass layer), at
// most kMaxLayers layers at once (the layer names are fewer, so it holds by construction).
#include <string>
#include <vector>

#include "live/Stream.h"
#include "music/MusicConfig.h"

namespace soundstar::dj {

inline constexpr std::size_t kMaxLayers = 8;

/// The MusicConfig field a layer's style is (drums: rhythm, bass: bass, pad: pad, arp: accent,
/// lead: melody, texture: texture); "" for a layer without styles (keys).
std::string styleFieldOf(const std::string& layer);
/// The field's styles from calm to busy, without "none".
const std::vector<std::string>& stylesByIntensity(const std::string& field);
/// The layer a role word names: a layer name itself, or kick/hats/beat/percussion (drums),
/// sub (bass), chords/strings (pad), piano (keys), pluck/stab/blips/accent (arp),
/// melody/hook (lead), fx/noise/ambience (texture); "" when none.
std::string layerForRole(const std::string& role);
/// "kick" for the drums, "bass" for the bass, "" for the others: each at most once in a set.
std::string lowRoleOf(const std::string& layer);
/// The style for `layer` that `description` names (the style whose words it holds most of),
/// else the one at `intensity` (0..1) on stylesByIntensity(); never `current` when another
/// exists. Throws std::invalid_argument when the layer has no styles.
std::string pickStyle(const std::string& layer, const std::string& description, double intensity, const std::string& current);
/// The layer's style in `config`.
std::string styleOf(const music::MusicConfig& config, const std::string& layer);
/// `config` with `layer`'s style set to `style` (validated as a MusicConfig field).
music::MusicConfig withStyle(const music::MusicConfig& config, const std::string& layer, const std::string& style);

/// `vibe` with `layer`'s style set to `style` in its config and in what the composer uses (the
/// drums drop a profile's groove for the style's own pattern).
live::StreamVibe withLayerStyle(const live::StreamVibe& vibe, const std::string& layer, const std::string& style);

}  // namespace soundstar::dj

#pragma once
// The built-in instruments. Each is a parameter table plus a voice; presets (data/presets/*.json)
// choose the values. Factory: makeInstrument("subtractive" | "fm" | "pluck" | "bell" | "pad" |
// "drums" | "noise") [control].
#include <memory>
#include <string>
#include <vector>

#include "engine/Instrument.h"

namespace soundstar::engine {

/// Creates an instrument by kind; throws std::invalid_argument listing the kinds otherwise.
std::unique_ptr<Instrument> makeInstrument(const std::string& kind);
/// The kinds makeInstrument knows.
std::vector<std::string> instrumentKinds();

}  // namespace soundstar::engine

#pragma once
// What an LLM DJ may answer [control]: a JSON object {"actions": [...]} of at most kMaxActions
// actions, each one of
//   {"type": "add_layer" | "remove_layer", "layer": L}   (L one of the profile's roles)
//   {"type": "replace_layer", "role": R, "description": D, "bars": 1|2|4|8,
//    "intensity": 0..1, "volume": -24..6 dB, "pan": -1..1}     (R a role with styles; D 1..300 bytes)
//   {"type": "set_phase", "phase": P}                   (P one of phaseNames())
//   {"type": "ramp", "parameter": "energy", "to": 0..1, "bars": 1|2|4|8}
//   {"type": "effect", "effect": E}                      (E one of effectNames())
//   {"type": "speak", "text": T}                         (at most 200 bytes; a voice drop)
//   {"type": "generate_loop", "description": D, "bars": 1|2|4|8}
//                                                        (D 1..300 bytes; a generated loop, `g`;
//                                                         at most one an answer)
// Read strictly: anything else is refused with a message saying what is allowed, and the rules
// play on.
#include <optional>
#include <string>
#include <vector>

#include "dj/DjBrain.h"

namespace soundstar::dj {

inline constexpr std::size_t kMaxActions = 8;

struct DjAnswer {
    DjMove move;                      // the actions as one move (why = "llm")
    std::vector<std::string> spoken;  // speak actions' texts
    struct Loop {
        std::string description;
        int bars = 4;
    };
    std::optional<Loop> loop;  // a generate_loop action
};

/// Reads an answer (at most 64 KiB; a JSON object, possibly in a ``` fence). Throws
/// std::invalid_argument naming the bad action and what is allowed.
DjAnswer parseDjAnswer(const std::string& answer, const DjProfile& profile);

/// The JSON Schema asked of the LLM (response_format json_schema).
std::string djAnswerSchema();
/// What the LLM is told: the profile, the phase, the energy, the layers, the bar.
std::string djPrompt(const DjBrain& brain, int bar);

}  // namespace soundstar::dj

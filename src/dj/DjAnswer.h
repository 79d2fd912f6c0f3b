#pragma once
// What an LLM DJ may answer [control]: a JSON object {"actions": [...]} of at most kMaxActions
// actions, each one of
//   {"type": "add_layer" | "remove_layer", "layer": L}   (L one of the profile's roles)
//   {"type": "replace_layer", "role": R, "description": D, "bars": 1|2|4|8,
//    "intensity": 0..1, "volume": -24..6 dB, "pan": -1..1}     (R a role with styles; D 1..300 bytes)
//   {"type": "set_phase", "phase": P}                   (P one of phaseNames())
//   {"type": "ramp", "parameter": P, "to": 0..1, "bars": 1|2|4|8}
//                                                        (P energy or one of rampParameters())
//   {"type": "set_key", "key": K}                        (K as `k` takes it, e.g. "F minor";
//                                                         on the next phrase line; one an answer)
//   {"type": "set_tempo", "bpm": 40..220}                (the internal clock only, within the
//                                                         profile's range; one an answer)
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
    std::optional<std::string> key;  // a set_key action's key
    std::optional<double> bpm;       // a set_tempo action's tempo
    struct Ramp {
        std::string parameter;  // one of rampParameters()
        double to = 0.5;        // 0..1 along its labels
        int bars = 1;
    };
    std::vector<Ramp> ramps;  // ramp actions of other parameters than energy (that one is in move)
};

/// The sound parameters a ramp may move besides energy: MusicConfig scale fields the live
/// session glides (space, echo, motion, stereo; grain left out: a glide of it was not heard in a test).
const std::vector<std::string>& rampParameters();

/// Reads an answer (at most 64 KiB; a JSON object, possibly in a ``` fence). Throws
/// std::invalid_argument naming the bad action and what is allowed.
DjAnswer parseDjAnswer(const std::string& answer, const DjProfile& profile);

/// The JSON Schema asked of the LLM (response_format json_schema).
std::string djAnswerSchema();
/// What the LLM is told: the profile, the phase, the energy, the layers, the bar.
/// `tempoFree`: the set's clock is its own (set_tempo is offered; a followed clock sets the tempo).
std::string djPrompt(const DjBrain& brain, int bar, bool tempoFree);

}  // namespace soundstar::dj

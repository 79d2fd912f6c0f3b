#pragma once
// Messages between the control side and the audio thread: small, trivially copyable, each
// stamped with the sample time it takes effect (STYLE.md rules 2 and 4).
#include <cstdint>

#include "core/Time.h"

namespace soundstar::engine {

class Graph;
class Track;

/// The curve of a timed fade (FadeGain). EqualPower: a fade up follows sin, a fade down cos, so
/// two layers crossfaded over the same span keep their summed power constant.
enum class FadeShape : std::uint8_t { Linear, EqualPower };

enum class CommandType : std::uint8_t {
    NoteOn,       // value = note, value2 = velocity
    NoteOff,      // value = note
    AllNotesOff,  //
    SetParam,     // slot -1 instrument, >= 0 effect; index = parameter; value
    SetGain,      // value = dB
    SetPan,       // value = -1..1
    SetMute,      // value != 0
    SetSolo,      // value != 0
    SetSend,      // index = bus; value = 0..1
    SwapGraph,    // graph = the new graph (the old one goes back on the retired queue)
    FadeGain,     // value = target dB, index = length in samples, value2 = FadeShape
    ReplaceTrack, // track = a prepared track for this address (the old one goes back on retiredTracks)
    SetBypass,    // slot = effect; value != 0: bypassed (crossfaded to the dry signal over 10 ms)
    SetOutput,    // index = return bus (0..), or -1 the master; crossfaded over 10 ms
    SetTrim,      // value = dB, value2 = balance -1..1: a user's trim after the fader and pan
    ReplaceChain, // track = a prepared holder of the new effect chain for a bus or the master (it goes back on retiredTracks with the old chain)
    SetLowCut,    // value = corner Hz (0: released): a track's low cut after its effects, crossfaded in or out over 40 ms
};

struct Command {
    SampleTime time = 0;
    CommandType type = CommandType::NoteOn;
    std::int16_t slot = -1;
    std::int32_t address = 0;  // track index, kReturnBase + bus, or kMasterAddress
    std::int32_t index = 0;
    float value = 0.0f, value2 = 0.0f;
    Graph* graph = nullptr;
    Track* track = nullptr;
};

/// What the audio thread tells the control side (never text).
struct Report {
    enum class Kind : std::uint8_t { Meter, LateCommands, BadAddress };
    Kind kind = Kind::Meter;
    SampleTime time = 0;
    float a = 0.0f, b = 0.0f;  // Meter: block peak left/right; others: a = count
};

}  // namespace soundstar::engine

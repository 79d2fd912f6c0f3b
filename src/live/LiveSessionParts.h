#pragma once
// LiveSession's internals shared by its source files (LiveSession.cpp: vibes, changes and the pump;
// LiveSessionLayers.cpp: layer mixes, replacements, speech, loops and low cuts). Not a public header.
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/SamplePlayer.h"
#include "live/LiveSession.h"
#include "live/Layers.h"
#include "live/TempoMap.h"
#include "music/Arrangement.h"

namespace soundstar::live {

inline constexpr SampleTime kNever = std::numeric_limits<SampleTime>::max() / 4;
inline constexpr double kBarBeats = 4.0;

inline music::ScoreTrack withoutNotes(const music::ScoreTrack& t) {
    music::ScoreTrack out = t;
    out.notes.clear();
    out.notes.shrink_to_fit();
    return out;
}

// Pseudo parameter names for a channel's pan and sends in ramps.
inline const std::string kPan = "@pan", kSend = "@send", kTrim = "@trim", kLowCut = "@lowcut";

struct LiveSession::Voice {
    Voice(const StreamVibe& v, int id_, SampleTime start_, double rate, std::size_t layers)
        : vibe(v), id(id_), start(start_), sampleRate(rate), tempo(static_cast<double>(start_), v.config.resolvedBpm(), rate), composedUntil(start_),
          slot(layers, 0), look(layers) {}
    StreamVibe vibe;
    int id = 0;
    SampleTime start = 0, end = kNever;  // end: its fade-out is over (kNever while it plays on)
    double sampleRate;
    SampleTime fadeOutStart = kNever;    // no layer enters from here on
    TempoMap tempo;                      // beats from its start <-> samples
    SampleTime fadeInStart = 0, fadeInEnd = 0;
    int fadeInBars = 0;  // the transition into it in whole bars of the outgoing vibe (for the stagger)
    double fadeInBeat = 0.0;  // its beat at fadeInStart
    int cycle = 0;             // the cycle being scheduled
    double cycleBeat = 0.0;    // where it starts
    double cycleBeats = 0.0;   // its length (0: none composed yet)
    std::shared_ptr<const music::Score> cycleScore;
    std::vector<music::Section> sections;  // the cycle's: start bar in it, kind, energy, layers
    double composedBeat = 0.0;  // scheduled up to here
    SampleTime composedUntil = 0;
    std::vector<int> slot;                              // per layer: the address it plays on
    std::vector<std::optional<music::ScoreTrack>> look;  // per layer: the placed track's settings (no notes)
    double barSamplesAt(SampleTime at) const { return barSamples(tempo.bpmAt(tempo.beatAt(static_cast<double>(at))), sampleRate); }
};

/// The bar (from the voice's start) playing at `at`; a bar line rounded to its sample counts as its bar.
inline int barOf(const LiveSession::Voice& v, SampleTime at) { return static_cast<int>(std::floor(v.tempo.beatAt(static_cast<double>(at) + 0.5) / kBarBeats)); }

struct LiveSession::Action {
    // At equal times: a slot is cleared before it is refilled, a track is in place before its
    // fade, note offs before note ons.
    enum class Kind { AllOff, Clear, Replace, Speech, Loop, Fade, Param, NoteOff, NoteOn } kind;
    SampleTime time;
    int address;
    float note = 0.0f, velocity = 0.0f;  // notes; Fade: note = seconds, velocity = target dB; Param: velocity = value
    int voice = 0;
    std::shared_ptr<const music::ScoreTrack> track = nullptr;  // Replace: what to build
    bool silentStart = false;                                  // Replace: starts silent (a Fade brings it in)
    double beat = -1.0;                                        // >= 0: the voice's beat it falls on (re-timed by tempo ramps)
    int slot = -1;                                             // Param: effect slot (-1: instrument); @send: the bus
    std::string param{};                                       // Param: the name, or @pan / @send
    engine::FadeShape shape = engine::FadeShape::EqualPower;
    std::shared_ptr<const engine::SampleBuffer> speech = nullptr;  // Speech: what the voice track plays; Loop: the loop
};

}  // namespace soundstar::live

#pragma once
// A stream: several vibes played by ONE engine, one after another, with musical transitions
// [control]. Each vibe is composed ahead as whole bars at its own tempo; a transition starts on
// a bar line of the outgoing vibe, where the incoming vibe's layers are put in place (on the
// other of two slots per layer) and the two are crossfaded with equal-power fades. The return
// buses (reverb, delay) and the master chain belong to the stream, so tails ring on through
// every change; nothing is rendered in pieces and joined.
#include <string>
#include <vector>

#include "compose/SketchConfig.h"
#include "core/AudioBuffer.h"
#include "core/Time.h"
#include "engine/Preset.h"
#include "music/MusicConfig.h"

namespace soundstar::live {

/// One vibe of a stream, already read (config and what the composer uses).
struct StreamVibe {
    std::string label;             // what the user asked for, for events and messages
    music::MusicConfig config;     // resolved: interpreter, mood, style profile
    compose::SketchConfig sketch;  // what the composer uses (presets, groove, effects)
    double seconds = 60.0;         // how long it holds, its share of the transitions included
};

struct StreamOptions {
    double sampleRate = 44100.0;
    int blockSize = 256;
    double transitionSeconds = 5.0;  // used when transitionBars is 0
    int transitionBars = 0;          // > 0: the transition in bars of the outgoing vibe
    bool masterChain = true;
};

/// Something that happened at a sample: a vibe starting, a transition, the end.
struct StreamEvent {
    SampleTime sample = 0;
    std::string kind;  // "vibe", "transition", "end"
    int vibe = 0;      // the vibe it concerns (the incoming one for a transition)
    int bar = 0;       // the bar of the outgoing (or current) vibe it falls on, from 0
    double bpm = 0.0;
    double seconds = 0.0;  // a transition's length
    std::string label;
};

struct StreamResult {
    StereoBuffer audio;  // exactly the sum of the vibes' seconds, unmastered
    std::vector<StreamEvent> events;
};

/// The timeline of a stream (no audio): where each vibe starts and each transition begins and
/// ends. Throws std::invalid_argument when a vibe is too short for its transitions (naming it
/// and the shortest allowed) or the stream is past music::kMaxSeconds.
struct StreamPlan {
    struct Segment {
        SampleTime start = 0, transitionStart = 0, transitionLength = 0, end = 0;  // end: its last sample + 1
        double bpm = 120.0;
    };
    std::vector<Segment> segments;
    SampleTime total = 0;
};
StreamPlan planStream(const std::vector<StreamVibe>& vibes, const StreamOptions& o);

/// Renders the whole stream offline through one engine, faster than real time.
StreamResult renderStream(const std::vector<StreamVibe>& vibes, const engine::PresetLibrary& presets, const StreamOptions& o);

/// Events as JSON lines: {"sample":..,"time":..,"event":..,"vibe":..,"bar":..,"bpm":..,"label":..}.
std::string eventsToJsonLines(const std::vector<StreamEvent>& events, double sampleRate);

}  // namespace soundstar::live

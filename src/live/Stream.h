#pragma once
// A stream: several vibes played one after another by a live session (live::LiveSession) on the
// virtual clock [control]: one engine, one composer and one scheduler with `soundstar live`.
// Each change starts on a bar line of the outgoing vibe, centred on the boundary the vibes'
// lengths ask for; a change of music is a transition (layer-by-layer equal-power crossfades,
// beat-matched when the tempo differs: both vibes follow one tempo ramp), a step from the vibe
// before ("+bright", "b 140") a glide. Returns, tails and the master (slow leveller, true-peak
// limiter) belong to the session, so nothing is rendered in pieces and joined.
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
    bool masterChain = true;         // the master chain with its leveller and true-peak limiter
    float targetLufs = -14.0f;       // where the leveller takes the loudness: -36 to -6
    std::vector<std::string> layers;  // the layers that play (music::layerNames()); empty: all
};

/// Something that happened at a sample: a vibe starting, a transition, a glide, a section, the end.
struct StreamEvent {
    SampleTime sample = 0;
    std::string kind;  // "vibe", "transition", "glide", "section", "fade_out", "end", ...
    int vibe = 0;      // the vibe it concerns (the incoming one for a transition)
    int bar = 0;       // the bar of the outgoing (or current) vibe it falls on, from 0
    double bpm = 0.0;
    double seconds = 0.0;  // a transition's length
    std::string label;
};

struct StreamResult {
    StereoBuffer audio;  // exactly the sum of the vibes' seconds
    std::vector<StreamEvent> events;  // in sample order
    long lateCommands = 0;            // commands the engine applied after their sample (0 expected)
};

/// The timeline a stream asks for (no audio), at each vibe's own tempo: where each vibe starts
/// and each transition begins (the last bar line that centres it on the boundary) and ends. The
/// rendered stream starts each change on the same kind of bar line of the tempo map the music
/// really follows (after a beat-matched ramp the bars are the ramp's). Throws
/// std::invalid_argument when a vibe is too short for its transitions (naming it and the
/// shortest allowed) or the stream is past music::kMaxSeconds.
struct StreamPlan {
    struct Segment {
        SampleTime start = 0, transitionStart = 0, transitionLength = 0, end = 0;  // end: its last sample + 1
        double bpm = 120.0;
    };
    std::vector<Segment> segments;
    SampleTime total = 0;
};
StreamPlan planStream(const std::vector<StreamVibe>& vibes, const StreamOptions& o);

/// Renders the whole stream offline through one live session, faster than real time; the last
/// vibe fades out over its last two bars (1 to 4 s), ending exactly at the total length.
StreamResult renderStream(const std::vector<StreamVibe>& vibes, const engine::PresetLibrary& presets, const StreamOptions& o);

/// Events as JSON lines: {"sample":..,"time":..,"event":..,"vibe":..,"bar":..,"bpm":..,"label":..}.
std::string eventsToJsonLines(const std::vector<StreamEvent>& events, double sampleRate);

}  // namespace soundstar::live

#pragma once
// What a sequencer holds, as plain data [control]: clips of notes or step patterns on the
// server's tracks, automation lanes, markers and a loop, all in beats. Every count has a limit,
// named in the errors of the parsers (SequenceJson.h). Playback is Sequencer's job.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/Time.h"

namespace soundstar::sequencer {

inline constexpr std::size_t kMaxClips = 256;
inline constexpr std::size_t kMaxNotesPerClip = 4096;
inline constexpr std::size_t kMaxSteps = 64;
inline constexpr std::size_t kMaxLanes = 32;
inline constexpr std::size_t kMaxPointsPerLane = 1024;
inline constexpr std::size_t kMaxMarkers = 128;
inline constexpr int kMaxScenes = 16;
inline constexpr int kMaxRepeats = 4096;
inline constexpr double kMaxBeat = 1e6;          // song and clip positions, in beats
inline constexpr double kMinClipBeats = 1.0 / 64;
inline constexpr double kMaxAudioOffsetSeconds = 3600.0;  // into a sample (the sampler's own limit)
inline constexpr double kMinFollowBars = 0.25, kMaxFollowBars = 1024.0;
inline constexpr std::size_t kMaxTempoPoints = 1024;
inline constexpr double kMinBpm = 20.0, kMaxBpm = 400.0;  // the transport's range
inline constexpr double kMaxTempoRampBeats = 4096.0;       // a linear tempo segment's length (the transport's limit)

/// One note of a MIDI clip: times in beats from the clip's start.
struct Note {
    float note = 60.0f;      // MIDI note number, 0..127 (fractions allowed)
    float velocity = 0.8f;   // 0..1
    BeatTime start = 0.0, duration = 0.25;
};

/// One step of a pattern: a rest when velocity is 0; plays with `probability` (0..1), drawn
/// from the pattern's seed, the repetition and the step, so a seed always gives the same hits.
struct Step {
    float velocity = 0.0f;
    float probability = 1.0f;
    std::optional<float> note;  // the pattern's note when absent
};

/// A step pattern: steps of `stepBeats`, every odd step late by swing * stepBeats (0..0.75),
/// each sounding for gate * stepBeats.
struct Pattern {
    std::vector<Step> steps;
    BeatTime stepBeats = 0.25;
    double swing = 0.0, gate = 0.5;
    float note = 60.0f;
    std::uint64_t seed = 1;
};

/// An audio clip's sample: from `offsetSeconds` into it, at `gainDb`, on a sample track that has
/// a zone for it; each repetition starts it again and fades it at the repetition's end.
struct AudioRef {
    std::string sample;
    double offsetSeconds = 0.0;  // 0..kMaxAudioOffsetSeconds
    double gainDb = 0.0;         // -60..12
};

/// What a session clip does after `afterBars` bars of play (a session view's follow action):
/// the track's slot in the next, previous or first scene that has one, a random one (drawn from
/// `seed` and how many times it has followed), the same clip again from its start, or stop.
enum class FollowAction : std::uint8_t { Next, Previous, First, Random, Again, Stop };
struct Follow {
    FollowAction action = FollowAction::Next;
    double afterBars = 1.0;  // kMinFollowBars..kMaxFollowBars
    std::uint64_t seed = 1;
};

/// A clip: notes, a pattern or a sample (audio), for one track (a server track's name). On the arrangement when
/// `start` is set (at that song beat, `repeats` times); a session slot can launch any clip.
struct Clip {
    std::string id, track;
    std::optional<BeatTime> start;
    BeatTime length = 4.0;  // one repetition; notes past it are cut off
    int repeats = 1;
    std::vector<Note> notes;
    std::optional<Pattern> pattern;
    std::optional<AudioRef> audio;
    std::optional<Follow> follow;  // when launched in the session
};

/// The segment from a point to the next: a straight line, or exponential (equal ratios in
/// equal times, for frequencies and gains; linear where the two values differ in sign or one is 0).
enum class Curve : std::uint8_t { Linear, Exponential };

struct Point {
    BeatTime beat = 0.0;  // song beat
    double value = 0.0;
    Curve curve = Curve::Linear;  // of the segment to the next point
};

/// What a lane moves: an instrument parameter (effect < 0), an effect parameter (slot `effect`),
/// or a mixer control of a track or bus (mixer = true; param gain_db, pan, send_reverb, send_delay).
struct Target {
    std::string channel;  // a track, or reverb / delay / master for mixer lanes and bus effects
    int effect = -1;
    std::string param;
    bool mixer = false;
    bool operator==(const Target&) const = default;
};

/// An automation lane: points in song beats; before the first and after the last, their values hold.
struct Lane {
    std::string id;
    Target target;
    std::vector<Point> points;  // sorted by beat
    /// The lane's value at song beat `b`.
    double valueAt(BeatTime b) const;
};

/// A point of the tempo lane: from song beat `beat` the tempo is `bpm`; with `ramp`, it then
/// moves linearly in beats to the next point's bpm (an accelerando), else it holds until the next
/// point (a step). Before the first point the first's tempo holds, after the last the last's.
struct TempoPoint {
    BeatTime beat = 0.0;
    double bpm = 120.0;
    bool ramp = false;
    bool operator==(const TempoPoint&) const = default;
};

/// The arrangement's tempo map in song beats (points sorted by beat, strictly rising).
struct TempoLane {
    std::vector<TempoPoint> points;
    /// The tempo at song beat `b`.
    double bpmAt(BeatTime b) const;
    /// The index of the point in force at `b` (the last at or before it; -1 before the first).
    long indexAt(BeatTime b) const;
    bool operator==(const TempoLane&) const = default;
};

struct Marker {
    std::string name;
    BeatTime beat = 0.0;
};

}  // namespace soundstar::sequencer

#pragma once
// Plays a Sequence on a transport's beats [control: one thread; never on the audio thread].
// The caller asks render() for everything due before a beat a bounded distance ahead of the
// playhead and hands the events to the engine as sample-stamped commands (the way
// live::LiveSession composes ahead); edits land at the next render. Two kinds of playback share
// the transport: the arrangement (clips at song beats, automation, a playhead that plays,
// pauses, seeks and loops) and the session (scenes of slots; a launched clip loops on its track
// from a quantised beat until stopped or replaced, and silences the arrangement on that track).
// Stops, seeks and launches may cut events already rendered: current() tells which still stand.
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sequencer/MeterMap.h"
#include "sequencer/Sequence.h"

namespace soundstar::sequencer {

/// Something for the engine at a transport beat.
struct Event {
    /// SampleOn: an audio clip's sample starts (its NoteOff carries `sample` too). Tempo: the
    /// transport's tempo becomes `value` bpm at `beat` (NaN: it holds the tempo it has there),
    /// then, when rampBeats > 0, moves linearly in beats to `rampToBpm` over rampBeats; it
    /// replaces whatever tempo change was planned after `beat`.
    enum class Kind : std::uint8_t { NoteOn, NoteOff, AllNotesOff, Param, SampleOn, Tempo };
    Kind kind = Kind::NoteOn;
    BeatTime beat = 0.0;
    std::string track;       // notes: the track; Param: unused (see target)
    float note = 0.0f, velocity = 0.0f;
    Target target;           // Param
    double value = 0.0;      // Param
    std::uint64_t run = 0;   // which playback produced it (for current())
    std::string sample;      // audio clips: the sample
    double offsetSeconds = 0.0, gainDb = 0.0;
    BeatTime intoBeats = 0.0;  // SampleOn: how far into the clip it starts (a play or loop from its middle)
    double rampToBpm = 0.0;    // Tempo
    BeatTime rampBeats = 0.0;  // Tempo
};

class Sequencer {
public:
    enum class State { Stopped, Playing, Paused };
    /// The time signatures of both beat axes (song positions and the transport's launches).
    const MeterMap& meters() const { return meters_; }
    void setMeters(std::vector<Meter> m) { meters_.set(std::move(m)); }

    // ---- editing (throw std::invalid_argument naming the limit or the missing thing) ----
    /// Adds a clip or replaces the one with its id.
    void setClip(Clip c);
    void removeClip(const std::string& id);
    void setLane(Lane l);
    void removeLane(const std::string& id);
    void setMarker(Marker m);
    void removeMarker(const std::string& name);
    BeatTime markerBeat(const std::string& name) const;
    /// Replaces the tempo lane (points checked by parseTempoLane; empty: none). While the
    /// arrangement plays, it sets the transport's tempo from the next render on (Tempo events).
    void setTempoLane(TempoLane lane);
    const TempoLane& tempoLane() const { return tempo_; }
    /// Loops the arrangement between two song beats (end > start); nullopt ends the loop. `now`:
    /// the transport beat rendering continues from.
    void setLoop(std::optional<std::pair<BeatTime, BeatTime>> loop);
    /// Puts clip `clipId` in scene `scene` (0..kMaxScenes-1) on its track, or empties that
    /// track's slot there when clipId is empty (then `track` names it).
    void setSlot(int scene, const std::string& track, const std::string& clipId);

    // ---- the arrangement's transport; `at` is a transport beat not yet rendered to ----
    void play(BeatTime at, BeatTime fromSongBeat, std::vector<Event>& out);
    void stop(BeatTime at, std::vector<Event>& out);
    void pause(BeatTime at, std::vector<Event>& out);
    void resume(BeatTime at, std::vector<Event>& out);
    void seek(BeatTime at, BeatTime songBeat, std::vector<Event>& out);

    // ---- the session ----
    /// The transport beat a launch at or after `earliest` lands on, quantised to `bars` bars.
    BeatTime quantise(BeatTime earliest, double bars) const;
    /// Starts clip `clipId` looping on its track at `at` (any clip a slot holds, or any clip);
    /// `scene`: the scene it was launched from (-1: the first scene holding it on its track).
    void launchClip(const std::string& clipId, BeatTime at, std::vector<Event>& out, int scene = -1);
    /// Launches every clip of scene `scene`; returns how many.
    int launchScene(int scene, BeatTime at, std::vector<Event>& out);
    /// Stops the session clip of `track` (every track's when empty) at `at`.
    void stopClips(const std::string& track, BeatTime at, std::vector<Event>& out);

    /// Appends, in no particular order, every event before transport beat `until`; automation is
    /// sampled every `automationStep` beats.
    void render(BeatTime until, BeatTime automationStep, std::vector<Event>& out);
    /// False when a stop, seek, pause or launch after it was rendered has cut it.
    bool current(const Event& e) const;

    State state() const { return state_; }
    /// The song beat playing at transport beat `t` (the paused or stopped position when not playing).
    BeatTime songBeatAt(BeatTime t) const;
    const std::map<std::string, Clip>& clips() const { return clips_; }
    const std::vector<Lane>& lanes() const { return lanes_; }
    /// Everything as JSON: clips, lanes, markers, loop, scenes, the arrangement's state and the
    /// session clips playing at transport beat `now`.
    nlohmann::json toJson(BeatTime now) const;
    /// What was edited (clips, lanes, markers, loop, scenes), without what plays or where: the
    /// part of the state an undo restores.
    nlohmann::json contentJson() const;
    /// Takes `other`'s clips, lanes, markers, loop and scenes; what plays goes on (undo, project load).
    void adoptContent(const Sequencer& other);

private:
    struct Piece {  // a stretch of transport beats over which the song beat runs straight on
        BeatTime t0, t1, s0;
    };
    struct Run {  // a launched session clip on its track
        std::string clipId, track;
        BeatTime start, end, cursor;
        std::uint64_t id;
        int scene = -1;                // the scene its follow action counts from
        BeatTime followAt = 0.0;       // when its follow action fires (infinity: never)
        std::uint64_t followed = 0;    // how many follows led to it (the random draw's counter)
    };
    void follow(std::size_t run, std::vector<Event>& out);
    std::string followTarget(const Run& r, const Follow& f, int& scene) const;
    void cut(std::uint64_t run, BeatTime at);
    void allNotesOff(const std::vector<std::string>& tracks, BeatTime at, std::vector<Event>& out) const;
    std::vector<std::string> arrangementTracks() const;
    bool sessionOwns(const std::string& track, BeatTime t) const;
    void renderArrangement(BeatTime until, BeatTime step, std::vector<Event>& out);
    void renderTempo(BeatTime songFrom, BeatTime songTo, bool fromScratch, std::vector<Event>& out) const;
    void holdTempo(BeatTime at, std::vector<Event>& out) const;
    void renderClip(const Clip& c, BeatTime songFrom, BeatTime songTo, BeatTime clipStart, BeatTime toTransport,
                    std::uint64_t run, bool session, std::vector<Event>& out) const;
    void renderAudio(const Clip& c, BeatTime songFrom, BeatTime songTo, BeatTime clipStart, BeatTime toTransport,
                     std::uint64_t run, bool session, std::vector<Event>& out) const;
    void renderRun(Run& r, BeatTime until, std::vector<Event>& out) const;
    MeterMap meters_;
    bool fresh_ = false;  // the arrangement's next window starts a play or a loop: audio clips join mid-way
    std::map<std::string, Clip> clips_;
    std::vector<Lane> lanes_;
    std::vector<double> lastValue_;  // per lane: last value sent (NaN: send the next)
    std::vector<Marker> markers_;
    TempoLane tempo_;
    bool tempoEdited_ = false;  // the lane changed since the last render: its next window sets the tempo afresh
    std::optional<std::pair<BeatTime, BeatTime>> loop_;
    std::map<int, std::map<std::string, std::string>> scenes_;  // scene -> track -> clip id
    State state_ = State::Stopped;
    BeatTime position_ = 0.0;             // song beat when stopped or paused
    BeatTime cursorT_ = 0.0, cursorS_ = 0.0, autoNext_ = 0.0, offset_ = 0.0;
    std::uint64_t arrangementRun_ = 0, nextRun_ = 1;
    std::deque<Piece> pieces_;
    std::vector<Run> runs_;
    std::map<std::uint64_t, BeatTime> cuts_;
};

}  // namespace soundstar::sequencer

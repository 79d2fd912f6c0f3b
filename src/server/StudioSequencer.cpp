// The sequencer's rows of the operation table and its place in Studio's heartbeat: clips,
// step patterns and automation on the server's tracks, the arrangement's transport (play, stop,
// pause, resume, seek, loop, markers) and the session's scenes and quantised launches. Each
// tick renders the sequencer's events a bounded distance ahead of the playhead and queues them
// on the Scheduler as sample-stamped commands, beat-timed so tempo changes move them.
#include <fmt/format.h>

#include <cmath>

#include "engine/Param.h"
#include "music/JsonText.h"
#include "sequencer/SequenceJson.h"
#include "sequencer/Sequencer.h"
#include "server/Studio.h"
#include "server/StudioSequencer.h"

namespace soundstar::server {

using nlohmann::json;

namespace {

constexpr double kAheadSeconds = 0.25;  // how far ahead of the playhead events are rendered (a stalled control thread has this long)
constexpr int kAutomationSamples = 64;  // automation is sent every this many samples
constexpr std::size_t kMaxWaitingActions = 1024;

json obj(json properties, std::vector<std::string> required = {}) {
    if (properties.is_null()) properties = json::object();  // obj({}): no args
    json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
    if (!required.empty()) s["required"] = required;
    return s;
}
json num(double lo, double hi, const char* what) { return {{"type", "number"}, {"minimum", lo}, {"maximum", hi}, {"description", what}}; }
json name(const char* what) { return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]{1,40}$"}, {"description", what}}; }
json at() {
    return {{"description", "when it applies, as for every operation: \"now\", {\"sample\"}, {\"beat\"}, {\"quantize\": \"beat\"|\"bar\"}"},
            {"oneOf", json::array({{{"type", "string"}, {"enum", {"now"}}},
                                   obj({{"sample", num(0, 1e15, "a sample")}}, {"sample"}),
                                   obj({{"beat", num(0, 1e7, "a transport beat")}}, {"beat"}),
                                   obj({{"quantize", {{"type", "string"}, {"enum", {"beat", "bar"}}}}}, {"quantize"})})}};
}
json position(const char* what) {
    return {{"description", what},
            {"oneOf", json::array({obj({{"beat", num(0, sequencer::kMaxBeat, "a song beat (0 = the start)")}}, {"beat"}),
                                   obj({{"bar", num(0, sequencer::kMaxMeterBar * 16, "a song bar (0 = the first; fractions go into it), in the time signatures")}}, {"bar"}),
                                   obj({{"marker", name("a marker's name")}}, {"marker"})})}};
}
json quantize() {
    return {{"type", "string"}, {"enum", {"none", "1/4", "1/2", "1", "2", "4"}}, {"description", "launch on the next multiple of this many bars (default 1)"}};
}
json clipSchema() {
    const json note = obj({{"note", num(0, 127, "MIDI note")}, {"velocity", num(0, 1, "0..1, default 0.8")},
                           {"start", num(0, 65536, "beats from the clip's start")}, {"duration", num(1.0 / 256, 1024, "beats, default 0.25")}},
                          {"note"});
    const json step = obj({{"velocity", num(0, 1, "0 = a rest, default 0.8")}, {"probability", num(0, 1, "chance it plays, default 1 (seeded)")},
                           {"note", num(0, 127, "this step's note (the pattern's by default)")}});
    const json pattern = obj({{"steps", {{"type", "array"}, {"minItems", 1}, {"maxItems", sequencer::kMaxSteps}, {"items", step}}},
                              {"step_beats", num(sequencer::kMinClipBeats, 16, "a step's length in beats, default 0.25")},
                              {"swing", num(0, 0.75, "odd steps late by this fraction of a step, default 0")},
                              {"gate", num(0.01, 1, "note length as a fraction of a step, default 0.5")},
                              {"note", num(0, 127, "the note steps play, default 60")},
                              {"seed", num(0, 9007199254740991.0, "seed of the probabilities, default 1")}},
                             {"steps"});
    return obj({{"id", name("the clip's id")},
                {"track", name("the server track it plays on")},
                {"start", num(0, sequencer::kMaxBeat, "song beat on the arrangement; absent: only for session slots")},
                {"length", num(sequencer::kMinClipBeats, 65536, "beats per repetition (default: to the last note's end)")},
                {"repeats", num(1, sequencer::kMaxRepeats, "times it plays on the arrangement, default 1")},
                {"notes", {{"type", "array"}, {"maxItems", sequencer::kMaxNotesPerClip}, {"items", note}}},
                {"pattern", pattern},
                {"audio", obj({{"sample", name("a loaded sample; the track (a sample_track) needs a zone for it")},
                               {"offset", num(0, sequencer::kMaxAudioOffsetSeconds, "seconds into the sample it starts from, default 0")},
                               {"gain_db", num(-60, 12, "default 0")}},
                              {"sample"})},
                {"follow", obj({{"action", {{"type", "string"}, {"enum", {"next", "previous", "first", "random", "again", "stop"}},
                                            {"description", "in the session: the track's slot in the next / previous / first scene that has one, a random one (seeded), this clip again, or stop"}}},
                                {"after_bars", num(sequencer::kMinFollowBars, sequencer::kMaxFollowBars, "bars of play before it, default 1")},
                                {"seed", num(0, 9007199254740991.0, "seed of random, default 1")}},
                               {"action"})}},
               {"id", "track"});
}
json meterSchema() {
    const json change = obj({{"bar", {{"type", "integer"}, {"minimum", 0}, {"maximum", sequencer::kMaxMeterBar}, {"description", "the bar it starts on (the first: 0)"}}},
                             {"numerator", {{"type", "integer"}, {"minimum", 1}, {"maximum", sequencer::kMaxNumerator}}},
                             {"denominator", {{"type", "integer"}, {"enum", {1, 2, 4, 8, 16}}}}},
                            {"bar", "numerator", "denominator"});
    return {{"type", "array"}, {"minItems", 1}, {"maxItems", sequencer::kMaxMeterChanges}, {"items", change},
            {"description", "the signature at bar 0, then changes at later bars (beats are quarter notes: 7/8 is 3.5 beats a bar)"}};
}
json tempoSchema() {
    const json point = obj({{"beat", num(0, sequencer::kMaxBeat, "song beat")}, {"bpm", num(sequencer::kMinBpm, sequencer::kMaxBpm, "the tempo from this beat")},
                            {"curve", {{"type", "string"}, {"enum", {"step", "linear"}}, {"description", "to the next point: hold (step, default) or ramp linearly in beats to its bpm"}}}},
                           {"beat", "bpm"});
    return {{"type", "array"}, {"maxItems", sequencer::kMaxTempoPoints}, {"items", point},
            {"description", "beats strictly rising; before the first point its tempo holds, after the last the last's"}};
}
json laneSchema() {
    const json point = obj({{"beat", num(0, sequencer::kMaxBeat, "song beat")}, {"value", num(-1e6, 1e6, "the parameter's value")},
                            {"curve", {{"type", "string"}, {"enum", {"linear", "exp"}}, {"description", "segment to the next point, default linear"}}}},
                           {"beat", "value"});
    return obj({{"id", name("the lane's id")},
                {"target", obj({{"track", name("a track, or reverb / delay: an instrument or effect parameter")},
                                {"effect", {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "effect slot; the instrument when absent"}}},
                                {"mixer", name("a track, reverb, delay or master: a mixer control")},
                                {"param", {{"type", "string"}, {"minLength", 1}, {"maxLength", 32}, {"description", "parameter, or gain_db / pan / send_reverb / send_delay for mixer"}}}},
                               {"param"})},
                {"points", {{"type", "array"}, {"minItems", 1}, {"maxItems", sequencer::kMaxPointsPerLane}, {"items", point}}}},
               {"id", "target", "points"});
}

}  // namespace

void Studio::registerSequencerOperations(OperationTable& t) {
    seq_ = std::make_shared<SequencerState>();
    seq_->seq = sequencer::Sequencer();
    struct Row {
        const char* name;
        const char* summary;
        json input;
        std::vector<std::string> osc;
        bool changes;
    };
    const std::vector<Row> rows = {
        {"seq_set_clip", "Adds or replaces a clip: MIDI notes (beats) or a step pattern (steps, swing, per-step velocity and probability, seed), on a track; on the arrangement when it has a start",
         obj({{"clip", clipSchema()}}, {"clip"}), {}, true},
        {"seq_remove_clip", "Removes a clip (from the arrangement, the scenes and the session)", obj({{"id", name("the clip")}}, {"id"}), {"id"}, true},
        {"seq_set_automation", "Adds or replaces an automation lane: points in song beats, linear or exponential segments, on an instrument, effect or mixer parameter; sent every 64 samples while the arrangement plays",
         obj({{"lane", laneSchema()}}, {"lane"}), {}, true},
        {"seq_remove_automation", "Removes an automation lane", obj({{"id", name("the lane")}}, {"id"}), {"id"}, true},
        {"seq_play", "Plays the arrangement from `from` (default: the start) at `at`", obj({{"from", position("where in the song")}, {"at", at()}}), {}, true},
        {"seq_stop", "Stops the arrangement and every session clip (their notes released); the position goes back to the start", obj({{"at", at()}}), {}, true},
        {"seq_pause", "Pauses the arrangement, keeping its position", obj({{"at", at()}}), {}, true},
        {"seq_resume", "Plays the arrangement on from where it paused", obj({{"at", at()}}), {}, true},
        {"seq_seek", "Moves the arrangement's position (playing on from there when it plays)", obj({{"to", position("where in the song")}, {"at", at()}}, {"to"}), {}, true},
        {"seq_loop", "Loops the arrangement between two positions, or ends the loop (off: true)",
         obj({{"start", position("loop start")}, {"end", position("loop end (after start)")}, {"off", {{"type", "boolean"}}}}), {}, true},
        {"seq_set_marker", "Names a song position (seek and loop accept {\"marker\": name})", obj({{"name", name("the marker")}, {"position", position("where")}}, {"name", "position"}), {}, true},
        {"seq_remove_marker", "Removes a marker", obj({{"name", name("the marker")}}, {"name"}), {"name"}, true},
        {"seq_set_slot", "Puts a clip in a scene's slot on its track, or empties a track's slot (give track, no clip)",
         obj({{"scene", {{"type", "integer"}, {"minimum", 0}, {"maximum", sequencer::kMaxScenes - 1}}}, {"clip", name("the clip")}, {"track", name("the track whose slot empties")}}, {"scene"}),
         {"scene", "clip"}, true},
        {"seq_launch", "Launches a clip, or every clip of a scene, looping on its track from the next quantize boundary (bars of the transport); it replaces the track's session clip and silences the arrangement there",
         obj({{"clip", name("a clip")}, {"scene", {{"type", "integer"}, {"minimum", 0}, {"maximum", sequencer::kMaxScenes - 1}}}, {"quantize", quantize()}, {"at", at()}}),
         {"clip", "quantize"}, true},
        {"seq_stop_clips", "Stops the session clip of a track (every track's when absent) at the next quantize boundary",
         obj({{"track", name("a track")}, {"quantize", quantize()}, {"at", at()}}), {"track", "quantize"}, true},
        {"seq_set_time_signatures", "Sets the time signatures: one from bar 0 and changes at later bars; bars in positions, launch quantisation, {\"quantize\": \"bar\"} and the transport's bar and beat follow them",
         obj({{"time_signatures", meterSchema()}}, {"time_signatures"}), {}, true},
        {"seq_set_tempo", "Sets the arrangement's tempo lane: points at song beats, each a step to its bpm or a linear ramp (in beats) to the next point's; while the arrangement plays it sets the transport's tempo sample-accurately, notes staying on their beats (empty points: no lane, the tempo holds)",
         obj({{"points", tempoSchema()}}, {"points"}), {}, true},
        {"seq_state", "The sequencer: clips, automation, markers, loop, scenes, the arrangement's state and position, session clips playing", obj({}), {}, false},
    };
    for (const auto& r : rows) {
        const std::string op = r.name;
        t.add({op, "sequencer", r.summary, r.input, r.osc, r.changes,
               [this, op](const json& args, const CallContext& ctx, Done done) { done(Outcome{200, sequencerCall(op, args, ctx), {}}); }});
    }
}

void Studio::checkLaneTarget(const json& lane) const {
    const json& t = lane["target"];
    const std::string param = t["param"];
    double lo = 0, hi = 0;
    if (t.contains("mixer")) {
        const std::string ch = t["mixer"];
        const int address = mixAddress(ch);
        if (param == "gain_db") lo = -120, hi = 12;
        else if (param == "pan") lo = -1, hi = 1;
        else if (param == "send_reverb" || param == "send_delay") {
            if (address < 0 || address >= engine::kReturnBase) throw std::invalid_argument("sends belong to tracks, not to buses or the master");
            lo = 0, hi = 1;
        } else {
            throw std::invalid_argument(fmt::format("mixer lanes move gain_db, pan, send_reverb or send_delay, not '{}'", music::clipText(param, 40)));
        }
        for (const auto& p : lane["points"])
            if (p["value"].get<double>() < lo || p["value"].get<double>() > hi)
                throw std::invalid_argument(fmt::format("{} of '{}' goes from {:g} to {:g}; a point has {:g}", param, ch, lo, hi, p["value"].get<double>()));
        return;
    }
    const std::string ch = t["track"];
    const int address = mixAddress(ch);
    const int slot = t.value("effect", -1);
    std::vector<engine::ParamSpec> specs;
    if (address >= engine::kReturnBase) {
        const auto p = busParams(address, slot, ch);
        specs.assign(p.begin(), p.end());
    } else if (address < 0) {
        throw std::invalid_argument("the master has no parameters; automate {\"mixer\": \"master\", \"param\": \"gain_db\"}");
    } else {
        const auto& s = slots_[static_cast<std::size_t>(address)];
        if (slot < 0) specs = s.instrumentParams;
        else if (static_cast<std::size_t>(slot) < s.effectParams.size()) specs = s.effectParams[static_cast<std::size_t>(slot)];
        else throw std::invalid_argument(fmt::format("track '{}' has {} effect(s); effect {} does not exist", ch, s.effectParams.size(), slot));
    }
    for (const auto& p : lane["points"]) engine::checkParam(specs, ch, param, static_cast<float>(p["value"].get<double>()));
}

json Studio::sequencerCall(const std::string& op, const json& args, const CallContext& ctx) {
    auto& st = *seq_;
    auto& seq = st.seq;
    std::vector<sequencer::Event> events;
    const auto songBeat = [&](const json& p) -> BeatTime {
        if (p.contains("beat")) return p["beat"].get<double>();
        if (p.contains("bar")) {
            const BeatTime b = seq.meters().beatOfBar(p["bar"].get<double>());
            if (b > sequencer::kMaxBeat) throw std::invalid_argument(fmt::format("bar {:g} is at beat {:g}, past the song's end at beat {:g}", p["bar"].get<double>(), b, sequencer::kMaxBeat));
            return b;
        }
        return seq.markerBeat(p["marker"]);
    };
    using Action = std::function<void(BeatTime, std::vector<sequencer::Event>&)>;
    // A transport action at `at`: now when that beat is rendered to already, else when it is, so
    // what comes before it still plays.
    const auto transportAction = [&](Action action) {
        const When w = resolveAt(args, ctx);
        const BeatTime beat = w.beat ? *w.beat : transport_.beatAt(w.applied);
        if (beat <= st.renderedTo) action(beat, events);
        else if (st.actions.size() >= kMaxWaitingActions)
            throw ApiError(429, fmt::format("at most {} transport actions may wait for their beat", kMaxWaitingActions));
        else st.actions.emplace(beat, [action, beat](std::vector<sequencer::Event>& ev) { action(beat, ev); });
        json out = stamp(w);
        out["at_beat"] = beat;
        return out;
    };
    // A launch lands on the next quantize boundary at or after `at`.
    const auto launch = [&](const std::function<json(BeatTime)>& f) {
        static const std::map<std::string, double> kBars = {{"none", 0.0}, {"1/4", 0.25}, {"1/2", 0.5}, {"1", 1.0}, {"2", 2.0}, {"4", 4.0}};
        const When w = resolveAt(args, ctx);
        const BeatTime earliest = w.beat ? *w.beat : transport_.beatAt(w.applied);
        const BeatTime beat = seq.quantise(std::max(earliest, transport_.beatAt(w.applied)), kBars.at(args.value("quantize", std::string("1"))));
        json out = f(beat);
        out["launch_beat"] = beat;
        out["launch_sample"] = transport_.sampleAtBeat(beat);
        return out;
    };
    json out = json::object();
    if (op == "seq_set_clip") {
        auto clip = sequencer::parseClip(args["clip"]);
        const int address = trackAddress(clip.track);  // 404 naming the tracks there are
        if (clip.audio) audioZone(address, clip.audio->sample);  // 409 / 404 unless the track can play it
        out = {{"clip", clip.id}, {"length", clip.length}};
        seq.setClip(std::move(clip));
    } else if (op == "seq_remove_clip") {
        seq.removeClip(args["id"]);
        out["removed"] = args["id"];
    } else if (op == "seq_set_automation") {
        auto lane = sequencer::parseLane(args["lane"]);
        checkLaneTarget(args["lane"]);
        out = {{"lane", lane.id}, {"points", lane.points.size()}};
        seq.setLane(std::move(lane));
    } else if (op == "seq_remove_automation") {
        seq.removeLane(args["id"]);
        out["removed"] = args["id"];
    } else if (op == "seq_play") {
        const BeatTime from = args.contains("from") ? songBeat(args["from"]) : 0.0;
        out = transportAction([&seq, from](BeatTime b, auto& ev) { seq.play(b, from, ev); });
        out["from_beat"] = from;
    } else if (op == "seq_stop") {
        out = transportAction([&seq](BeatTime b, auto& ev) { seq.stop(b, ev); });
    } else if (op == "seq_pause") {
        out = transportAction([&seq](BeatTime b, auto& ev) { seq.pause(b, ev); });
    } else if (op == "seq_resume") {
        out = transportAction([&seq](BeatTime b, auto& ev) { seq.resume(b, ev); });
    } else if (op == "seq_seek") {
        const BeatTime to = songBeat(args["to"]);
        out = transportAction([&seq, to](BeatTime b, auto& ev) { seq.seek(b, to, ev); });
        out["to_beat"] = to;
    } else if (op == "seq_loop") {
        if (args.value("off", false)) {
            if (args.contains("start") || args.contains("end")) throw std::invalid_argument("give either off: true or start and end");
            seq.setLoop(std::nullopt);
            out["loop"] = nullptr;
        } else {
            if (!args.contains("start") || !args.contains("end")) throw std::invalid_argument("a loop needs start and end (or off: true)");
            const BeatTime a = songBeat(args["start"]), b = songBeat(args["end"]);
            seq.setLoop(std::make_pair(a, b));
            out["loop"] = {{"start", a}, {"end", b}};
        }
    } else if (op == "seq_set_marker") {
        const json& p = args["position"];
        if (p.contains("marker")) throw std::invalid_argument("a marker's position is a beat or a bar");
        seq.setMarker({args["name"], songBeat(p)});
        out = {{"marker", args["name"]}, {"beat", songBeat(p)}};
    } else if (op == "seq_remove_marker") {
        seq.removeMarker(args["name"]);
        out["removed"] = args["name"];
    } else if (op == "seq_set_slot") {
        if (args.contains("clip") == args.contains("track")) throw std::invalid_argument("give a clip (to fill its track's slot) or a track (to empty its slot)");
        seq.setSlot(args["scene"], args.value("track", std::string()), args.value("clip", std::string()));
        out = {{"scene", args["scene"]}};
    } else if (op == "seq_launch") {
        if (args.contains("clip") == args.contains("scene")) throw std::invalid_argument("launch either a clip or a scene");
        out = launch([&](BeatTime b) {
            if (args.contains("clip")) {
                seq.launchClip(args["clip"], b, events);
                return json{{"launched", json::array({args["clip"]})}};
            }
            return json{{"launched", seq.launchScene(args["scene"], b, events)}};
        });
    } else if (op == "seq_stop_clips") {
        const std::string track = args.value("track", std::string());
        if (!track.empty()) trackAddress(track);
        out = launch([&](BeatTime b) {
            seq.stopClips(track, b, events);
            return json{{"stopped", track.empty() ? json("all") : json(track)}};
        });
    } else if (op == "seq_set_time_signatures") {
        seq.setMeters(sequencer::parseMeters(args["time_signatures"]));
        out["time_signatures"] = sequencer::toJson(seq.meters().changes());
    } else if (op == "seq_set_tempo") {
        seq.setTempoLane(sequencer::parseTempoLane(args["points"]));
        out["tempo"] = sequencer::toJson(seq.tempoLane());
    } else if (op == "seq_state") {
        out = seq.toJson(transport_.beatAt(engine_.now()));
        out["dropped_events"] = st.droppedEvents;
    }
    postSequencerEvents(events);
    pumpSequencer();
    return out;
}

const sequencer::MeterMap& Studio::meters() const {
    static const sequencer::MeterMap kFourFour;
    return seq_ ? seq_->seq.meters() : kFourFour;
}

json Studio::barBeat(double beat) const {
    const auto& meters = this->meters();
    const double bar = std::floor(meters.barAt(beat) + 1e-9);
    const double inBar = std::max(0.0, beat - meters.beatOfBar(bar));
    const auto& m = meters.meterAt(beat);
    // beat_of_bar counts the signature's own note values from 1, as a DAW's bar:beat display does.
    return {{"bar", static_cast<long long>(bar)},
            {"beat_in_bar", inBar},
            {"beat_of_bar", static_cast<long long>(std::floor(inBar * m.denominator / 4.0 + 1e-9)) + 1},
            {"time_signature", fmt::format("{}/{}", m.numerator, m.denominator)}};
}

void Studio::pumpSequencer() {
    if (!seq_) return;
    auto& st = *seq_;
    const SampleTime earliest = scheduler_.earliest(engine_.now(), options_.blockSize);
    const BeatTime horizon = transport_.beatAt(earliest + static_cast<SampleTime>(kAheadSeconds * options_.sampleRate));
    const BeatTime step = kAutomationSamples * transport_.bpmAt(earliest) / (60.0 * options_.sampleRate);
    std::vector<sequencer::Event> events;
    // Up to each waiting transport action, the action, then on to the horizon.
    while (!st.actions.empty() && st.actions.begin()->first <= horizon) {
        auto node = st.actions.extract(st.actions.begin());
        st.seq.render(node.key(), step, events);
        node.mapped()(events);
    }
    if (horizon > st.renderedTo) {
        st.seq.render(horizon, step, events);
        st.renderedTo = horizon;
    }
    postSequencerEvents(events);
}

void Studio::postSequencerEvents(std::vector<sequencer::Event>& events) {
    using Kind = sequencer::Event::Kind;
    // In time order, and at one beat note-offs and all-notes-off before note-ons (a retrigger).
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
        if (a.beat != b.beat) return a.beat < b.beat;
        const auto starts = [](const auto& e) { return e.kind == Kind::NoteOn || e.kind == Kind::SampleOn ? 1 : 0; };
        return starts(a) < starts(b);
    });
    const SampleTime earliest = scheduler_.earliest(engine_.now(), options_.blockSize);
    // The tempo lane's changes first, in beat order, so every event below lands on its beat's
    // sample in the new map; what was queued before moves with them.
    bool retempo = false;
    for (const auto& e : events) {
        if (e.kind != Kind::Tempo || !seq_->seq.current(e)) continue;
        const double beat = std::max(e.beat, transport_.beatAt(earliest));  // a late render: from what is still to come
        try {
            transport_.planTempo(e.value, beat);
            if (e.beat + e.rampBeats > beat) transport_.planTempo(e.rampToBpm, beat, e.beat + e.rampBeats - beat);
        } catch (const std::invalid_argument&) {
            ++seq_->droppedEvents;  // out of the transport's range (the lane's parser keeps it in)
        }
        retempo = true;
    }
    if (retempo) {
        scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); }, earliest);
        std::erase_if(events, [](const sequencer::Event& e) { return e.kind == Kind::Tempo; });
    }
    for (auto& e : events) {
        if (e.kind == Kind::Tempo) continue;
        int address = -1;
        try {
            address = e.kind == Kind::Param ? mixAddress(e.target.channel) : trackAddress(e.track);
        } catch (const ApiError&) {
            ++seq_->droppedEvents;  // its track was freed
            continue;
        }
        SampleTime t = std::max(transport_.sampleAtBeat(e.beat), earliest);
        if (address >= 0 && address < static_cast<int>(readyAt_.size())) t = std::max(t, readyAt_[static_cast<std::size_t>(address)]);
        auto ev = std::make_shared<sequencer::Event>(std::move(e));
        try {
            if (!ev->sample.empty()) {
                scheduleAudioClipEvent(t, ev, address);
                continue;
            }
            scheduleSequencerEvent(t, ev, address);
        } catch (const ApiError&) {
            ++seq_->droppedEvents;  // the scheduler is full (kMaxPending): the rest of this render is lost
        }
    }
}

std::pair<int, float> Studio::audioZone(int address, const std::string& sample) const {
    const auto it = sampleTracks_.find(address);
    const std::string& track = slots_[static_cast<std::size_t>(address)].name;
    if (it == sampleTracks_.end() || it->second.first != track || slots_[static_cast<std::size_t>(address)].instrument != "sample_player")
        throw ApiError(409, fmt::format("'{}' is not a sample track: audio clips play on tracks made by sample_track", music::clipText(track, 40)));
    const auto& zones = it->second.second;
    const auto z = std::find(zones.begin(), zones.end(), sample);
    if (z == zones.end()) {
        std::string names;
        for (const auto& n : zones) names += (names.empty() ? "" : ", ") + n;
        throw ApiError(404, fmt::format("track '{}' has no zone for sample '{}'; its zones: {}", track, music::clipText(sample, 40), music::clipText(names, 1200)));
    }
    const auto index = static_cast<std::size_t>(z - zones.begin());
    return {static_cast<int>(index), static_cast<float>(slots_[static_cast<std::size_t>(address)].args["zones"][index].value("root", 60.0))};
}

void Studio::scheduleAudioClipEvent(SampleTime t, std::shared_ptr<sequencer::Event> ev, int address) {
    // The track may have been rebuilt since the clip was set: a sample it no longer has is dropped.
    std::pair<int, float> zone;
    try {
        zone = audioZone(address, ev->sample);
    } catch (const ApiError&) {
        ++seq_->droppedEvents;
        return;
    }
    auto seq = seq_;
    const float root = zone.second;
    if (ev->kind == sequencer::Event::Kind::NoteOff) {
        schedule(t, [this, seq, ev, address, root](SampleTime at) { return !seq->seq.current(*ev) || controller_->noteOff(address, root, at); }, ev->beat);
        return;
    }
    // As sample_play: the voice's settings, the note, then the defaults again, all on one sample.
    // Starting into the clip (a play from its middle) skips the seconds those beats took.
    const double into = ev->intoBeats > 0.0
                            ? static_cast<double>(transport_.sampleAtBeat(ev->beat) - transport_.sampleAtBeat(ev->beat - ev->intoBeats)) / options_.sampleRate
                            : 0.0;
    const std::vector<std::pair<const char*, float>> settings = {
        {"start", static_cast<float>(std::min(3600.0, ev->offsetSeconds + into))}, {"end", 0.0f}, {"rate", 1.0f}, {"gain", static_cast<float>(ev->gainDb)},
        {"pan", 0.0f}, {"zone", static_cast<float>(zone.first)}, {"gate", 1.0f}};
    for (const auto& setting : settings)
        schedule(t, [this, seq, ev, address, setting](SampleTime at) { return !seq->seq.current(*ev) || controller_->setParam(address, -1, setting.first, setting.second, at); }, ev->beat);
    schedule(t, [this, seq, ev, address, root](SampleTime at) { return !seq->seq.current(*ev) || controller_->noteOn(address, root, ev->velocity, at); }, ev->beat);
    for (const auto& setting : settings) {
        const char* param = setting.first;
        const float def = std::string_view(param) == "rate" ? 1.0f : std::string_view(param) == "zone" ? -1.0f : 0.0f;
        schedule(t, [this, address, param, def](SampleTime at) { return controller_->setParam(address, -1, param, def, at); }, ev->beat);
    }
}

void Studio::scheduleSequencerEvent(SampleTime t, std::shared_ptr<sequencer::Event> ev, int address) {
    using Kind = sequencer::Event::Kind;
    auto seq = seq_;
    {
        schedule(t, [this, seq, ev, address](SampleTime at) {
            if (!seq->seq.current(*ev)) return true;  // cut by a later stop, seek or launch
            switch (ev->kind) {
                case Kind::NoteOn: return controller_->noteOn(address, ev->note, ev->velocity, at);
                case Kind::NoteOff: return controller_->noteOff(address, ev->note, at);
                case Kind::AllNotesOff: return controller_->allNotesOff(address, at);
                case Kind::Param: break;
                case Kind::SampleOn: return true;  // scheduleAudioClipEvent's
                case Kind::Tempo: return true;     // applied to the transport when rendered
            }
            const float v = static_cast<float>(ev->value);
            const auto& p = ev->target.param;
            if (!ev->target.mixer) return controller_->setParam(address, ev->target.effect, p, v, at);
            if (p == "gain_db") return controller_->setGain(address, v, at);
            if (p == "pan") return controller_->setPan(address, v, at);
            return controller_->setSend(address, p == "send_reverb" ? engine::kReturnBase : engine::kReturnBase + 1, v, at);
        }, ev->beat);
    }
}

}  // namespace soundstar::server

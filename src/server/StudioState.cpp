// The editing model (issue #16): GET /v1/state (the whole editable state as one JSON document),
// batches (many operations applied all or none, on one sample) and an undo history with labels.
// A snapshot is the control side's record of what was edited: the tracks (their creation args
// with every later parameter and mix change folded in), the tempo and the sequencer's content.
// Undo and redo make the engine match a snapshot again: changed tracks are rebuilt in place
// (after a 5 ms fade, as set_effects does), the tempo is set from now on, the sequencer takes
// the snapshot's clips, lanes, markers, loop and scenes.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <sstream>
#include <limits>
#include <set>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "io/OutputFiles.h"
#include "music/JsonText.h"
#include "sequencer/SequenceJson.h"
#include "sequencer/Sequencer.h"
#include "server/Schema.h"
#include "server/Studio.h"
#include "server/StudioSequencer.h"

namespace soundstar::server {

using nlohmann::json;

namespace {
bool validBusName(const std::string& n) {
    return !n.empty() && n.size() <= 40 && std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; });
}
constexpr std::size_t kMaxHistory = 100;
constexpr std::size_t kMaxBatch = 256;
constexpr std::size_t kMaxProjectBytes = std::size_t{16} << 20;
// What a batch may hold: edits of the engine and the sequencer, and what only reads.
const std::set<std::string> kBatchable = {"create_track", "free_track", "set_effects", "set_params", "set_param", "set_bypass", "set_output",
                                          "play_note", "release", "set_mix", "set_tempo", "list_tracks", "list_instruments", "status"};
// What the history records (when the state changed).
const std::set<std::string> kUndoable = {"create_track", "free_track", "set_effects", "set_params", "set_param", "set_mix", "set_tempo", "batch",
                                         "insert_effect", "move_effect", "remove_effect", "set_bypass", "bus_create", "bus_free", "set_output"};
}  // namespace

struct Studio::Snapshot {
    std::vector<TrackSlot> slots;
    std::array<BusState, engine::Track::kMaxSends> buses;
    BusState master;
    double bpm = 120.0;
    sequencer::Sequencer seq;
};

struct Studio::History {
    struct Entry {
        std::string label;
        std::shared_ptr<Snapshot> before, after;
    };
    std::deque<Entry> undo, redo;
    bool inBatch = false;
};

std::shared_ptr<Studio::Snapshot> Studio::snapshot() const {
    auto s = std::make_shared<Snapshot>();
    s->slots = slots_;
    s->buses = buses_;
    s->master = master_;
    s->bpm = tempoBpm_;  // the tempo it is or will be (without the tempo lane's moves)
    if (seq_) s->seq = seq_->seq;
    return s;
}

json Studio::snapshotJson(const Snapshot& s) const {
    json tracks = json::array();
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
        const auto& t = s.slots[i];
        if (t.name.empty()) continue;
        json args = t.args;
        json sends = json::object();
        for (std::size_t b = 0; b < s.buses.size(); ++b)
            if (!s.buses[b].name.empty()) sends[s.buses[b].name] = t.sends[b];
        tracks.push_back({{"name", t.name}, {"address", i}, {"instrument", t.instrument}, {"effects", t.effects}, {"args", args},
                          {"mute", t.mute}, {"solo", t.solo}, {"sends", sends},
                          {"output", t.output < 0 ? "master" : s.buses[static_cast<std::size_t>(t.output)].name}});
    }
    json buses = json::array();
    for (std::size_t b = 0; b < s.buses.size(); ++b) {
        if (s.buses[b].name.empty()) continue;
        json j = busJson(s.buses[b]);
        j["index"] = b;
        buses.push_back(j);
    }
    json master = busJson(s.master);
    master.erase("name");
    return {{"tracks", tracks}, {"buses", buses}, {"master", master}, {"tempo_bpm", s.bpm},
            {"sequencer", s.seq.contentJson()}};
}

json Studio::stateJson() const {
    json out = snapshotJson(*snapshot());
    const double beat = transport_.beatAt(engine_.now());
    // What moves on its own is kept apart, so two states can be compared without it.
    out["now"] = {{"sample", engine_.now()},
                  {"beat", beat},
                  {"bpm", transport_.bpmAt(engine_.now())},
                  {"running", running_},
                  {"sequencer", !seq_ || seq_->seq.state() == sequencer::Sequencer::State::Stopped ? "stopped"
                                : seq_->seq.state() == sequencer::Sequencer::State::Playing                ? "playing"
                                                                                                           : "paused"},
                  {"sequencer_position_beat", seq_ ? seq_->seq.songBeatAt(beat) : 0.0},
                  {"live", live_ ? liveStatus() : json(nullptr)},
                  {"undo", history_ ? history_->undo.size() : 0},
                  {"redo", history_ ? history_->redo.size() : 0}};
    return out;
}

void Studio::restore(const Snapshot& s) {
    const SampleTime earliest = scheduler_.earliest(engine_.now(), options_.blockSize);
    const auto same = [](const TrackSlot& a, const TrackSlot& b) {
        return a.name == b.name && a.args == b.args && a.mute == b.mute && a.solo == b.solo && a.sends == b.sends && a.output == b.output;
    };
    if (tempoBpm_ != s.bpm) {  // first: the one step that can be refused
        try {
            transport_.setTempo(s.bpm, earliest);
            tempoBpm_ = s.bpm;
        } catch (const std::invalid_argument&) {
            throw ApiError(409, "the tempo change to restore is still in the future; wait until it has played, then undo");
        }
        scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); }, earliest);
    }
    // The buses and the master first, so the tracks' outputs and sends find theirs.
    for (int b = -1; b < static_cast<int>(buses_.size()); ++b) {
        const int address = b < 0 ? engine::kMasterAddress : engine::kReturnBase + b;
        BusState& cur = busAt(address);
        const BusState& want = b < 0 ? s.master : s.buses[static_cast<std::size_t>(b)];
        if (cur.sameAs(want)) continue;
        if (want.name.empty()) {  // made since: emptied, as bus_free does (its sends close with the tracks below)
            schedule(earliest, [this, address](SampleTime t) { return controller_->fadeGain(address, -120.0f, 0.005, engine::FadeShape::Linear, t); });
            const SampleTime at = earliest + static_cast<SampleTime>(0.005 * options_.sampleRate);
            schedule(at, [this, address](SampleTime t) {
                controller_->replaceChain(address, {}, t);
                return true;
            });
            cur = BusState{};
            cur.readyAt = at;
            continue;
        }
        const bool rechain = cur.name != want.name || cur.chain != want.chain;
        cur.name = want.name;
        cur.gainDb = want.gainDb, cur.pan = want.pan, cur.mute = want.mute;
        SampleTime at = earliest;
        if (rechain) at = setChain(address, want.chain, {{"at", {{"sample", earliest}}}}, CallContext{})["chain_at_sample"];
        scheduleBusMix(address, cur, at);
    }
    for (std::size_t i = 0; i < slots_.size() && i < s.slots.size(); ++i) {
        TrackSlot& cur = slots_[i];
        const TrackSlot& want = s.slots[i];
        if (cur.instrument == "live" || want.instrument == "live" || same(cur, want)) continue;  // the live track is the live session's
        const int address = static_cast<int>(i);
        if (want.name.empty()) {
            auto placeholder = controller_->makeTrack("", engine::makeInstrument("subtractive"));
            placeholder->mute = true;
            swapTrack(address, std::move(placeholder), earliest);
            cur = TrackSlot{};
            continue;
        }
        TrackSlot slot;
        auto track = buildTrack(want.args, slot);
        track->mute = want.mute;
        track->solo = want.solo;
        track->initialSends = want.sends;
        track->initialOutput = want.output;
        slot.mute = want.mute;
        slot.solo = want.solo;
        slot.sends = want.sends;
        slot.output = want.output;
        swapTrack(address, std::move(track), earliest);
        cur = std::move(slot);
    }
    if (seq_) seq_->seq.adoptContent(s.seq);
}

void Studio::record(const std::string& label, std::shared_ptr<Snapshot> before) {
    auto after = snapshot();
    if (snapshotJson(*before) == snapshotJson(*after)) return;  // nothing an undo would change
    history_->undo.push_back({label, std::move(before), std::move(after)});
    if (history_->undo.size() > kMaxHistory) history_->undo.pop_front();
    history_->redo.clear();
}

json Studio::undoRedo(bool undo) {
    auto& from = undo ? history_->undo : history_->redo;
    auto& to = undo ? history_->redo : history_->undo;
    if (from.empty()) throw ApiError(409, undo ? "nothing to undo" : "nothing to redo");
    restore(undo ? *from.back().before : *from.back().after);  // may refuse (409): then the step stays
    auto entry = std::move(from.back());
    from.pop_back();
    json out = {{undo ? "undone" : "redone", entry.label}};
    to.push_back(std::move(entry));
    out["undo"] = history_->undo.size();
    out["redo"] = history_->redo.size();
    return out;
}

json Studio::batch(const json& args, const CallContext& ctx) {
    const json& ops = args["ops"];
    if (ops.size() > kMaxBatch) throw std::invalid_argument(fmt::format("a batch holds at most {} operations, not {}", kMaxBatch, ops.size()));
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const std::string op = ops[i]["op"];
        if (!kBatchable.count(op) && op.rfind("seq_", 0) != 0)
            throw std::invalid_argument(fmt::format("batch operation {} ('{}') cannot be batched: allowed are the synthesis, mixer and seq_* operations and set_tempo",
                                                    i, music::clipText(op, 40)));
    }
    const When w = resolveAt(args, ctx);  // one sample for all of it
    CallContext inner = ctx;
    inner.timetag.reset();
    inner.anchor.reset();
    // What a failure puts back: the control side's records (nothing reached the engine yet).
    const auto slots = slots_;
    const auto buses = buses_;
    const auto master = master_;
    const auto readyAt = readyAt_;
    const auto transport = transport_;
    const double tempoBpm = tempoBpm_;
    const auto latency = latency_;
    const auto seqState = seq_ ? std::make_optional(*seq_) : std::nullopt;
    auto before = snapshot();
    std::vector<Staged> staged;
    std::vector<json> events;
    staging_ = &staged;
    stagedEvents_ = &events;
    history_->inBatch = true;
    json results = json::array();
    std::optional<std::pair<std::size_t, Outcome>> failure;
    for (std::size_t i = 0; i < ops.size() && !failure; ++i) {
        const std::string op = ops[i]["op"];
        json a = ops[i].value("args", json::object());
        if (const Operation* row = table_->find(op); row && row->input["properties"].contains("at")) a["at"] = {{"sample", w.applied}};
        std::optional<Outcome> answer;
        table_->call(op, a, inner, [&](Outcome o) { answer = std::move(o); });
        if (!answer) answer = Outcome{400, nullptr, op + " does not answer at once, so it cannot be batched"};
        if (!answer->ok()) failure = std::make_pair(i, *answer);
        else results.push_back(answer->result);
    }
    staging_ = nullptr;
    stagedEvents_ = nullptr;
    history_->inBatch = false;
    if (failure) {
        slots_ = slots;
        buses_ = buses;
        master_ = master;
        readyAt_ = readyAt;
        transport_ = transport;
        tempoBpm_ = tempoBpm;
        latency_ = latency;
        if (seqState) *seq_ = *seqState;
        scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); }, scheduler_.earliest(engine_.now(), options_.blockSize));
        const auto& [i, o] = *failure;
        throw ApiError(o.status, fmt::format("batch operation {} ('{}') failed, so nothing was applied: {}", i, ops[i]["op"].get<std::string>(), music::clipText(o.error, 1500)));
    }
    for (auto& s : staged) schedule(s.time, std::move(s.post), s.beat);
    for (auto& e : events) emit(std::move(e));
    record("batch", before);
    json out = stamp(w);
    out["results"] = results;
    return out;
}

std::shared_ptr<Studio::Snapshot> Studio::snapshotFromJson(const json& doc) {
    if (!doc.is_object() || !doc.contains("tracks") || !doc["tracks"].is_array())
        throw std::invalid_argument("a project is a JSON object with \"tracks\" (an array), \"tempo_bpm\" and \"sequencer\", as project_save writes it");
    auto s = std::make_shared<Snapshot>();
    s->slots.resize(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].instrument == "live") s->slots[i] = slots_[i];  // the live session's track stays as it is
    readBuses(doc, *s);
    const json& tracks = doc["tracks"];
    if (tracks.size() > slots_.size()) throw std::invalid_argument(fmt::format("the project has {} tracks: at most {}", tracks.size(), slots_.size()));
    const json& schema = table_->find("create_track")->input;
    std::set<std::string> names;
    for (std::size_t i = 0; i < tracks.size(); ++i) {
        const json& t = tracks[i];
        const std::string where = fmt::format("tracks[{}]", i);
        if (!t.is_object() || !t.contains("address") || !t["address"].is_number_unsigned() || t["address"].get<std::size_t>() >= slots_.size())
            throw std::invalid_argument(fmt::format("{}.address must be a track address from 0 to {}", where, slots_.size() - 1));
        const std::size_t address = t["address"];
        if (!s->slots[address].name.empty()) throw std::invalid_argument(fmt::format("{}: address {} is taken", where, address));
        const json args = t.value("args", json());
        validateJson(schema, args, where + ".args");
        const std::string name = args["name"];
        const bool busName = std::any_of(s->buses.begin(), s->buses.end(), [&](const BusState& b) { return b.name == name; });
        if (name == "master" || busName || name == "live" || !names.insert(name).second)
            throw std::invalid_argument(fmt::format("{}: the name '{}' is a bus's, the live track's or another track's", where, name));
        TrackSlot slot;
        buildTrack(args, slot);  // a bad preset, instrument, effect or file refuses the whole project
        for (const char* key : {"mute", "solo"})
            if (t.contains(key) && !t[key].is_boolean()) throw std::invalid_argument(fmt::format("{}.{} must be true or false", where, key));
        slot.mute = t.value("mute", false);
        slot.solo = t.value("solo", false);
        const json sends = t.value("sends", json::object());
        if (!sends.is_object()) throw std::invalid_argument(fmt::format("{}.sends must be an object of bus name -> level 0 to 1", where));
        for (const auto& [bus, v] : sends.items()) {
            const std::string& busName = bus;  // (a lambda cannot capture a structured binding in C++20)
            const auto b = std::find_if(s->buses.begin(), s->buses.end(), [&](const BusState& x) { return !x.name.empty() && x.name == busName; });
            if (b == s->buses.end()) throw std::invalid_argument(fmt::format("{}.sends: no bus '{}' in the project", where, music::clipText(bus, 40)));
            if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0)
                throw std::invalid_argument(fmt::format("{}.sends.{} must be 0 to 1", where, music::clipText(bus, 40)));
            slot.sends[static_cast<std::size_t>(b - s->buses.begin())] = v.get<float>();
        }
        const json output = t.value("output", json("master"));
        if (!output.is_string()) throw std::invalid_argument(fmt::format("{}.output must be \"master\" or a bus's name", where));
        if (output != "master") {
            const auto b = std::find_if(s->buses.begin(), s->buses.end(), [&](const BusState& x) { return !x.name.empty() && x.name == output; });
            if (b == s->buses.end()) throw std::invalid_argument(fmt::format("{}.output: no bus '{}' in the project", where, music::clipText(output.get<std::string>(), 40)));
            slot.output = static_cast<int>(b - s->buses.begin());
        }
        s->slots[address] = std::move(slot);
    }
    const json bpm = doc.value("tempo_bpm", json(120.0));
    if (!bpm.is_number() || bpm.get<double>() < 20.0 || bpm.get<double>() > 400.0) throw std::invalid_argument("tempo_bpm must be 20 to 400");
    s->bpm = bpm.get<double>();
    s->seq = sequencer::Sequencer();
    const json q = doc.value("sequencer", json::object());
    if (!q.is_object()) throw std::invalid_argument("sequencer must be an object (clips, automation, markers, loop, scenes)");
    const auto list = [&](const char* key, std::size_t max) {
        const json v = q.value(key, json::array());
        if (!v.is_array() || v.size() > max) throw std::invalid_argument(fmt::format("sequencer.{} must be an array of at most {}", key, max));
        return v;
    };
    if (q.contains("time_signatures")) s->seq.setMeters(sequencer::parseMeters(q["time_signatures"]));
    if (q.contains("tempo")) s->seq.setTempoLane(sequencer::parseTempoLane(q["tempo"]));
    for (const json& c : list("clips", sequencer::kMaxClips)) s->seq.setClip(sequencer::parseClip(c));
    for (const json& l : list("automation", sequencer::kMaxLanes)) s->seq.setLane(sequencer::parseLane(l));
    for (const json& m : list("markers", sequencer::kMaxMarkers)) {
        if (!m.is_object() || !m.contains("name") || !m["name"].is_string() || !sequencer::validName(m["name"]) || !m.contains("beat") || !m["beat"].is_number() ||
            !(m["beat"].get<double>() >= 0.0 && m["beat"].get<double>() <= sequencer::kMaxBeat))
            throw std::invalid_argument("a marker is {\"name\": a name, \"beat\": 0 to 1000000}");
        s->seq.setMarker({m["name"], m["beat"]});
    }
    const json loop = q.value("loop", json());
    if (!loop.is_null()) {
        if (!loop.is_object() || !loop.value("start", json()).is_number() || !loop.value("end", json()).is_number())
            throw std::invalid_argument("sequencer.loop is null or {\"start\": beat, \"end\": beat}");
        s->seq.setLoop(std::make_pair(loop["start"].get<double>(), loop["end"].get<double>()));
    }
    const json scenes = q.value("scenes", json::object());
    if (!scenes.is_object()) throw std::invalid_argument("sequencer.scenes is an object of scene number -> {track: clip}");
    for (const auto& [scene, slots] : scenes.items()) {
        if (scene.empty() || scene.size() > 2 || !std::all_of(scene.begin(), scene.end(), [](char c) { return c >= '0' && c <= '9'; }) || !slots.is_object())
            throw std::invalid_argument(fmt::format("sequencer.scenes: '{}' is not a scene number with an object of slots", music::clipText(scene, 20)));
        for (const auto& [track, clip] : slots.items())
            if (clip.is_string()) s->seq.setSlot(std::stoi(scene), track, clip.get<std::string>());
    }
    return s;
}

void Studio::readBuses(const json& doc, Snapshot& s) const {
    // Without "buses" (an older project), the built-in ones as a fresh server has them.
    for (int b = 0; b < kBuiltInBuses; ++b) {
        const std::string type = b == 0 ? "reverb" : "delay";
        BusState& bus = s.buses[static_cast<std::size_t>(b)];
        bus.name = type;
        bus.chain = json::array({{{"type", type}, {"params", json::object()}}});
    }
    const auto readBus = [&](const json& j, BusState& bus, const std::string& where) {
        if (!j.is_object()) throw std::invalid_argument(fmt::format("{} must be an object: effects, gain_db, pan, mute", where));
        const json chain = j.value("effects", json::array());
        if (!chain.is_array() || chain.size() > 8) throw std::invalid_argument(fmt::format("{}.effects must be an array of at most 8 effects", where));
        engine::Track holder;
        holder.name = where;
        bus.chain = json::array();
        for (std::size_t i = 0; i < chain.size(); ++i) {
            const json& e = chain[i];
            const std::string at = fmt::format("{}.effects[{}]", where, i);
            if (!e.is_object() || !e.contains("type") || !e["type"].is_string() || !e.value("params", json::object()).is_object() || !e.value("bypass", json(false)).is_boolean())
                throw std::invalid_argument(fmt::format("{} must be {{\"type\": an effect type, \"params\": {{name: number}}, \"bypass\": true|false}}", at));
            holder.effects.push_back(engine::makeEffect(e["type"]));  // an unknown type names the known ones
            const json params = e.value("params", json::object());
            for (const auto& [p, v] : params.items()) {
                if (!v.is_number()) throw std::invalid_argument(fmt::format("{}.params.{} must be a number", at, music::clipText(p, 40)));
                engine::setTrackParam(holder, static_cast<int>(i), p, v.get<float>());
            }
            json kept = {{"type", e["type"]}, {"params", params}};
            if (e.value("bypass", false)) kept["bypass"] = true;
            bus.chain.push_back(kept);
            const auto ps = holder.effects.back()->params();
            bus.params.emplace_back(ps.begin(), ps.end());
        }
        const auto num = [&](const char* key, double lo, double hi) {
            const json v = j.value(key, json(0.0));
            if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi) throw std::invalid_argument(fmt::format("{}.{} must be {:g} to {:g}", where, key, lo, hi));
            return v.get<float>();
        };
        bus.gainDb = num("gain_db", -120, 12);
        bus.pan = num("pan", -1, 1);
        if (!j.value("mute", json(false)).is_boolean()) throw std::invalid_argument(fmt::format("{}.mute must be true or false", where));
        bus.mute = j.value("mute", false);
    };
    if (doc.contains("buses")) {
        const json& buses = doc["buses"];
        if (!buses.is_array() || buses.size() > s.buses.size())
            throw std::invalid_argument(fmt::format("buses must be an array of at most {} buses", s.buses.size()));
        std::set<std::string> names;
        for (std::size_t i = 0; i < buses.size(); ++i) {
            const std::string where = fmt::format("buses[{}]", i);
            const json& j = buses[i];
            if (!j.is_object() || !j.value("index", json()).is_number_unsigned() || j["index"].get<std::size_t>() >= s.buses.size() ||
                !j.value("name", json()).is_string())
                throw std::invalid_argument(fmt::format("{} needs \"index\" (0 to {}) and \"name\"", where, s.buses.size() - 1));
            const std::size_t index = j["index"];
            const std::string name = j["name"];
            const bool builtIn = static_cast<int>(index) < kBuiltInBuses;
            if (builtIn ? name != s.buses[index].name : !validBusName(name) || name == "master" || name == "live" || name == "reverb" || name == "delay")
                throw std::invalid_argument(fmt::format("{}: bus {} {}", where, index, builtIn ? "is " + s.buses[index].name : "needs a free name of 1 to 40 letters, digits, _ . -"));
            if (!names.insert(name).second) throw std::invalid_argument(fmt::format("{}: bus '{}' comes twice", where, name));
            s.buses[index] = BusState{};
            s.buses[index].name = name;
            readBus(j, s.buses[index], where);
        }
    }
    // The built-in buses' specs (a project without "buses" has them too).
    for (int b = 0; b < kBuiltInBuses; ++b)
        if (s.buses[static_cast<std::size_t>(b)].params.empty()) readBus(busJson(s.buses[static_cast<std::size_t>(b)]), s.buses[static_cast<std::size_t>(b)], "bus");
    s.master = BusState{};
    s.master.name = "master";
    if (doc.contains("master")) readBus(doc["master"], s.master, "master");
}

void Studio::registerStateOperations(OperationTable& t) {
    history_ = std::make_shared<History>();
    for (const auto& op : t.all()) {
        if (!kUndoable.count(op.name) && (op.name.rfind("seq_", 0) != 0 || !op.changesState)) continue;
        if (op.name == "seq_play" || op.name == "seq_stop" || op.name == "seq_pause" || op.name == "seq_resume" || op.name == "seq_seek" ||
            op.name == "seq_launch" || op.name == "seq_stop_clips")
            continue;  // they play; they do not edit
        t.wrapHandler(op.name, [this, label = op.name](Handler inner) -> Handler {
            return [this, label, inner](const json& args, const CallContext& ctx, Done done) {
                if (history_->inBatch) return inner(args, ctx, std::move(done));  // the batch is one entry
                auto before = snapshot();
                inner(args, ctx, [this, label, before, done](Outcome o) {
                    if (o.ok()) record(label, before);
                    done(std::move(o));
                });
            };
        });
    }
    const auto obj = [](json properties, std::vector<std::string> required = {}) {
        if (properties.is_null()) properties = json::object();  // obj({}): no args
    json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
        if (!required.empty()) s["required"] = required;
        return s;
    };
    const json at = t.find("play_note")->input["properties"]["at"];
    t.add({"state", "state", "The whole editable state as one JSON document (tracks with their args and mix, tempo, the sequencer's content), and under `now` what moves on its own; also GET /v1/state",
           obj({}), {}, false, [this](const json&, const CallContext&, Done done) { done(Outcome{200, stateJson(), {}}); }});
    t.add({"batch", "state",
           "Applies many operations atomically: all or none (a failure names the operation and changes nothing), every one at the same sample (the batch's `at`); one undo step",
           obj({{"ops", {{"type", "array"}, {"minItems", 1}, {"maxItems", kMaxBatch},
                         {"items", obj({{"op", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64}}}, {"args", {{"type", "object"}, {"maxProperties", 32}}}}, {"op"})}}},
                {"at", at}},
               {"ops"}),
           {}, true, [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, batch(a, c), {}}); }});
    t.add({"project_save", "state", "Writes the state (as GET /v1/state gives it, without `now`) to a .json project file under --data",
           obj({{"file", {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}, {"description", "a .json path under --data"}}}}, {"file"}), {"file"}, false,
           [this](const json& a, const CallContext&, Done done) {
               const std::string file = a["file"];
               if (std::filesystem::path(file).extension() != ".json") throw std::invalid_argument(fmt::format("file '{}' must end in .json", music::clipText(file, 80)));
               const std::string text = snapshotJson(*snapshot()).dump(1);
               try {
                   io::OutputFiles files;
                   const auto target = dataPath(file, "file");
                   files.ensureFolder(target.parent_path(), "project");
                   const auto temp = files.add(target, "project");
                   std::ofstream(temp, std::ios::binary) << text;
                   files.commit();
               } catch (const std::runtime_error& e) {
                   throw ApiError(409, fmt::format("cannot write '{}': {}", music::clipText(file, 80), e.what()));
               }
               done(Outcome{200, {{"file", file}, {"bytes", text.size()}}, {}});
           }});
    t.add({"project_load", "state",
           "Loads a project file written by project_save: the tracks, tempo and sequencer content become the file's (checked whole first: a bad part changes nothing); one undo step",
           obj({{"file", {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}, {"description", "a .json path under --data"}}}}, {"file"}), {"file"}, true,
           [this](const json& a, const CallContext&, Done done) {
               const std::string file = a["file"];
               const auto path = dataPath(file, "file");
               std::error_code ec;
               const auto size = std::filesystem::file_size(path, ec);
               if (ec) throw ApiError(404, fmt::format("no project file '{}' under --data", music::clipText(file, 80)));
               if (size > kMaxProjectBytes) throw ApiError(413, fmt::format("project file '{}' has {} bytes: at most {}", music::clipText(file, 80), size, kMaxProjectBytes));
               std::ifstream in(path, std::ios::binary);
               std::stringstream text;
               text << in.rdbuf();
               const auto s = snapshotFromJson(music::parseJsonBounded(text.str(), "the project file", {kMaxProjectBytes, 64}));
               auto before = snapshot();
               restore(*s);
               if (!history_->inBatch) record("project_load", before);
               done(Outcome{200, {{"file", file}, {"state", snapshotJson(*snapshot())}}, {}});
           }});
    t.add({"undo", "state", "Undoes the last edit (tracks, parameters, mix, tempo, sequencer content, a batch)", obj({}), {}, true,
           [this](const json&, const CallContext&, Done done) { done(Outcome{200, undoRedo(true), {}}); }});
    t.add({"redo", "state", "Redoes the last undone edit", obj({}), {}, true,
           [this](const json&, const CallContext&, Done done) { done(Outcome{200, undoRedo(false), {}}); }});
    t.add({"history", "state", "The undo and redo steps, by label, oldest first", obj({}), {}, false, [this](const json&, const CallContext&, Done done) {
               json undo = json::array(), redo = json::array();
               for (const auto& e : history_->undo) undo.push_back(e.label);
               for (const auto& e : history_->redo) redo.push_back(e.label);
               done(Outcome{200, {{"undo", undo}, {"redo", redo}}, {}});
           }});
}

}  // namespace soundstar::server

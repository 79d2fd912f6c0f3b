// Studio's synthesis and mixer operations: tracks created and freed in place, notes, parameters,
// mix settings. Each change is stamped with a sample and queued on the Scheduler.
#include <fmt/format.h>

#include <cmath>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "music/JsonText.h"
#include "server/Studio.h"

namespace soundstar::server {

using nlohmann::json;

namespace {
json paramsJson(std::span<const engine::ParamSpec> specs) {
    json out = json::array();
    for (const auto& p : specs)
        out.push_back({{"name", p.name}, {"min", p.min}, {"max", p.max}, {"default", p.def}, {"unit", p.unit}, {"help", p.help}});
    return out;
}

float number(const json& v) { return static_cast<float>(v.get<double>()); }
}  // namespace

json Studio::listInstruments() const {
    if (instrumentsCache_.is_null()) instrumentsCache_ = [this] {
        json instruments = json::array(), effects = json::array(), presets = json::array();
        for (const auto& kind : engine::instrumentKinds()) instruments.push_back({{"kind", kind}, {"params", paramsJson(engine::makeInstrument(kind)->params())}});
        for (const auto& kind : engine::effectKinds()) effects.push_back({{"type", kind}, {"params", paramsJson(engine::makeEffect(kind)->params())}});
        for (const auto& name : hooks_.presets->names()) {
            const auto& p = hooks_.presets->get(name);
            presets.push_back({{"name", name}, {"instrument", p.instrument}, {"description", p.description}});
        }
        return json{{"instruments", instruments}, {"effects", effects}, {"presets", presets}};
    }();
    json out = instrumentsCache_;
    out["buses"] = json::array();
    for (const auto& b : buses_)
        if (!b.name.empty()) out["buses"].push_back(b.name);
    return out;
}

json Studio::listTracks() const {
    json out = json::array();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const auto& s = slots_[i];
        if (s.name.empty()) continue;
        json t = {{"name", s.name}, {"instrument", s.instrument}, {"address", i}, {"effects", s.effects}};
        if (!s.preset.empty()) t["preset"] = s.preset;
        // Its mixer settings, as set_mix left them (the console's mixer starts from these).
        const auto mixValue = [&](const char* key) { return s.args.is_object() ? s.args.value(key, 0.0) : 0.0; };
        t["gain_db"] = mixValue("gain_db");
        t["pan"] = mixValue("pan");
        t["mute"] = s.mute;
        t["solo"] = s.solo;
        t["output"] = s.output < 0 ? "master" : buses_[static_cast<std::size_t>(s.output)].name;
        t["sends"] = json::object();
        for (std::size_t b = 0; b < buses_.size(); ++b)
            if (!buses_[b].name.empty()) t["sends"][buses_[b].name] = s.sends[b];
        out.push_back(t);
    }
    return out;
}

std::unique_ptr<engine::Track> Studio::buildTrack(const json& args, TrackSlot& slot) {
    const std::string name = args["name"];
    const float gainDb = number(args.value("gain_db", json(0.0)));
    const float pan = number(args.value("pan", json(0.0)));
    std::unique_ptr<engine::Track> track;
    // The chain is args' "effects" when given, else the preset's; kept whole so set_effects can rebuild it.
    json chain = args.contains("effects") ? args["effects"] : json::array();
    if (args.contains("preset") == args.contains("instrument"))
        throw std::invalid_argument("give either 'preset' (see list_instruments) or 'instrument' (a kind), not both or neither");
    if (args.contains("preset")) {
        const auto& p = hooks_.presets->get(args["preset"]);
        track = engine::makePresetTrack(*controller_, p, name, gainDb, pan, false);
        slot.preset = args["preset"];
        if (!args.contains("effects"))
            for (const auto& e : p.effects) {
                json params = json::object();
                for (const auto& [k, v] : e.params) params[k] = v;
                chain.push_back({{"type", e.type}, {"params", params}});
            }
    } else {
        auto instrument = engine::makeInstrument(args["instrument"]);
        // Instrument options name files (a sample, a SoundFont): only under --data.
        const json options = args.value("options", json::object());
        for (const auto& [key, value] : options.items())
            instrument->setOption(key, dataPath(value.get<std::string>(), "option").string());
        track = controller_->makeTrack(name, std::move(instrument), gainDb, pan);
    }
    for (const auto& e : chain) {
        track->effects.push_back(engine::makeEffect(e["type"]));
        const json params = e.value("params", json::object());
        for (const auto& [p, v] : params.items())
            engine::setTrackParam(*track, static_cast<int>(track->effects.size()) - 1, p, number(v));
    }
    const json params = args.value("params", json::object());
    for (const auto& [p, v] : params.items()) engine::setTrackParam(*track, -1, p, number(v));
    slot.name = name;
    slot.args = args;
    slot.args.erase("at");
    slot.args["effects"] = chain;
    slot.instrument = track->instrument->kind();
    const auto ip = track->instrument->params();
    slot.instrumentParams.assign(ip.begin(), ip.end());
    for (const auto& e : track->effects) {
        slot.effects.push_back(e->kind());
        slot.effectParams.emplace_back(e->params().begin(), e->params().end());
    }
    // Prepared here as well, so a sample that cannot be decoded is a 400 now, not a failure later.
    track->prepare(options_.sampleRate, options_.blockSize);
    for (std::size_t i = 0; i < chain.size(); ++i)  // set_bypass's flags, kept in the chain (the state, undo, projects)
        if (chain[i].value("bypass", false)) track->setBypass(static_cast<int>(i), true);
    return track;
}

json Studio::createTrack(const json& args, const CallContext& ctx) {
    const std::string name = args["name"];
    checkFreeName(name, "track");
    for (const auto& s : slots_)
        if (s.name == name) throw ApiError(409, fmt::format("a track named '{}' exists; free_track it first or choose another name", name));
    const auto free = std::find_if(slots_.begin(), slots_.end(), [](const TrackSlot& s) { return s.name.empty(); });
    if (free == slots_.end()) throw ApiError(429, fmt::format("too many tracks: at most {} (free_track releases one)", options_.maxTracks));
    TrackSlot slot;
    auto track = buildTrack(args, slot);
    const int address = static_cast<int>(free - slots_.begin());
    const When w = afterSwap(resolveAt(args, ctx), address);
    readyAt_[static_cast<std::size_t>(address)] = w.applied;
    auto shared = std::make_shared<std::unique_ptr<engine::Track>>(std::move(track));
    schedule(w, [this, address, shared](SampleTime t) {
        controller_->replaceTrack(address, std::move(*shared), t);
        return true;
    });
    *free = std::move(slot);
    json out = stamp(w);
    out["track"] = name;
    out["instrument"] = free->instrument;
    out["params"] = paramsJson(free->instrumentParams);
    out["effects"] = free->effects;
    emit({{"type", "track_created"}, {"track", name}, {"instrument", free->instrument}, {"at_sample", w.applied}});
    return out;
}

json Studio::freeTrack(const json& args, const CallContext& ctx) {
    const int address = trackAddress(args["track"]);
    if (slots_[static_cast<std::size_t>(address)].instrument == "live") throw ApiError(409, "the live track ends with live_stop");
    When w = resolveAt(args, ctx);
    auto placeholder = controller_->makeTrack("", engine::makeInstrument("subtractive"));
    placeholder->mute = true;
    w.applied = swapTrack(address, std::move(placeholder), w.applied);
    slots_[static_cast<std::size_t>(address)] = TrackSlot{};
    json out = stamp(w);
    out["freed"] = args["track"];
    emit({{"type", "track_freed"}, {"track", args["track"]}, {"at_sample", w.applied}});
    return out;
}

SampleTime Studio::swapTrack(int address, std::unique_ptr<engine::Track> track, SampleTime at) {
    at = std::max(at, readyAt_[static_cast<std::size_t>(address)]);
    readyAt_[static_cast<std::size_t>(address)] = at + static_cast<SampleTime>(0.005 * options_.sampleRate);
    const auto fade = static_cast<SampleTime>(0.005 * options_.sampleRate);  // no click from what still sounds
    schedule(at, [this, address](SampleTime t) { return controller_->fadeGain(address, -120.0f, 0.005, engine::FadeShape::Linear, t); });
    auto shared = std::make_shared<std::unique_ptr<engine::Track>>(std::move(track));
    schedule(at + fade, [this, address, shared](SampleTime t) {
        controller_->replaceTrack(address, std::move(*shared), t);
        return true;
    });
    return at + fade;
}

json Studio::setEffects(const json& args, const CallContext& ctx) {
    if (args["track"] == "master") return setChain(engine::kMasterAddress, args["effects"], args, ctx);
    if (const int bus = busAddress(args["track"]); bus >= 0) return setChain(bus, args["effects"], args, ctx);
    const int address = trackAddress(args["track"]);
    TrackSlot& old = slots_[static_cast<std::size_t>(address)];
    if (old.instrument == "live") throw ApiError(409, "the live track's chain comes from its vibes; set_mix and sends still apply");
    json rebuilt = old.args;
    rebuilt["effects"] = args["effects"];
    TrackSlot slot;
    auto track = buildTrack(rebuilt, slot);  // a bad chain throws here and changes nothing
    track->mute = old.mute;
    track->solo = old.solo;
    track->initialSends = old.sends;
    track->initialOutput = old.output;
    slot.mute = old.mute;
    slot.solo = old.solo;
    slot.sends = old.sends;
    slot.output = old.output;
    When w = resolveAt(args, ctx);
    w.applied = swapTrack(address, std::move(track), w.applied);
    old = std::move(slot);
    json out = stamp(w);
    out["track"] = old.name;
    out["effects"] = old.effects;
    return out;
}

namespace {
// "0 filter, 1 delay" (or "no effects"): what a chain holds, for errors.
std::string chainText(const json& chain) {
    std::string out;
    for (std::size_t i = 0; i < chain.size(); ++i) out += fmt::format("{}{} {}", i ? ", " : "", i, chain[i]["type"].get<std::string>());
    return out.empty() ? "no effects" : out;
}
}  // namespace

json Studio::editChain(const std::string& op, const json& args, const CallContext& ctx) {
    const std::string target = args["track"];
    const int address = mixAddress(target);
    json chain;
    const bool bus = address == engine::kMasterAddress || address >= engine::kReturnBase;
    if (bus) {
        chain = busAt(address).chain;
    } else {
        const auto& slot = slots_[static_cast<std::size_t>(address)];
        if (slot.instrument == "live") throw ApiError(409, "the live track's chain comes from its vibes; set_mix and sends still apply");
        chain = slot.args["effects"];
    }
    const auto slotOf = [&](const char* key) {
        const int i = args[key];
        if (static_cast<std::size_t>(i) >= chain.size())
            throw std::invalid_argument(fmt::format("'{}' has no effect {}; its chain: {}", target, i, chainText(chain)));
        return static_cast<std::size_t>(i);
    };
    if (op == "insert_effect") {
        if (chain.size() >= 8) throw std::invalid_argument(fmt::format("'{}' has 8 effects, the most a chain holds; remove_effect one first", target));
        const std::size_t at = args.value("position", chain.size());
        if (at > chain.size())
            throw std::invalid_argument(fmt::format("'{}' has {} effect(s), so position {} is past its end (allowed 0..{}); its chain: {}", target, chain.size(), at, chain.size(), chainText(chain)));
        json entry = {{"type", args["type"]}, {"params", args.value("params", json::object())}};
        chain.insert(chain.begin() + static_cast<std::ptrdiff_t>(at), entry);
    } else if (op == "move_effect") {
        const std::size_t from = slotOf("effect");
        const std::size_t to = slotOf("to");
        json moved = chain[from];
        chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(from));
        chain.insert(chain.begin() + static_cast<std::ptrdiff_t>(to), moved);
    } else {
        chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(slotOf("effect")));
    }
    json set = {{"track", target}, {"effects", chain}};
    if (args.contains("at")) set["at"] = args["at"];
    return bus ? setChain(address, chain, set, ctx) : setEffects(set, ctx);
}

json Studio::setChain(int address, const json& chain, const json& args, const CallContext& ctx) {
    BusState& bus = busAt(address);
    // Built and checked whole before anything is scheduled: a bad type or parameter changes nothing.
    engine::Track holder;
    holder.name = bus.name;
    std::vector<std::vector<engine::ParamSpec>> specs;
    json kept = json::array();
    for (const auto& e : chain) {
        holder.effects.push_back(engine::makeEffect(e["type"]));
        const json params = e.value("params", json::object());
        json values = json::object();
        for (const auto& [p, v] : params.items()) {
            engine::setTrackParam(holder, static_cast<int>(holder.effects.size()) - 1, p, number(v));
            values[p] = v;
        }
        const auto ps = holder.effects.back()->params();
        specs.emplace_back(ps.begin(), ps.end());
        kept.push_back({{"type", e["type"]}, {"params", values}});
        if (e.value("bypass", false)) kept.back()["bypass"] = true;
    }
    When w = afterSwap(resolveAt(args, ctx), address);
    // A 5 ms dip to silence around the change, so neither the old chain's end nor the new one's
    // start clicks; then back to the master's fader gain.
    const auto fade = static_cast<SampleTime>(0.005 * options_.sampleRate);
    const SampleTime swapAt = w.applied + fade;
    bus.readyAt = swapAt + fade;
    auto effects = std::make_shared<std::vector<std::unique_ptr<engine::Effect>>>(std::move(holder.effects));
    const float gainDb = bus.gainDb;
    // All on fixed samples (no beat): a later set_tempo must not pull the dip apart from the swap.
    schedule(w.applied, [this, address](SampleTime t) { return controller_->fadeGain(address, -120.0f, 0.005, engine::FadeShape::Linear, t); });
    schedule(swapAt, [this, address, effects](SampleTime t) {
        controller_->replaceChain(address, std::move(*effects), t);
        return true;
    });
    for (std::size_t i = 0; i < kept.size(); ++i)
        if (kept[i].value("bypass", false))
            schedule(swapAt, [this, address, i](SampleTime t) { return controller_->setBypass(address, static_cast<int>(i), true, t); });
    schedule(swapAt, [this, address, gainDb](SampleTime t) { return controller_->fadeGain(address, gainDb, 0.005, engine::FadeShape::Linear, t); });
    bus.chain = kept;
    bus.params = std::move(specs);
    json out = stamp(w);
    out["track"] = bus.name;
    out["effects"] = json::array();
    for (const auto& e : bus.chain) out["effects"].push_back(e["type"]);
    out["chain_at_sample"] = swapAt;
    emit({{"type", address == engine::kMasterAddress ? "master_chain" : "bus_chain"}, {"bus", bus.name}, {"effects", out["effects"]}, {"at_sample", swapAt}});
    return out;
}

json Studio::playNote(const json& args, const CallContext& ctx) {
    const int address = trackAddress(args["track"]);
    const float note = number(args["note"]);
    const float velocity = number(args.value("velocity", json(0.8)));
    const double duration = args.value("duration", 0.5);
    const When w = afterSwap(resolveAt(args, ctx), address);
    const SampleTime off = w.applied + std::max<SampleTime>(1, std::llround(duration * options_.sampleRate));
    schedule(w, [this, address, note, velocity](SampleTime t) { return controller_->noteOn(address, note, velocity, t); });
    std::optional<double> offBeat;
    if (w.beat) offBeat = transport_.beatAt(off);
    schedule(off, [this, address, note](SampleTime t) { return controller_->noteOff(address, note, t); }, offBeat);
    json out = stamp(w);
    out["note_off_at_sample"] = off;
    return out;
}

json Studio::release(const json& args, const CallContext& ctx) {
    const int address = trackAddress(args["track"]);
    const When w = afterSwap(resolveAt(args, ctx), address);
    if (args.contains("note")) {
        const float note = number(args["note"]);
        schedule(w, [this, address, note](SampleTime t) { return controller_->noteOff(address, note, t); });
    } else {
        schedule(w, [this, address](SampleTime t) { return controller_->allNotesOff(address, t); });
    }
    return stamp(w);
}

json Studio::setParams(const json& args, const CallContext& ctx) {
    const std::string target = args["track"];
    const int address = mixAddress(target);
    const int slot = args.value("effect", -1);
    std::span<const engine::ParamSpec> specs;
    const bool bus = address == engine::kMasterAddress || address >= engine::kReturnBase;
    if (bus) {
        specs = busParams(address, slot, target);
    } else {
        const auto& s = slots_[static_cast<std::size_t>(address)];
        if (slot < 0) specs = s.instrumentParams;
        else if (static_cast<std::size_t>(slot) < s.effectParams.size()) specs = s.effectParams[static_cast<std::size_t>(slot)];
        else throw std::invalid_argument(fmt::format("track '{}' has {} effect(s); effect {} does not exist", target, s.effectParams.size(), slot));
    }
    std::vector<std::pair<std::string, float>> values;
    for (const auto& [name, v] : args["params"].items()) {
        engine::checkParam(specs, target, name, number(v));  // all or nothing: check every one first
        values.emplace_back(name, number(v));
    }
    const When w = afterSwap(resolveAt(args, ctx), address);
    if (address >= 0 && address < engine::kReturnBase) {  // remembered for set_effects
        auto& a = slots_[static_cast<std::size_t>(address)].args;
        for (const auto& [name, v] : values) (slot < 0 ? a["params"] : a["effects"][static_cast<std::size_t>(slot)]["params"])[name] = v;
    } else {  // and for the chain edits of the master and the buses
        for (const auto& [name, v] : values) busAt(address).chain[static_cast<std::size_t>(slot)]["params"][name] = v;
    }
    for (const auto& nv : values)
        schedule(w, [this, address, slot, nv](SampleTime t) { return controller_->setParam(address, slot, nv.first, nv.second, t); });
    json out = stamp(w);
    out["set"] = args["params"];
    return out;
}

json Studio::setBypass(const json& args, const CallContext& ctx) {
    const std::string target = args["track"];
    const int address = mixAddress(target);
    const int slot = args["effect"];
    const bool bypass = args["bypass"];
    const bool bus = address == engine::kMasterAddress || address >= engine::kReturnBase;
    const std::size_t effects = bus ? busAt(address).chain.size() : slots_[static_cast<std::size_t>(address)].effectParams.size();
    if (static_cast<std::size_t>(slot) >= effects)
        throw std::invalid_argument(fmt::format("'{}' has {} effect(s); effect {} does not exist{}", target, effects, slot,
                                                bus ? "; its chain: " + chainText(busAt(address).chain) : std::string()));
    const When w = afterSwap(resolveAt(args, ctx), address);
    // Kept in the chain (the state, undo and projects; a rebuilt track or bus starts with it).
    json& entry = bus ? busAt(address).chain[static_cast<std::size_t>(slot)] : slots_[static_cast<std::size_t>(address)].args["effects"][static_cast<std::size_t>(slot)];
    if (bypass) entry["bypass"] = true;
    else entry.erase("bypass");
    schedule(w, [this, address, slot, bypass](SampleTime t) { return controller_->setBypass(address, slot, bypass, t); });
    json out = stamp(w);
    out["bypass"] = bypass;
    return out;
}

json Studio::mix(const json& args, const CallContext& ctx) {
    const std::string target = args["target"];
    const int address = mixAddress(target);
    if (!args.contains("gain_db") && !args.contains("pan") && !args.contains("mute") && !args.contains("solo") && !args.contains("sends"))
        throw std::invalid_argument("set at least one of gain_db, pan, mute, solo, sends");
    if (args.contains("sends") && address < 0) throw std::invalid_argument("sends belong to tracks, not to the master");
    if (args.contains("sends") && address >= engine::kReturnBase) throw std::invalid_argument("sends belong to tracks, not to return buses");
    if (args.contains("solo") && address < 0) throw std::invalid_argument("solo belongs to tracks, not to the master");
    if (args.contains("solo") && address >= engine::kReturnBase) throw std::invalid_argument("solo belongs to tracks, not to return buses");
    std::vector<std::pair<int, float>> sendLevels;  // bus index, level
    const json sendArgs = args.value("sends", json::object());
    for (const auto& [name, level] : sendArgs.items()) {
        const int bus = busAddress(name);
        if (bus < 0) throw std::invalid_argument(fmt::format("no bus '{}' to send to; buses: {}", music::clipText(name, 40), listBuses()["names"].dump()));
        sendLevels.emplace_back(bus - engine::kReturnBase, number(level));
    }
    const When w = afterSwap(resolveAt(args, ctx), address);
    const double fade = args.value("fade_seconds", 0.0);
    if (address == engine::kMasterAddress || address >= engine::kReturnBase) {  // the state of the master and the buses
        BusState& b = busAt(address);
        if (args.contains("gain_db")) b.gainDb = number(args["gain_db"]);
        if (args.contains("pan")) b.pan = number(args["pan"]);
        if (args.contains("mute")) b.mute = args["mute"];
    }
    if (address >= 0 && address < engine::kReturnBase) {  // remembered for set_effects
        auto& s = slots_[static_cast<std::size_t>(address)];
        if (args.contains("gain_db")) s.args["gain_db"] = args["gain_db"];
        if (args.contains("pan")) s.args["pan"] = args["pan"];
        if (args.contains("mute")) s.mute = args["mute"];
        if (args.contains("solo")) s.solo = args["solo"];
        for (const auto& [b, level] : sendLevels) s.sends[static_cast<std::size_t>(b)] = level;
    }
    if (args.contains("gain_db")) {
        const float db = number(args["gain_db"]);
        if (fade > 0.0)
            schedule(w, [this, address, db, fade](SampleTime t) { return controller_->fadeGain(address, db, fade, engine::FadeShape::Linear, t); });
        else
            schedule(w, [this, address, db](SampleTime t) { return controller_->setGain(address, db, t); });
    }
    if (args.contains("pan")) {
        const float pan = number(args["pan"]);
        schedule(w, [this, address, pan](SampleTime t) { return controller_->setPan(address, pan, t); });
    }
    if (args.contains("mute")) {
        const bool on = args["mute"];
        schedule(w, [this, address, on](SampleTime t) { return controller_->setMute(address, on, t); });
    }
    if (args.contains("solo")) {
        const bool on = args["solo"];
        schedule(w, [this, address, on](SampleTime t) { return controller_->setSolo(address, on, t); });
    }
    for (const auto& [b, l] : sendLevels) {
        const int bus = engine::kReturnBase + b;
        schedule(w, [this, address, bus, l = l](SampleTime t) { return controller_->setSend(address, bus, l, t); });
    }
    json out = stamp(w);
    out["target"] = target;
    return out;
}

}  // namespace soundstar::server

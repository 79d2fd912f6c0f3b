// Studio's return buses: reverb and delay are built in; bus_create fills one of the graph's other
// bus slots (made empty when the studio starts, so nothing is allocated on the audio thread) with
// a chain through Controller::replaceChain, bus_free empties it again. set_output routes a track
// to a bus instead of the master (a 10 ms crossfade in the engine). Buses feed only the master,
// so routing has no cycles.
#include <fmt/format.h>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "music/JsonText.h"
#include "server/Studio.h"

namespace soundstar::server {

using nlohmann::json;

Studio::BusState& Studio::busAt(int address) {
    if (address == engine::kMasterAddress) return master_;
    const int b = address - engine::kReturnBase;
    if (b < 0 || b >= static_cast<int>(buses_.size())) throw std::invalid_argument(fmt::format("no bus at address {}", address));
    return buses_[static_cast<std::size_t>(b)];
}

int Studio::busAddress(const std::string& name) const {
    if (name.empty()) return -1;
    for (std::size_t b = 0; b < buses_.size(); ++b)
        if (buses_[b].name == name) return engine::kReturnBase + static_cast<int>(b);
    // "bus:N" names a bus by its index, as set_output's `to` may.
    if (name.size() == 5 && name.rfind("bus:", 0) == 0 && name[4] >= '0' && name[4] < static_cast<char>('0' + buses_.size()) &&
        !buses_[static_cast<std::size_t>(name[4] - '0')].name.empty())
        return engine::kReturnBase + (name[4] - '0');
    return -1;
}

void Studio::checkFreeName(const std::string& name, const char* what) const {
    if (name == "master") throw std::invalid_argument(fmt::format("'master' is the master bus's name; choose another {} name", what));
    if (name == "live") throw std::invalid_argument(fmt::format("'live' is the live session's track (live_start); choose another {} name", what));
    if (busAddress(name) >= 0) throw std::invalid_argument(fmt::format("'{}' names a bus; choose another {} name", name, what));
}

json Studio::busJson(const BusState& b) const {
    return {{"name", b.name}, {"effects", b.chain}, {"gain_db", b.gainDb}, {"pan", b.pan}, {"mute", b.mute}};
}

json Studio::listBuses() const {
    json buses = json::array(), names = json::array();
    for (std::size_t b = 0; b < buses_.size(); ++b) {
        if (buses_[b].name.empty()) continue;
        json j = busJson(buses_[b]);
        j["bus"] = fmt::format("bus:{}", b);
        j["built_in"] = static_cast<int>(b) < kBuiltInBuses;
        buses.push_back(j);
        names.push_back(buses_[b].name);
    }
    return {{"buses", buses}, {"names", names}, {"max_buses", buses_.size()}};
}

std::span<const engine::ParamSpec> Studio::busParams(int address, int slot, const std::string& target) const {
    const BusState& b = busAt(address);
    if (slot < 0 || static_cast<std::size_t>(slot) >= b.params.size()) {
        std::string chain;
        for (std::size_t i = 0; i < b.chain.size(); ++i) chain += fmt::format("{}{} {}", i ? ", " : "", i, b.chain[i]["type"].get<std::string>());
        throw std::invalid_argument(fmt::format("give an effect slot of '{}' as \"effect\" (set_mix sets its gain); its chain: {}", target,
                                                chain.empty() ? "no effects" : chain));
    }
    return b.params[static_cast<std::size_t>(slot)];
}

void Studio::scheduleBusMix(int address, const BusState& b, SampleTime t) {
    const float gain = b.gainDb, pan = b.pan;
    const bool mute = b.mute;
    schedule(t, [this, address, gain](SampleTime at) { return controller_->setGain(address, gain, at); });
    schedule(t, [this, address, pan](SampleTime at) { return controller_->setPan(address, pan, at); });
    schedule(t, [this, address, mute](SampleTime at) { return controller_->setMute(address, mute, at); });
}

json Studio::busCreate(const json& args, const CallContext& ctx) {
    const std::string name = args["name"];
    checkFreeName(name, "bus");
    for (const auto& s : slots_)
        if (s.name == name) throw ApiError(409, fmt::format("a track is named '{}'; tracks and buses share names, so choose another", name));
    std::size_t b = kBuiltInBuses;
    while (b < buses_.size() && !buses_[b].name.empty()) ++b;
    if (b == buses_.size())
        throw ApiError(429, fmt::format("at most {} return buses (reverb, delay and {} made by bus_create); bus_free releases one", buses_.size(),
                                        buses_.size() - kBuiltInBuses));
    const int address = engine::kReturnBase + static_cast<int>(b);
    BusState& bus = buses_[b];
    const BusState before = bus;
    bus.name = name;
    bus.gainDb = static_cast<float>(args.value("gain_db", 0.0));
    bus.pan = static_cast<float>(args.value("pan", 0.0));
    bus.mute = false;
    json out;
    try {
        out = setChain(address, args.value("effects", json::array()), args, ctx);  // a bad chain throws and changes nothing
    } catch (...) {
        bus = before;
        throw;
    }
    const SampleTime at = out["chain_at_sample"];
    const float pan = bus.pan;
    schedule(at, [this, address, pan](SampleTime t) { return controller_->setPan(address, pan, t); });
    schedule(at, [this, address](SampleTime t) { return controller_->setMute(address, false, t); });
    out["bus"] = name;
    out["index"] = b;
    emit({{"type", "bus_created"}, {"bus", name}, {"at_sample", at}});
    return out;
}

json Studio::busFree(const json& args, const CallContext& ctx) {
    const std::string name = args["bus"];
    const int address = busAddress(name);
    if (address < 0) throw ApiError(404, fmt::format("no bus '{}'; buses: {}", music::clipText(name, 40), listBuses()["names"].dump()));
    const auto b = static_cast<std::size_t>(address - engine::kReturnBase);
    if (static_cast<int>(b) < kBuiltInBuses) throw std::invalid_argument(fmt::format("'{}' is built in and stays; set_mix can mute it", buses_[b].name));
    std::string feeding;
    for (const auto& s : slots_)
        if (!s.name.empty() && s.output == static_cast<int>(b)) feeding += (feeding.empty() ? "" : ", ") + s.name;
    if (!feeding.empty())
        throw ApiError(409, fmt::format("bus '{}' is the output of {}; set_output them elsewhere first", buses_[b].name, music::clipText(feeding, 400)));
    const When w = afterSwap(resolveAt(args, ctx), address);
    // Faded out over 5 ms, then its chain (and the tails in it) goes, and the sends to it close.
    const auto fade = static_cast<SampleTime>(0.005 * options_.sampleRate);
    schedule(w.applied, [this, address](SampleTime t) { return controller_->fadeGain(address, -120.0f, 0.005, engine::FadeShape::Linear, t); });
    schedule(w.applied + fade, [this, address](SampleTime t) {
        controller_->replaceChain(address, {}, t);
        return true;
    });
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].name.empty() || slots_[i].sends[b] == 0.0f) continue;
        slots_[i].sends[b] = 0.0f;
        const int track = static_cast<int>(i);
        schedule(w.applied + fade, [this, track, address](SampleTime t) { return controller_->setSend(track, address, 0.0f, t); });
    }
    buses_[b] = BusState{};
    buses_[b].readyAt = w.applied + fade;
    json out = stamp(w);
    out["freed"] = name;
    emit({{"type", "bus_freed"}, {"bus", name}, {"at_sample", w.applied + fade}});
    return out;
}

json Studio::setOutput(const json& args, const CallContext& ctx) {
    const std::string track = args["track"];
    const int address = trackAddress(track);
    const std::string to = args["to"];
    const int bus = to == "master" ? engine::kMasterAddress : busAddress(to);  // busAddress: -1 (the master's address too) when no bus
    if (to != "master" && bus < 0)
        throw std::invalid_argument(fmt::format("a track's output is \"master\" or a bus (by name or \"bus:N\"), not '{}'; buses: {}", music::clipText(to, 40),
                                                listBuses()["names"].dump()));
    const When w = afterSwap(resolveAt(args, ctx), address);
    slots_[static_cast<std::size_t>(address)].output = bus == engine::kMasterAddress ? -1 : bus - engine::kReturnBase;
    schedule(w, [this, address, bus](SampleTime t) { return controller_->setOutput(address, bus, t); });
    json out = stamp(w);
    out["track"] = track;
    out["output"] = bus == engine::kMasterAddress ? "master" : busAt(bus).name;
    return out;
}

void Studio::registerBusOperations(OperationTable& t) {
    const auto obj = [](json properties, std::vector<std::string> required = {}) {
        json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
        if (!required.empty()) s["required"] = required;
        return s;
    };
    const json name = {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]{1,40}$"}, {"maxLength", 40}};
    const json at = t.find("play_note")->input["properties"]["at"];
    const json params = {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}, {"maxProperties", 32}, {"description", "effect parameters"}};
    const json item = obj({{"type", {{"type", "string"}, {"minLength", 1}, {"maxLength", 32}, {"description", "an effect type (list_instruments)"}}},
                           {"params", params},
                           {"bypass", {{"type", "boolean"}, {"description", "starts bypassed (set_bypass)"}}}},
                          {"type"});
    t.add({"bus_create", "mixer",
           fmt::format("Creates a return bus with an effect chain (at most {} buses, reverb and delay included); tracks reach it by set_mix sends or set_output, "
                       "set_mix, set_effects, set_params and set_bypass edit it by name",
                       buses_.size()),
           obj({{"name", name},
                {"effects", {{"type", "array"}, {"maxItems", 8}, {"description", "its chain, in order"}, {"items", item}}},
                {"gain_db", {{"type", "number"}, {"minimum", -120}, {"maximum", 12}, {"description", "fader gain in dB"}}},
                {"pan", {{"type", "number"}, {"minimum", -1}, {"maximum", 1}, {"description", "-1 left .. 1 right"}}},
                {"at", at}},
               {"name"}),
           {"name"}, true, [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, busCreate(a, c), {}}); }});
    t.add({"bus_free", "mixer", "Frees a bus made by bus_create: faded out over 5 ms, then its chain goes and the sends to it close (refused while a track outputs to it)",
           obj({{"bus", name}, {"at", at}}, {"bus"}), {"bus"}, true,
           [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, busFree(a, c), {}}); }});
    t.add({"list_buses", "mixer", "The return buses: name, bus:N, chain, gain, pan, mute, built_in", obj(json::object()), {}, false,
           [this](const json&, const CallContext&, Done done) { done(Outcome{200, listBuses(), {}}); }});
    t.add({"set_output", "mixer", "Routes a track's output to the master or a return bus (crossfaded over 10 ms from `at`); buses feed only the master",
           obj({{"track", name}, {"to", {{"type", "string"}, {"minLength", 1}, {"maxLength", 40}, {"description", "\"master\", a bus's name or \"bus:N\""}}}, {"at", at}},
               {"track", "to"}),
           {"track", "to"}, true, [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, setOutput(a, c), {}}); }});
}

}  // namespace soundstar::server

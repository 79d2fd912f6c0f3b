#include "engine/Controller.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace soundstar::engine {

Controller::Controller(AudioEngine& engine) : engine_(engine), pending_(std::make_unique<Graph>()) {}

Controller::~Controller() { collect(); }

Track& Controller::pendingAt(int address) {
    Track* t = pending_->at(address);
    if (!t) throw std::invalid_argument(fmt::format("no track or bus at address {}", address));
    return *t;
}

int Controller::addTrack(std::string name, std::unique_ptr<Instrument> instrument, float gainDb, float pan) {
    return addTrack(makeTrack(std::move(name), std::move(instrument), gainDb, pan));
}

int Controller::addTrack(std::unique_ptr<Track> track) {
    if (!track || !track->instrument) throw std::invalid_argument("addTrack needs a track with an instrument");
    pending_->tracks.push_back(std::move(track));
    return static_cast<int>(pending_->tracks.size()) - 1;
}

int Controller::addBus(std::string name, float gainDb) {
    if (static_cast<int>(pending_->returns.size()) >= Track::kMaxSends)
        throw std::invalid_argument(fmt::format("at most {} return buses", Track::kMaxSends));
    auto t = std::make_unique<Track>();
    t->name = std::move(name);
    t->initialGainDb = gainDb;
    pending_->returns.push_back(std::move(t));
    return kReturnBase + static_cast<int>(pending_->returns.size()) - 1;
}

int Controller::addEffect(int address, std::unique_ptr<Effect> effect) {
    Track& t = pendingAt(address);
    t.effects.push_back(std::move(effect));
    return static_cast<int>(t.effects.size()) - 1;
}

void Controller::setInitialParam(int address, int slot, std::string_view name, float value) {
    setTrackParam(pendingAt(address), slot, name, value);
}

void setTrackParam(Track& t, int slot, std::string_view name, float value) {
    if (slot < 0) {
        if (!t.instrument) throw std::invalid_argument(fmt::format("'{}' has no instrument", t.name));
        t.instrument->setParam(checkParam(t.instrument->params(), t.instrument->kind(), name, value), value);
        return;
    }
    if (static_cast<std::size_t>(slot) >= t.effects.size())
        throw std::invalid_argument(fmt::format("'{}' has no effect slot {}", t.name, slot));
    auto& e = *t.effects[static_cast<std::size_t>(slot)];
    e.setParam(checkParam(e.params(), e.kind(), name, value), value);
}

void Controller::setInitialSend(int track, int bus, float level) {
    Track& t = pendingAt(track);
    const int b = bus - kReturnBase;
    if (b < 0 || b >= Track::kMaxSends) throw std::invalid_argument(fmt::format("no return bus at address {}", bus));
    t.initialSends[static_cast<std::size_t>(b)] = level;
}

void Controller::commit() {
    collect();
    // Every graph handed over and not yet returned may land on the retired queue at once (swaps
    // still waiting in the command queue included): keep their count below its capacity so the
    // audio thread can always hand an old graph back.
    while (handedOver_ - returned_ + 1 >= static_cast<long>(engine_.retired().capacity())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        collect();
    }
    pending_->prepare(engine_.sampleRate(), engine_.maxBlock());
    const auto shadowOf = [](const Track& t) {
        Shadow s{t.name, {}, {}};
        if (t.instrument) s.instrument = t.instrument->params();
        for (const auto& e : t.effects) s.effects.push_back(e->params());
        return s;
    };
    tracks_.clear();
    buses_.clear();
    trackNames_.clear();
    for (const auto& t : pending_->tracks) {
        tracks_.push_back(shadowOf(*t));
        trackNames_.push_back(t->name);
    }
    for (const auto& b : pending_->returns) buses_.push_back(shadowOf(*b));
    master_ = shadowOf(pending_->master);
    Command c;
    c.type = CommandType::SwapGraph;
    c.time = 0;
    c.graph = pending_.release();
    while (!engine_.post(c)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++handedOver_;
    pending_ = std::make_unique<Graph>();
}

std::unique_ptr<Graph> Controller::takeGraph(int prepareThreads) {
    pending_->prepare(engine_.sampleRate(), engine_.maxBlock(), prepareThreads);
    auto g = std::move(pending_);
    pending_ = std::make_unique<Graph>();
    return g;
}

const Controller::Shadow& Controller::shadowAt(int address) const {
    if (address == kMasterAddress) return master_;
    if (address >= kReturnBase && static_cast<std::size_t>(address - kReturnBase) < buses_.size())
        return buses_[static_cast<std::size_t>(address - kReturnBase)];
    if (address >= 0 && static_cast<std::size_t>(address) < tracks_.size())
        return tracks_[static_cast<std::size_t>(address)];
    throw std::invalid_argument(fmt::format("no track or bus at address {} (tracks 0..{}, buses {}..{}, master {})",
                                            address, static_cast<int>(tracks_.size()) - 1, kReturnBase,
                                            kReturnBase + static_cast<int>(buses_.size()) - 1, kMasterAddress));
}

bool Controller::post(const Command& c) { return engine_.post(c); }

bool Controller::noteOn(int track, float note, float velocity, SampleTime at) {
    shadowAt(track);
    if (!std::isfinite(note) || note < 0.0f || note > 127.0f)
        throw std::invalid_argument(fmt::format("note {:g} is out of range: allowed 0..127", note));
    if (!std::isfinite(velocity) || velocity < 0.0f || velocity > 1.0f)
        throw std::invalid_argument(fmt::format("velocity {:g} is out of range: allowed 0..1", velocity));
    return post({at, CommandType::NoteOn, -1, track, 0, note, velocity, nullptr});
}

bool Controller::noteOff(int track, float note, SampleTime at) {
    shadowAt(track);
    return post({at, CommandType::NoteOff, -1, track, 0, note, 0.0f, nullptr});
}

bool Controller::allNotesOff(int track, SampleTime at) {
    shadowAt(track);
    return post({at, CommandType::AllNotesOff, -1, track, 0, 0.0f, 0.0f, nullptr});
}

bool Controller::setParam(int address, int slot, std::string_view name, float value, SampleTime at) {
    const Shadow& s = shadowAt(address);
    std::span<const ParamSpec> specs;
    std::string owner;
    if (slot < 0) {
        if (s.instrument.empty()) throw std::invalid_argument(fmt::format("'{}' has no instrument", s.name));
        specs = s.instrument;
        owner = s.name;
    } else {
        if (static_cast<std::size_t>(slot) >= s.effects.size())
            throw std::invalid_argument(fmt::format("'{}' has {} effect(s); slot {} does not exist", s.name,
                                                    s.effects.size(), slot));
        specs = s.effects[static_cast<std::size_t>(slot)];
        owner = fmt::format("{}.fx{}", s.name, slot);
    }
    const int index = checkParam(specs, owner, name, value);
    return post({at, CommandType::SetParam, static_cast<std::int16_t>(slot), address, index, value, 0.0f, nullptr});
}

bool Controller::setBypass(int address, int slot, bool bypassed, SampleTime at) {
    const Shadow& s = shadowAt(address);
    if (slot < 0 || static_cast<std::size_t>(slot) >= s.effects.size())
        throw std::invalid_argument(fmt::format("'{}' has {} effect(s); slot {} does not exist (allowed 0 to {})", s.name, s.effects.size(), slot,
                                                static_cast<int>(s.effects.size()) - 1));
    return post({at, CommandType::SetBypass, static_cast<std::int16_t>(slot), address, 0, bypassed ? 1.0f : 0.0f, 0.0f, nullptr});
}

bool Controller::setGain(int address, float gainDb, SampleTime at) {
    shadowAt(address);
    if (!std::isfinite(gainDb) || gainDb > 12.0f)
        throw std::invalid_argument(fmt::format("gain {:g} dB is out of range: allowed up to +12 dB", gainDb));
    return post({at, CommandType::SetGain, -1, address, 0, gainDb, 0.0f, nullptr});
}

bool Controller::setPan(int address, float pan, SampleTime at) {
    shadowAt(address);
    if (!std::isfinite(pan) || pan < -1.0f || pan > 1.0f)
        throw std::invalid_argument(fmt::format("pan {:g} is out of range: allowed -1..1", pan));
    return post({at, CommandType::SetPan, -1, address, 0, pan, 0.0f, nullptr});
}

bool Controller::setTrim(int address, float gainDb, float balance, SampleTime at) {
    shadowAt(address);
    if (!std::isfinite(gainDb) || gainDb > 12.0f || gainDb < -120.0f)
        throw std::invalid_argument(fmt::format("trim {:g} dB is out of range: allowed -120..+12 dB", gainDb));
    if (!std::isfinite(balance) || balance < -1.0f || balance > 1.0f)
        throw std::invalid_argument(fmt::format("balance {:g} is out of range: allowed -1..1", balance));
    return post({at, CommandType::SetTrim, -1, address, 0, gainDb, balance, nullptr});
}

bool Controller::setLowCut(int address, float cutoffHz, SampleTime at) {
    shadowAt(address);
    if (!std::isfinite(cutoffHz) || (cutoffHz != 0.0f && (cutoffHz < 20.0f || cutoffHz > 1000.0f)))
        throw std::invalid_argument(fmt::format("low cut {:g} Hz is out of range: allowed 20..1000 Hz, or 0 (off)", cutoffHz));
    return post({at, CommandType::SetLowCut, -1, address, 0, cutoffHz, 0.0f, nullptr});
}

bool Controller::setMute(int address, bool on, SampleTime at) {
    shadowAt(address);
    return post({at, CommandType::SetMute, -1, address, 0, on ? 1.0f : 0.0f, 0.0f, nullptr});
}

bool Controller::setSolo(int address, bool on, SampleTime at) {
    shadowAt(address);
    return post({at, CommandType::SetSolo, -1, address, 0, on ? 1.0f : 0.0f, 0.0f, nullptr});
}

bool Controller::setSend(int track, int bus, float level, SampleTime at) {
    shadowAt(track);
    const int b = bus - kReturnBase;
    if (b < 0 || static_cast<std::size_t>(b) >= buses_.size())
        throw std::invalid_argument(fmt::format("no return bus at address {}", bus));
    if (!std::isfinite(level) || level < 0.0f || level > 1.0f)
        throw std::invalid_argument(fmt::format("send level {:g} is out of range: allowed 0..1", level));
    return post({at, CommandType::SetSend, -1, track, b, level, 0.0f, nullptr});
}

bool Controller::setOutput(int track, int bus, SampleTime at) {
    if (track < 0 || static_cast<std::size_t>(track) >= tracks_.size())
        throw std::invalid_argument(fmt::format("no track at address {} to route (tracks 0..{})", track, static_cast<int>(tracks_.size()) - 1));
    const int b = bus == kMasterAddress ? -1 : bus - kReturnBase;
    if (bus != kMasterAddress && (b < 0 || static_cast<std::size_t>(b) >= buses_.size()))
        throw std::invalid_argument(fmt::format("a track's output is the master ({}) or a return bus ({}..{}), not {}", kMasterAddress, kReturnBase,
                                                kReturnBase + static_cast<int>(buses_.size()) - 1, bus));
    return post({at, CommandType::SetOutput, -1, track, b, 0.0f, 0.0f, nullptr});
}

std::unique_ptr<Track> Controller::makeTrack(std::string name, std::unique_ptr<Instrument> instrument, float gainDb, float pan) {
    if (!instrument) throw std::invalid_argument("makeTrack needs an instrument");
    auto t = std::make_unique<Track>();
    t->name = std::move(name);
    t->instrument = std::move(instrument);
    t->initialGainDb = gainDb;
    t->initialPan = std::clamp(pan, -1.0f, 1.0f);
    return t;
}

void Controller::replaceTrack(int address, std::unique_ptr<Track> track, SampleTime at) {
    if (address < 0 || static_cast<std::size_t>(address) >= tracks_.size())
        throw std::invalid_argument(fmt::format("no track at address {} to replace (tracks 0..{})", address, static_cast<int>(tracks_.size()) - 1));
    while (tracksHandedOver_ - tracksReturned_ + 1 >= static_cast<long>(engine_.retiredTracks().capacity())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        collect();
    }
    track->prepare(engine_.sampleRate(), engine_.maxBlock());
    Shadow s{track->name, track->instrument->params(), {}};
    for (const auto& e : track->effects) s.effects.push_back(e->params());
    Command c;
    c.type = CommandType::ReplaceTrack;
    c.time = at;
    c.address = address;
    c.track = track.release();
    while (!engine_.post(c)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        collect();
    }
    ++tracksHandedOver_;
    trackNames_[static_cast<std::size_t>(address)] = s.name;
    tracks_[static_cast<std::size_t>(address)] = std::move(s);
}

void Controller::replaceChain(int address, std::vector<std::unique_ptr<Effect>> effects, SampleTime at) {
    if (address >= 0 && address < kReturnBase)
        throw std::invalid_argument(fmt::format("replaceChain is for buses and the master; track {} is rebuilt with replaceTrack", address));
    shadowAt(address);  // throws on a bad address
    Shadow& s = address == kMasterAddress ? master_ : buses_[static_cast<std::size_t>(address - kReturnBase)];
    while (tracksHandedOver_ - tracksReturned_ + 1 >= static_cast<long>(engine_.retiredTracks().capacity())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        collect();
    }
    auto holder = std::make_unique<Track>();
    holder->effects = std::move(effects);
    holder->prepare(engine_.sampleRate(), engine_.maxBlock());
    std::vector<std::span<const ParamSpec>> specs;
    for (const auto& e : holder->effects) specs.push_back(e->params());
    Command c;
    c.type = CommandType::ReplaceChain;
    c.time = at;
    c.address = address;
    c.track = holder.release();
    while (!engine_.post(c)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        collect();
    }
    ++tracksHandedOver_;
    s.effects = std::move(specs);
}

bool Controller::fadeGain(int address, float gainDb, double seconds, FadeShape shape, SampleTime at, bool urgent) {

    shadowAt(address);
    if (!std::isfinite(gainDb) || gainDb > 12.0f)
        throw std::invalid_argument(fmt::format("gain {:g} dB is out of range: allowed up to +12 dB", gainDb));
    if (!std::isfinite(seconds) || seconds < 0.0 || seconds > 3600.0)
        throw std::invalid_argument(fmt::format("fade of {:g} s is out of range: allowed 0 to 3600 s", seconds));
    Command c;
    c.type = CommandType::FadeGain;
    c.time = at;
    c.address = address;
    c.value = gainDb;
    c.index = static_cast<std::int32_t>(std::llround(seconds * engine_.sampleRate()));
    c.value2 = static_cast<float>(shape);
    return urgent ? engine_.postUrgent(c) : post(c);
}

void Controller::collect() {
    Track* t = nullptr;
    while (engine_.retiredTracks().pop(t)) {
        delete t;
        ++tracksReturned_;
    }
    Graph* g = nullptr;
    while (engine_.retired().pop(g)) {
        delete g;
        ++returned_;
    }
    Report r;
    while (engine_.reports().pop(r)) {
        switch (r.kind) {
            case Report::Kind::Meter: lastPeak_ = std::max(r.a, r.b); break;
            case Report::Kind::LateCommands: late_ += static_cast<long>(r.a); break;
            case Report::Kind::BadAddress: ++bad_; break;
        }
    }
}

}  // namespace soundstar::engine

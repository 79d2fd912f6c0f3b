// The sampler service's rows: samples loaded from --data, listed, freed, stretched to the
// session tempo and pitch-shifted (on this control thread, with SoundTouch), saved, and played
// through sample tracks (engine::makeSamplePlayer) that map them across the keyboard.
#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>

#include "engine/Effect.h"
#include "engine/Instruments.h"
#include "engine/Track.h"
#include "io/OutputFiles.h"
#include "music/JsonText.h"
#include "server/SampleBank.h"
#include "server/Studio.h"
#include "server/StudioSchema.h"

namespace soundstar::server {

using nlohmann::json;
using namespace schema;

namespace {
Handler answered(std::function<json(const json&, const CallContext&)> f) {
    return [f](const json& a, const CallContext& c, Done done) { done(Outcome{200, f(a, c), {}}); };
}

json zoneSchema() {
    return object({{"sample", name("a loaded sample")},
                   {"root", number(0, 127, "the note it plays at its own pitch (default 60)")},
                   {"low", integer(0, 127, "lowest note of its range (default 0)")},
                   {"high", integer(0, 127, "highest note of its range (default 127)")},
                   {"mode", choice({"one_shot", "loop"}, "one_shot (plays to its end, default) or loop (sustained: loops while held, fades on release)")},
                   {"loop_start", number(0, 3600, "loop start in seconds (default 0)")},
                   {"loop_end", number(0, 3600, "loop end in seconds (default: the sample's end)")},
                   {"crossfade", number(0, 10, "seconds of crossfade into the loop start (default 0.01)")}},
                  {"sample"});
}

void writeSample(const engine::SampleBuffer& b, double rate, const std::filesystem::path& target) {
    io::OutputFiles files;
    const auto temp = files.add(target, "sample_save");
    SF_INFO info{};
    info.samplerate = static_cast<int>(std::lround(rate));
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* sf = sf_open(temp.c_str(), SFM_WRITE, &info);
    if (!sf) throw ApiError(500, fmt::format("cannot write {}: {}", target.filename().string(), sf_strerror(nullptr)));
    std::vector<float> inter(2 * b.frames());
    for (std::size_t i = 0; i < b.frames(); ++i) {
        inter[2 * i] = b.left[i];
        inter[2 * i + 1] = b.right[i];
    }
    const auto wrote = sf_writef_float(sf, inter.data(), static_cast<sf_count_t>(b.frames()));
    sf_close(sf);
    if (wrote != static_cast<sf_count_t>(b.frames())) throw ApiError(500, fmt::format("writing {} stopped short (disk full?)", target.filename().string()));
    files.commit();
}
}  // namespace

json Studio::sampleStretch(const json& a) {
    const StoredSample& src = samples_->get(a["source"]);
    double ratio = 1.0;
    std::optional<double> bpm = src.bpm;
    if (a.contains("to_bpm") || a.value("to_session_tempo", false)) {
        const double from = a.contains("from_bpm") ? a["from_bpm"].get<double>() : src.bpm.value_or(0.0);
        if (from <= 0.0) throw ApiError(400, "the sample's tempo is unknown: give from_bpm (or load it with bpm)");
        const double to = a.contains("to_bpm") ? a["to_bpm"].get<double>() : transport_.bpmAt(engine_.now());
        ratio = to / from;
        bpm = to;
    } else if (a.contains("tempo_ratio")) {
        ratio = a["tempo_ratio"].get<double>();
        if (bpm) *bpm *= ratio;
    }
    if (ratio < 0.25 || ratio > 4.0) throw ApiError(400, fmt::format("tempo ratio {:.4g} is outside 0.25..4 (to_bpm / from_bpm)", ratio));
    const double semitones = a.value("semitones", 0.0);
    const auto& s = samples_->stretch(a["name"], a["source"], ratio, semitones, bpm);
    return {{"name", a["name"]}, {"frames", s.audio->frames()}, {"seconds", static_cast<double>(s.audio->frames()) / options_.sampleRate},
            {"tempo_ratio", ratio}, {"semitones", semitones}, {"bpm", bpm ? json(*bpm) : json(nullptr)}, {"bytes", s.bytes()},
            {"bank_bytes", samples_->bytes()}};
}

json Studio::sampleTrack(const json& a, const CallContext& ctx) {
    const std::string track = a["track"];
    checkFreeName(track, "track");
    for (const auto& s : slots_)
        if (s.name == track) throw ApiError(409, fmt::format("a track named '{}' exists; free_track it first or choose another name", track));
    const auto free = std::find_if(slots_.begin(), slots_.end(), [](const TrackSlot& s) { return s.name.empty(); });
    if (free == slots_.end()) throw ApiError(429, fmt::format("too many tracks: at most {} (free_track releases one)", options_.maxTracks));
    std::vector<engine::SampleZone> zones;
    std::vector<std::string> names;
    const auto frame = [this](const json& z, const char* key, double def) { return static_cast<std::size_t>(std::llround(z.value(key, def) * options_.sampleRate)); };
    for (const auto& z : a["zones"]) {
        engine::SampleZone zone;
        zone.name = z["sample"];
        zone.sample = samples_->get(zone.name).audio;
        zone.rootNote = static_cast<float>(z.value("root", 60.0));
        zone.lowNote = z.value("low", 0);
        zone.highNote = z.value("high", 127);
        if (zone.lowNote > zone.highNote) throw std::invalid_argument(fmt::format("zone '{}': low {} is above high {}", zone.name, zone.lowNote, zone.highNote));
        zone.mode = z.value("mode", "one_shot") == "loop" ? engine::LoopMode::Sustain : engine::LoopMode::OneShot;
        zone.loopStart = frame(z, "loop_start", 0.0);
        zone.loopEnd = frame(z, "loop_end", 0.0);
        zone.crossfade = frame(z, "crossfade", 0.01);
        names.push_back(zone.name);
        zones.push_back(std::move(zone));
    }
    auto track_ = controller_->makeTrack(track, engine::makeSamplePlayer(std::move(zones)), static_cast<float>(a.value("gain_db", 0.0)),
                                         static_cast<float>(a.value("pan", 0.0)));
    const json chain = a.value("effects", json::array());
    TrackSlot slot;
    for (const auto& e : chain) {
        track_->effects.push_back(engine::makeEffect(e["type"]));
        const json params = e.value("params", json::object());  // kept alive: items() only refers to it
        for (const auto& [p, v] : params.items())
            engine::setTrackParam(*track_, static_cast<int>(track_->effects.size()) - 1, p, static_cast<float>(v.get<double>()));
        slot.effects.push_back(track_->effects.back()->kind());
        slot.effectParams.emplace_back(track_->effects.back()->params().begin(), track_->effects.back()->params().end());
    }
    track_->prepare(options_.sampleRate, options_.blockSize);
    for (std::size_t i = 0; i < chain.size(); ++i)  // set_bypass's flags, kept in the chain (the state, undo, projects)
        if (chain[i].value("bypass", false)) track_->setBypass(static_cast<int>(i), true);
    slot.name = track;
    slot.instrument = track_->instrument->kind();
    slot.instrumentParams.assign(track_->instrument->params().begin(), track_->instrument->params().end());
    slot.args = a;
    slot.args.erase("at");
    const int address = static_cast<int>(free - slots_.begin());
    const When w = afterSwap(resolveAt(a, ctx), address);
    readyAt_[static_cast<std::size_t>(address)] = w.applied;
    auto shared = std::make_shared<std::unique_ptr<engine::Track>>(std::move(track_));
    schedule(w, [this, address, shared](SampleTime t) {
        controller_->replaceTrack(address, std::move(*shared), t);
        return true;
    });
    *free = std::move(slot);
    sampleTracks_[address] = {track, names};
    json out = stamp(w);
    out["track"] = track;
    out["instrument"] = "sample_player";
    out["zones"] = names;
    emit({{"type", "track_created"}, {"track", track}, {"instrument", "sample_player"}, {"at_sample", w.applied}});
    return out;
}

json Studio::samplePlay(const json& a, const CallContext& ctx) {
    const std::string track = a["track"];
    const int address = trackAddress(track);
    const auto it = sampleTracks_.find(address);
    if (it == sampleTracks_.end() || it->second.first != track || slots_[static_cast<std::size_t>(address)].instrument != "sample_player")
        throw ApiError(409, fmt::format("'{}' is not a sample track (sample_track makes one)", music::clipText(track, 40)));
    const auto& zones = it->second.second;
    int zone = 0;
    if (a.contains("sample")) {
        const auto z = std::find(zones.begin(), zones.end(), a["sample"].get<std::string>());
        if (z == zones.end()) throw ApiError(404, fmt::format("track '{}' has no zone for sample '{}'", track, music::clipText(a["sample"].get<std::string>(), 40)));
        zone = static_cast<int>(z - zones.begin());
    }
    const auto& zoneArgs = slots_[static_cast<std::size_t>(address)].args["zones"][static_cast<std::size_t>(zone)];
    const float note = static_cast<float>(a.value("note", zoneArgs.value("root", 60.0)));
    const float velocity = static_cast<float>(a.value("velocity", 1.0));
    const std::vector<std::pair<const char*, float>> settings = {
        {"start", static_cast<float>(a.value("start", 0.0))}, {"end", static_cast<float>(a.value("end", 0.0))},
        {"rate", static_cast<float>(a.value("rate", 1.0))},   {"gain", static_cast<float>(a.value("gain_db", 0.0))},
        {"pan", static_cast<float>(a.value("pan", 0.0))},     {"zone", static_cast<float>(zone)}};
    const When w = afterSwap(resolveAt(a, ctx), address);
    // The settings, the note and the settings' defaults again, at one sample and in this order:
    // the note starts with exactly these settings and later play_note calls are not affected.
    for (const auto& setting : settings)
        schedule(w, [this, address, setting](SampleTime t) { return controller_->setParam(address, -1, setting.first, setting.second, t); });
    schedule(w, [this, address, note, velocity](SampleTime t) { return controller_->noteOn(address, note, velocity, t); });
    for (const auto& setting : settings) {
        const char* param = setting.first;
        const float def = std::string_view(param) == "rate" ? 1.0f : std::string_view(param) == "zone" ? -1.0f : 0.0f;
        schedule(w, [this, address, param, def](SampleTime t) { return controller_->setParam(address, -1, param, def, t); });
    }
    json out = stamp(w);
    if (a.contains("duration")) {
        const SampleTime off = w.applied + std::max<SampleTime>(1, std::llround(a["duration"].get<double>() * options_.sampleRate));
        schedule(off, [this, address, note](SampleTime t) { return controller_->noteOff(address, note, t); });
        out["note_off_at_sample"] = off;
    }
    out["zone"] = zones[static_cast<std::size_t>(zone)];
    out["note"] = note;
    return out;
}

void Studio::registerSamplerOperations(OperationTable& t) {
    samples_ = std::make_shared<SampleBank>(options_.sampleRate, options_.sampleMemoryBytes);
    t.add({"sample_load", "sampler",
           "Loads a sample (WAV, FLAC, Ogg, MP3) from under --data, resampled to the engine rate; all loaded samples share a memory bound (413 past it)",
           object({{"name", name("the sample's name, e.g. loop")}, {"file", text(255, "a path under --data")}, {"bpm", number(20, 400, "its tempo, if it is a loop")}},
                  {"name", "file"}),
           {"name", "file", "bpm"}, true, answered([this](const json& a, const CallContext&) {
               const auto path = dataPath(a["file"], "sample file");
               std::optional<double> bpm;
               if (a.contains("bpm")) bpm = a["bpm"].get<double>();
               const auto& s = samples_->load(a["name"], path, a["file"], bpm);
               return json{{"name", a["name"]}, {"frames", s.audio->frames()}, {"seconds", static_cast<double>(s.audio->frames()) / options_.sampleRate},
                           {"channels", s.channels}, {"source_rate", s.sourceRate}, {"bytes", s.bytes()}, {"bank_bytes", samples_->bytes()},
                           {"max_bytes", samples_->maxBytes()}};
           })});
    t.add({"sample_list", "sampler", "The loaded samples (frames, seconds, bytes, tempo) and the memory bound", object({}), {}, false,
           answered([this](const json&, const CallContext&) { return samples_->list(); })});
    t.add({"sample_free", "sampler", "Frees a loaded sample (tracks playing it keep their copy until they are freed)", object({{"name", name("the sample")}}, {"name"}),
           {"name"}, true, answered([this](const json& a, const CallContext&) {
               samples_->free(a["name"]);
               return json{{"freed", a["name"]}, {"bank_bytes", samples_->bytes()}};
           })});
    t.add({"sample_stretch", "sampler",
           "Makes a new sample from a loaded one, time-stretched (to_bpm or the session tempo, from from_bpm or its loaded bpm; or tempo_ratio) "
           "and pitch-shifted by semitones, with SoundTouch; its length is exactly round(frames * from_bpm / to_bpm)",
           object({{"name", name("the new sample's name")},
                   {"source", name("the loaded sample to stretch")},
                   {"from_bpm", number(20, 400, "its tempo (default: the bpm it was loaded with)")},
                   {"to_bpm", number(20, 400, "the tempo to stretch to")},
                   {"to_session_tempo", {{"type", "boolean"}, {"description", "stretch to the transport's tempo now"}}},
                   {"tempo_ratio", number(0.25, 4, "speed factor, when no bpm is given (1.25: 80 % of the length)")},
                   {"semitones", number(-24, 24, "pitch shift")}},
                  {"name", "source"}),
           {"name", "source", "to_bpm", "semitones"}, true, answered([this](const json& a, const CallContext&) { return sampleStretch(a); })});
    t.add({"sample_save", "sampler", "Writes a loaded sample to a 32-bit float WAV under --data", object({{"name", name("the sample")}, {"file", text(255, "a .wav path under --data")}}, {"name", "file"}),
           {"name", "file"}, true, answered([this](const json& a, const CallContext&) {
               const auto& s = samples_->get(a["name"]);
               writeSample(*s.audio, options_.sampleRate, dataPath(a["file"], "file"));
               return json{{"file", a["file"]}, {"frames", s.audio->frames()}};
           })});
    t.add({"sample_track", "sampler",
           "Creates a track that plays loaded samples across the keyboard: each zone a sample with its root note and note range, one-shot or a sustained loop with a crossfade",
           object({{"track", name("the track's name")},
                   {"zones", {{"type", "array"}, {"minItems", 1}, {"maxItems", 128}, {"items", zoneSchema()}, {"description", "the first zone whose range holds a note plays it"}}},
                   {"effects", {{"type", "array"}, {"maxItems", 8}, {"items", object({{"type", text(32, "an effect type")}, {"params", {{"type", "object"}, {"maxProperties", 32}, {"additionalProperties", {{"type", "number"}}}}}}, {"type"})}}},
                   {"gain_db", number(-120, 12, "fader gain in dB")},
                   {"pan", number(-1, 1, "-1 left .. 1 right")},
                   {"at", at()}},
                  {"track", "zones"}),
           {}, true, answered([this](const json& a, const CallContext& c) { return sampleTrack(a, c); })});
    t.add({"sample_play", "sampler",
           "Plays a sample of a sample track with its own rate, start, end, gain and pan (play_note and release work on the track too)",
           object({{"track", name("a sample track")},
                   {"sample", name("which zone's sample (default: the first)")},
                   {"note", number(0, 127, "the key (default: the zone's root: its own pitch)")},
                   {"velocity", number(0, 1, "default 1")},
                   {"rate", number(0.0625, 16, "playback rate, times the key's transposition (default 1)")},
                   {"start", number(0, 3600, "seconds into the sample (default 0)")},
                   {"end", number(0, 3600, "seconds into the sample where it stops (default: its end)")},
                   {"gain_db", number(-60, 12, "default 0")},
                   {"pan", number(-1, 1, "-1 left .. 1 right")},
                   {"duration", number(0.001, 3600, "seconds until note off (loops fade then; one-shots play to their end)")},
                   {"at", at()}},
                  {"track"}),
           {"track", "sample", "rate"}, true, answered([this](const json& a, const CallContext& c) { return samplePlay(a, c); })});
}

}  // namespace soundstar::server

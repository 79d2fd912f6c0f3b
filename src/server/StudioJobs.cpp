// Studio's longer-running parts: render jobs (a worker thread), downloads, recordings and the live
// session (played through a track of the studio's engine).
#include "server/Studio.h"
#include "server/StudioParts.h"

#include <fmt/format.h>

#include <algorithm>
#include <sndfile.h>

#include <cmath>
#include <fstream>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "models/Conform.h"
#include "models/ModelService.h"
#include "music/JsonText.h"
#include "music/MusicConfig.h"
#include "sequencer/MeterMap.h"

namespace soundstar::server {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {
// An instrument that plays a live session: its process() renders the session's engine [rt].
class LiveSource final : public engine::Instrument {
public:
    explicit LiveSource(std::shared_ptr<live::LiveSession> s) : session_(std::move(s)), engine_(&session_->engine()) {}
    void prepare(double, int) override {}
    void noteOn(float, float) override {}
    void noteOff(float) override {}
    void allNotesOff() override {}
    void setParam(int, float) override {}
    void process(StereoView io) override { engine_->render(io); }
    std::span<const engine::ParamSpec> params() const override { return {}; }
    int activeVoices() const override { return 0; }
    const char* kind() const override { return "live"; }

private:
    std::shared_ptr<live::LiveSession> session_;  // freed with the track, on the control side
    engine::AudioEngine* engine_;
};

std::unique_ptr<engine::Instrument> makeLiveSource(std::shared_ptr<live::LiveSession> s) { return std::make_unique<LiveSource>(std::move(s)); }

}  // namespace

// ---- render jobs ----

void Studio::renderWorker() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(jobsMutex_);
            jobsReady_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = queue_.front();
            queue_.pop_front();
            job->state = "running";
        }
        std::string error;
        json report;
        try {
            if (job->kind == "generate") {
                report = hooks_.generate(job->gen, [&](double p) { job->progress = p; }, job->cancel);
            } else {
                hooks_.render(job->spec, [&](double p) {
                    job->progress = p;
                    if (job->cancel) throw std::runtime_error("cancelled");  // unwinds the render; nothing is written
                });
            }
        } catch (const std::exception& e) {
            error = e.what();
        }
        std::lock_guard lock(jobsMutex_);
        // A model job whose file was written as the cancel came is done (its file is there).
        const bool cancelled = job->cancel && (job->kind == "render" || !error.empty());
        job->state = cancelled ? "cancelled" : error.empty() ? "done" : "failed";
        job->error = cancelled ? "" : music::clipText(error, 1000);
        job->report = std::move(report);
        if (error.empty()) job->progress = 1.0;
    }
}

json Studio::renderStart(const json& args) {
    const std::string file = args["file"];
    const auto ext = fs::path(file).extension().string();
    if (ext != ".wav" && ext != ".flac" && ext != ".ogg" && ext != ".mp3")
        throw std::invalid_argument(fmt::format("file '{}' needs one of the extensions .wav .flac .ogg .mp3", music::clipText(file, 80)));
    auto job = std::make_shared<Job>();
    job->spec.prompt = args["prompt"];
    job->spec.durationSeconds = args.value("duration", 30.0);
    if (args.contains("seed")) job->spec.seed = args["seed"].get<std::uint64_t>();
    job->spec.output = dataPath(file, "file");
    job->file = file;
    if (args.value("midi", false)) {
        job->midi = fs::path(file).replace_extension(".mid").generic_string();
        job->spec.midiFile = dataPath(job->midi, "midi file");
    }
    if (args.value("stems", false)) {
        job->stems = fs::path(file).replace_extension(".stems").generic_string();
        job->spec.stemsDir = dataPath(job->stems, "stems folder");
    }
    queueJob(job);
    return {{"job", job->id}, {"state", "queued"}, {"file", file}};
}

std::shared_ptr<Studio::Job> Studio::queueJob(std::shared_ptr<Job> job) {
    std::lock_guard lock(jobsMutex_);
    if (static_cast<int>(queue_.size()) >= options_.maxQueuedJobs)
        throw ApiError(429, fmt::format("too many render and model jobs waiting: at most {} queued", options_.maxQueuedJobs));
    job->id = nextJob_++;
    jobs_[job->id] = job;
    queue_.push_back(job);
    while (jobs_.size() > 64 && jobs_.begin()->second->state != "queued" && jobs_.begin()->second->state != "running") jobs_.erase(jobs_.begin());
    jobsReady_.notify_one();
    return job;
}

// ---- model jobs ----

fs::path Studio::modelPath(const std::string& model) const {
    // A model's name (a folder in a model root), or a folder inside a model root or --data.
    std::error_code ec;
    const fs::path p(model);
    if (model.empty() || model.size() > 4096) throw std::invalid_argument("model must be a model's name or folder, 1 to 4096 bytes");
    if (p.filename() == p && model != "." && model != "..")
        for (const auto& root : options_.modelRoots)
            if (fs::is_directory(root / p, ec)) return fs::weakly_canonical(root / p, ec);
    const fs::path full = fs::weakly_canonical(p.is_absolute() ? p : dataRoot_ / p, ec);
    bool inside = false;
    std::vector<fs::path> roots = options_.modelRoots;
    roots.push_back(dataRoot_);
    std::string allowed;
    for (const auto& root : roots) {
        const auto r = fs::weakly_canonical(root, ec);
        const auto rel = full.lexically_relative(r);
        if (!rel.empty() && *rel.begin() != ".." && rel != ".") inside = true;
        if (allowed.size() < 1200) allowed += (allowed.empty() ? "" : ", ") + r.string();
    }
    if (!inside)
        throw ApiError(403, fmt::format("model '{}' is outside the server's model roots and --data; allowed: a model's name or a folder under {}", music::clipText(model, 200),
                                        allowed));
    if (!fs::is_directory(full, ec)) throw ApiError(404, fmt::format("no model folder '{}' (a model's name in {} or a folder with manifest.json)", music::clipText(model, 200), allowed));
    return full;
}

json Studio::generateStart(const json& args) {
    if (!hooks_.generate) throw ApiError(501, "this server runs no model service");
    const std::string file = args["file"];
    if (fs::path(file).extension() != ".wav") throw std::invalid_argument(fmt::format("file '{}' must end in .wav", music::clipText(file, 80)));
    const double seconds = args.value("seconds", 10.0);
    if (!(seconds >= 0.1 && seconds <= kMaxGenerateSeconds))
        throw std::invalid_argument(fmt::format("seconds {}: allowed 0.1 to {} seconds", seconds, kMaxGenerateSeconds));
    auto job = std::make_shared<Job>();
    job->kind = "generate";
    job->gen.prompt = args["prompt"];
    job->gen.seconds = seconds;
    if (args.contains("seed")) job->gen.seed = args["seed"].get<std::uint64_t>();
    if (args.contains("steps")) job->gen.steps = args["steps"].get<int>();
    if (args.contains("guidance")) job->gen.guidance = args["guidance"].get<double>();
    if (args.contains("top_k")) job->gen.topK = args["top_k"].get<int>();
    if (args.contains("temperature")) job->gen.temperature = args["temperature"].get<double>();
    if (args.contains("threads")) job->gen.threads = args["threads"].get<int>();
    if (args.contains("sample_rate")) job->gen.sampleRate = args["sample_rate"].get<int>();
    const int takes = args.value("takes", 1);
    if (args.contains("loop")) {
        // Checked now, so a bad option is a 400 and not a failed job; the tempo is the transport's
        // unless given, the length whole bars (1-64) of 4 beats unless given.
        json loop = args["loop"];
        if (loop.is_object() && !loop.contains("target_bpm")) {
            if (!(tempoBpm_ >= models::kConformMinBpm && tempoBpm_ <= models::kConformMaxBpm))
                throw std::invalid_argument(fmt::format("loop: the transport's tempo {:g} bpm is outside the {:g} to {:g} bpm a loop is fitted to; give loop.target_bpm",
                                                        tempoBpm_, models::kConformMinBpm, models::kConformMaxBpm));
            loop["target_bpm"] = tempoBpm_;
        }
        try {
            const auto o = models::conformOptionsFromJson(loop);
            const double loopSeconds = o.bars * o.beatsPerBar * 60.0 / o.targetBpm;
            if (loopSeconds > seconds)
                throw std::invalid_argument(fmt::format("loop: {} bars of {} beats at {:.4g} bpm last {:.4g} s, longer than the {:.4g} seconds asked for; ask for more seconds "
                                                        "(about {:.0f} leave room for a slower source and its first beat) or fewer bars",
                                                        o.bars, o.beatsPerBar, o.targetBpm, loopSeconds, seconds, models::generatorSecondsFor(o.bars, o.beatsPerBar * 60.0 / o.targetBpm)));
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            throw std::invalid_argument(what.rfind("loop", 0) == 0 ? what : "loop: " + what);
        }
        job->gen.loop = std::move(loop);
    }
    job->gen.model = modelPath(args.value("model", std::string("procedural")));
    job->gen.output = dataPath(file, "file");
    json files = json::array({file});
    for (int t = 1; t < takes; ++t) {  // take t + 1 beside the first: song.wav, song-2.wav ...
        const std::string name = models::takeFileName(file, t).string();
        job->gen.takeOutputs.push_back(dataPath(name, "file"));
        files.push_back(name);
    }
    job->file = file;
    job->takeFiles = files;
    queueJob(job);
    return {{"job", job->id}, {"state", "queued"}, {"file", file}, {"files", files}, {"model", job->gen.model.filename().string()}};
}

json Studio::generateStatus(const json& args) const {
    const long id = args["job"];
    std::lock_guard lock(jobsMutex_);
    const auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second->kind != "generate") throw ApiError(404, fmt::format("no model job {} (the server keeps the last 64 jobs)", id));
    const Job& j = *it->second;
    json out = {{"job", j.id}, {"state", j.state}, {"progress", j.progress.load()}, {"file", j.file}, {"model", j.gen.model.filename().string()}, {"seconds", j.gen.seconds},
                {"seed", j.gen.seed}};
    // The model settings asked for (the model's own defaults apply to the others).
    if (j.gen.steps) out["steps"] = *j.gen.steps;
    if (j.gen.guidance) out["guidance"] = *j.gen.guidance;
    if (j.gen.topK) out["top_k"] = *j.gen.topK;
    if (j.gen.temperature) out["temperature"] = *j.gen.temperature;
    if (j.gen.threads) out["threads"] = *j.gen.threads;
    if (j.gen.sampleRate) out["sample_rate"] = *j.gen.sampleRate;
    out["takes"] = 1 + j.gen.takeOutputs.size();
    out["files"] = j.takeFiles;
    if (!j.gen.loop.is_null()) out["loop_options"] = j.gen.loop;
    if (!j.report.is_null()) out["loop"] = j.report;
    if (!j.error.empty()) out["error"] = j.error;
    return out;
}

json Studio::generateCancel(const json& args) {
    const long id = args["job"];
    {
        std::lock_guard lock(jobsMutex_);
        const auto it = jobs_.find(id);
        if (it == jobs_.end() || it->second->kind != "generate") throw ApiError(404, fmt::format("no model job {}", id));
    }
    return renderCancel(args);
}

json Studio::renderStatus(const json& args) const {
    const long id = args["job"];
    std::lock_guard lock(jobsMutex_);
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) throw ApiError(404, fmt::format("no render job {} (the server keeps the last 64)", id));
    const Job& j = *it->second;
    json out = {{"job", j.id}, {"state", j.state}, {"progress", j.progress.load()}, {"file", j.file}};
    if (!j.error.empty()) out["error"] = j.error;
    if (!j.midi.empty() && j.state == "done") out["midi"] = j.midi;
    if (!j.stems.empty() && j.state == "done") {
        // One WAV per layer, named by the layer, in the job's stems folder.
        std::vector<std::string> stems;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(j.spec.stemsDir, ec))
            if (e.path().extension() == ".wav" && stems.size() < 64) stems.push_back(j.stems + "/" + e.path().filename().string());
        std::sort(stems.begin(), stems.end());
        out["stems"] = stems;
    }
    return out;
}

json Studio::renderCancel(const json& args) {
    const long id = args["job"];
    std::lock_guard lock(jobsMutex_);
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) throw ApiError(404, fmt::format("no render job {}", id));
    Job& job = *it->second;
    if (job.state == "running") {
        job.cancel = true;  // a render stops at its next progress report (every 10 s of audio), a model job within 100 ms
        return {{"job", id}, {"state", "cancelling"}};
    }
    if (job.state != "queued") throw ApiError(409, fmt::format("{} job {} is {}: nothing to cancel", job.kind, id, job.state));
    queue_.erase(std::find(queue_.begin(), queue_.end(), it->second));
    job.state = "cancelled";
    return {{"job", id}, {"state", "cancelled"}};
}

HttpResponse Studio::readFile(const std::string& name) const {
    constexpr std::uintmax_t kMaxBytes = std::uintmax_t{256} << 20;
    const fs::path p = dataPath(name, "path");
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw ApiError(404, fmt::format("no file '{}' under --data", music::clipText(name, 80)));
    const auto size = fs::file_size(p, ec);
    if (ec || size > kMaxBytes) throw ApiError(413, fmt::format("'{}' is over the download limit of 256 MiB", music::clipText(name, 80)));
    static const std::map<std::string, std::string> kTypes = {{".wav", "audio/wav"}, {".flac", "audio/flac"}, {".ogg", "audio/ogg"},
                                                              {".mp3", "audio/mpeg"}, {".mid", "audio/midi"}, {".json", "application/json"}};
    const auto type = kTypes.find(p.extension().string());
    std::ifstream in(p, std::ios::binary);
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    return {200, type == kTypes.end() ? "application/octet-stream" : type->second, std::move(bytes), {}};
}

// ---- recording ----

json Studio::recordStart(const json& args) {
    if (recording_) throw ApiError(409, fmt::format("already recording to '{}'; record_stop first", recording_->name));
    const std::string file = args["file"];
    if (fs::path(file).extension() != ".wav") throw std::invalid_argument(fmt::format("file '{}' must end in .wav (a 32-bit float WAV)", music::clipText(file, 80)));
    auto r = std::make_unique<Recording>();
    const fs::path target = dataPath(file, "file");
    const fs::path temp = r->files.add(target, "record");
    SF_INFO info{};
    info.channels = 2;
    info.samplerate = static_cast<int>(options_.sampleRate);
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    r->sf = sf_open(temp.c_str(), SFM_WRITE, &info);
    if (!r->sf) throw ApiError(409, fmt::format("cannot write '{}': {}", music::clipText(file, 80), sf_strerror(nullptr)));
    drainTap();  // what played before this moment is not part of the recording
    r->name = file;
    r->firstSample = drainedFrames_;
    recording_ = std::move(r);
    return {{"file", file}, {"first_sample", recording_->firstSample}};
}

json Studio::recordStop() {
    if (!recording_) throw ApiError(409, "not recording (record_start begins a recording)");
    drainTap();
    auto r = std::move(recording_);
    sf_close(r->sf);
    r->sf = nullptr;
    r->files.commit();
    return {{"file", r->name}, {"first_sample", r->firstSample}, {"frames", r->frames}};
}

// ---- live ----

json Studio::liveStatus() const {
    if (!live_) return nullptr;
    auto& s = *live_->session;
    const SampleTime now = s.engine().now();
    const double beat = s.beatAt(now);
    json layerMix = json::object();
    for (std::size_t i = 0; i < s.layers().size(); ++i) {
        const auto mix = i < s.layerMix().size() ? s.layerMix()[i] : live::LiveSession::LayerMix{};
        layerMix[s.layers()[i]] = {{"mute", mix.mute}, {"solo", mix.solo}, {"gain_db", mix.gainDb}, {"pan", mix.pan}};
    }
    return {{"vibe", s.current().label},
            {"track", "live"},
            {"bpm", s.current().config.resolvedBpm()},
            {"sample", now},
            {"bar", static_cast<long long>(std::floor(beat / 4.0))},
            {"beat_in_bar", std::fmod(beat, 4.0)},
            {"section", s.sectionAt(now)},
            {"config", json::parse(music::toJson(s.current().config))},
            {"started_at_sample", live_->startSample},
            {"late_commands", s.lateCommands()},
            {"changes", s.events().size()},
            {"stopping", live_->endAt >= 0},
            {"sample_rate", options_.sampleRate},
            {"layers", s.layers()},
            {"layer_mix", layerMix},
            {"sections", liveSections()}};
}

json Studio::liveMix(const json& args) {
    if (!live_) throw ApiError(409, "no live session: live_start starts one");
    if (!args.contains("mute") && !args.contains("solo") && !args.contains("gain_db") && !args.contains("pan"))
        throw std::invalid_argument("set at least one of mute, solo, gain_db, pan");
    const auto flag = [&](const char* key) { return args.contains(key) ? std::optional<bool>(args[key].get<bool>()) : std::nullopt; };
    const auto value = [&](const char* key) { return args.contains(key) ? std::optional<float>(args[key].get<float>()) : std::nullopt; };
    SampleTime at = 0;
    try {
        if (args.contains("gain_db") || args.contains("pan")) at = live_->session->setLayerTrim(args["layer"], value("gain_db"), value("pan"));
        if (args.contains("mute") || args.contains("solo")) at = live_->session->setLayerMix(args["layer"], flag("mute"), flag("solo"));
    } catch (const std::runtime_error& e) {  // the queue is full (an unknown layer is an invalid_argument: 400)
        throw ApiError(503, e.what());
    }
    const auto& mix = live_->session->layerMix();
    const auto li = static_cast<std::size_t>(std::find(live_->session->layers().begin(), live_->session->layers().end(), args["layer"]) - live_->session->layers().begin());
    return {{"layer", args["layer"]}, {"mute", mix[li].mute}, {"solo", mix[li].solo}, {"gain_db", mix[li].gainDb}, {"pan", mix[li].pan}, {"applied_at_live_sample", at}};
}

json Studio::liveSections() const {
    // The sections of the last minute and those scheduled ahead (about 16 bars), at most 24.
    auto& s = *live_->session;
    const SampleTime from = s.engine().now() - static_cast<SampleTime>(60.0 * options_.sampleRate);
    json out = json::array();
    for (const auto& e : s.sections()) {
        if (e.sample < from) continue;
        json section = {{"sample", e.sample}, {"kind", e.label}, {"bar", e.bar}, {"bpm", e.bpm}, {"vibe", e.vibe}};
        if (const auto* shape = s.sectionShape(e)) {
            section["bars"] = shape->bars;
            section["energy"] = shape->energy;
            section["layers"] = shape->layers;
        }
        out.push_back(std::move(section));
    }
    if (out.size() > 24) out.erase(out.begin(), out.end() - 24);
    return out;
}

std::size_t Studio::liveSlot() const {
    if (live_) throw ApiError(429, fmt::format("at most {} live session at a time; live_stop ends the one playing", options_.maxLiveSessions));
    for (const auto& s : slots_)
        if (s.name == "live") throw ApiError(409, "a track named 'live' exists; the live session plays on a track of that name");
    const auto free = std::find_if(slots_.begin(), slots_.end(), [](const TrackSlot& s) { return s.name.empty(); });
    if (free == slots_.end()) throw ApiError(429, fmt::format("the live session needs a track and all {} are taken (free_track releases one)", options_.maxTracks));
    return static_cast<std::size_t>(free - slots_.begin());
}

json Studio::installLive(std::unique_ptr<LiveState> state, std::size_t slot, bool sync) {
    state->session->pump(static_cast<SampleTime>(kLiveAhead * options_.sampleRate));
    state->address = static_cast<int>(slot);
    SampleTime at = std::max(scheduler_.earliest(engine_.now(), options_.blockSize), readyAt_[slot]);
    json synced = nullptr;
    if (sync) {
        // On the sequencer's transport: from its next bar line, at the live tempo, so the live
        // composer's bars (4/4, counted from its start) are the sequencer's bars.
        const double startBeat = meters().quantise(transport_.beatAt(at), 1.0);
        const auto& m = meters().meterAt(startBeat);
        if (m.barBeats() != 4.0)
            throw ApiError(409, fmt::format("sync needs 4-beat bars (the live composer plays 4/4); the time signature at beat {:g} is {}/{}", startBeat, m.numerator, m.denominator));
        at = transport_.sampleAtBeat(startBeat);
        const double bpm = state->session->current().config.resolvedBpm();
        setTempo({{"bpm", bpm}, {"at", {{"sample", at}}}}, CallContext{});
        synced = {{"start_sample", at}, {"start_beat", startBeat}, {"start_bar", static_cast<long long>(std::llround(meters().barAt(startBeat)))}, {"bpm", bpm}};
    }
    readyAt_[slot] = at;
    auto track = std::make_shared<std::unique_ptr<engine::Track>>(controller_->makeTrack("live", makeLiveSource(state->session)));
    (*track)->prepare(options_.sampleRate, options_.blockSize);
    schedule(at, [this, address = state->address, track](SampleTime t) {
        controller_->replaceTrack(address, std::move(*track), t);
        return true;
    });
    state->startSample = at;
    state->synced = sync;
    if (!state->session->tempoChanges().empty()) state->tempoSeen = state->session->tempoChanges().back().made;
    TrackSlot ts;
    ts.name = "live";
    ts.instrument = "live";
    slots_[slot] = std::move(ts);
    live_ = std::move(state);
    liveEventsSent_ = djEventsSent_ = 0;
    return synced;
}

json Studio::liveStart(const json& args) {
    const std::size_t slot = liveSlot();
    const auto t = live::parseTransition(args.value("transition", std::string("4")));
    live::LiveOptions o;
    o.sampleRate = options_.sampleRate;
    o.blockSize = options_.blockSize;
    o.transitionSeconds = t.seconds;
    o.transitionBars = t.bars;
    auto state = std::make_unique<LiveState>();
    if (args.contains("seed")) state->seed = args["seed"].get<std::uint64_t>();
    state->session = std::make_shared<live::LiveSession>(*hooks_.presets, hooks_.vibeFromText(args["vibe"], state->seed), o);
    const json synced = installLive(std::move(state), slot, args.value("sync", false));
    json out = liveStatus();
    out["synced"] = synced;
    return out;
}

json Studio::liveSteer(const json& args) {
    if (!live_ || live_->endAt >= 0) throw ApiError(409, "no live session is playing (live_start begins one)");
    if (live_->dj) throw ApiError(409, "a DJ set steers this live session: dj_command steers it, dj_stop ends it");
    auto& s = *live_->session;
    const std::string line = args["line"].is_string() ? args["line"].get<std::string>() : args["line"].dump();
    const auto c = live::parseSteering(line, s.current().config);
    if (c.quit) return liveStop();
    const SampleTime now = s.engine().now();
    const SampleTime soon = now + static_cast<SampleTime>(0.05 * options_.sampleRate);
    const SampleTime earliest = c.atBar ? std::max(soon, s.barLine(*c.atBar)) : soon;
    double seconds = 0.0;  // this change's own transition, if the line names one
    if (c.transition) seconds = c.transition->bars > 0 ? c.transition->bars * 240.0 / s.bpmAt(now) : c.transition->seconds;
    if (c.layers) {
        const SampleTime at = s.setLayers(*c.layers, earliest);
        return {{"changed", true}, {"label", c.label}, {"kind", "layers"}, {"starts_at_sample", at}, {"live_sample", now}};
    }
    std::optional<live::StreamVibe> next;
    if (c.vibeText) {
        next = hooks_.vibeFromText(*c.vibeText, live_->seed);
    } else if (!c.blend.empty()) {
        std::vector<std::pair<music::MusicConfig, double>> parts;
        for (const auto& [text, weight] : c.blend) parts.emplace_back(hooks_.vibeFromText(text, live_->seed).config, weight);
        next = hooks_.vibeFromConfig(c.label, live::blendConfigs(parts));
    } else if (c.config) {
        next = hooks_.vibeFromConfig(c.label, *c.config);
    }
    if (!next) return {{"changed", false}};
    const SampleTime at = s.change(*next, earliest, c.grid, seconds);
    json out = {{"changed", true}, {"label", c.label}, {"kind", s.events().back().kind}, {"starts_at_sample", at}, {"live_sample", now}};
    if (json tempo = followLiveTempo(); !tempo.is_null()) out["transport_tempo"] = tempo;
    return out;
}

json Studio::followLiveTempo() {
    if (!live_ || !live_->synced) return nullptr;
    json last = nullptr;
    const SampleTime earliest = scheduler_.earliest(engine_.now(), options_.blockSize);
    for (const auto& c : live_->session->tempoChanges()) {
        if (c.made <= live_->tempoSeen) continue;
        live_->tempoSeen = c.made;
        // On the transport from the same sample (the session's sample 0 plays at startSample) over
        // the same beats, so its beats stay the session's; a change seen late starts where it has got to.
        const double from = transport_.beatAt(live_->startSample + c.sample), now = transport_.beatAt(earliest);
        const double beat = std::max(from, now), beats = std::max(0.0, c.beats - (beat - from));
        try {
            transport_.planTempo(c.bpm, beat, std::min(beats, Transport::kMaxRampBeats));
        } catch (const std::invalid_argument&) {
            continue;  // out of the transport's range (a session's tempo never is)
        }
        tempoBpm_ = c.bpm;
        last = {{"bpm", c.bpm}, {"ramp_beats", beats}, {"at_sample", transport_.sampleAtBeat(beat)}, {"at_beat", beat}};
        emit({{"type", "tempo"}, {"bpm", c.bpm}, {"ramp_beats", beats}, {"at_sample", transport_.sampleAtBeat(beat)}, {"source", "live"}});
    }
    if (!last.is_null()) scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); }, earliest);
    return last;
}

json Studio::liveStop() {
    if (!live_) throw ApiError(409, "no live session is playing");
    if (live_->endAt < 0) {
        auto& s = *live_->session;
        const SampleTime now = s.engine().now();
        const SampleTime from = std::max(now, s.scheduledUntil());
        s.fadeOut(from, 0.1);
        live_->endAt = from + static_cast<SampleTime>(0.15 * options_.sampleRate);
    }
    return {{"stops_at_sample", live_->endAt}};
}

}  // namespace soundstar::server

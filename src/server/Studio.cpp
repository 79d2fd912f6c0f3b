#include "server/Studio.h"
#include "server/StudioParts.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <cmath>
#include <fstream>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "music/JsonText.h"

namespace soundstar::server {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {
constexpr double kMaxRecordingSeconds = 3600.0;

std::unique_ptr<io::AudioDevice> makeDevice(const std::string& kind) {
    auto d = kind == "null" ? io::makeNullDevice() : io::makeRtAudioDevice();
    if (!d) throw std::runtime_error("this build has no audio device support; use --device null");
    return d;
}

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

std::unique_ptr<engine::Track> placeholder(engine::Controller& c) {
    auto t = c.makeTrack("", engine::makeInstrument("subtractive"), 0.0f, 0.0f);
    t->mute = true;
    return t;
}

}  // namespace

Studio::Studio(const StudioOptions& options, StudioHooks hooks)
    : options_(options),
      hooks_(std::move(hooks)),
      transport_(options.sampleRate),
      scheduler_(options.blockSize * 4 + static_cast<SampleTime>(0.01 * options.sampleRate)) {
    std::error_code ec;
    fs::create_directories(options_.dataDir, ec);
    dataRoot_ = fs::canonical(options_.dataDir, ec);
    if (ec) throw std::runtime_error(fmt::format("--data {}: {}", options_.dataDir.string(), ec.message()));
    engine_.prepare(options_.sampleRate, options_.blockSize);
    controller_ = std::make_unique<engine::Controller>(engine_);
    slots_.resize(static_cast<std::size_t>(options_.maxTracks));
    readyAt_.assign(slots_.size(), 0);
    for (int i = 0; i < options_.maxTracks; ++i) controller_->addTrack(placeholder(*controller_));
    const int reverb = controller_->addBus("reverb", 0.0f);
    controller_->addEffect(reverb, engine::makeEffect("reverb"));
    const int delay = controller_->addBus("delay", 0.0f);
    controller_->addEffect(delay, engine::makeEffect("delay"));
    controller_->commit();
    tapBuffer_.resize(std::size_t{1} << 17);  // the whole ring (1 << 16 frames), interleaved
    engine_.setTap(&tap_);
    worker_ = std::thread([this] { renderWorker(); });
    device_ = makeDevice(options_.device);
    startEngine();
}

Studio::~Studio() { shutdown(); }

void Studio::shutdown() {
    {
        std::lock_guard lock(jobsMutex_);
        stopping_ = true;
    }
    jobsReady_.notify_all();
    if (worker_.joinable()) worker_.join();
    live_.reset();
    if (device_ && running_) device_->stop();
    running_ = false;
    if (recording_) {
        try {
            recordStop();
        } catch (const std::exception& e) {
            fmt::print(stderr, "soundstar serve: {}\n", e.what());
        }
    }
}

// ---- timing ----

Studio::When Studio::resolveAt(const json& args, const CallContext& ctx) const {
    const SampleTime earliest = scheduler_.earliest(engine_.now(), options_.blockSize);
    SampleTime requested = earliest + latency_;  // "now": a steady delay makes jittery clients steady
    std::optional<double> beat;
    if (ctx.timetag && !ctx.timetag->immediate()) {
        // Offsets inside a bundle are kept exact: from the outermost bundle's sample, not the wall clock.
        const osc::TimeTag anchor = ctx.anchor ? *ctx.anchor : *ctx.timetag;
        const auto diff = static_cast<std::int64_t>(ctx.timetag->ntp - anchor.ntp);
        requested = clock_.sampleAt(anchor) + static_cast<SampleTime>(std::llround(static_cast<double>(diff) / 4294967296.0 * options_.sampleRate));
    } else if (const auto it = args.find("at"); it != args.end() && !it->is_string()) {
        const json& at = *it;
        if (at.contains("sample")) {
            requested = at["sample"].get<SampleTime>();
        } else if (at.contains("beat")) {
            beat = at["beat"].get<double>();
            requested = transport_.sampleAtBeat(*beat);
        } else {
            const double beats = at["quantize"] == "bar" ? transport_.beatsPerBar() : 1.0;
            beat = std::ceil(transport_.beatAt(earliest) / beats - 1e-9) * beats;
            requested = transport_.sampleAtBeat(*beat);
        }
    }
    // A beat already past is not a beat any more: it plays now and stays there.
    if (requested < earliest) beat.reset();
    return {requested, std::max(requested, earliest), beat};
}

json Studio::stamp(const When& w) const {
    return {{"applied_at_sample", w.applied},
            {"late_by_samples", w.applied - w.requested},
            {"applied_at_beat", transport_.beatAt(w.applied)}};
}

Studio::When Studio::afterSwap(When w, int address) const {
    if (address < 0 || address >= static_cast<int>(readyAt_.size())) return w;
    const SampleTime ready = readyAt_[static_cast<std::size_t>(address)];
    if (w.applied < ready) {
        w.applied = ready;
        w.beat.reset();
    }
    return w;
}

void Studio::schedule(SampleTime t, Scheduler::Post post, std::optional<double> beat) {
    // Everything was checked when it was asked for; should the engine still refuse (a bug), the
    // command is reported and dropped rather than stopping the control thread.
    auto guarded = [post = std::move(post)](SampleTime at) {
        try {
            return post(at);
        } catch (const std::exception& e) {
            fmt::print(stderr, "soundstar serve: a command at sample {} was dropped: {}\n", at, e.what());
            return true;
        }
    };
    try {
        scheduler_.schedule(t, std::move(guarded), beat);
    } catch (const std::length_error& e) {
        throw ApiError(429, e.what());
    }
    scheduler_.pump(engine_.now());
}

// ---- addressing ----

int Studio::trackAddress(const std::string& name) const {
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].name == name) return static_cast<int>(i);
    std::string names;
    for (const auto& s : slots_)
        if (!s.name.empty()) names += (names.empty() ? "" : ", ") + s.name;
    throw ApiError(404, fmt::format("no track '{}'; tracks: {}", music::clipText(name, 60), names.empty() ? "none (create_track makes one)" : names));
}

int Studio::mixAddress(const std::string& target) const {
    if (target == "master") return engine::kMasterAddress;
    if (target == "reverb") return engine::kReturnBase;
    if (target == "delay") return engine::kReturnBase + 1;
    return trackAddress(target);
}

fs::path Studio::dataPath(const std::string& name, const char* what) const {
    const fs::path p(name);
    if (name.empty() || p.is_absolute())
        throw ApiError(403, fmt::format("{} '{}' must be a relative path under the server's --data folder", what, music::clipText(name, 80)));
    for (const auto& part : p)
        if (part == "..") throw ApiError(403, fmt::format("{} '{}' may not contain '..': files stay under --data", what, music::clipText(name, 80)));
    std::error_code ec;
    const fs::path full = fs::weakly_canonical(dataRoot_ / p, ec);  // follows symlinks that exist
    const auto rel = full.lexically_relative(dataRoot_);
    if (ec || rel.empty() || *rel.begin() == "..")
        throw ApiError(403, fmt::format("{} '{}' leads outside the --data folder", what, music::clipText(name, 80)));
    return full;
}

// ---- the engine's heartbeat ----

void Studio::drainTap() {
    const std::size_t capacity = tapBuffer_.size() / 2;
    for (std::size_t n; (n = tap_.read(tapBuffer_.data(), capacity)) > 0;) {
        for (std::size_t i = 0; i < n; ++i) {
            tickPeakLeft_ = std::max(tickPeakLeft_, std::abs(tapBuffer_[2 * i]));
            tickPeakRight_ = std::max(tickPeakRight_, std::abs(tapBuffer_[2 * i + 1]));
        }
        peak_ = std::max({peak_, tickPeakLeft_, tickPeakRight_});
        if (recording_ && recording_->sf && recording_->frames < static_cast<SampleTime>(kMaxRecordingSeconds * options_.sampleRate)) {
            sf_writef_float(recording_->sf, tapBuffer_.data(), static_cast<sf_count_t>(n));
            recording_->frames += static_cast<SampleTime>(n);
        }
        drainedFrames_ += static_cast<SampleTime>(n);
        for (auto& [id, s] : subscribers_)
            if (s.audio) s.audioPending.append(reinterpret_cast<const char*>(tapBuffer_.data()), n * 2 * sizeof(float));
    }
}

void Studio::tick() {
    scheduler_.pump(engine_.now());
    controller_->collect();
    drainTap();
    for (std::size_t i = 0; i < waiters_.size();) {
        if (engine_.now() > waiters_[i].until) {
            auto w = std::move(waiters_[i]);
            waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
            w.done(Outcome{200, {{"synced_at_sample", engine_.now()}, {"waited_for_sample", w.until}}, {}});
        } else {
            ++i;
        }
    }
    publish();
    if (live_) {
        const SampleTime liveNow = live_->session->engine().now();
        live_->session->pump(liveNow + static_cast<SampleTime>(0.2 * options_.sampleRate));
        if (live_->endAt >= 0 && liveNow >= live_->endAt) {
            auto placeholder = controller_->makeTrack("", engine::makeInstrument("subtractive"));
            placeholder->mute = true;
            swapTrack(live_->address, std::move(placeholder), scheduler_.earliest(engine_.now(), options_.blockSize));
            slots_[static_cast<std::size_t>(live_->address)] = TrackSlot{};
            live_.reset();
        }
    }
}

// ---- engine ----

json Studio::status() const {
    const double beat = transport_.beatAt(engine_.now());
    json live = live_ ? liveStatus() : json(nullptr);
    return {{"running", running_},
            {"device", device_ ? device_->name() : ""},
            {"sample_rate", options_.sampleRate},
            {"block_size", options_.blockSize},
            {"latency_samples", options_.blockSize + latency_},
            {"cpu_load", engine_.load()},
            {"xruns", engine_.overruns()},
            {"late_commands", controller_->lateCommands()},
            {"voices", engine_.voices()},
            {"sample", engine_.now()},
            {"beat", beat},
            {"bar", static_cast<long long>(std::floor(beat / transport_.beatsPerBar()))},
            {"bpm", transport_.bpmAt(engine_.now())},
            {"queued_commands", scheduler_.pending()},
            {"tracks", listTracks()},
            {"max_tracks", options_.maxTracks},
            {"peak", peak_},
            {"recording", recording_ ? json(recording_->name) : json(nullptr)},
            {"tap_dropped_frames", tap_.dropped()},
            {"live", live}};
}

json Studio::startEngine() {
    if (!running_) {
        device_->start(engine_);
        clock_.anchor(engine_.now(), options_.sampleRate);
        running_ = true;
    }
    return {{"running", true}, {"sample", engine_.now()}};
}

json Studio::stopEngine() {
    if (running_) device_->stop();
    running_ = false;
    for (auto& w : waiters_) w.done(Outcome{409, nullptr, "sync: the engine was stopped before the barrier was reached"});
    waiters_.clear();
    return {{"running", false}, {"sample", engine_.now()}};
}

void Studio::sync(const json& args, Done done) {
    if (!running_) throw ApiError(409, "sync: the engine is stopped (start it first)");
    const SampleTime until = std::max(scheduler_.lastScheduled(), engine_.now());
    if (until - engine_.now() > static_cast<SampleTime>(60.0 * options_.sampleRate))
        throw ApiError(409, fmt::format("sync waits at most 60 s; the last queued command is at sample {}, {:.1f} s ahead", until,
                                        static_cast<double>(until - engine_.now()) / options_.sampleRate));
    waiters_.push_back({until, std::move(done)});
}

json Studio::setTempo(const json& args, const CallContext& ctx) {
    const When w = resolveAt(args, ctx);
    transport_.setTempo(args["bpm"].get<double>(), w.applied);
    const std::size_t moved = scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); },
                                                scheduler_.earliest(engine_.now(), options_.blockSize));
    json out = stamp(w);
    out["bpm"] = args["bpm"];
    out["moved_commands"] = moved;
    emit({{"type", "tempo"}, {"bpm", args["bpm"]}, {"at_sample", w.applied}});
    return out;
}

json Studio::setLatency(const json& args) {
    latency_ = static_cast<SampleTime>(std::llround(args["seconds"].get<double>() * options_.sampleRate));
    return {{"latency_samples", options_.blockSize + latency_}, {"added_samples", latency_}};
}

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
        try {
            hooks_.render(job->spec, [&](double p) { job->progress = p; });
        } catch (const std::exception& e) {
            error = e.what();
        }
        std::lock_guard lock(jobsMutex_);
        job->state = error.empty() ? "done" : "failed";
        job->error = music::clipText(error, 1000);
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
    std::lock_guard lock(jobsMutex_);
    if (static_cast<int>(queue_.size()) >= options_.maxQueuedJobs)
        throw ApiError(429, fmt::format("too many render jobs waiting: at most {} queued", options_.maxQueuedJobs));
    job->id = nextJob_++;
    jobs_[job->id] = job;
    queue_.push_back(job);
    while (jobs_.size() > 64 && jobs_.begin()->second->state != "queued" && jobs_.begin()->second->state != "running") jobs_.erase(jobs_.begin());
    jobsReady_.notify_one();
    return {{"job", job->id}, {"state", "queued"}, {"file", file}};
}

json Studio::renderStatus(const json& args) const {
    const long id = args["job"];
    std::lock_guard lock(const_cast<std::mutex&>(jobsMutex_));
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) throw ApiError(404, fmt::format("no render job {} (the server keeps the last 64)", id));
    const Job& j = *it->second;
    json out = {{"job", j.id}, {"state", j.state}, {"progress", j.progress.load()}, {"file", j.file}};
    if (!j.error.empty()) out["error"] = j.error;
    return out;
}

json Studio::renderCancel(const json& args) {
    const long id = args["job"];
    std::lock_guard lock(jobsMutex_);
    const auto it = jobs_.find(id);
    if (it == jobs_.end()) throw ApiError(404, fmt::format("no render job {}", id));
    if (it->second->state != "queued")
        throw ApiError(409, fmt::format("render job {} is {}: only a queued job can be cancelled", id, it->second->state));
    queue_.erase(std::find(queue_.begin(), queue_.end(), it->second));
    it->second->state = "cancelled";
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
    return {200, type == kTypes.end() ? "application/octet-stream" : type->second, std::move(bytes)};
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
    return {{"vibe", s.current().label},
            {"track", "live"},
            {"bpm", s.current().config.resolvedBpm()},
            {"sample", s.engine().now()},
            {"started_at_sample", live_->startSample},
            {"late_commands", s.lateCommands()},
            {"changes", s.events().size()},
            {"stopping", live_->endAt >= 0}};
}

json Studio::liveStart(const json& args) {
    if (live_) throw ApiError(429, fmt::format("at most {} live session at a time; live_stop ends the one playing", options_.maxLiveSessions));
    const auto t = live::parseTransition(args.value("transition", std::string("4")));
    live::LiveOptions o;
    o.sampleRate = options_.sampleRate;
    o.blockSize = options_.blockSize;
    o.transitionSeconds = t.seconds;
    o.transitionBars = t.bars;
    for (const auto& s : slots_)
        if (s.name == "live") throw ApiError(409, "a track named 'live' exists; the live session plays on a track of that name");
    const auto free = std::find_if(slots_.begin(), slots_.end(), [](const TrackSlot& s) { return s.name.empty(); });
    if (free == slots_.end()) throw ApiError(429, fmt::format("the live session needs a track and all {} are taken (free_track releases one)", options_.maxTracks));
    auto state = std::make_unique<LiveState>();
    if (args.contains("seed")) state->seed = args["seed"].get<std::uint64_t>();
    state->session = std::make_shared<live::LiveSession>(*hooks_.presets, hooks_.vibeFromText(args["vibe"], state->seed), o);
    state->session->pump(static_cast<SampleTime>(0.2 * o.sampleRate));
    state->address = static_cast<int>(free - slots_.begin());
    const SampleTime at = std::max(scheduler_.earliest(engine_.now(), options_.blockSize), readyAt_[static_cast<std::size_t>(state->address)]);
    readyAt_[static_cast<std::size_t>(state->address)] = at;
    auto track = std::make_shared<std::unique_ptr<engine::Track>>(controller_->makeTrack("live", makeLiveSource(state->session)));
    (*track)->prepare(options_.sampleRate, options_.blockSize);
    schedule(at, [this, address = state->address, track](SampleTime t) {
        controller_->replaceTrack(address, std::move(*track), t);
        return true;
    });
    state->startSample = at;
    TrackSlot slot;
    slot.name = "live";
    slot.instrument = "live";
    *free = std::move(slot);
    live_ = std::move(state);
    liveEventsSent_ = 0;
    return liveStatus();
}

json Studio::liveSteer(const json& args) {
    if (!live_ || live_->endAt >= 0) throw ApiError(409, "no live session is playing (live_start begins one)");
    auto& s = *live_->session;
    const std::string line = args["line"].is_string() ? args["line"].get<std::string>() : args["line"].dump();
    const auto c = live::parseSteering(line, s.current().config);
    if (c.quit) return liveStop();
    const SampleTime now = s.engine().now();
    SampleTime earliest = s.nextBarLine(now + static_cast<SampleTime>(0.05 * options_.sampleRate), c.phraseBars);
    if (c.atBar) earliest = std::max(now, s.barLine(*c.atBar));
    std::optional<live::StreamVibe> next;
    if (c.vibeText) next = hooks_.vibeFromText(*c.vibeText, live_->seed);
    else if (c.config) next = hooks_.vibeFromConfig(c.label, *c.config);
    if (!next) return {{"changed", false}};
    const SampleTime at = s.change(*next, earliest);
    return {{"changed", true}, {"label", c.label}, {"starts_at_sample", at}, {"live_sample", now}};
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

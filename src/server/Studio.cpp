#include "server/Studio.h"
#include "server/StudioParts.h"

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>

#include "engine/Instruments.h"
#include "engine/Track.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "music/JsonText.h"
#include "sequencer/MeterMap.h"

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
    // Every bus slot exists in the graph from the start (bus_create fills one's chain in place).
    for (std::size_t b = 0; b < buses_.size(); ++b) {
        const std::string name = b == 0 ? "reverb" : b == 1 ? "delay" : "";
        const int address = controller_->addBus(name, 0.0f);
        if (name.empty()) continue;
        controller_->addEffect(address, engine::makeEffect(name));
        const auto p = engine::makeEffect(name)->params();
        buses_[b].name = name;
        buses_[b].chain = json::array({{{"type", name}, {"params", json::object()}}});
        buses_[b].params.emplace_back(p.begin(), p.end());
    }
    master_.name = "master";
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
        for (auto& [id, job] : jobs_) job->cancel = true;  // a running render stops soon instead of finishing
    }
    jobsReady_.notify_all();
    if (worker_.joinable()) worker_.join();
    if (assistantThread_.joinable()) assistantThread_.join();
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
            const double now = transport_.beatAt(earliest);
            beat = at["quantize"] == "bar" ? meters().quantise(now, 1.0) : std::ceil(now - 1e-9);
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
    SampleTime ready = 0;
    if (address == engine::kMasterAddress || address >= engine::kReturnBase) ready = busAt(address).readyAt;
    else if (address >= 0 && address < static_cast<int>(readyAt_.size())) ready = readyAt_[static_cast<std::size_t>(address)];
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
    if (staging_) {  // a batch: applied only when all of it succeeds (StudioState.cpp)
        staging_->push_back({t, std::move(guarded), beat});
        return;
    }
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
    if (const int bus = busAddress(target); bus >= 0) return bus;
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
    // At most the ring's size a tick: the audio thread writes on meanwhile, and a control thread
    // slower than real time (heavy live analysis) must still get back to its other work.
    for (std::size_t n, total = 0; total < kTapFrames && (n = tap_.read(tapBuffer_.data(), capacity)) > 0; total += n) {
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
        feedAnalysis(tapBuffer_.data(), n);
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
    pumpSequencer();
    publish();
    publishAnalysis();
    finishAssistant();
    if (live_) {
        const SampleTime liveNow = live_->session->engine().now();
        pumpDj(liveNow);
        live_->session->pump(liveNow + static_cast<SampleTime>(kLiveAhead * options_.sampleRate));
        followLiveTempo();  // a DJ set's changes too
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
            {"bar", barBeat(beat)["bar"]},
            {"beat_of_bar", barBeat(beat)["beat_of_bar"]},
            {"time_signature", barBeat(beat)["time_signature"]},
            {"bpm", transport_.bpmAt(engine_.now())},
            {"queued_commands", scheduler_.pending()},
            {"tracks", listTracks()},
            {"max_tracks", options_.maxTracks},
            {"peak", peak_},
            {"recording", recording_ ? json(recording_->name) : json(nullptr)},
            {"tap_dropped_frames", tap_.dropped()},
            {"subscribers", subscribers_.size()},
            {"audio_listeners", std::count_if(subscribers_.begin(), subscribers_.end(), [](const auto& s) { return s.second.audio; })},
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
    if (args.contains("ramp_beats") && args.contains("ramp_bars")) throw std::invalid_argument("give the ramp's length as ramp_beats or ramp_bars, not both");
    const When w = resolveAt(args, ctx);
    double ramp = args.value("ramp_beats", 0.0);
    if (args.contains("ramp_bars")) {  // bars of the time signatures from where the ramp starts
        const auto& m = meters();
        const double from = w.beat ? *w.beat : transport_.beatAt(w.applied), bars = args["ramp_bars"].get<double>();
        const double to = m.beatOfBar(m.barAt(from) + bars);
        ramp = &m.meterAt(from) == &m.meterAt(to) ? bars * m.meterAt(from).barBeats() : to - from;  // exact within one signature
    }
    transport_.setTempo(args["bpm"].get<double>(), w.applied, ramp);
    tempoBpm_ = args["bpm"].get<double>();
    const std::size_t moved = scheduler_.retime([this](double b) { return transport_.sampleAtBeat(b); },
                                                scheduler_.earliest(engine_.now(), options_.blockSize));
    json out = stamp(w);
    out["bpm"] = args["bpm"];
    out["ramp_beats"] = ramp;
    out["ramp_end_sample"] = transport_.sampleAtBeat(transport_.beatAt(w.applied) + ramp);
    out["moved_commands"] = moved;
    emit({{"type", "tempo"}, {"bpm", args["bpm"]}, {"ramp_beats", ramp}, {"at_sample", w.applied}});
    return out;
}

json Studio::setLatency(const json& args) {
    latency_ = static_cast<SampleTime>(std::llround(args["seconds"].get<double>() * options_.sampleRate));
    return {{"latency_samples", options_.blockSize + latency_}, {"added_samples", latency_}};
}

}  // namespace soundstar::server

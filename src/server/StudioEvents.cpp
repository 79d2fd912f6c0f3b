// Studio's WebSocket subscriptions: transport and meters at a chosen rate (in engine time), and
// events (live vibes and transitions, render job states, track and tempo changes) as they happen.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "server/Studio.h"
#include "server/StudioParts.h"

namespace soundstar::server {

using nlohmann::json;

json Studio::subscribe(const json& args, const CallContext& ctx) {
    if (!ctx.push) throw ApiError(409, "subscriptions need the WebSocket (/v1/ws): REST and OSC have no way to send later");
    if (!subscribers_.count(ctx.client) && subscribers_.size() >= kMaxSubscribers)
        throw ApiError(429, fmt::format("too many subscribed clients: at most {}", kMaxSubscribers));
    Subscription s;
    for (const auto& stream : args["streams"]) {
        s.transport = s.transport || stream == "transport";
        s.meters = s.meters || stream == "meters";
        s.events = s.events || stream == "events";
        s.audio = s.audio || stream == "audio";
    }
    if (s.audio) {
        std::size_t listeners = 0;
        for (const auto& [id, other] : subscribers_) listeners += other.audio && id != ctx.client;
        if (listeners >= kMaxAudioListeners) throw ApiError(429, fmt::format("too many audio listeners: at most {}", kMaxAudioListeners));
        if (!ctx.pushBinary) throw ApiError(409, "audio needs the WebSocket (/v1/ws)");
    }
    const double rate = args.value("rate_hz", 10.0);
    s.periodSamples = options_.sampleRate / rate;
    s.nextAt = engine_.now();
    s.push = ctx.push;
    s.pushBinary = ctx.pushBinary;
    json out = {{"streams", args["streams"]}, {"rate_hz", rate}};
    if (s.audio) {
        drainTap();  // the stream starts with the next sample played
        out["audio"] = {{"format", "f32le"}, {"channels", 2}, {"sample_rate", options_.sampleRate}, {"first_sample", drainedFrames_},
                        {"frames_per_message", kAudioFramesPerMessage}};
    }
    subscribers_[ctx.client] = std::move(s);
    return out;
}

json Studio::liveTransport() const {
    if (!live_) return nullptr;
    auto& s = *live_->session;
    const SampleTime now = s.engine().now();
    const double beat = s.beatAt(now);
    return {{"bar", static_cast<long long>(std::floor(beat / 4.0))},
            {"beat_in_bar", std::fmod(beat, 4.0)},
            {"bpm", s.bpmAt(now)},
            {"section", s.sectionAt(now)},
            {"vibe", s.current().label},
            {"sample", now},
            {"stopping", live_->endAt >= 0}};
}

void Studio::emit(json event) {
    if (stagedEvents_) {  // a batch in progress: sent once all of it succeeds
        stagedEvents_->push_back(std::move(event));
        return;
    }
    const std::string text = wireText(json{{"stream", "events"}, {"data", std::move(event)}});
    for (auto& [id, s] : subscribers_)
        if (s.events) s.push(text);
}

void Studio::publish() {
    if (live_) {
        const auto& events = live_->session->events();
        for (; liveEventsSent_ < events.size(); ++liveEventsSent_) {
            const auto& e = events[liveEventsSent_];
            emit({{"type", "live_" + e.kind}, {"live_sample", e.sample}, {"bar", e.bar}, {"bpm", e.bpm}, {"label", e.label}});
        }
    }
    {
        std::lock_guard lock(jobsMutex_);
        for (const auto& [id, job] : jobs_) {
            // Progress in steps of a tenth, while it runs.
            const double p = job->progress.load();
            auto& shown = jobProgressSent_[id];
            if (job->state == "running" && p >= shown + 0.1) {
                shown = p;
                emit({{"type", job->kind + "_progress"}, {"job", id}, {"progress", p}});
            }
            auto& sent = jobStatesSent_[id];
            if (sent == job->state) continue;
            sent = job->state;
            json e = {{"type", job->kind}, {"job", id}, {"state", job->state}, {"file", job->file}};
            if (!job->error.empty()) e["error"] = job->error;
            emit(std::move(e));
        }
        for (auto it = jobStatesSent_.begin(); it != jobStatesSent_.end();) it = jobs_.count(it->first) ? std::next(it) : jobStatesSent_.erase(it);
        for (auto it = jobProgressSent_.begin(); it != jobProgressSent_.end();) it = jobs_.count(it->first) ? std::next(it) : jobProgressSent_.erase(it);
    }
    for (auto& [id, s] : subscribers_) {
        const std::size_t bytes = kAudioFramesPerMessage * 2 * sizeof(float);
        for (; s.audioPending.size() >= bytes; s.audioPending.erase(0, bytes)) s.pushBinary(s.audioPending.substr(0, bytes));
    }
    // Per-track and per-layer peaks since the last tick, taken from the engines (atomics, no lock).
    tickTrackPeaks_.assign(slots_.size(), 0.0f);
    for (std::size_t i = 0; i < slots_.size(); ++i) tickTrackPeaks_[i] = engine_.takeTrackPeak(static_cast<int>(i));
    tickLayerPeaks_.clear();
    if (live_) {
        auto& liveEngine = live_->session->engine();
        for (std::size_t i = 0; i < live_->session->layers().size(); ++i)  // each layer plays on two slots (crossfades)
            tickLayerPeaks_.push_back(std::max(liveEngine.takeTrackPeak(2 * static_cast<int>(i)), liveEngine.takeTrackPeak(2 * static_cast<int>(i) + 1)));
    }
    const SampleTime now = engine_.now();
    std::optional<json> live;  // the live music's place, worked out once a tick when a transport message is due
    for (auto& [id, s] : subscribers_) {
        s.peakLeft = std::max(s.peakLeft, tickPeakLeft_);
        s.peakRight = std::max(s.peakRight, tickPeakRight_);
        if (s.meters) {
            const auto raise = [](std::vector<float>& into, const std::vector<float>& from) {
                into.resize(from.size(), 0.0f);
                for (std::size_t i = 0; i < from.size(); ++i) into[i] = std::max(into[i], from[i]);
            };
            raise(s.trackPeaks, tickTrackPeaks_);
            raise(s.layerPeaks, tickLayerPeaks_);
        }
        if (now < s.nextAt) continue;
        // Keep the phase when a tick is a little late; when it is later (a loaded machine), the
        // next message waits most of a period from now instead of catching up in a burst.
        const auto period = static_cast<SampleTime>(std::llround(s.periodSamples));
        s.nextAt = now - s.nextAt <= period / 8 ? s.nextAt + period : now + period - period / 8;
        if (s.transport) {
            const double beat = transport_.beatAt(now);
            const json bb = barBeat(beat);
            s.push(wireText(json{{"stream", "transport"},
                        {"data",
                         {{"sample", now},
                          {"beat", beat},
                          {"bar", bb["bar"]},
                          {"beat_in_bar", bb["beat_in_bar"]},
                          {"beat_of_bar", bb["beat_of_bar"]},
                          {"time_signature", bb["time_signature"]},
                          {"bpm", transport_.bpmAt(now)},
                          {"running", running_},
                          {"live", live ? *live : *(live = liveTransport())}}}}
));
        }
        if (s.meters) {
            const auto db = [](float p) { return p > 0.0f ? 20.0 * std::log10(p) : -200.0; };
            json tracks = json::object(), layers = json::object();
            for (std::size_t i = 0; i < slots_.size() && i < s.trackPeaks.size(); ++i)
                if (!slots_[i].name.empty()) tracks[slots_[i].name] = db(s.trackPeaks[i]);
            if (live_)
                for (std::size_t i = 0; i < live_->session->layers().size() && i < s.layerPeaks.size(); ++i) layers[live_->session->layers()[i]] = db(s.layerPeaks[i]);
            s.push(wireText(json{{"stream", "meters"},
                        {"data", {{"sample", now}, {"peak_left", s.peakLeft}, {"peak_right", s.peakRight}, {"peak_db_left", db(s.peakLeft)}, {"peak_db_right", db(s.peakRight)},
                                  {"tracks", std::move(tracks)}, {"layers", std::move(layers)}}}}
));
            s.peakLeft = s.peakRight = 0.0f;
            std::fill(s.trackPeaks.begin(), s.trackPeaks.end(), 0.0f);
            std::fill(s.layerPeaks.begin(), s.layerPeaks.end(), 0.0f);
        }
    }
    tickPeakLeft_ = tickPeakRight_ = 0.0f;
}

}  // namespace soundstar::server

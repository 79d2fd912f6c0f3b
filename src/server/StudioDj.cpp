// The DJ on the server's live track: dj_start plays a DjSet (the same brain and set as
// `soundstar dj`) on a live session of its own, dj_command takes the DJ's commands as text,
// dj_status says where the set is, dj_stop fades it out. Its events go to the events stream.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "music/JsonText.h"
#include "server/Studio.h"
#include "server/StudioParts.h"
#include "server/StudioSchema.h"

namespace soundstar::server {

using nlohmann::json;
using namespace schema;

namespace {
Handler answerNow(std::function<json(const json&, const CallContext&)> f) {
    return [f](const json& a, const CallContext& c, Done done) { done(Outcome{200, f(a, c), {}}); };
}
constexpr std::size_t kStatusEvents = 24;  // dj_status lists the DJ's latest events, at most this many

json eventJson(const dj::DjEvent& e, double sampleRate) {
    return {{"type", "dj_" + e.kind},    {"live_sample", e.sample}, {"time", static_cast<double>(e.sample) / sampleRate},
            {"bar", e.bar},              {"phase", e.phase},        {"energy", std::round(e.energy * 1000.0) / 1000.0},
            {"label", e.label}};
}
}  // namespace

json Studio::djStart(const json& args) {
    if (!hooks_.djVibes) throw ApiError(501, "this server was built without the DJ");
    if (live_) throw ApiError(409, "a live session is playing; live_stop or dj_stop ends it (the DJ plays a live session of its own)");
    const std::size_t slot = liveSlot();
    auto state = std::make_unique<LiveState>();
    if (args.contains("seed")) state->seed = args["seed"].get<std::uint64_t>();
    auto d = std::make_unique<LiveState::Dj>();
    d->vibes = hooks_.djVibes(state->seed);
    auto [profile, base] = d->vibes.profile(args.value("profile", std::string("techno_minimal")));  // throws naming the profiles: 400
    d->minutes = args.value("minutes", 0.0);
    const double sr = options_.sampleRate;
    d->brain = std::make_unique<dj::DjBrain>(profile, state->seed.value_or(1), dj::DjSet::barsFor(d->minutes * 60.0, base.config.resolvedBpm()));
    live::LiveOptions o;
    o.sampleRate = sr;
    o.blockSize = options_.blockSize;
    o.initialLayers = d->brain->playing();
    o.form = "loop";  // every layer plays throughout each chunk: the DJ arranges
    o.voiceTrack = true;  // say / speak: voice drops
    state->session = std::make_shared<live::LiveSession>(*hooks_.presets, dj::withEnergy(base, d->brain->energy(), ""), o);
    // The set decides each bar line just before the pump hands it to the engine.
    d->set = std::make_unique<dj::DjSet>(*state->session, *d->brain, base, sr, static_cast<int>(kLiveAhead * sr));
    d->set->setOverlapCheckOnWorker(true);  // its renders never hold the server's control thread
    if (d->minutes > 0) {
        d->endsAt = static_cast<SampleTime>(std::llround(d->minutes * 60.0 * sr));
        d->set->setEnd(d->endsAt);
    }
    d->set->tick(0);
    state->dj = std::move(d);
    installLive(std::move(state), slot);
    return djStatus();
}

json Studio::djCommand(const json& args) {
    if (!live_ || !live_->dj) throw ApiError(409, "no DJ set is playing (dj_start begins one)");
    if (live_->endAt >= 0) throw ApiError(409, "the DJ set is stopping");
    auto& d = *live_->dj;
    const std::string line = args["command"];
    const auto r = dj::applyDjCommand(*d.set, line, d.vibes);  // a bad command: invalid_argument, 400 naming the allowed ones
    if (r.kind == "quit") return {{"command", music::clipText(line, 200)}, {"kind", "quit"}, {"stops_at_sample", liveStop()["stops_at_sample"]}};
    const SampleTime now = live_->session->engine().now();
    const json reply = {{"command", music::clipText(line, 200)}, {"kind", r.kind}, {"acts_at_live_sample", d.set->nextLine()}, {"acts_at_bar", d.set->nextBar()}, {"live_sample", now}};
    emit({{"type", "dj_command"}, {"command", reply["command"]}, {"kind", r.kind}, {"acts_at_live_sample", d.set->nextLine()}, {"acts_at_bar", d.set->nextBar()}});
    return reply;
}

json Studio::djStatus() const {
    if (!live_ || !live_->dj) return {{"dj", nullptr}};
    const auto& d = *live_->dj;
    auto& s = *live_->session;
    const SampleTime now = s.engine().now();
    const auto& events = d.set->events();
    json recent = json::array();
    for (std::size_t i = events.size() > kStatusEvents ? events.size() - kStatusEvents : 0; i < events.size(); ++i) recent.push_back(eventJson(events[i], options_.sampleRate));
    return {{"dj",
             {{"profile", d.brain->profile().name},
              {"phase", d.brain->phase()},
              {"energy", std::round(d.brain->energy() * 1000.0) / 1000.0},
              {"playing", d.brain->playing()},
              {"bar", d.set->barAt(now)},
              {"bar_started_at_live_sample", d.set->barLine(d.set->barAt(now))},
              {"next_bar_at_live_sample", d.set->nextLine()},
              {"bpm", s.bpmAt(now)},
              {"live_sample", now},
              {"started_at_sample", live_->startSample},
              {"minutes", d.minutes},
              {"stopping", live_->endAt >= 0},
              {"commands", dj::djCommandHelp()},
              {"events", recent}}}};
}

void Studio::pumpDj(SampleTime liveNow) {
    if (!live_->dj) return;
    auto& d = *live_->dj;
    if (live_->endAt < 0) {
        if (d.endsAt >= 0 && liveNow >= d.endsAt) liveStop();  // the set's length is up: fade out
        else d.set->tick(liveNow);
    }
    const auto& events = d.set->events();
    for (; djEventsSent_ < events.size(); ++djEventsSent_) emit(eventJson(events[djEventsSent_], options_.sampleRate));
}

void Studio::registerDjOperations(OperationTable& t) {
    t.add({"dj_start", "dj",
           "Starts a DJ set on the live track (as `soundstar dj`): the DJ's brain plays a profile's phases and layers on bar lines; "
           "dj_command steers it. A live session already playing must end first",
           object({{"profile", text(40, "a DJ profile, e.g. techno_minimal (default), deep_house, dub")},
                   {"minutes", number(0, 600, "the set's length (0 or absent: open-ended); it ends with its outro and fades out")},
                   {"seed", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1e15}, {"description", "the set's seed"}}}}),
           {"profile", "minutes"}, true, answerNow([this](const json& a, const CallContext&) { return djStart(a); })});
    t.add({"dj_command", "dj",
           "A DJ command, acted on at the next bar line: next, drop, break, x (effect throw), more energy, less energy, s drums,bass, b 130, "
           "k F minor, y dub, say TEXT, q, or free text (a vibe)",
           object({{"command", text(2000, "the command")}}, {"command"}), {"command"}, true,
           answerNow([this](const json& a, const CallContext&) { return djCommand(a); })});
    t.add({"dj_status", "dj", "The DJ set: profile, phase, energy, the layers playing, bar, its next bar line, its latest events (null: no DJ)",
           object({}), {}, false, answerNow([this](const json&, const CallContext&) { return djStatus(); })});
    t.add({"dj_stop", "dj", "Fades the DJ set out within 100 ms and ends its live session", object({}), {}, true,
           answerNow([this](const json&, const CallContext&) {
               if (!live_ || !live_->dj) throw ApiError(409, "no DJ set is playing");
               return liveStop();
           })});
}

}  // namespace soundstar::server

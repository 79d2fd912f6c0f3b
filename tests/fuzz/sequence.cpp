// Fuzz target: a sequencer clip (notes, a step pattern or audio, with a follow action) or
// automation lane as JSON, through sequencer::parseClip / parseLane, or {"time_signatures": [...],
// "clip": {...}} through parseMeters first, or {"tempo": [...], ...} through parseTempoLane first;
// then played for a few beats, arranged and launched (a tempo lane's changes within the
// transport's range, holds excepted).
// Properties: errors are std::invalid_argument with a bounded message; what parses prints and
// parses back the same; bars and beats convert both ways; launches land on or after their
// earliest beat; rendering stays in its window, with finite beats and values, bounded in count.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "FuzzCheck.h"
#include "sequencer/SequenceJson.h"
#include "sequencer/Sequencer.h"

using namespace soundstar;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const json j = json::parse(fuzz::asText(data, size), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return 0;
    sequencer::Sequencer seq;
    const json* clipJson = &j;
    try {
        if (j.contains("tempo")) {
            const auto lane = sequencer::parseTempoLane(j["tempo"]);
            if (!(sequencer::parseTempoLane(sequencer::toJson(lane)) == lane)) fuzz::finding("a tempo lane does not round-trip", j.dump());
            for (double b : {-1.0, 0.0, 0.5, 3.0, 1e6})
                if (!(lane.bpmAt(b) >= sequencer::kMinBpm && lane.bpmAt(b) <= sequencer::kMaxBpm)) fuzz::finding("a tempo lane's bpm out of range", j.dump());
            seq.setTempoLane(lane);
            clipJson = j.contains("clip") ? &j["clip"] : nullptr;
        }
        if (j.contains("time_signatures")) {
            const auto meters = sequencer::parseMeters(j["time_signatures"]);
            if (sequencer::parseMeters(sequencer::toJson(meters)) != meters) fuzz::finding("time signatures do not round-trip", j.dump());
            seq.setMeters(meters);
            const auto& m = seq.meters();
            for (double b : {0.0, 0.3, 1.0, 7.25, 100.0, 12345.6}) {
                if (std::abs(m.beatOfBar(m.barAt(b)) - b) > 1e-6 * (1.0 + b)) fuzz::finding("bar and beat do not convert back", j.dump());
                for (double q : {0.25, 0.5, 1.0, 2.0, 4.0}) {
                    const double at = m.quantise(b, q);
                    if (!std::isfinite(at) || at < b - 1e-6 || at > b + q * 32.0 * 4.0 + 1e-6) fuzz::finding("a launch off its grid", j.dump());
                }
            }
            if (!j.contains("clip") && !j.contains("tempo")) return 0;
            clipJson = j.contains("clip") ? &j["clip"] : nullptr;
        }
        if (clipJson == nullptr) {
            // a tempo lane alone
        } else if (clipJson->contains("points")) {
            const auto lane = sequencer::parseLane(*clipJson);
            if (sequencer::toJson(sequencer::parseLane(sequencer::toJson(lane))) != sequencer::toJson(lane)) fuzz::finding("a lane does not round-trip", j.dump());
            for (double b : {-1.0, 0.0, 0.5, 3.0, 1e6})
                if (!std::isfinite(lane.valueAt(b))) fuzz::finding("a lane value is not finite", j.dump());
            seq.setLane(lane);
        } else {
            const auto clip = sequencer::parseClip(*clipJson);
            if (sequencer::toJson(sequencer::parseClip(sequencer::toJson(clip))) != sequencer::toJson(clip)) fuzz::finding("a clip does not round-trip", j.dump());
            seq.setClip(clip);
            seq.setSlot(0, "", clip.id);
        }
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    std::vector<sequencer::Event> events;
    seq.play(0.0, 0.0, events);
    seq.setLoop(std::make_pair(1.0, 3.0));
    try {
        seq.launchScene(0, 2.0, events);
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    for (double b = 0.25; b <= 4.0; b += 0.25) seq.render(b, 1.0 / 16, events);
    if (events.size() > 2 * 4096 * 256 + 4096) fuzz::finding("too many events for four beats");
    for (const auto& e : events) {
        if (e.kind == sequencer::Event::Kind::Tempo) {
            const bool hold = std::isnan(e.value), inRange = e.value >= sequencer::kMinBpm && e.value <= sequencer::kMaxBpm;
            if (!std::isfinite(e.beat) || e.beat < 0.0 || (!hold && !inRange) || !(e.rampBeats >= 0.0 && e.rampBeats <= sequencer::kMaxTempoRampBeats))
                fuzz::finding("a tempo change out of the transport's range");
            continue;
        }
        if (!std::isfinite(e.beat) || e.beat < 0.0 || !std::isfinite(e.value)) fuzz::finding("an event off the grid");
        if ((e.kind == sequencer::Event::Kind::NoteOn || e.kind == sequencer::Event::Kind::SampleOn) && e.beat >= 4.0) fuzz::finding("a note rendered past its window");
        if (!std::isfinite(e.intoBeats) || e.intoBeats < 0.0) fuzz::finding("an audio clip joined before its start");
    }
    (void)seq.toJson(2.0).dump();
    return 0;
}

#include "sequencer/SequenceJson.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::sequencer {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(music::clipText(what, 1900)); }

const json& member(const json& j, const char* key, const char* where) {
    if (!j.is_object()) fail(fmt::format("{} must be a JSON object", where));
    const auto it = j.find(key);
    if (it == j.end()) fail(fmt::format("{} needs \"{}\"", where, key));
    return *it;
}

double numberIn(const json& j, const char* key, double lo, double hi, double def, const char* where) {
    const auto it = j.find(key);
    if (it == j.end()) return def;
    if (!it->is_number()) fail(fmt::format("{}.{} must be a number from {:g} to {:g}, not {}", where, key, lo, hi, music::clipText(it->dump(), 60)));
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < lo || v > hi) fail(fmt::format("{}.{} is {:g}: allowed {:g} to {:g}", where, key, v, lo, hi));
    return v;
}

std::string nameAt(const json& j, const char* key, const char* where) {
    const json& v = member(j, key, where);
    if (!v.is_string() || !validName(v.get<std::string>()))
        fail(fmt::format("{}.{} must be a name of 1 to 40 letters, digits, '_', '.' or '-', not {}", where, key, music::clipText(v.dump(), 60)));
    return v.get<std::string>();
}

const json& arrayAt(const json& j, const char* key, std::size_t max, const char* where) {
    const json& v = member(j, key, where);
    if (!v.is_array()) fail(fmt::format("{}.{} must be an array", where, key));
    if (v.size() > max) fail(fmt::format("{}.{} has {} items: at most {} are allowed", where, key, v.size(), max));
    return v;
}

void onlyKeys(const json& j, std::initializer_list<const char*> keys, const char* where) {
    if (!j.is_object()) fail(fmt::format("{} must be a JSON object", where));
    for (const auto& item : j.items()) {
        const std::string& k = item.key();
        if (std::find_if(keys.begin(), keys.end(), [&](const char* a) { return k == a; }) == keys.end()) {
            std::string allowed;
            for (const char* a : keys) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
            fail(fmt::format("{} has no field '{}'; allowed: {}", where, music::clipText(k, 40), allowed));
        }
    }
}

Pattern parsePattern(const json& j) {
    onlyKeys(j, {"steps", "step_beats", "swing", "gate", "note", "seed"}, "pattern");
    Pattern p;
    const json& steps = arrayAt(j, "steps", kMaxSteps, "pattern");
    if (steps.empty()) fail("pattern.steps is empty: give 1 to 64 steps");
    for (const json& s : steps) {
        onlyKeys(s, {"velocity", "probability", "note"}, "pattern step");
        Step st;
        st.velocity = static_cast<float>(numberIn(s, "velocity", 0, 1, 0.8, "pattern step"));
        st.probability = static_cast<float>(numberIn(s, "probability", 0, 1, 1, "pattern step"));
        if (s.contains("note")) st.note = static_cast<float>(numberIn(s, "note", 0, 127, 60, "pattern step"));
        p.steps.push_back(st);
    }
    p.stepBeats = numberIn(j, "step_beats", kMinClipBeats, 16, 0.25, "pattern");
    p.swing = numberIn(j, "swing", 0, 0.75, 0, "pattern");
    p.gate = numberIn(j, "gate", 0.01, 1, 0.5, "pattern");
    p.note = static_cast<float>(numberIn(j, "note", 0, 127, 60, "pattern"));
    p.seed = static_cast<std::uint64_t>(numberIn(j, "seed", 0, 9007199254740991.0, 1, "pattern"));
    return p;
}

AudioRef parseAudio(const json& j) {
    onlyKeys(j, {"sample", "offset", "gain_db"}, "audio");
    AudioRef a;
    a.sample = nameAt(j, "sample", "audio");
    a.offsetSeconds = numberIn(j, "offset", 0, kMaxAudioOffsetSeconds, 0, "audio");
    a.gainDb = numberIn(j, "gain_db", -60, 12, 0, "audio");
    return a;
}

constexpr const char* kFollowNames[] = {"next", "previous", "first", "random", "again", "stop"};

Follow parseFollow(const json& j) {
    onlyKeys(j, {"action", "after_bars", "seed"}, "follow");
    Follow f;
    const json& action = member(j, "action", "follow");
    const auto it = std::find_if(std::begin(kFollowNames), std::end(kFollowNames), [&](const char* n) { return action.is_string() && action == n; });
    if (it == std::end(kFollowNames))
        fail(fmt::format("follow.action is {}: allowed next, previous, first, random, again, stop", music::clipText(action.dump(), 40)));
    f.action = static_cast<FollowAction>(it - std::begin(kFollowNames));
    f.afterBars = numberIn(j, "after_bars", kMinFollowBars, kMaxFollowBars, 1, "follow");
    f.seed = static_cast<std::uint64_t>(numberIn(j, "seed", 0, 9007199254740991.0, 1, "follow"));
    return f;
}

}  // namespace

bool validName(const std::string& s) {
    return !s.empty() && s.size() <= 40 &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; });
}

Clip parseClip(const json& j) {
    onlyKeys(j, {"id", "track", "start", "length", "repeats", "notes", "pattern", "audio", "follow"}, "clip");
    Clip c;
    c.id = nameAt(j, "id", "clip");
    c.track = nameAt(j, "track", "clip");
    if (j.contains("start")) c.start = numberIn(j, "start", 0, kMaxBeat, 0, "clip");
    c.repeats = static_cast<int>(numberIn(j, "repeats", 1, kMaxRepeats, 1, "clip"));
    if (static_cast<int>(j.contains("notes")) + static_cast<int>(j.contains("pattern")) + static_cast<int>(j.contains("audio")) != 1)
        fail("a clip has either \"notes\" (a MIDI clip), \"pattern\" (a step pattern) or \"audio\" (a sample): exactly one of them");
    if (j.contains("follow")) c.follow = parseFollow(j["follow"]);
    BeatTime end = 0.0;
    if (j.contains("audio")) {
        c.audio = parseAudio(j["audio"]);
        if (!j.contains("length")) fail("an audio clip needs \"length\" (in beats): how long the sample plays");
    } else if (j.contains("pattern")) {
        c.pattern = parsePattern(j["pattern"]);
        end = c.pattern->stepBeats * static_cast<double>(c.pattern->steps.size());
    } else {
        for (const json& n : arrayAt(j, "notes", kMaxNotesPerClip, "clip")) {
            onlyKeys(n, {"note", "velocity", "start", "duration"}, "note");
            Note note;
            note.note = static_cast<float>(numberIn(n, "note", 0, 127, 60, "note"));
            if (!n.contains("note")) fail("a note needs \"note\" (0 to 127)");
            note.velocity = static_cast<float>(numberIn(n, "velocity", 0, 1, 0.8, "note"));
            note.start = numberIn(n, "start", 0, 65536, 0, "note");
            note.duration = numberIn(n, "duration", 1.0 / 256, 1024, 0.25, "note");
            end = std::max(end, note.start + note.duration);
            c.notes.push_back(note);
        }
        std::stable_sort(c.notes.begin(), c.notes.end(), [](const Note& a, const Note& b) { return a.start < b.start; });
    }
    c.length = numberIn(j, "length", kMinClipBeats, 65536, std::max(end, 1.0), "clip");
    if (c.start && *c.start + c.length * c.repeats > kMaxBeat)
        fail(fmt::format("clip '{}' ends at beat {:g}: the arrangement ends at beat {:g}", c.id, *c.start + c.length * c.repeats, kMaxBeat));
    return c;
}

Lane parseLane(const json& j) {
    onlyKeys(j, {"id", "target", "points"}, "lane");
    Lane l;
    l.id = nameAt(j, "id", "lane");
    const json& t = member(j, "target", "lane");
    onlyKeys(t, {"track", "effect", "param", "mixer"}, "lane.target");
    if (t.contains("track") == t.contains("mixer"))
        fail("lane.target names either \"track\" (an instrument or effect parameter) or \"mixer\" (a track, bus or master's gain_db, pan, send_reverb, send_delay)");
    l.target.mixer = t.contains("mixer");
    l.target.channel = nameAt(t, l.target.mixer ? "mixer" : "track", "lane.target");
    const json& param = member(t, "param", "lane.target");
    if (!param.is_string() || param.get<std::string>().empty() || param.get<std::string>().size() > 32)
        fail("lane.target.param must be a parameter name of 1 to 32 characters");
    l.target.param = param.get<std::string>();
    if (t.contains("effect")) {
        if (l.target.mixer) fail("lane.target: a mixer lane has no \"effect\"");
        l.target.effect = static_cast<int>(numberIn(t, "effect", 0, 7, 0, "lane.target"));
        if (!t["effect"].is_number_integer()) fail("lane.target.effect must be an integer slot from 0 to 7");
    }
    const json& points = arrayAt(j, "points", kMaxPointsPerLane, "lane");
    if (points.empty()) fail(fmt::format("lane.points is empty: give 1 to {} points", kMaxPointsPerLane));
    for (const json& p : points) {
        onlyKeys(p, {"beat", "value", "curve"}, "point");
        if (!p.contains("beat") || !p.contains("value")) fail("a point needs \"beat\" and \"value\"");
        Point pt;
        pt.beat = numberIn(p, "beat", 0, kMaxBeat, 0, "point");
        pt.value = numberIn(p, "value", -1e6, 1e6, 0, "point");
        if (p.contains("curve")) {
            if (p["curve"] == "exp") pt.curve = Curve::Exponential;
            else if (p["curve"] != "linear") fail(fmt::format("point.curve is {}: allowed \"linear\" or \"exp\"", music::clipText(p["curve"].dump(), 40)));
        }
        l.points.push_back(pt);
    }
    std::stable_sort(l.points.begin(), l.points.end(), [](const Point& a, const Point& b) { return a.beat < b.beat; });
    return l;
}

double Lane::valueAt(BeatTime b) const {
    if (points.empty()) return 0.0;
    const auto next = std::upper_bound(points.begin(), points.end(), b, [](BeatTime x, const Point& p) { return x < p.beat; });
    if (next == points.begin()) return points.front().value;
    if (next == points.end()) return points.back().value;
    const Point& a = *(next - 1);
    const Point& z = *next;
    const double x = (b - a.beat) / (z.beat - a.beat);
    if (a.curve == Curve::Exponential && a.value * z.value > 0.0) return a.value * std::pow(z.value / a.value, x);
    return a.value + (z.value - a.value) * x;
}

TempoLane parseTempoLane(const json& j) {
    if (!j.is_array()) fail("tempo must be an array of points {beat, bpm, curve}");
    if (j.size() > kMaxTempoPoints) fail(fmt::format("tempo has {} points: at most {} are allowed", j.size(), kMaxTempoPoints));
    TempoLane t;
    for (const json& p : j) {
        onlyKeys(p, {"beat", "bpm", "curve"}, "tempo point");
        if (!p.contains("beat") || !p.contains("bpm")) fail("a tempo point needs \"beat\" and \"bpm\"");
        TempoPoint pt;
        pt.beat = numberIn(p, "beat", 0, kMaxBeat, 0, "tempo point");
        pt.bpm = numberIn(p, "bpm", kMinBpm, kMaxBpm, 120, "tempo point");
        if (p.contains("curve")) {
            if (p["curve"] == "linear") pt.ramp = true;
            else if (p["curve"] != "step") fail(fmt::format("tempo point.curve is {}: allowed \"step\" or \"linear\"", music::clipText(p["curve"].dump(), 40)));
        }
        if (!t.points.empty()) {
            const TempoPoint& last = t.points.back();
            if (pt.beat <= last.beat) fail(fmt::format("tempo point at beat {:g} comes after one at beat {:g}: beats must rise", pt.beat, last.beat));
            if (last.ramp && pt.beat - last.beat > kMaxTempoRampBeats)
                fail(fmt::format("the linear tempo segment from beat {:g} to {:g} spans {:g} beats: at most {:g}", last.beat, pt.beat, pt.beat - last.beat, kMaxTempoRampBeats));
        }
        t.points.push_back(pt);
    }
    return t;
}

json toJson(const TempoLane& t) {
    json out = json::array();
    for (const auto& p : t.points) out.push_back({{"beat", p.beat}, {"bpm", p.bpm}, {"curve", p.ramp ? "linear" : "step"}});
    return out;
}

long TempoLane::indexAt(BeatTime b) const {
    const auto next = std::upper_bound(points.begin(), points.end(), b, [](BeatTime x, const TempoPoint& p) { return x < p.beat; });
    return static_cast<long>(next - points.begin()) - 1;
}

double TempoLane::bpmAt(BeatTime b) const {
    if (points.empty()) return 120.0;
    const long i = indexAt(b);
    if (i < 0) return points.front().bpm;
    const TempoPoint& a = points[static_cast<std::size_t>(i)];
    if (!a.ramp || static_cast<std::size_t>(i) + 1 >= points.size()) return a.bpm;
    const TempoPoint& z = points[static_cast<std::size_t>(i) + 1];
    return a.bpm + (z.bpm - a.bpm) * (b - a.beat) / (z.beat - a.beat);  // linear in beats, as the transport ramps
}

json toJson(const Clip& c) {
    json j = {{"id", c.id}, {"track", c.track}, {"length", c.length}, {"repeats", c.repeats}};
    if (c.start) j["start"] = *c.start;
    if (c.pattern) {
        json steps = json::array();
        for (const auto& s : c.pattern->steps) {
            json st = {{"velocity", s.velocity}, {"probability", s.probability}};
            if (s.note) st["note"] = *s.note;
            steps.push_back(st);
        }
        j["pattern"] = {{"steps", steps}, {"step_beats", c.pattern->stepBeats}, {"swing", c.pattern->swing},
                        {"gate", c.pattern->gate}, {"note", c.pattern->note}, {"seed", c.pattern->seed}};
    } else if (c.audio) {
        j["audio"] = {{"sample", c.audio->sample}, {"offset", c.audio->offsetSeconds}, {"gain_db", c.audio->gainDb}};
    } else {
        json notes = json::array();
        for (const auto& n : c.notes) notes.push_back({{"note", n.note}, {"velocity", n.velocity}, {"start", n.start}, {"duration", n.duration}});
        j["notes"] = notes;
    }
    if (c.follow)
        j["follow"] = {{"action", kFollowNames[static_cast<int>(c.follow->action)]}, {"after_bars", c.follow->afterBars}, {"seed", c.follow->seed}};
    return j;
}

std::vector<Meter> parseMeters(const json& j) {
    if (!j.is_array()) fail("time_signatures must be an array of {bar, numerator, denominator}");
    if (j.size() > kMaxMeterChanges) fail(fmt::format("time_signatures has {} items: at most {} are allowed", j.size(), kMaxMeterChanges));
    std::vector<Meter> out;
    for (const json& m : j) {
        onlyKeys(m, {"bar", "numerator", "denominator"}, "time signature");
        if (!m.contains("numerator") || !m.contains("denominator")) fail("a time signature needs \"numerator\" and \"denominator\"");
        for (const char* k : {"bar", "numerator", "denominator"})
            if (m.contains(k) && !m[k].is_number_integer()) fail(fmt::format("time signature.{} must be a whole number, not {}", k, music::clipText(m[k].dump(), 40)));
        Meter meter;
        meter.bar = static_cast<long long>(numberIn(m, "bar", 0, kMaxMeterBar, 0, "time signature"));
        meter.numerator = static_cast<int>(numberIn(m, "numerator", 1, kMaxNumerator, 4, "time signature"));
        meter.denominator = static_cast<int>(numberIn(m, "denominator", 1, 16, 4, "time signature"));
        out.push_back(meter);
    }
    MeterMap check;
    check.set(out);  // throws naming the change that is wrong
    return out;
}

json toJson(const std::vector<Meter>& meters) {
    json out = json::array();
    for (const auto& m : meters) out.push_back({{"bar", m.bar}, {"numerator", m.numerator}, {"denominator", m.denominator}});
    return out;
}

json toJson(const Lane& l) {
    json t = {{l.target.mixer ? "mixer" : "track", l.target.channel}, {"param", l.target.param}};
    if (l.target.effect >= 0) t["effect"] = l.target.effect;
    json points = json::array();
    for (const auto& p : l.points) points.push_back({{"beat", p.beat}, {"value", p.value}, {"curve", p.curve == Curve::Exponential ? "exp" : "linear"}});
    return {{"id", l.id}, {"target", t}, {"points", points}};
}

}  // namespace soundstar::sequencer

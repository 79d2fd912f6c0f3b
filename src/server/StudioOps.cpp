// The rows of the operation table that Studio serves: name, group, summary, JSON Schema of the
// args, OSC argument order and handler. Everything a client can do is listed here.
#include <fmt/format.h>

#include "server/AssistantTools.h"
#include "server/Studio.h"

namespace soundstar::server {

using nlohmann::json;

namespace {

/// An object schema with these properties, these required, and nothing else.
json object(json properties, std::vector<std::string> required = {}) {
    if (properties.is_null()) properties = json::object();  // object({}): no args
    json s = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
    if (!required.empty()) s["required"] = required;
    return s;
}

json at() {
    return {{"description",
             "When it applies: \"now\" (the next block, the default), {\"sample\": N}, {\"beat\": B} (beat 0 at sample 0, through "
             "set_tempo changes) or {\"quantize\": \"beat\"|\"bar\"}; an OSC bundle's timetag takes the place of `at`. "
             "Replies carry applied_at_sample and late_by_samples."},
            {"oneOf",
             json::array({{{"type", "string"}, {"enum", {"now"}}, {"description", "\"now\""}},
                          object({{"sample", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1e15}}}}, {"sample"}),
                          object({{"beat", {{"type", "number"}, {"minimum", 0}, {"maximum", 1e7}}}}, {"beat"}),
                          object({{"quantize", {{"type", "string"}, {"enum", {"beat", "bar"}}}}}, {"quantize"})})}};
}

json trackName(const char* what) {
    return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]{1,40}$"}, {"maxLength", 40}, {"description", what}};
}
json number(double lo, double hi, const char* what) { return {{"type", "number"}, {"minimum", lo}, {"maximum", hi}, {"description", what}}; }
json text(std::size_t maxLength, const char* what) { return {{"type", "string"}, {"minLength", 1}, {"maxLength", maxLength}, {"description", what}}; }
json fileName(const char* what) { return text(255, what); }
json seed() { return {{"type", "integer"}, {"minimum", 0}, {"maximum", 9007199254740991.0}, {"description", "random seed"}}; }
json paramMap(const char* what) {
    return {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}, {"maxProperties", 32}, {"description", what}};
}

using Sync = std::function<json(const json&, const CallContext&)>;
Handler answerNow(Sync f) {
    return [f](const json& args, const CallContext& ctx, Done done) { done(Outcome{200, f(args, ctx), {}}); };
}

}  // namespace

void Studio::registerOperations(OperationTable& t) {
    table_ = &t;
    // ---- engine ----
    t.add({"status", "engine", "Engine status: running, sample rate, block, CPU load, xruns, late commands, voices, sample clock, beat, tracks, live session",
           object({}), {}, false, answerNow([this](const json&, const CallContext&) { return status(); })});
    t.add({"start", "engine", "Starts the audio device (the sample clock runs)", object({}), {}, true,
           answerNow([this](const json&, const CallContext&) { return startEngine(); })});
    t.add({"stop", "engine", "Stops the audio device (the sample clock stops; queued commands wait)", object({}), {}, true,
           answerNow([this](const json&, const CallContext&) { return stopEngine(); })});
    t.add({"sync", "engine", "A barrier: answers once every command queued before it has been applied", object({}), {}, false,
           [this](const json& args, const CallContext&, Done done) { sync(args, std::move(done)); }});
    t.add({"set_tempo", "engine",
           "Sets the transport's tempo from `at` on, at once or ramping linearly (in beats) over ramp_beats or ramp_bars; beats before "
           "`at` keep their samples, beat-timed commands after it move with their beats",
           object({{"bpm", number(20, 400, "beats per minute (the ramp's end)")},
                   {"ramp_beats", number(0, 4096, "reach bpm over this many beats (0: at once, the default)")},
                   {"ramp_bars", number(0, 1024, "the same in bars")},
                   {"at", at()}},
                  {"bpm"}),
           {"bpm", "ramp_beats"}, true,
           answerNow([this](const json& a, const CallContext& c) { return setTempo(a, c); })});
    t.add({"set_latency", "engine",
           "Delays every \"now\" by this much (as SuperCollider's server latency): commands sent at an uneven pace then sound evenly",
           object({{"seconds", number(0, 2, "added to now, 0 by default")}}, {"seconds"}), {"seconds"}, true,
           answerNow([this](const json& a, const CallContext&) { return setLatency(a); })});
    // ---- synthesis ----
    t.add({"list_instruments", "synthesis", "Instrument kinds and effect types with every parameter's range, unit and default; presets; buses",
           object({}), {}, false, answerNow([this](const json&, const CallContext&) { return listInstruments(); })});
    t.add({"list_tracks", "synthesis", "The tracks that exist, with instrument, preset and effects, and the master's chain", object({}), {}, false,
           answerNow([this](const json&, const CallContext&) { return json{{"tracks", listTracks()}, {"master", masterState()}, {"buses", listBuses()["buses"]}}; })});
    t.add({"create_track", "synthesis",
           "Creates a track from a preset or an instrument kind (options name sample files under --data), with parameters and an effect chain",
           object({{"name", trackName("the track's name, e.g. bass")},
                   {"preset", text(64, "a preset name (list_instruments)")},
                   {"instrument", text(32, "an instrument kind (list_instruments)")},
                   {"options", {{"type", "object"}, {"additionalProperties", text(255, "a file under --data")}, {"maxProperties", 16},
                                {"description", "instrument options, e.g. {\"sample\": \"kick.wav\"} for the sampler"}}},
                   {"params", paramMap("instrument parameters by name")},
                   {"effects", {{"type", "array"}, {"maxItems", 8}, {"description", "the effect chain, in order (default: the preset's)"},
                                {"items", object({{"type", text(32, "an effect type")}, {"params", paramMap("effect parameters")},
                                                  {"bypass", {{"type", "boolean"}, {"description", "starts bypassed (set_bypass)"}}}}, {"type"})}}},
                   {"gain_db", number(-120, 12, "fader gain in dB")},
                   {"pan", number(-1, 1, "-1 left .. 1 right")},
                   {"at", at()}},
                  {"name"}),
           {"name", "preset"}, true, answerNow([this](const json& a, const CallContext& c) { return createTrack(a, c); })});
    const json chainItem = object({{"type", text(32, "an effect type (list_instruments)")}, {"params", paramMap("effect parameters")},
                                   {"bypass", {{"type", "boolean"}, {"description", "starts bypassed (set_bypass)"}}}}, {"type"});
    const json slotArg = {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "an effect slot (0 = first in the chain)"}};
    t.add({"set_effects", "synthesis",
           "Replaces the effect chain of a track or of the master whole. A track is rebuilt with its parameters and mix after "
           "a 5 ms fade (notes sounding on it stop); the master's chain is replaced in a 5 ms dip of its gain, the music plays on",
           object({{"track", trackName("a track, a bus or master")},
                   {"effects", {{"type", "array"}, {"maxItems", 8}, {"description", "the new chain, in order"}, {"items", chainItem}}},
                   {"at", at()}},
                  {"track", "effects"}),
           {"track", "effects"}, true, answerNow([this](const json& a, const CallContext& c) { return setEffects(a, c); })});
    t.add({"insert_effect", "synthesis",
           "Inserts an effect into the chain of a track or of the master (as set_effects with one more effect)",
           object({{"track", trackName("a track, a bus or master")},
                   {"type", text(32, "an effect type (list_instruments)")},
                   {"params", paramMap("effect parameters")},
                   {"position", {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "its slot; the end of the chain when absent"}}},
                   {"at", at()}},
                  {"track", "type"}),
           {"track", "type", "position"}, true, answerNow([this](const json& a, const CallContext& c) { return editChain("insert_effect", a, c); })});
    t.add({"move_effect", "synthesis", "Moves an effect of a track's or the master's chain to another slot",
           object({{"track", trackName("a track, a bus or master")}, {"effect", slotArg}, {"to", slotArg}, {"at", at()}}, {"track", "effect", "to"}),
           {"track", "effect", "to"}, true, answerNow([this](const json& a, const CallContext& c) { return editChain("move_effect", a, c); })});
    t.add({"remove_effect", "synthesis", "Removes an effect from a track's or the master's chain",
           object({{"track", trackName("a track, a bus or master")}, {"effect", slotArg}, {"at", at()}}, {"track", "effect"}),
           {"track", "effect"}, true, answerNow([this](const json& a, const CallContext& c) { return editChain("remove_effect", a, c); })});
    t.add({"free_track", "synthesis", "Removes a track (its place is freed for another)", object({{"track", trackName("the track")}, {"at", at()}}, {"track"}),
           {"track"}, true, answerNow([this](const json& a, const CallContext& c) { return freeTrack(a, c); })});
    t.add({"play_note", "synthesis", "Plays a note on a track: on at `at`, off after `duration` seconds",
           object({{"track", trackName("the track")},
                   {"note", number(0, 127, "MIDI note number (60 = middle C; fractions allowed)")},
                   {"velocity", number(0, 1, "0..1, default 0.8")},
                   {"duration", number(0.001, 60, "seconds until note off, default 0.5")},
                   {"at", at()}},
                  {"track", "note"}),
           {"track", "note", "velocity", "duration"}, true, answerNow([this](const json& a, const CallContext& c) { return playNote(a, c); })});
    t.add({"release", "synthesis", "Releases one note, or every note of a track, through its envelope",
           object({{"track", trackName("the track")}, {"note", number(0, 127, "the note; all notes when absent")}, {"at", at()}}, {"track"}),
           {"track", "note"}, true, answerNow([this](const json& a, const CallContext& c) { return release(a, c); })});
    t.add({"set_params", "synthesis", "Sets parameters of a track's instrument (or of effect slot `effect` of a track or the master, or a bus's effect) at once",
           object({{"track", trackName("a track, a bus or master")},
                   {"effect", {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "effect slot; the instrument when absent"}}},
                   {"params", paramMap("parameter values by name (list_instruments gives ranges)")},
                   {"at", at()}},
                  {"track", "params"}),
           {}, true, answerNow([this](const json& a, const CallContext& c) { return setParams(a, c); })});
    t.add({"set_bypass", "synthesis",
           "Bypasses one effect of a track, bus or the master, or brings it back: its output is crossfaded with its input over 10 ms "
           "(it keeps running, so its tails are current when it returns); set_effects brings every effect back",
           object({{"track", trackName("a track, a bus or master")},
                   {"effect", {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "the effect slot"}}},
                   {"bypass", {{"type", "boolean"}, {"description", "true: bypassed; false: in the chain again"}}},
                   {"at", at()}},
                  {"track", "effect", "bypass"}),
           {"track", "effect", "bypass"}, true, answerNow([this](const json& a, const CallContext& c) { return setBypass(a, c); })});
    t.add({"set_param", "synthesis", "Sets one parameter of a track's instrument (or effect slot `effect` of a track, bus or the master)",
           object({{"track", trackName("a track, a bus or master")},
                   {"name", text(32, "the parameter")},
                   {"value", {{"type", "number"}, {"description", "its value, within its range"}}},
                   {"effect", {{"type", "integer"}, {"minimum", 0}, {"maximum", 7}, {"description", "effect slot; the instrument when absent"}}},
                   {"at", at()}},
                  {"track", "name", "value"}),
           {"track", "name", "value", "effect"}, true, answerNow([this](const json& a, const CallContext& c) {
               json b = a;
               b["params"] = {{a["name"].get<std::string>(), a["value"]}};
               b.erase("name");
               b.erase("value");
               return setParams(b, c);
           })});
    // ---- mixer ----
    t.add({"set_mix", "mixer", "Mixer settings of a track, a bus (reverb, delay, or one bus_create made) or the master: gain, pan, mute, solo (tracks), sends (tracks)",
           object({{"target", trackName("a track, a bus or master")},
                   {"gain_db", number(-120, 12, "fader gain in dB")},
                   {"fade_seconds", number(0, 600, "ramp the gain over this long")},
                   {"pan", number(-1, 1, "-1 left .. 1 right")},
                   {"mute", {{"type", "boolean"}}},
                   {"solo", {{"type", "boolean"}}},
                   {"sends", {{"type", "object"}, {"additionalProperties", number(0, 1, "send level")}, {"maxProperties", 4},
                              {"description", "send levels 0..1 by bus name (reverb, delay, or one bus_create made)"}}},
                   {"at", at()}},
                  {"target"}),
           {"target", "gain_db", "pan"}, true, answerNow([this](const json& a, const CallContext& c) { return mix(a, c); })});
    // ---- recording ----
    t.add({"record_start", "recording", "Records what the engine plays to a 32-bit float WAV under --data (first_sample: the engine sample of its first frame)",
           object({{"file", fileName("a .wav path under --data")}}, {"file"}), {"file"}, true,
           answerNow([this](const json& a, const CallContext&) { return recordStart(a); })});
    t.add({"record_stop", "recording", "Ends the recording and puts the file in place", object({}), {}, true,
           answerNow([this](const json&, const CallContext&) { return recordStop(); })});
    // ---- live ----
    t.add({"live_start", "live", "Starts live music from a vibe (as `soundstar live` does)",
           object({{"vibe", text(2000, "what it should sound like")},
                   {"transition", text(16, "crossfade length: seconds (\"5\") or bars (\"2bars\"), default 4")},
                   {"seed", seed()},
                   {"sync", {{"type", "boolean"}, {"description", "start on the sequencer's next bar line and set the transport to the live tempo, so live bars and sequencer bars coincide (needs 4-beat bars)"}}}},
                  {"vibe"}),
           {"vibe"}, true, answerNow([this](const json& a, const CallContext&) { return liveStart(a); })});
    t.add({"live_steer", "live",
           "Steers the live music with a `soundstar live` line: a vibe, +bright, brightness +2, b 130, k F minor, y dub, q, or a JSON object "
           "{\"at\": \"bar\"|\"phrase\"|{\"bar\": N}, \"vibe\"|\"config\"|\"update\": ...}",
           object({{"line", {{"description", "a steering line, or a steering JSON object"},
                             {"oneOf", json::array({text(2000, "a steering line"), {{"type", "object"}, {"maxProperties", 8}, {"description", "a steering object"}}})}}}},
                  {"line"}),
           {"line"}, true, answerNow([this](const json& a, const CallContext&) { return liveSteer(a); })});
    t.add({"live_stop", "live", "Fades the live music out within 100 ms and ends the session", object({}), {}, true,
           answerNow([this](const json&, const CallContext&) { return liveStop(); })});
    t.add({"live_status", "live", "The live session: vibe, bpm, bar, beat_in_bar, section, its MusicConfig, its sample clock, late commands, its layers and sections (energy, layers)", object({}), {}, false,
           answerNow([this](const json&, const CallContext&) { return json{{"live", liveStatus()}}; })});
    t.add({"live_mix", "live",
           "A layer of the live music in the mixer: mute, solo (a solo keeps only the soloed layers), and a trim gain and pan after the "
           "session's own fades; live_status's layer_mix shows them",
           object({{"layer", text(16, "a layer: drums, bass, pad, keys, arp, lead or texture")},
                   {"mute", {{"type", "boolean"}}},
                   {"solo", {{"type", "boolean"}}},
                   {"gain_db", number(-60, 12, "the layer's trim gain in dB (0: as the session mixes it)")},
                   {"pan", number(-1, 1, "balance: -1 left only .. 1 right only")}},
                  {"layer"}),
           {"layer", "mute", "solo", "gain_db", "pan"}, true, answerNow([this](const json& a, const CallContext&) { return liveMix(a); })});
    // ---- subscriptions ----
    t.add({"subscribe", "events",
           "WebSocket only: sends this client {\"stream\": \"transport\"|\"meters\"|\"events\", \"data\": ...} messages, transport and "
           "meters (master, per track and per live layer) at rate_hz (engine time); \"audio\": what plays, as binary messages of 1024 interleaved stereo float32 frames",
           object({{"streams", {{"type", "array"}, {"minItems", 1}, {"maxItems", 4}, {"items", {{"type", "string"}, {"enum", {"transport", "meters", "events", "audio"}}}}}},
                   {"rate_hz", number(1, 60, "transport and meter messages per second, default 10")}},
                  {"streams"}),
           {}, false, answerNow([this](const json& a, const CallContext& c) { return subscribe(a, c); })});
    t.add({"unsubscribe", "events", "WebSocket only: ends this client's subscriptions", object({}), {}, false,
           answerNow([this](const json&, const CallContext& c) {
               dropClient(c.client);
               return json{{"subscribed", false}};
           })});
    // ---- assistant ----
    t.add({"assistant", "assistant",
           "Asks the configured LLM to act on a request (it sees the state and the tools chosen for it; its calls are validated and applied); "
           "without an LLM the embedded interpreter steers the live session with the text. The reply lists what was done and refused",
           object({{"text", text(2000, "what you want, e.g. \"make it more energetic\"")},
                   {"ops",
                    {{"type", "array"},
                     {"maxItems", kMaxRequestedOpNames},
                     {"items", {{"type", "string"}, {"maxLength", 64}}},
                     {"description", fmt::format("operations or groups to offer the LLM (at most {} operations); default: a core set plus "
                                                 "those whose names and summaries share words with the text", kMaxOfferedOps)}}}},
                  {"text"}),
           {"text"}, true,
           [this](const json& a, const CallContext&, Done done) { assistant(a, std::move(done)); }});
    // ---- renders ----
    t.add({"render_start", "renders", "Renders a prompt to a mastered file under --data in the background; answers a job id",
           object({{"prompt", text(2000, "what the music should be")},
                   {"file", fileName("output path under --data: .wav .flac .ogg or .mp3")},
                   {"duration", number(1, 600, "seconds, default 30")},
                   {"seed", seed()},
                   {"stems", {{"type", "boolean"}, {"description", "also write one WAV per layer into <file>.stems/ (render_status lists them)"}}},
                   {"midi", {{"type", "boolean"}, {"description", "also write the score as <file>.mid"}}}},
                  {"prompt", "file"}),
           {"prompt", "file", "duration"}, true, answerNow([this](const json& a, const CallContext&) { return renderStart(a); })});
    t.add({"render_status", "renders", "A render job's state (queued, running, done, failed) and progress 0..1; once done, its midi file and stems when asked for",
           object({{"job", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1e12}}}}, {"job"}), {"job"}, false,
           answerNow([this](const json& a, const CallContext&) { return renderStatus(a); })});
    t.add({"render_cancel", "renders", "Cancels a render job: a queued one at once, a running one at its next progress report (state cancelling, then cancelled)",
           object({{"job", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1e12}}}}, {"job"}), {"job"}, true,
           answerNow([this](const json& a, const CallContext&) { return renderCancel(a); })});
    // ---- model jobs (the model service of src/models, on the same job thread as renders) ----
    t.add({"generate_start", "renders", "Generates audio with a model (the model service: a worker process keeps it loaded) into a WAV under --data in the background; answers a job id",
           object({{"prompt", text(2000, "what the audio should be")},
                   {"file", fileName("output WAV under --data (.wav)")},
                   {"model", text(4096, "a model's name in the server's model roots (default procedural), or its folder under a model root or --data")},
                   {"seconds", number(0.1, kMaxGenerateSeconds, "seconds of audio, default 10")},
                   {"seed", seed()},
                   {"steps", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"description", "diffusion or sampling steps (default: the model's)"}}},
                   {"guidance", number(0, 30, "classifier-free guidance scale (default: the model's)")},
                   {"top_k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 65536}, {"description", "tokens drawn from the k likeliest (musicgen; default: the model's)"}}},
                   {"temperature", number(0.01, 10, "sampling temperature (musicgen; default: the model's)")},
                   {"takes", {{"type", "integer"}, {"minimum", 1}, {"maximum", 8}, {"description", "versions to make, default 1: take t from seed + t, "
                                                                                                   "written to file, then its stem plus -2, -3 ... (musicgen makes them side by side)"}}},
                   {"threads", {{"type", "integer"}, {"minimum", 1}, {"maximum", 64}, {"description", "threads the model runs on for this job (default: the model folder's)"}}},
                   {"sample_rate", {{"type", "integer"}, {"minimum", 8000}, {"maximum", 192000}, {"description", "the file's sample rate in Hz, resampled (default: the model's)"}}},
                   {"loop", {{"type", "object"},
                             {"maxProperties", 9},
                             {"description", "fit the audio into a loop before it is written, for a sampler track: exactly `bars` bars (1-64, default 4) of "
                                             "beats_per_bar (default 4) at target_bpm (default: the transport's tempo), cut on its beats with a crossfaded seam, "
                                             "time-stretched to that tempo, pitch-shifted to `key` when given (e.g. \"F minor\"), at `lufs` (default -14; null "
                                             "keeps the level); also source_bpm, source_key, ceiling_dbfs, crossfade_ms. Audio with no beat is cut to whole bars "
                                             "at its own pace. generate_status reports what was found and done"}}}},
                  {"prompt", "file"}),
           {"prompt", "file", "seconds"}, true, answerNow([this](const json& a, const CallContext&) { return generateStart(a); })});
    t.add({"generate_status", "renders", "A model job's state (queued, running, done, failed, cancelled) and progress 0..1",
           object({{"job", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1e12}}}}, {"job"}), {"job"}, false,
           answerNow([this](const json& a, const CallContext&) { return generateStatus(a); })});
    t.add({"generate_cancel", "renders", "Cancels a model job: a queued one at once, a running one within about 100 ms (state cancelling, then cancelled; no file is written)",
           object({{"job", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1e12}}}}, {"job"}), {"job"}, true,
           answerNow([this](const json& a, const CallContext&) { return generateCancel(a); })});
    registerBusOperations(t);  // StudioBuses.cpp
    registerSamplerOperations(t);
    registerAnalysisOperations(t);
    registerDjOperations(t);         // StudioDj.cpp
    registerSequencerOperations(t);  // StudioSequencer.cpp
    registerStateOperations(t);      // StudioState.cpp: last, as it wraps the rows above
}

}  // namespace soundstar::server

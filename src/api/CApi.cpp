// The C API (include/soundstar/soundstar.h) over the C++ facade: every exception is caught here
// and becomes a status and a per-thread message.
#include "soundstar/soundstar.h"

#include <cstddef>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "soundstar/soundstar.hpp"

struct soundstar_engine {
    soundstar::Engine engine;
};
struct soundstar_audio {
    soundstar::Audio audio;
};
struct soundstar_stream {
    soundstar::Stream stream;
};

namespace {
thread_local std::string lastError;

soundstar_status fail(soundstar_status status, const char* message) {
    try {
        lastError = message;
    } catch (...) {
        lastError.clear();
    }
    return status;
}

// Runs `body`, turning any exception into a status and lastError.
template <class Body>
soundstar_status guarded(Body&& body) noexcept {
    try {
        lastError.clear();
        body();
        return SOUNDSTAR_OK;
    } catch (const std::invalid_argument& e) {
        return fail(SOUNDSTAR_ERROR_INVALID_ARGUMENT, e.what());
    } catch (const std::out_of_range& e) {
        return fail(SOUNDSTAR_ERROR_INVALID_ARGUMENT, e.what());
    } catch (const std::bad_alloc&) {
        return fail(SOUNDSTAR_ERROR_OUT_OF_MEMORY, "out of memory");
    } catch (const soundstar::DataNotFound& e) {
        return fail(SOUNDSTAR_ERROR_NOT_FOUND, e.what());
    } catch (const std::runtime_error& e) {
        return fail(SOUNDSTAR_ERROR_IO, e.what());
    } catch (const std::exception& e) {
        return fail(SOUNDSTAR_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(SOUNDSTAR_ERROR_INTERNAL, "unknown error");
    }
}

soundstar::RenderRequest requestFor(const char* prompt, const soundstar_render_options* o) {
    soundstar_render_options defaults;
    soundstar_render_options_init(&defaults);
    if (!o) o = &defaults;
    // A caller built against the options without the generator fields passes the smaller size.
    if (o->struct_size < offsetof(soundstar_render_options, generator))
        throw std::invalid_argument("soundstar_render_options.struct_size is too small: call soundstar_render_options_init first");
    const bool knowsGenerator = o->struct_size >= sizeof(soundstar_render_options);
    soundstar::RenderRequest r;
    if (prompt) r.prompt = prompt;
    if (o->config_json) r.configJson = o->config_json;
    if (o->update_json) r.updateJson = o->update_json;
    r.durationSeconds = o->duration_seconds;
    r.sampleRateHz = o->sample_rate_hz;
    if (o->has_seed) r.seed = o->seed;
    r.master = o->master != 0;
    r.targetLufs = o->target_lufs;
    r.ceilingDbtp = o->ceiling_dbtp;
    r.loop = o->loop != 0;
    if (knowsGenerator && o->generator) r.generator = o->generator;
    if (knowsGenerator) r.generatorGainDb = o->generator_gain_db;
    return r;
}

soundstar::StreamOptions streamOptionsFor(const soundstar_stream_options* o) {
    soundstar::StreamOptions s;
    if (!o) return s;
    if (o->struct_size < sizeof(soundstar_stream_options))
        throw std::invalid_argument("soundstar_stream_options.struct_size is too small: call soundstar_stream_options_init first");
    s.sampleRateHz = o->sample_rate_hz;
    s.transitionSeconds = o->transition_seconds;
    if (o->has_seed) s.seed = o->seed;
    s.targetLufs = o->target_lufs;
    s.endFadeSeconds = o->end_fade_seconds;
    return s;
}

char* copyText(const std::string& text) {
    char* copy = new char[text.size() + 1];
    std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
}

void copyInto(char* to, std::size_t size, const std::string& from) {
    const std::size_t n = std::min(size - 1, from.size());
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

#define SOUNDSTAR_REQUIRE(pointer, name) \
    if (!(pointer)) return fail(SOUNDSTAR_ERROR_INVALID_ARGUMENT, name " is NULL")
}  // namespace

extern "C" {

const char* soundstar_version(void) { return soundstar::version(); }
const char* soundstar_last_error(void) { return lastError.c_str(); }

void soundstar_render_options_init_size(soundstar_render_options* o, size_t size) {
    if (!o) return;
    soundstar_render_options d{};
    d.duration_seconds = 30.0;
    d.sample_rate_hz = 44100.0;
    d.master = 1;
    d.target_lufs = -14.0;
    d.ceiling_dbtp = -1.0;
    d.generator_gain_db = -3.0;
    // Only the bytes the caller has: the whole struct, or the older struct before the generator fields.
    const std::size_t n = std::min(size, sizeof(soundstar_render_options));
    d.struct_size = n;
    std::memcpy(static_cast<void*>(o), &d, n);
}

// The exported name programs built against the first header call: the fields they know only.
#undef soundstar_render_options_init
void soundstar_render_options_init(soundstar_render_options* o) { soundstar_render_options_init_size(o, offsetof(soundstar_render_options, generator)); }

soundstar_status soundstar_engine_new(const char* dataDir, soundstar_engine** out) {
    SOUNDSTAR_REQUIRE(out, "out");
    *out = nullptr;
    return guarded([&] { *out = new soundstar_engine{soundstar::Engine(dataDir ? dataDir : "")}; });
}

void soundstar_engine_free(soundstar_engine* engine) { delete engine; }

soundstar_status soundstar_interpret(const soundstar_engine* engine, const char* prompt, char** out) {
    SOUNDSTAR_REQUIRE(engine, "engine");
    SOUNDSTAR_REQUIRE(prompt, "prompt");
    SOUNDSTAR_REQUIRE(out, "config_json_out");
    *out = nullptr;
    return guarded([&] {
        *out = copyText(engine->engine.interpret(prompt));
    });
}

void soundstar_string_free(char* text) { delete[] text; }

soundstar_status soundstar_render(const soundstar_engine* engine, const char* prompt, const soundstar_render_options* options,
                                  soundstar_audio** out) {
    SOUNDSTAR_REQUIRE(engine, "engine");
    SOUNDSTAR_REQUIRE(out, "out");
    *out = nullptr;
    return guarded([&] { *out = new soundstar_audio{engine->engine.render(requestFor(prompt, options))}; });
}

soundstar_status soundstar_render_to_file(const soundstar_engine* engine, const char* prompt, const soundstar_render_options* options,
                                          const char* path) {
    SOUNDSTAR_REQUIRE(engine, "engine");
    SOUNDSTAR_REQUIRE(path, "path");
    return guarded([&] {
        soundstar::FileOutputs files;
        files.audioPath = path;
        engine->engine.renderToFile(requestFor(prompt, options), files);
    });
}

size_t soundstar_audio_frames(const soundstar_audio* audio) { return audio ? audio->audio.frames() : 0; }
double soundstar_audio_sample_rate(const soundstar_audio* audio) { return audio ? audio->audio.sampleRateHz : 0.0; }
const float* soundstar_audio_samples(const soundstar_audio* audio) { return audio ? audio->audio.samples.data() : nullptr; }
const char* soundstar_audio_config_json(const soundstar_audio* audio) { return audio ? audio->audio.configJson.c_str() : ""; }

soundstar_status soundstar_audio_save(const soundstar_audio* audio, const char* path) {
    SOUNDSTAR_REQUIRE(audio, "audio");
    SOUNDSTAR_REQUIRE(path, "path");
    return guarded([&] { audio->audio.save(path); });
}

void soundstar_audio_free(soundstar_audio* audio) { delete audio; }

soundstar_status soundstar_audio_play(const soundstar_audio* audio, const char* device) {
    SOUNDSTAR_REQUIRE(audio, "audio");
    return guarded([&] { soundstar::play(audio->audio, device ? device : "default"); });
}

void soundstar_stream_options_init(soundstar_stream_options* o) {
    if (!o) return;
    const soundstar::StreamOptions d;
    *o = soundstar_stream_options{};
    o->struct_size = sizeof(soundstar_stream_options);
    o->sample_rate_hz = d.sampleRateHz;
    o->transition_seconds = d.transitionSeconds;
    o->target_lufs = d.targetLufs;
    o->end_fade_seconds = d.endFadeSeconds;
}

soundstar_status soundstar_stream_new(const soundstar_engine* engine, const char* vibe, const soundstar_stream_options* options,
                                      soundstar_stream** out) {
    SOUNDSTAR_REQUIRE(engine, "engine");
    SOUNDSTAR_REQUIRE(vibe, "vibe");
    SOUNDSTAR_REQUIRE(out, "out");
    *out = nullptr;
    return guarded([&] { *out = new soundstar_stream{soundstar::Stream(engine->engine, vibe, streamOptionsFor(options))}; });
}

soundstar_status soundstar_stream_new_items(const soundstar_engine* engine, const char* const* vibes, const double* seconds, size_t count,
                                            const soundstar_stream_options* options, soundstar_stream** out) {
    SOUNDSTAR_REQUIRE(engine, "engine");
    SOUNDSTAR_REQUIRE(vibes, "vibes");
    SOUNDSTAR_REQUIRE(seconds, "seconds");
    SOUNDSTAR_REQUIRE(out, "out");
    *out = nullptr;
    return guarded([&] {
        if (count == 0 || count > soundstar::Stream::kMaxQueuedItems + 1)
            throw std::invalid_argument("count " + std::to_string(count) + " is out of range; allowed: 1 to " + std::to_string(soundstar::Stream::kMaxQueuedItems + 1));
        std::vector<soundstar::StreamItem> items;
        for (size_t i = 0; i < count; ++i) {
            if (!vibes[i]) throw std::invalid_argument("vibes[" + std::to_string(i) + "] is NULL");
            items.push_back({vibes[i], seconds[i], -1.0});
        }
        *out = new soundstar_stream{soundstar::Stream(engine->engine, items, streamOptionsFor(options))};
    });
}

soundstar_status soundstar_stream_append(soundstar_stream* stream, const char* vibe, double seconds, double transitionSeconds) {
    SOUNDSTAR_REQUIRE(stream, "stream");
    SOUNDSTAR_REQUIRE(vibe, "vibe");
    return guarded([&] { stream->stream.append({vibe, seconds, transitionSeconds < 0.0 ? -1.0 : transitionSeconds}); });
}

soundstar_status soundstar_stream_pull(soundstar_stream* stream, float* interleaved, size_t frames, size_t* pulled) {
    SOUNDSTAR_REQUIRE(stream, "stream");
    SOUNDSTAR_REQUIRE(interleaved || frames == 0, "interleaved");
    if (pulled) *pulled = 0;
    return guarded([&] {
        const size_t n = stream->stream.pull(interleaved, frames);
        if (pulled) *pulled = n;
    });
}

soundstar_status soundstar_stream_steer(soundstar_stream* stream, const char* line, soundstar_stream_event* scheduled) {
    SOUNDSTAR_REQUIRE(stream, "stream");
    SOUNDSTAR_REQUIRE(line, "line");
    if (scheduled) *scheduled = soundstar_stream_event{};
    return guarded([&] {
        const auto e = stream->stream.steer(line);
        if (!scheduled) return;
        scheduled->sample = e.sample;
        scheduled->seconds = e.seconds;
        copyInto(scheduled->kind, sizeof scheduled->kind, e.kind);
        copyInto(scheduled->label, sizeof scheduled->label, e.label);
        scheduled->bar = e.bar;
        scheduled->bpm = e.bpm;
        scheduled->length_seconds = e.lengthSeconds;
    });
}

soundstar_status soundstar_stream_fade_out(soundstar_stream* stream, double seconds) {
    SOUNDSTAR_REQUIRE(stream, "stream");
    return guarded([&] { stream->stream.fadeOut(seconds); });
}

int soundstar_stream_finished(const soundstar_stream* stream) { return stream && stream->stream.finished() ? 1 : 0; }
int64_t soundstar_stream_position(const soundstar_stream* stream) { return stream ? stream->stream.position() : 0; }

soundstar_status soundstar_stream_events_json(const soundstar_stream* stream, char** out) {
    SOUNDSTAR_REQUIRE(stream, "stream");
    SOUNDSTAR_REQUIRE(out, "json_lines_out");
    *out = nullptr;
    return guarded([&] { *out = copyText(stream->stream.eventsJsonLines()); });
}

void soundstar_stream_free(soundstar_stream* stream) { delete stream; }

}  // extern "C"

// The C API (include/soundstar/soundstar.h) over the C++ facade: every exception is caught here
// and becomes a status and a per-thread message.
#include "soundstar/soundstar.h"

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
    if (o->struct_size < sizeof(soundstar_render_options))
        throw std::invalid_argument("soundstar_render_options.struct_size is too small: call soundstar_render_options_init first");
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
    return r;
}

#define SOUNDSTAR_REQUIRE(pointer, name) \
    if (!(pointer)) return fail(SOUNDSTAR_ERROR_INVALID_ARGUMENT, name " is NULL")
}  // namespace

extern "C" {

const char* soundstar_version(void) { return soundstar::version(); }
const char* soundstar_last_error(void) { return lastError.c_str(); }

void soundstar_render_options_init(soundstar_render_options* o) {
    if (!o) return;
    *o = soundstar_render_options{};
    o->struct_size = sizeof(soundstar_render_options);
    o->duration_seconds = 30.0;
    o->sample_rate_hz = 44100.0;
    o->master = 1;
    o->target_lufs = -14.0;
    o->ceiling_dbtp = -1.0;
}

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
        const std::string json = engine->engine.interpret(prompt);
        char* copy = new char[json.size() + 1];
        std::memcpy(copy, json.c_str(), json.size() + 1);
        *out = copy;
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

}  // extern "C"

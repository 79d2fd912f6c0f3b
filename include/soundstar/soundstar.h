/* Soundstar's C API: text to music for any language with a C FFI.
 *
 *   soundstar_engine* engine = NULL;
 *   if (soundstar_engine_new(NULL, &engine) != SOUNDSTAR_OK) { puts(soundstar_last_error()); ... }
 *   soundstar_render_options o;
 *   soundstar_render_options_init(&o);
 *   o.duration_seconds = 10.0;
 *   soundstar_audio* audio = NULL;
 *   if (soundstar_render(engine, "warm sunset over water", &o, &audio) == SOUNDSTAR_OK) {
 *       const float* lr = soundstar_audio_samples(audio);  // interleaved stereo
 *       ...
 *       soundstar_audio_free(audio);
 *   }
 *   soundstar_engine_free(engine);
 *
 * Every call returns a soundstar_status; on anything but SOUNDSTAR_OK, soundstar_last_error()
 * says what was wrong and what is allowed (a message per thread, valid until that thread's next
 * call). No C++ exception ever crosses this API. One engine may render on many threads at once. */
#ifndef SOUNDSTAR_H
#define SOUNDSTAR_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SOUNDSTAR_C_API __declspec(dllexport)
#else
#define SOUNDSTAR_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum soundstar_status {
    SOUNDSTAR_OK = 0,
    SOUNDSTAR_ERROR_INVALID_ARGUMENT = 1, /* bad input: a range, a config field, a label, a file name */
    SOUNDSTAR_ERROR_NOT_FOUND = 2,        /* no data folder */
    SOUNDSTAR_ERROR_IO = 3,               /* a file could not be read or written */
    SOUNDSTAR_ERROR_OUT_OF_MEMORY = 4,
    SOUNDSTAR_ERROR_INTERNAL = 5
} soundstar_status;

typedef struct soundstar_engine soundstar_engine;
typedef struct soundstar_audio soundstar_audio;

/* Set by soundstar_render_options_init; fields may be added at the end in later versions
 * (struct_size tells which the caller knows). Strings may be NULL (not given). */
typedef struct soundstar_render_options {
    size_t struct_size;
    double duration_seconds;   /* 1 to 3600; default 30 */
    double sample_rate_hz;     /* whole number, 8000 to 192000; default 44100 */
    int has_seed;              /* non-zero: use seed */
    uint64_t seed;
    int master;                /* non-zero (default): loudness normalisation and true-peak limit */
    double target_lufs;        /* -40 to -6; default -14 */
    double ceiling_dbtp;       /* -12 to 0; default -1 */
    int loop;                  /* non-zero: a seamless loop of whole bars */
    const char* config_json;   /* a MusicConfig applied on top of the prompt's reading */
    const char* update_json;   /* absolute values or steps, e.g. {"brightness":"+2"} */
    /* Since 0.1 (struct_size says whether the caller knows them): */
    const char* generator;     /* a model's name or folder: a generated layer (see RenderRequest::generator) */
    double generator_gain_db;  /* its loudness against the score's, -30 to 12; default -3 */
} soundstar_render_options;

/* "MAJOR.MINOR.PATCH". */
SOUNDSTAR_C_API const char* soundstar_version(void);
/* What went wrong in this thread's last failed call ("" if none). */
SOUNDSTAR_C_API const char* soundstar_last_error(void);

/* Sets the defaults in the first `size` bytes of `options` (the size the caller was compiled
 * with) and struct_size to the fields it holds: a caller built against an older, smaller
 * soundstar_render_options is never written past its end. Use it through the macro below. */
SOUNDSTAR_C_API void soundstar_render_options_init_size(soundstar_render_options* options, size_t size);
/* Programs built before the generator fields call the exported function of this name, which
 * writes only those older fields; new programs get the sized call through the macro. */
SOUNDSTAR_C_API void soundstar_render_options_init(soundstar_render_options* options);
#define soundstar_render_options_init(options) soundstar_render_options_init_size((options), sizeof(*(options)))

/* data_dir NULL or "": $SOUNDSTAR_DATA, else the data installed beside the library. */
SOUNDSTAR_C_API soundstar_status soundstar_engine_new(const char* data_dir, soundstar_engine** out);
SOUNDSTAR_C_API void soundstar_engine_free(soundstar_engine* engine);

/* The MusicConfig JSON a render of `prompt` would use; free it with soundstar_string_free. */
SOUNDSTAR_C_API soundstar_status soundstar_interpret(const soundstar_engine* engine, const char* prompt, char** config_json_out);
SOUNDSTAR_C_API void soundstar_string_free(char* text);

/* Renders in memory. prompt may be NULL or "" when options->config_json is given; options NULL: defaults. */
SOUNDSTAR_C_API soundstar_status soundstar_render(const soundstar_engine* engine, const char* prompt,
                                                  const soundstar_render_options* options, soundstar_audio** out);
/* Renders to a file (.wav .flac .ogg .mp3), as `soundstar render -o path` writes it. */
SOUNDSTAR_C_API soundstar_status soundstar_render_to_file(const soundstar_engine* engine, const char* prompt,
                                                          const soundstar_render_options* options, const char* path);

SOUNDSTAR_C_API size_t soundstar_audio_frames(const soundstar_audio* audio);
SOUNDSTAR_C_API double soundstar_audio_sample_rate(const soundstar_audio* audio);
/* 2 * frames floats, interleaved left, right; owned by the audio. */
SOUNDSTAR_C_API const float* soundstar_audio_samples(const soundstar_audio* audio);
/* The MusicConfig that was played, as JSON; owned by the audio. */
SOUNDSTAR_C_API const char* soundstar_audio_config_json(const soundstar_audio* audio);
SOUNDSTAR_C_API soundstar_status soundstar_audio_save(const soundstar_audio* audio, const char* path);
SOUNDSTAR_C_API void soundstar_audio_free(soundstar_audio* audio);
/* Plays the audio to the end on device "default" (NULL) or "null" (silent, keeps time);
 * SOUNDSTAR_ERROR_IO with a message saying so when there is no output device. */
SOUNDSTAR_C_API soundstar_status soundstar_audio_play(const soundstar_audio* audio, const char* device);

/* Streaming and steering: music pulled on the caller's clock (as fast as it is asked), steered
 * with the lines `soundstar live` reads ("+bright", "b 130", "k F minor", "s drums,bass", a new
 * vibe, JSON such as {"at":"bar","vibe":"dark techno","transition":"2bars"}, "q"). One thread at
 * a time per stream. The same vibes, seeds and steering at the same samples give the same samples. */
typedef struct soundstar_stream soundstar_stream;

typedef struct soundstar_stream_options {
    size_t struct_size;
    double sample_rate_hz;     /* whole number, 8000 to 192000; default 44100 */
    double transition_seconds; /* a change's length unless it names its own: 0.05 to 600; default 4 */
    int has_seed;              /* non-zero: use seed for every vibe */
    uint64_t seed;
    double target_lufs;        /* the leveller's aim: -40 to -6; default -14 */
    double end_fade_seconds;   /* a stream of items fades out over its last moments: 0.02 to 60; default 1 */
} soundstar_stream_options;

/* What steering scheduled, or one event of a stream. kind "" : nothing was scheduled. */
typedef struct soundstar_stream_event {
    int64_t sample;            /* where it starts, from the stream's first sample */
    double seconds;
    char kind[32];             /* vibe, transition, glide, layers, fade_out, section */
    char label[256];           /* the vibe or line (cut to fit) */
    int bar;
    double bpm;
    double length_seconds;     /* a transition's, glide's or fade's length */
} soundstar_stream_event;

SOUNDSTAR_C_API void soundstar_stream_options_init(soundstar_stream_options* options);
/* An endless stream of `vibe`, until soundstar_stream_fade_out or the line "q". options NULL: defaults. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_new(const soundstar_engine* engine, const char* vibe,
                                                      const soundstar_stream_options* options, soundstar_stream** out);
/* `count` vibes (1 to 65), vibe i holding seconds[i] (0.5 to 3600), each changing into the next
 * over options->transition_seconds; the stream ends after the last. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_new_items(const soundstar_engine* engine, const char* const* vibes, const double* seconds,
                                                            size_t count, const soundstar_stream_options* options, soundstar_stream** out);
/* Queues another vibe after the last (streams of items only); transition_seconds < 0: the options'. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_append(soundstar_stream* stream, const char* vibe, double seconds, double transition_seconds);
/* Renders up to `frames` (at most 600 s of them) into `interleaved` (2 * frames floats); *pulled
 * says how many: fewer only at the end. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_pull(soundstar_stream* stream, float* interleaved, size_t frames, size_t* pulled);
/* Applies a steering line now; `scheduled` (may be NULL) gets what it scheduled and from which sample. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_steer(soundstar_stream* stream, const char* line, soundstar_stream_event* scheduled);
/* Fades out over `seconds` (0.02 to 60) from now; the stream then ends. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_fade_out(soundstar_stream* stream, double seconds);
/* Non-zero once every frame up to the end has been pulled. */
SOUNDSTAR_C_API int soundstar_stream_finished(const soundstar_stream* stream);
/* Frames pulled so far. */
SOUNDSTAR_C_API int64_t soundstar_stream_position(const soundstar_stream* stream);
/* Every event so far as JSON lines (as `soundstar live --events`); free with soundstar_string_free. */
SOUNDSTAR_C_API soundstar_status soundstar_stream_events_json(const soundstar_stream* stream, char** json_lines_out);
SOUNDSTAR_C_API void soundstar_stream_free(soundstar_stream* stream);

#ifdef __cplusplus
}
#endif

#endif /* SOUNDSTAR_H */

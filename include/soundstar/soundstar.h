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
} soundstar_render_options;

/* "MAJOR.MINOR.PATCH". */
SOUNDSTAR_C_API const char* soundstar_version(void);
/* What went wrong in this thread's last failed call ("" if none). */
SOUNDSTAR_C_API const char* soundstar_last_error(void);

SOUNDSTAR_C_API void soundstar_render_options_init(soundstar_render_options* options);

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

#ifdef __cplusplus
}
#endif

#endif /* SOUNDSTAR_H */

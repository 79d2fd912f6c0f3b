/* The C API from C: renders in memory and checks the audio, then bad input (a status and a
 * message that names what was wrong), then a render to a file for run.sh to check with sox. */
#include <soundstar/soundstar.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            fprintf(stderr, "FAILED: " __VA_ARGS__); \
            fprintf(stderr, "\n");                \
            ++failures;                           \
        }                                         \
    } while (0)

int main(int argc, char** argv) {
    soundstar_engine* engine = NULL;
    soundstar_render_options o;
    soundstar_audio* audio = NULL;
    soundstar_status st;
    char* config = NULL;
    size_t i, frames;
    double sum = 0.0;
    if (argc != 2) {
        fprintf(stderr, "usage: consumer_c OUTPUT.wav\n");
        return 2;
    }
    st = soundstar_engine_new(NULL, &engine);
    CHECK(st == SOUNDSTAR_OK, "engine: %s", soundstar_last_error());
    if (st != SOUNDSTAR_OK) return 1;

    st = soundstar_interpret(engine, "bright fast dance", &config);
    CHECK(st == SOUNDSTAR_OK && config && strstr(config, "\"tempo\""), "interpret: %s", soundstar_last_error());
    soundstar_string_free(config);

    soundstar_render_options_init(&o);
    o.duration_seconds = 3.0;
    o.sample_rate_hz = 22050.0;
    o.has_seed = 1;
    o.seed = 5;
    st = soundstar_render(engine, "rainy night jazz", &o, &audio);
    CHECK(st == SOUNDSTAR_OK, "render: %s", soundstar_last_error());
    if (st == SOUNDSTAR_OK) {
        frames = soundstar_audio_frames(audio);
        CHECK(frames == 3 * 22050, "frames %zu, want %d", frames, 3 * 22050);
        CHECK(soundstar_audio_sample_rate(audio) == 22050.0, "sample rate");
        for (i = 0; i < 2 * frames; ++i) sum += (double)soundstar_audio_samples(audio)[i] * soundstar_audio_samples(audio)[i];
        CHECK(frames > 0 && sqrt(sum / (2.0 * (double)frames)) > 0.01, "silent audio");
        CHECK(strstr(soundstar_audio_config_json(audio), "\"seed\"") != NULL, "config json");
        CHECK(soundstar_audio_save(audio, argv[1]) == SOUNDSTAR_OK, "save: %s", soundstar_last_error());
        soundstar_audio_free(audio);
        audio = NULL;
    }

    /* Bad input: each refused with a status and a message naming the field and what is allowed. */
    o.sample_rate_hz = 1000.0;
    st = soundstar_render(engine, "calm", &o, &audio);
    CHECK(st == SOUNDSTAR_ERROR_INVALID_ARGUMENT && audio == NULL, "a 1000 Hz rate must be refused");
    CHECK(strstr(soundstar_last_error(), "sample rate") && strstr(soundstar_last_error(), "8000 to 192000"), "message: %s",
          soundstar_last_error());
    printf("refused: %s\n", soundstar_last_error());
    o.sample_rate_hz = 44100.0;
    o.config_json = "{\"brightness\": \"blinding\"}";
    st = soundstar_render(engine, NULL, &o, &audio);
    CHECK(st == SOUNDSTAR_ERROR_INVALID_ARGUMENT, "a bad label must be refused");
    CHECK(strstr(soundstar_last_error(), "brightness") && strstr(soundstar_last_error(), "dark"), "message: %s", soundstar_last_error());
    printf("refused: %s\n", soundstar_last_error());
    st = soundstar_render(engine, NULL, NULL, &audio);
    CHECK(st == SOUNDSTAR_ERROR_INVALID_ARGUMENT && strstr(soundstar_last_error(), "nothing to render"), "empty: %s", soundstar_last_error());
    st = soundstar_render(NULL, "calm", NULL, &audio);
    CHECK(st == SOUNDSTAR_ERROR_INVALID_ARGUMENT && strstr(soundstar_last_error(), "engine"), "null engine: %s", soundstar_last_error());
    {
        soundstar_engine* none = NULL;
        st = soundstar_engine_new("/nonexistent/soundstar-data", &none);
        CHECK(st == SOUNDSTAR_ERROR_NOT_FOUND && none == NULL, "a missing data folder: status %d", (int)st);
    }

    soundstar_engine_free(engine);
    printf("version %s, %d failures\n", soundstar_version(), failures);
    return failures == 0 ? 0 : 1;
}

/* The C API from C: renders in memory and checks the audio, then bad input (a status and a
 * message that names what was wrong), then a render to a file for run.sh to check with sox. */
#include <soundstar/soundstar.h>

#include <math.h>
#include <stddef.h>
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

/* A stream of two vibes pulled in pieces (written raw, float, to OUTPUT.f32 for run.sh), then an
 * endless stream steered with lines and stopped with "q". Returns the failures. */
static int stream_checks(soundstar_engine* engine, const char* wav_path) {
    const char* vibes[] = {"rainy window", "thunder rolling"};
    const double seconds[] = {3.0, 3.0};
    soundstar_stream_options o;
    soundstar_stream* stream = NULL;
    soundstar_stream_event e;
    float chunk[2 * 1000];
    size_t pulled = 0, total = 0;
    double sum = 0.0;
    char path[4096];
    char* events = NULL;
    FILE* raw;
    int before = failures, i;
    soundstar_stream_options_init(&o);
    o.sample_rate_hz = 22050.0;
    o.transition_seconds = 2.0;
    CHECK(soundstar_stream_new_items(engine, vibes, seconds, 2, &o, &stream) == SOUNDSTAR_OK, "stream: %s", soundstar_last_error());
    if (!stream) return failures - before;
    snprintf(path, sizeof path, "%s.f32", wav_path);
    raw = fopen(path, "wb");
    CHECK(raw != NULL, "cannot write %s", path);
    while (!soundstar_stream_finished(stream)) {
        if (soundstar_stream_pull(stream, chunk, 1000, &pulled) != SOUNDSTAR_OK) break;
        for (i = 0; i < (int)(2 * pulled); ++i) sum += (double)chunk[i] * chunk[i];
        if (raw) fwrite(chunk, sizeof(float), 2 * pulled, raw);
        total += pulled;
    }
    if (raw) fclose(raw);
    CHECK(total == 6 * 22050, "the stream gave %zu frames, want %d", total, 6 * 22050);
    CHECK(total > 0 && sqrt(sum / (2.0 * (double)total)) > 0.01, "the stream is silent");
    CHECK(soundstar_stream_events_json(stream, &events) == SOUNDSTAR_OK && events && strstr(events, "\"transition\""), "events: %s",
          events ? events : soundstar_last_error());
    soundstar_string_free(events);
    CHECK(soundstar_stream_append(stream, "calm", 0.1, -1.0) == SOUNDSTAR_ERROR_INVALID_ARGUMENT && strstr(soundstar_last_error(), "0.5 to 3600"),
          "a 0.1 s item must be refused: %s", soundstar_last_error());
    soundstar_stream_free(stream);
    stream = NULL;

    CHECK(soundstar_stream_new(engine, "calm piano", &o, &stream) == SOUNDSTAR_OK, "endless stream: %s", soundstar_last_error());
    if (!stream) return failures - before;
    soundstar_stream_pull(stream, chunk, 1000, &pulled);
    CHECK(soundstar_stream_steer(stream, "b 130", &e) == SOUNDSTAR_OK, "b 130: %s", soundstar_last_error());
    CHECK(strcmp(e.kind, "glide") == 0 && e.sample >= soundstar_stream_position(stream) && fabs(e.bpm - 130.0) < 0.01,
          "b 130 glides to 130 bpm from now on: %s at %lld, %.2f bpm", e.kind, (long long)e.sample, e.bpm);
    printf("steered b 130: %s at %.3f s, %.1f bpm over %.2f s\n", e.kind, e.seconds, e.bpm, e.length_seconds);
    CHECK(soundstar_stream_steer(stream, "{\"at\": \"never\"}", &e) == SOUNDSTAR_ERROR_INVALID_ARGUMENT && strstr(soundstar_last_error(), "phrase"),
          "a bad 'at' must be refused naming what is allowed: %s", soundstar_last_error());
    printf("refused: %s\n", soundstar_last_error());
    CHECK(soundstar_stream_pull(stream, NULL, 10, &pulled) == SOUNDSTAR_ERROR_INVALID_ARGUMENT, "a NULL buffer must be refused");
    CHECK(soundstar_stream_steer(stream, "q", &e) == SOUNDSTAR_OK && strcmp(e.kind, "fade_out") == 0, "q: %s", e.kind);
    for (i = 0; i < 10 && !soundstar_stream_finished(stream); ++i) soundstar_stream_pull(stream, chunk, 1000, &pulled);
    CHECK(soundstar_stream_finished(stream), "q ends the stream within 10000 frames");
    soundstar_stream_free(stream);
    return failures - before;
}

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

    /* A generator: an unknown model is refused naming the problem; a caller built before the
     * generator fields (a smaller struct_size) is not read past what it knows. */
    o.generator = "no-such-model";
    st = soundstar_render(engine, "dub stabs", &o, &audio);
    CHECK(st == SOUNDSTAR_ERROR_INVALID_ARGUMENT && strstr(soundstar_last_error(), "no model folder"), "unknown model: %s", soundstar_last_error());
    {
        /* A program built against the first header: its options end before the generator fields,
         * and it calls the exported init by name. Nothing past its struct is written, and the
         * render reads only what it knows (the canary stands where `generator` would be). */
        union {
            soundstar_render_options full;
            unsigned char bytes[sizeof(soundstar_render_options)];
        } old;
        size_t k;
        const size_t known = offsetof(soundstar_render_options, generator);
        memset(old.bytes, 0xA5, sizeof old.bytes);
        (soundstar_render_options_init)(&old.full);
        for (k = known; k < sizeof old.bytes; ++k) CHECK(old.bytes[k] == 0xA5, "the old init wrote byte %zu, past the %zu it knows", k, known);
        CHECK(old.full.struct_size == known, "struct_size %zu, want %zu", old.full.struct_size, known);
        old.full.duration_seconds = 2.0;
        st = soundstar_render(engine, "dub stabs", &old.full, &audio);
        CHECK(st == SOUNDSTAR_OK, "an older struct_size: %s", soundstar_last_error());
        if (st == SOUNDSTAR_OK) soundstar_audio_free(audio);
        audio = NULL;
    }
    soundstar_render_options_init(&o);
    o.duration_seconds = 3.0;
    o.sample_rate_hz = 22050.0;

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

    failures += stream_checks(engine, argv[1]);
    soundstar_engine_free(engine);
    printf("version %s, %d failures\n", soundstar_version(), failures);
    return failures == 0 ? 0 : 1;
}

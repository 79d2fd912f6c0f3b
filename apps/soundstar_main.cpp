// soundstar: text to music. Subcommands: render, interpret, arrange, demo, doctor, schema.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "Commands.h"
#include "core/NumberText.h"
#include "core/Timings.h"
#include "io/Sndfile.h"

namespace {
// Numbers on the command line are read strictly: decimal notation only, finite, in range.
// CLI11's own Range lets NaN through (every comparison with NaN is false).
CLI::Validator finiteNumber(double lo, double hi) {
    return CLI::Validator(
        [lo, hi](std::string& text) -> std::string {
            if (!soundstar::core::isDecimalText(text))
                return fmt::format("'{}' is not a number; allowed a finite decimal number from {:g} to {:g}", text, lo, hi);
            const double v = std::strtod(text.c_str(), nullptr);
            if (!std::isfinite(v) || v < lo || v > hi) return fmt::format("{} is out of range; allowed {:g} to {:g}", text, lo, hi);
            return {};
        },
        fmt::format("NUMBER in [{:g} - {:g}]", lo, hi));
}

CLI::Validator wholeNumber(unsigned long long lo, unsigned long long hi, const char* unit) {
    return CLI::Validator(
        [lo, hi, unit](std::string& text) -> std::string {
            errno = 0;
            const bool digits = soundstar::core::isDigitsText(text);
            const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
            if (!digits || errno == ERANGE || v < lo || v > hi)
                return fmt::format("'{}' is not allowed: give a whole number from {} to {}{}", text, lo, hi, unit);
            return {};
        },
        fmt::format("INTEGER in [{} - {}]", lo, hi));
}
}  // namespace

int main(int argc, char** argv) {
    using namespace soundstar::app;
    soundstar::core::timingMark("main");
    // The commands that read or write audio files start loading libsndfile (~4.5 ms here) on
    // another thread now: loaded at its first use instead, on the thread that prepares a
    // sampler track, a 1 s render took 4.5% longer; this way as long as with it linked in.
    if (argc > 1) {
        const std::string_view cmd = argv[1];
        for (const std::string_view c : {"render", "stream", "live", "dj", "serve", "analyze", "batch", "worker", "generate", "demo"})
            if (cmd == c) soundstar::io::preloadSndfile();
    }
    CLI::App app{"Soundstar: words in, music out (local, no GPU, no network)", "soundstar"};
    app.require_subcommand(1);
    app.set_version_flag("--version", SOUNDSTAR_VERSION);
    // Every command is listed, but only the chosen one's options are built: all of them (about
    // 300, with their checks) took 1.4-3 ms of every start.
    std::string_view chosen;  // the first word that is not a flag (`--help render` too)
    for (int i = 1; i < argc && chosen.empty(); ++i)
        if (argv[i][0] != '-') chosen = argv[i];
    const auto wants = [&](std::string_view name) { return chosen == name; };

    RenderArgs r;
    auto* render = app.add_subcommand("render", "Render a prompt (or a --config JSON) to a mastered audio file");
    if (wants("render")) {
        render->add_option("prompt", r.prompt, "What the music should be, e.g. \"warm sunset over water\"");
        render->add_option("--config", r.configFile,
                           "A MusicConfig JSON file (see `soundstar schema`), alone or applied on top of the prompt's")
            ->check(CLI::ExistingFile);
        render->add_option("-d,--duration", r.durationSeconds, "Length in seconds (1 to 3600)")
            ->check(finiteNumber(1.0, 3600.0));
        render->add_option("-o,--output", r.output, "Output file (.wav .flac .ogg .mp3), or - for WAV on standard output");
        render->add_option("--update", r.update,
                           "Nudge the resolved config: JSON with absolute values or steps, e.g. '{\"brightness\":\"+2\",\"tempo\":-1}'");
        render->add_option("--bars", r.bars, "Length in bars instead of seconds (1 to 2000), plus room for the ending")
            ->check(CLI::Range(1, 2000))
            ->excludes("--duration");
        render->add_option("--structure", r.structureFile,
                           "A JSON list of sections, e.g. [{\"section\":\"verse\",\"duration\":15}, ...]")
            ->check(CLI::ExistingFile);
        render->add_option("--form", r.form, "auto, verse_chorus, aaba, build_drop, ambient_arc, loop");
        render->add_flag("--loop", r.loop, "Make an exact, seamless loop (whole bars; the end joins the start)");
        render->add_option("--stems", r.stemsDir, "Also write one 32-bit float WAV per layer (pre-master) into this folder");
        render->add_option("--midi", r.midiFile, "Also write the score as a Standard MIDI File (a track per layer)");
        render->add_option("--seed", r.seed, "Random seed, 0 to 2^64-1 (default: derived from the prompt)")
            ->check(wholeNumber(0, 18446744073709551615ull, ""));
        render->add_option("--sample-rate", r.sampleRate, "Sample rate in Hz, a whole number from 8000 to 192000")
            ->check(wholeNumber(8000, 192000, " Hz"));
        render->add_option("--format", r.format, "wav, wav24, wav32f, flac, ogg, mp3 (default: from the extension)");
        render->add_flag("--no-master", r.noMaster, "Skip loudness normalisation and true-peak limiting");
        render->add_option("--target-lufs", r.targetLufs, "Mastering loudness target in LUFS (-40 to -6; default -14)")
            ->check(finiteNumber(-40.0, -6.0));
        render->add_option("--ceiling-dbtp", r.ceilingDbtp, "Mastering true-peak ceiling in dBTP (-12 to 0; default -1)")
            ->check(finiteNumber(-12.0, 0.0));
        render->add_flag("--print-config", r.printConfig, "Print the resolved MusicConfig as JSON on stdout");
        render->add_flag("--explain", r.explain, "Say on stderr which words of the prompt decided what");
        render->add_option("--block", r.blockSize, "Engine block size in frames (1 to 4096)")->check(CLI::Range(1, 4096));
        render->add_flag("-q,--quiet", r.quiet, "No progress on stderr");
        render->add_option("--llm", r.llmUrl,
                           "Compose with a local OpenAI-compatible LLM (LM Studio, llama.cpp, Ollama); optional base URL "
                           "(default: config file, $SOUNDSTAR_LLM_URL, else http://localhost:1234/v1)")
            ->expected(0, 1);
        render->add_option("--llm-model", r.llmModel, "The LLM's model name (default: the first the endpoint lists)");
        render->add_option("--llm-timeout", r.llmTimeout, "Seconds to wait for the LLM in all (default 60)")->check(finiteNumber(0.1, 3600.0));
        render->add_option("--generator", r.generatorName, "Add a layer generated by this model (a model folder or an installed model's name), fitted to the track's tempo, bars and key");
        render->add_option("--generator-gain", r.generatorGainDb, "The generated layer's loudness against the score's, in dB (-30 to 12; default -3)")
            ->check(finiteNumber(-30.0, 12.0))
            ->needs("--generator");
        render->add_option("--metadata", r.metadataFile, "Also write JSON: title, reasoning, colour palettes, config, sections, warnings");
    }

    StreamArgs st;
    auto* stream = app.add_subcommand("stream", "Render several vibes as one continuous stream with transitions on the beat grid");
    if (wants("stream")) {
        stream->add_option("vibes", st.vibes, "The vibes in order, e.g. \"morning coffee\" \"afternoon focus\"")->required();
        stream->add_option("--each", st.eachSeconds, "Seconds per vibe (default 60)")->check(finiteNumber(2.0, 3600.0));
        stream->add_option("--total", st.totalSeconds, "Seconds in all, shared equally by the vibes")->check(finiteNumber(2.0, 3600.0))->excludes("--each");
        stream->add_option("--transition", st.transition, "Transition length: seconds (\"5\") or bars (\"4bars\"); default 5");
        stream->add_option("-o,--output", st.output, "Output file (.wav .flac .ogg .mp3), or - for WAV on standard output");
        stream->add_option("--format", st.format, "wav, wav24, wav32f, flac, ogg, mp3 (default: from the extension)");
        stream->add_option("--events", st.eventsFile, "Also write every vibe and transition with its sample time and bar as JSON lines");
        stream->add_option("--seed", st.seed, "Random seed (default: derived from each vibe)")->check(wholeNumber(0, 18446744073709551615ull, ""));
        stream->add_option("--sample-rate", st.sampleRate, "Sample rate in Hz, a whole number from 8000 to 192000")->check(wholeNumber(8000, 192000, " Hz"));
        stream->add_option("--target-lufs", st.targetLufs, "Loudness the master's slow leveller moves toward (-36 to -6; default -14)")->check(finiteNumber(-36.0, -6.0));
        stream->add_flag("--no-master", st.noMaster, "No master chain (no leveller, no true-peak limiter)");
        stream->add_flag("-q,--quiet", st.quiet, "Print nothing but errors");
        stream->add_flag("--play", st.play, "Play the stream on --device once rendered (and write -o only when -o is given)");
        stream->add_option("--device", st.device, "default, jack or null (with --play)")->check(CLI::IsMember({"null", "default", "jack"}));
    }

    LiveArgs lv;
    auto* liveCmd = app.add_subcommand("live", "Play music that keeps going while you steer it (stdin, or a timed --script)");
    if (wants("live")) {
        liveCmd->add_option("vibe", lv.firstVibe, "The first vibe (default: calm ambient)");
        liveCmd->add_option("--clock", lv.clock, "real (an audio device) or virtual (as fast as the CPU allows, steered by --script)")
            ->check(CLI::IsMember({"real", "virtual"}));
        liveCmd->add_option("--device", lv.device, "null, default or jack (real clock)")->check(CLI::IsMember({"null", "default", "jack"}));
        liveCmd->add_option("--script", lv.scriptFile, "Timed steering lines \"SECONDS LINE\" (on the virtual clock default: stdin; on the real clock stdin steers as well; same seed and script, same bytes on both clocks)");
        liveCmd->add_option("--minutes", lv.minutes, "How long to play (default: until q; on the virtual clock required)")->check(finiteNumber(0.01, 600.0));
        liveCmd->add_option("-o,--output", lv.output, "Record to a float WAV as it plays (valid whenever it stops)");
        liveCmd->add_option("--stdout", lv.stdoutFormat, "Raw interleaved PCM on standard output: f32 or s16 (| ffplay -f f32le -ar 44100 -ac 2 -)")
            ->check(CLI::IsMember({"f32", "s16"}));
        liveCmd->add_option("--events", lv.eventsFile, "Write every vibe and transition with its sample and bar as JSON lines");
        liveCmd->add_option("--transition", lv.transition, "Default transition: seconds (\"4\") or bars (\"2bars\")");
        liveCmd->add_option("--seed", lv.seed, "Random seed")->check(wholeNumber(0, 18446744073709551615ull, ""));
        liveCmd->add_option("--sample-rate", lv.sampleRate, "Sample rate in Hz")->check(wholeNumber(8000, 192000, " Hz"));
        liveCmd->add_flag("-q,--quiet", lv.quiet, "Print only errors");
        liveCmd->add_option("--llm", lv.llmUrl, "Also read each vibe with a local LLM in the background (optional base URL); its answer replaces the interpreter's when it arrives")
            ->expected(0, 1);
        liveCmd->add_option("--llm-model", lv.llmModel, "The LLM's model name");
        liveCmd->add_option("--llm-timeout", lv.llmTimeout, "Seconds to wait for the LLM per vibe (default 60)")->check(finiteNumber(0.1, 3600.0));
        liveCmd->add_option("--target-lufs", lv.targetLufs, "Loudness the master's slow leveller moves toward (-36 to -6, default -14)")
            ->check(finiteNumber(-36.0, -6.0));
        liveCmd->add_option("--control", lv.control, "Also take steering lines from a Unix socket: unix:PATH (one line per command, many clients)");
    }

    DjArgs dj;
    auto* djCmd = app.add_subcommand("dj", "A DJ set that plays itself: phases, energy and layers on bar lines, steered from stdin");
    if (wants("dj")) {
        djCmd->add_option("--profile", dj.profile, "The DJ profile (techno_minimal, deep_house, dub, ...; default techno_minimal)");
        djCmd->add_option("--clock", dj.clock, "internal (real time on --device), virtual (as fast as the CPU allows, with --script), midi (follow a MIDI clock on JACK), jack (follow JACK's transport: a timebase master's tempo and bars, Start/Stop/relocate) or link (an Ableton Link session; builds with -DSOUNDSTAR_LINK=ON)")
            ->check(CLI::IsMember({"internal", "virtual", "midi", "jack", "link"}));
        djCmd->add_option("--midi-in", dj.midiIn, "--clock midi: the JACK MIDI port to follow (part of its name; default: open soundstar-dj:clock_in)");
        djCmd->add_option("--midi-out", dj.midiOut, "--clock internal --device jack: send a MIDI clock on soundstar-dj-out:clock_out (connected to PORT, part of a name)")
            ->expected(0, 1);
        djCmd->add_option("--midi-offset-ms", dj.midiOffsetMs, "--clock midi or jack: take the clock's events this much later (-500 to 500 ms)")->check(finiteNumber(-500.0, 500.0));
        djCmd->add_option("--device", dj.device, "null, default or jack (with --clock midi or jack: the clock's own JACK client, sample 0 on the first tick after Start, Stop pauses, Continue resumes)")->check(CLI::IsMember({"null", "default", "jack"}));
        djCmd->add_option("--script", dj.scriptFile, "Timed commands \"SECONDS LINE\" (virtual clock; default stdin)");
        djCmd->add_option("--minutes", dj.minutes, "The set's length (a fraction allowed; default: until q; the virtual clock needs it)")->check(finiteNumber(0.01, 600.0));
        djCmd->add_option("-o,--output", dj.output, "Record to a float WAV as it plays");
        djCmd->add_option("--events", dj.eventsFile, "Write phases, layer moves, energy and warnings with sample and bar as JSON lines");
        djCmd->add_option("--seed", dj.seed, "Random seed (default 1)")->check(wholeNumber(0, 18446744073709551615ull, ""));
        djCmd->add_option("--sample-rate", dj.sampleRate, "Sample rate in Hz")->check(wholeNumber(8000, 192000, " Hz"));
        djCmd->add_option("--target-lufs", dj.targetLufs, "Loudness the master moves toward (-36 to -6, default -14)")->check(finiteNumber(-36.0, -6.0));
        djCmd->add_flag("-q,--quiet", dj.quiet, "Print only errors");
        djCmd->add_option("--llm", dj.llmUrl, "An LLM plans each phrase (optional base URL); the rules play on when it fails")->expected(0, 1);
        djCmd->add_option("--llm-model", dj.llmModel, "The LLM's model name");
        djCmd->add_option("--llm-timeout", dj.llmTimeout, "Seconds to wait for each LLM answer (default 10)")->check(finiteNumber(0.1, 600.0));
        djCmd->add_option("--generator", dj.generator, "A model (a folder or an installed model's name) for generated loops: the command g [BARS] DESCRIPTION");
        djCmd->add_option("--generator-gain", dj.generatorGainDb, "A generated loop's loudness against the set's target, in dB (-30 to 12; default -3)")
            ->check(finiteNumber(-30.0, 12.0))
            ->needs("--generator");
    }

    std::string demoOut = "soundstar-demo.wav";
    bool noPlay = false;
    auto* demo = app.add_subcommand("demo", "Render a short sample to a file and play it where a device exists");
    std::string demoMidi;
    if (wants("demo")) {
        demo->add_option("-o,--output", demoOut, "Output file");
        demo->add_flag("--no-play", noPlay, "Only write the file");
        demo->add_option("--midi", demoMidi, "Also write the score it plays as a Standard MIDI File");
    }

    std::string interpretPrompt;
    bool interpretJson = false, interpretExplain = false;
    auto* interpretCmd = app.add_subcommand("interpret", "Show the config the embedded interpreter makes of a prompt (offline)");
    if (wants("interpret")) {
        interpretCmd->add_option("prompt", interpretPrompt, "Any text: \"melancholic rainy night\", \"techno at 130 bpm, no bass\"")->required();
        interpretCmd->add_flag("--json", interpretJson, "Print the config (what render would use) as JSON");
        interpretCmd->add_flag("--explain", interpretExplain, "Say which words and which library neighbours decided what");
    }

    BatchArgs ba;
    auto* batchCmd = app.add_subcommand("batch", "Render every job of a JSON-lines file (one render per line) into a folder, on every core");
    if (wants("batch")) {
        batchCmd->add_option("jobs_file", ba.jobsFile, "JOBS.jsonl: one JSON object per line, e.g. {\"prompt\":\"rainy night\",\"duration\":20} "
                                                  "(fields: `soundstar schema --job`); - reads standard input")->required();
        batchCmd->add_option("-o,--output", ba.outputDir, "The folder the files go to (created if missing)")->required();
        batchCmd->add_option("-j,--parallel", ba.parallel, "Renders at a time, 1 to 256 (default: one per core)")->check(CLI::Range(1, 256));
        batchCmd->add_option("--report", ba.reportFile, "Also write one JSON line per job (line, output, ok, error, loudness, times)");
        batchCmd->add_flag("-q,--quiet", ba.quiet, "No progress on stderr");
    }

    WorkerArgs wk;
    wk.parallel = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto* workerCmd = app.add_subcommand("worker", "Render jobs from a Redis Stream (a consumer group; run one per machine against one Redis)");
    if (wants("worker")) {
        workerCmd->add_option("--redis", wk.redisUrl, "redis://[:PASSWORD@]HOST[:PORT][/DB]")->required();
        workerCmd->add_option("--stream", wk.stream, "The jobs stream (default soundstar:jobs; results go to STREAM:results, given-up jobs to STREAM:dead)");
        workerCmd->add_option("--group", wk.group, "The consumer group (default soundstar-workers)");
        workerCmd->add_option("--name", wk.consumer, "This worker's consumer name (default HOST-PID)");
        workerCmd->add_option("-j,--parallel", wk.parallel, "Renders at a time, 1 to 256 (default: one per core)")->check(CLI::Range(1, 256));
        workerCmd->add_option("-o,--output", wk.outputDir, "The shared output folder (default: the current folder)");
        workerCmd->add_option("--claim-after", wk.claimAfterSeconds, "Take over a job idle this many seconds (its worker gone; default 60)")
            ->check(finiteNumber(0.5, 86400.0));
        workerCmd->add_option("--exit-when-idle", wk.exitWhenIdleSeconds, "Exit after this many seconds with nothing to do (default: never)")
            ->check(finiteNumber(0.1, 86400.0));
        workerCmd->add_flag("-q,--quiet", wk.quiet, "Print only errors");
    }

    SubmitArgs sb;
    auto* submitCmd = app.add_subcommand("submit", "Add render jobs to a Redis Stream for workers (and --wait for their results)");
    if (wants("submit")) {
        submitCmd->add_option("--redis", sb.redisUrl, "redis://[:PASSWORD@]HOST[:PORT][/DB]")->required();
        submitCmd->add_option("jobs_file", sb.jobsFile, "JOBS.jsonl: one job per line (as for batch)")->check(CLI::ExistingFile);
        submitCmd->add_option("--job", sb.jobTexts, "One job as JSON, e.g. '{\"prompt\":\"rainy night\",\"duration\":20}' (repeatable)");
        submitCmd->add_option("--prompt", sb.prompt, "One job from a prompt (with -d, --seed, --name)");
        submitCmd->add_option("-d,--duration", sb.durationSeconds, "Length in seconds of the --prompt job (1 to 3600)")->check(finiteNumber(1.0, 3600.0));
        submitCmd->add_option("--seed", sb.seed, "Seed of the --prompt job")->check(wholeNumber(0, 18446744073709551615ull, ""));
        submitCmd->add_option("--name", sb.output, "Output name of the --prompt job inside the workers' folder");
        submitCmd->add_option("--stream", sb.stream, "The jobs stream (default soundstar:jobs)");
        submitCmd->add_option("--group", sb.group, "The workers' consumer group (default soundstar-workers)");
        submitCmd->add_flag("--wait", sb.wait, "Wait for every job's result and print it (exit 1 when any failed)");
        submitCmd->add_option("--timeout", sb.waitSeconds, "Seconds --wait waits in all (default 3600)")->check(finiteNumber(0.1, 604800.0));
        submitCmd->add_flag("-q,--quiet", sb.quiet, "Print only ids and results");
    }

    app.add_subcommand("doctor", "Check libraries, devices and data files; say what is missing and how to fix it");
    auto* schema = app.add_subcommand("schema", "Print the MusicConfig JSON Schema (--job: a batch job line's)");
    bool schemaJob = false;
    RenderArgs ar;
    auto* arrangeCmd = app.add_subcommand("arrange", "Print the arrangement (sections, bars, energy, layers) as JSON");
    arrangeCmd->add_option("prompt", ar.prompt, "What the music should be");
    arrangeCmd->add_option("--config", ar.configFile, "A MusicConfig JSON file")->check(CLI::ExistingFile);
    arrangeCmd->add_option("-d,--duration", ar.durationSeconds, "Length in seconds (1 to 3600)")->check(finiteNumber(1.0, 3600.0));
    arrangeCmd->add_option("--update", ar.update, "Nudge the resolved config (JSON, steps like \"+1\")");
    arrangeCmd->add_option("--bars", ar.bars, "Length in bars instead of seconds")->check(CLI::Range(1, 2000))->excludes("--duration");
    arrangeCmd->add_option("--structure", ar.structureFile, "A JSON list of sections")->check(CLI::ExistingFile);
    arrangeCmd->add_option("--form", ar.form, "auto, verse_chorus, aaba, build_drop, ambient_arc, loop");
    arrangeCmd->add_flag("--loop", ar.loop, "An exact, seamless loop");
    if (wants("schema")) {
        schema->add_flag("--job", schemaJob, "The JSON Schema of a batch or worker job line instead");
    }

    ServeArgs sv;
    auto* serveCmd = app.add_subcommand("serve", "Serve the engine over HTTP/WebSocket (/v1) and OSC, for agents, apps and live coders");
    if (wants("serve")) {
        serveCmd->add_option("--host", sv.host, "Address to listen on (default 127.0.0.1; any other needs --api-key)");
        serveCmd->add_option("--port", sv.port, "TCP port, 0 for any free one (default 7860)")->check(CLI::Range(0, 65535));
        serveCmd->add_option("--device", sv.device, "null, default or jack")->check(CLI::IsMember({"null", "default", "jack"}));
        serveCmd->add_option("--api-key", sv.apiKey, "Require Authorization: Bearer KEY (8 to 256 printable characters; or $SOUNDSTAR_API_KEY)");
        serveCmd->add_option("--osc-port", sv.oscPort, "Also take OSC on this UDP port (0: any free one; loopback hosts only)")->check(CLI::Range(0, 65535));
        serveCmd->add_option("--data", sv.dataDir, "Folder for every file the server reads or writes (default ./soundstar-data)");
        serveCmd->add_option("--llm", sv.llmUrl, "The assistant asks this OpenAI-compatible LLM (optional URL; as render --llm)")->expected(0, 1);
        serveCmd->add_option("--llm-model", sv.llmModel, "The LLM's model name (default: the first the endpoint lists)");
        serveCmd->add_option("--llm-timeout", sv.llmTimeout, "Seconds to wait for the LLM in all (default 60)")->check(finiteNumber(0.1, 3600.0));
        serveCmd->add_option("--sample-memory-mb", sv.sampleMemoryMb, "Memory for loaded samples, all together (default 512)")->check(CLI::Range(1.0, 65536.0));
        serveCmd->add_flag("-q,--quiet", sv.quiet, "Print only the address and errors");
    }

    GenerateArgs ge;
    auto* generateCmd = app.add_subcommand("generate", "Generate audio with a model (a model folder) through the model service");
    ModelsArgs mo;
    auto* modelsCmd = app.add_subcommand("models", "List installed models (--dir, $SOUNDSTAR_MODELS, data/models); --load loads each in a worker");
    modelsCmd->add_option("--dir", mo.dirs, "Also look for model folders in this folder (repeatable)");
    modelsCmd->add_flag("--load", mo.load, "Load each model in a worker process and report its load time and the memory in use");
    auto* modelWorkerCmd = app.add_subcommand("model-worker", "")->group("");  // started by the model service, speaks frames on stdio
    if (wants("generate")) {
        generateCmd->add_option("prompt", ge.prompt, "What to generate, e.g. \"warm analog pads\"")->required();
        generateCmd->add_option("--model", ge.model, "The model folder (manifest.json + weights; default: the shipped procedural model)");
        generateCmd->add_option("-d,--duration", ge.seconds, "Length in seconds (0.1 to 600; default 10)")->check(finiteNumber(0.1, 600.0));
        generateCmd->add_option("-o,--output", ge.output, "Output file (.wav .flac .ogg .mp3)");
        generateCmd->add_option("--format", ge.format, "wav, wav24, wav32f, flac, ogg, mp3 (default: from the extension)");
        generateCmd->add_option("--seed", ge.seed, "Random seed, 0 to 2^64-1 (default 1)")->check(wholeNumber(0, 18446744073709551615ull, ""));
        generateCmd->add_option("--steps", ge.steps, "Steps (1 to 1000; default: the model's)")->check(wholeNumber(1, 1000, ""));
        generateCmd->add_option("--guidance", ge.guidance, "Guidance scale (0 to 30; default: the model's)")->check(finiteNumber(0.0, 30.0));
        generateCmd->add_option("--top-k", ge.topK, "musicgen: draw each token from the k likeliest (1 to 65536; 1 is greedy; default: the model's)")->check(wholeNumber(1, 65536, ""));
        generateCmd->add_option("--temperature", ge.temperature, "musicgen: sampling temperature (0.01 to 10; default: the model's)")->check(finiteNumber(0.01, 10.0));
        generateCmd->add_option("--takes", ge.takes, "Versions to make (1 to 8; default 1): take t from seed + t, written to FILE, then FILE-2, FILE-3 ... "
                                                     "before the extension (musicgen makes them side by side, one pass over its weights a step)")
            ->check(wholeNumber(1, 8, ""));
        generateCmd->add_option("--sample-rate", ge.sampleRate, "The files' sample rate in Hz (8000 to 192000; default: the model's), resampled (libsamplerate)")
            ->check(wholeNumber(8000, 192000, " Hz"));
        generateCmd->add_option("--threads", ge.threads, "Threads the model runs on for this request (1 to 64; default: the model folder's)")->check(wholeNumber(1, 64, ""));
        generateCmd->add_option("--timeout", ge.timeoutSeconds, "Seconds the request may take, loading included (default 600)")->check(finiteNumber(0.1, 86400.0));
        generateCmd->add_option("--loop-bars", ge.loopBars, "Fit the audio into a loop of this many bars (1 to 64) at --bpm: cut on its beats with a crossfaded seam, "
                                 "stretched to the tempo, pitch-shifted to --key, at -14 LUFS (without -d it asks the model for enough audio)")
            ->check(wholeNumber(1, 64, ""));
        generateCmd->add_option("--bpm", ge.bpm, "The loop's tempo (40 to 300; default 120)")->check(finiteNumber(40.0, 300.0));
        generateCmd->add_option("--beats-per-bar", ge.beatsPerBar, "The loop's beats per bar (1 to 32; default 4)")->check(wholeNumber(1, 32, ""));
        generateCmd->add_option("--key", ge.key, "The loop's key, e.g. \"F minor\" or Eb (default: the pitch stays)");
        generateCmd->add_flag("-q,--quiet", ge.quiet, "Print only errors");
    }

    AnalyzeArgs an;
    auto* analyzeCmd = app.add_subcommand("analyze", "Levels, loudness, spectrum, onsets, pitch, tempo and key of an audio file");
    if (wants("analyze")) {
        analyzeCmd->add_option("file", an.file, "A WAV, FLAC, Ogg or other file libsndfile reads (up to 1 GiB and 20 minutes)")->required();
        analyzeCmd->add_flag("--json", an.json, "One JSON object instead of the summary");
        analyzeCmd->add_option("--fft-size", an.fftSize, "Spectrum FFT size, a power of two from 64 to 65536 (default 4096)");
        analyzeCmd->add_option("--window", an.window, "Spectrum window: hann (default), hamming or blackman");
    }

    if (argc > 1 && argv[1][0] != '-') {
        const std::string cmd = argv[1];
        if (cmd != "render" && cmd != "stream" && cmd != "live" && cmd != "dj" && cmd != "demo" && cmd != "doctor" && cmd != "schema" && cmd != "arrange" && cmd != "interpret" &&
            cmd != "batch" && cmd != "worker" && cmd != "submit" && cmd != "serve" && cmd != "generate" && cmd != "models" && cmd != "model-worker" && cmd != "analyze") {
            fmt::print(stderr, "soundstar: unknown command '{}'; commands: render, stream, live, dj, serve, analyze, batch, worker, submit, generate, models, interpret, arrange, demo, doctor, schema (see --help)\n", cmd);
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    soundstar::core::timingMark("command line parsed");
    try {
        if (render->parsed()) {
            if (r.prompt.empty() && r.configFile.empty()) {
                fmt::print(stderr, "soundstar render: give a prompt or --config FILE.json\n"
                                   "  e.g. soundstar render \"warm sunset over water\" -o sunset.wav\n");
                return 2;
            }
            r.durationGiven = render->count("--duration") > 0;
            r.useLlm = render->count("--llm") > 0 || render->count("--llm-model") > 0;
            if (r.llmUrl && r.llmUrl->empty()) r.llmUrl.reset();
            r.midiGiven = render->count("--midi") > 0;
            r.stemsGiven = render->count("--stems") > 0;
            r.metadataGiven = render->count("--metadata") > 0;
            return runRender(r);
        }
        if (stream->parsed()) {
            st.outputGiven = stream->count("-o") > 0;
            return runStream(st);
        }
        if (liveCmd->parsed()) {
            if (lv.clock == "virtual" && lv.minutes <= 0) throw std::invalid_argument("--clock virtual needs --minutes");
            lv.useLlm = liveCmd->count("--llm") > 0 || liveCmd->count("--llm-model") > 0;
            return runLive(lv);
        }
        if (djCmd->parsed()) {
            if (dj.clock == "virtual" && dj.minutes <= 0) throw std::invalid_argument("--clock virtual needs --minutes");
            if (dj.clock != "virtual" && !dj.scriptFile.empty()) throw std::invalid_argument("--script needs --clock virtual");
            dj.useLlm = djCmd->count("--llm") > 0 || djCmd->count("--llm-model") > 0;
            if (djCmd->count("--midi-out") > 0 && !dj.midiOut) dj.midiOut = "";
            if (dj.midiOut && (dj.clock != "internal" || dj.device != "jack")) throw std::invalid_argument("--midi-out needs --clock internal --device jack");
            if (!dj.midiIn.empty() && dj.clock != "midi") throw std::invalid_argument("--midi-in needs --clock midi");
            if (dj.llmUrl && dj.llmUrl->empty()) dj.llmUrl.reset();
            return runDj(dj);
        }
        if (serveCmd->parsed()) {
            sv.useLlm = serveCmd->count("--llm") > 0 || serveCmd->count("--llm-model") > 0;
            if (sv.llmUrl && sv.llmUrl->empty()) sv.llmUrl.reset();
            return runServe(sv);
        }
        if (demo->parsed()) return runDemo(demoOut, !noPlay, demoMidi);
        if (interpretCmd->parsed()) return runInterpret(interpretPrompt, interpretJson, interpretExplain);
        if (schema->parsed()) return schemaJob ? runJobSchema() : runSchema();
        if (batchCmd->parsed()) return runBatch(ba);
        if (generateCmd->parsed()) {
            ge.durationGiven = generateCmd->count("--duration") > 0;
            ge.loopShaped = generateCmd->count("--bpm") + generateCmd->count("--beats-per-bar") + generateCmd->count("--key") > 0;
            return runGenerate(ge);
        }
        if (modelsCmd->parsed()) return runModels(mo);
        if (modelWorkerCmd->parsed()) return runModelWorker();
        if (workerCmd->parsed()) return runWorker(wk);
        if (submitCmd->parsed()) return runSubmit(sb);
        if (arrangeCmd->parsed()) {
            ar.durationGiven = arrangeCmd->count("--duration") > 0;
            return runArrange(ar);
        }
        if (analyzeCmd->parsed()) return runAnalyze(an);
        return runDoctor();
    } catch (const std::exception& e) {
        fmt::print(stderr, "soundstar: {}\n", e.what());
        return 1;
    }
}

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/ranges.h>

#include "Commands.h"
#include "batch/JobSpec.h"
#include "interpret/Interpreter.h"
#include "llm/LlmClient.h"
#include "engine/Preset.h"
#include "io/AudioDevice.h"
#include "io/Sndfile.h"
#include "io/AudioFile.h"
#include "music/MusicConfig.h"
#ifdef SOUNDSTAR_HAVE_GGML
#include "models/ggml/GgmlModule.h"
#endif

namespace soundstar::app {

int runDoctor() {
    int problems = 0;
    const auto ok = [](const std::string& what) { fmt::print("  ok       {}\n", what); };
    const auto bad = [&](const std::string& what, const std::string& fix) {
        fmt::print("  MISSING  {}\n           fix: {}\n", what, fix);
        ++problems;
    };
    fmt::print("soundstar doctor\n");
    if (const auto why = io::sndfileLoadError(); !why.empty())
        bad(fmt::format("libsndfile: {}", why), "apt install libsndfile1");
    else
        ok(fmt::format("libsndfile {}", io::sndfileVersion()));

    const auto data = dataDir();
    try {
        engine::PresetLibrary lib;
        lib.loadDirectory(data / "presets");
        if (lib.names().empty()) bad(fmt::format("presets in {}", (data / "presets").string()), "restore data/presets from the repository");
        else ok(fmt::format("{} presets in {}", lib.names().size(), (data / "presets").string()));
        for (const auto& [name, why] : lib.unavailable())
            fmt::print("  note     preset '{}' falls back to a synth: {}\n", name, why);
    } catch (const std::exception& e) {
        bad(fmt::format("presets: {}", e.what()), "set SOUNDSTAR_DATA to the repository's data/ folder");
    }

    try {
        const auto t0 = std::chrono::steady_clock::now();
        const auto& it = interpreter();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        it.checkAllData();  // what a render checks only as far as its prompt reads
        ok(fmt::format("interpreter: {} words, {} described configurations, loaded in {:.1f} ms from {}", it.vocabularySize(),
                       it.librarySize(), ms, it.origin()));
    } catch (const interpret::SnapshotError& e) {
        // Only a damaged block reaches here: a snapshot that fails to open is passed over for the sources.
        bad(fmt::format("interpreter data: {}", e.what()),
            "rebuild the snapshot (scripts/setup, or cmake --build on the build folder) or delete it; until then, prompts that "
            "reach the damaged rows are read from the sources");
    } catch (const std::exception& e) {
        bad(fmt::format("interpreter data: {}", e.what()), "set SOUNDSTAR_DATA to the repository's data/ folder (it needs data/interpret)");
    }

#ifdef SOUNDSTAR_HAVE_GGML
    try {
        ok("ggml CPU backend " + models::ggml::describeCpu());
    } catch (const std::exception& e) {
        bad(fmt::format("ggml CPU backend: {}", e.what()), "run scripts/build-ggml.sh, then reconfigure");
    }
#endif
    const auto devices = io::listOutputDevices();
    if (devices.empty()) {
        fmt::print("  note     no audio output device (fine for rendering files; live playback needs one)\n"
                   "           fix: start a JACK server (e.g. `jackd -d alsa`, or `jackd --no-realtime -d dummy` to test)\n");
    } else {
        for (const auto& d : devices) ok("audio device " + d);
    }
    try {
        const auto getenv = [](const char* n) { return std::getenv(n); };
        auto settings = llm::resolveLlmSettings({}, getenv, llm::defaultConfigFile(getenv));
        settings.timeoutSeconds = std::min(settings.timeoutSeconds, 3.0);
        settings.retries = 0;
        llm::LlmClient client(settings);
        try {
            const auto models = client.models();
            ok(fmt::format("LLM endpoint {} answers; models: {}", settings.baseUrl, models.empty() ? "(none loaded)" : fmt::format("{}", fmt::join(models, ", "))));
        } catch (const llm::LlmError& e) {
            fmt::print("  note     LLM endpoint not answering: {}\n"
                       "           (optional: `render --llm` then uses the embedded interpreter; set the URL with --llm URL,\n"
                       "           $SOUNDSTAR_LLM_URL or [llm] url in {})\n",
                       e.what(), llm::defaultConfigFile(getenv).string());
        }
    } catch (const std::exception& e) {
        bad(fmt::format("LLM settings: {}", e.what()), "fix the value named above");
    }
    if (problems == 0) fmt::print("all good\n");
    else fmt::print("{} problem(s) found\n", problems);
    return problems == 0 ? 0 : 1;
}

}  // namespace soundstar::app

namespace soundstar::app {
int runJobSchema() {
    fmt::print("{}", batch::jobSchema());
    return 0;
}

int runSchema() {
    fmt::print("{}", music::musicConfigSchema());
    return 0;
}
}  // namespace soundstar::app

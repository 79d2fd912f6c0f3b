// Renders with the installed C++ facade: in memory (checked here) and to files (checked by
// run.sh with sox). Prints the data folder it found, for run.sh to check it is the installed one.
#include <soundstar/soundstar.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

static int failures = 0;
static void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what.c_str());
        ++failures;
    }
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer OUTPUT_DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    soundstar::Engine engine;
    std::printf("data %s\n", engine.dataDir().c_str());
    std::printf("version %s\n", soundstar::version());

    std::ofstream(dir + "/interpreted.json") << engine.interpret("dark slow rain at night");

    soundstar::RenderRequest r;
    r.prompt = "warm sunset over water";
    r.durationSeconds = 4.0;
    r.seed = 11;
    const soundstar::Audio a = engine.render(r);
    check(a.sampleRateHz == 44100.0, "sample rate 44100");
    check(a.frames() == 4 * 44100, "4 s to the sample, got " + std::to_string(a.frames()) + " frames");
    double sum = 0.0;
    for (float s : a.samples) sum += double(s) * s;
    const double rms = std::sqrt(sum / double(a.samples.size() ? a.samples.size() : 1));
    std::printf("rms %.4f lufs %.2f\n", rms, a.lufs);
    check(rms > 0.01, "not silent (rms " + std::to_string(rms) + ")");
    check(a.measured && std::fabs(a.lufs + 14.0) < 1.0, "mastered near -14 LUFS, got " + std::to_string(a.lufs));
    check(a.configJson.find("\"seed\": 11") != std::string::npos || a.configJson.find("\"seed\":11") != std::string::npos,
          "the config played holds the seed: " + a.configJson.substr(0, 200));
    a.save(dir + "/memory.wav");

    // Same request, same samples.
    const soundstar::Audio again = engine.render(r);
    check(again.samples == a.samples, "same seed, same samples");

    soundstar::FileOutputs files;
    files.audioPath = dir + "/song.flac";
    files.midiPath = dir + "/song.mid";
    files.stemsDir = dir + "/stems";
    files.metadataPath = dir + "/song.json";
    const soundstar::RenderReport rep = engine.renderToFile(r, files);
    check(rep.layers > 0, "layers");
    std::printf("layers %d\n", rep.layers);

    try {
        r.durationSeconds = 0.5;
        (void)engine.render(r);
        check(false, "a 0.5 s render must be refused");
    } catch (const std::invalid_argument& e) {
        std::printf("refused: %s\n", e.what());
        check(std::string(e.what()).find("duration") != std::string::npos && std::string(e.what()).find("1 to 3600") != std::string::npos,
              std::string("the message names the duration and the range: ") + e.what());
    }
    try {
        (void)soundstar::Engine(dir);  // not a data folder
        check(false, "a folder without data must be refused");
    } catch (const soundstar::DataNotFound& e) {
        std::printf("refused: %s\n", e.what());
    }
    return failures == 0 ? 0 : 1;
}

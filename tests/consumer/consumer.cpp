// Renders with the installed C++ facade: in memory (checked here) and to files (checked by
// run.sh with sox). Prints the data folder it found, for run.sh to check it is the installed one.
#include <soundstar/soundstar.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

static int failures = 0;
static void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what.c_str());
        ++failures;
    }
}

static double rmsOf(const std::vector<float>& v, std::size_t from, std::size_t to) {
    double sum = 0.0;
    for (std::size_t i = from; i < to && i < v.size(); ++i) sum += double(v[i]) * v[i];
    return to > from ? std::sqrt(sum / double(to - from)) : 0.0;
}

// Streaming: a stream of items pulled in uneven pieces is the same as one pulled whole, ends
// exactly after its items, and an endless stream takes steering lines and stops on "q".
static void streamChecks(const soundstar::Engine& engine, const std::string& dir) {
    soundstar::StreamOptions o;
    o.sampleRateHz = 22050;
    o.transitionSeconds = 2.0;
    o.seed = 3;
    const std::vector<soundstar::StreamItem> items{{"morning coffee", 4.0}, {"dark minimal techno", 4.0}};
    soundstar::Stream whole(engine, items, o);
    const std::vector<float> all = whole.pull(9 * 22050);
    check(all.size() == 2u * 8 * 22050, "a stream of 4 s + 4 s gives 8 s, got " + std::to_string(all.size() / 2) + " frames");
    check(whole.finished() && whole.pull(100).empty(), "the stream ends after its items");
    check(rmsOf(all, 0, all.size()) > 0.01, "the stream is not silent");
    soundstar::Stream pieces(engine, items, o);
    std::vector<float> joined;
    for (std::size_t n = 1; !pieces.finished(); n = n * 3 % 5000 + 1) {
        const auto got = pieces.pull(n);
        joined.insert(joined.end(), got.begin(), got.end());
    }
    check(joined == all, "pulled in pieces of any size, the same samples");
    bool transition = false;
    for (const auto& e : whole.events()) transition = transition || (e.kind == "transition" && e.sample > 0 && e.sample < 8 * 22050);
    check(transition, "a transition between the two vibes is in the events");
    std::ofstream(dir + "/stream.f32", std::ios::binary).write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size() * sizeof(float)));

    soundstar::Stream live(engine, "calm piano", o);
    check(live.length() == -1, "a stream of one vibe is endless");
    (void)live.pull(22050);
    const soundstar::StreamEvent glide = live.steer("+bright");
    std::printf("steered +bright: %s at %.3f s (bar %d)\n", glide.kind.c_str(), glide.seconds, glide.bar);
    check(glide.kind == "glide" && glide.sample >= live.position(), "+bright glides from now on, got '" + glide.kind + "'");
    check(live.configJson().find("\"brightness\"") != std::string::npos, "the config playing");
    check(live.steer("").kind.empty(), "an empty line schedules nothing");
    try {
        (void)live.steer("b 999");
        check(false, "b 999 must be refused");
    } catch (const std::invalid_argument& e) {
        std::printf("refused: %s\n", e.what());
    }
    const soundstar::StreamEvent quit = live.steer("q");
    check(quit.kind == "fade_out", "q fades out, got '" + quit.kind + "'");
    const auto tail = live.pull(22050);
    check(live.finished() && tail.size() < 2u * 22050 / 5, "q ends the stream within 200 ms, got " + std::to_string(tail.size() / 2) + " frames");
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

    // A generated layer: the shipped procedural model, run by the soundstar program installed
    // beside the library (soundstar model-worker). Without the master the mix is the sum of its
    // layers, so the difference between the two renders is the generated layer.
    {
        soundstar::RenderRequest g = r;
        g.durationSeconds = 10.0;
        g.master = false;
        soundstar::RenderRequest plain = g;
        g.generator = "procedural";
        g.generatorGainDb = 0.0;
        const soundstar::Audio with = engine.render(g), without = engine.render(plain);
        check(with.frames() == without.frames(), "a generated layer keeps the length");
        check(!with.generated.empty() && without.generated.empty(), "the generated layer is described: '" + with.generated + "'");
        double diff = 0.0;
        for (std::size_t i = 0; i < with.samples.size(); ++i) diff += double(with.samples[i] - without.samples[i]) * (with.samples[i] - without.samples[i]);
        diff = std::sqrt(diff / double(with.samples.size() ? with.samples.size() : 1));
        std::printf("generated layer rms %.4f: %s\n", diff, with.generated.c_str());
        check(diff > 0.01, "the generated layer is heard (rms " + std::to_string(diff) + ")");
        try {
            g.generator = "no-such-model";
            (void)engine.render(g);
            check(false, "an unknown model must be refused");
        } catch (const std::invalid_argument& e) {
            check(std::string(e.what()).find("no model folder") != std::string::npos, std::string("names the problem: ") + e.what());
        }
    }
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
    streamChecks(engine, dir);
    return failures == 0 ? 0 : 1;
}

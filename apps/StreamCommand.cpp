// soundstar stream: several vibes rendered as one continuous stream by a live session on the
// virtual clock (live::renderStream), levelled and limited by its master as it plays.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include "Commands.h"
#include "music/JsonText.h"
#include "engine/Controller.h"
#include "engine/Instrument.h"
#include "io/AudioDevice.h"
#include "io/AudioFile.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "live/Stream.h"
#include "render/Mastering.h"

namespace soundstar::app {
namespace {
struct NothingToWrite {};

// Plays a rendered buffer from its first sample: the engine's one track [rt after prepare].
class BufferSource final : public engine::Instrument {
public:
    explicit BufferSource(const StereoBuffer& audio) : audio_(audio) {}
    void prepare(double, int) override {}
    void noteOn(float, float) override { playing_ = true; }
    void noteOff(float) override {}
    void allNotesOff() override { playing_ = false; }
    void setParam(int, float) override {}
    void process(StereoView io) override {
        io.clear();
        if (!playing_) return;
        const auto frames = static_cast<std::size_t>(audio_.frames());
        for (int i = 0; i < io.frames && pos_ < frames; ++i, ++pos_) io.left[i] = audio_.left()[pos_], io.right[i] = audio_.right()[pos_];
    }
    std::span<const engine::ParamSpec> params() const override { return {}; }
    int activeVoices() const override { return playing_ && pos_ < static_cast<std::size_t>(audio_.frames()) ? 1 : 0; }
    const char* kind() const override { return "buffer"; }

private:
    const StereoBuffer& audio_;
    std::size_t pos_ = 0;
    bool playing_ = false;
};

void playBuffer(const StereoBuffer& audio, double sampleRate, const std::string& device, bool quiet) {
    std::unique_ptr<io::AudioDevice> dev;
    if (device == "null") {
        dev = io::makeNullDevice();
    } else {
        if (io::listOutputDevices().empty()) throw std::runtime_error("--play: no audio device here (use --device null to time it, or -o to write a file)");
        dev = io::makeRtAudioDevice();
        if (!dev) throw std::runtime_error("--play: this build has no audio device support");
    }
    engine::AudioEngine eng(1024);
    eng.prepare(sampleRate, 512);
    engine::Controller ctl(eng);
    ctl.addTrack("stream", std::make_unique<BufferSource>(audio));
    ctl.commit();
    dev->start(eng);
    const SampleTime start = eng.now() + static_cast<SampleTime>(0.05 * sampleRate);
    ctl.noteOn(0, 60.0f, 1.0f, start);
    if (!quiet) fmt::print(stderr, "playing {:.1f} s on {}\n", static_cast<double>(audio.frames()) / sampleRate, dev->name());
    while (eng.now() < start + audio.frames()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    dev->stop();
    if (!quiet) fmt::print(stderr, "played {:.2f} s\n", static_cast<double>(eng.now() - start) / sampleRate);
}
}  // namespace


int runStream(const StreamArgs& s) {
    if (s.vibes.empty()) throw std::invalid_argument("give at least one vibe, e.g. soundstar stream \"morning coffee\" \"afternoon focus\"");
    if (s.vibes.size() > 64) throw std::invalid_argument(fmt::format("{} vibes is too many: at most 64", s.vibes.size()));
    RenderArgs r;  // the same output rules as render
    r.output = s.output;
    r.format = s.format;
    const auto format = chooseFormat(r);
    const auto transition = live::parseTransition(s.transition);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<live::StreamVibe> vibes;
    const double seconds = s.totalSeconds > 0 ? s.totalSeconds / static_cast<double>(s.vibes.size()) : s.eachSeconds;
    // Each vibe is text, or a blend ("blend ambient drone 0.7, minimal techno 0.3", or JSON
    // {"vibes": [...]}), or a step from the vibe before ("+bright", "b 130"): a steering line.
    for (const auto& text : s.vibes) {
        const auto c = live::parseSteering(text, vibes.empty() ? music::MusicConfig{} : vibes.back().config);
        if (c.quit || c.layers || (!c.vibeText && c.blend.empty() && !c.config))
            throw std::invalid_argument(fmt::format("'{}' is not a vibe for a stream: give text, a blend or a step (+bright, b 130)", music::clipText(text, 80)));
        if (c.vibeText) vibes.push_back(vibeFromText(*c.vibeText, s.seed, seconds));
        else if (!c.blend.empty()) vibes.push_back(vibeFromBlend(c.label, c.blend, s.seed, seconds));
        else vibes.push_back(vibeFromConfig(c.label, *c.config, seconds));
    }
    const engine::PresetLibrary& presets = shippedPresets();
    live::StreamOptions o;
    o.sampleRate = s.sampleRate;
    o.transitionSeconds = transition.seconds;
    o.transitionBars = transition.bars;
    o.masterChain = !s.noMaster;
    o.targetLufs = static_cast<float>(s.targetLufs);
    const auto result = live::renderStream(vibes, presets, o);
    const bool write = !s.play || s.outputGiven;
    io::OutputFiles out;
    try {
        if (!write) throw NothingToWrite{};
        const auto audioPath = out.add(s.output, "-o");
        const auto eventsPath = s.eventsFile.empty() ? std::filesystem::path() : out.add(s.eventsFile, "--events");
        io::writeAudioFile(audioPath, result.audio, s.sampleRate, format, vibes.front().config.seed.value_or(1));
        if (!s.eventsFile.empty()) {
            std::ofstream ev(eventsPath);
            ev << live::eventsToJsonLines(result.events, s.sampleRate);
            ev.close();
            if (!ev) throw std::runtime_error(fmt::format("cannot write the events file {}", s.eventsFile));
        }
        out.commit();
    } catch (const NothingToWrite&) {
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(out.withTargetNames(e.what()));
    }
    if (!s.quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double length = static_cast<double>(result.audio.frames()) / s.sampleRate;
        for (const auto& e : result.events)
            if (e.kind != "end" && e.kind != "section")
                fmt::print(stderr, "{:8.2f} s  {:<10} {} ({:.4g} bpm){}\n", static_cast<double>(e.sample) / s.sampleRate, e.kind, e.label,
                           e.bpm, e.kind == "transition" || e.kind == "glide" ? fmt::format(", over {:.2f} s from bar {}", e.seconds, e.bar) : "");
        const auto loudness = render::measure(result.audio, s.sampleRate, false);
        fmt::print(stderr, "{} {} ({:.2f} s, {} vibes) in {:.2f} s ({:.0f}x real time); {:.1f} LUFS\n", write ? "wrote" : "rendered",
                   !write ? "the stream" : s.output == "-" ? "standard output" : s.output, length, vibes.size(), secs,
                   length / std::max(secs, 1e-9), loudness.lufs);
    }
    if (s.play) playBuffer(result.audio, s.sampleRate, s.device, s.quiet);
    return 0;
}

}  // namespace soundstar::app

// soundstar stream: several vibes rendered as one continuous, mastered stream (live::renderStream).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "Commands.h"
#include "io/AudioFile.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "live/Stream.h"
#include "render/Mastering.h"

namespace soundstar::app {

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
    for (const auto& text : s.vibes) vibes.push_back(vibeFromText(text, s.seed, seconds));
    const engine::PresetLibrary& presets = shippedPresets();
    live::StreamOptions o;
    o.sampleRate = s.sampleRate;
    o.transitionSeconds = transition.seconds;
    o.transitionBars = transition.bars;
    o.masterChain = !s.noMaster;
    auto result = live::renderStream(vibes, presets, o);
    render::MasteringReport mr;
    if (!s.noMaster) mr = render::master(result.audio, s.sampleRate, {s.targetLufs, -1.0});
    io::OutputFiles out;
    try {
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
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(out.withTargetNames(e.what()));
    }
    if (!s.quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double length = static_cast<double>(result.audio.frames()) / s.sampleRate;
        for (const auto& e : result.events)
            if (e.kind != "end")
                fmt::print(stderr, "{:8.2f} s  {:<10} {} ({:.4g} bpm){}\n", static_cast<double>(e.sample) / s.sampleRate, e.kind, e.label,
                           e.bpm, e.kind == "transition" ? fmt::format(", over {:.2f} s from bar {}", e.seconds, e.bar) : "");
        fmt::print(stderr, "wrote {} ({:.2f} s, {} vibes) in {:.2f} s ({:.0f}x real time){}\n", s.output == "-" ? "standard output" : s.output,
                   length, vibes.size(), secs, length / std::max(secs, 1e-9),
                   s.noMaster || mr.silent ? "" : fmt::format("; {:.1f} LUFS, {:.1f} dBTP", mr.outputLufs, mr.truePeakDbtp));
    }
    return 0;
}

}  // namespace soundstar::app

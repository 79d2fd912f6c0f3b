// `soundstar analyze FILE`: levels, loudness, spectrum, onsets, pitch, tempo and key of a stored
// file (src/analysis), as a summary or one JSON object.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "Commands.h"
#include "analysis/Analyzer.h"
#include "analysis/AudioInput.h"
#include "music/JsonText.h"

namespace soundstar::app {

int runAnalyze(const AnalyzeArgs& a) {
    analysis::AnalysisOptions o;
    const std::string& sz = a.fftSize;
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), n);
    if (ec != std::errc{} || end != sz.data() + sz.size() || !analysis::validFftSize(n)) {
        fmt::print(stderr, "soundstar analyze: --fft-size {}: a power of two from {} to {} is allowed\n", music::clipText(sz, 40),
                   analysis::kMinFftSize, analysis::kMaxFftSize);
        return 2;
    }
    o.fftSize = n;
    const auto w = analysis::parseWindow(a.window);
    if (!w) {
        fmt::print(stderr, "soundstar analyze: --window {}: hann, hamming or blackman is allowed\n", music::clipText(a.window, 40));
        return 2;
    }
    o.window = *w;
    analysis::DecodedAudio audio;
    try {
        audio = analysis::readAudioForAnalysis(a.file);
    } catch (const std::exception& e) {
        fmt::print(stderr, "soundstar analyze: {}\n", music::clipText(e.what(), 1500));
        return 1;
    }
    const auto report = analysis::analyze(audio.left, audio.right, audio.sampleRate, o);
    if (a.json) {
        auto j = analysis::toJson(report);
        j["file"] = a.file;
        j["channels"] = audio.channels;
        fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
        fmt::print("{} ({} channel{})\n{}", a.file, audio.channels, audio.channels == 1 ? "" : "s", analysis::summaryText(report));
    }
    return 0;
}

}  // namespace soundstar::app

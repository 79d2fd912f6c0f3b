// Fuzz target: bytes as a stored audio file through analysis::decodeAudioBytes (libsndfile, as
// `soundstar analyze` reads files) and then the whole analysis. Properties: a file that cannot be
// read is a std::runtime_error with a bounded message; an accepted one gives finite levels (or
// -inf for silence) and never NaN, whatever the samples.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "FuzzCheck.h"
#include "analysis/Analyzer.h"
#include "analysis/AudioInput.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    analysis::InputLimits limits;
    limits.maxSeconds = 2.0;  // keeps each run short; the limit itself is what is exercised
    limits.maxFileBytes = 1 << 20;
    analysis::DecodedAudio audio;
    try {
        audio = analysis::decodeAudioBytes({reinterpret_cast<const char*>(data), size}, "fuzz input", limits);
    } catch (const std::runtime_error& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    if (audio.left.size() != audio.right.size() || audio.left.empty()) fuzz::finding("decoded channels differ or are empty");
    if (static_cast<double>(audio.left.size()) > limits.maxSeconds * audio.sampleRate + 1.0) fuzz::finding("decoded past the duration limit");
    analysis::AnalysisOptions o;
    o.fftSize = 256;
    const auto r = analysis::analyze(audio.left, audio.right, audio.sampleRate, o);
    for (double v : {r.rmsDbfs, r.peakDbfs, r.integratedLufs, r.truePeakDbtp, r.centroidHz, r.pitch.hz, r.tempo.bpm})
        if (std::isnan(v)) fuzz::finding("a NaN in the analysis", analysis::summaryText(r));
    (void)analysis::toJson(r).dump();
    return 0;
}

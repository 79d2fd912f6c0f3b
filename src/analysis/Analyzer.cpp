#include "analysis/Analyzer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "analysis/Onsets.h"
#include "dsp/LoudnessMeter.h"
#include "dsp/TruePeakMeter.h"

namespace soundstar::analysis {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double toDb(double g) { return g > 0.0 ? 20.0 * std::log10(g) : kNegInf; }

/// BS.1770 loudness figures from the 400 ms gating-block powers (blocks every 100 ms).
/// Short-term: the mean of the 27 blocks inside each 3 s stretch, a 3 s window weighted as a
/// trapezoid (the middle 2.2 s fully) rather than EBU's rectangle; on steady material the two agree.
void loudness(AnalysisReport& r, std::span<const float> left, std::span<const float> right, double rate) {
    const auto powers = dsp::LoudnessMeter::blockPowers(left.data(), right.data(), left.size(), rate);
    r.integratedLufs = dsp::LoudnessMeter::gatedLufs(powers);
    r.momentaryMaxLufs = kNegInf;
    for (double p : powers) r.momentaryMaxLufs = std::max(r.momentaryMaxLufs, p > 0.0 ? dsp::LoudnessMeter::lufsOf(p) : kNegInf);
    r.shortTermMaxLufs = kNegInf;
    constexpr std::size_t kBlocks = 27;
    double sum = 0.0;
    for (std::size_t i = 0; i < powers.size(); ++i) {
        sum += powers[i];
        if (i >= kBlocks) sum -= powers[i - kBlocks];
        if (i + 1 >= kBlocks && sum > 0.0)
            r.shortTermMaxLufs = std::max(r.shortTermMaxLufs, dsp::LoudnessMeter::lufsOf(sum / kBlocks));
    }
    r.truePeakDbtp = dsp::TruePeakMeter::truePeakDbtp(left.data(), right.data(), left.size());
}

void spectrum(AnalysisReport& r, std::span<const float> mono, const AnalysisOptions& o) {
    const auto mag = averageSpectrum(mono, o.fftSize, o.window);
    const auto win = windowCoefficients(o.window, o.fftSize);
    double wsum = 0.0;
    for (double w : win) wsum += w;
    const double frames = mono.size() < o.fftSize ? 1.0 : std::floor(static_cast<double>(mono.size() - o.fftSize) / static_cast<double>(o.fftSize / 2)) + 1.0;
    const double scale = 2.0 / (wsum * frames);  // a full-scale sine reads 1 at its bin
    r.spectrumDb.resize(mag.size());
    for (std::size_t k = 0; k < mag.size(); ++k) r.spectrumDb[k] = std::max(-200.0, toDb(mag[k] * scale));
    const double binHz = r.sampleRate / static_cast<double>(o.fftSize);
    std::vector<SpectrumPeak> peaks;
    for (std::size_t k = 1; k + 1 < mag.size(); ++k) {
        const double a = r.spectrumDb[k - 1], b = r.spectrumDb[k], c = r.spectrumDb[k + 1];
        if (!(b > a && b >= c) || b <= -150.0) continue;
        const double den = a - 2.0 * b + c, off = den < 0.0 ? 0.5 * (a - c) / den : 0.0;
        peaks.push_back({(static_cast<double>(k) + off) * binHz, b - 0.25 * (a - c) * off});
    }
    std::sort(peaks.begin(), peaks.end(), [](const auto& x, const auto& y) { return x.db > y.db; });
    if (peaks.size() > 5) peaks.resize(5);
    r.spectrumPeaks = peaks;
}

nlohmann::json num(double v, double scale = 1000.0) {
    if (!std::isfinite(v)) return nullptr;
    return std::round(v * scale) / scale;
}
}  // namespace

const char* pitchClassName(int pc) {
    static constexpr const char* kNames[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
    return kNames[((pc % 12) + 12) % 12];
}

AnalysisReport analyze(std::span<const float> left, std::span<const float> right, double sampleRate, const AnalysisOptions& o) {
    if (!validFftSize(o.fftSize))
        throw std::invalid_argument(fmt::format("FFT size {}: a power of two from {} to {} is allowed", o.fftSize, kMinFftSize, kMaxFftSize));
    if (!(sampleRate >= 8000.0 && sampleRate <= 384000.0))
        throw std::invalid_argument(fmt::format("sample rate {} Hz: 8000 to 384000 Hz are allowed", sampleRate));
    if (left.size() != right.size()) throw std::invalid_argument("analyze: the two channels differ in length");
    AnalysisReport r;
    r.sampleRate = sampleRate;
    r.seconds = static_cast<double>(left.size()) / sampleRate;
    r.fftSize = o.fftSize;
    r.window = o.window;
    double sq = 0.0, peak = 0.0;
    std::vector<float> mono(left.size());
    for (std::size_t i = 0; i < left.size(); ++i) {
        sq += static_cast<double>(left[i]) * left[i] + static_cast<double>(right[i]) * right[i];
        peak = std::max({peak, static_cast<double>(std::abs(left[i])), static_cast<double>(std::abs(right[i]))});
        mono[i] = 0.5f * (left[i] + right[i]);
    }
    r.rmsDbfs = left.empty() ? kNegInf : toDb(std::sqrt(sq / (2.0 * static_cast<double>(left.size()))));
    r.peakDbfs = toDb(peak);
    if (left.empty()) return r;
    loudness(r, left, right, sampleRate);
    spectrum(r, mono, o);
    r.centroidHz = spectralCentroid(mono, sampleRate, std::min<std::size_t>(8192, o.fftSize * 2));
    // One flux for both where the tempo's frame and hop are the onsets' (44.1 kHz).
    const OnsetOptions onsetOptions, tempoOptions = tempoOnsetOptions(sampleRate);
    auto flux = spectralFlux(mono, tempoOptions);
    const bool shared = onsetOptions.hop == tempoOptions.hop && onsetOptions.frameSize == tempoOptions.frameSize;
    r.onsetsSeconds = shared ? pickOnsets(flux, mono, sampleRate, onsetOptions) : detectOnsets(mono, sampleRate, onsetOptions);
    r.tempo = tempoFromFlux(std::move(flux), sampleRate, mono.size());
    r.pitch = trackPitch(mono, sampleRate);
    r.chroma = chroma(mono, sampleRate);
    r.key = estimateKey(r.chroma);
    return r;
}

nlohmann::json toJson(const AnalysisReport& r) {
    using nlohmann::json;
    json spectrumDb = json::array(), peaks = json::array(), onsets = json::array(), beats = json::array(), chromaJ = json::array();
    for (double v : r.spectrumDb) spectrumDb.push_back(num(v, 100.0));
    for (const auto& p : r.spectrumPeaks) peaks.push_back({{"hz", num(p.hz)}, {"db", num(p.db, 100.0)}});
    for (double t : r.onsetsSeconds) onsets.push_back(num(t, 10000.0));
    for (double t : r.tempo.beatsSeconds) beats.push_back(num(t, 10000.0));
    double cmax = 0.0;
    for (double c : r.chroma) cmax = std::max(cmax, c);
    for (double c : r.chroma) chromaJ.push_back(num(cmax > 0.0 ? c / cmax : 0.0));
    const bool pitched = r.pitch.hz > 0.0;
    return {{"sample_rate", r.sampleRate},
            {"seconds", num(r.seconds, 10000.0)},
            {"rms_dbfs", num(r.rmsDbfs)},
            {"peak_dbfs", num(r.peakDbfs)},
            {"loudness",
             {{"integrated_lufs", num(r.integratedLufs)},
              {"momentary_max_lufs", num(r.momentaryMaxLufs)},
              {"short_term_max_lufs", num(r.shortTermMaxLufs)},
              {"true_peak_dbtp", num(r.truePeakDbtp)}}},
            {"spectrum",
             {{"fft_size", r.fftSize},
              {"window", windowName(r.window)},
              {"bin_hz", r.sampleRate / static_cast<double>(r.fftSize)},
              {"peaks", peaks},
              {"centroid_hz", num(r.centroidHz, 10.0)},
              {"magnitudes_db", spectrumDb}}},
            {"onsets_s", onsets},
            {"pitch",
             {{"hz", pitched ? num(r.pitch.hz, 10000.0) : json(nullptr)},
              {"midi", pitched ? num(hzToMidi(r.pitch.hz), 10000.0) : json(nullptr)},
              {"confidence", num(r.pitch.confidence)},
              {"voiced_fraction", num(r.pitch.voicedFraction)}}},
            {"tempo",
             {{"bpm", r.tempo.bpm > 0.0 ? num(r.tempo.bpm, 100.0) : json(nullptr)},
              {"confidence", num(r.tempo.confidence)},
              {"beats_s", beats}}},
            {"key",
             {{"tonic", pitchClassName(r.key.tonic)},
              {"mode", r.key.minor ? "minor" : "major"},
              {"name", fmt::format("{} {}", pitchClassName(r.key.tonic), r.key.minor ? "minor" : "major")},
              {"correlation", num(r.key.correlation)},
              {"chroma", chromaJ}}}};
}

std::string summaryText(const AnalysisReport& r) {
    const auto db = [](double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("-inf"); };
    std::string s = fmt::format("length      {:.3f} s at {} Hz\n", r.seconds, r.sampleRate);
    s += fmt::format("level       RMS {} dBFS, peak {} dBFS, true peak {} dBTP\n", db(r.rmsDbfs), db(r.peakDbfs), db(r.truePeakDbtp));
    s += fmt::format("loudness    integrated {} LUFS, momentary max {} LUFS, short-term max {} LUFS\n", db(r.integratedLufs),
                     db(r.momentaryMaxLufs), db(r.shortTermMaxLufs));
    s += fmt::format("spectrum    FFT {} ({}), centroid {:.0f} Hz, peaks:", r.fftSize, windowName(r.window), r.centroidHz);
    for (const auto& p : r.spectrumPeaks) s += fmt::format(" {:.1f} Hz ({:.1f} dB)", p.hz, p.db);
    s += fmt::format("\nonsets      {}", r.onsetsSeconds.size());
    for (std::size_t i = 0; i < std::min<std::size_t>(8, r.onsetsSeconds.size()); ++i) s += fmt::format("{}{:.3f}", i ? ", " : " at ", r.onsetsSeconds[i]);
    if (r.onsetsSeconds.size() > 8) s += ", ...";
    s += " s\n";
    if (r.pitch.hz > 0.0)
        s += fmt::format("pitch       {:.2f} Hz (MIDI {:.2f}), confidence {:.2f}, voiced {:.0f} %\n", r.pitch.hz, hzToMidi(r.pitch.hz),
                         r.pitch.confidence, 100.0 * r.pitch.voicedFraction);
    else
        s += "pitch       none (not monophonic, or silent)\n";
    if (r.tempo.bpm > 0.0)
        s += fmt::format("tempo       {:.2f} bpm, confidence {:.2f}, {} beats\n", r.tempo.bpm, r.tempo.confidence, r.tempo.beatsSeconds.size());
    else
        s += "tempo       none (under 4 s, or no pulse)\n";
    s += fmt::format("key         {} {} (r = {:.2f})\n", pitchClassName(r.key.tonic), r.key.minor ? "minor" : "major", r.key.correlation);
    return s;
}

}  // namespace soundstar::analysis

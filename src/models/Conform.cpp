// Conforming generated audio to a session (see Conform.h).
#include "models/Conform.h"
#include "models/StretchModule.h"


#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "analysis/Key.h"
#include "analysis/Onsets.h"
#include "analysis/Tempo.h"
#include "dsp/LoudnessMeter.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

using Stereo = std::array<std::vector<float>, 2>;
constexpr std::array<const char*, 12> kNames{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}

void checkOptions(const ConformOptions& o) {
    require(std::isfinite(o.targetBpm) && o.targetBpm >= kConformMinBpm && o.targetBpm <= kConformMaxBpm,
            fmt::format("target_bpm {} is out of range: {:g} to {:g} bpm", o.targetBpm, kConformMinBpm, kConformMaxBpm));
    require(o.bars >= 1 && o.bars <= kConformMaxBars, fmt::format("bars {} is out of range: 1 to {}", o.bars, kConformMaxBars));
    require(o.beatsPerBar >= 1 && o.beatsPerBar <= kConformMaxBeatsPerBar,
            fmt::format("beats_per_bar {} is out of range: 1 to {}", o.beatsPerBar, kConformMaxBeatsPerBar));
    require(std::isfinite(o.crossfadeMs) && o.crossfadeMs >= 0.0 && o.crossfadeMs <= kConformMaxCrossfadeMs,
            fmt::format("crossfade_ms {} is out of range: 0 to {:g} ms", o.crossfadeMs, kConformMaxCrossfadeMs));
    require(!o.targetLufs || (std::isfinite(*o.targetLufs) && *o.targetLufs >= -70.0 && *o.targetLufs <= 0.0),
            fmt::format("lufs {} is out of range: -70 to 0 LUFS", o.targetLufs.value_or(0.0)));
    require(std::isfinite(o.ceilingDbfs) && o.ceilingDbfs >= -30.0 && o.ceilingDbfs <= 0.0,
            fmt::format("ceiling_dbfs {} is out of range: -30 to 0 dBFS", o.ceilingDbfs));
    require(!o.sourceBpm || (std::isfinite(*o.sourceBpm) && *o.sourceBpm >= kConformMinBpm && *o.sourceBpm <= kConformMaxBpm),
            fmt::format("source_bpm {} is out of range: {:g} to {:g} bpm", o.sourceBpm.value_or(0.0), kConformMinBpm, kConformMaxBpm));
    require(std::isfinite(o.minKeyCorrelation) && o.minKeyCorrelation >= 0.0 && o.minKeyCorrelation <= 1.0,
            fmt::format("min_key_correlation {} is out of range: 0 to 1", o.minKeyCorrelation));
    require(o.outputRateHz == 0.0 || (o.outputRateHz >= 8000.0 && o.outputRateHz <= 384000.0),
            fmt::format("output rate {} Hz is out of range: 8000 to 384000 Hz (0: the input's)", o.outputRateHz));
    for (const auto* k : {&o.targetKey, &o.sourceKey})
        require(!*k || ((*k)->tonic >= 0 && (*k)->tonic < 12), "a key's tonic is a pitch class, 0 to 11");
}

/// Cubic Hermite (Catmull-Rom) resampling of one channel.
std::vector<float> resample(const std::vector<float>& x, double fromRate, double toRate) {
    if (fromRate == toRate || x.empty()) return x;
    const auto n = static_cast<std::size_t>(std::llround(static_cast<double>(x.size()) * toRate / fromRate));
    std::vector<float> y(n);
    const auto at = [&](std::ptrdiff_t i) { return x[static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(i, 0, static_cast<std::ptrdiff_t>(x.size()) - 1))]; };
    for (std::size_t j = 0; j < n; ++j) {
        const double pos = static_cast<double>(j) * fromRate / toRate;
        const auto i = static_cast<std::ptrdiff_t>(std::floor(pos));
        const auto t = static_cast<float>(pos - static_cast<double>(i));
        const float y0 = at(i - 1), y1 = at(i), y2 = at(i + 1), y3 = at(i + 2);
        const float c1 = 0.5f * (y2 - y0), c2 = y0 - 2.5f * y1 + 2.0f * y2 - 0.5f * y3, c3 = 0.5f * (y3 - y0) + 1.5f * (y1 - y2);
        y[j] = ((c3 * t + c2) * t + c1) * t + y1;
    }
    return y;
}

/// The beat grid: beat k at t0 + k * period seconds.
struct Grid {
    double t0 = 0.0, period = 0.5;
};

/// Least-squares fit of the onsets that lie near the grid's half beats (within 30 ms): the
/// estimator's period comes from a coarse envelope, and over N bars a 0.3 % error drifts by tens of ms.
Grid fitGrid(Grid g, const std::vector<double>& onsets, bool fixedPeriod) {
    for (int iter = 0; iter < 3; ++iter) {
        const double half = g.period / 2.0;
        double sn = 0, st = 0, snn = 0, snt = 0, m = 0;
        for (double t : onsets) {
            const double n = std::round((t - g.t0) / half);
            if (std::abs(t - g.t0 - n * half) > std::min(0.03, half / 4.0)) continue;
            sn += n, st += t, snn += n * n, snt += n * t, m += 1;
        }
        if (m < 2) return g;
        if (fixedPeriod || m < 4) {
            g.t0 = (st - half * sn) / m;  // the phase alone
            continue;
        }
        const double den = m * snn - sn * sn;
        if (den <= 0) return g;
        const double slope = (m * snt - sn * st) / den;
        if (std::abs(2.0 * slope / g.period - 1.0) > 0.03) return g;  // a fit that wandered off: keep the estimate
        g.period = 2.0 * slope;
        g.t0 = (st - slope * sn) / m;
    }
    return g;
}

/// SoundTouch's WSOLA, stretched by 1/tempoRatio and shifted by semitones, aligned at the start
/// (SoundTouch 2.x), short sequences so transients stay on the grid (its advice for percussion).
Stereo stretch(const Stereo& in, std::size_t from, std::size_t to, double rate, double tempoRatio, int semitones) {
    if (tempoRatio == 1.0 && semitones == 0)
        return {std::vector<float>(in[0].begin() + static_cast<std::ptrdiff_t>(from), in[0].begin() + static_cast<std::ptrdiff_t>(to)),
                std::vector<float>(in[1].begin() + static_cast<std::ptrdiff_t>(from), in[1].begin() + static_cast<std::ptrdiff_t>(to))};
    std::vector<float> inter(2 * (to - from)), got;
    for (std::size_t i = 0; i < to - from; ++i) inter[2 * i] = in[0][from + i], inter[2 * i + 1] = in[1][from + i];
    std::string error;
    if (!stretch::api().stretchStereo(inter.data(), to - from, static_cast<unsigned>(std::lround(rate)), tempoRatio, semitones, &got, &error))
        throw std::runtime_error(fmt::format("stretching failed: {}", error));
    Stereo out;
    out[0].reserve(got.size() / 2);
    out[1].reserve(got.size() / 2);
    for (std::size_t i = 0; i + 1 < got.size(); i += 2) out[0].push_back(got[i]), out[1].push_back(got[i + 1]);
    return out;
}

/// The stretch slice by slice: source slice b (from startFrame, periodFrames apart: a beat or a
/// half beat) is stretched on its own and placed so that its start lands on output frame
/// round(b * beatFrames), joined to the slice before by a 5 ms raised-cosine crossfade just ahead
/// of it (so an attack on the grid is whole). One WSOLA pass over the whole cut moved our test's
/// onsets by -1.5 to +14.6 ms (its seek window, and drift); this way every slice is on the grid to
/// the sample.
Stereo stretchBeats(const Stereo& in, double startFrame, double periodFrames, int count, double beatFrames, double rate, double tempoRatio,
                    int semitones, std::size_t outFrames) {
    const auto join = static_cast<std::size_t>(std::lround(0.005 * rate));
    const auto n = static_cast<double>(in[0].size());
    Stereo out{std::vector<float>(outFrames, 0.0f), std::vector<float>(outFrames, 0.0f)};
    for (int b = 0; b < count; ++b) {
        const double beat = startFrame + b * periodFrames;
        const double srcFrom = std::max(0.0, std::floor(beat - static_cast<double>(join) * tempoRatio));
        const double srcTo = std::min(n, std::ceil(beat + periodFrames + 2.0 * static_cast<double>(join) * tempoRatio));
        if (srcTo - srcFrom < 2.0) break;
        const Stereo piece = stretch(in, static_cast<std::size_t>(srcFrom), static_cast<std::size_t>(srcTo), rate, tempoRatio, semitones);
        const auto dst = static_cast<std::ptrdiff_t>(std::llround(b * beatFrames));
        const auto next = static_cast<std::ptrdiff_t>(std::llround((b + 1) * beatFrames));
        const auto pre = static_cast<std::ptrdiff_t>(std::llround((beat - srcFrom) / tempoRatio));  // piece frames before its beat
        const auto j = static_cast<std::ptrdiff_t>(join);
        for (std::ptrdiff_t t = std::max<std::ptrdiff_t>(0, dst - j); t < next && t < static_cast<std::ptrdiff_t>(outFrames); ++t) {
            const std::ptrdiff_t i = t - dst + pre;
            if (i < 0 || i >= static_cast<std::ptrdiff_t>(piece[0].size())) continue;
            double w = 1.0;
            if (b > 0 && t < dst) w = std::pow(std::sin(M_PI / 2.0 * (static_cast<double>(t - dst + j) + 0.5) / static_cast<double>(j)), 2.0);
            if (t >= next - j && b + 1 < count) w *= 1.0 - std::pow(std::sin(M_PI / 2.0 * (static_cast<double>(t - next + j) + 0.5) / static_cast<double>(j)), 2.0);
            for (std::size_t c = 0; c < 2; ++c) out[c][static_cast<std::size_t>(t)] += static_cast<float>(w) * piece[c][static_cast<std::size_t>(i)];
        }
    }
    return out;
}

/// The low band's envelope (two one-poles at 150 Hz, peak per `frame` samples): where kicks are.
std::vector<float> lowEnvelope(const std::vector<float>& mono, double rate, std::size_t frame) {
    std::vector<float> env(mono.size() / frame + 1, 0.0f);
    const auto k = static_cast<float>(1.0 - std::exp(-2.0 * M_PI * 150.0 / rate));
    float lp1 = 0.0f, lp2 = 0.0f;
    for (std::size_t i = 0; i < mono.size(); ++i) {
        lp1 += k * (mono[i] - lp1);
        lp2 += k * (lp1 - lp2);
        env[i / frame] = std::max(env[i / frame], std::abs(lp2));
    }
    return env;
}

/// Where the loop starts: of the half beats in the first bar that leave room for the loop, the
/// one with the strongest rise in the low band (a kick: where downbeats usually are), then the
/// strongest spectral flux, the estimator's own phase a little preferred. Half beats because a
/// beat tracker's phase often lands on the off-beat hats of a dance pattern (it did on ours).
/// -1 when none fits.
double chooseStart(const Grid& g, const std::vector<float>& mono, const std::vector<double>& flux, const analysis::OnsetOptions& fo, double rate,
                   double needSeconds, int beatsPerBar) {
    const double lastSecond = static_cast<double>(mono.size()) / rate, half = g.period / 2.0;
    const auto frame = static_cast<std::size_t>(std::max(1.0, std::round(0.005 * rate)));
    const auto env = lowEnvelope(mono, rate, frame);
    const auto envMax = [&](double a, double b) {
        float m = 0.0f;
        for (auto i = static_cast<std::ptrdiff_t>(std::floor(a * rate / static_cast<double>(frame)));
             static_cast<double>(i) * static_cast<double>(frame) < b * rate && i < static_cast<std::ptrdiff_t>(env.size()); ++i)
            if (i >= 0) m = std::max(m, env[static_cast<std::size_t>(i)]);
        return static_cast<double>(m);
    };
    struct Candidate {
        double t, low, flux;
        bool onGrid;
    };
    std::vector<Candidate> cs;
    const int j0 = static_cast<int>(std::ceil(-g.t0 / half - 1e-9));
    for (int j = j0; j < j0 + 2 * beatsPerBar; ++j) {
        const double t = g.t0 + j * half;
        if (t + needSeconds > lastSecond) break;
        double strength = 0.0;
        for (std::size_t i = 1; i < flux.size(); ++i)
            if (std::abs(analysis::fluxFrameSeconds(i, fo, rate) - t) < 0.012) strength = std::max(strength, flux[i]);
        cs.push_back({t, std::max(0.0, envMax(t - 0.005, t + 0.04) - envMax(t - 0.06, t - 0.01)), strength, ((j % 2) + 2) % 2 == 0});
    }
    double lowMax = 1e-12, fluxMax = 1e-12;
    for (const auto& c : cs) lowMax = std::max(lowMax, c.low), fluxMax = std::max(fluxMax, c.flux);
    double best = -1.0, bestScore = -1.0;
    for (const auto& c : cs) {
        const double score = c.low / lowMax + 0.3 * c.flux / fluxMax + (c.onGrid ? 0.1 : 0.0);
        if (score > bestScore + 1e-9) best = c.t, bestScore = score;
    }
    return best;
}

/// Tempo, phase (and so the grid) of the source, into the report.
Grid analyseTempo(const std::vector<float>& mono, double rate, const ConformOptions& o, ConformReport& r) {
    const auto est = analysis::estimateTempo(mono, rate);
    const double seconds = static_cast<double>(mono.size()) / rate;
    if (est.bpm <= 0.0 && !o.sourceBpm)
        throw NoBeatFound(fmt::format("found no steady beat in the generated audio ({:.1f} s; the tempo estimate needs at least 4 s "
                                             "with onsets): ask for a rhythmic prompt or longer audio, or give source_bpm",
                                             seconds));
    r.tempoConfidence = est.confidence;
    r.bpmGiven = o.sourceBpm.has_value();
    double bpm = o.sourceBpm.value_or(est.bpm);
    if (!o.sourceBpm) {  // half or double time: the reading nearest the target (a DJ's choice too)
        for (double m : {0.5, 2.0})
            if (std::abs(std::log(o.targetBpm / (bpm * m))) < std::abs(std::log(o.targetBpm / bpm)) - 1e-9 && bpm * m >= kConformMinBpm &&
                bpm * m <= kConformMaxBpm)
                bpm *= m;
    }
    Grid g{est.beatsSeconds.empty() ? 0.0 : est.beatsSeconds.front(), 60.0 / bpm};
    const auto onsets = analysis::detectOnsets(mono, rate, analysis::tempoOnsetOptions(rate));
    if (est.beatsSeconds.empty() && !onsets.empty()) g.t0 = onsets.front();
    g = fitGrid(g, onsets, o.sourceBpm.has_value());
    r.sourceBpm = 60.0 / g.period;
    return g;
}

void analyseKey(const std::vector<float>& mono, double rate, const ConformOptions& o, ConformReport& r) {
    if (o.sourceKey) {
        r.sourceKey = *o.sourceKey;
        r.keyCorrelation = 1.0;
    } else {
        const auto k = analysis::estimateKey(analysis::chroma(mono, rate));
        r.sourceKey = {k.tonic, k.minor};
        r.keyCorrelation = k.correlation;
    }
    r.targetKey = o.targetKey;
    r.semitones = o.targetKey ? keyShiftSemitones(r.sourceKey, *o.targetKey) : 0;
    if (o.targetKey && !o.sourceKey && r.keyCorrelation < o.minKeyCorrelation && r.semitones != 0) {
        r.warnings.push_back(fmt::format("the generated audio's key is unclear (best guess {}, correlation {:.2f} under {:.2f}): its pitch is kept, "
                                         "not moved {:+d} semitones to {}",
                                         keyName(r.sourceKey), r.keyCorrelation, o.minKeyCorrelation, r.semitones, keyName(*o.targetKey)));
        r.semitones = 0;
    }
}

/// Gain to the target loudness, held under the peak ceiling.
void matchLoudness(Stereo& loop, double rate, const ConformOptions& o, ConformReport& r) {
    const std::size_t n = loop[0].size();
    r.sourceLufs = dsp::LoudnessMeter::integratedLufs(loop[0].data(), loop[1].data(), n, rate);
    r.gainDb = 0.0;
    if (o.targetLufs && std::isfinite(r.sourceLufs)) {
        float peak = 0.0f;
        for (const auto& ch : loop)
            for (float v : ch) peak = std::max(peak, std::abs(v));
        double gain = *o.targetLufs - r.sourceLufs;
        const double headroom = o.ceilingDbfs - 20.0 * std::log10(std::max(peak, 1e-9f));
        if (gain > headroom) {
            r.warnings.push_back(fmt::format("the loop reaches {:.1f} LUFS, not {:g}: its peaks meet the {:g} dBFS ceiling",
                                             r.sourceLufs + headroom, *o.targetLufs, o.ceilingDbfs));
            gain = headroom;
        }
        r.gainDb = gain;
        const auto g = static_cast<float>(std::pow(10.0, gain / 20.0));
        for (auto& ch : loop)
            for (float& v : ch) v *= g;
    }
    r.outputLufs = std::isfinite(r.sourceLufs) ? r.sourceLufs + r.gainDb : r.sourceLufs;
}

Stereo deinterleave(std::span<const float> x, int channels, std::size_t frames) {
    Stereo s{std::vector<float>(frames), std::vector<float>(frames)};
    for (std::size_t i = 0; i < frames; ++i) {
        const float l = x[i * static_cast<std::size_t>(channels)];
        const float v = std::isfinite(l) ? l : 0.0f;
        const float rr = channels > 1 ? x[i * static_cast<std::size_t>(channels) + 1] : l;
        s[0][i] = v;
        s[1][i] = std::isfinite(rr) ? rr : 0.0f;
    }
    return s;
}

}  // namespace

int keyShiftSemitones(MusicalKey from, MusicalKey to) {
    int src = from.tonic;
    if (from.minor != to.minor) src += from.minor ? 3 : -3;  // the relative key in the target's mode
    int d = ((to.tonic - src) % 12 + 12) % 12;
    return d > 6 ? d - 12 : d;
}

ConformedLoop conformLoop(std::span<const float> interleaved, int channels, double sampleRate, const ConformOptions& o) {
    checkOptions(o);
    require(channels >= 1 && channels <= 8, fmt::format("{} channels: generated audio has 1 to 8", channels));
    require(std::isfinite(sampleRate) && sampleRate >= 8000.0 && sampleRate <= 384000.0,
            fmt::format("sample rate {} Hz is out of range: 8000 to 384000 Hz", sampleRate));
    const std::size_t frames = interleaved.size() / static_cast<std::size_t>(channels);
    require(frames > 0, "no audio to conform (0 frames): the generator gave nothing; a loop needs at least its bars of audio");
    require(static_cast<double>(frames) <= kConformMaxInputSeconds * sampleRate,
            fmt::format("the audio lasts {:.0f} s; at most {:g} s can be conformed", static_cast<double>(frames) / sampleRate, kConformMaxInputSeconds));
    const double rate = o.outputRateHz > 0.0 ? o.outputRateHz : sampleRate;
    Stereo in = deinterleave(interleaved, channels, frames);
    for (auto& ch : in) ch = resample(ch, sampleRate, rate);
    const std::size_t n = in[0].size();
    std::vector<float> mono(n);
    for (std::size_t i = 0; i < n; ++i) mono[i] = 0.5f * (in[0][i] + in[1][i]);

    ConformedLoop outLoop;
    ConformReport& r = outLoop.report;
    r.sampleRateHz = rate;
    const Grid g = analyseTempo(mono, rate, o, r);
    analyseKey(mono, rate, o, r);
    r.tempoRatio = o.targetBpm / r.sourceBpm;

    // The cut: N bars of source beats from a beat, and the crossfade's worth of audio after them.
    const int beats = o.bars * o.beatsPerBar;
    const auto loopFrames = static_cast<std::size_t>(std::llround(beats * 60.0 / o.targetBpm * rate));
    const auto fadeFrames = std::min(static_cast<std::size_t>(std::llround(o.crossfadeMs / 1000.0 * rate)), loopFrames / 2);
    const double needSeconds = beats * g.period + static_cast<double>(fadeFrames) / rate * r.tempoRatio + 0.01;
    const auto fo = analysis::tempoOnsetOptions(rate);
    const double start = chooseStart(g, mono, analysis::spectralFlux(mono, fo), fo, rate, needSeconds, o.beatsPerBar);
    if (start < 0.0)
        throw std::runtime_error(fmt::format("the generated audio lasts {:.2f} s from its first beat at {:.2f} s; {} bars of {} beats at its {:.1f} bpm "
                                             "need {:.2f} s (with the crossfade): generate longer audio or ask for fewer bars",
                                             static_cast<double>(n) / rate - std::max(0.0, g.t0), std::max(0.0, g.t0), o.bars, o.beatsPerBar, r.sourceBpm, needSeconds));
    r.startSeconds = start;
    const double beatFrames = 60.0 / o.targetBpm * rate;
    // Sliced at half beats: the off-beats' hats land on the grid too.
    const int count = 2 * beats + static_cast<int>(std::ceil(static_cast<double>(fadeFrames) / (beatFrames / 2.0))) + 1;
    const Stereo st = stretchBeats(in, r.startSeconds * rate, g.period * rate / 2.0, count, beatFrames / 2.0, rate, r.tempoRatio, r.semitones,
                                   loopFrames + fadeFrames);
    const std::size_t head = 0;

    // The seam: the audio after the cut fades out over the loop's head while the head fades in, so
    // the wrap from the loop's last sample to its first continues the source.
    Stereo loop;
    for (int c = 0; c < 2; ++c) {
        const auto& s = st[static_cast<std::size_t>(c)];
        auto& dst = loop[static_cast<std::size_t>(c)];
        dst.assign(s.begin() + static_cast<std::ptrdiff_t>(head), s.begin() + static_cast<std::ptrdiff_t>(head + loopFrames));
        for (std::size_t i = 0; i < fadeFrames; ++i) {
            const double w = std::sin(M_PI / 2.0 * (static_cast<double>(i) + 0.5) / static_cast<double>(fadeFrames));
            const auto in2 = static_cast<float>(w * w);
            dst[i] = dst[i] * in2 + s[head + loopFrames + i] * (1.0f - in2);
        }
    }
    matchLoudness(loop, rate, o, r);
    r.frames = loopFrames;
    outLoop.left = std::move(loop[0]);
    outLoop.right = std::move(loop[1]);
    return outLoop;
}

std::string keyName(MusicalKey k) {
    return fmt::format("{} {}", kNames[static_cast<std::size_t>(((k.tonic % 12) + 12) % 12)], k.minor ? "minor" : "major");
}

std::optional<MusicalKey> parseKey(const std::string& text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    static constexpr std::array<int, 7> kLetters{9, 11, 0, 2, 4, 5, 7};  // A..G
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    if (c < 'A' || c > 'G') return std::nullopt;
    MusicalKey k{kLetters[static_cast<std::size_t>(c - 'A')], false};
    std::size_t i = 1;
    if (i < text.size() && (text[i] == '#' || text[i] == 'b')) k.tonic += text[i++] == '#' ? 1 : -1;
    k.tonic = (k.tonic + 12) % 12;
    std::string rest;
    for (; i < text.size(); ++i)
        if (text[i] != ' ' && text[i] != '_' && text[i] != '-') rest += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (rest == "m" || rest == "min" || rest == "minor") k.minor = true;
    else if (!(rest.empty() || rest == "maj" || rest == "major")) return std::nullopt;
    return k;
}

nlohmann::json toJson(const ConformReport& r) {
    const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json j = {{"source_bpm", r.sourceBpm}, {"bpm_given", r.bpmGiven}, {"tempo_confidence", r.tempoConfidence},
                        {"source_key", keyName(r.sourceKey)}, {"key_correlation", r.keyCorrelation}, {"semitones", r.semitones},
                        {"tempo_ratio", r.tempoRatio}, {"start_s", r.startSeconds}, {"source_lufs", num(r.sourceLufs)},
                        {"lufs", num(r.outputLufs)}, {"gain_db", r.gainDb}, {"frames", r.frames}, {"sample_rate", r.sampleRateHz},
                        {"warnings", r.warnings}};
    j["target_key"] = r.targetKey ? nlohmann::json(keyName(*r.targetKey)) : nlohmann::json(nullptr);
    return j;
}

ConformOptions conformOptionsFromJson(const nlohmann::json& j, ConformOptions o) {
    require(j.is_object(), "conform options are a JSON object");
    const auto number = [&](const char* name, double lo, double hi) {
        const auto& v = j.at(name);
        require(v.is_number(), fmt::format("{} is a number, {:g} to {:g}", name, lo, hi));
        return v.get<double>();
    };
    const auto integer = [&](const char* name, int hi) {
        const auto& v = j.at(name);
        require(v.is_number_integer() && v.get<long long>() >= 1 && v.get<long long>() <= hi, fmt::format("{} is a whole number, 1 to {}", name, hi));
        return static_cast<int>(v.get<long long>());
    };
    const auto key = [&](const char* name) -> std::optional<MusicalKey> {
        const auto& v = j.at(name);
        if (v.is_null()) return std::nullopt;
        const auto k = v.is_string() ? parseKey(v.get<std::string>()) : std::nullopt;
        require(k.has_value(), fmt::format("{} {} is no key: a tonic (C, C#, Db, ... B) and major or minor, e.g. \"F# minor\" or \"Eb\"", name,
                                           music::quoteJson(v, 40)));
        return k;
    };
    for (const auto& [name, v] : j.items()) {
        if (name == "target_bpm") o.targetBpm = number("target_bpm", kConformMinBpm, kConformMaxBpm);
        else if (name == "bars") o.bars = integer("bars", kConformMaxBars);
        else if (name == "beats_per_bar") o.beatsPerBar = integer("beats_per_bar", kConformMaxBeatsPerBar);
        else if (name == "key") o.targetKey = key("key");
        else if (name == "source_key") o.sourceKey = key("source_key");
        else if (name == "source_bpm") o.sourceBpm = v.is_null() ? std::nullopt : std::optional(number("source_bpm", kConformMinBpm, kConformMaxBpm));
        else if (name == "lufs") o.targetLufs = v.is_null() ? std::nullopt : std::optional(number("lufs", -70, 0));
        else if (name == "ceiling_dbfs") o.ceilingDbfs = number("ceiling_dbfs", -30, 0);
        else if (name == "crossfade_ms") o.crossfadeMs = number("crossfade_ms", 0, kConformMaxCrossfadeMs);
        else
            throw std::invalid_argument(fmt::format("unknown conform option {}; known: target_bpm, bars, beats_per_bar, key, source_key, source_bpm, "
                                                    "lufs, ceiling_dbfs, crossfade_ms",
                                                    music::quoteJson(name, 40)));
    }
    checkOptions(o);
    return o;
}

ConformedLoop conformOrCut(std::span<const float> interleaved, int channels, double sampleRate, ConformOptions options, CutWhen when) {
    std::string why;
    try {
        return conformLoop(interleaved, channels, sampleRate, options);
    } catch (const NoBeatFound&) {
        why = "the audio has no steady beat: it is cut to whole bars and not stretched";
    } catch (const std::runtime_error& e) {  // too short at the tempo found or given
        if (when != CutWhen::AnyFailure || (options.sourceBpm && *options.sourceBpm == options.targetBpm)) throw;
        why = fmt::format("the audio could not be conformed ({}): it is cut to whole bars at the target tempo and not stretched", music::clipText(e.what(), 300));
    }
    options.sourceBpm = options.targetBpm;  // whole bars at its own pace
    auto loop = conformLoop(interleaved, channels, sampleRate, options);
    loop.report.warnings.insert(loop.report.warnings.begin(), why);
    return loop;
}

double generatorSecondsFor(int bars, double barSeconds) {
    return std::clamp(1.45 * ((bars + 2) * barSeconds + 0.25) + 1.0, 8.0, 600.0);
}

std::vector<float> resampleAudio(std::span<const float> interleaved, int channels, double fromHz, double toHz) {
    for (const double hz : {fromHz, toHz})
        if (!(hz >= 8000.0 && hz <= 192000.0)) throw std::invalid_argument(fmt::format("a sample rate of {:g} Hz; allowed 8000 to 192000", hz));
    if (channels < 1 || channels > 8) throw std::invalid_argument(fmt::format("{} channels; allowed 1 to 8", channels));
    const std::size_t frames = interleaved.size() / static_cast<std::size_t>(channels);
    if (fromHz == toHz || frames == 0) return {interleaved.begin(), interleaved.begin() + static_cast<std::ptrdiff_t>(frames * static_cast<std::size_t>(channels))};
    const double ratio = toHz / fromHz;
    const auto want = static_cast<std::size_t>(std::llround(static_cast<double>(frames) * ratio));
    // Room for the whole output (src_simple flushes the filter at the end of the input).
    std::vector<float> out((want + 64) * static_cast<std::size_t>(channels));
    long generated = 0;
    std::string error;
    if (stretch::api().resample(interleaved.data(), static_cast<long>(frames), out.data(), static_cast<long>(want + 64), ratio, channels, &generated, &error) != 0)
        throw std::runtime_error(fmt::format("resampling from {:g} to {:g} Hz failed: {}", fromHz, toHz, error));
    out.resize(static_cast<std::size_t>(generated) * static_cast<std::size_t>(channels));
    out.resize(want * static_cast<std::size_t>(channels), 0.0f);  // exactly round(frames x ratio): a short tail is padded with silence
    return out;
}

}  // namespace soundstar::models

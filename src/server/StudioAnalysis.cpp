// The analysis service's rows: `analyze` on a stored file under --data (the JSON of `soundstar
// analyze --json`, worked out on its own thread so the control thread keeps ticking), and live
// analysis of the master bus and up to four tracks streamed to WebSocket subscribers at a chosen
// rate: spectrum, RMS and peak, momentary, short-term and integrated loudness, true peak,
// onsets, pitch, tempo and beats, key (analysis::LiveAnalyzer), each only when asked for. The
// audio thread only writes the tap rings; everything here runs on the control side.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <future>

#include "analysis/Analyzer.h"
#include "analysis/AudioInput.h"
#include "analysis/LiveAnalyzer.h"
#include "dsp/LoudnessMeter.h"
#include "music/JsonText.h"
#include "server/Studio.h"
#include "server/StudioSchema.h"

namespace soundstar::server {

using nlohmann::json;
using namespace schema;

namespace {
constexpr std::size_t kMaxLiveAnalyses = 16;
constexpr std::size_t kMaxFileJobs = 2;
constexpr std::size_t kMaxLiveFft = 16384;
constexpr std::size_t kTrackTaps = engine::AudioEngine::kTrackTaps;

double db(double power) { return power > 0.0 ? 10.0 * std::log10(power) : -200.0; }
double rounded(double x) { return std::round(x * 100.0) / 100.0; }

/// A live analysis of one bus for one client.
struct LiveAnalysis {
    std::string bus;
    std::size_t fftSize = 4096;
    std::vector<double> window;
    double windowSum = 1.0;
    SampleTime period = 4410, nextAt = 0;
    std::vector<float> left, right;  // the last `left.size()` frames, circular
    std::size_t write = 0, filled = 0;
    double sumSquares = 0.0;  // since the last message, both channels
    float peak = 0.0f;
    std::size_t frames = 0;
    analysis::LiveFeatures features;
    std::unique_ptr<analysis::LiveAnalyzer> analyzer;
    SampleTime firstSample = 0;  // the engine sample of the analyser's stream sample 0
    std::function<void(std::string)> push;

    /// Takes n interleaved frames into the history, the levels and the analyser.
    void take(const float* frames, std::size_t n) {
        const std::size_t cap = left.size();
        for (std::size_t i = 0; i < n; ++i) {
            const float l = frames[2 * i], r = frames[2 * i + 1];
            left[write] = l;
            right[write] = r;
            write = (write + 1) % cap;
            sumSquares += static_cast<double>(l) * l + static_cast<double>(r) * r;
            peak = std::max({peak, std::abs(l), std::abs(r)});
        }
        filled = std::min(filled + n, cap);
        this->frames += n;
        analyzer->push(frames, n);
    }

    /// The last n frames in order.
    void last(std::size_t n, std::vector<float>& l, std::vector<float>& r) const {
        n = std::min(n, filled);
        l.resize(n);
        r.resize(n);
        const std::size_t cap = left.size();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = (write + cap - n + i) % cap;
            l[i] = left[k];
            r[i] = right[k];
        }
    }
};

json spectrumOf(LiveAnalysis& a, double rate) {
    // Spectrum of the last fftSize frames (mid channel), scaled so a full-scale sine's bin reads 0 dB.
    std::vector<float> l, r;
    a.last(a.fftSize, l, r);
    std::vector<std::complex<double>> bins(a.fftSize);
    for (std::size_t i = 0; i < l.size(); ++i) bins[a.fftSize - l.size() + i] = 0.5 * (l[i] + r[i]) * a.window[a.fftSize - l.size() + i];
    analysis::fft(bins);
    json spectrum = json::array();
    std::size_t peakBin = 0;
    double peakMag = -1.0;
    for (std::size_t k = 0; k < a.fftSize / 2; ++k) {
        const double mag = 2.0 * std::abs(bins[k]) / a.windowSum;
        if (mag > peakMag) peakMag = mag, peakBin = k;
        spectrum.push_back(rounded(mag > 1e-10 ? 20.0 * std::log10(mag) : -200.0));
    }
    return {{"fft_size", a.fftSize}, {"bin_hz", rate / static_cast<double>(a.fftSize)}, {"peak_bin", peakBin},
            {"peak_hz", static_cast<double>(peakBin) * rate / static_cast<double>(a.fftSize)}, {"db", std::move(spectrum)}};
}

/// Momentary (400 ms) or short-term (3 s) loudness: BS.1770's K-weighted power over the window.
json windowLufs(LiveAnalysis& a, double seconds, double rate) {
    const auto n = static_cast<std::size_t>(seconds * rate);
    if (a.filled < n) return nullptr;
    std::vector<float> l, r;
    a.last(n, l, r);
    const auto powers = dsp::LoudnessMeter::blockPowers(l.data(), r.data(), n, rate);
    if (powers.empty()) return nullptr;
    double sum = 0.0;
    for (double p : powers) sum += p;
    const double v = dsp::LoudnessMeter::lufsOf(sum / static_cast<double>(powers.size()));
    return std::isfinite(v) ? json(rounded(v)) : json(nullptr);
}

/// The analyser's measures the analysis asked for, engine-stamped.
void addAnalyserMeasures(LiveAnalysis& a, json& data) {
    auto& an = *a.analyzer;
    const auto stamp = [&](std::int64_t s) { return a.firstSample + static_cast<SampleTime>(s); };
    const auto orNull = [](std::optional<double> v) { return v ? json(rounded(*v)) : json(nullptr); };
    if (a.features.loudness) data["integrated_lufs"] = orNull(an.integratedLufs());
    if (a.features.truePeak) data["true_peak_dbtp"] = orNull(an.truePeakDbtp());
    if (a.features.onsets) {
        json onsets = json::array();
        for (const auto s : an.takeOnsets()) onsets.push_back(stamp(s));
        data["onsets"] = std::move(onsets);
    }
    if (a.features.pitch) {
        const auto p = an.pitch();
        const bool voiced = p.hz > 0.0;
        data["pitch"] = {{"hz", voiced ? json(std::round(p.hz * 1e4) / 1e4) : json(nullptr)},
                         {"midi", voiced ? json(std::round(analysis::hzToMidi(p.hz) * 1e4) / 1e4) : json(nullptr)},
                         {"confidence", rounded(p.confidence)},
                         {"voiced_fraction", rounded(p.voicedFraction)}};
    }
    if (a.features.tempo) {
        const auto t = an.tempo();
        json beats = json::array();
        for (const auto s : t.beats) beats.push_back(stamp(s));
        data["tempo"] = {{"bpm", t.bpm > 0.0 ? json(rounded(t.bpm)) : json(nullptr)},
                         {"confidence", rounded(t.confidence)},
                         {"window_s", analysis::LiveAnalyzer::kTempoWindowSeconds},
                         {"beats", std::move(beats)}};
    }
    if (a.features.key) {
        if (const auto k = an.key())
            data["key"] = {{"tonic", analysis::pitchClassName(k->tonic)},
                           {"mode", k->minor ? "minor" : "major"},
                           {"name", fmt::format("{} {}", analysis::pitchClassName(k->tonic), k->minor ? "minor" : "major")},
                           {"correlation", rounded(k->correlation)},
                           {"window_s", analysis::LiveAnalyzer::kKeyWindowSeconds}};
        else
            data["key"] = nullptr;
    }
}

json liveMessage(LiveAnalysis& a, SampleTime sample, double rate) {
    json data = {{"bus", a.bus}, {"sample", sample}, {"frames", a.frames}};
    if (a.features.levels) {
        const double meanSquare = a.frames ? a.sumSquares / (2.0 * static_cast<double>(a.frames)) : 0.0;
        data["rms_db"] = db(meanSquare);
        data["peak_db"] = a.peak > 0.0f ? 20.0 * std::log10(a.peak) : -200.0;
    }
    if (a.features.loudness) {
        data["momentary_lufs"] = windowLufs(a, 0.4, rate);
        data["short_term_lufs"] = windowLufs(a, 3.0, rate);
    }
    if (a.features.spectrum) data["spectrum"] = spectrumOf(a, rate);
    addAnalyserMeasures(a, data);
    a.sumSquares = 0.0;
    a.peak = 0.0f;
    a.frames = 0;
    return json{{"stream", "analysis"}, {"data", std::move(data)}};
}

/// A file analysis on its own thread; done is called on the control thread once it is ready.
struct FileJob {
    std::future<Outcome> result;
    Done done;
};
}  // namespace

/// One of the engine's track taps: the ring (made on first use, kept as long as the studio, since
/// a block being rendered may still write to it), the track it taps, the engine sample of the
/// next frame read from it.
struct TrackTap {
    std::unique_ptr<AudioRing> ring;
    std::string track;  // empty: free
    int address = -1;
    SampleTime frames = 0;
};

struct Studio::AnalysisState {
    std::map<std::pair<std::uint64_t, std::string>, LiveAnalysis> live;  // (client, bus)
    std::vector<FileJob> jobs;
    std::array<TrackTap, kTrackTaps> taps;
    std::vector<float> buffer = std::vector<float>(std::size_t{1} << 17);
    ~AnalysisState() {
        for (auto& j : jobs) j.result.wait();
    }
    bool listened(const std::string& bus) const {
        return std::any_of(live.begin(), live.end(), [&](const auto& l) { return l.first.second == bus; });
    }
};

void Studio::feedAnalysis(const float* frames, std::size_t n) {
    if (!analysis_ || analysis_->live.empty()) return;
    feedBus("master", frames, n, drainedFrames_ - static_cast<SampleTime>(n));  // drainTap counted these already
}

void Studio::feedBus(const std::string& bus, const float* frames, std::size_t n, SampleTime first) {
    for (auto& [key, a] : analysis_->live) {
        if (key.second != bus) continue;
        // In stretches that end where a message is due, so each message sees exactly what came before it.
        for (std::size_t i = 0; i < n;) {
            const SampleTime at = first + static_cast<SampleTime>(i);
            const auto k = static_cast<std::size_t>(std::clamp<SampleTime>(a.nextAt - at, 1, static_cast<SampleTime>(n - i)));
            a.take(frames + 2 * i, k);
            i += k;
            const SampleTime end = first + static_cast<SampleTime>(i);
            if (end >= a.nextAt) {
                a.push(wireText(liveMessage(a, end, options_.sampleRate)));
                a.nextAt = end + a.period;
            }
        }
    }
}

void Studio::untapUnused() {
    for (std::size_t k = 0; k < kTrackTaps; ++k) {
        auto& tap = analysis_->taps[k];
        if (tap.track.empty() || analysis_->listened(tap.track)) continue;
        engine_.setTrackTap(static_cast<int>(k), -1, nullptr);
        tap.track.clear();
        tap.address = -1;
    }
}

void Studio::publishAnalysis() {
    if (!analysis_) return;
    auto& st = *analysis_;
    for (auto& tap : st.taps) {
        if (tap.track.empty()) continue;
        if (slots_[static_cast<std::size_t>(tap.address)].name != tap.track) {
            // The track was freed: its analyses end, saying so.
            for (auto it = st.live.begin(); it != st.live.end();) {
                if (it->first.second != tap.track) {
                    ++it;
                    continue;
                }
                it->second.push(wireText(json{{"stream", "analysis"}, {"data", {{"bus", tap.track}, {"ended", "the track was freed"}}}}));
                it = st.live.erase(it);
            }
        } else {
            // At most one buffer a tick: while the audio thread keeps writing, analysis slower
            // than real time (many measures, a slow machine) must not keep the control thread here.
            if (const std::size_t n = tap.ring->read(st.buffer.data(), st.buffer.size() / 2); n > 0) {
                feedBus(tap.track, st.buffer.data(), n, tap.frames);
                tap.frames += static_cast<SampleTime>(n);
            }
        }
    }
    untapUnused();
    auto& jobs = analysis_->jobs;
    for (auto it = jobs.begin(); it != jobs.end();) {
        if (it->result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            ++it;
            continue;
        }
        it->done(it->result.get());
        it = jobs.erase(it);
    }
}

void Studio::dropAnalysis(std::uint64_t client, const std::string& bus) {
    if (!analysis_) return;
    std::erase_if(analysis_->live, [&](const auto& l) { return l.first.first == client && (bus.empty() || l.first.second == bus); });
    untapUnused();
}

namespace {
analysis::LiveFeatures parseFeatures(const json& a) {
    if (!a.contains("features")) return {};
    analysis::LiveFeatures f;
    f.spectrum = f.levels = f.loudness = false;
    std::string allowed;
    for (const char* n : analysis::kLiveFeatureNames) allowed += fmt::format("{}{}", allowed.empty() ? "" : ", ", n);
    for (const auto& v : a["features"]) {
        const std::string n = v.get<std::string>();
        if (!analysis::enableLiveFeature(f, n)) throw ApiError(400, fmt::format("features: {} is not one; allowed: {}", music::quoteJson(n, 60), allowed));
    }
    return f;
}
}  // namespace

json Studio::analysisSubscribe(const json& a, const CallContext& ctx) {
    if (!ctx.push) throw ApiError(409, "live analysis streams over the WebSocket (/v1/ws): REST and OSC have no way to send later");
    LiveAnalysis l;
    l.bus = a.value("bus", "master");
    const auto key = std::make_pair(ctx.client, l.bus);
    if (!analysis_->live.count(key) && analysis_->live.size() >= kMaxLiveAnalyses)
        throw ApiError(429, fmt::format("too many live analyses: at most {} (over all clients and buses)", kMaxLiveAnalyses));
    l.features = parseFeatures(a);
    int address = -1;
    auto& st = *analysis_;
    TrackTap* tap = nullptr;
    if (l.bus != "master") {
        address = trackAddress(l.bus);  // 404 naming the tracks
        for (auto& t : st.taps)
            if (t.track == l.bus) tap = &t;
        if (!tap) {
            for (auto& t : st.taps)
                if (t.track.empty() && !tap) tap = &t;
            if (!tap) {
                std::string names;
                for (const auto& t : st.taps) names += fmt::format("{}'{}'", names.empty() ? "" : ", ", music::clipText(t.track, 40));
                throw ApiError(409, fmt::format("at most {} tracks are analysed live at once: {} are (the master bus can be analysed as well)", kTrackTaps, names));
            }
        }
    }
    l.fftSize = a.value("fft_size", 4096);
    if (!analysis::validFftSize(l.fftSize) || l.fftSize > kMaxLiveFft)
        throw ApiError(400, fmt::format("fft_size {}: a power of two from {} to {} is allowed", l.fftSize, analysis::kMinFftSize, kMaxLiveFft));
    const auto w = analysis::parseWindow(a.value("window", "hann"));
    l.window = analysis::windowCoefficients(*w, l.fftSize);
    l.windowSum = 0.0;
    for (double c : l.window) l.windowSum += c;
    const double rate = a.value("rate_hz", 10.0);
    l.period = std::max<SampleTime>(1, std::llround(options_.sampleRate / rate));
    const auto history = std::max(l.fftSize, static_cast<std::size_t>(3.0 * options_.sampleRate));
    l.left.assign(history, 0.0f);
    l.right.assign(history, 0.0f);
    l.analyzer = std::make_unique<analysis::LiveAnalyzer>(options_.sampleRate, l.features);
    l.push = ctx.push;
    analysis_->live.erase(key);  // a client's analysis of a bus: this one replaces it
    SampleTime first = 0;
    if (tap) {
        if (tap->track.empty()) {
            if (!tap->ring) tap->ring = std::make_unique<AudioRing>(1 << 16);
            std::vector<float> skip(st.buffer.size());
            while (tap->ring->read(skip.data(), skip.size() / 2) > 0) {
            }
            engine_.setTrackTap(static_cast<int>(tap - st.taps.data()), address, tap->ring.get());
            tap->track = l.bus;
            tap->address = address;
            // The engine starts copying at a block boundary at or after now: the stamps of a track's
            // analysis may be early by up to a block.
            tap->frames = engine_.now();
        }
        first = tap->frames;
    } else {
        drainTap();  // the analysis starts with the next sample played
        first = drainedFrames_;
    }
    l.nextAt = first + l.period;
    l.firstSample = first;
    json features = json::array();
    const bool on[] = {l.features.spectrum, l.features.levels, l.features.loudness, l.features.truePeak,
                       l.features.onsets,   l.features.pitch,  l.features.tempo,    l.features.key};
    for (std::size_t i = 0; i < analysis::kLiveFeatureNames.size(); ++i)
        if (on[i]) features.push_back(analysis::kLiveFeatureNames[i]);
    const std::size_t fft = l.fftSize;
    const std::string bus = l.bus;
    analysis_->live[key] = std::move(l);
    untapUnused();
    return {{"bus", bus}, {"fft_size", fft}, {"rate_hz", rate}, {"first_sample", first}, {"features", std::move(features)}, {"stream", "analysis"}};
}

json Studio::analysisReset(const json& a, const CallContext& ctx) {
    const std::string bus = a.value("bus", "");
    json reset = json::array();
    for (auto& [key, l] : analysis_->live) {
        if (key.first != ctx.client || (!bus.empty() && key.second != bus)) continue;
        l.analyzer->resetIntegrated();
        // The engine sample the integrated loudness and true peak now start from.
        reset.push_back({{"bus", key.second}, {"from_sample", l.firstSample + static_cast<SampleTime>(l.analyzer->frames())}});
    }
    if (reset.empty())
        throw ApiError(404, bus.empty() ? std::string("this client has no live analysis to reset")
                                        : fmt::format("this client has no live analysis of {}", music::quoteJson(bus, 60)));
    return {{"reset", std::move(reset)}};
}

void Studio::registerAnalysisOperations(OperationTable& t) {
    analysis_ = std::make_shared<AnalysisState>();
    t.add({"analyze", "analysis",
           "Analyses a stored audio file under --data: levels, BS.1770 loudness and true peak, spectrum, onsets, pitch, tempo and beats, key "
           "(the JSON of `soundstar analyze --json`)",
           object({{"file", text(255, "a path under --data")},
                   {"fft_size", integer(64, 65536, "a power of two, default 4096")},
                   {"window", choice({"hann", "hamming", "blackman"}, "spectrum window, default hann")}},
                  {"file"}),
           {"file", "fft_size"}, false, [this](const json& a, const CallContext&, Done done) {
               if (analysis_->jobs.size() >= kMaxFileJobs) throw ApiError(429, fmt::format("at most {} file analyses run at once; try again shortly", kMaxFileJobs));
               const std::string file = a["file"];
               const auto path = dataPath(file, "file");
               analysis::AnalysisOptions o;
               o.fftSize = a.value("fft_size", 4096);
               if (!analysis::validFftSize(o.fftSize))
                   throw ApiError(400, fmt::format("fft_size {}: a power of two from {} to {} is allowed", o.fftSize, analysis::kMinFftSize, analysis::kMaxFftSize));
               o.window = *analysis::parseWindow(a.value("window", "hann"));
               auto job = std::async(std::launch::async, [path, file, o]() -> Outcome {
                   try {
                       const auto audio = analysis::readAudioForAnalysis(path);
                       auto j = analysis::toJson(analysis::analyze(audio.left, audio.right, audio.sampleRate, o));
                       j["file"] = file;
                       j["channels"] = audio.channels;
                       return {200, std::move(j), {}};
                   } catch (const std::exception& e) {
                       return {400, nullptr, fmt::format("analyze {}: {}", music::clipText(file, 80), music::clipText(e.what(), 1200))};
                   }
               });
               analysis_->jobs.push_back({std::move(job), std::move(done)});
           }});
    t.add({"analysis_subscribe", "analysis",
           "WebSocket only: streams {\"stream\": \"analysis\", \"data\": ...} messages of the master bus or a track at rate_hz (engine time). "
           "features (default spectrum, levels, loudness) picks what each message holds: spectrum (fft_size bins in dBFS, a full-scale sine's bin "
           "at 0 dB), levels (RMS and peak dBFS since the last message), loudness (momentary and short-term LUFS; integrated LUFS since the "
           "subscription or analysis_reset), true_peak (dBTP, since the same), onsets (engine samples found since the last message, each once, "
           "about 60 ms after it), pitch (YIN over the last 8192 samples: hz, midi, confidence), tempo (bpm, confidence and beat samples over the "
           "last 8 s, worked out every 0.5 s), key (chroma over the last 10 s). A client may analyse several buses at once (one subscription each; the same bus again "
           "replaces it); at most 4 tracks are tapped at once over all clients, and 16 analyses run in all",
           object({{"bus", name("master (the default) or a track's name")},
                   {"rate_hz", number(1, 30, "messages per second, default 10")},
                   {"fft_size", integer(64, 16384, "a power of two, default 4096")},
                   {"window", choice({"hann", "hamming", "blackman"}, "spectrum window, default hann")},
                   {"features", {{"type", "array"},
                                 {"minItems", 1},
                                 {"maxItems", 8},
                                 {"items", {{"type", "string"}, {"enum", std::vector<std::string>(analysis::kLiveFeatureNames.begin(), analysis::kLiveFeatureNames.end())}}},
                                 {"description", "what each message holds; default spectrum, levels, loudness"}}}}),
           {}, false, [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, analysisSubscribe(a, c), {}}); }});
    t.add({"analysis_reset", "analysis",
           "WebSocket only: starts this client's integrated loudness and true peak again from the next sample, on one bus or (without bus) on all; "
           "replies reset: [{bus, from_sample}]",
           object({{"bus", name("master or a track's name; default all of this client's analyses")}}), {}, false,
           [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, analysisReset(a, c), {}}); }});
    t.add({"analysis_unsubscribe", "analysis", "WebSocket only: ends this client's live analysis of one bus, or (without bus) all of them",
           object({{"bus", name("master or a track's name; default all")}}), {}, false, [this](const json& a, const CallContext& c, Done done) {
               dropAnalysis(c.client, a.value("bus", ""));
               done(Outcome{200, json{{"analysis", false}}, {}});
           }});
}

}  // namespace soundstar::server

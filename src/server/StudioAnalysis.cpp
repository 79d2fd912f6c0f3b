// The analysis service's rows: `analyze` on a stored file under --data (the JSON of `soundstar
// analyze --json`, worked out on its own thread so the control thread keeps ticking), and live
// analysis of the master bus or one track streamed to WebSocket subscribers at a chosen rate:
// spectrum, RMS and peak, momentary and short-term loudness. The audio thread only writes the
// tap rings (the master's, and one track's); everything here runs on the control side.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <future>

#include "analysis/Analyzer.h"
#include "analysis/AudioInput.h"
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
    std::function<void(std::string)> push;

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

json liveMessage(LiveAnalysis& a, SampleTime sample, double rate) {
    std::vector<float> l, r;
    // Spectrum of the last fftSize frames (mid channel), scaled so a full-scale sine's bin reads 0 dB.
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
    // Momentary (400 ms) and short-term (3 s) loudness: BS.1770's K-weighted power over the window.
    const auto lufs = [&](double seconds) {
        const auto n = static_cast<std::size_t>(seconds * rate);
        if (a.filled < n) return json(nullptr);
        a.last(n, l, r);
        const auto powers = dsp::LoudnessMeter::blockPowers(l.data(), r.data(), n, rate);
        if (powers.empty()) return json(nullptr);
        double sum = 0.0;
        for (double p : powers) sum += p;
        const double v = dsp::LoudnessMeter::lufsOf(sum / static_cast<double>(powers.size()));
        return std::isfinite(v) ? json(rounded(v)) : json(nullptr);
    };
    const double meanSquare = a.frames ? a.sumSquares / (2.0 * static_cast<double>(a.frames)) : 0.0;
    json data = {{"bus", a.bus},
                 {"sample", sample},
                 {"frames", a.frames},
                 {"rms_db", db(meanSquare)},
                 {"peak_db", a.peak > 0.0f ? 20.0 * std::log10(a.peak) : -200.0},
                 {"momentary_lufs", lufs(0.4)},
                 {"short_term_lufs", lufs(3.0)},
                 {"spectrum", {{"fft_size", a.fftSize}, {"bin_hz", rate / static_cast<double>(a.fftSize)}, {"peak_bin", peakBin},
                               {"peak_hz", static_cast<double>(peakBin) * rate / static_cast<double>(a.fftSize)}, {"db", std::move(spectrum)}}}};
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

struct Studio::AnalysisState {
    std::map<std::uint64_t, LiveAnalysis> live;
    std::vector<FileJob> jobs;
    // One track at a time is tapped (engine::AudioEngine::setTrackTap); the ring lives as long as the studio.
    AudioRing trackRing{1 << 16};
    std::string tapped;  // the track's name; empty: none
    int tappedAddress = -1;
    SampleTime trackFrames = 0;  // the engine sample of the next frame read from trackRing (within a block)
    std::vector<float> buffer = std::vector<float>(std::size_t{1} << 17);
    ~AnalysisState() {
        for (auto& j : jobs) j.result.wait();
    }
};

void Studio::feedAnalysis(const float* frames, std::size_t n) {
    if (!analysis_ || analysis_->live.empty()) return;
    feedBus("master", frames, n, drainedFrames_ - static_cast<SampleTime>(n));  // drainTap counted these already
}

void Studio::feedBus(const std::string& bus, const float* frames, std::size_t n, SampleTime first) {
    for (auto& [client, a] : analysis_->live) {
        if (a.bus != bus) continue;
        const std::size_t cap = a.left.size();
        for (std::size_t i = 0; i < n; ++i) {
            const float l = frames[2 * i], r = frames[2 * i + 1];
            a.left[a.write] = l;
            a.right[a.write] = r;
            a.write = (a.write + 1) % cap;
            a.filled = std::min(a.filled + 1, cap);
            a.sumSquares += static_cast<double>(l) * l + static_cast<double>(r) * r;
            a.peak = std::max({a.peak, std::abs(l), std::abs(r)});
            ++a.frames;
            const SampleTime end = first + static_cast<SampleTime>(i) + 1;
            if (end >= a.nextAt) {
                a.push(wireText(liveMessage(a, end, options_.sampleRate)));
                a.nextAt = end + a.period;
            }
        }
    }
}

void Studio::untapTrack() {
    engine_.setTrackTap(-1, nullptr);
    analysis_->tapped.clear();
    analysis_->tappedAddress = -1;
}

void Studio::publishAnalysis() {
    if (!analysis_) return;
    if (auto& st = *analysis_; !st.tapped.empty()) {
        if (slots_[static_cast<std::size_t>(st.tappedAddress)].name != st.tapped) {
            // The track was freed: its analyses end, saying so.
            for (auto it = st.live.begin(); it != st.live.end();) {
                if (it->second.bus != st.tapped) {
                    ++it;
                    continue;
                }
                it->second.push(wireText(json{{"stream", "analysis"}, {"data", {{"bus", st.tapped}, {"ended", "the track was freed"}}}}));
                it = st.live.erase(it);
            }
            untapTrack();
        } else {
            for (std::size_t n; (n = st.trackRing.read(st.buffer.data(), st.buffer.size() / 2)) > 0; st.trackFrames += static_cast<SampleTime>(n))
                feedBus(st.tapped, st.buffer.data(), n, st.trackFrames);
        }
    }
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

void Studio::dropAnalysis(std::uint64_t client) {
    if (!analysis_) return;
    analysis_->live.erase(client);
    if (!analysis_->tapped.empty() &&
        std::none_of(analysis_->live.begin(), analysis_->live.end(), [&](const auto& l) { return l.second.bus == analysis_->tapped; }))
        untapTrack();
}

json Studio::analysisSubscribe(const json& a, const CallContext& ctx) {
    if (!ctx.push) throw ApiError(409, "live analysis streams over the WebSocket (/v1/ws): REST and OSC have no way to send later");
    if (!analysis_->live.count(ctx.client) && analysis_->live.size() >= kMaxLiveAnalyses)
        throw ApiError(429, fmt::format("too many live analyses: at most {}", kMaxLiveAnalyses));
    LiveAnalysis l;
    l.bus = a.value("bus", "master");
    dropAnalysis(ctx.client);  // a client has one live analysis: this one replaces it
    int address = -1;
    if (l.bus != "master") {
        address = trackAddress(l.bus);  // 404 naming the tracks
        auto& st = *analysis_;
        if (!st.tapped.empty() && st.tapped != l.bus)
            throw ApiError(409, fmt::format("one track is analysed live at a time: '{}' is (the master bus can be analysed as well)", st.tapped));
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
    l.push = ctx.push;
    SampleTime first = 0;
    if (address >= 0) {
        auto& st = *analysis_;
        if (st.tapped.empty()) {
            std::vector<float> skip(st.buffer.size());
            while (st.trackRing.read(skip.data(), skip.size() / 2) > 0) {
            }
            engine_.setTrackTap(address, &st.trackRing);
            st.tapped = l.bus;
            st.tappedAddress = address;
            // The engine starts copying at a block boundary at or after now: the stamps of a track's
            // analysis may be early by up to a block.
            st.trackFrames = engine_.now();
        }
        first = st.trackFrames;
    } else {
        drainTap();  // the analysis starts with the next sample played
        first = drainedFrames_;
    }
    l.nextAt = first + l.period;
    const std::size_t fft = l.fftSize;
    const std::string bus = l.bus;
    analysis_->live[ctx.client] = std::move(l);
    return {{"bus", bus}, {"fft_size", fft}, {"rate_hz", rate}, {"first_sample", first}, {"stream", "analysis"}};
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
           "WebSocket only: streams {\"stream\": \"analysis\", \"data\": ...} messages of the master bus or a track at rate_hz (engine time): spectrum "
           "(fft_size bins in dBFS, a full-scale sine's bin at 0 dB), RMS and peak (dBFS, since the last message), momentary and short-term loudness (LUFS)",
           object({{"bus", name("master (the default) or a track's name; one track at a time")},
                   {"rate_hz", number(1, 30, "messages per second, default 10")},
                   {"fft_size", integer(64, 16384, "a power of two, default 4096")},
                   {"window", choice({"hann", "hamming", "blackman"}, "spectrum window, default hann")}}),
           {}, false, [this](const json& a, const CallContext& c, Done done) { done(Outcome{200, analysisSubscribe(a, c), {}}); }});
    t.add({"analysis_unsubscribe", "analysis", "WebSocket only: ends this client's live analysis", object({}), {}, false,
           [this](const json&, const CallContext& c, Done done) {
               dropAnalysis(c.client);
               done(Outcome{200, json{{"analysis", false}}, {}});
           }});
}

}  // namespace soundstar::server

#include "analysis/LiveAnalyzer.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "analysis/Spectrum.h"
#include "dsp/LaneFilter.h"
#include "dsp/LoudnessMeter.h"
#include "dsp/TruePeakMeter.h"

namespace soundstar::analysis {

namespace {
constexpr std::size_t kChunk = 4096;            // push() works through at most this many frames at a time
constexpr std::size_t kPitchSamples = 8192;     // YIN's window for a message
constexpr std::size_t kKeyFrame = 16384, kKeyHop = 8192;
constexpr double kOnsetKeepSeconds = 3.0;       // onset flux kept between messages (trimmed from 4 s)
constexpr int kHistBins = 8000;                 // 0.01 LU from -70 to +10 LUFS
constexpr std::size_t kTruePeakKeep = dsp::TruePeakMeter::kTapsPerPhase - 1;  // the taps' reach back

// Drops the front of `env` (advancing `first`) once it holds more than 4/3 of `keep` values.
void trim(std::vector<double>& env, std::int64_t& first, std::size_t keep) {
    if (env.size() <= keep + keep / 3) return;
    const std::size_t drop = env.size() - keep;
    env.erase(env.begin(), env.begin() + static_cast<long>(drop));
    first += static_cast<std::int64_t>(drop);
}
}  // namespace

bool enableLiveFeature(LiveFeatures& f, const std::string& name) {
    bool* flags[] = {&f.spectrum, &f.levels, &f.loudness, &f.truePeak, &f.onsets, &f.pitch, &f.tempo, &f.key};
    for (std::size_t i = 0; i < kLiveFeatureNames.size(); ++i)
        if (name == kLiveFeatureNames[i]) return *flags[i] = true;
    return false;
}

RunningFlux::RunningFlux(const OnsetOptions& o) : o_(o) {
    const auto w = windowCoefficients(Window::Hann, o.frameSize);
    window_.assign(w.begin(), w.end());
    prev_.assign(o.frameSize / 2, 0.0);
    pending_.reserve(o.frameSize);
}

void RunningFlux::push(const float* mono, std::size_t n, std::vector<double>& out) {
    const std::size_t size = o_.frameSize;
    std::vector<std::complex<double>> buf;
    for (std::size_t i = 0; i < n;) {
        const std::size_t take = std::min(n - i, size - pending_.size());
        pending_.insert(pending_.end(), mono + i, mono + i + take);
        i += take;
        if (pending_.size() < size) break;
        // A complete frame: its flux as spectralFlux works it out, then slide by a hop.
        buf.resize(size);
        for (std::size_t k = 0; k < size; ++k) buf[k] = pending_[k] * window_[k];
        fft(buf);
        double f = 0.0;
        for (std::size_t k = 1; k < size / 2; ++k) {
            const double m = std::log1p(1000.0 * std::sqrt(std::norm(buf[k])));
            f += std::max(0.0, m - prev_[k]);
            prev_[k] = m;
        }
        out.push_back(first_ ? 0.0 : f);
        first_ = false;
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(std::min(o_.hop, size)));
    }
}

LiveAnalyzer::LiveAnalyzer(double sampleRate, LiveFeatures f) : rate_(sampleRate), f_(f) {
    std::size_t history = 0;
    if (f_.pitch) history = std::max(history, kPitchSamples + kChunk);
    if (f_.key) history = std::max(history, kKeyFrame + kChunk);
    if (f_.onsets) history = std::max(history, static_cast<std::size_t>(6.0 * sampleRate));
    mono_.assign(history, 0.0f);
    if (f_.loudness) {
        const auto [shelf, highpass] = dsp::kWeightingStages(sampleRate);
        for (int c = 0; c < 2; ++c) {
            kWeight_[static_cast<std::size_t>(2 * c)] = {shelf.b0, shelf.b1, shelf.b2, shelf.a1, shelf.a2};
            kWeight_[static_cast<std::size_t>(2 * c + 1)] = {highpass.b0, highpass.b1, highpass.b2, highpass.a1, highpass.a2};
        }
        step_ = static_cast<std::size_t>(std::llround(sampleRate / 10.0));
        histCount_.assign(kHistBins, 0);
        histPower_.assign(kHistBins, 0.0);
    }
    if (f_.onsets) onsetFlux_.emplace(OnsetOptions{});
    if (f_.tempo) tempoFlux_.emplace(tempoOnsetOptions(sampleRate));
}

void LiveAnalyzer::resetIntegrated() {
    std::fill(histCount_.begin(), histCount_.end(), 0u);
    std::fill(histPower_.begin(), histPower_.end(), 0.0);
    stepsDone_ = 0;
    inStep_ = 0;
    stepSum_ = 0.0;
    truePeak_ = 0.0f;
}

void LiveAnalyzer::push(const float* interleaved, std::size_t n) {
    for (std::size_t done = 0; done < n;) {
        const std::size_t k = std::min(kChunk, n - done);
        const float* x = interleaved + 2 * done;
        if (f_.loudness) feedLoudness(x, k);
        if (f_.truePeak) feedTruePeak(x, k);
        std::vector<float> mono(k);
        for (std::size_t i = 0; i < k; ++i) mono[i] = 0.5f * (x[2 * i] + x[2 * i + 1]);
        if (!mono_.empty())
            for (std::size_t i = 0; i < k; ++i) {
                mono_[monoWrite_] = mono[i];
                monoWrite_ = (monoWrite_ + 1) % mono_.size();
            }
        frames_ += static_cast<std::int64_t>(k);
        if (onsetFlux_) {
            onsetFlux_->push(mono.data(), k, onsetEnv_);
            const auto& o = onsetFlux_->options();
            const auto keep = static_cast<std::size_t>(kOnsetKeepSeconds * rate_ / static_cast<double>(o.hop));
            // Never drop a frame not yet checked (takeOnsets may be called rarely).
            if (onsetCheckedTo_ >= onsetEnvFirst_ + static_cast<std::int64_t>(onsetEnv_.size()) - static_cast<std::int64_t>(keep))
                trim(onsetEnv_, onsetEnvFirst_, keep);
        }
        if (tempoFlux_) {
            tempoFlux_->push(mono.data(), k, tempoEnv_);
            trim(tempoEnv_, tempoEnvFirst_, static_cast<std::size_t>(kTempoWindowSeconds * rate_ / static_cast<double>(tempoFlux_->options().hop)));
        }
        if (f_.key) feedKey();
        done += k;
    }
}

void LiveAnalyzer::feedLoudness(const float* x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const double l = kWeight_[1].tick(kWeight_[0].tick(x[2 * i])), r = kWeight_[3].tick(kWeight_[2].tick(x[2 * i + 1]));
        stepSum_ += l * l + r * r;
        if (++inStep_ < step_) continue;
        // A 100 ms step is complete: the 400 ms block ending here joins the histogram.
        lastSteps_[stepsDone_ % 4] = stepSum_;
        ++stepsDone_;
        stepSum_ = 0.0;
        inStep_ = 0;
        if (stepsDone_ < 4) continue;
        const double power = (lastSteps_[0] + lastSteps_[1] + lastSteps_[2] + lastSteps_[3]) / static_cast<double>(4 * step_);
        const double lufs = dsp::LoudnessMeter::lufsOf(power);
        if (!(lufs > -70.0)) continue;  // the absolute gate
        const int bin = std::clamp(static_cast<int>((lufs + 70.0) * 100.0), 0, kHistBins - 1);
        ++histCount_[static_cast<std::size_t>(bin)];
        histPower_[static_cast<std::size_t>(bin)] += power;
    }
}

std::optional<double> LiveAnalyzer::integratedLufs() const {
    if (!f_.loudness) return std::nullopt;
    double sum = 0.0;
    std::uint64_t count = 0;
    for (int b = 0; b < kHistBins; ++b) {
        sum += histPower_[static_cast<std::size_t>(b)];
        count += histCount_[static_cast<std::size_t>(b)];
    }
    if (count == 0) return std::nullopt;
    // The relative gate, 10 LU under the absolute-gated loudness, to the bin (0.01 LU).
    const double gate = dsp::LoudnessMeter::lufsOf(sum / static_cast<double>(count) / 10.0);
    const int from = std::clamp(static_cast<int>(std::floor((gate + 70.0) * 100.0)), 0, kHistBins - 1);
    sum = 0.0;
    count = 0;
    for (int b = from; b < kHistBins; ++b) {
        sum += histPower_[static_cast<std::size_t>(b)];
        count += histCount_[static_cast<std::size_t>(b)];
    }
    if (count == 0) return std::nullopt;
    return dsp::LoudnessMeter::lufsOf(sum / static_cast<double>(count));
}

void LiveAnalyzer::feedTruePeak(const float* x, std::size_t n) {
    for (std::size_t c = 0; c < 2; ++c) {
        auto& w = peakWork_[c];
        for (std::size_t i = 0; i < n; ++i) w.push_back(x[2 * i + c]);
        truePeak_ = std::max(truePeak_, dsp::TruePeakMeter::truePeakInterior(w.data(), w.size()));
        if (w.size() > kTruePeakKeep) w.erase(w.begin(), w.end() - static_cast<long>(kTruePeakKeep));
    }
}

std::optional<double> LiveAnalyzer::truePeakDbtp() const {
    if (!f_.truePeak || truePeak_ <= 0.0f) return std::nullopt;
    return 20.0 * std::log10(static_cast<double>(truePeak_));
}

std::vector<float> LiveAnalyzer::lastMono(std::size_t n) const {
    n = std::min({n, mono_.size(), static_cast<std::size_t>(frames_)});
    std::vector<float> out(n);
    const std::size_t cap = mono_.size();
    for (std::size_t i = 0; i < n; ++i) out[i] = mono_[(monoWrite_ + cap - n + i) % cap];
    return out;
}

std::vector<std::int64_t> LiveAnalyzer::takeOnsets() {
    std::vector<std::int64_t> out;
    if (!onsetFlux_ || onsetEnv_.size() < 3) return out;
    const auto& o = onsetFlux_->options();
    const auto hop = static_cast<std::int64_t>(o.hop);
    const std::int64_t last = onsetEnvFirst_ + static_cast<std::int64_t>(onsetEnv_.size()) - 1;
    const std::int64_t settled = last - static_cast<std::int64_t>(o.medianRadius) - 1;  // its median window and next value are in
    if (settled <= onsetCheckedTo_) return out;
    // The samples under the kept flux: frame i covers stream samples [i * hop, i * hop + frameSize).
    if (const auto fits = static_cast<std::int64_t>(mono_.size()) / hop - static_cast<std::int64_t>(o.frameSize) / hop - 1;
        static_cast<std::int64_t>(onsetEnv_.size()) > fits) {  // messages so rare the history ran past the flux kept
        const auto drop = static_cast<std::int64_t>(onsetEnv_.size()) - fits;
        onsetEnv_.erase(onsetEnv_.begin(), onsetEnv_.begin() + static_cast<long>(drop));
        onsetEnvFirst_ += drop;
    }
    const std::int64_t monoFrom = onsetEnvFirst_ * hop;
    const std::size_t monoLen = static_cast<std::size_t>(frames_ - monoFrom);
    const auto mono = lastMono(monoLen);
    const auto picks = pickOnsets(onsetEnv_, mono, rate_, o);
    for (const double t : picks) {
        const auto local = std::llround((t * rate_ - static_cast<double>(o.frameSize) + static_cast<double>(o.hop) / 2.0) / static_cast<double>(o.hop));
        const std::int64_t frame = onsetEnvFirst_ + local;
        if (frame <= onsetCheckedTo_ || frame > settled) continue;
        const std::int64_t sample = monoFrom + std::llround(t * rate_);
        if (lastOnset_ >= 0 && static_cast<double>(sample - lastOnset_) <= o.minGapSeconds * rate_) continue;
        out.push_back(sample);
        lastOnset_ = sample;
    }
    onsetCheckedTo_ = settled;
    return out;
}

PitchSummary LiveAnalyzer::pitch() const {
    if (!f_.pitch) return {};
    const auto mono = lastMono(kPitchSamples);
    return trackPitch(mono, rate_);
}

LiveAnalyzer::Tempo LiveAnalyzer::tempo() const {
    if (tempoAt_ >= 0 && static_cast<double>(frames_ - tempoAt_) < kTempoEverySeconds * rate_) return tempoLast_;
    Tempo t;
    if (!tempoFlux_ || tempoEnv_.empty()) return t;
    tempoAt_ = frames_;
    const auto& o = tempoFlux_->options();
    const std::size_t covered = (tempoEnv_.size() - 1) * o.hop + o.frameSize;
    const auto e = tempoFromFlux(tempoEnv_, rate_, covered);
    t.bpm = e.bpm;
    t.confidence = e.confidence;
    const std::int64_t from = tempoEnvFirst_ * static_cast<std::int64_t>(o.hop);
    for (const double s : e.beatsSeconds) t.beats.push_back(from + std::llround(s * rate_));
    tempoLast_ = t;
    return t;
}

void LiveAnalyzer::feedKey() {
    const std::size_t keep = static_cast<std::size_t>(std::ceil(kKeyWindowSeconds * rate_ / static_cast<double>(kKeyHop)));
    while (frames_ >= keyNextAt_) {
        // The frame ending at keyNextAt_, still in the history (push works in chunks of kChunk).
        const auto back = static_cast<std::size_t>(frames_ - keyNextAt_);
        auto x = lastMono(kKeyFrame + back);
        x.resize(kKeyFrame);
        chromas_.push_back(chroma(x, rate_, kKeyFrame));
        if (chromas_.size() > keep) chromas_.erase(chromas_.begin());
        keyNextAt_ += static_cast<std::int64_t>(kKeyHop);
    }
}

std::optional<KeyEstimate> LiveAnalyzer::key() const {
    if (!f_.key || chromas_.empty()) return std::nullopt;
    std::array<double, 12> sum{};
    for (const auto& c : chromas_)
        for (std::size_t i = 0; i < 12; ++i) sum[i] += c[i];
    return estimateKey(sum);
}

}  // namespace soundstar::analysis

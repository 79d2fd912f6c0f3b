#include "render/Mastering.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <future>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "dsp/LaneFilter.h"
#include "dsp/Limiter.h"
#include "dsp/LoudnessMeter.h"
#include "dsp/Simd.h"
#include "core/Timings.h"
#include "dsp/TruePeakMeter.h"
#include "render/OfflineGraph.h"

namespace soundstar::render {
namespace {
constexpr double kSilenceLufs = -70.0;
// The limiter aims this far under the ceiling: its 12-tap true-peak estimate and the meter's
// 16-tap one (and libebur128's, and ffmpeg's) differ by a few hundredths of a dB.
constexpr double kLimiterMarginDb = 0.3;
// After the limiter, a plain gain may lift the result up to this close to the ceiling.
constexpr double kCeilingMarginDb = 0.05;
constexpr int kMaxLimiterPasses = 4;

/// The 10 Hz DC high-pass (second order, inaudible) in place, and the K-weighted block powers
/// of its output, in one pass; then each channel's remaining mean.
std::vector<double> removeDcAndMeasure(StereoBuffer& a, double sr, double& meanLeft, double& meanRight) {
    const auto n = static_cast<std::size_t>(a.frames());
    const auto step = static_cast<std::size_t>(std::llround(sr / 10.0));
    const auto [shelf, highpass] = dsp::kWeightingStages(sr);
    const dsp::LaneCascade kWeighting{{shelf, highpass}, 2};
    const dsp::BiquadCoeffs hp = dsp::highPassCoeffs(sr, 10.0, 0.707);
    const std::size_t steps = step > 0 ? n / step : 0;
    std::vector<double> stepPower(steps, 0.0);
    // The DC filter's impulse response needs longer than the K-weighting's to die away.
    std::array<double, 2> sums{};
    dsp::runLanes(a.left().data(), a.right().data(), n, std::max<std::size_t>(step, 1), sr, kWeighting, &hp, a.left().data(),
                  a.right().data(), [&](std::size_t i, double l, double r) { if (i < steps) stepPower[i] = l + r; }, 1.0, &sums);
    meanLeft = n ? sums[0] / static_cast<double>(n) : 0.0;
    meanRight = n ? sums[1] / static_cast<double>(n) : 0.0;
    std::vector<double> powers;
    const double norm = 1.0 / static_cast<double>(4 * std::max<std::size_t>(step, 1));
    for (std::size_t b = 0; b + 3 < steps; ++b)
        powers.push_back((stepPower[b] + stepPower[b + 1] + stepPower[b + 2] + stepPower[b + 3]) * norm);
    return powers;
}

/// The true peak of a buffer measured in 512-frame spans (TruePeakMeter::truePeakSpan) by any
/// thread that calls work(), behind a writer that says how far it has written (published): the
/// limiter's output is measured while the limiter runs, and the loudness meter's thread joins in
/// once it is done. The answer is the same whoever measured which span [any].
class TruePeakScan {
public:
    static constexpr std::size_t kSpan = 512;
    explicit TruePeakScan(const StereoBuffer& a) : a_(a), frames_(static_cast<std::size_t>(a.frames())), spans_((frames_ + kSpan - 1) / kSpan) {}

    /// Frames [0, frames) are final [the writer].
    void published(std::size_t frames) { ready_.store(frames, std::memory_order_release); }
    /// Measures spans until none is left (waiting for the writer where it must).
    void work() {
        float mine = 0.0f;
        for (std::size_t s; (s = next_.fetch_add(1, std::memory_order_relaxed)) < spans_;) {
            const std::size_t reach = std::min(frames_, (s + 1) * kSpan + 8);  // the interpolator reads 8 past the span
            while (ready_.load(std::memory_order_acquire) < reach) std::this_thread::yield();
            const float before = std::max(mine, best_.load(std::memory_order_relaxed));
            const float got = std::max(dsp::TruePeakMeter::truePeakSpan(a_.left().data(), frames_, s * kSpan, kSpan, before),
                                       dsp::TruePeakMeter::truePeakSpan(a_.right().data(), frames_, s * kSpan, kSpan, before));
            if (got <= mine) continue;
            mine = got;  // shared at once, so the other thread skips more
            float shared = best_.load(std::memory_order_relaxed);
            while (mine > shared && !best_.compare_exchange_weak(shared, mine, std::memory_order_relaxed)) {
            }
        }
    }
    /// After every work() has returned: the true peak in dBTP (-inf for silence).
    double dbtp() const {
        const float p = best_.load(std::memory_order_acquire);
        return p > 0.0f ? 20.0 * std::log10(static_cast<double>(p)) : -std::numeric_limits<double>::infinity();
    }

private:
    const StereoBuffer& a_;
    std::size_t frames_, spans_;
    std::atomic<std::size_t> ready_{0}, next_{0};
    std::atomic<float> best_{0.0f};
};

/// audio = limit((audio - mean) * gain) in place, time-aligned (the limiter's latency is
/// compensated: each block is written `latency` frames behind where it was read); `scan` (when
/// given) hears how far the output is final.
void gainAndLimit(StereoBuffer& audio, double meanLeft, double meanRight, double sr, double gainDb, double ceilingDb, TruePeakScan* scan = nullptr) {
    const int n = audio.frames();
    dsp::Limiter lim;
    lim.prepare(sr, 3.0f);
    lim.set(static_cast<float>(ceilingDb), 120.0f);
    const int lat = lim.latencySamples();
    const auto g = static_cast<float>(std::pow(10.0, gainDb / 20.0));
    const auto ml = static_cast<float>(meanLeft), mr = static_cast<float>(meanRight);
    // Small blocks let the limiter skip its true-peak interpolation wherever a block is quiet.
    constexpr int kBlock = 128;
    float bl[kBlock], br[kBlock];
    for (int pos = 0; pos < n + lat; pos += kBlock) {
        const int m = std::min(kBlock, n + lat - pos);
        const int real = std::clamp(n - pos, 0, m);  // frames of input in this block; zeros after
        for (int i = 0; i < real; ++i) {
            bl[i] = (audio.left()[static_cast<std::size_t>(pos + i)] - ml) * g;
            br[i] = (audio.right()[static_cast<std::size_t>(pos + i)] - mr) * g;
        }
        std::fill(bl + real, bl + m, 0.0f);
        std::fill(br + real, br + m, 0.0f);
        lim.process({bl, br, m});
        const int skip = std::max(0, lat - pos);  // drop the latency so timing and length stay exact
        if (skip < m) {
            std::copy(bl + skip, bl + m, audio.left().data() + (pos + skip - lat));
            std::copy(br + skip, br + m, audio.right().data() + (pos + skip - lat));
            if (scan && ((pos / kBlock) % 16 == 15 || pos + m >= n + lat)) scan->published(static_cast<std::size_t>(pos + m - lat));
        }
    }
}

void scale(StereoBuffer& a, double gainDb) {
    const auto g = static_cast<float>(std::pow(10.0, gainDb / 20.0));
    for (auto* ch : {&a.left(), &a.right()})
        for (auto& v : *ch) v *= g;
}

void subtractMeans(StereoBuffer& a, double meanLeft, double meanRight) {
    for (auto& v : a.left()) v -= static_cast<float>(meanLeft);
    for (auto& v : a.right()) v -= static_cast<float>(meanRight);
}
}  // namespace

Loudness measure(const StereoBuffer& audio, double sampleRate, bool truePeak) {
    const auto n = static_cast<std::size_t>(audio.frames());
    const auto loudness = [&] { return dsp::LoudnessMeter::integratedLufs(audio.left().data(), audio.right().data(), n, sampleRate); };
    if (!truePeak) return {loudness(), 0.0};
    const auto peak = [&] { return dsp::TruePeakMeter::truePeakDbtp(audio.left().data(), audio.right().data(), n); };
    // The two meters read the same samples and share nothing: side by side when a core is free
    // and the buffer is long enough to repay a thread (same numbers either way).
    if (n < static_cast<std::size_t>(sampleRate) * 5 || defaultRenderThreads() < 2) return {loudness(), peak()};
    auto peakLater = std::async(std::launch::async, peak);
    const double lufs = loudness();
    return {lufs, peakLater.get()};
}

MasteringReport master(StereoBuffer& audio, double sampleRate, const MasteringOptions& o) {
    MasteringReport r;
    double meanLeft = 0.0, meanRight = 0.0;
    const auto inputPowers = removeDcAndMeasure(audio, sampleRate, meanLeft, meanRight);
    r.inputLufs = dsp::LoudnessMeter::gatedLufs(inputPowers);
    core::timingMark("mastering: input measured");
    if (!std::isfinite(r.inputLufs) || r.inputLufs < kSilenceLufs) {
        subtractMeans(audio, meanLeft, meanRight);
        r.silent = true;
        r.outputLufs = r.inputLufs;
        r.truePeakDbtp = measure(audio, sampleRate, true).truePeakDbtp;
        return r;
    }
    // Loudness is linear in gain until the limiter acts: one gain from the input's block powers,
    // one limiter pass (in place), one measurement of the result; a plain gain then lands the
    // loudness exactly when the ceiling leaves room for it. Only a limiter that took more
    // loudness than that room needs more: the result goes through the limiter again with the
    // gain still missing (a limiter after a limiter, as mastering chains do).
    const double limitAt = o.ceilingDbtp - kLimiterMarginDb;
    double step = o.targetLufs - r.inputLufs, total = 0.0;
    Loudness got{};
    double lastLufs = r.inputLufs;
    // A long buffer's result is measured as it is limited: a second thread measures its true
    // peak behind the limiter, then the loudness is measured here and this thread joins in.
    const bool behind = audio.frames() >= sampleRate * 5 && defaultRenderThreads() >= 2;
    for (int pass = 0; pass < kMaxLimiterPasses; ++pass) {
        std::optional<TruePeakScan> scan;
        std::thread scanner;
        // Whatever leaves this pass (an exception too) first lets the scanner finish and joins it.
        struct Join {
            std::optional<TruePeakScan>& scan;
            std::thread& thread;
            ~Join() {
                if (!thread.joinable()) return;
                scan->published(std::numeric_limits<std::size_t>::max());
                thread.join();
            }
        } join{scan, scanner};
        if (behind) scan.emplace(audio), scanner = std::thread([&] { scan->work(); });
        gainAndLimit(audio, pass == 0 ? meanLeft : 0.0, pass == 0 ? meanRight : 0.0, sampleRate, step, limitAt, scan ? &*scan : nullptr);
        total += step;
        ++r.limiterPasses;
        core::timingMark("mastering: limited");
        const double before = pass == 0 ? r.inputLufs : lastLufs;
        if (scan) {
            got.lufs = dsp::LoudnessMeter::integratedLufs(audio.left().data(), audio.right().data(), static_cast<std::size_t>(audio.frames()), sampleRate);
            scan->work();
            scanner.join();
            got.truePeakDbtp = scan->dbtp();
        } else {
            got = measure(audio, sampleRate, true);
        }
        core::timingMark("mastering: result measured");
        const double shortBy = o.targetLufs - got.lufs;  // > 0: still too quiet
        const double room = o.ceilingDbtp - kCeilingMarginDb - got.truePeakDbtp;
        if (shortBy <= room || pass + 1 == kMaxLimiterPasses) {
            const double lift = std::min(shortBy, room);
            if (std::abs(lift) > 1e-4) {
                scale(audio, lift);
                got.lufs += lift;
                got.truePeakDbtp += lift;
                total += lift;
            }
            break;
        }
        // How much loudness this pass's gain bought (1 dB per dB before the limiter acts, less
        // as it takes more); ask the next for what is missing, leaving the plain gain's room spare.
        const double slope = step > 0.0 ? std::clamp((got.lufs - before) / step, 0.2, 1.0) : 1.0;
        lastLufs = got.lufs;
        step = std::max(0.0, shortBy - 0.5 * room) / slope;
    }
    r.gainDb = total;
    r.outputLufs = got.lufs;
    r.truePeakDbtp = got.truePeakDbtp;
    return r;
}

}  // namespace soundstar::render

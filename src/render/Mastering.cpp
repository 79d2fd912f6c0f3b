#include "render/Mastering.h"

#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "dsp/Biquad.h"
#include "dsp/Limiter.h"

namespace soundstar::render {
namespace {
constexpr double kSilenceLufs = -70.0;

void removeDc(StereoBuffer& a, double sr) {
    // Second-order highpass at 10 Hz (inaudible), then remove any residual mean.
    for (auto* ch : {&a.left(), &a.right()}) {
        dsp::Biquad hp;
        hp.prepare(sr);
        hp.set(dsp::BiquadType::HighPass, 10.0f, 0.707f);
        hp.process(ch->data(), static_cast<int>(ch->size()));
        double mean = 0.0;
        for (float v : *ch) mean += v;
        mean /= static_cast<double>(std::max<std::size_t>(1, ch->size()));
        for (auto& v : *ch) v -= static_cast<float>(mean);
    }
}

/// out = limit(in * gain), time-aligned (the limiter's latency is compensated), reusing out.
void gainAndLimit(const StereoBuffer& in, StereoBuffer& out, double sr, double gainDb, double ceilingDb) {
    const int n = in.frames();
    dsp::Limiter lim;
    lim.prepare(sr, 3.0f);
    lim.set(static_cast<float>(ceilingDb), 120.0f);
    const int lat = lim.latencySamples();
    if (out.frames() != n) out.resize(n);
    const auto g = static_cast<float>(std::pow(10.0, gainDb / 20.0));
    // Small blocks let the limiter skip its true-peak interpolation wherever a block is quiet.
    constexpr int kBlock = 128;
    float bl[kBlock], br[kBlock];
    for (int pos = 0; pos < n + lat; pos += kBlock) {
        const int m = std::min(kBlock, n + lat - pos);
        for (int i = 0; i < m; ++i) {
            const int src = pos + i;
            bl[i] = src < n ? in.left()[static_cast<std::size_t>(src)] * g : 0.0f;
            br[i] = src < n ? in.right()[static_cast<std::size_t>(src)] * g : 0.0f;
        }
        lim.process({bl, br, m});
        for (int i = 0; i < m; ++i) {
            const int dst = pos + i - lat;  // drop the latency so timing and length stay exact
            if (dst < 0) continue;
            out.left()[static_cast<std::size_t>(dst)] = bl[i];
            out.right()[static_cast<std::size_t>(dst)] = br[i];
        }
    }
}
}  // namespace

Loudness measure(const StereoBuffer& audio, double sampleRate, bool truePeak) {
    const int mode = EBUR128_MODE_I | (truePeak ? EBUR128_MODE_TRUE_PEAK : 0);
    ebur128_state* st = ebur128_init(2, static_cast<unsigned long>(sampleRate), mode);
    if (!st) throw std::runtime_error("libebur128 could not start");
    std::vector<float> inter(8192 * 2);
    const auto n = static_cast<std::size_t>(audio.frames());
    for (std::size_t pos = 0; pos < n; pos += 8192) {
        const std::size_t m = std::min<std::size_t>(8192, n - pos);
        for (std::size_t i = 0; i < m; ++i) {
            inter[2 * i] = audio.left()[pos + i];
            inter[2 * i + 1] = audio.right()[pos + i];
        }
        ebur128_add_frames_float(st, inter.data(), m);
    }
    double lufs = -HUGE_VAL, tpl = 0.0, tpr = 0.0;
    ebur128_loudness_global(st, &lufs);
    if (truePeak) {
        ebur128_true_peak(st, 0, &tpl);
        ebur128_true_peak(st, 1, &tpr);
    }
    ebur128_destroy(&st);
    const double tp = std::max(tpl, tpr);
    return {lufs, tp > 0.0 ? 20.0 * std::log10(tp) : -HUGE_VAL};
}

MasteringReport master(StereoBuffer& audio, double sampleRate, const MasteringOptions& o) {
    MasteringReport r;
    removeDc(audio, sampleRate);
    const Loudness in = measure(audio, sampleRate, false);
    r.inputLufs = in.lufs;
    if (!std::isfinite(in.lufs) || in.lufs < kSilenceLufs) {
        r.silent = true;
        r.outputLufs = in.lufs;
        r.truePeakDbtp = measure(audio, sampleRate, true).truePeakDbtp;
        return r;
    }
    // The limiter aims a little under the ceiling: its 4x estimate and libebur128's differ slightly.
    const double limitAt = o.ceilingDbtp - 0.3;
    double gain = o.targetLufs - in.lufs;
    StereoBuffer out;
    Loudness got{};
    for (int iter = 0; iter < 5; ++iter) {
        gainAndLimit(audio, out, sampleRate, gain, limitAt);
        got = measure(out, sampleRate, false);
        const double err = o.targetLufs - got.lufs;
        if (std::abs(err) < 0.1) break;
        gain += err;
    }
    got = measure(out, sampleRate, true);
    if (got.truePeakDbtp > o.ceilingDbtp) {
        const auto trim = static_cast<float>(std::pow(10.0, (o.ceilingDbtp - 0.05 - got.truePeakDbtp) / 20.0));
        for (auto* ch : {&out.left(), &out.right()})
            for (auto& v : *ch) v *= trim;
        got = measure(out, sampleRate);
    }
    audio = std::move(out);
    r.gainDb = gain;
    r.outputLufs = got.lufs;
    r.truePeakDbtp = got.truePeakDbtp;
    return r;
}

}  // namespace soundstar::render

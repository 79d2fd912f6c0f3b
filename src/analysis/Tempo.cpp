#include "analysis/Tempo.h"

#include <algorithm>
#include <cmath>

#include "analysis/Onsets.h"

namespace soundstar::analysis {

OnsetOptions tempoOnsetOptions(double sampleRate) {
    OnsetOptions o;
    o.hop = static_cast<std::size_t>(std::max(64.0, std::round(sampleRate / 172.0)));  // ~5.8 ms
    o.frameSize = 1024;
    while (static_cast<double>(o.frameSize) < sampleRate / 43.0) o.frameSize <<= 1;
    return o;
}

TempoEstimate estimateTempo(std::span<const float> mono, double sampleRate) {
    if (static_cast<double>(mono.size()) < 4.0 * sampleRate) return {};
    return tempoFromFlux(spectralFlux(mono, tempoOnsetOptions(sampleRate)), sampleRate, mono.size());
}

TempoEstimate tempoFromFlux(std::vector<double> env, double sampleRate, std::size_t frames) {
    TempoEstimate t;
    if (static_cast<double>(frames) < 4.0 * sampleRate) return t;
    const OnsetOptions o = tempoOnsetOptions(sampleRate);
    // Under the onset floor there is no pulse to follow (a steady tone's leakage wobbles periodically).
    const double floor = fluxFloor(o);
    for (double& v : env) v = v < floor ? 0.0 : v;
    const double frameRate = sampleRate / static_cast<double>(o.hop);
    // Remove a moving mean (0.5 s) and half-wave rectify: the pulses, not the loudness.
    const auto radius = static_cast<std::size_t>(0.25 * frameRate);
    std::vector<double> pre(env.size() + 1, 0.0);
    for (std::size_t i = 0; i < env.size(); ++i) pre[i + 1] = pre[i] + env[i];
    std::vector<double> e(env.size());
    for (std::size_t i = 0; i < env.size(); ++i) {
        const std::size_t lo = i > radius ? i - radius : 0, hi = std::min(env.size(), i + radius + 1);
        e[i] = std::max(0.0, env[i] - (pre[hi] - pre[lo]) / static_cast<double>(hi - lo));
    }
    const double minLag = 60.0 / kMaxBpm * frameRate, maxLag = 60.0 / kMinBpm * frameRate;
    const std::size_t maxAc = std::min(e.size() / 2, static_cast<std::size_t>(4.0 * maxLag) + 2);
    if (maxAc < static_cast<std::size_t>(maxLag) + 2) return t;
    std::vector<double> ac(maxAc + 1, 0.0);
    for (std::size_t lag = 0; lag <= maxAc; ++lag) {
        double s = 0.0;
        for (std::size_t i = 0; i + lag < e.size(); ++i) s += e[i] * e[i + lag];
        ac[lag] = s / static_cast<double>(e.size() - lag);
    }
    if (ac[0] <= 0.0) return t;
    const auto at = [&](double lag) {  // linear interpolation; 0 past the end
        const auto i = static_cast<std::size_t>(lag);
        if (i + 1 > maxAc) return 0.0;
        const double f = lag - static_cast<double>(i);
        return ac[i] * (1.0 - f) + ac[i + 1] * f;
    };
    std::size_t bestLag = 0;
    double bestScore = -1.0;
    for (auto lag = static_cast<std::size_t>(std::ceil(minLag)); lag <= static_cast<std::size_t>(maxLag); ++lag) {
        const double l = static_cast<double>(lag), bpm = 60.0 * frameRate / l;
        double s = 0.0;
        for (int k = 1; k <= 4; ++k) s += at(l * k) / k;
        const double octaves = std::log2(bpm / 120.0);
        s *= std::exp(-0.5 * octaves * octaves);
        if (s > bestScore) {
            bestScore = s;
            bestLag = lag;
        }
    }
    // Refine at the largest multiple of the period that fits: the peak's parabola there, divided.
    double period = static_cast<double>(bestLag);
    for (int k = 4; k >= 1; --k) {
        const auto centre = static_cast<std::size_t>(std::lround(period * k));
        const auto span = static_cast<std::size_t>(std::max(2.0, 0.05 * period * k));
        if (centre + span + 1 > maxAc || centre < span + 1) continue;
        std::size_t p = centre - span;
        for (std::size_t i = centre - span; i <= centre + span; ++i)
            if (ac[i] > ac[p]) p = i;
        double peak = static_cast<double>(p);
        const double y0 = ac[p - 1], y1 = ac[p], y2 = ac[p + 1], den = y0 - 2.0 * y1 + y2;
        if (den < 0.0) peak += 0.5 * (y0 - y2) / den;
        period = peak / k;
        break;
    }
    t.bpm = 60.0 * frameRate / period;
    t.confidence = std::clamp(at(period) / ac[0], 0.0, 1.0);
    // Beat phase: the grid offset collecting the most envelope.
    double bestPhase = 0.0, bestSum = -1.0;
    for (std::size_t p = 0; p < static_cast<std::size_t>(period); ++p) {
        double s = 0.0;
        for (double x = static_cast<double>(p); x < static_cast<double>(e.size()); x += period) s += e[static_cast<std::size_t>(x)];
        if (s > bestSum) {
            bestSum = s;
            bestPhase = static_cast<double>(p);
        }
    }
    for (double x = bestPhase; x < static_cast<double>(e.size()); x += period)
        t.beatsSeconds.push_back(fluxFrameSeconds(static_cast<std::size_t>(x), o, sampleRate));
    return t;
}

}  // namespace soundstar::analysis

#include "dsp/LoudnessMeter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "dsp/LaneFilter.h"

namespace soundstar::dsp {

double LoudnessMeter::lufsOf(double meanSquare) {
    return meanSquare > 0.0 ? -0.691 + 10.0 * std::log10(meanSquare) : -std::numeric_limits<double>::infinity();
}

std::vector<double> LoudnessMeter::blockPowers(const float* left, const float* right, std::size_t frames, double sampleRate) {
    // libebur128's and BS.1770's 100 ms step, rounded to whole samples; a block is four steps.
    const auto step = static_cast<std::size_t>(std::llround(sampleRate / 10.0));
    const std::size_t steps = step > 0 ? frames / step : 0;
    if (steps < 4) return {};
    const auto [shelf, highpass] = kWeightingStages(sampleRate);
    const LaneCascade cascade{{shelf, highpass}, 2};
    std::vector<double> stepPower(steps, 0.0);
    // Each lane returns the K-weighted sum of squares of every 100 ms step it covers.
    runLanes(left, right, steps * step, step, sampleRate, cascade, static_cast<const BiquadCoeffs*>(nullptr), nullptr, nullptr,
             [&](std::size_t stepIndex, double sumLeft, double sumRight) { stepPower[stepIndex] = sumLeft + sumRight; });
    std::vector<double> powers(steps - 3);
    const double norm = 1.0 / static_cast<double>(4 * step);
    for (std::size_t b = 0; b + 3 < steps; ++b)
        powers[b] = (stepPower[b] + stepPower[b + 1] + stepPower[b + 2] + stepPower[b + 3]) * norm;
    return powers;
}

double LoudnessMeter::gatedLufs(std::span<const double> powers, double scale) {
    // -70 LUFS as a mean square.
    const double absoluteGate = std::pow(10.0, (-70.0 + 0.691) / 10.0);
    const auto gatedMean = [&](double gate) {
        double sum = 0.0;
        std::size_t count = 0;
        for (double p : powers) {
            const double v = p * scale;
            if (v > gate) {
                sum += v;
                ++count;
            }
        }
        return count ? sum / static_cast<double>(count) : 0.0;
    };
    const double ungated = gatedMean(absoluteGate);
    if (ungated <= 0.0) return -std::numeric_limits<double>::infinity();
    // The relative gate sits 10 LU under the absolute-gated loudness: a tenth of its power.
    return lufsOf(gatedMean(std::max(absoluteGate, ungated / 10.0)));
}

double LoudnessMeter::integratedLufs(const float* left, const float* right, std::size_t frames, double sampleRate) {
    return gatedLufs(blockPowers(left, right, frames, sampleRate));
}

}  // namespace soundstar::dsp

#include "models/ggml/DdimScheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace soundstar::models {

DdimScheduler::DdimScheduler(const DdimConfig& config, int steps) : config_(config), steps_(steps) {
    const int most = std::min(kMaxDdimSteps, config.trainSteps);
    if (steps < 1 || steps > most) throw std::invalid_argument(fmt::format("{} diffusion steps; allowed 1 to {}", steps, most));
    const int n = config.trainSteps;
    alphasCumprod_.resize(static_cast<std::size_t>(n));
    const double lo = std::sqrt(config.betaStart), hi = std::sqrt(config.betaEnd);
    double product = 1.0;
    for (int i = 0; i < n; ++i) {
        const double root = n == 1 ? lo : lo + (hi - lo) * i / (n - 1);
        product *= 1.0 - root * root;
        alphasCumprod_[static_cast<std::size_t>(i)] = product;
    }
    const int ratio = n / steps;
    for (int i = steps - 1; i >= 0; --i) {
        const int t = i * ratio + config.stepsOffset;
        if (t >= n) throw std::invalid_argument(fmt::format("{} diffusion steps with steps_offset {} reach timestep {}; the schedule has {}", steps, config.stepsOffset, t, n));
        timesteps_.push_back(t);
    }
}

void DdimScheduler::step(std::vector<float>& sample, const std::vector<float>& noise, std::size_t index) const {
    if (index >= timesteps_.size()) throw std::invalid_argument(fmt::format("DDIM step {}; this schedule has {}", index, timesteps_.size()));
    if (noise.size() != sample.size()) throw std::invalid_argument(fmt::format("{} noise values for {} latent values", noise.size(), sample.size()));
    const int t = timesteps_[index];
    const int prev = t - config_.trainSteps / steps_;
    const double a = alphasCumprod_[static_cast<std::size_t>(t)];
    const double aPrev = prev >= 0 ? alphasCumprod_[static_cast<std::size_t>(prev)] : (config_.setAlphaToOne ? 1.0 : alphasCumprod_[0]);
    const double sqrtA = std::sqrt(a), sqrtOneMinusA = std::sqrt(1.0 - a), sqrtAPrev = std::sqrt(aPrev), sqrtOneMinusAPrev = std::sqrt(1.0 - aPrev);
    for (std::size_t i = 0; i < sample.size(); ++i) {
        double x0 = (sample[i] - sqrtOneMinusA * noise[i]) / sqrtA;
        if (config_.clipRange > 0) x0 = std::clamp(x0, -config_.clipRange, config_.clipRange);
        sample[i] = static_cast<float>(sqrtAPrev * x0 + sqrtOneMinusAPrev * noise[i]);
    }
}

std::vector<float> gaussianLatents(std::uint64_t seed, std::size_t count) {
    std::uint64_t state = seed;
    auto next = [&state] {
        state += 0x9E3779B97F4A7C15ull;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    std::vector<float> out;
    out.reserve(count + 1);
    while (out.size() < count) {
        const double u1 = static_cast<double>(next() >> 11) * 0x1.0p-53;
        const double u2 = static_cast<double>(next() >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(1.0 - u1));
        out.push_back(static_cast<float>(r * std::cos(2.0 * std::numbers::pi * u2)));
        out.push_back(static_cast<float>(r * std::sin(2.0 * std::numbers::pi * u2)));
    }
    out.resize(count);
    return out;
}

}  // namespace soundstar::models

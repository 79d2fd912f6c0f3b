#pragma once
// DDIM sampling for AudioLDM [control]: diffusers' DDIMScheduler with eta 0 and "leading"
// timestep spacing, epsilon prediction, scaled-linear betas (sqrt-spaced from beta_start to
// beta_end over the training steps, squared), set_alpha_to_one and steps_offset as the GGUF
// says (AudioLDM: false and 1); and the seeded Gaussian latents the sampler starts from.
#include <cstdint>
#include <vector>

#include "models/ggml/AudioldmUnet.h"

namespace soundstar::models {

inline constexpr int kMaxDdimSteps = 200;

class DdimScheduler {
public:
    /// `steps` from 1 to kMaxDdimSteps (and at most the training steps); throws
    /// std::invalid_argument naming the allowed range.
    DdimScheduler(const DdimConfig& config, int steps);

    /// The timesteps the UNet sees, first to last: (steps-1 .. 0) x (train steps / steps) +
    /// steps_offset (AudioLDM at 10 steps: 901, 801, ..., 1).
    const std::vector<int>& timesteps() const { return timesteps_; }

    /// One DDIM step (eta 0) in place: `sample` at timesteps()[index] becomes the sample at the
    /// next timestep, from the UNet's noise prediction `noise` (the same size).
    void step(std::vector<float>& sample, const std::vector<float>& noise, std::size_t index) const;

private:
    DdimConfig config_;
    int steps_;
    std::vector<double> alphasCumprod_;
    std::vector<int> timesteps_;
};

/// `count` standard Gaussian values from `seed`: SplitMix64 words, two 53-bit uniforms u1, u2
/// per pair, Box-Muller r = sqrt(-2 ln(1 - u1)), r cos(2 pi u2) then r sin(2 pi u2), in double,
/// rounded to float. The same seed gives the same values on every machine (no std::
/// distribution, whose output the standard leaves to each library).
std::vector<float> gaussianLatents(std::uint64_t seed, std::size_t count);

}  // namespace soundstar::models

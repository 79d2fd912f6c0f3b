#pragma once
// Seeded, reproducible random numbers (xoshiro128+ seeded by splitmix64). Every random draw in a
// render comes from one of these, owned by the render: same seed, same samples [any, rt-safe].
#include <cstdint>

namespace soundstar {

class Rng {
public:
    explicit Rng(std::uint64_t seed = 1) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        for (auto& s : s_) {
            seed += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            s = static_cast<std::uint32_t>(z ^ (z >> 31));
        }
        if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
    }

    std::uint32_t nextU32() {
        const std::uint32_t result = s_[0] + s_[3];
        const std::uint32_t t = s_[1] << 9;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = (s_[3] << 11) | (s_[3] >> 21);
        return result;
    }
    /// Uniform in [0, 1).
    float uniform() { return static_cast<float>(nextU32() >> 8) * (1.0f / 16777216.0f); }
    /// Uniform in [lo, hi).
    float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
    /// Uniform in [-1, 1).
    float bipolar() { return uniform() * 2.0f - 1.0f; }
    /// Uniform integer in [lo, hi] inclusive.
    int range(int lo, int hi) {
        return lo + static_cast<int>(nextU32() % static_cast<std::uint32_t>(hi - lo + 1));
    }
    bool chance(float p) { return uniform() < p; }

private:
    std::uint32_t s_[4]{};
};

}  // namespace soundstar

#pragma once
// ITU-R BS.1770-4 integrated loudness of a whole stereo buffer, in one vectorised pass: the
// K-weighting (a high shelf and the RLB high-pass, from their analogue prototypes through the
// bilinear transform at any rate), mean squares over 400 ms gating blocks overlapping by 75 %,
// an absolute gate at -70 LUFS and a relative gate 10 LU under the ungated loudness.
// The buffer is cut into four stretches filtered side by side in the lanes of one vector (two
// channels each); every stretch but the first starts its filters 0.25 s early, by which time
// the start-up transient has decayed below 1e-20 of the signal. Offline, whole buffers [any].
#include <cstddef>
#include <span>
#include <vector>

namespace soundstar::dsp {

class LoudnessMeter {
public:
    /// BS.1770's loudness of a mean square: -0.691 + 10 log10(power).
    static double lufsOf(double meanSquare);

    /// The K-weighted power of every complete gating block (sum over the two channels of the
    /// mean square over 400 ms), block i starting at i * 100 ms. Fewer than 400 ms: none.
    static std::vector<double> blockPowers(const float* left, const float* right, std::size_t frames, double sampleRate);

    /// Gated loudness (LUFS) of block powers; -inf when no block passes the absolute gate.
    /// `scale` multiplies every power first (a gain of g dB is 10^(g/10)).
    static double gatedLufs(std::span<const double> powers, double scale = 1.0);

    /// Integrated loudness (LUFS) of a stereo buffer; -inf below the gate or under 400 ms.
    static double integratedLufs(const float* left, const float* right, std::size_t frames, double sampleRate);
};

}  // namespace soundstar::dsp

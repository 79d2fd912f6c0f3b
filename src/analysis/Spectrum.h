#pragma once
// Spectra for analysis [control]: an in-place radix-2 FFT (Cooley-Tukey, decimation in time),
// analysis windows, the average magnitude spectrum of a mono signal over half-overlapping
// frames, and the spectral centroid. Never on the audio thread: it allocates.
#include <complex>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace soundstar::analysis {

enum class Window { Hann, Hamming, Blackman };

/// "hann", "hamming", "blackman"; nullopt otherwise.
std::optional<Window> parseWindow(const std::string& name);
const char* windowName(Window w);

/// Smallest and largest FFT size (powers of two) the analysis takes.
inline constexpr std::size_t kMinFftSize = 64, kMaxFftSize = 65536;

/// True for a power of two within [kMinFftSize, kMaxFftSize].
bool validFftSize(std::size_t n);

/// In-place FFT; a.size() must be a power of two (throws std::invalid_argument otherwise).
void fft(std::vector<std::complex<double>>& a);

/// The periodic window of n points.
std::vector<double> windowCoefficients(Window w, std::size_t n);

/// Mean magnitude spectrum (n/2 bins, bin k at k * rate / n) over frames of n samples, hop n/2,
/// each windowed. Fewer than n samples: one zero-padded frame.
std::vector<double> averageSpectrum(std::span<const float> x, std::size_t n = 8192, Window w = Window::Hann);

/// Spectral centroid (Hz) of the Hann average spectrum.
double spectralCentroid(std::span<const float> x, double sampleRate, std::size_t n = 8192);

}  // namespace soundstar::analysis

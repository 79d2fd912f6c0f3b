#pragma once
// EnCodec's decoder on ggml [control; one thread calls it at a time]: the residual vector
// quantizer's decode (codebook indices -> latents: the sum of one embedding per codebook) and
// the SEANet decoder (conv, a 2-layer LSTM with a skip, per stride: ELU, transposed conv,
// residual blocks; ELU, conv) to audio. It is what MusicGen uses to turn its codes into audio
// (facebook/encodec_32khz: 4 codebooks of 2048, hop 640). Weights come from a GGUF file written
// by tools/encodec_to_gguf.py; the architecture's sizes are in its metadata (encodec.*).
// ggml stays inside EncodecDecoder.cpp.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::models {

/// The decoder's sizes, as the Hugging Face EncodecConfig names them.
struct EncodecConfig {
    int sampleRateHz = 32000;
    int audioChannels = 1;
    int codebooks = 4;          // residual quantizer stages used (n_q)
    int codebookSize = 2048;
    int hiddenSize = 128;       // latent dimension
    int numFilters = 64;
    std::vector<int> upsamplingRatios = {8, 5, 4, 4};
    int kernelSize = 7;
    int lastKernelSize = 7;
    int residualKernelSize = 3;
    int dilationGrowthRate = 2;
    int numResidualLayers = 1;
    int numLstmLayers = 2;
    int compress = 2;
    bool useConvShortcut = false;
    int hopLength() const;  // audio samples per code frame: the product of the ratios
};

inline constexpr int kMaxEncodecFrames = 50 * 600;  // 10 minutes at 50 frames a second

class EncodecDecoder {
public:
    /// Loads and checks `gguf` (metadata ranges, every tensor's name, shape and type); throws
    /// std::invalid_argument naming the file and what is wrong. `threads` >= 1.
    EncodecDecoder(const std::filesystem::path& gguf, int threads);
    /// The threads its graphs run on from now on (1 to 256).
    void setThreads(int threads);
    ~EncodecDecoder();
    EncodecDecoder(const EncodecDecoder&) = delete;
    EncodecDecoder& operator=(const EncodecDecoder&) = delete;

    const EncodecConfig& config() const;
    std::uint64_t weightBytes() const;
    std::string weightTypes() const;  // e.g. "f32" or "q8_0+f32"
    /// The fewest frames decode() accepts (reflect padding needs more samples than it pads).
    int minFrames() const;

    /// `codes` holds codebooks x frames indices, codebook-major (codes[q * frames + t]), each
    /// in [0, codebookSize). Returns frames * hopLength() samples per channel, interleaved.
    /// Throws std::invalid_argument naming a bad count or index.
    std::vector<float> decode(const std::vector<std::int32_t>& codes, int frames);

private:
    friend class EncodecStream;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A decode in pieces [control; the thread that owns the decoder]: codes go in as a language
/// model completes frames, audio comes out as soon as it is final. The LSTM's state is carried
/// from piece to piece and every convolution sees enough frames either side (the samples of the
/// last few frames wait for the codes after them), so the pieces put together are the samples
/// decode() makes of all the codes (within float rounding). Holds back about
/// kernelSize / 2 + backHaloFrames() frames until finish().
class EncodecStream {
public:
    explicit EncodecStream(EncodecDecoder& decoder);
    ~EncodecStream();
    EncodecStream(const EncodecStream&) = delete;
    EncodecStream& operator=(const EncodecStream&) = delete;

    /// Adds `frames` frames (`codes`: codebooks x frames, codebook-major) and returns the samples
    /// that are now final (interleaved; maybe none). Throws std::invalid_argument naming a bad
    /// count or index, or more than kMaxEncodecFrames in all; std::logic_error after finish().
    std::vector<float> push(const std::vector<std::int32_t>& codes, int frames);
    /// Ends the stream and returns the rest. Throws std::invalid_argument when fewer than the
    /// decoder's minFrames() frames came in all.
    std::vector<float> finish();
    int framesIn() const;
    int framesOut() const;  // frames whose samples were returned
    /// Frames of context the convolutions after the LSTM need on each side.
    int backHaloFrames() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace soundstar::models

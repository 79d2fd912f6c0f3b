#include "models/ggml/MusicgenModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "models/ggml/EncodecDecoder.h"

namespace soundstar::models {
namespace {

class MusicgenModel final : public Generator {
public:
    MusicgenModel(const std::filesystem::path& dir, const ModelManifest& m) {
        std::string file = m.weightsFile;
        if (m.parameters.contains("encodec")) {
            const auto& v = m.parameters["encodec"];
            if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().find('/') != std::string::npos)
                throw std::invalid_argument(fmt::format("{}: parameters.encodec must be a plain file name in the model folder", (dir / "manifest.json").string()));
            file = v.get<std::string>();
        }
        const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
        decoder_ = std::make_unique<EncodecDecoder>(dir / file, threads);
        if (decoder_->config().sampleRateHz != static_cast<int>(m.sampleRateHz))
            throw std::invalid_argument(fmt::format("{}: sample_rate is {} but the EnCodec decoder in {} makes {} Hz", (dir / "manifest.json").string(),
                                                    m.sampleRateHz, file, decoder_->config().sampleRateHz));
    }
    double sampleRateHz() const override { return decoder_->config().sampleRateHz; }
    int channels() const override { return decoder_->config().audioChannels; }
    void generate(const GenerateParams&, const std::function<void(int, int)>&, const std::function<void(std::vector<float>&&)>&,
                  const std::atomic<bool>&) override {
        const auto& c = decoder_->config();
        throw std::runtime_error(fmt::format(
            "musicgen cannot generate in this build yet: its EnCodec decoder is loaded ({} codebooks of {}, {} Hz, {} weights), but the T5 text "
            "encoder and the MusicGen language model over the codebooks (with its delay pattern and top-k sampling) are not ported to ggml yet",
            c.codebooks, c.codebookSize, c.sampleRateHz, decoder_->weightTypes()));
    }

private:
    std::unique_ptr<EncodecDecoder> decoder_;
};

}  // namespace

std::unique_ptr<Generator> makeMusicgenModel(const std::filesystem::path& dir, const ModelManifest& m) {
    return std::make_unique<MusicgenModel>(dir, m);
}

}  // namespace soundstar::models

#include "models/ggml/AudioldmPipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/ModelWorker.h"
#include "models/ggml/AudioldmUnet.h"
#include "models/ggml/DdimScheduler.h"
#include "models/ggml/HifiganVocoder.h"
#include "models/ggml/VaeDecoder.h"

namespace soundstar::models {

struct AudioldmPipeline::Impl {
    std::unique_ptr<AudioldmUnet> unet;
    std::unique_ptr<VaeDecoder> vae;
    std::unique_ptr<HifiganVocoder> vocoder;
    int hop = 1;  // samples per mel frame
};

AudioldmPipeline::AudioldmPipeline(const std::filesystem::path& dir, int threads)
    : AudioldmPipeline(dir / "unet.gguf", dir / "vae.gguf", dir / "vocoder.gguf", threads) {}

AudioldmPipeline::AudioldmPipeline(const std::filesystem::path& unet, const std::filesystem::path& vae, const std::filesystem::path& vocoder, int threads)
    : impl_(std::make_unique<Impl>()) {
    impl_->unet = std::make_unique<AudioldmUnet>(unet, threads);
    impl_->vae = std::make_unique<VaeDecoder>(vae, threads);
    impl_->vocoder = std::make_unique<HifiganVocoder>(vocoder, threads);
    const auto& u = impl_->unet->config();
    const auto& v = impl_->vae->config();
    const auto& h = impl_->vocoder->config();
    if (u.inChannels != v.latentChannels || u.outChannels != v.latentChannels)
        throw std::invalid_argument(fmt::format("{}: the UNet takes {} and makes {} latent channels; {} decodes {}", unet.string(), u.inChannels, u.outChannels, vae.string(), v.latentChannels));
    if (h.melBins % v.upscale() != 0)
        throw std::invalid_argument(fmt::format("{}: the vocoder's {} mel bins are not a whole number of the VAE's {}-bin latent columns ({})", vocoder.string(), h.melBins, v.upscale(), vae.string()));
    for (int r : h.upsampleRates) impl_->hop *= r;
}

AudioldmPipeline::~AudioldmPipeline() = default;

void AudioldmPipeline::setThreads(int threads) {
    impl_->unet->setThreads(threads);
    impl_->vae->setThreads(threads);
    impl_->vocoder->setThreads(threads);
}

int AudioldmPipeline::sampleRateHz() const { return impl_->vocoder->config().sampleRateHz; }
int AudioldmPipeline::embeddingSize() const { return impl_->unet->config().classEmbedDim; }
AudioldmUnet& AudioldmPipeline::unet() { return *impl_->unet; }

AudioldmShape AudioldmPipeline::shapeFor(double seconds) const {
    const int rate = sampleRateHz(), scale = impl_->vae->config().upscale();
    const double least = static_cast<double>(impl_->hop) / rate;
    if (!std::isfinite(seconds) || seconds < least || seconds > kMaxAudioldmSeconds)
        throw std::invalid_argument(fmt::format("duration {} s; allowed {:.4g} (one mel frame) to {} s", seconds, least, kMaxAudioldmSeconds));
    AudioldmShape s;
    s.samples = static_cast<std::int64_t>(seconds * rate);
    const std::int64_t frames = s.samples / impl_->hop;
    s.rows = static_cast<int>((frames + scale - 1) / scale);
    s.columns = impl_->vocoder->config().melBins / scale;
    if (s.rows > kMaxUnetLatentRows || s.rows > kMaxVaeLatentRows)
        throw std::invalid_argument(fmt::format("duration {} s needs {} latent rows; these models take at most {}", seconds, s.rows, std::min(kMaxUnetLatentRows, kMaxVaeLatentRows)));
    return s;
}

std::vector<float> AudioldmPipeline::sample(std::vector<float> latents, int rows, int columns, const std::vector<float>& cond,
                                            const std::vector<float>& uncond, int steps, double guidance, const Progress& progress,
                                            const std::atomic<bool>* cancel) {
    if (!std::isfinite(guidance) || guidance < 0 || guidance > kMaxAudioldmGuidance)
        throw std::invalid_argument(fmt::format("guidance {}; allowed 0 to {}", guidance, kMaxAudioldmGuidance));
    const DdimScheduler scheduler(impl_->unet->ddim(), steps);
    const bool guided = guidance > 1.0;  // as diffusers: no unconditional pass at a scale of 1 or less
    const std::vector<std::vector<float>> embeddings = guided ? std::vector<std::vector<float>>{uncond, cond} : std::vector<std::vector<float>>{cond};
    const auto& ts = scheduler.timesteps();
    struct CancelScope {  // the UNet stops mid-pass on `cancel`; cleared however sampling ends
        AudioldmUnet& unet;
        ~CancelScope() { unet.setCancelFlag(nullptr); }
    } scope{*impl_->unet};
    impl_->unet->setCancelFlag(cancel);
    for (std::size_t i = 0; i < ts.size(); ++i) {
        if (cancel && cancel->load()) throw Cancelled();
        auto noise = impl_->unet->predict(latents, rows, columns, ts[i], embeddings);
        if (guided) {
            const std::size_t n = latents.size();
            for (std::size_t k = 0; k < n; ++k) noise[k] = noise[k] + static_cast<float>(guidance) * (noise[n + k] - noise[k]);
            noise.resize(n);
        }
        scheduler.step(latents, noise, i);
        if (progress) progress(static_cast<int>(i) + 1, static_cast<int>(ts.size()));
    }
    return latents;
}

std::vector<float> AudioldmPipeline::generate(const std::vector<float>& cond, const std::vector<float>& uncond, const AudioldmRequest& request,
                                              const Progress& progress, const std::atomic<bool>* cancel) {
    const auto shape = shapeFor(request.seconds);
    const auto channels = static_cast<std::size_t>(impl_->unet->config().inChannels);
    auto latents = gaussianLatents(request.seed, channels * shape.rows * shape.columns);
    latents = sample(std::move(latents), shape.rows, shape.columns, cond, uncond, request.steps, request.guidance, progress, cancel);
    if (cancel && cancel->load()) throw Cancelled();
    const auto mel = impl_->vae->decode(latents, shape.rows, shape.columns);
    if (cancel && cancel->load()) throw Cancelled();
    auto audio = impl_->vocoder->vocode(mel, shape.rows * impl_->vae->config().upscale());
    if (static_cast<std::int64_t>(audio.size()) > shape.samples) audio.resize(static_cast<std::size_t>(shape.samples));
    return audio;
}

}  // namespace soundstar::models

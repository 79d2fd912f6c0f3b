#include "models/ggml/AudioldmModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "models/ggml/AudioldmPipeline.h"
#include "models/ggml/ClapTextEncoder.h"
#include "models/ggml/DdimScheduler.h"
#include "models/ggml/GgmlCpu.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::filesystem::path& manifest, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", manifest.string(), what), 1900));
}

std::filesystem::path partFile(const std::filesystem::path& dir, const ModelManifest& m, const char* key, const std::string& fallback) {
    if (!m.parameters.contains(key)) return dir / fallback;
    const auto& v = m.parameters[key];
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().find('/') != std::string::npos || v.get<std::string>()[0] == '.')
        bad(dir / "manifest.json", fmt::format("parameters.{} must be a plain file name in the model folder", key));
    return dir / v.get<std::string>();
}

template <typename T>
T parameter(const std::filesystem::path& dir, const ModelManifest& m, const char* key, T fallback, double lo, double hi) {
    if (!m.parameters.contains(key)) return fallback;
    const auto& v = m.parameters[key];
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi || (std::is_integral_v<T> && !v.is_number_integer()))
        bad(dir / "manifest.json", fmt::format("parameters.{} is {}; allowed {:g} to {:g}", key, music::clipText(music::quoteJson(v), 80), lo, hi));
    return v.get<T>();
}

class AudioldmModel final : public Generator {
public:
    AudioldmModel(const std::filesystem::path& dir, const ModelManifest& m) {
        const auto manifest = dir / "manifest.json";
        static const std::set<std::string> kKnown = {"vae", "vocoder", "clap", "threads", "default_steps", "default_guidance"};
        for (const auto& [key, _] : m.parameters.items())
            if (!kKnown.count(key))
                bad(manifest, fmt::format("unknown parameters.{}; an audioldm folder takes vae, vocoder, clap, threads, default_steps, default_guidance",
                                          music::clipText(key, 60)));
        const auto unet = dir / m.weightsFile, vae = partFile(dir, m, "vae", "vae.gguf"), vocoder = partFile(dir, m, "vocoder", "vocoder.gguf"),
                   clap = partFile(dir, m, "clap", "clap.gguf");
        const int threads = threads_ = parameter<int>(dir, m, "threads", defaultModelThreads({unet, vae, vocoder, clap}), 1, 64);
        steps_ = parameter<int>(dir, m, "default_steps", 10, 1, kMaxDdimSteps);
        guidance_ = parameter<double>(dir, m, "default_guidance", 2.5, 0, kMaxAudioldmGuidance);
        pipeline_ = std::make_unique<AudioldmPipeline>(unet, vae, vocoder, threads);
        clap_ = std::make_unique<ClapTextEncoder>(clap, threads);
        if (pipeline_->sampleRateHz() != static_cast<int>(m.sampleRateHz))
            bad(manifest, fmt::format("sample_rate is {} but the vocoder makes {} Hz", m.sampleRateHz, pipeline_->sampleRateHz()));
        if (clap_->embeddingSize() != pipeline_->embeddingSize())
            bad(manifest, fmt::format("CLAP gives embeddings of {} but the UNet reads {}", clap_->embeddingSize(), pipeline_->embeddingSize()));
    }
    double sampleRateHz() const override { return pipeline_->sampleRateHz(); }
    int channels() const override { return 1; }
    void setThreads(std::optional<int> threads) override {
        pipeline_->setThreads(threads.value_or(threads_));
        clap_->setThreads(threads.value_or(threads_));
    }

    void generate(const GenerateParams& p, const std::function<void(int, int)>& progress, const std::function<void(int, std::vector<float>&&)>& chunk,
                  const std::atomic<bool>& cancel) override {
        if (p.topK || p.temperature) throw std::invalid_argument("top-k and temperature do not apply to audioldm: it samples by DDIM (use --steps, --guidance, --seed)");
        AudioldmRequest r;
        r.seconds = p.seconds;
        r.steps = p.steps.value_or(steps_);
        r.guidance = p.guidance.value_or(guidance_);
        r.seed = p.seed;
        pipeline_->shapeFor(r.seconds);  // a bad duration is refused before the text encoder runs
        if (r.steps < 1 || r.steps > kMaxDdimSteps) throw std::invalid_argument(fmt::format("{} diffusion steps; allowed 1 to {}", r.steps, kMaxDdimSteps));
        const auto cond = clap_->embed(p.prompt);
        const auto uncond = clap_->embed("");
        if (cancel) throw Cancelled();
        // Progress: the DDIM steps, then one for the VAE and vocoder.
        const int total = r.steps + 1;
        auto audio = pipeline_->generate(cond, uncond, r, [&](int step, int) { if (progress) progress(step, total); }, &cancel);
        if (progress) progress(total, total);
        const std::size_t block = static_cast<std::size_t>(pipeline_->sampleRateHz());
        for (std::size_t at = 0; at < audio.size(); at += block)
            chunk(0, std::vector<float>(audio.begin() + static_cast<std::ptrdiff_t>(at), audio.begin() + static_cast<std::ptrdiff_t>(std::min(audio.size(), at + block))));
    }

private:
    std::unique_ptr<AudioldmPipeline> pipeline_;
    std::unique_ptr<ClapTextEncoder> clap_;
    int steps_ = 10;
    double guidance_ = 2.5;
    int threads_ = 1;  // the folder's
};

}  // namespace

std::unique_ptr<Generator> makeAudioldmModel(const std::filesystem::path& dir, const ModelManifest& m) { return std::make_unique<AudioldmModel>(dir, m); }

}  // namespace soundstar::models

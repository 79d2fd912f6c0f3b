#include "models/ggml/MusicgenModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>

#include "models/ggml/EncodecDecoder.h"
#include "models/ggml/MusicgenLm.h"
#include "models/ggml/T5Encoder.h"
#include "models/ggml/TextTokenizer.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::filesystem::path& manifest, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", manifest.string(), what), 1900));
}

// A part's file: parameters.<key> (a plain file name in the folder) or `fallback`.
std::filesystem::path partFile(const std::filesystem::path& dir, const ModelManifest& m, const char* key, const std::string& fallback) {
    if (!m.parameters.contains(key)) return dir / fallback;
    const auto& v = m.parameters[key];
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().find('/') != std::string::npos)
        bad(dir / "manifest.json", fmt::format("parameters.{} must be a plain file name in the model folder", key));
    return dir / v.get<std::string>();
}

template <typename T>
T parameter(const std::filesystem::path& dir, const ModelManifest& m, const char* key, T fallback, double lo, double hi) {
    if (!m.parameters.contains(key)) return fallback;
    const auto& v = m.parameters[key];
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi || (std::is_integral_v<T> && !v.is_number_integer()))
        bad(dir / "manifest.json", fmt::format("parameters.{} is {}; allowed {:g} to {:g}", key, music::quoteJson(v), lo, hi));
    return v.get<T>();
}

class MusicgenModel final : public Generator {
public:
    MusicgenModel(const std::filesystem::path& dir, const ModelManifest& m) {
        const auto manifest = dir / "manifest.json";
        static const std::set<std::string> kKnown = {"encodec", "lm", "t5", "tokenizer", "top_k", "temperature", "default_guidance"};
        for (const auto& [key, _] : m.parameters.items())
            if (!kKnown.count(key))
                bad(manifest, fmt::format("unknown parameters.{}; a musicgen folder takes encodec, lm, t5, tokenizer, top_k, temperature, default_guidance",
                                          music::clipText(key, 60)));
        const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
        decoder_ = std::make_unique<EncodecDecoder>(partFile(dir, m, "encodec", m.weightsFile), threads);
        lm_ = std::make_unique<MusicgenLm>(partFile(dir, m, "lm", "lm.gguf"), threads);
        t5_ = std::make_unique<T5Encoder>(partFile(dir, m, "t5", "t5.gguf"), threads);
        tokenizer_ = std::make_unique<TextTokenizer>(partFile(dir, m, "tokenizer", "spiece.model"));
        const auto& e = decoder_->config();
        const auto& l = lm_->config();
        if (e.sampleRateHz != static_cast<int>(m.sampleRateHz))
            bad(manifest, fmt::format("sample_rate is {} but the EnCodec decoder makes {} Hz", m.sampleRateHz, e.sampleRateHz));
        if (l.codebooks != e.codebooks || l.vocabSize != e.codebookSize)
            bad(manifest, fmt::format("the LM predicts {} codebooks of {} but the EnCodec decoder reads {} of {}", l.codebooks, l.vocabSize, e.codebooks, e.codebookSize));
        if (t5_->config().dModel != l.textHiddenSize)
            bad(manifest, fmt::format("T5 gives states of {} but the LM reads {}", t5_->config().dModel, l.textHiddenSize));
        if (tokenizer_->vocabSize() > t5_->config().vocabSize)
            bad(manifest, fmt::format("the tokenizer has {} pieces but T5 embeds only {}", tokenizer_->vocabSize(), t5_->config().vocabSize));
        defaults_.topK = std::min(parameter<int>(dir, m, "top_k", 250, 1, 65536), l.vocabSize);
        defaults_.temperature = parameter<double>(dir, m, "temperature", 1.0, 0.01, 10);
        defaults_.guidanceScale = parameter<double>(dir, m, "default_guidance", 3.0, 0, 30);
    }
    double sampleRateHz() const override { return decoder_->config().sampleRateHz; }
    int channels() const override { return decoder_->config().audioChannels; }

    void generate(const GenerateParams& p, const std::function<void(int, int)>& progress, const std::function<void(std::vector<float>&&)>& chunk,
                  const std::atomic<bool>& cancel) override {
        const auto& e = decoder_->config();
        if (p.steps) throw std::invalid_argument(fmt::format("steps do not apply to musicgen: it makes {} code frames a second of audio (leave --steps out)", frameRate()));
        SamplingSettings s = defaults_;
        s.seed = p.seed;
        if (p.topK) s.topK = *p.topK;
        if (p.temperature) s.temperature = *p.temperature;
        if (p.guidance) s.guidanceScale = *p.guidance;
        lm_->validate(s);
        const auto samples = static_cast<std::size_t>(std::llround(p.seconds * e.sampleRateHz));
        const int frames = std::max(decoder_->minFrames(), static_cast<int>((samples + e.hopLength() - 1) / e.hopLength()));
        if (frames > lm_->maxFrames())
            throw std::invalid_argument(fmt::format("{:g} s needs {} code frames; this model makes at most {} ({:.1f} s) in one window (longer audio by "
                                                    "windowed continuation is not built yet)",
                                                    p.seconds, frames, lm_->maxFrames(), lm_->maxFrames() / frameRate()));
        const auto ids = tokenizer_->encode(p.prompt, kMaxT5Tokens);
        const auto states = t5_->encode(ids);
        // Progress in at most 1000 steps (the protocol's bound): the LM's steps, then the decode.
        const int lmSteps = frames + lm_->config().codebooks - 1, total = lmSteps + 1, shown = std::min(total, 1000);
        int last = 0;
        auto report = [&](int done) {
            const int step = static_cast<int>(static_cast<long long>(done) * shown / total);
            if (step > last && progress) progress(last = step, shown);
        };
        const auto codes = lm_->generate(states, static_cast<int>(ids.size()), frames, s, [&](int step, int) { report(step); }, &cancel);
        if (cancel) throw Cancelled();
        auto audio = decoder_->decode(codes, frames);
        audio.resize(std::min(audio.size(), samples * static_cast<std::size_t>(e.audioChannels)));
        report(total);
        const std::size_t block = static_cast<std::size_t>(e.sampleRateHz) * static_cast<std::size_t>(e.audioChannels);  // one second a chunk
        for (std::size_t at = 0; at < audio.size(); at += block) {
            if (cancel) throw Cancelled();
            chunk(std::vector<float>(audio.begin() + static_cast<std::ptrdiff_t>(at), audio.begin() + static_cast<std::ptrdiff_t>(std::min(audio.size(), at + block))));
        }
    }

private:
    double frameRate() const { return static_cast<double>(decoder_->config().sampleRateHz) / decoder_->config().hopLength(); }
    std::unique_ptr<EncodecDecoder> decoder_;
    std::unique_ptr<MusicgenLm> lm_;
    std::unique_ptr<T5Encoder> t5_;
    std::unique_ptr<TextTokenizer> tokenizer_;
    SamplingSettings defaults_;
};

}  // namespace

std::unique_ptr<Generator> makeMusicgenModel(const std::filesystem::path& dir, const ModelManifest& m) {
    return std::make_unique<MusicgenModel>(dir, m);
}

}  // namespace soundstar::models

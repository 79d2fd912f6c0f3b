#include "models/ggml/MusicgenModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "models/ModelWorker.h"
#include "models/ggml/EncodecDecoder.h"
#include "models/ggml/GgmlCpu.h"
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
        static const std::set<std::string> kKnown = {"encodec", "lm", "t5", "tokenizer", "top_k", "temperature", "default_guidance", "window_seconds", "extend_stride",
                                                     "threads", "kv_cache"};
        for (const auto& [key, _] : m.parameters.items())
            if (!kKnown.count(key))
                bad(manifest, fmt::format("unknown parameters.{}; a musicgen folder takes encodec, lm, t5, tokenizer, top_k, temperature, default_guidance, "
                                          "window_seconds, extend_stride, threads, kv_cache",
                                          music::clipText(key, 60)));
        const auto encodec = partFile(dir, m, "encodec", m.weightsFile), lm = partFile(dir, m, "lm", "lm.gguf"), t5 = partFile(dir, m, "t5", "t5.gguf");
        const int threads = threads_ = parameter<int>(dir, m, "threads", defaultModelThreads({encodec, lm, t5}), 1, 64);
        decoder_ = std::make_unique<EncodecDecoder>(encodec, threads);
        lm_ = std::make_unique<MusicgenLm>(lm, threads);
        t5_ = std::make_unique<T5Encoder>(t5, threads);
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
        if (m.parameters.contains("kv_cache")) {
            const auto& v = m.parameters["kv_cache"];
            if (!v.is_string() || (v.get<std::string>() != "f32" && v.get<std::string>() != "f16"))
                bad(manifest, fmt::format("parameters.kv_cache is {}; allowed \"f32\" or \"f16\"", music::clipText(music::quoteJson(v), 80)));
            lm_->setHalfPrecisionCache(v.get<std::string>() == "f16");
        }
        defaults_.topK = std::min(parameter<int>(dir, m, "top_k", 250, 1, 65536), l.vocabSize);
        defaults_.temperature = parameter<double>(dir, m, "temperature", 1.0, 0.01, 10);
        defaults_.guidanceScale = parameter<double>(dir, m, "default_guidance", 3.0, 0, 30);
        // Windows as audiocraft makes them: 30 s (or the LM's positions, if fewer), each after the
        // first primed with the last window_seconds - extend_stride of codes (default 18 s of 30).
        const double window = parameter<double>(dir, m, "window_seconds", 30.0, 0.01, 600);
        windowFrames_ = std::min(lm_->maxFrames(), std::max(decoder_->minFrames() + 1, static_cast<int>(std::lround(window * frameRate()))));
        strideFrames_ = static_cast<int>(std::lround(windowFrames_ * 0.6));
        if (m.parameters.contains("extend_stride")) {
            const double stride = parameter<double>(dir, m, "extend_stride", 18.0, 0.001, 600);
            strideFrames_ = static_cast<int>(std::lround(stride * frameRate()));
            if (strideFrames_ < 1 || strideFrames_ >= windowFrames_)
                bad(manifest, fmt::format("parameters.extend_stride is {:g} s; it must be shorter than the window ({} frames, {:.3g} s) and at least one frame "
                                          "({:.3g} s)",
                                          stride, windowFrames_, windowFrames_ / frameRate(), 1 / frameRate()));
        }
        strideFrames_ = std::clamp(strideFrames_, 1, windowFrames_ - 1);
    }
    double sampleRateHz() const override { return decoder_->config().sampleRateHz; }
    int channels() const override { return decoder_->config().audioChannels; }

    bool batchesTakes() const override { return true; }
    void setThreads(std::optional<int> threads) override {
        const int n = threads.value_or(threads_);
        decoder_->setThreads(n);
        lm_->setThreads(n);
        t5_->setThreads(n);
    }

    // Every take runs through the LM side by side (MusicgenLm::generateTakes); each has its own
    // EnCodec stream, so its audio streams as its frames are drawn.
    void generate(const GenerateParams& p, const std::function<void(int, int)>& progress, const std::function<void(int, std::vector<float>&&)>& chunk,
                  const std::atomic<bool>& cancel) override {
        static_assert(kMaxBatchTakes >= kMaxTakes);
        const auto& e = decoder_->config();
        if (p.steps) throw std::invalid_argument(fmt::format("steps do not apply to musicgen: it makes {} code frames a second of audio (leave --steps out)", frameRate()));
        if (p.takes < 1 || p.takes > kMaxTakes) throw std::invalid_argument(fmt::format("{} takes; allowed 1 to {}", p.takes, kMaxTakes));
        SamplingSettings s = defaults_;
        s.seed = p.seed;
        if (p.topK) s.topK = *p.topK;
        if (p.temperature) s.temperature = *p.temperature;
        if (p.guidance) s.guidanceScale = *p.guidance;
        lm_->validate(s);
        const auto samples = static_cast<std::size_t>(std::llround(p.seconds * e.sampleRateHz));
        const int frames = std::max(decoder_->minFrames(), static_cast<int>((samples + e.hopLength() - 1) / e.hopLength()));
        if (frames > kMaxEncodecFrames)
            throw std::invalid_argument(fmt::format("{:g} s needs {} code frames; at most {} ({:.1f} s) are made in one request", p.seconds, frames,
                                                    kMaxEncodecFrames, kMaxEncodecFrames / frameRate()));
        const auto ids = tokenizer_->encode(p.prompt, kMaxT5Tokens);
        const auto states = t5_->encode(ids);
        const auto windows = plan(frames);
        const int K = lm_->config().codebooks;
        const auto T = static_cast<std::size_t>(p.takes);
        int lmSteps = 0;
        for (const auto& w : windows) lmSteps += w.prompt + w.fresh + K - 1;
        // Progress in at most 1000 steps (the protocol's bound): the LM's steps, then the rest of the decode.
        const int total = lmSteps + 1, shown = std::min(total, 1000);
        int last = 0, stepsBefore = 0;
        auto report = [&](int done) {
            const int step = static_cast<int>(static_cast<long long>(done) * shown / total);
            if (step > last && progress) progress(last = step, shown);
        };
        // Audio streams while the LM runs: every second of a take's finished frames goes to its
        // decoder, and what it gives back goes out as chunks (at most a second each, cut at `samples`).
        struct Take {
            explicit Take(EncodecDecoder& d) : stream(d) {}
            EncodecStream stream;
            std::vector<std::vector<std::int32_t>> all;  // per codebook
            std::vector<std::int32_t> pending;           // frame-major until it is pushed
            std::size_t sent = 0;
        };
        std::vector<std::unique_ptr<Take>> takes;
        for (std::size_t t = 0; t < T; ++t) {
            takes.push_back(std::make_unique<Take>(*decoder_));
            takes.back()->all.resize(static_cast<std::size_t>(K));
        }
        const int chunkFrames = std::max(1, static_cast<int>(std::lround(frameRate())));
        const std::size_t channels = static_cast<std::size_t>(e.audioChannels), block = static_cast<std::size_t>(e.sampleRateHz) * channels;
        auto send = [&](std::size_t t, const std::vector<float>& audio) {
            auto& sent = takes[t]->sent;
            const std::size_t n = std::min(audio.size(), samples * channels - std::min(sent, samples * channels));
            for (std::size_t at = 0; at < n; at += block)
                chunk(static_cast<int>(t),
                      std::vector<float>(audio.begin() + static_cast<std::ptrdiff_t>(at), audio.begin() + static_cast<std::ptrdiff_t>(std::min(n, at + block))));
            sent += n;
        };
        auto flush = [&](std::size_t t) {
            auto& pending = takes[t]->pending;
            const int n = static_cast<int>(pending.size()) / K;
            std::vector<std::int32_t> codes(pending.size());
            for (int f = 0; f < n; ++f)
                for (int k = 0; k < K; ++k) codes[static_cast<std::size_t>(k) * n + f] = pending[static_cast<std::size_t>(f) * K + k];
            pending.clear();
            send(t, takes[t]->stream.push(codes, n));
        };
        TakeHooks hooks;
        hooks.onFrame = [&](int take, int, const std::vector<std::int32_t>& column) {
            const auto t = static_cast<std::size_t>(take);
            auto& tk = *takes[t];
            for (int k = 0; k < K; ++k) tk.all[static_cast<std::size_t>(k)].push_back(column[static_cast<std::size_t>(k)]);
            tk.pending.insert(tk.pending.end(), column.begin(), column.end());
            if (static_cast<int>(tk.pending.size()) >= chunkFrames * K) flush(t);
        };
        for (std::size_t i = 0; i < windows.size(); ++i) {
            const auto& w = windows[i];
            hooks.promptFrames = w.prompt;
            hooks.prompts.assign(w.prompt > 0 ? T : 0, {});
            for (std::size_t t = 0; t < hooks.prompts.size(); ++t)
                for (const auto& book : takes[t]->all) hooks.prompts[t].insert(hooks.prompts[t].end(), book.end() - w.prompt, book.end());
            // Each window its own numbers; the first as a one-window request. Take t's are those
            // of seed + t (generateTakes adds t), so take t is the one-take audio of seed + t.
            s.seed = p.seed + i * 0x9E3779B97F4A7C15ULL;
            lm_->generateTakes(states, static_cast<int>(ids.size()), w.prompt + w.fresh, s, p.takes, [&](int step, int) { report(stepsBefore + step); }, &cancel,
                               hooks);
            stepsBefore += w.prompt + w.fresh + K - 1;
        }
        if (cancel) throw Cancelled();
        for (std::size_t t = 0; t < T; ++t) {
            flush(t);
            send(t, takes[t]->stream.finish());
        }
        report(total);
    }

private:
    struct Window {
        int prompt = 0;  // frames of the previous window it starts from
        int fresh = 0;   // frames it adds
    };
    // The first window makes up to windowFrames_; each next one adds up to strideFrames_ after the
    // last windowFrames_ - strideFrames_ frames.
    std::vector<Window> plan(int frames) const {
        std::vector<Window> out{{0, std::min(frames, windowFrames_)}};
        for (int done = out[0].fresh; done < frames; done += out.back().fresh) out.push_back({windowFrames_ - strideFrames_, std::min(strideFrames_, frames - done)});
        return out;
    }
    double frameRate() const { return static_cast<double>(decoder_->config().sampleRateHz) / decoder_->config().hopLength(); }
    std::unique_ptr<EncodecDecoder> decoder_;
    std::unique_ptr<MusicgenLm> lm_;
    std::unique_ptr<T5Encoder> t5_;
    std::unique_ptr<TextTokenizer> tokenizer_;
    SamplingSettings defaults_;
    int windowFrames_ = 1, strideFrames_ = 1;
    int threads_ = 1;  // the folder's
};

}  // namespace

std::unique_ptr<Generator> makeMusicgenModel(const std::filesystem::path& dir, const ModelManifest& m) {
    return std::make_unique<MusicgenModel>(dir, m);
}

}  // namespace soundstar::models

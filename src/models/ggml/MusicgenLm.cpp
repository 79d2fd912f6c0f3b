#include "models/ggml/MusicgenLm.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

#include "models/ModelWorker.h"
#include "models/ggml/GgufWeights.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) {
    return w.requireInt("musicgen." + key, lo, hi, "tools/musicgen_to_gguf.py");
}

MusicgenLmConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("musicgen");
    MusicgenLmConfig c;
    c.hiddenSize = metaInt(w, "hidden_size", 2, 8192);
    c.layers = metaInt(w, "num_hidden_layers", 1, 96);
    c.heads = metaInt(w, "num_attention_heads", 1, 128);
    c.ffnSize = metaInt(w, "ffn_dim", 1, 65536);
    c.codebooks = metaInt(w, "num_codebooks", 1, 16);
    c.vocabSize = metaInt(w, "vocab_size", 2, 65536);
    c.maxPositions = metaInt(w, "max_position_embeddings", c.codebooks + 1, 65536);
    c.textHiddenSize = metaInt(w, "text_hidden_size", 1, 8192);
    if (c.hiddenSize % c.heads != 0)
        bad(w.where(), fmt::format("hidden_size {} is not a multiple of num_attention_heads {}", c.hiddenSize, c.heads));
    if (c.hiddenSize % 2 != 0) bad(w.where(), fmt::format("hidden_size {} is odd; sinusoidal positions need an even width", c.hiddenSize));
    return c;
}

std::string layer(int i) { return fmt::format("layers.{}.", i); }

std::vector<TensorSpec> specFor(const MusicgenLmConfig& c) {
    std::vector<TensorSpec> s;
    const std::int64_t d = c.hiddenSize;
    for (int k = 0; k < c.codebooks; ++k) s.push_back({fmt::format("embed_tokens.{}.weight", k), {c.vocabSize + 1, d}, false});
    for (int i = 0; i < c.layers; ++i) {
        for (const char* att : {"self_attn", "encoder_attn"})
            for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) s.push_back({fmt::format("{}{}.{}.weight", layer(i), att, proj), {d, d}, true});
        for (const char* norm : {"self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm"}) {
            s.push_back({fmt::format("{}{}.weight", layer(i), norm), {d}, false});
            s.push_back({fmt::format("{}{}.bias", layer(i), norm), {d}, false});
        }
        s.push_back({layer(i) + "fc1.weight", {c.ffnSize, d}, true});
        s.push_back({layer(i) + "fc2.weight", {d, c.ffnSize}, true});
    }
    s.push_back({"layer_norm.weight", {d}, false});
    s.push_back({"layer_norm.bias", {d}, false});
    for (int k = 0; k < c.codebooks; ++k) s.push_back({fmt::format("lm_heads.{}.weight", k), {c.vocabSize, d}, true});
    if (c.textHiddenSize != c.hiddenSize) {
        s.push_back({"enc_to_dec_proj.weight", {d, c.textHiddenSize}, true});
        s.push_back({"enc_to_dec_proj.bias", {d}, false});
    }
    return s;
}

// MusicGen's sinusoidal position `pos`: [cos(pos * f_i)..., sin(pos * f_i)...].
std::vector<float> sinusoid(int pos, int dim) {
    const int half = dim / 2;
    const double step = std::log(10000.0) / std::max(1, half - 1);
    std::vector<float> out(static_cast<std::size_t>(dim));
    for (int i = 0; i < half; ++i) {
        const double a = pos * std::exp(-step * i);
        out[static_cast<std::size_t>(i)] = static_cast<float>(std::cos(a));
        out[static_cast<std::size_t>(half + i)] = static_cast<float>(std::sin(a));
    }
    return out;
}

struct ContextDeleter {
    void operator()(ggml_context* c) const { ggml_free(c); }
};
using Context = std::unique_ptr<ggml_context, ContextDeleter>;

Context graphContext(std::size_t nodes) {
    ggml_init_params p{ggml_tensor_overhead() * nodes + ggml_graph_overhead_custom(nodes, false), nullptr, true};
    Context ctx(ggml_init(p));
    if (!ctx) throw std::runtime_error("ggml: no memory for the language model's graph");
    return ctx;
}

}  // namespace

struct MusicgenLm::Impl {
    std::unique_ptr<GgufWeights> weights;
    MusicgenLmConfig config;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    // The caches of one generate(): per layer self K/V [hidden, positions, batch], cross K/V [hidden, text, batch].
    Context cacheCtx;
    ggml_backend_buffer_t cacheBuffer = nullptr;
    // K is [hidden, positions, batch]; V is stored transposed, [positions, hidden, batch], so
    // attention reads its rows in place (no copy of the whole cache a step). f32 or f16.
    std::vector<ggml_tensor*> selfK, selfV, crossK, crossV;
    ggml_type cacheType = GGML_TYPE_F32;
    int batch = 1;  // rows: the takes' conditional rows, then (with guidance) their unconditional rows
    int takes = 1;

    ~Impl() {
        freeCache();
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }
    void freeCache() {
        if (cacheBuffer) ggml_backend_buffer_free(cacheBuffer);
        cacheBuffer = nullptr;
        cacheCtx.reset();
        selfK.clear(), selfV.clear(), crossK.clear(), crossV.clear();
    }

    void allocCache(int positions, int textTokens) {
        freeCache();
        cacheCtx = graphContext(static_cast<std::size_t>(config.layers) * 4 + 8);
        const std::int64_t d = config.hiddenSize;
        for (int i = 0; i < config.layers; ++i) {
            selfK.push_back(ggml_new_tensor_3d(cacheCtx.get(), cacheType, d, positions, batch));
            selfV.push_back(ggml_new_tensor_3d(cacheCtx.get(), cacheType, positions, d, batch));
            crossK.push_back(ggml_new_tensor_3d(cacheCtx.get(), cacheType, d, textTokens, batch));
            crossV.push_back(ggml_new_tensor_3d(cacheCtx.get(), cacheType, textTokens, d, batch));
        }
        cacheBuffer = ggml_backend_alloc_ctx_tensors(cacheCtx.get(), backend);
        if (!cacheBuffer) throw std::runtime_error("ggml: not enough memory for the language model's KV cache");
        ggml_backend_buffer_clear(cacheBuffer, 0);  // the unconditional row's text states stay zero
    }

    void compute(ggml_cgraph* graph) {
        if (!ggml_gallocr_alloc_graph(allocator, graph)) throw std::runtime_error("ggml: not enough memory for the language model's step");
        if (ggml_backend_graph_compute(backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the language model's graph failed");
    }

    // Projects the text states and fills the cross-attention K/V of the conditional row.
    void encodeText(const std::vector<float>& text, int textTokens) {
        const std::size_t nodes = 64 + static_cast<std::size_t>(config.layers) * (8 + 6 * static_cast<std::size_t>(takes));
        Context ctx = graphContext(nodes);
        ggml_tensor* in = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, config.textHiddenSize, textTokens);
        ggml_set_input(in);
        ggml_tensor* states = in;
        if (config.textHiddenSize != config.hiddenSize)
            states = ggml_add(ctx.get(), ggml_mul_mat(ctx.get(), w("enc_to_dec_proj.weight"), in), w("enc_to_dec_proj.bias"));
        ggml_cgraph* graph = ggml_new_graph_custom(ctx.get(), nodes, false);
        for (int i = 0; i < config.layers; ++i) {
            ggml_tensor* k = ggml_mul_mat(ctx.get(), w(fmt::format("{}encoder_attn.k_proj.weight", layer(i))), states);  // [hidden, text]
            ggml_tensor* v = ggml_transpose(ctx.get(), ggml_mul_mat(ctx.get(), w(fmt::format("{}encoder_attn.v_proj.weight", layer(i))), states));
            for (int row = 0; row < takes; ++row) {  // every take's conditional row reads the same text
                ggml_build_forward_expand(graph, ggml_cpy(ctx.get(), k, ggml_view_2d(ctx.get(), crossK[i], config.hiddenSize, textTokens, crossK[i]->nb[1],
                                                                                     static_cast<std::size_t>(row) * crossK[i]->nb[2])));
                ggml_build_forward_expand(graph, ggml_cpy(ctx.get(), v, ggml_view_2d(ctx.get(), crossV[i], textTokens, config.hiddenSize, crossV[i]->nb[1],
                                                                                     static_cast<std::size_t>(row) * crossV[i]->nb[2])));
            }
        }
        if (!ggml_gallocr_alloc_graph(allocator, graph)) throw std::runtime_error("ggml: not enough memory for the text projection");
        ggml_backend_tensor_set(in, text.data(), 0, text.size() * sizeof(float));
        if (ggml_backend_graph_compute(backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the text projection failed");
    }

    ggml_tensor* layerNorm(ggml_context* ctx, ggml_tensor* x, const std::string& name) const {
        return ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, x, 1e-5f), w(name + ".weight")), w(name + ".bias"));
    }

    // Attention of one new position (x: [hidden, batch]) over `length` cached keys and values.
    ggml_tensor* attend(ggml_context* ctx, ggml_tensor* q, ggml_tensor* kCache, ggml_tensor* vCache, std::int64_t length) const {
        const std::int64_t d = config.hiddenSize, heads = config.heads, hd = d / heads;
        const std::size_t e = ggml_element_size(kCache);
        ggml_tensor* k = ggml_permute(ctx, ggml_view_4d(ctx, kCache, hd, heads, length, batch, hd * e, kCache->nb[1], kCache->nb[2], 0), 0, 2, 1,
                                      3);  // [hd, length, heads, batch]
        ggml_tensor* v = ggml_view_4d(ctx, vCache, length, hd, heads, batch, vCache->nb[1], hd * vCache->nb[1], vCache->nb[2], 0);  // [length, hd, heads, batch]
        ggml_tensor* qh = ggml_permute(ctx, ggml_reshape_4d(ctx, q, hd, heads, 1, batch), 0, 2, 1, 3);  // [hd, 1, heads, batch]
        ggml_tensor* scores = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, qh), nullptr, 1.0f / std::sqrt(static_cast<float>(hd)), 0.0f);
        ggml_tensor* out = ggml_mul_mat(ctx, v, scores);  // [hd, 1, heads, batch]
        return ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, out, 0, 2, 1, 3)), d, batch);
    }

    // One decoder step at position `pos`: returns the heads' logits, each [vocab, batch].
    std::vector<ggml_tensor*> stepGraph(ggml_context* ctx, ggml_cgraph* graph, std::vector<ggml_tensor*>& ids, ggml_tensor*& position, int pos,
                                        int textTokens) const {
        const std::int64_t d = config.hiddenSize;
        ggml_tensor* x = nullptr;
        for (int k = 0; k < config.codebooks; ++k) {
            ids.push_back(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, batch));
            ggml_set_input(ids.back());
            ggml_tensor* e = ggml_get_rows(ctx, w(fmt::format("embed_tokens.{}.weight", k)), ids.back());  // [hidden, batch]
            x = x ? ggml_add(ctx, x, e) : e;
        }
        position = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, d);
        ggml_set_input(position);
        x = ggml_add(ctx, x, position);
        for (int i = 0; i < config.layers; ++i) {
            const auto L = layer(i);
            ggml_tensor* h = layerNorm(ctx, x, L + "self_attn_layer_norm");
            // The new K and V go into their caches before the reads below (nodes run in order).
            ggml_tensor* k = ggml_mul_mat(ctx, w(L + "self_attn.k_proj.weight"), h);  // [hidden, batch]
            ggml_build_forward_expand(graph, ggml_cpy(ctx, k, ggml_view_2d(ctx, selfK[i], d, batch, selfK[i]->nb[2], static_cast<std::size_t>(pos) * selfK[i]->nb[1])));
            ggml_tensor* v = ggml_mul_mat(ctx, w(L + "self_attn.v_proj.weight"), h);
            ggml_tensor* vSlot = ggml_view_3d(ctx, selfV[i], 1, d, batch, selfV[i]->nb[1], selfV[i]->nb[2], static_cast<std::size_t>(pos) * ggml_element_size(selfV[i]));
            ggml_build_forward_expand(graph, ggml_cpy(ctx, ggml_reshape_3d(ctx, v, 1, d, batch), vSlot));
            ggml_tensor* q = ggml_mul_mat(ctx, w(L + "self_attn.q_proj.weight"), h);
            x = ggml_add(ctx, x, ggml_mul_mat(ctx, w(L + "self_attn.out_proj.weight"), attend(ctx, q, selfK[i], selfV[i], pos + 1)));
            h = layerNorm(ctx, x, L + "encoder_attn_layer_norm");
            q = ggml_mul_mat(ctx, w(L + "encoder_attn.q_proj.weight"), h);
            x = ggml_add(ctx, x, ggml_mul_mat(ctx, w(L + "encoder_attn.out_proj.weight"), attend(ctx, q, crossK[i], crossV[i], textTokens)));
            h = layerNorm(ctx, x, L + "final_layer_norm");
            x = ggml_add(ctx, x, ggml_mul_mat(ctx, w(L + "fc2.weight"), ggml_gelu_erf(ctx, ggml_mul_mat(ctx, w(L + "fc1.weight"), h))));
        }
        x = layerNorm(ctx, x, "layer_norm");
        std::vector<ggml_tensor*> heads;
        for (int k = 0; k < config.codebooks; ++k) {
            heads.push_back(ggml_mul_mat(ctx, w(fmt::format("lm_heads.{}.weight", k)), x));
            ggml_set_output(heads.back());
            ggml_build_forward_expand(graph, heads.back());
        }
        return heads;
    }

    // Runs one step: `tokens` (per take, one per codebook: take-major; a take's unconditional row
    // reads its conditional row's tokens) at `pos` -> logits [batch][codebook][vocab].
    std::vector<float> step(const std::vector<std::int32_t>& tokens, int pos, int textTokens) {
        const std::size_t nodes = 256 + static_cast<std::size_t>(config.layers) * 96;
        Context ctx = graphContext(nodes);
        ggml_cgraph* graph = ggml_new_graph_custom(ctx.get(), nodes, false);
        std::vector<ggml_tensor*> ids;
        ggml_tensor* position = nullptr;
        const auto heads = stepGraph(ctx.get(), graph, ids, position, pos, textTokens);
        if (!ggml_gallocr_alloc_graph(allocator, graph)) throw std::runtime_error("ggml: not enough memory for the language model's step");
        const std::size_t K = static_cast<std::size_t>(config.codebooks);
        for (std::size_t k = 0; k < K; ++k) {
            std::vector<std::int32_t> row(static_cast<std::size_t>(batch));
            for (std::size_t r = 0; r < row.size(); ++r) row[r] = tokens[(r % static_cast<std::size_t>(takes)) * K + k];
            ggml_backend_tensor_set(ids[k], row.data(), 0, row.size() * sizeof(std::int32_t));
        }
        const auto sin = sinusoid(pos, config.hiddenSize);
        ggml_backend_tensor_set(position, sin.data(), 0, sin.size() * sizeof(float));
        if (ggml_backend_graph_compute(backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the language model's step failed");
        const std::size_t V = static_cast<std::size_t>(config.vocabSize);
        std::vector<float> logits(static_cast<std::size_t>(batch) * K * V), head(static_cast<std::size_t>(batch) * V);
        for (std::size_t k = 0; k < K; ++k) {
            ggml_backend_tensor_get(heads[k], head.data(), 0, head.size() * sizeof(float));
            for (std::size_t b = 0; b < static_cast<std::size_t>(batch); ++b)
                std::copy_n(head.begin() + static_cast<std::ptrdiff_t>(b * V), V, logits.begin() + static_cast<std::ptrdiff_t>((b * K + k) * V));
        }
        return logits;
    }
};

int sampleTopK(std::vector<float>& logits, int topK, double temperature, double uniform01) {
    const int n = static_cast<int>(logits.size());
    const int k = std::clamp(topK, 1, n);
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto higher = [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), higher);
    if (k == 1) return order[0];
    const double top = logits[order[0]];
    std::vector<double> weight(static_cast<std::size_t>(k));
    double total = 0;
    for (int i = 0; i < k; ++i) total += weight[i] = std::exp((logits[order[i]] - top) / temperature);
    double pick = uniform01 * total;
    for (int i = 0; i < k; ++i) {
        if (pick < weight[i]) return order[i];
        pick -= weight[i];
    }
    return order[k - 1];
}

MusicgenLm::MusicgenLm(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

MusicgenLm::~MusicgenLm() = default;

const MusicgenLmConfig& MusicgenLm::config() const { return impl_->config; }
std::uint64_t MusicgenLm::weightBytes() const { return impl_->weights->dataBytes(); }
int MusicgenLm::maxFrames() const { return impl_->config.maxPositions - impl_->config.codebooks + 1; }

std::string MusicgenLm::weightTypes() const {
    std::set<std::string> types;
    for (const auto& s : specFor(impl_->config)) types.insert(tensorTypeName(impl_->weights->type(s.name)));
    std::string out;
    for (auto it = types.rbegin(); it != types.rend(); ++it) out += (out.empty() ? "" : "+") + *it;
    return out;
}

void MusicgenLm::setHalfPrecisionCache(bool half) { impl_->cacheType = half ? GGML_TYPE_F16 : GGML_TYPE_F32; }

void MusicgenLm::validate(const SamplingSettings& s) const {
    if (s.topK < 1 || s.topK > impl_->config.vocabSize)
        throw std::invalid_argument(fmt::format("top_k is {}; allowed 1 to {} (the codebook size)", s.topK, impl_->config.vocabSize));
    if (!std::isfinite(s.temperature) || s.temperature < 0.01 || s.temperature > 10)
        throw std::invalid_argument(fmt::format("temperature is {}; allowed 0.01 to 10", s.temperature));
    if (!std::isfinite(s.guidanceScale) || s.guidanceScale < 0 || s.guidanceScale > 30)
        throw std::invalid_argument(fmt::format("guidance is {}; allowed 0 to 30", s.guidanceScale));
}

std::vector<std::int32_t> MusicgenLm::generate(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s,
                                               const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel,
                                               std::vector<float>* stepLogits, const FrameHooks& hooks) {
    TakeHooks one;
    one.promptFrames = hooks.promptFrames;
    if (hooks.promptFrames > 0 || !hooks.prompt.empty()) one.prompts.push_back(hooks.prompt);
    if (hooks.onFrame) one.onFrame = [&](int, int frame, const std::vector<std::int32_t>& column) { hooks.onFrame(frame, column); };
    return run(text, textTokens, frames, s, 1, progress, cancel, stepLogits, one).front();
}

std::vector<std::vector<std::int32_t>> MusicgenLm::generateTakes(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s, int takes,
                                                                 const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel,
                                                                 const TakeHooks& hooks) {
    return run(text, textTokens, frames, s, takes, progress, cancel, nullptr, hooks);
}

std::vector<std::vector<std::int32_t>> MusicgenLm::run(const std::vector<float>& text, int textTokens, int frames, const SamplingSettings& s, int takes,
                                                       const std::function<void(int, int)>& progress, const std::atomic<bool>* cancel,
                                                       std::vector<float>* stepLogits, const TakeHooks& hooks) {
    auto& im = *impl_;
    const auto& c = im.config;
    validate(s);
    if (takes < 1 || takes > kMaxBatchTakes) throw std::invalid_argument(fmt::format("{} takes; allowed 1 to {}", takes, kMaxBatchTakes));
    if (frames < 1 || frames > maxFrames())
        throw std::invalid_argument(fmt::format("{} frames; this model makes 1 to {} (its {} positions less the delay)", frames, maxFrames(), c.maxPositions));
    if (textTokens < 1 || textTokens > kMaxTextTokens)
        throw std::invalid_argument(fmt::format("{} text tokens; allowed 1 to {}", textTokens, kMaxTextTokens));
    if (text.size() != static_cast<std::size_t>(textTokens) * c.textHiddenSize)
        throw std::invalid_argument(fmt::format("{} text state values; {} tokens x {} need {}", text.size(), textTokens, c.textHiddenSize,
                                                static_cast<std::size_t>(textTokens) * c.textHiddenSize));
    if (!std::all_of(text.begin(), text.end(), [](float v) { return std::isfinite(v); }))
        throw std::invalid_argument("the text states hold a value that is not finite");
    const int P = hooks.promptFrames;
    if (P < 0 || P >= frames) throw std::invalid_argument(fmt::format("a prompt of {} frames; allowed 0 to {} (fewer than the {} frames)", P, frames - 1, frames));
    if (P > 0 && hooks.prompts.size() != static_cast<std::size_t>(takes))
        throw std::invalid_argument(fmt::format("{} prompts for {} takes; one a take", hooks.prompts.size(), takes));
    for (const auto& prompt : hooks.prompts) {
        if (prompt.size() != static_cast<std::size_t>(c.codebooks) * P)
            throw std::invalid_argument(fmt::format("{} prompt codes; {} codebooks x {} frames need {}", prompt.size(), c.codebooks, P, c.codebooks * P));
        for (auto code : prompt)
            if (code < 0 || code >= c.vocabSize) throw std::invalid_argument(fmt::format("a prompt code is {}; allowed 0 to {}", code, c.vocabSize - 1));
    }

    const bool guided = s.guidanceScale != 1.0;
    im.takes = takes;
    im.batch = guided ? 2 * takes : takes;
    const int K = c.codebooks, steps = frames + K - 1;
    const std::size_t T = static_cast<std::size_t>(takes), V = static_cast<std::size_t>(c.vocabSize), KV = static_cast<std::size_t>(K) * V;
    im.allocCache(steps, textTokens);
    im.encodeText(text, textTokens);
    std::vector<std::mt19937_64> rng;
    for (int t = 0; t < takes; ++t) rng.emplace_back(s.seed + static_cast<std::uint64_t>(t));
    std::vector<std::int32_t> tokens(T * static_cast<std::size_t>(K), c.padToken());  // take-major
    std::vector<std::vector<std::int32_t>> codes(T, std::vector<std::int32_t>(static_cast<std::size_t>(K) * frames));
    std::vector<std::int32_t> column(static_cast<std::size_t>(K));
    if (stepLogits) stepLogits->clear();
    for (int j = 1; j <= steps; ++j) {
        if (cancel && cancel->load()) throw Cancelled();
        auto logits = im.step(tokens, j - 1, textTokens);
        if (guided)  // rows: the takes' conditional rows, then their unconditional rows
            for (std::size_t i = 0; i < T * KV; ++i)
                logits[i] = static_cast<float>(logits[T * KV + i] + (logits[i] - logits[T * KV + i]) * s.guidanceScale);
        logits.resize(T * KV);
        if (stepLogits) stepLogits->insert(stepLogits->end(), logits.begin(), logits.begin() + static_cast<std::ptrdiff_t>(KV));
        for (std::size_t t = 0; t < T; ++t) {
            auto& take = codes[t];
            for (int k = 0; k < K; ++k) {
                auto& token = tokens[t * static_cast<std::size_t>(K) + static_cast<std::size_t>(k)];
                if (j <= k || j > frames + k) {  // the delay pattern: codebook k holds frame j - k - 1
                    token = c.padToken();
                    continue;
                }
                if (const int f = j - k - 1; f < P) {  // the prompt is forced (teacher forcing), drawing nothing
                    token = take[static_cast<std::size_t>(k) * frames + f] = hooks.prompts[t][static_cast<std::size_t>(k) * P + f];
                    continue;
                }
                const auto from = logits.begin() + static_cast<std::ptrdiff_t>(t * KV + static_cast<std::size_t>(k) * V);
                std::vector<float> row(from, from + static_cast<std::ptrdiff_t>(V));
                const double u = static_cast<double>(rng[t]() >> 11) * 0x1.0p-53;
                token = take[static_cast<std::size_t>(k) * frames + (j - k - 1)] = sampleTopK(row, s.topK, s.temperature, u);
            }
        }
        if (const int f = j - K; hooks.onFrame && f >= P && f < frames)  // every codebook of frame f is drawn
            for (std::size_t t = 0; t < T; ++t) {
                for (int k = 0; k < K; ++k) column[static_cast<std::size_t>(k)] = codes[t][static_cast<std::size_t>(k) * frames + f];
                hooks.onFrame(static_cast<int>(t), f, column);
            }
        if (progress) progress(j, steps);
    }
    im.freeCache();
    return codes;
}

void MusicgenLm::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

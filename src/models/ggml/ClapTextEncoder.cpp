#include "models/ggml/ClapTextEncoder.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/ggml/BpeTokenizer.h"
#include "models/ggml/GgufWeights.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

constexpr const char* kConverter = "tools/clap_to_gguf.py";

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) { return w.requireInt("clap." + key, lo, hi, kConverter); }

ClapTextConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("clap_text");
    ClapTextConfig c;
    c.vocabSize = metaInt(w, "vocab_size", 8, static_cast<int>(kMaxBpeVocab));
    c.hiddenSize = metaInt(w, "hidden_size", 1, 8192);
    c.layers = metaInt(w, "num_hidden_layers", 1, 64);
    c.heads = metaInt(w, "num_attention_heads", 1, 128);
    c.intermediateSize = metaInt(w, "intermediate_size", 1, 32768);
    c.maxPositions = metaInt(w, "max_position_embeddings", 4, 8192);
    c.typeVocabSize = metaInt(w, "type_vocab_size", 1, 16);
    c.projectionDim = metaInt(w, "projection_dim", 1, 8192);
    c.padId = metaInt(w, "pad_token_id", 0, c.vocabSize - 1);
    if (c.hiddenSize % c.heads != 0) bad(w.where(), fmt::format("hidden_size {} is not a multiple of num_attention_heads {}", c.hiddenSize, c.heads));
    const int positions = c.maxPositions - c.padId - 1;  // RoBERTa counts positions from pad_token_id + 1
    if (positions < 2) bad(w.where(), fmt::format("max_position_embeddings {} leaves no positions after pad_token_id {}", c.maxPositions, c.padId));
    c.maxTokens = metaInt(w, "max_tokens", 2, positions);
    const auto eps = w.real("clap.layer_norm_eps");
    if (!eps) bad(w.where(), fmt::format("metadata clap.layer_norm_eps is missing (convert the checkpoint with {})", kConverter));
    if (!(*eps > 0.0f && *eps < 0.1f)) bad(w.where(), fmt::format("metadata clap.layer_norm_eps is {}; allowed over 0 and under 0.1", *eps));
    c.layerNormEps = *eps;
    return c;
}

std::string layer(int i) { return fmt::format("text_model.encoder.layer.{}.", i); }

void linear(std::vector<TensorSpec>& s, const std::string& name, std::int64_t out, std::int64_t in) {
    s.push_back({name + ".weight", {out, in}, true});
    s.push_back({name + ".bias", {out}, false});
}
void norm(std::vector<TensorSpec>& s, const std::string& name, std::int64_t d) {
    s.push_back({name + ".weight", {d}, false});
    s.push_back({name + ".bias", {d}, false});
}

std::vector<TensorSpec> specFor(const ClapTextConfig& c) {
    const std::int64_t d = c.hiddenSize;
    const std::string e = "text_model.embeddings.";
    std::vector<TensorSpec> s{{e + "word_embeddings.weight", {c.vocabSize, d}, true},
                              {e + "position_embeddings.weight", {c.maxPositions, d}, false},
                              {e + "token_type_embeddings.weight", {c.typeVocabSize, d}, false}};
    norm(s, e + "LayerNorm", d);
    for (int i = 0; i < c.layers; ++i) {
        for (const char* m : {"query", "key", "value"}) linear(s, layer(i) + "attention.self." + m, d, d);
        linear(s, layer(i) + "attention.output.dense", d, d);
        norm(s, layer(i) + "attention.output.LayerNorm", d);
        linear(s, layer(i) + "intermediate.dense", c.intermediateSize, d);
        linear(s, layer(i) + "output.dense", d, c.intermediateSize);
        norm(s, layer(i) + "output.LayerNorm", d);
    }
    linear(s, "text_model.pooler.dense", d, d);
    linear(s, "text_projection.linear1", c.projectionDim, d);
    linear(s, "text_projection.linear2", c.projectionDim, c.projectionDim);
    return s;
}

}  // namespace

struct ClapTextEncoder::Impl {
    std::unique_ptr<GgufWeights> weights;
    std::unique_ptr<BpeTokenizer> tokenizer;
    ClapTextConfig config;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    ggml_tensor* linear(ggml_context* ctx, ggml_tensor* x, const std::string& name) const {
        return ggml_add(ctx, ggml_mul_mat(ctx, w(name + ".weight"), x), w(name + ".bias"));
    }
    ggml_tensor* layerNorm(ggml_context* ctx, ggml_tensor* x, const std::string& name) const {
        return ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, x, config.layerNormEps), w(name + ".weight")), w(name + ".bias"));
    }

    ggml_tensor* attention(ggml_context* ctx, ggml_tensor* x, int i, std::int64_t n) const {
        const std::int64_t H = config.heads, dh = config.hiddenSize / config.heads;
        auto heads = [&](const char* m) { return ggml_reshape_3d(ctx, linear(ctx, x, layer(i) + "attention.self." + m), dh, H, n); };
        ggml_tensor* q = ggml_permute(ctx, heads("query"), 0, 2, 1, 3);              // [dh, n, H]
        ggml_tensor* k = ggml_permute(ctx, heads("key"), 0, 2, 1, 3);                // [dh, n, H]
        ggml_tensor* v = ggml_cont(ctx, ggml_permute(ctx, heads("value"), 1, 2, 0, 3));  // [n, dh, H]
        ggml_tensor* p = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, q), nullptr, 1.0f / std::sqrt(static_cast<float>(dh)), 0.0f);
        ggml_tensor* out = ggml_cont(ctx, ggml_permute(ctx, ggml_mul_mat(ctx, v, p), 0, 2, 1, 3));  // [dh, H, n]
        return linear(ctx, ggml_reshape_2d(ctx, out, dh * H, n), layer(i) + "attention.output.dense");
    }

    // One BERT layer, post-LN.
    ggml_tensor* block(ggml_context* ctx, ggml_tensor* x, int i, std::int64_t n) const {
        x = layerNorm(ctx, ggml_add(ctx, x, attention(ctx, x, i, n)), layer(i) + "attention.output.LayerNorm");
        ggml_tensor* h = ggml_gelu_erf(ctx, linear(ctx, x, layer(i) + "intermediate.dense"));
        return layerNorm(ctx, ggml_add(ctx, x, linear(ctx, h, layer(i) + "output.dense")), layer(i) + "output.LayerNorm");
    }
};

ClapTextEncoder::ClapTextEncoder(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    auto& im = *impl_;
    im.weights = std::make_unique<GgufWeights>(gguf);
    im.config = readConfig(*im.weights);
    im.weights->check(specFor(im.config));
    const auto& where = im.weights->where();
    auto vocab = im.weights->texts("tokenizer.ggml.tokens", kMaxBpeVocab, kMaxBpeTokenBytes);
    const auto merges = im.weights->texts("tokenizer.ggml.merges", kMaxBpeMerges, 2 * kMaxBpeTokenBytes + 1);
    if (!vocab || !merges) bad(where, fmt::format("metadata tokenizer.ggml.tokens and tokenizer.ggml.merges are needed (convert with {})", kConverter));
    if (vocab->size() != static_cast<std::size_t>(im.config.vocabSize))
        bad(where, fmt::format("tokenizer.ggml.tokens has {} tokens but clap.vocab_size is {}", vocab->size(), im.config.vocabSize));
    im.tokenizer = std::make_unique<BpeTokenizer>(std::move(*vocab), *merges, where);
    im.backend = ggml_backend_cpu_init();
    if (!im.backend) bad(where, "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(im.backend, threads);
    im.allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(im.backend));
}

ClapTextEncoder::~ClapTextEncoder() = default;
const ClapTextConfig& ClapTextEncoder::config() const { return impl_->config; }
const BpeTokenizer& ClapTextEncoder::tokenizer() const { return *impl_->tokenizer; }
std::uint64_t ClapTextEncoder::weightBytes() const { return impl_->weights->dataBytes(); }
int ClapTextEncoder::embeddingSize() const { return impl_->config.projectionDim; }

std::vector<std::int32_t> ClapTextEncoder::tokenize(const std::string& text) const { return impl_->tokenizer->encode(text, impl_->config.maxTokens); }

std::vector<float> ClapTextEncoder::project(const std::vector<std::int32_t>& ids) {
    auto& im = *impl_;
    const auto& c = im.config;
    const auto n = static_cast<std::int64_t>(ids.size());
    if (n < 1 || n > c.maxTokens) throw std::invalid_argument(fmt::format("{} text tokens; allowed 1 to {}", n, c.maxTokens));
    // RoBERTa's positions: pad tokens sit at pad_token_id, the others count on from it.
    std::vector<std::int32_t> positions(ids.size());
    std::int32_t counted = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= c.vocabSize)
            throw std::invalid_argument(fmt::format("token {} is id {}; this encoder's vocabulary is 0 to {}", i, ids[i], c.vocabSize - 1));
        positions[i] = ids[i] == c.padId ? c.padId : c.padId + ++counted;
    }
    const std::size_t nodes = 64 + static_cast<std::size_t>(c.layers) * 64;
    ggml_init_params params{ggml_tensor_overhead() * nodes + ggml_graph_overhead_custom(nodes, false), nullptr, true};
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> owner(ggml_init(params), ggml_free);
    ggml_context* ctx = owner.get();
    if (!ctx) throw std::runtime_error("ggml: no memory for the text encoder's graph");
    ggml_tensor* in = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    ggml_tensor* pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    ggml_set_input(in);
    ggml_set_input(pos);
    const std::string e = "text_model.embeddings.";
    ggml_tensor* types = im.w(e + "token_type_embeddings.weight");
    ggml_tensor* x = ggml_add(ctx, ggml_get_rows(ctx, im.w(e + "word_embeddings.weight"), in), ggml_get_rows(ctx, im.w(e + "position_embeddings.weight"), pos));
    x = ggml_add(ctx, x, ggml_view_1d(ctx, types, c.hiddenSize, 0));  // token type 0 for every token
    x = im.layerNorm(ctx, x, e + "LayerNorm");
    for (int i = 0; i < c.layers; ++i) x = im.block(ctx, x, i, n);
    ggml_tensor* first = ggml_view_2d(ctx, x, c.hiddenSize, 1, x->nb[1], 0);
    ggml_tensor* pooled = ggml_tanh(ctx, im.linear(ctx, first, "text_model.pooler.dense"));
    ggml_tensor* out = im.linear(ctx, ggml_relu(ctx, im.linear(ctx, pooled, "text_projection.linear1")), "text_projection.linear2");
    ggml_set_output(out);
    ggml_cgraph* graph = ggml_new_graph_custom(ctx, nodes, false);
    ggml_build_forward_expand(graph, out);
    if (!ggml_gallocr_alloc_graph(im.allocator, graph)) throw std::runtime_error("ggml: not enough memory for the text encoder");
    ggml_backend_tensor_set(in, ids.data(), 0, ids.size() * sizeof(std::int32_t));
    ggml_backend_tensor_set(pos, positions.data(), 0, positions.size() * sizeof(std::int32_t));
    if (ggml_backend_graph_compute(im.backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the text encoder's graph failed");
    std::vector<float> result(static_cast<std::size_t>(c.projectionDim));
    ggml_backend_tensor_get(out, result.data(), 0, result.size() * sizeof(float));
    return result;
}

std::vector<float> ClapTextEncoder::embed(const std::string& text) {
    auto v = project(tokenize(text));
    double sum = 0;
    for (float f : v) sum += static_cast<double>(f) * f;
    // As torch.nn.functional.normalize: divide by max(norm, 1e-12).
    const auto scale = static_cast<float>(1.0 / std::max(std::sqrt(sum), 1e-12));
    for (float& f : v) f *= scale;
    return v;
}

void ClapTextEncoder::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

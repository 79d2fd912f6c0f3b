#include "models/ggml/T5Encoder.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/ggml/GgufWeights.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) {
    return w.requireInt("t5." + key, lo, hi, "tools/t5_to_gguf.py");
}

T5Config readConfig(const GgufWeights& w) {
    w.requireArchitecture("t5encoder");
    T5Config c;
    c.vocabSize = metaInt(w, "vocab_size", 2, 1 << 20);
    c.dModel = metaInt(w, "d_model", 1, 16384);
    c.dKv = metaInt(w, "d_kv", 1, 1024);
    c.heads = metaInt(w, "num_heads", 1, 256);
    c.dFf = metaInt(w, "d_ff", 1, 65536);
    c.layers = metaInt(w, "num_layers", 1, 128);
    c.buckets = metaInt(w, "relative_attention_num_buckets", 4, 1024);
    c.maxDistance = metaInt(w, "relative_attention_max_distance", 2, 65536);
    c.gatedGelu = w.flag("t5.gated_gelu").value_or(false);
    if (c.buckets % 4 != 0) bad(w.where(), fmt::format("relative_attention_num_buckets is {}; it must be a multiple of 4", c.buckets));
    if (c.maxDistance <= c.buckets / 4)
        bad(w.where(), fmt::format("relative_attention_max_distance {} must be over a quarter of the buckets ({})", c.maxDistance, c.buckets / 4));
    return c;
}

std::string block(int i, int sub) { return fmt::format("block.{}.layer.{}.", i, sub); }

std::vector<TensorSpec> specFor(const T5Config& c) {
    const std::int64_t d = c.dModel, inner = static_cast<std::int64_t>(c.heads) * c.dKv;
    std::vector<TensorSpec> s{{"shared.weight", {c.vocabSize, d}, false},
                              {block(0, 0) + "SelfAttention.relative_attention_bias.weight", {c.buckets, c.heads}, false}};
    for (int i = 0; i < c.layers; ++i) {
        for (const char* m : {"q", "k", "v"}) s.push_back({fmt::format("{}SelfAttention.{}.weight", block(i, 0), m), {inner, d}, true});
        s.push_back({block(i, 0) + "SelfAttention.o.weight", {d, inner}, true});
        s.push_back({block(i, 0) + "layer_norm.weight", {d}, false});
        if (c.gatedGelu) {
            s.push_back({block(i, 1) + "DenseReluDense.wi_0.weight", {c.dFf, d}, true});
            s.push_back({block(i, 1) + "DenseReluDense.wi_1.weight", {c.dFf, d}, true});
        } else {
            s.push_back({block(i, 1) + "DenseReluDense.wi.weight", {c.dFf, d}, true});
        }
        s.push_back({block(i, 1) + "DenseReluDense.wo.weight", {d, c.dFf}, true});
        s.push_back({block(i, 1) + "layer_norm.weight", {d}, false});
    }
    s.push_back({"final_layer_norm.weight", {d}, false});
    return s;
}

}  // namespace

int t5RelativeBucket(int relative, int buckets, int maxDistance) {
    const int half = buckets / 2;
    int out = relative > 0 ? half : 0;
    const int distance = std::abs(relative);
    const int exact = half / 2;
    if (distance < exact) return out + distance;
    // As T5 computes it in float32: exact + floor(log(d / exact) / log(max / exact) * (half - exact)).
    const float scaled = std::log(static_cast<float>(distance) / static_cast<float>(exact)) / std::log(static_cast<float>(maxDistance) / static_cast<float>(exact)) *
                         static_cast<float>(half - exact);
    return out + std::min(exact + static_cast<int>(scaled), half - 1);
}

struct T5Encoder::Impl {
    std::unique_ptr<GgufWeights> weights;
    T5Config config;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    std::vector<float> bucketBias;  // buckets x heads
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    ggml_tensor* rmsNorm(ggml_context* ctx, ggml_tensor* x, const std::string& name) const {
        return ggml_mul(ctx, ggml_rms_norm(ctx, x, 1e-6f), w(name));
    }

    // gelu_new (tanh approximation) in plain ops: ggml_gelu reads a float16 table.
    static ggml_tensor* geluTanh(ggml_context* ctx, ggml_tensor* x) {
        ggml_tensor* cube = ggml_mul(ctx, x, ggml_sqr(ctx, x));
        ggml_tensor* t = ggml_tanh(ctx, ggml_scale(ctx, ggml_add(ctx, x, ggml_scale(ctx, cube, 0.044715f)), 0.7978845608028654f));
        return ggml_add(ctx, ggml_scale(ctx, x, 0.5f), ggml_scale(ctx, ggml_mul(ctx, x, t), 0.5f));
    }

    ggml_tensor* attention(ggml_context* ctx, ggml_tensor* h, ggml_tensor* bias, int i, std::int64_t n) const {
        const std::int64_t H = config.heads, dk = config.dKv;
        auto heads = [&](const char* m) { return ggml_reshape_3d(ctx, ggml_mul_mat(ctx, w(fmt::format("{}SelfAttention.{}.weight", block(i, 0), m)), h), dk, H, n); };
        ggml_tensor* q = ggml_permute(ctx, heads("q"), 0, 2, 1, 3);                  // [dk, n, H]
        ggml_tensor* k = ggml_permute(ctx, heads("k"), 0, 2, 1, 3);                  // [dk, n, H]
        ggml_tensor* v = ggml_cont(ctx, ggml_permute(ctx, heads("v"), 1, 2, 0, 3));  // [n, dk, H]
        ggml_tensor* scores = ggml_soft_max(ctx, ggml_add(ctx, ggml_mul_mat(ctx, k, q), bias));  // [n keys, n queries, H]
        ggml_tensor* out = ggml_cont(ctx, ggml_permute(ctx, ggml_mul_mat(ctx, v, scores), 0, 2, 1, 3));  // [dk, H, n]
        return ggml_mul_mat(ctx, w(block(i, 0) + "SelfAttention.o.weight"), ggml_reshape_2d(ctx, out, dk * H, n));
    }

    ggml_tensor* feedForward(ggml_context* ctx, ggml_tensor* h, int i) const {
        const auto F = block(i, 1) + "DenseReluDense.";
        ggml_tensor* a = config.gatedGelu ? ggml_mul(ctx, geluTanh(ctx, ggml_mul_mat(ctx, w(F + "wi_0.weight"), h)), ggml_mul_mat(ctx, w(F + "wi_1.weight"), h))
                                          : ggml_relu(ctx, ggml_mul_mat(ctx, w(F + "wi.weight"), h));
        return ggml_mul_mat(ctx, w(F + "wo.weight"), a);
    }
};

T5Encoder::T5Encoder(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    ggml_tensor* rel = impl_->w(block(0, 0) + "SelfAttention.relative_attention_bias.weight");
    impl_->bucketBias.resize(static_cast<std::size_t>(ggml_nelements(rel)));
    ggml_backend_tensor_get(rel, impl_->bucketBias.data(), 0, ggml_nbytes(rel));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

T5Encoder::~T5Encoder() = default;
const T5Config& T5Encoder::config() const { return impl_->config; }
std::uint64_t T5Encoder::weightBytes() const { return impl_->weights->dataBytes(); }

std::vector<float> T5Encoder::encode(const std::vector<std::int32_t>& ids) {
    auto& im = *impl_;
    const auto& c = im.config;
    const auto n = static_cast<std::int64_t>(ids.size());
    if (n < 1 || n > kMaxT5Tokens) throw std::invalid_argument(fmt::format("{} text tokens; allowed 1 to {}", n, kMaxT5Tokens));
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= c.vocabSize)
            throw std::invalid_argument(fmt::format("token {} is id {}; this encoder's vocabulary is 0 to {}", i, ids[i], c.vocabSize - 1));
    // The position bias, [keys, queries, heads]: the bucket of (key - query), per head.
    std::vector<float> bias(static_cast<std::size_t>(n * n * c.heads));
    for (std::int64_t h = 0; h < c.heads; ++h)
        for (std::int64_t q = 0; q < n; ++q)
            for (std::int64_t k = 0; k < n; ++k)
                bias[static_cast<std::size_t>((h * n + q) * n + k)] =
                    im.bucketBias[static_cast<std::size_t>(t5RelativeBucket(static_cast<int>(k - q), c.buckets, c.maxDistance) * c.heads + h)];

    const std::size_t nodes = 64 + static_cast<std::size_t>(c.layers) * 64;
    ggml_init_params params{ggml_tensor_overhead() * nodes + ggml_graph_overhead_custom(nodes, false), nullptr, true};
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> owner(ggml_init(params), ggml_free);
    ggml_context* ctx = owner.get();
    if (!ctx) throw std::runtime_error("ggml: no memory for the text encoder's graph");
    ggml_tensor* in = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    ggml_tensor* posBias = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, n, n, c.heads);
    ggml_set_input(in);
    ggml_set_input(posBias);
    ggml_tensor* x = ggml_get_rows(ctx, im.w("shared.weight"), in);  // [d, n]
    for (int i = 0; i < c.layers; ++i) {
        x = ggml_add(ctx, x, im.attention(ctx, im.rmsNorm(ctx, x, block(i, 0) + "layer_norm.weight"), posBias, i, n));
        x = ggml_add(ctx, x, im.feedForward(ctx, im.rmsNorm(ctx, x, block(i, 1) + "layer_norm.weight"), i));
    }
    x = im.rmsNorm(ctx, x, "final_layer_norm.weight");
    ggml_set_output(x);
    ggml_cgraph* graph = ggml_new_graph_custom(ctx, nodes, false);
    ggml_build_forward_expand(graph, x);
    if (!ggml_gallocr_alloc_graph(im.allocator, graph)) throw std::runtime_error("ggml: not enough memory for the text encoder");
    ggml_backend_tensor_set(in, ids.data(), 0, ids.size() * sizeof(std::int32_t));
    ggml_backend_tensor_set(posBias, bias.data(), 0, bias.size() * sizeof(float));
    if (ggml_backend_graph_compute(im.backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the text encoder's graph failed");
    std::vector<float> out(static_cast<std::size_t>(ggml_nelements(x)));
    ggml_backend_tensor_get(x, out.data(), 0, out.size() * sizeof(float));
    return out;
}

void T5Encoder::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

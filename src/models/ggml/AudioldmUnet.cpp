#include "models/ggml/AudioldmUnet.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "models/ModelWorker.h"
#include "models/ggml/GgufWeights.h"
#include "models/ggml/GraphOps.h"

namespace soundstar::models {
namespace {

using graph::bad;

constexpr float kResnetEps = 1e-5f;       // norm_eps: the resnets' and conv_norm_out's group norms
constexpr float kTransformerEps = 1e-6f;  // Transformer2DModel's group norm
constexpr float kLayerEps = 1e-5f;        // BasicTransformerBlock's layer norms
constexpr int kMaxBlocks = 6;

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) { return w.requireInt(key, lo, hi, "tools/audioldm_to_gguf.py"); }

std::vector<int> metaList(const GgufWeights& w, const std::string& key, std::size_t count, int lo, int hi) {
    const auto v = w.integers(key);
    if (!v || v->size() != count) bad(w.where(), fmt::format("metadata {} must list {} values (one per block)", key, count));
    std::vector<int> out;
    for (auto x : *v) {
        if (x < lo || x > hi) bad(w.where(), fmt::format("metadata {} holds {}; each is {} to {}", key, x, lo, hi));
        out.push_back(static_cast<int>(x));
    }
    return out;
}

UnetConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("audioldm_unet");
    UnetConfig c;
    c.inChannels = metaInt(w, "unet.in_channels", 1, 64);
    c.outChannels = metaInt(w, "unet.out_channels", 1, 64);
    c.layersPerBlock = metaInt(w, "unet.layers_per_block", 1, 8);
    c.normGroups = metaInt(w, "unet.norm_num_groups", 1, 256);
    c.classEmbedDim = metaInt(w, "unet.class_embed_dim", 1, 4096);
    const auto chans = w.integers("unet.block_out_channels");
    if (!chans || chans->empty() || chans->size() > kMaxBlocks) bad(w.where(), fmt::format("metadata unet.block_out_channels must list 1 to {} channel counts", kMaxBlocks));
    c.blockOutChannels = metaList(w, "unet.block_out_channels", chans->size(), 1, 4096);
    c.attentionHeads = metaList(w, "unet.attention_heads", chans->size(), 1, 64);
    const auto attn = metaList(w, "unet.down_attention", chans->size(), 0, 1);
    c.attention.assign(attn.begin(), attn.end());
    for (std::size_t i = 0; i < chans->size(); ++i) {
        const int ch = c.blockOutChannels[i];
        if (ch % c.normGroups != 0 || ch % c.attentionHeads[i] != 0)
            bad(w.where(), fmt::format("block {} has {} channels: not a multiple of norm_num_groups ({}) and of its {} attention heads", i, ch, c.normGroups, c.attentionHeads[i]));
    }
    return c;
}

DdimConfig readDdim(const GgufWeights& w) {
    DdimConfig d;
    d.trainSteps = metaInt(w, "ddim.train_steps", 10, 10000);
    d.betaStart = metaInt(w, "ddim.beta_start_e7", 1, 5000000) * 1e-7;
    d.betaEnd = metaInt(w, "ddim.beta_end_e7", 1, 5000000) * 1e-7;
    if (d.betaEnd <= d.betaStart) bad(w.where(), "metadata ddim.beta_end_e7 must be above ddim.beta_start_e7");
    d.stepsOffset = metaInt(w, "ddim.steps_offset", 0, d.trainSteps - 1);
    d.setAlphaToOne = w.flag("ddim.set_alpha_to_one").value_or(false);
    d.clipRange = metaInt(w, "ddim.clip_range_e7", 0, 1000000000) * 1e-7;
    return d;
}

// Every tensor the UNet needs, with diffusers' names (".transformer_blocks." stored as ".tb.", as
// ggml's names are under 64 bytes); convs stored 2-D (out, in*kh*kw).
std::vector<TensorSpec> specFor(const UnetConfig& c) {
    std::vector<TensorSpec> s;
    auto vec = [&](const std::string& name, std::int64_t n) { s.push_back({name, {n}, false}); };
    auto linear = [&](const std::string& base, std::int64_t out, std::int64_t in, bool bias = true) {
        s.push_back({base + ".weight", {out, in}, true});
        if (bias) vec(base + ".bias", out);
    };
    auto norm = [&](const std::string& base, std::int64_t ch) {
        vec(base + ".weight", ch);
        vec(base + ".bias", ch);
    };
    const std::int64_t temb = c.timeEmbedDim(), blockTemb = 2 * temb;
    auto resnet = [&](const std::string& base, std::int64_t in, std::int64_t out) {
        norm(base + ".norm1", in);
        linear(base + ".conv1", out, in * 9);
        linear(base + ".time_emb_proj", out, blockTemb);
        norm(base + ".norm2", out);
        linear(base + ".conv2", out, out * 9);
        if (in != out) linear(base + ".conv_shortcut", out, in);
    };
    auto transformer = [&](const std::string& base, std::int64_t ch) {
        norm(base + ".norm", ch);
        linear(base + ".proj_in", ch, ch);
        const auto blk = base + ".tb.0";
        for (const char* a : {"attn1", "attn2"}) {
            for (const char* p : {"to_q", "to_k", "to_v"}) linear(fmt::format("{}.{}.{}", blk, a, p), ch, ch, false);
            linear(fmt::format("{}.{}.to_out.0", blk, a), ch, ch);
        }
        for (const char* n : {"norm1", "norm2", "norm3"}) norm(fmt::format("{}.{}", blk, n), ch);
        linear(blk + ".ff.net.0.proj", 8 * ch, ch);
        linear(blk + ".ff.net.2", ch, 4 * ch);
        linear(base + ".proj_out", ch, ch);
    };
    const auto& ch = c.blockOutChannels;
    const auto n = ch.size();
    linear("time_embedding.linear_1", temb, ch[0]);
    linear("time_embedding.linear_2", temb, temb);
    linear("class_embedding", temb, c.classEmbedDim);
    linear("conv_in", ch[0], c.inChannels * 9);
    for (std::size_t i = 0; i < n; ++i) {
        const auto in = ch[i == 0 ? 0 : i - 1];
        for (int j = 0; j < c.layersPerBlock; ++j) {
            resnet(fmt::format("down_blocks.{}.resnets.{}", i, j), j == 0 ? in : ch[i], ch[i]);
            if (c.attention[i]) transformer(fmt::format("down_blocks.{}.attentions.{}", i, j), ch[i]);
        }
        if (i + 1 < n) linear(fmt::format("down_blocks.{}.downsamplers.0.conv", i), ch[i], ch[i] * 9);
    }
    resnet("mid_block.resnets.0", ch[n - 1], ch[n - 1]);
    transformer("mid_block.attentions.0", ch[n - 1]);
    resnet("mid_block.resnets.1", ch[n - 1], ch[n - 1]);
    for (std::size_t i = 0; i < n; ++i) {
        const auto level = n - 1 - i;  // the down block this up block mirrors
        const std::int64_t out = ch[level], prev = ch[i == 0 ? n - 1 : level + 1], skipIn = ch[level == 0 ? 0 : level - 1];
        for (int j = 0; j <= c.layersPerBlock; ++j) {
            const std::int64_t skip = j == c.layersPerBlock ? skipIn : out;
            resnet(fmt::format("up_blocks.{}.resnets.{}", i, j), (j == 0 ? prev : out) + skip, out);
            if (c.attention[level]) transformer(fmt::format("up_blocks.{}.attentions.{}", i, j), out);
        }
        if (i + 1 < n) linear(fmt::format("up_blocks.{}.upsamplers.0.conv", i), out, out * 9);
    }
    norm("conv_norm_out", ch[0]);
    linear("conv_out", c.outChannels, ch[0] * 9);
    return s;
}

}  // namespace

struct AudioldmUnet::Impl {
    std::unique_ptr<GgufWeights> weights;
    UnetConfig config;
    DdimConfig ddim;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    ggml_tensor* linear(ggml_context* ctx, ggml_tensor* x, const std::string& base, bool bias = true) const {
        ggml_tensor* y = ggml_mul_mat(ctx, w(base + ".weight"), x);
        return bias ? ggml_add(ctx, y, w(base + ".bias")) : y;
    }
    // A k x k conv (padding k/2) over an image [W, H, C]: im2col in f32, the (possibly quantized)
    // weight [in*k*k, out] times the columns, transposed back to an image.
    ggml_tensor* conv(ggml_context* ctx, ggml_tensor* x, const std::string& base, int k, int stride = 1) const {
        ggml_tensor* shape = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, k, k, x->ne[2], 1);  // im2col reads only its sizes
        ggml_tensor* cols = ggml_im2col(ctx, shape, x, stride, stride, k / 2, k / 2, 1, 1, true, GGML_TYPE_F32);  // [in*k*k, OW, OH]
        const auto ow = cols->ne[1], oh = cols->ne[2];
        ggml_tensor* y = ggml_mul_mat(ctx, w(base + ".weight"), ggml_reshape_2d(ctx, cols, cols->ne[0], ow * oh));  // [out, OW*OH]
        y = ggml_reshape_3d(ctx, ggml_cont(ctx, ggml_transpose(ctx, y)), ow, oh, y->ne[0]);
        return ggml_add(ctx, y, graph::perChannel(ctx, w(base + ".bias")));
    }
    ggml_tensor* groupNorm(ggml_context* ctx, ggml_tensor* x, const std::string& base, float eps) const {
        return graph::groupNorm(ctx, x, config.normGroups, eps, w(base + ".weight"), w(base + ".bias"));
    }
    ggml_tensor* layerNorm(ggml_context* ctx, ggml_tensor* t, const std::string& base) const {
        return ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, t, kLayerEps), w(base + ".weight")), w(base + ".bias"));
    }
    // ResnetBlock2D: `emb` is SiLU of the concatenated time and class embeddings, [2T, 1].
    ggml_tensor* resnet(ggml_context* ctx, ggml_tensor* x, ggml_tensor* emb, const std::string& base) const {
        ggml_tensor* h = conv(ctx, ggml_silu(ctx, groupNorm(ctx, x, base + ".norm1", kResnetEps)), base + ".conv1", 3);
        ggml_tensor* t = linear(ctx, emb, base + ".time_emb_proj");  // [out, 1]
        h = ggml_add(ctx, h, ggml_reshape_3d(ctx, t, 1, 1, t->ne[0]));
        h = conv(ctx, ggml_silu(ctx, groupNorm(ctx, h, base + ".norm2", kResnetEps)), base + ".conv2", 3);
        return ggml_add(ctx, x->ne[2] != h->ne[2] ? conv(ctx, x, base + ".conv_shortcut", 1) : x, h);
    }
    // Multi-head attention of the tokens t [C, N] to themselves (no encoder states).
    ggml_tensor* attention(ggml_context* ctx, ggml_tensor* t, const std::string& base, int heads) const {
        const auto ch = t->ne[0], n = t->ne[1], hd = ch / heads;
        auto split = [&](ggml_tensor* m) { return ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_3d(ctx, m, hd, heads, n), 0, 2, 1, 3)); };  // [hd, N, heads]
        ggml_tensor* q = split(linear(ctx, t, base + ".to_q", false));
        ggml_tensor* k = split(linear(ctx, t, base + ".to_k", false));
        ggml_tensor* v = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_3d(ctx, linear(ctx, t, base + ".to_v", false), hd, heads, n), 1, 2, 0, 3));  // [N, hd, heads]
        ggml_tensor* p = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, q), nullptr, 1.0f / std::sqrt(static_cast<float>(hd)), 0.0f);  // [keys, queries, heads]
        ggml_tensor* o = ggml_mul_mat(ctx, v, p);  // [hd, queries, heads]
        o = ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3)), ch, n);
        return linear(ctx, o, base + ".to_out.0");
    }
    // Transformer2DModel with one BasicTransformerBlock, over an image [W, H, C].
    ggml_tensor* transformer(ggml_context* ctx, ggml_tensor* x, const std::string& base, int heads) const {
        ggml_tensor* t = linear(ctx, graph::imageToTokens(ctx, groupNorm(ctx, x, base + ".norm", kTransformerEps)), base + ".proj_in");
        const auto blk = base + ".tb.0";
        t = ggml_add(ctx, t, attention(ctx, layerNorm(ctx, t, blk + ".norm1"), blk + ".attn1", heads));
        t = ggml_add(ctx, t, attention(ctx, layerNorm(ctx, t, blk + ".norm2"), blk + ".attn2", heads));
        ggml_tensor* g = linear(ctx, layerNorm(ctx, t, blk + ".norm3"), blk + ".ff.net.0.proj");  // [8C, N]: hidden, then gate
        const auto inner = g->ne[0] / 2;
        ggml_tensor* hidden = ggml_cont(ctx, ggml_view_2d(ctx, g, inner, g->ne[1], g->nb[1], 0));
        ggml_tensor* gate = ggml_cont(ctx, ggml_view_2d(ctx, g, inner, g->ne[1], g->nb[1], inner * ggml_element_size(g)));
        t = ggml_add(ctx, t, linear(ctx, ggml_mul(ctx, ggml_gelu_erf(ctx, gate), hidden), blk + ".ff.net.2"));
        return ggml_add(ctx, x, tokensToImage(ctx, linear(ctx, t, base + ".proj_out"), x));
    }
    static ggml_tensor* tokensToImage(ggml_context* ctx, ggml_tensor* t, const ggml_tensor* like) { return graph::tokensToImage(ctx, t, like->ne[0], like->ne[1]); }

    // The whole UNet for one latent image x [W, H, Cin]; `tsin` is the timestep's sinusoidal
    // embedding [C0], `text` the class embedding's input [D].
    ggml_tensor* unet(ggml_context* ctx, ggml_tensor* x, ggml_tensor* tsin, ggml_tensor* text) const {
        const auto& c = config;
        const auto n = c.blockOutChannels.size();
        ggml_tensor* temb = linear(ctx, ggml_silu(ctx, linear(ctx, tsin, "time_embedding.linear_1")), "time_embedding.linear_2");
        ggml_tensor* emb = ggml_silu(ctx, ggml_concat(ctx, temb, linear(ctx, text, "class_embedding"), 0));  // [2T, 1]
        x = conv(ctx, x, "conv_in", 3);
        std::vector<ggml_tensor*> skips{x};
        for (std::size_t i = 0; i < n; ++i) {
            for (int j = 0; j < c.layersPerBlock; ++j) {
                x = resnet(ctx, x, emb, fmt::format("down_blocks.{}.resnets.{}", i, j));
                if (c.attention[i]) x = transformer(ctx, x, fmt::format("down_blocks.{}.attentions.{}", i, j), c.attentionHeads[i]);
                skips.push_back(x);
            }
            if (i + 1 < n) {
                x = conv(ctx, x, fmt::format("down_blocks.{}.downsamplers.0.conv", i), 3, 2);
                skips.push_back(x);
            }
        }
        x = resnet(ctx, x, emb, "mid_block.resnets.0");
        x = transformer(ctx, x, "mid_block.attentions.0", c.attentionHeads[n - 1]);
        x = resnet(ctx, x, emb, "mid_block.resnets.1");
        for (std::size_t i = 0; i < n; ++i) {
            const auto level = n - 1 - i;
            for (int j = 0; j <= c.layersPerBlock; ++j) {
                x = ggml_concat(ctx, x, skips.back(), 2);
                skips.pop_back();
                x = resnet(ctx, x, emb, fmt::format("up_blocks.{}.resnets.{}", i, j));
                if (c.attention[level]) x = transformer(ctx, x, fmt::format("up_blocks.{}.attentions.{}", i, j), c.attentionHeads[level]);
            }
            if (i + 1 < n) {  // nearest-neighbour to the next skip's size (x2, or one less where a side was odd)
                const ggml_tensor* next = skips.back();
                x = ggml_interpolate(ctx, x, next->ne[0], next->ne[1], x->ne[2], 1, GGML_SCALE_MODE_NEAREST);
                x = conv(ctx, x, fmt::format("up_blocks.{}.upsamplers.0.conv", i), 3);
            }
        }
        return conv(ctx, ggml_silu(ctx, groupNorm(ctx, x, "conv_norm_out", kResnetEps)), "conv_out", 3);
    }
};

AudioldmUnet::AudioldmUnet(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->ddim = readDdim(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

AudioldmUnet::~AudioldmUnet() = default;

const UnetConfig& AudioldmUnet::config() const { return impl_->config; }
const DdimConfig& AudioldmUnet::ddim() const { return impl_->ddim; }
std::uint64_t AudioldmUnet::weightBytes() const { return impl_->weights->dataBytes(); }

void AudioldmUnet::setCancelFlag(const std::atomic<bool>* flag) {
    ggml_backend_cpu_set_abort_callback(impl_->backend, flag ? +[](void* data) { return static_cast<const std::atomic<bool>*>(data)->load(); } : nullptr,
                                        const_cast<std::atomic<bool>*>(flag));
}

std::string AudioldmUnet::weightTypes() const {
    std::set<std::string> types;
    for (const auto& s : specFor(impl_->config)) types.insert(tensorTypeName(impl_->weights->type(s.name)));
    std::string out;
    for (auto it = types.rbegin(); it != types.rend(); ++it) out += (out.empty() ? "" : "+") + *it;
    return out;
}

std::vector<float> AudioldmUnet::predict(const std::vector<float>& latents, int rows, int columns, int timestep,
                                         const std::vector<std::vector<float>>& embeddings) {
    const auto& c = impl_->config;
    if (rows < 1 || rows > kMaxUnetLatentRows) throw std::invalid_argument(fmt::format("{} latent rows; the UNet takes 1 to {}", rows, kMaxUnetLatentRows));
    if (columns < 1 || columns > kMaxUnetLatentColumns)
        throw std::invalid_argument(fmt::format("{} latent columns; the UNet takes 1 to {}", columns, kMaxUnetLatentColumns));
    const std::size_t want = static_cast<std::size_t>(c.inChannels) * rows * columns;
    if (latents.size() != want)
        throw std::invalid_argument(fmt::format("{} latent values; {} channels x {} rows x {} columns need {}", latents.size(), c.inChannels, rows, columns, want));
    for (std::size_t i = 0; i < latents.size(); ++i)
        if (!std::isfinite(latents[i])) throw std::invalid_argument(fmt::format("latent value {} is not finite", i));
    if (timestep < 0 || timestep >= impl_->ddim.trainSteps)
        throw std::invalid_argument(fmt::format("timestep {}; allowed 0 to {}", timestep, impl_->ddim.trainSteps - 1));
    if (embeddings.empty() || embeddings.size() > kMaxUnetBatch)
        throw std::invalid_argument(fmt::format("{} embeddings; the UNet takes 1 to {} at once", embeddings.size(), kMaxUnetBatch));
    for (std::size_t b = 0; b < embeddings.size(); ++b) {
        if (embeddings[b].size() != static_cast<std::size_t>(c.classEmbedDim))
            throw std::invalid_argument(fmt::format("embedding {} has {} values; this UNet takes {}", b, embeddings[b].size(), c.classEmbedDim));
        for (float v : embeddings[b])
            if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("embedding {} holds a value that is not finite", b));
    }
    // diffusers' get_timestep_embedding (flip_sin_to_cos, shift 0) in float, as PyTorch computes it.
    const int half = c.blockOutChannels[0] / 2;
    std::vector<float> tsinValues(static_cast<std::size_t>(c.blockOutChannels[0]), 0.0f);
    for (int i = 0; i < half; ++i) {
        const float exponent = static_cast<float>(-std::log(10000.0)) * static_cast<float>(i) / static_cast<float>(half);
        const float arg = static_cast<float>(timestep) * std::exp(exponent);
        tsinValues[static_cast<std::size_t>(i)] = std::cos(arg);
        tsinValues[static_cast<std::size_t>(half + i)] = std::sin(arg);
    }
    constexpr std::size_t graphSize = 32768;
    auto ctx = graph::graphContext(graphSize, "UNet");
    ggml_tensor* z = ggml_new_tensor_3d(ctx.get(), GGML_TYPE_F32, columns, rows, c.inChannels);
    ggml_set_input(z);
    ggml_tensor* tsin = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, c.blockOutChannels[0]);
    ggml_set_input(tsin);
    std::vector<ggml_tensor*> texts, outs;
    ggml_cgraph* g = ggml_new_graph_custom(ctx.get(), graphSize, false);
    for (std::size_t b = 0; b < embeddings.size(); ++b) {
        texts.push_back(ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, c.classEmbedDim));
        ggml_set_input(texts.back());
        outs.push_back(impl_->unet(ctx.get(), z, tsin, texts.back()));
        ggml_set_output(outs.back());
        ggml_build_forward_expand(g, outs.back());
    }
    if (!ggml_gallocr_alloc_graph(impl_->allocator, g)) throw std::runtime_error("ggml: not enough memory for the UNet's graph");
    ggml_backend_tensor_set(z, latents.data(), 0, latents.size() * sizeof(float));
    ggml_backend_tensor_set(tsin, tsinValues.data(), 0, tsinValues.size() * sizeof(float));
    for (std::size_t b = 0; b < embeddings.size(); ++b) ggml_backend_tensor_set(texts[b], embeddings[b].data(), 0, embeddings[b].size() * sizeof(float));
    const auto status = ggml_backend_graph_compute(impl_->backend, g);
    if (status == GGML_STATUS_ABORTED) throw Cancelled();
    if (status != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the UNet's graph failed");
    const std::size_t each = static_cast<std::size_t>(c.outChannels) * rows * columns;
    std::vector<float> out(each * embeddings.size());
    for (std::size_t b = 0; b < outs.size(); ++b) ggml_backend_tensor_get(outs[b], out.data() + b * each, 0, each * sizeof(float));
    return out;
}

void AudioldmUnet::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

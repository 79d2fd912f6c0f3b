#include "models/ggml/VaeDecoder.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <cmath>
#include <stdexcept>

#include "models/ggml/GgufWeights.h"
#include "models/ggml/GraphOps.h"

namespace soundstar::models {
namespace {

constexpr float kEps = 1e-6f;  // the decoder's group norms

using graph::bad;

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) {
    return w.requireInt("vae." + key, lo, hi, "tools/audioldm_to_gguf.py");
}

VaeConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("audioldm_vae");
    VaeConfig c;
    c.latentChannels = metaInt(w, "latent_channels", 1, 64);
    metaInt(w, "out_channels", 1, 1);
    c.layersPerBlock = metaInt(w, "layers_per_block", 1, 8);
    c.normGroups = metaInt(w, "norm_num_groups", 1, 256);
    const auto chans = w.integers("vae.block_out_channels");
    if (!chans || chans->empty() || chans->size() > 6) bad(w.where(), "metadata vae.block_out_channels must list 1 to 6 channel counts");
    c.blockOutChannels.clear();
    for (auto ch : *chans) {
        if (ch < 1 || ch > 4096 || ch % c.normGroups != 0)
            bad(w.where(), fmt::format("metadata vae.block_out_channels holds {}; each is 1 to 4096 and a multiple of norm_num_groups ({})", ch, c.normGroups));
        c.blockOutChannels.push_back(static_cast<int>(ch));
    }
    return c;
}

std::vector<TensorSpec> specFor(const VaeConfig& c) {
    std::vector<TensorSpec> s;
    auto conv = [&](const std::string& base, std::int64_t out, std::int64_t in, std::int64_t k) {
        s.push_back({base + ".weight", {out, in, k, k}, false});
        s.push_back({base + ".bias", {out}, false});
    };
    auto norm = [&](const std::string& base, std::int64_t ch) {
        s.push_back({base + ".weight", {ch}, false});
        s.push_back({base + ".bias", {ch}, false});
    };
    auto resnet = [&](const std::string& base, std::int64_t in, std::int64_t out) {
        norm(base + ".norm1", in);
        conv(base + ".conv1", out, in, 3);
        norm(base + ".norm2", out);
        conv(base + ".conv2", out, out, 3);
        if (in != out) conv(base + ".conv_shortcut", out, in, 1);
    };
    const std::vector<int> chans(c.blockOutChannels.rbegin(), c.blockOutChannels.rend());
    conv("post_quant_conv", c.latentChannels, c.latentChannels, 1);
    conv("decoder.conv_in", chans[0], c.latentChannels, 3);
    resnet("decoder.mid_block.resnets.0", chans[0], chans[0]);
    norm("decoder.mid_block.attentions.0.group_norm", chans[0]);
    for (const char* p : {"to_q", "to_k", "to_v", "to_out.0"}) {
        s.push_back({fmt::format("decoder.mid_block.attentions.0.{}.weight", p), {chans[0], chans[0]}, false});
        s.push_back({fmt::format("decoder.mid_block.attentions.0.{}.bias", p), {chans[0]}, false});
    }
    resnet("decoder.mid_block.resnets.1", chans[0], chans[0]);
    for (std::size_t i = 0; i < chans.size(); ++i) {
        const int in = chans[i == 0 ? 0 : i - 1];
        for (int j = 0; j <= c.layersPerBlock; ++j) resnet(fmt::format("decoder.up_blocks.{}.resnets.{}", i, j), j == 0 ? in : chans[i], chans[i]);
        if (i + 1 < chans.size()) conv(fmt::format("decoder.up_blocks.{}.upsamplers.0.conv", i), chans[i], chans[i], 3);
    }
    norm("decoder.conv_norm_out", chans.back());
    conv("decoder.conv_out", 1, chans.back(), 3);
    return s;
}

}  // namespace

int VaeConfig::upscale() const { return 1 << (blockOutChannels.size() - 1); }

struct VaeDecoder::Impl {
    std::unique_ptr<GgufWeights> weights;
    VaeConfig config;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    // Activations are [width, height, channels] (PyTorch's (C, H, W) memory order).
    ggml_tensor* perChannel(ggml_context* ctx, const std::string& name) const { return graph::perChannel(ctx, w(name)); }
    ggml_tensor* conv(ggml_context* ctx, ggml_tensor* x, const std::string& base) const {
        ggml_tensor* k = w(base + ".weight");  // ne: kw, kh, in, out
        const int pad = static_cast<int>(k->ne[0] / 2);
        // ggml_conv_2d would round the columns to f16; im2col in f32 and one matrix product instead.
        ggml_tensor* cols = ggml_im2col(ctx, k, x, 1, 1, pad, pad, 1, 1, true, GGML_TYPE_F32);  // [in*kh*kw, width, height]
        ggml_tensor* y = ggml_mul_mat(ctx, ggml_reshape_2d(ctx, cols, cols->ne[0], cols->ne[1] * cols->ne[2]),
                                      ggml_reshape_2d(ctx, k, k->ne[0] * k->ne[1] * k->ne[2], k->ne[3]));  // [width*height, out]
        return ggml_add(ctx, ggml_reshape_3d(ctx, y, cols->ne[1], cols->ne[2], k->ne[3]), perChannel(ctx, base + ".bias"));
    }
    ggml_tensor* norm(ggml_context* ctx, ggml_tensor* x, const std::string& base) const {
        return graph::groupNorm(ctx, x, config.normGroups, kEps, w(base + ".weight"), w(base + ".bias"));
    }
    ggml_tensor* resnet(ggml_context* ctx, ggml_tensor* x, const std::string& base) const {
        ggml_tensor* h = conv(ctx, ggml_silu(ctx, norm(ctx, x, base + ".norm1")), base + ".conv1");
        h = conv(ctx, ggml_silu(ctx, norm(ctx, h, base + ".norm2")), base + ".conv2");
        const ggml_tensor* k = w(base + ".conv1.weight");  // ne: kw, kh, in, out
        return ggml_add(ctx, k->ne[2] != k->ne[3] ? conv(ctx, x, base + ".conv_shortcut") : x, h);
    }
    // One head over every position: softmax(q k^T / sqrt(C)) v, projected, plus the input.
    ggml_tensor* attention(ggml_context* ctx, ggml_tensor* x, const std::string& base) const {
        const auto width = x->ne[0], height = x->ne[1], ch = x->ne[2];
        ggml_tensor* t = graph::imageToTokens(ctx, norm(ctx, x, base + ".group_norm"));  // [C, HW]
        auto linear = [&](ggml_tensor* in, const char* p) {
            return ggml_add(ctx, ggml_mul_mat(ctx, w(fmt::format("{}.{}.weight", base, p)), in), w(fmt::format("{}.{}.bias", base, p)));
        };
        ggml_tensor* q = linear(t, "to_q");
        ggml_tensor* k = linear(t, "to_k");
        ggml_tensor* v = linear(t, "to_v");
        ggml_tensor* p = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, q), nullptr, 1.0f / std::sqrt(static_cast<float>(ch)), 0.0f);  // [keys, queries]
        ggml_tensor* o = linear(ggml_mul_mat(ctx, ggml_cont(ctx, ggml_transpose(ctx, v)), p), "to_out.0");  // [C, HW]
        return ggml_add(ctx, x, graph::tokensToImage(ctx, o, width, height));
    }
    ggml_tensor* decoder(ggml_context* ctx, ggml_tensor* z) const {
        ggml_tensor* x = conv(ctx, conv(ctx, z, "post_quant_conv"), "decoder.conv_in");
        x = resnet(ctx, x, "decoder.mid_block.resnets.0");
        x = attention(ctx, x, "decoder.mid_block.attentions.0");
        x = resnet(ctx, x, "decoder.mid_block.resnets.1");
        const auto blocks = config.blockOutChannels.size();
        for (std::size_t i = 0; i < blocks; ++i) {
            for (int j = 0; j <= config.layersPerBlock; ++j) x = resnet(ctx, x, fmt::format("decoder.up_blocks.{}.resnets.{}", i, j));
            if (i + 1 < blocks) x = conv(ctx, ggml_upscale(ctx, x, 2, GGML_SCALE_MODE_NEAREST), fmt::format("decoder.up_blocks.{}.upsamplers.0.conv", i));
        }
        return conv(ctx, ggml_silu(ctx, norm(ctx, x, "decoder.conv_norm_out")), "decoder.conv_out");
    }
};

VaeDecoder::VaeDecoder(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

VaeDecoder::~VaeDecoder() = default;

const VaeConfig& VaeDecoder::config() const { return impl_->config; }
std::uint64_t VaeDecoder::weightBytes() const { return impl_->weights->dataBytes(); }

std::vector<float> VaeDecoder::decode(const std::vector<float>& latents, int rows, int columns) {
    const auto& c = impl_->config;
    if (rows < 1 || rows > kMaxVaeLatentRows) throw std::invalid_argument(fmt::format("{} latent rows; this decoder takes 1 to {}", rows, kMaxVaeLatentRows));
    if (columns < 1 || columns > kMaxVaeLatentColumns)
        throw std::invalid_argument(fmt::format("{} latent columns; this decoder takes 1 to {}", columns, kMaxVaeLatentColumns));
    const std::size_t want = static_cast<std::size_t>(c.latentChannels) * rows * columns;
    if (latents.size() != want)
        throw std::invalid_argument(fmt::format("{} latent values; {} channels x {} rows x {} columns need {}", latents.size(), c.latentChannels, rows, columns, want));
    for (std::size_t i = 0; i < latents.size(); ++i)
        if (!std::isfinite(latents[i])) throw std::invalid_argument(fmt::format("latent value {} is not finite", i));
    constexpr std::size_t graphSize = 4096;
    ggml_init_params params{ggml_tensor_overhead() * graphSize + ggml_graph_overhead_custom(graphSize, false), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    if (!ctx) throw std::runtime_error("ggml: no memory for the VAE's graph");
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> owner(ctx, ggml_free);
    ggml_tensor* z = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, columns, rows, c.latentChannels);
    ggml_set_input(z);
    ggml_tensor* mel = impl_->decoder(ctx, z);  // [bins, frames, 1]
    ggml_set_output(mel);
    ggml_cgraph* graph = ggml_new_graph_custom(ctx, graphSize, false);
    ggml_build_forward_expand(graph, mel);
    if (!ggml_gallocr_alloc_graph(impl_->allocator, graph)) throw std::runtime_error("ggml: not enough memory to decode the latents");
    ggml_backend_tensor_set(z, latents.data(), 0, latents.size() * sizeof(float));
    if (ggml_backend_graph_compute(impl_->backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the VAE's graph failed");
    std::vector<float> out(static_cast<std::size_t>(ggml_nelements(mel)));
    ggml_backend_tensor_get(mel, out.data(), 0, out.size() * sizeof(float));
    return out;
}

void VaeDecoder::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

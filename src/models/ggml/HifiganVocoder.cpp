#include "models/ggml/HifiganVocoder.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "models/ggml/GgufWeights.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

constexpr float kSlope = 0.1f;       // leaky_relu_slope (the converter refuses others)
constexpr float kLastSlope = 0.01f;  // the leaky ReLU before conv_post: PyTorch's default slope
constexpr int kEdgeKernel = 7;       // conv_pre and conv_post

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi) {
    return w.requireInt("hifigan." + key, lo, hi, "tools/audioldm_to_gguf.py");
}

std::vector<int> metaList(const GgufWeights& w, const std::string& key, std::size_t maxCount, int lo, int hi) {
    const auto v = w.integers("hifigan." + key);
    if (!v || v->empty() || v->size() > maxCount) bad(w.where(), fmt::format("metadata hifigan.{} must list 1 to {} numbers", key, maxCount));
    std::vector<int> out;
    for (auto x : *v) {
        if (x < lo || x > hi) bad(w.where(), fmt::format("metadata hifigan.{} holds {}; each is {} to {}", key, x, lo, hi));
        out.push_back(static_cast<int>(x));
    }
    return out;
}

HifiganConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("hifigan");
    HifiganConfig c;
    c.melBins = metaInt(w, "model_in_dim", 1, 1024);
    c.sampleRateHz = metaInt(w, "sampling_rate", 8000, 192000);
    c.initialChannels = metaInt(w, "upsample_initial_channel", 1, 4096);
    c.upsampleRates = metaList(w, "upsample_rates", 8, 1, 32);
    c.upsampleKernels = metaList(w, "upsample_kernel_sizes", 8, 1, 64);
    if (c.upsampleKernels.size() != c.upsampleRates.size())
        bad(w.where(), fmt::format("hifigan.upsample_kernel_sizes lists {} kernels for {} upsample_rates", c.upsampleKernels.size(), c.upsampleRates.size()));
    for (std::size_t i = 0; i < c.upsampleRates.size(); ++i)
        if (c.upsampleKernels[i] < c.upsampleRates[i])
            bad(w.where(), fmt::format("upsampler {}: kernel {} is shorter than its rate {}", i, c.upsampleKernels[i], c.upsampleRates[i]));
    if ((c.initialChannels >> c.upsampleRates.size()) < 1) bad(w.where(), "upsample_initial_channel halves to nothing over the upsamplers");
    c.resblockKernels = metaList(w, "resblock_kernel_sizes", 8, 1, 63);
    const int perKernel = metaInt(w, "resblock_dilation_count", 1, 8);
    const auto flat = metaList(w, "resblock_dilation_sizes", 64, 1, 64);
    if (flat.size() != c.resblockKernels.size() * static_cast<std::size_t>(perKernel))
        bad(w.where(), fmt::format("hifigan.resblock_dilation_sizes lists {} dilations; {} kernels x {} need {}", flat.size(), c.resblockKernels.size(),
                                   perKernel, c.resblockKernels.size() * static_cast<std::size_t>(perKernel)));
    c.resblockDilations.clear();
    for (std::size_t k = 0; k < c.resblockKernels.size(); ++k)
        c.resblockDilations.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(k * perKernel), flat.begin() + static_cast<std::ptrdiff_t>((k + 1) * perKernel));
    c.normalizeBefore = w.flag("hifigan.normalize_before").value_or(false);
    return c;
}

// Every tensor, as tools/audioldm_to_gguf.py writes them: convs (out, in x kernel), transposed
// convs (out x kernel, in), so q8_0 blocks run along rows.
std::vector<TensorSpec> specFor(const HifiganConfig& c) {
    std::vector<TensorSpec> s;
    auto conv = [&](const std::string& base, std::int64_t out, std::int64_t in, std::int64_t k) {
        s.push_back({base + ".weight", {out, in * k}, true});
        s.push_back({base + ".bias", {out}, false});
    };
    s.push_back({"mean", {c.melBins}, false});
    s.push_back({"scale", {c.melBins}, false});
    std::int64_t ch = c.initialChannels;
    conv("conv_pre", ch, c.melBins, kEdgeKernel);
    int block = 0;
    for (std::size_t i = 0; i < c.upsampleRates.size(); ++i) {
        s.push_back({fmt::format("upsampler.{}.weight", i), {ch / 2 * c.upsampleKernels[i], ch}, true});
        s.push_back({fmt::format("upsampler.{}.bias", i), {ch / 2}, false});
        ch /= 2;
        for (std::size_t k = 0; k < c.resblockKernels.size(); ++k, ++block)
            for (std::size_t d = 0; d < c.resblockDilations[k].size(); ++d) {
                conv(fmt::format("resblocks.{}.convs1.{}", block, d), ch, ch, c.resblockKernels[k]);
                conv(fmt::format("resblocks.{}.convs2.{}", block, d), ch, ch, c.resblockKernels[k]);
            }
    }
    conv("conv_post", 1, ch, kEdgeKernel);
    return s;
}

}  // namespace

std::int64_t HifiganConfig::samplesFor(std::int64_t frames) const {
    std::int64_t n = frames;
    for (std::size_t i = 0; i < upsampleRates.size(); ++i) {
        const int r = upsampleRates[i], k = upsampleKernels[i];
        n = (n - 1) * r - 2 * ((k - r) / 2) + k;
    }
    return n;
}

struct HifiganVocoder::Impl {
    std::unique_ptr<GgufWeights> weights;
    HifiganConfig config;
    std::vector<float> mean, scale;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    // Conv1d, stride 1, zero padding (kernel*dilation - dilation)/2 on both sides, as
    // HiFi-GAN's get_padding: one im2col and a matrix product. x: [channels, time].
    ggml_tensor* conv(ggml_context* ctx, ggml_tensor* x, const std::string& base, int kernel, int dilation) const {
        ggml_tensor* k = w(base + ".weight");  // ne: in x kernel, out
        const auto in = k->ne[0] / kernel;
        const int padding = (kernel * dilation - dilation) / 2;
        ggml_tensor* shape = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, kernel, in);  // im2col reads only its sizes
        ggml_tensor* xt = ggml_cont(ctx, ggml_transpose(ctx, x));               // [time, in]
        ggml_tensor* cols = ggml_im2col(ctx, shape, xt, 1, 0, padding, 0, dilation, 0, false, GGML_TYPE_F32);  // [in*kernel, time]
        ggml_tensor* y = ggml_mul_mat(ctx, k, ggml_reshape_2d(ctx, cols, cols->ne[0], cols->ne[1]));
        return ggml_add(ctx, y, w(base + ".bias"));
    }

    // ConvTranspose1d(kernel, stride, padding (kernel - stride)/2): one matrix product gives each
    // input frame's kernel x out contributions; the kernel, padded to m whole strides, splits
    // into m slices, each laid out over time and shifted one stride further; their sum, trimmed
    // by the padding, is PyTorch's output ((frames-1)*stride - 2*padding + kernel long).
    ggml_tensor* upsample(ggml_context* ctx, ggml_tensor* x, std::size_t i) const {
        ggml_tensor* k = w(fmt::format("upsampler.{}.weight", i));  // ne: in, out x kernel
        const int stride = config.upsampleRates[i], kernel = config.upsampleKernels[i];
        const int slices = (kernel + stride - 1) / stride, padding = (kernel - stride) / 2;
        const std::int64_t out = k->ne[1] / kernel, frames = x->ne[1];
        ggml_tensor* y = ggml_reshape_3d(ctx, ggml_mul_mat(ctx, k, x), kernel, out, frames);
        if (slices * stride != kernel) y = ggml_pad_ext(ctx, y, 0, slices * stride - kernel, 0, 0, 0, 0, 0, 0);
        ggml_tensor* sum = nullptr;
        for (int c = 0; c < slices; ++c) {
            ggml_tensor* v = ggml_view_3d(ctx, y, stride, out, frames, y->nb[1], y->nb[2], static_cast<std::size_t>(c) * stride * sizeof(float));
            ggml_tensor* laid = ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, v, 1, 0, 2, 3)), out, stride * frames);  // [out, stride*frames]
            laid = ggml_pad_ext(ctx, laid, 0, 0, c * stride, (slices - 1 - c) * stride, 0, 0, 0, 0);
            sum = sum ? ggml_add(ctx, sum, laid) : laid;
        }
        const std::int64_t length = (frames - 1) * stride - 2 * padding + kernel;
        ggml_tensor* trimmed = ggml_view_2d(ctx, sum, out, length, sum->nb[1], static_cast<std::size_t>(padding) * sum->nb[1]);
        return ggml_add(ctx, trimmed, w(fmt::format("upsampler.{}.bias", i)));
    }

    ggml_tensor* resblock(ggml_context* ctx, ggml_tensor* x, int block, std::size_t kind) const {
        const int kernel = config.resblockKernels[kind];
        for (std::size_t d = 0; d < config.resblockDilations[kind].size(); ++d) {
            ggml_tensor* h = conv(ctx, ggml_leaky_relu(ctx, x, kSlope, false), fmt::format("resblocks.{}.convs1.{}", block, d), kernel, config.resblockDilations[kind][d]);
            h = conv(ctx, ggml_leaky_relu(ctx, h, kSlope, false), fmt::format("resblocks.{}.convs2.{}", block, d), kernel, 1);
            x = ggml_add(ctx, x, h);
        }
        return x;
    }

    ggml_tensor* generator(ggml_context* ctx, ggml_tensor* mel) const {
        ggml_tensor* x = conv(ctx, mel, "conv_pre", kEdgeKernel, 1);
        const auto kinds = config.resblockKernels.size();
        int block = 0;
        for (std::size_t i = 0; i < config.upsampleRates.size(); ++i) {
            x = upsample(ctx, ggml_leaky_relu(ctx, x, kSlope, false), i);
            ggml_tensor* sum = nullptr;
            for (std::size_t k = 0; k < kinds; ++k, ++block) {
                ggml_tensor* r = resblock(ctx, x, block, k);
                sum = sum ? ggml_add(ctx, sum, r) : r;
            }
            x = ggml_scale(ctx, sum, 1.0f / static_cast<float>(kinds));
        }
        return ggml_tanh(ctx, conv(ctx, ggml_leaky_relu(ctx, x, kLastSlope, false), "conv_post", kEdgeKernel, 1));
    }
};

HifiganVocoder::HifiganVocoder(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    const auto bins = static_cast<std::size_t>(impl_->config.melBins);
    impl_->mean.resize(bins);
    impl_->scale.resize(bins);
    ggml_tensor* mean = impl_->w("mean");
    ggml_tensor* scale = impl_->w("scale");
    std::memcpy(impl_->mean.data(), mean->data, bins * sizeof(float));
    std::memcpy(impl_->scale.data(), scale->data, bins * sizeof(float));
    if (impl_->config.normalizeBefore)
        for (std::size_t m = 0; m < bins; ++m)
            if (!std::isfinite(impl_->mean[m]) || !std::isfinite(impl_->scale[m]) || impl_->scale[m] == 0.0f)
                bad(gguf.string(), fmt::format("mel bin {}: mean {} and scale {} cannot normalise (finite, scale not 0)", m, impl_->mean[m], impl_->scale[m]));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

HifiganVocoder::~HifiganVocoder() = default;

const HifiganConfig& HifiganVocoder::config() const { return impl_->config; }
std::uint64_t HifiganVocoder::weightBytes() const { return impl_->weights->dataBytes(); }

std::string HifiganVocoder::weightTypes() const {
    std::set<std::string> types;
    for (const auto& s : specFor(impl_->config)) types.insert(tensorTypeName(impl_->weights->type(s.name)));
    std::string out;
    for (auto it = types.rbegin(); it != types.rend(); ++it) out += (out.empty() ? "" : "+") + *it;
    return out;
}

std::vector<float> HifiganVocoder::vocode(const std::vector<float>& mel, int frames) {
    const auto& c = impl_->config;
    if (frames < 1 || frames > kMaxHifiganFrames) throw std::invalid_argument(fmt::format("{} mel frames; this vocoder takes 1 to {}", frames, kMaxHifiganFrames));
    const auto bins = static_cast<std::size_t>(c.melBins);
    if (mel.size() != bins * static_cast<std::size_t>(frames))
        throw std::invalid_argument(fmt::format("{} mel values; {} frames x {} bins need {}", mel.size(), frames, bins, bins * static_cast<std::size_t>(frames)));
    std::vector<float> input(mel.size());
    for (std::size_t i = 0; i < mel.size(); ++i) {
        if (!std::isfinite(mel[i])) throw std::invalid_argument(fmt::format("mel value {} (frame {}, bin {}) is not finite", i, i / bins, i % bins));
        input[i] = c.normalizeBefore ? (mel[i] - impl_->mean[i % bins]) / impl_->scale[i % bins] : mel[i];
    }
    constexpr std::size_t graphSize = 16384;
    ggml_init_params params{ggml_tensor_overhead() * graphSize + ggml_graph_overhead_custom(graphSize, false), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    if (!ctx) throw std::runtime_error("ggml: no memory for the vocoder's graph");
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> owner(ctx, ggml_free);
    ggml_tensor* x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, c.melBins, frames);  // [bins, frames]: the frame-major input as is
    ggml_set_input(x);
    ggml_tensor* audio = impl_->generator(ctx, x);  // [1, samples]
    ggml_set_output(audio);
    ggml_cgraph* graph = ggml_new_graph_custom(ctx, graphSize, false);
    ggml_build_forward_expand(graph, audio);
    if (!ggml_gallocr_alloc_graph(impl_->allocator, graph)) throw std::runtime_error("ggml: not enough memory to vocode");
    ggml_backend_tensor_set(x, input.data(), 0, input.size() * sizeof(float));
    if (ggml_backend_graph_compute(impl_->backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the vocoder's graph failed");
    std::vector<float> out(static_cast<std::size_t>(ggml_nelements(audio)));
    ggml_backend_tensor_get(audio, out.data(), 0, out.size() * sizeof(float));
    return out;
}

void HifiganVocoder::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

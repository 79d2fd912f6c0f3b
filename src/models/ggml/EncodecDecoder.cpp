#include "models/ggml/EncodecDecoder.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "models/ggml/GgufWeights.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

int metaInt(const GgufWeights& w, const std::string& key, int lo, int hi, std::optional<int> fallback = std::nullopt) {
    if (fallback && !w.integer("encodec." + key)) return *fallback;
    return w.requireInt("encodec." + key, lo, hi, "tools/encodec_to_gguf.py");
}

EncodecConfig readConfig(const GgufWeights& w) {
    w.requireArchitecture("encodec");
    if (w.flag("encodec.use_causal_conv").value_or(false))
        bad(w.where(), "encodec.use_causal_conv is true; this decoder runs the non-causal (reflect-padded) EnCodec that MusicGen uses");
    EncodecConfig c;
    c.sampleRateHz = metaInt(w, "sample_rate", 8000, 192000);
    c.audioChannels = metaInt(w, "audio_channels", 1, 2);
    c.codebooks = metaInt(w, "codebooks", 1, 32);
    c.codebookSize = metaInt(w, "codebook_size", 2, 65536);
    c.hiddenSize = metaInt(w, "hidden_size", 1, 4096);
    c.numFilters = metaInt(w, "num_filters", 1, 1024);
    c.kernelSize = metaInt(w, "kernel_size", 1, 31);
    c.lastKernelSize = metaInt(w, "last_kernel_size", 1, 31);
    c.residualKernelSize = metaInt(w, "residual_kernel_size", 1, 31);
    c.dilationGrowthRate = metaInt(w, "dilation_growth_rate", 1, 8);
    c.numResidualLayers = metaInt(w, "num_residual_layers", 1, 8);
    c.numLstmLayers = metaInt(w, "num_lstm_layers", 0, 4);
    c.compress = metaInt(w, "compress", 1, 8);
    c.useConvShortcut = w.flag("encodec.use_conv_shortcut").value_or(false);
    const auto ratios = w.integers("encodec.upsampling_ratios");
    if (!ratios || ratios->empty() || ratios->size() > 8) bad(w.where(), "metadata encodec.upsampling_ratios must list 1 to 8 strides");
    c.upsamplingRatios.clear();
    for (auto r : *ratios) {
        if (r < 1 || r > 32) bad(w.where(), fmt::format("metadata encodec.upsampling_ratios holds {}; each stride is 1 to 32", r));
        c.upsamplingRatios.push_back(static_cast<int>(r));
    }
    if ((c.numFilters << c.upsamplingRatios.size()) > 8192) bad(w.where(), "num_filters x 2^strides is over 8192 channels");
    return c;
}

std::string layer(int i) { return fmt::format("decoder.layers.{}", i); }

// Every tensor the decoder needs, in PyTorch's order. Conv weights are 2-D so that q8_0 blocks
// run along whole rows: (out, in x kernel) for convs, (out x kernel, in) for transposed convs.
std::vector<TensorSpec> specFor(const EncodecConfig& c) {
    std::vector<TensorSpec> s;
    auto conv = [&](const std::string& base, std::int64_t out, std::int64_t in, std::int64_t k) {
        s.push_back({base + ".conv.weight", {out, in * k}, true});
        s.push_back({base + ".conv.bias", {out}, false});
    };
    for (int q = 0; q < c.codebooks; ++q) s.push_back({fmt::format("quantizer.layers.{}.codebook.embed", q), {c.codebookSize, c.hiddenSize}, false});
    std::int64_t ch = static_cast<std::int64_t>(c.numFilters) << c.upsamplingRatios.size();
    conv(layer(0), ch, c.hiddenSize, c.kernelSize);
    for (int l = 0; l < c.numLstmLayers; ++l) {
        s.push_back({fmt::format("{}.lstm.weight_ih_l{}", layer(1), l), {4 * ch, ch}, true});
        s.push_back({fmt::format("{}.lstm.weight_hh_l{}", layer(1), l), {4 * ch, ch}, true});
        s.push_back({fmt::format("{}.lstm.bias_l{}", layer(1), l), {4 * ch}, false});
    }
    int at = 2;
    for (int ratio : c.upsamplingRatios) {
        s.push_back({layer(at + 1) + ".conv.weight", {ch / 2 * 2 * ratio, ch}, true});
        s.push_back({layer(at + 1) + ".conv.bias", {ch / 2}, false});
        ch /= 2;
        for (int j = 0; j < c.numResidualLayers; ++j) {
            const auto base = layer(at + 2 + j);
            conv(base + ".block.1", ch / c.compress, ch, c.residualKernelSize);
            conv(base + ".block.3", ch, ch / c.compress, 1);
            if (c.useConvShortcut) conv(base + ".shortcut", ch, ch, 1);
        }
        at += 2 + c.numResidualLayers;
    }
    conv(layer(at + 1), c.audioChannels, c.numFilters, c.lastKernelSize);
    return s;
}

// Every index in [0, codebookSize); codes holds codebooks x frames.
void checkCodes(const EncodecConfig& c, const std::vector<std::int32_t>& codes, int frames) {
    if (codes.size() != static_cast<std::size_t>(c.codebooks) * frames)
        throw std::invalid_argument(fmt::format("{} codes; {} codebooks x {} frames need {}", codes.size(), c.codebooks, frames, c.codebooks * frames));
    for (std::size_t i = 0; i < codes.size(); ++i)
        if (codes[i] < 0 || codes[i] >= c.codebookSize)
            throw std::invalid_argument(fmt::format("code {} (codebook {}, frame {}) is {}; allowed 0 to {}", i, i / frames, i % frames, codes[i], c.codebookSize - 1));
}

struct ContextDeleter {
    void operator()(ggml_context* c) const { ggml_free(c); }
};
using Context = std::unique_ptr<ggml_context, ContextDeleter>;

Context graphContext(std::size_t nodes) {
    ggml_init_params p{ggml_tensor_overhead() * nodes + ggml_graph_overhead_custom(nodes, false), nullptr, true};
    Context ctx(ggml_init(p));
    if (!ctx) throw std::runtime_error("ggml: no memory for the decoder's graph");
    return ctx;
}

}  // namespace

int EncodecConfig::hopLength() const {
    int hop = 1;
    for (int r : upsamplingRatios) hop *= r;
    return hop;
}

struct EncodecDecoder::Impl {
    std::unique_ptr<GgufWeights> weights;
    EncodecConfig config;
    ggml_backend_t backend = nullptr;
    ggml_gallocr_t allocator = nullptr;
    ~Impl() {
        if (allocator) ggml_gallocr_free(allocator);
        if (backend) ggml_backend_free(backend);
    }
    ggml_tensor* w(const std::string& name) const { return weights->tensor(name); }

    // Stride-1 conv with reflect padding split as Hugging Face's non-causal EncodecConv1d does.
    ggml_tensor* conv(ggml_context* ctx, ggml_tensor* x, const std::string& base, int kernel, int dilation) const {
        ggml_tensor* k = w(base + ".conv.weight");  // ne: in x kernel, out
        const auto in = k->ne[0] / kernel;
        ggml_tensor* y = nullptr;
        if (kernel == 1) {
            y = ggml_mul_mat(ctx, k, x);
        } else {
            const int total = dilation * (kernel - 1), right = total / 2, left = total - right;
            ggml_tensor* shape = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, kernel, in);  // im2col reads only its sizes
            ggml_tensor* xt = ggml_pad_reflect_1d(ctx, ggml_cont(ctx, ggml_transpose(ctx, x)), left, right);  // [time, in]
            ggml_tensor* cols = ggml_im2col(ctx, shape, xt, 1, 0, 0, 0, dilation, 0, false, GGML_TYPE_F32);  // [in*kernel, time]
            y = ggml_mul_mat(ctx, k, ggml_reshape_2d(ctx, cols, cols->ne[0], cols->ne[1]));
        }
        return ggml_add(ctx, y, w(base + ".conv.bias"));
    }

    // Transposed conv (kernel = 2 x stride) as one matrix product and an overlap-add of its two
    // halves, trimmed like the non-causal EncodecConvTranspose1d.
    ggml_tensor* upsample(ggml_context* ctx, ggml_tensor* x, const std::string& base, int stride) const {
        ggml_tensor* k = w(base + ".conv.weight");  // ne: in, kernel x out
        const std::int64_t kernel = 2 * stride, out = k->ne[1] / kernel, frames = x->ne[1];
        ggml_tensor* y = ggml_mul_mat(ctx, k, x);  // [kernel*out, frames]
        auto half = [&](int first) {
            ggml_tensor* v = ggml_view_3d(ctx, y, stride, out, frames, kernel * sizeof(float), kernel * out * sizeof(float), first * sizeof(float));
            return ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, v, 1, 0, 2, 3)), out, stride * frames);
        };
        ggml_tensor* sum = ggml_add(ctx, ggml_pad_ext(ctx, half(0), 0, 0, 0, stride, 0, 0, 0, 0), ggml_pad_ext(ctx, half(stride), 0, 0, stride, 0, 0, 0, 0, 0));
        const int left = stride - stride / 2;
        ggml_tensor* trimmed = ggml_view_2d(ctx, sum, out, frames * stride, sum->nb[1], left * sum->nb[1]);
        return ggml_add(ctx, trimmed, w(base + ".conv.bias"));
    }

    // The LSTM over x [hidden, frames] plus its skip. `state`, when given, carries each layer's
    // h and c in (inputs; none on a stream's first piece) and out (outputs) for streaming.
    struct LstmState {
        std::vector<ggml_tensor*> hIn, cIn, hOut, cOut;
    };
    ggml_tensor* lstm(ggml_context* ctx, ggml_tensor* x, LstmState* state = nullptr) const {
        const auto hidden = x->ne[0], frames = x->ne[1];
        ggml_tensor* in = x;
        for (int l = 0; l < config.numLstmLayers; ++l) {
            const auto name = [&](const char* what) { return fmt::format("{}.lstm.{}_l{}", layer(1), what, l); };
            ggml_tensor* gates = ggml_add(ctx, ggml_mul_mat(ctx, w(name("weight_ih")), in), w(name("bias")));  // [4h, frames]
            ggml_tensor* whh = w(name("weight_hh"));
            ggml_tensor* out = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, hidden, frames);
            ggml_tensor *h = nullptr, *c = nullptr;
            if (state && !state->hIn.empty()) h = state->hIn[l], c = state->cIn[l];
            const std::size_t f = sizeof(float);
            for (std::int64_t t = 0; t < frames; ++t) {
                ggml_tensor* g = ggml_view_1d(ctx, gates, 4 * hidden, t * 4 * hidden * f);
                if (h) g = ggml_add(ctx, g, ggml_mul_mat(ctx, whh, h));
                ggml_tensor* i = ggml_sigmoid(ctx, ggml_view_1d(ctx, g, hidden, 0));
                ggml_tensor* fg = ggml_sigmoid(ctx, ggml_view_1d(ctx, g, hidden, hidden * f));
                ggml_tensor* cand = ggml_tanh(ctx, ggml_view_1d(ctx, g, hidden, 2 * hidden * f));
                ggml_tensor* o = ggml_sigmoid(ctx, ggml_view_1d(ctx, g, hidden, 3 * hidden * f));
                c = c ? ggml_add(ctx, ggml_mul(ctx, fg, c), ggml_mul(ctx, i, cand)) : ggml_mul(ctx, i, cand);
                h = ggml_mul(ctx, o, ggml_tanh(ctx, c));
                out = ggml_set_1d_inplace(ctx, out, h, t * hidden * f);
            }
            if (state) state->hOut.push_back(h), state->cOut.push_back(c);
            in = out;
        }
        return config.numLstmLayers > 0 ? ggml_add(ctx, in, x) : x;
    }

    ggml_tensor* decoder(ggml_context* ctx, ggml_tensor* latents) const { return back(ctx, lstm(ctx, conv(ctx, latents, layer(0), config.kernelSize, 1))); }

    // Everything after the LSTM: a stack of convolutions, so a window of its input with enough
    // frames either side gives exactly the samples of the whole sequence's decode.
    ggml_tensor* back(ggml_context* ctx, ggml_tensor* x) const {
        int at = 2;
        for (int ratio : config.upsamplingRatios) {
            x = upsample(ctx, ggml_elu(ctx, x), layer(at + 1), ratio);
            for (int j = 0; j < config.numResidualLayers; ++j) {
                const auto base = layer(at + 2 + j);
                int dilation = 1;
                for (int d = 0; d < j; ++d) dilation *= config.dilationGrowthRate;
                ggml_tensor* h = conv(ctx, ggml_elu(ctx, x), base + ".block.1", config.residualKernelSize, dilation);
                h = conv(ctx, ggml_elu(ctx, h), base + ".block.3", 1, 1);
                x = ggml_add(ctx, config.useConvShortcut ? conv(ctx, x, base + ".shortcut", 1, 1) : x, h);
            }
            at += 2 + config.numResidualLayers;
        }
        return conv(ctx, ggml_elu(ctx, x), layer(at + 1), config.lastKernelSize, 1);
    }
};

EncodecDecoder::EncodecDecoder(const std::filesystem::path& gguf, int threads) : impl_(std::make_unique<Impl>()) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    impl_->weights = std::make_unique<GgufWeights>(gguf);
    impl_->config = readConfig(*impl_->weights);
    impl_->weights->check(specFor(impl_->config));
    impl_->backend = ggml_backend_cpu_init();
    if (!impl_->backend) bad(gguf.string(), "the ggml CPU backend did not start");
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
    impl_->allocator = ggml_gallocr_new(ggml_backend_get_default_buffer_type(impl_->backend));
}

EncodecDecoder::~EncodecDecoder() = default;

const EncodecConfig& EncodecDecoder::config() const { return impl_->config; }
std::uint64_t EncodecDecoder::weightBytes() const { return impl_->weights->dataBytes(); }

std::string EncodecDecoder::weightTypes() const {
    std::set<std::string> types;
    for (const auto& s : specFor(impl_->config)) types.insert(tensorTypeName(impl_->weights->type(s.name)));
    std::string out;
    for (auto it = types.rbegin(); it != types.rend(); ++it) out += (out.empty() ? "" : "+") + *it;
    return out;
}

int EncodecDecoder::minFrames() const {
    const auto& c = impl_->config;
    auto need = [](int pad, int scale) { return pad / scale + 1; };  // frames * scale > pad
    int frames = need(c.kernelSize / 2, 1);
    int scale = 1, dilation = 1;
    for (int j = 1; j < c.numResidualLayers; ++j) dilation *= c.dilationGrowthRate;
    for (int r : c.upsamplingRatios) {
        scale *= r;
        const int total = dilation * (c.residualKernelSize - 1);
        frames = std::max(frames, need(total - total / 2, scale));
    }
    return std::max(frames, need(c.lastKernelSize - 1 - (c.lastKernelSize - 1) / 2, scale));
}

std::vector<float> EncodecDecoder::decode(const std::vector<std::int32_t>& codes, int frames) {
    const auto& c = impl_->config;
    if (frames < minFrames() || frames > kMaxEncodecFrames)
        throw std::invalid_argument(fmt::format("{} code frames; this decoder takes {} to {}", frames, minFrames(), kMaxEncodecFrames));
    checkCodes(c, codes, frames);

    const std::size_t graphSize = 4096 + static_cast<std::size_t>(frames) * std::max(1, c.numLstmLayers) * 24;
    ggml_init_params params{ggml_tensor_overhead() * graphSize + ggml_graph_overhead_custom(graphSize, false), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    if (!ctx) throw std::runtime_error("ggml: no memory for the decoder's graph");
    std::unique_ptr<ggml_context, void (*)(ggml_context*)> owner(ctx, ggml_free);
    std::vector<ggml_tensor*> ids;
    ggml_tensor* latents = nullptr;
    for (int q = 0; q < c.codebooks; ++q) {
        ids.push_back(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, frames));
        ggml_set_input(ids.back());
        ggml_tensor* e = ggml_get_rows(ctx, impl_->w(fmt::format("quantizer.layers.{}.codebook.embed", q)), ids.back());  // [hidden, frames]
        latents = latents ? ggml_add(ctx, latents, e) : e;
    }
    ggml_tensor* audio = impl_->decoder(ctx, latents);  // [channels, samples]
    ggml_set_output(audio);
    ggml_cgraph* graph = ggml_new_graph_custom(ctx, graphSize, false);
    ggml_build_forward_expand(graph, audio);
    if (!ggml_gallocr_alloc_graph(impl_->allocator, graph)) throw std::runtime_error("ggml: not enough memory to decode");
    for (int q = 0; q < c.codebooks; ++q) ggml_backend_tensor_set(ids[q], codes.data() + static_cast<std::size_t>(q) * frames, 0, frames * sizeof(std::int32_t));
    if (ggml_backend_graph_compute(impl_->backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the decoder's graph failed");
    std::vector<float> out(ggml_nelements(audio));
    ggml_backend_tensor_get(audio, out.data(), 0, out.size() * sizeof(float));
    return out;
}

// The stream: codes -> (window of latents) conv -> LSTM with carried state -> kept frames ->
// (window with a halo) the convolutions after the LSTM -> final samples.
struct EncodecStream::State {
    EncodecDecoder::Impl& im;
    int minFrames = 1;
    int halo = 1;                                  // backHaloFrames()
    std::vector<std::vector<std::int32_t>> codes;  // per codebook, every frame so far
    int total = 0;
    bool finished = false;
    int lstmDone = 0;                      // frames through the first conv and the LSTM
    std::vector<std::vector<float>> h, c;  // each LSTM layer's state; empty before the first piece
    std::vector<float> lstmOut;            // [width, frames] of the LSTM's output from lstmBase to lstmDone
    int lstmBase = 0;
    int emitted = 0;

    State(EncodecDecoder::Impl& impl, int minimum) : im(impl), minFrames(minimum) {
        const auto& cf = im.config;
        codes.resize(static_cast<std::size_t>(cf.codebooks));
        int r = cf.lastKernelSize;  // samples of context at the output's rate, rounded up at every layer
        for (auto it = cf.upsamplingRatios.rbegin(); it != cf.upsamplingRatios.rend(); ++it) {
            for (int j = 0, dilation = 1; j < cf.numResidualLayers; ++j, dilation *= cf.dilationGrowthRate) r += dilation * (cf.residualKernelSize - 1);
            r = (r + *it - 1) / *it + 2;  // a transposed conv's sample reads its frame and the one before
        }
        halo = r + 1;
    }

    int width() const { return im.config.numFilters << im.config.upsamplingRatios.size(); }

    // Runs the first conv over a window of latents and the LSTM over frames [lstmDone, to).
    void runFront(int to) {
        const auto& cf = im.config;
        const int total0 = cf.kernelSize - 1, frontMin = total0 - total0 / 2 + 1;
        const int ws = std::max(0, std::min(lstmDone - cf.kernelSize, total - frontMin)), n = total - ws, m = to - lstmDone;
        Context ctx = graphContext(4096 + static_cast<std::size_t>(m) * std::max(1, cf.numLstmLayers) * 24);
        std::vector<ggml_tensor*> ids;
        ggml_tensor* latents = nullptr;
        for (int q = 0; q < cf.codebooks; ++q) {
            ids.push_back(ggml_new_tensor_1d(ctx.get(), GGML_TYPE_I32, n));
            ggml_set_input(ids.back());
            ggml_tensor* e = ggml_get_rows(ctx.get(), im.w(fmt::format("quantizer.layers.{}.codebook.embed", q)), ids.back());
            latents = latents ? ggml_add(ctx.get(), latents, e) : e;
        }
        ggml_tensor* y = im.conv(ctx.get(), latents, layer(0), cf.kernelSize, 1);  // [width, n]
        ggml_tensor* x = ggml_cont(ctx.get(), ggml_view_2d(ctx.get(), y, y->ne[0], m, y->nb[1], static_cast<std::size_t>(lstmDone - ws) * y->nb[1]));
        EncodecDecoder::Impl::LstmState st;
        for (std::size_t l = 0; l < h.size(); ++l) {
            st.hIn.push_back(ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, width()));
            st.cIn.push_back(ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, width()));
            ggml_set_input(st.hIn.back()), ggml_set_input(st.cIn.back());
        }
        ggml_tensor* out = im.lstm(ctx.get(), x, &st);
        ggml_set_output(out);
        ggml_cgraph* graph = ggml_new_graph_custom(ctx.get(), 4096 + static_cast<std::size_t>(m) * std::max(1, cf.numLstmLayers) * 24, false);
        ggml_build_forward_expand(graph, out);
        for (auto* t : st.hOut) ggml_set_output(t), ggml_build_forward_expand(graph, t);
        for (auto* t : st.cOut) ggml_set_output(t), ggml_build_forward_expand(graph, t);
        if (!ggml_gallocr_alloc_graph(im.allocator, graph)) throw std::runtime_error("ggml: not enough memory to decode");
        for (int q = 0; q < cf.codebooks; ++q) ggml_backend_tensor_set(ids[q], codes[q].data() + ws, 0, static_cast<std::size_t>(n) * sizeof(std::int32_t));
        for (std::size_t l = 0; l < h.size(); ++l) {
            ggml_backend_tensor_set(st.hIn[l], h[l].data(), 0, h[l].size() * sizeof(float));
            ggml_backend_tensor_set(st.cIn[l], c[l].data(), 0, c[l].size() * sizeof(float));
        }
        if (ggml_backend_graph_compute(im.backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the decoder's graph failed");
        const std::size_t at = lstmOut.size();
        lstmOut.resize(at + static_cast<std::size_t>(ggml_nelements(out)));
        ggml_backend_tensor_get(out, lstmOut.data() + at, 0, static_cast<std::size_t>(ggml_nelements(out)) * sizeof(float));
        h.resize(st.hOut.size()), c.resize(st.cOut.size());
        for (std::size_t l = 0; l < st.hOut.size(); ++l) {
            h[l].resize(static_cast<std::size_t>(width())), c[l].resize(static_cast<std::size_t>(width()));
            ggml_backend_tensor_get(st.hOut[l], h[l].data(), 0, h[l].size() * sizeof(float));
            ggml_backend_tensor_get(st.cOut[l], c[l].data(), 0, c[l].size() * sizeof(float));
        }
        lstmDone = to;
    }

    // The samples of frames [emitted, to) from a window of the LSTM's output with a halo.
    std::vector<float> runBack(int to) {
        const auto& cf = im.config;
        const int bs = std::max(0, std::min(emitted - halo, lstmDone - minFrames)), n = lstmDone - bs;
        const std::size_t w = static_cast<std::size_t>(width());
        Context ctx = graphContext(4096);
        ggml_tensor* in = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, width(), n);
        ggml_set_input(in);
        ggml_tensor* audio = im.back(ctx.get(), in);  // [channels, samples]
        ggml_set_output(audio);
        ggml_cgraph* graph = ggml_new_graph_custom(ctx.get(), 4096, false);
        ggml_build_forward_expand(graph, audio);
        if (!ggml_gallocr_alloc_graph(im.allocator, graph)) throw std::runtime_error("ggml: not enough memory to decode");
        ggml_backend_tensor_set(in, lstmOut.data() + static_cast<std::size_t>(bs - lstmBase) * w, 0, static_cast<std::size_t>(n) * w * sizeof(float));
        if (ggml_backend_graph_compute(im.backend, graph) != GGML_STATUS_SUCCESS) throw std::runtime_error("ggml: the decoder's graph failed");
        const std::size_t perFrame = static_cast<std::size_t>(cf.hopLength()) * static_cast<std::size_t>(cf.audioChannels);
        std::vector<float> out(static_cast<std::size_t>(to - emitted) * perFrame);
        ggml_backend_tensor_get(audio, out.data(), static_cast<std::size_t>(emitted - bs) * perFrame * sizeof(float), out.size() * sizeof(float));
        emitted = to;
        // Keep what the next window can reach back to.
        const int keep = std::max(0, emitted - halo - minFrames);
        if (keep > lstmBase) {
            lstmOut.erase(lstmOut.begin(), lstmOut.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(keep - lstmBase) * w));
            lstmBase = keep;
        }
        return out;
    }

    std::vector<float> advance() {
        const auto& cf = im.config;
        const int right0 = (cf.kernelSize - 1) / 2, frontMin = cf.kernelSize - 1 - right0 + 1;
        const int frontTo = finished ? total : total - right0;
        if (frontTo > lstmDone && total >= frontMin) runFront(frontTo);
        const int backTo = finished ? total : lstmDone - halo;
        if (backTo > emitted && lstmDone >= minFrames) return runBack(backTo);
        return {};
    }
};

EncodecStream::EncodecStream(EncodecDecoder& decoder) : state_(std::make_unique<State>(*decoder.impl_, decoder.minFrames())) {}
EncodecStream::~EncodecStream() = default;

std::vector<float> EncodecStream::push(const std::vector<std::int32_t>& codes, int frames) {
    auto& s = *state_;
    if (s.finished) throw std::logic_error("EncodecStream::push after finish()");
    if (frames < 0 || frames > kMaxEncodecFrames - s.total)
        throw std::invalid_argument(fmt::format("{} more code frames after {}; a stream takes at most {} in all", frames, s.total, kMaxEncodecFrames));
    checkCodes(s.im.config, codes, frames);
    for (int q = 0; q < s.im.config.codebooks; ++q)
        s.codes[q].insert(s.codes[q].end(), codes.begin() + static_cast<std::ptrdiff_t>(q) * frames, codes.begin() + static_cast<std::ptrdiff_t>(q + 1) * frames);
    s.total += frames;
    return s.advance();
}

std::vector<float> EncodecStream::finish() {
    auto& s = *state_;
    if (s.finished) throw std::logic_error("EncodecStream::finish called twice");
    if (s.total < s.minFrames) throw std::invalid_argument(fmt::format("{} code frames; this decoder takes at least {}", s.total, s.minFrames));
    s.finished = true;
    return s.advance();
}

int EncodecStream::framesIn() const { return state_->total; }
int EncodecStream::framesOut() const { return state_->emitted; }
int EncodecStream::backHaloFrames() const { return state_->halo; }

void EncodecDecoder::setThreads(int threads) {
    if (threads < 1 || threads > 256) throw std::invalid_argument(fmt::format("threads is {}; allowed 1 to 256", threads));
    ggml_backend_cpu_set_n_threads(impl_->backend, threads);
}

}  // namespace soundstar::models

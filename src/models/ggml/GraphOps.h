#pragma once
// Small ggml graph helpers that more than one of the ggml models build with [control]. Internal
// to src/models/ggml (it includes ggml.h); activations are PyTorch's memory order read innermost
// first: an image (C, H, W) is the ggml tensor [W, H, C], a token sequence (N, C) is [C, N].
#include <fmt/format.h>
#include <ggml.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "music/JsonText.h"

namespace soundstar::models::graph {

/// An std::invalid_argument naming `where` (a file, an input) and what is wrong, clipped.
[[noreturn]] inline void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

struct ContextDeleter {
    void operator()(ggml_context* c) const { ggml_free(c); }
};
using Context = std::unique_ptr<ggml_context, ContextDeleter>;

/// A context for a graph of up to `nodes` tensors whose data the allocator places (no_alloc).
inline Context graphContext(std::size_t nodes, const char* model) {
    ggml_init_params p{ggml_tensor_overhead() * nodes + ggml_graph_overhead_custom(nodes, false), nullptr, true};
    Context ctx(ggml_init(p));
    if (!ctx) throw std::runtime_error(fmt::format("ggml: no memory for the {}'s graph", model));
    return ctx;
}

/// A per-channel vector [C] shaped to broadcast over an image [W, H, C].
inline ggml_tensor* perChannel(ggml_context* ctx, ggml_tensor* v) { return ggml_reshape_3d(ctx, v, 1, 1, v->ne[0]); }

/// PyTorch's GroupNorm with affine parameters over an image [W, H, C].
inline ggml_tensor* groupNorm(ggml_context* ctx, ggml_tensor* x, int groups, float eps, ggml_tensor* weight, ggml_tensor* bias) {
    ggml_tensor* n = ggml_group_norm(ctx, x, groups, eps);
    return ggml_add(ctx, ggml_mul(ctx, n, perChannel(ctx, weight)), perChannel(ctx, bias));
}

/// An image [W, H, C] as tokens [C, W*H] (position h*W + w, as PyTorch's flatten) and back.
inline ggml_tensor* imageToTokens(ggml_context* ctx, ggml_tensor* x) {
    return ggml_cont(ctx, ggml_transpose(ctx, ggml_reshape_2d(ctx, x, x->ne[0] * x->ne[1], x->ne[2])));
}
inline ggml_tensor* tokensToImage(ggml_context* ctx, ggml_tensor* t, std::int64_t width, std::int64_t height) {
    return ggml_reshape_3d(ctx, ggml_cont(ctx, ggml_transpose(ctx, t)), width, height, t->ne[0]);
}

}  // namespace soundstar::models::graph

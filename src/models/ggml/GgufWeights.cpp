#include "models/ggml/GgufWeights.h"

#include <fmt/format.h>
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>
#include <gguf.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::models {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

// ggml reports why a GGUF file was refused through its log; keep the last error of this thread
// for our message instead of letting it go to stderr.
thread_local std::string lastGgmlError;
void captureLog(ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) lastGgmlError = music::clipText(text ? text : "", 300);
}
void installLog() {
    static std::once_flag once;
    std::call_once(once, [] { ggml_log_set(captureLog, nullptr); });
}

std::string shapeText(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
    return s + "]";
}

std::optional<TensorType> fromGgml(ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32: return TensorType::F32;
        case GGML_TYPE_F16: return TensorType::F16;
        case GGML_TYPE_Q8_0: return TensorType::Q8_0;
        case GGML_TYPE_Q4_0: return TensorType::Q4_0;
        default: return std::nullopt;
    }
}
}  // namespace

const char* tensorTypeName(TensorType t) {
    switch (t) {
        case TensorType::F32: return "f32";
        case TensorType::F16: return "f16";
        case TensorType::Q8_0: return "q8_0";
        case TensorType::Q4_0: return "q4_0";
    }
    return "f32";
}

struct GgufWeights::Impl {
    gguf_context* gguf = nullptr;
    ggml_context* ctx = nullptr;
    ggml_backend_buffer_t buffer = nullptr;
    std::map<std::string, ggml_tensor*> tensors;
    ~Impl() {
        if (buffer) ggml_backend_buffer_free(buffer);
        if (ctx) ggml_free(ctx);
        if (gguf) gguf_free(gguf);
    }
};

namespace {
// Opens the header (no tensor data yet) and checks counts and types; `size` bounds every tensor.
void openHeader(GgufWeights::Impl& im, gguf_context* g, const std::string& where, std::uint64_t size) {
    if (!g) bad(where, fmt::format("not a readable GGUF file ({})", lastGgmlError.empty() ? "unknown reason" : music::clipText(lastGgmlError, 300)));
    im.gguf = g;
    const auto n = gguf_get_n_tensors(g);
    if (n < 1 || n > kMaxGgufTensors) bad(where, fmt::format("holds {} tensors; a model file has 1 to {}", n, kMaxGgufTensors));
    if (gguf_get_n_kv(g) > kMaxGgufKeys) bad(where, fmt::format("holds {} metadata keys; at most {} allowed", gguf_get_n_kv(g), kMaxGgufKeys));
    for (std::int64_t i = 0; i < n; ++i) {
        const auto type = gguf_get_tensor_type(g, i);
        if (!fromGgml(type))
            bad(where, fmt::format("tensor {} has type {}; this build reads f32, f16, q8_0 and q4_0", gguf_get_tensor_name(g, i), ggml_type_name(type)));
        const auto end = gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i) + gguf_get_tensor_size(g, i);
        if (end > size) bad(where, fmt::format("cut short: tensor {} ends at byte {} but the file has {}", gguf_get_tensor_name(g, i), end, size));
    }
    im.buffer = ggml_backend_alloc_ctx_tensors_from_buft(im.ctx, ggml_backend_cpu_buffer_type());
    if (!im.buffer) bad(where, "not enough memory for its tensors");
    for (ggml_tensor* t = ggml_get_first_tensor(im.ctx); t; t = ggml_get_next_tensor(im.ctx, t)) im.tensors[ggml_get_name(t)] = t;
}
}  // namespace

GgufWeights::GgufWeights(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()), where_(path.string()) {
    installLog();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) bad(where_, "missing: no such weights file");
    const auto size = std::filesystem::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (!in.read(magic, 4) || std::memcmp(magic, "GGUF", 4) != 0) bad(where_, "not a GGUF file (it does not start with \"GGUF\")");
    lastGgmlError.clear();
    gguf_init_params params{true, &impl_->ctx};
    openHeader(*impl_, gguf_init_from_file(where_.c_str(), params), where_, size);
    for (std::int64_t i = 0; i < gguf_get_n_tensors(impl_->gguf); ++i) {
        ggml_tensor* t = impl_->tensors.at(gguf_get_tensor_name(impl_->gguf, i));
        in.seekg(static_cast<std::streamoff>(gguf_get_data_offset(impl_->gguf) + gguf_get_tensor_offset(impl_->gguf, i)));
        if (!in.read(static_cast<char*>(t->data), static_cast<std::streamsize>(ggml_nbytes(t))))
            bad(where_, fmt::format("cut short while reading tensor {}", ggml_get_name(t)));
    }
}

GgufWeights::GgufWeights(const void* data, std::size_t size, const std::string& where) : impl_(std::make_unique<Impl>()), where_(where) {
    installLog();
    if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) bad(where_, "not a GGUF file (it does not start with \"GGUF\")");
    lastGgmlError.clear();
    gguf_init_params params{true, &impl_->ctx};
    openHeader(*impl_, gguf_init_from_buffer(data, size, params), where_, size);
    for (std::int64_t i = 0; i < gguf_get_n_tensors(impl_->gguf); ++i) {
        ggml_tensor* t = impl_->tensors.at(gguf_get_tensor_name(impl_->gguf, i));
        std::memcpy(t->data, static_cast<const char*>(data) + gguf_get_data_offset(impl_->gguf) + gguf_get_tensor_offset(impl_->gguf, i), ggml_nbytes(t));
    }
}

GgufWeights::~GgufWeights() = default;

std::optional<std::int64_t> GgufWeights::integer(const std::string& key) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    switch (gguf_get_kv_type(impl_->gguf, id)) {
        case GGUF_TYPE_INT32: return gguf_get_val_i32(impl_->gguf, id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(impl_->gguf, id);
        case GGUF_TYPE_INT64: return gguf_get_val_i64(impl_->gguf, id);
        default: bad(where_, fmt::format("metadata {} must be a whole number (int32, uint32 or int64)", key));
    }
}

std::optional<std::string> GgufWeights::text(const std::string& key) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(impl_->gguf, id) != GGUF_TYPE_STRING) bad(where_, fmt::format("metadata {} must be a string", key));
    return std::string(gguf_get_val_str(impl_->gguf, id));
}

std::optional<bool> GgufWeights::flag(const std::string& key) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(impl_->gguf, id) != GGUF_TYPE_BOOL) bad(where_, fmt::format("metadata {} must be a bool", key));
    return gguf_get_val_bool(impl_->gguf, id);
}

std::optional<std::vector<std::int64_t>> GgufWeights::integers(const std::string& key) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(impl_->gguf, id) != GGUF_TYPE_ARRAY || gguf_get_arr_type(impl_->gguf, id) != GGUF_TYPE_INT32)
        bad(where_, fmt::format("metadata {} must be an array of int32", key));
    const auto n = gguf_get_arr_n(impl_->gguf, id);
    if (n > 64) bad(where_, fmt::format("metadata {} has {} entries; at most 64 allowed", key, n));
    std::vector<std::int64_t> out(n);
    const auto* p = static_cast<const std::int32_t*>(gguf_get_arr_data(impl_->gguf, id));
    for (std::size_t i = 0; i < n; ++i) out[i] = p[i];
    return out;
}

std::optional<float> GgufWeights::real(const std::string& key) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(impl_->gguf, id) != GGUF_TYPE_FLOAT32) bad(where_, fmt::format("metadata {} must be a float32", key));
    return gguf_get_val_f32(impl_->gguf, id);
}

std::optional<std::vector<std::string>> GgufWeights::texts(const std::string& key, std::size_t maxCount, std::size_t maxBytes) const {
    const auto id = gguf_find_key(impl_->gguf, key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(impl_->gguf, id) != GGUF_TYPE_ARRAY || gguf_get_arr_type(impl_->gguf, id) != GGUF_TYPE_STRING)
        bad(where_, fmt::format("metadata {} must be an array of strings", key));
    const auto n = gguf_get_arr_n(impl_->gguf, id);
    if (n > maxCount) bad(where_, fmt::format("metadata {} has {} entries; at most {} allowed", key, n, maxCount));
    std::vector<std::string> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const char* s = gguf_get_arr_str(impl_->gguf, id, i);
        const std::size_t len = s ? std::strlen(s) : 0;
        if (len > maxBytes) bad(where_, fmt::format("metadata {} entry {} is {} bytes; at most {} allowed", key, i, len, maxBytes));
        out[i].assign(s ? s : "", len);
    }
    return out;
}

void GgufWeights::check(const std::vector<TensorSpec>& spec) const {
    std::vector<std::string> problems;
    std::map<std::string, bool> expected;
    for (const auto& s : spec) {
        expected[s.name] = true;
        const auto it = impl_->tensors.find(s.name);
        if (it == impl_->tensors.end()) {
            problems.push_back(fmt::format("tensor {} is missing (expected shape {})", s.name, shapeText(s.shape)));
            continue;
        }
        const ggml_tensor* t = it->second;
        std::vector<std::int64_t> have;
        for (int d = ggml_n_dims(t) - 1; d >= 0; --d) have.push_back(t->ne[d]);
        std::vector<std::int64_t> want = s.shape;
        while (want.size() > 1 && want.front() == 1) want.erase(want.begin());  // GGUF drops outer 1s
        if (have != want) problems.push_back(fmt::format("tensor {} has shape {}; expected {}", s.name, shapeText(have), shapeText(s.shape)));
        const auto type = *fromGgml(t->type);
        if (type != TensorType::F32 && !s.quantizable)
            problems.push_back(fmt::format("tensor {} is {}; it must be f32", s.name, tensorTypeName(type)));
    }
    for (const auto& [name, _] : impl_->tensors)
        if (!expected.count(name)) problems.push_back(fmt::format("tensor {} is not part of this model", name));
    if (problems.empty()) return;
    std::string all;
    for (std::size_t i = 0; i < problems.size() && i < 8; ++i) all += (i ? "; " : "") + problems[i];
    if (problems.size() > 8) all += fmt::format("; and {} more", problems.size() - 8);
    bad(where_, fmt::format("{} problem(s) with its tensors: {}", problems.size(), all));
}

ggml_tensor* GgufWeights::tensor(const std::string& name) const {
    const auto it = impl_->tensors.find(name);
    if (it == impl_->tensors.end()) bad(where_, fmt::format("tensor {} is missing", name));
    return it->second;
}

TensorType GgufWeights::type(const std::string& name) const { return *fromGgml(tensor(name)->type); }
std::int64_t GgufWeights::tensorCount() const { return static_cast<std::int64_t>(impl_->tensors.size()); }
std::uint64_t GgufWeights::dataBytes() const { return ggml_backend_buffer_get_size(impl_->buffer); }

int GgufWeights::requireInt(const std::string& key, int lo, int hi, const std::string& converter) const {
    const auto v = integer(key);
    if (!v) bad(where_, fmt::format("metadata {} is missing (convert the checkpoint with {})", key, converter));
    if (*v < lo || *v > hi) bad(where_, fmt::format("metadata {} is {}; allowed {} to {}", key, *v, lo, hi));
    return static_cast<int>(*v);
}

void GgufWeights::requireArchitecture(const std::string& name) const {
    const auto arch = text("general.architecture");
    if (!arch || *arch != name)
        bad(where_, fmt::format("general.architecture is {}; expected \"{}\"", arch ? music::quoteJson(*arch) : std::string("missing"), name));
}

}  // namespace soundstar::models

#pragma once
// A GGUF weights file loaded into CPU memory for ggml [control]. The only place that reads GGUF;
// callers describe the tensors they expect (name, shape, allowed types) and check() names every
// difference: a missing or unexpected tensor, a wrong shape, a type the model cannot use.
// ggml's headers stay in GgufWeights.cpp; callers that build graphs include them themselves.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct ggml_tensor;

namespace soundstar::models {

inline constexpr std::int64_t kMaxGgufTensors = 4096;
inline constexpr std::int64_t kMaxGgufKeys = 1024;

/// How a tensor stores its numbers (GGUF's types that our models accept).
enum class TensorType { F32, F16, Q8_0, Q4_0 };
const char* tensorTypeName(TensorType t);

/// One tensor a model needs. `shape` is outermost first, as PyTorch prints it (GGUF stores it
/// innermost first). `quantizable`: F16, Q8_0 and Q4_0 are allowed besides F32.
struct TensorSpec {
    std::string name;
    std::vector<std::int64_t> shape;
    bool quantizable = false;
};

class GgufWeights {
public:
    /// Reads `path` (header, metadata, every tensor's data). Throws std::invalid_argument naming
    /// the file and what is wrong (not GGUF, cut short, too many tensors, a type we do not read).
    explicit GgufWeights(const std::filesystem::path& path);
    /// The same from bytes in memory (fuzzing, tests); `where` names them in errors.
    GgufWeights(const void* data, std::size_t size, const std::string& where);
    ~GgufWeights();
    GgufWeights(const GgufWeights&) = delete;
    GgufWeights& operator=(const GgufWeights&) = delete;

    /// Metadata: a whole number, text, a bool or a list of whole numbers; nullopt when absent.
    /// Throws when the key holds another type.
    std::optional<std::int64_t> integer(const std::string& key) const;
    std::optional<std::string> text(const std::string& key) const;
    std::optional<bool> flag(const std::string& key) const;
    std::optional<std::vector<std::int64_t>> integers(const std::string& key) const;
    /// A float32 number; nullopt when absent. Throws when the key holds another type.
    std::optional<float> real(const std::string& key) const;
    /// A list of strings (a tokenizer's vocabulary or merges) of at most `maxCount` entries, each
    /// at most `maxBytes` long; nullopt when absent. Throws naming the key and the limit.
    std::optional<std::vector<std::string>> texts(const std::string& key, std::size_t maxCount, std::size_t maxBytes) const;
    /// Integer metadata `key` from lo to hi; otherwise throws naming the file, the key, the range
    /// and the converter that writes it (e.g. "tools/t5_to_gguf.py").
    int requireInt(const std::string& key, int lo, int hi, const std::string& converter) const;
    /// Throws unless general.architecture is `name`.
    void requireArchitecture(const std::string& name) const;

    /// Every tensor in `spec` is present with that shape and an allowed type, and no other
    /// tensor is. Throws std::invalid_argument listing the first problems (at most 2000 bytes).
    void check(const std::vector<TensorSpec>& spec) const;
    /// The tensor (its data in a CPU buffer); throws when absent.
    ggml_tensor* tensor(const std::string& name) const;
    TensorType type(const std::string& name) const;
    std::int64_t tensorCount() const;
    std::uint64_t dataBytes() const;  // what the tensors take in memory
    const std::string& where() const { return where_; }

    struct Impl;  // ggml's side, in GgufWeights.cpp

private:
    std::unique_ptr<Impl> impl_;
    std::string where_;
};

}  // namespace soundstar::models

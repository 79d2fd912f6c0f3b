#pragma once
// A model folder: manifest.json (name, kind, sample rate, quantization, parameters) beside its
// weights file [control]. Loading checks every field and the weights file's size against what
// the manifest says it holds, and names the file and the problem in each error.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace soundstar::models {

inline constexpr std::size_t kMaxManifestBytes = 64 * 1024;
inline constexpr std::uintmax_t kMaxWeightsBytes = 64ull * 1024 * 1024 * 1024;  // 64 GiB

/// How the weights file stores each parameter: float32, or 8-bit / 4-bit integers with one
/// float32 scale in front (q8: int8 x scale; q4: two signed nibbles a byte, low nibble first).
enum class Quantization { F32, Q8, Q4 };
const char* quantizationName(Quantization q);

struct ModelManifest {
    std::string name;            // [a-z0-9._-], 1 to 64 characters
    std::string kind;            // "procedural" (built in); musicgen and audioldm are named but not built yet
    double sampleRateHz = 44100;
    Quantization quantization = Quantization::F32;
    std::string weightsFile = "weights.bin";  // a plain file name inside the folder
    std::uint64_t parameterCount = 0;         // how many parameters the weights file holds
    std::uint64_t memoryBytes = 0;            // what a loaded copy takes (the memory budget counts this)
    nlohmann::json parameters = nlohmann::json::object();  // the kind's own settings
    std::string description;
};

/// Parses and checks manifest text (`where` names the file in errors). Throws std::invalid_argument.
ModelManifest parseManifest(std::string_view text, const std::string& where = "manifest.json");
/// The size the weights file must have for this manifest.
std::uint64_t expectedWeightsBytes(const ModelManifest& m);
/// Reads dir/manifest.json and checks dir/<weights> exists with the right size. Throws
/// std::invalid_argument naming the file and what is wrong.
ModelManifest readModelDir(const std::filesystem::path& dir);
/// The weights as floats (dequantized). Throws std::invalid_argument naming the file.
std::vector<float> readWeights(const std::filesystem::path& dir, const ModelManifest& m);

}  // namespace soundstar::models

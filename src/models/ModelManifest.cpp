#include "models/ModelManifest.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::models {
namespace {
constexpr std::uint64_t kMaxParameters = 16ull * 1024 * 1024 * 1024;

struct KindRow {
    const char* name;
    bool built;  // false: a known kind this build cannot run yet
};
#ifdef SOUNDSTAR_HAVE_GGML
constexpr bool kGgml = true;
#else
constexpr bool kGgml = false;
#endif
// musicgen and audioldm: their weights are GGUF files, checked tensor by tensor when the model loads.
constexpr KindRow kKinds[] = {{"procedural", true}, {"musicgen", kGgml}, {"audioldm", kGgml}};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900));
}

const nlohmann::json& need(const nlohmann::json& j, const char* key, const std::string& where) {
    const auto it = j.find(key);
    if (it == j.end()) bad(where, fmt::format("missing \"{}\"", key));
    return *it;
}

std::string text(const nlohmann::json& j, const char* key, const std::string& where, std::size_t maxBytes) {
    const auto& v = need(j, key, where);
    if (!v.is_string()) bad(where, fmt::format("\"{}\" must be a string, not {}", key, music::quoteJson(v)));
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > maxBytes) bad(where, fmt::format("\"{}\" is {} bytes; allowed 1 to {}", key, s.size(), maxBytes));
    return s;
}

double number(const nlohmann::json& v, const char* key, const std::string& where, double lo, double hi, bool whole) {
    if (!v.is_number() || (whole && std::floor(v.get<double>()) != v.get<double>()) || !std::isfinite(v.get<double>()) || v.get<double>() < lo ||
        v.get<double>() > hi)
        bad(where, fmt::format("\"{}\" is {}; allowed {} from {:g} to {:g}", key, music::quoteJson(v), whole ? "a whole number" : "a number", lo, hi));
    return v.get<double>();
}
}  // namespace

const char* quantizationName(Quantization q) {
    switch (q) {
        case Quantization::F32: return "f32";
        case Quantization::Q8: return "q8";
        case Quantization::Q4: return "q4";
    }
    return "f32";
}

ModelManifest parseManifest(std::string_view body, const std::string& where) {
    if (body.size() > kMaxManifestBytes) bad(where, fmt::format("{} bytes; a manifest may have at most {}", body.size(), kMaxManifestBytes));
    const auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) bad(where, "not valid JSON");
    if (!j.is_object()) bad(where, "must be a JSON object with name, kind, sample_rate, quantization, weights, parameter_count");
    static const std::vector<std::string> kKnown = {"name", "kind", "sample_rate", "quantization", "weights", "parameter_count",
                                                    "memory_bytes", "parameters", "description"};
    for (const auto& [key, _] : j.items())
        if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end())
            bad(where, fmt::format("unknown field {}; allowed name, kind, sample_rate, quantization, weights, parameter_count, memory_bytes, parameters, description",
                                   music::quoteJson(key)));
    ModelManifest m;
    m.name = text(j, "name", where, 64);
    static const std::regex kName("[a-z0-9][a-z0-9._-]*");
    if (!std::regex_match(m.name, kName)) bad(where, fmt::format("\"name\" {} may hold only a-z, 0-9, '.', '_' and '-'", music::quoteJson(m.name)));
    m.kind = text(j, "kind", where, 32);
    const KindRow* kind = nullptr;
    for (const auto& k : kKinds)
        if (m.kind == k.name) kind = &k;
    if (!kind) bad(where, fmt::format("\"kind\" {} is unknown; allowed procedural, musicgen, audioldm", music::quoteJson(m.kind)));
    if (!kind->built)
        bad(where, fmt::format("\"kind\" \"{}\" is not built into this version yet; this build runs {}", m.kind,
                               kGgml ? "procedural, musicgen and audioldm models" : "procedural models (musicgen and audioldm need ggml: scripts/build-ggml.sh, then reconfigure)"));
    m.sampleRateHz = number(need(j, "sample_rate", where), "sample_rate", where, 8000, 192000, true);
    const auto q = text(j, "quantization", where, 8);
    if (q == "f32") m.quantization = Quantization::F32;
    else if (q == "q8") m.quantization = Quantization::Q8;
    else if (q == "q4") m.quantization = Quantization::Q4;
    else bad(where, fmt::format("\"quantization\" {} is unknown; allowed f32, q8, q4", music::quoteJson(q)));
    m.weightsFile = text(j, "weights", where, 255);
    if (m.weightsFile.find('/') != std::string::npos || m.weightsFile.find('\\') != std::string::npos || m.weightsFile[0] == '.')
        bad(where, fmt::format("\"weights\" {} must be a plain file name inside the model folder (no '/', not hidden)", music::quoteJson(m.weightsFile)));
    m.parameterCount = static_cast<std::uint64_t>(number(need(j, "parameter_count", where), "parameter_count", where, 1, static_cast<double>(kMaxParameters), true));
    if (expectedWeightsBytes(m) > kMaxWeightsBytes) bad(where, fmt::format("the weights would take {} bytes; at most {} allowed", expectedWeightsBytes(m), kMaxWeightsBytes));
    m.memoryBytes = j.contains("memory_bytes")
                        ? static_cast<std::uint64_t>(number(j["memory_bytes"], "memory_bytes", where, 1, 1e15, true))
                        : expectedWeightsBytes(m) + 64ull * 1024 * 1024;
    if (j.contains("parameters")) {
        if (!j["parameters"].is_object()) bad(where, "\"parameters\" must be a JSON object");
        m.parameters = j["parameters"];
    }
    if (j.contains("description")) m.description = text(j, "description", where, 1000);
    return m;
}

std::uint64_t expectedWeightsBytes(const ModelManifest& m) {
    switch (m.quantization) {
        case Quantization::F32: return m.parameterCount * 4;
        case Quantization::Q8: return 4 + m.parameterCount;
        case Quantization::Q4: return 4 + (m.parameterCount + 1) / 2;
    }
    return 0;
}

ModelManifest readModelDir(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) bad(dir.string(), "not a model folder (a folder with manifest.json and a weights file)");
    const auto manifestPath = dir / "manifest.json";
    if (!std::filesystem::is_regular_file(manifestPath, ec)) bad(manifestPath.string(), "missing: every model folder needs manifest.json");
    const auto size = std::filesystem::file_size(manifestPath, ec);
    if (ec || size > kMaxManifestBytes) bad(manifestPath.string(), fmt::format("{} bytes; at most {} allowed", size, kMaxManifestBytes));
    std::ifstream in(manifestPath, std::ios::binary);
    std::string body(size, '\0');
    if (!in.read(body.data(), static_cast<std::streamsize>(size))) bad(manifestPath.string(), "cannot be read");
    auto m = parseManifest(body, manifestPath.string());
    const auto weights = dir / m.weightsFile;
    if (!std::filesystem::is_regular_file(weights, ec)) bad(weights.string(), "missing: the weights file the manifest names");
    const auto have = std::filesystem::file_size(weights, ec);
    if (m.kind != "musicgen" && m.kind != "audioldm" && (ec || have != expectedWeightsBytes(m)))
        bad(weights.string(), fmt::format("{} bytes, but {} {} parameters take {} bytes (the file is cut short or is not this model's)", have,
                                          m.parameterCount, quantizationName(m.quantization), expectedWeightsBytes(m)));
    return m;
}

std::vector<float> readWeights(const std::filesystem::path& dir, const ModelManifest& m) {
    const auto path = dir / m.weightsFile;
    std::ifstream in(path, std::ios::binary);
    std::string bytes(expectedWeightsBytes(m), '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) bad(path.string(), "cannot be read");
    auto f32 = [&](std::size_t at) {
        float v = 0;
        std::memcpy(&v, bytes.data() + at, 4);  // little-endian hosts only (x86-64, arm64)
        return v;
    };
    std::vector<float> w(m.parameterCount);
    if (m.quantization == Quantization::F32) {
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = f32(4 * i);
    } else {
        const float scale = f32(0);
        if (!std::isfinite(scale)) bad(path.string(), "its quantization scale is not a finite number");
        for (std::size_t i = 0; i < w.size(); ++i) {
            int q = 0;
            if (m.quantization == Quantization::Q8) {
                q = static_cast<signed char>(bytes[4 + i]);
            } else {
                const auto byte = static_cast<unsigned char>(bytes[4 + i / 2]);
                q = (i % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
                if (q >= 8) q -= 16;
            }
            w[i] = scale * static_cast<float>(q);
        }
    }
    for (std::size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i])) bad(path.string(), fmt::format("parameter {} is not a finite number", i));
    return w;
}

}  // namespace soundstar::models

// Fuzz target: GGUF weights files (models::GgufWeights from bytes, its metadata readers and the
// tensor check against EnCodec-like specs). Properties: every refusal is std::invalid_argument
// with a bounded message that names the input; an accepted file has 1 to kMaxGgufTensors tensors
// and check() against an empty spec names them all as unexpected.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "FuzzCheck.h"
#include "models/ggml/GgufWeights.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        models::GgufWeights w(data, size, "fuzz.gguf");
        if (w.tensorCount() < 1 || w.tensorCount() > models::kMaxGgufTensors) fuzz::finding("tensor count out of range");
        for (const char* key : {"general.architecture", "encodec.codebooks", "encodec.upsampling_ratios", "encodec.use_conv_shortcut", "tokenizer.ggml.tokens"}) {
            try {
                (void)w.text(key);
                (void)w.integer(key);
                (void)w.integers(key);
                (void)w.flag(key);
                (void)w.real(key);
                (void)w.texts(key, 64, 64);
            } catch (const std::invalid_argument& e) {
                fuzz::checkMessage(e.what());
            }
        }
        try {
            w.check({{"quantizer.layers.0.codebook.embed", {3, 4}, false}});
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
        }
        try {
            w.check({});
            fuzz::finding("an empty spec accepted a file with tensors");
        } catch (const std::invalid_argument& e) {
            fuzz::checkMessage(e.what());
            if (std::string(e.what()).find("is not part of this model") == std::string::npos) fuzz::finding("unexpected tensors not named", e.what());
        }
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        if (std::string(e.what()).find("fuzz.gguf") == std::string::npos) fuzz::finding("the error does not name the input", e.what());
    }
    return 0;
}

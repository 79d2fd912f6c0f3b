// Soundstar's ggml module (libsoundstar_ggml.so): the neural models and ggml, loaded by the first
// model worker instead of by every command. The factories' errors cross the edge as text.
#include "models/ggml/GgmlModule.h"

#include "models/ggml/AudioldmModel.h"
#include "models/ggml/GgmlCpu.h"
#include "models/ggml/MusicgenModel.h"

namespace {
using soundstar::models::Generator;
using soundstar::models::ModelManifest;

std::unique_ptr<Generator> make(const std::filesystem::path& dir, const ModelManifest& m, std::string* error, bool* invalid) {
    *invalid = false;
    try {
        if (m.kind == "musicgen") return soundstar::models::makeMusicgenModel(dir, m);
        if (m.kind == "audioldm") return soundstar::models::makeAudioldmModel(dir, m);
        *invalid = true;
        *error = "the ggml module makes musicgen and audioldm models, not " + m.kind;
    } catch (const std::invalid_argument& e) {
        *invalid = true;
        *error = e.what();
    } catch (const std::exception& e) {
        *error = e.what();
    } catch (...) {
        *error = "an unknown error making the model";
    }
    return nullptr;
}

std::string describeCpu(std::string* error) {
    try {
        return soundstar::models::describeGgmlCpu();
    } catch (const std::exception& e) {
        *error = e.what();
    } catch (...) {
        *error = "an unknown error in ggml's CPU backend";
    }
    return {};
}

constexpr soundstar::models::ggml::Api kApi{make, describeCpu};

}  // namespace

extern "C" __attribute__((visibility("default"))) const soundstar::models::ggml::Api* soundstar_ggml_api() { return &kApi; }

#pragma once
// The neural models (MusicGen, AudioLDM) as Soundstar's ggml module gives them
// (libsoundstar_ggml.so, GgmlModule.cpp, with ggml, ggml-base and OpenMP behind it), opened by
// the first model worker or ggml question (core/Module.h), so the commands that run no neural
// model start without loading those libraries (ADR 0004). Both sides are built together from
// these headers: the generators it makes are the same C++ classes on either side, and what they
// throw while generating (std:: exceptions, models::Cancelled) is caught as in one program.
#include <filesystem>
#include <memory>
#include <string>

#include "models/ModelManifest.h"
#include "models/ModelWorker.h"

namespace soundstar::models::ggml {

struct Api {
    /// The generator for a checked folder of kind "musicgen" or "audioldm"; null with `error`
    /// set, and `invalid` true where the folder is at fault (std::invalid_argument's cases).
    std::unique_ptr<Generator> (*make)(const std::filesystem::path& dir, const ModelManifest& m, std::string* error, bool* invalid);
    /// What describeGgmlCpu() says, or empty with `error` set.
    std::string (*describeCpu)(std::string* error);
};

/// The module's entry: `soundstar_ggml_api()`, the table above.
using ApiFn = const Api* (*)();
inline constexpr const char* kApiSymbol = "soundstar_ggml_api";

/// The generator for a musicgen or audioldm folder, through the module; throws what the
/// model's own factory throws (std::invalid_argument for a bad folder, std::runtime_error
/// otherwise, or when the module cannot be opened).
std::unique_ptr<Generator> makeGenerator(const std::filesystem::path& dir, const ModelManifest& m);
/// describeGgmlCpu() through the module; throws std::runtime_error.
std::string describeCpu();

}  // namespace soundstar::models::ggml

#pragma once
// The `musicgen` model kind [control; worker process]. What runs today: the folder's EnCodec
// decoder GGUF (parameters.encodec, default the manifest's weights file) is loaded and checked
// on ggml. What does not: the T5 text encoder and the MusicGen LM over the codebooks, so
// generate() fails with an error that says so rather than making up audio.
#include <filesystem>
#include <memory>

#include "models/ModelWorker.h"

namespace soundstar::models {

/// Loads the EnCodec decoder of a musicgen folder. Throws std::invalid_argument naming the file.
std::unique_ptr<Generator> makeMusicgenModel(const std::filesystem::path& dir, const ModelManifest& m);

}  // namespace soundstar::models

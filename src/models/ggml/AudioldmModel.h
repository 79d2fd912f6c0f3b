#pragma once
// The `audioldm` model kind [control; worker process]: prompt -> CLAP text embedding (and the
// empty prompt's, for classifier-free guidance) -> DDIM over AudioLDM's UNet -> VAE decoder ->
// HiFi-GAN vocoder -> 16 kHz mono audio, all on ggml (AudioldmPipeline). A folder holds
// manifest.json, the UNet GGUF (the manifest's weights), the VAE (parameters.vae, default
// vae.gguf), the vocoder (parameters.vocoder, default vocoder.gguf) and CLAP's text encoder
// (parameters.clap, default clap.gguf). parameters.default_steps (10) and default_guidance (2.5)
// are what a request without --steps / --guidance gets, as diffusers' AudioLDMPipeline.
#include <filesystem>
#include <memory>

#include "models/ModelWorker.h"

namespace soundstar::models {

/// Loads every part of an audioldm folder and checks that they fit together. Throws
/// std::invalid_argument naming the file and what is wrong.
std::unique_ptr<Generator> makeAudioldmModel(const std::filesystem::path& dir, const ModelManifest& m);

}  // namespace soundstar::models

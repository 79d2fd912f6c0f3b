#pragma once
// The built-in "procedural" model kind [control]: a small, real generator that runs the whole
// model pipeline end to end without a neural network. Its "text encoder" is the embedded
// interpreter (prompt -> MusicConfig), classifier-free-style guidance blends the prompt's config
// with the unconditional prompt's (weight g / (g + 1)), the live engine renders the music in
// `steps` windows (each streamed as a chunk as soon as it is made), and the weights file holds
// the taps of an FIR tone filter applied to the output. Seeded: the same request gives the same
// samples, in any worker, on any run.
#include <filesystem>
#include <memory>

#include "models/ModelWorker.h"

namespace soundstar::pipeline {
class DataSet;
}

namespace soundstar::models {

/// Loads a procedural model: its data (interpreter, presets, profiles) from `data`, its taps from
/// the weights file. Parameters (manifest "parameters"): "unconditional" (a prompt, default
/// "calm ambient"), "default_steps" (1 to 1000, default 8), "default_guidance" (0 to 30, default 3).
/// The weights hold 1 to 1024 taps. Throws std::invalid_argument naming the manifest and field.
std::unique_ptr<Generator> makeProceduralModel(const pipeline::DataSet& data, const std::filesystem::path& dir, const ModelManifest& m);

}  // namespace soundstar::models

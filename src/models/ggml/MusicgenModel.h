#pragma once
// The `musicgen` model kind [control; worker process]: prompt -> SentencePiece tokens -> T5
// encoder -> MusicGen LM (delay pattern, classifier-free guidance, seeded top-k sampling) ->
// EnCodec decoder -> audio, all on ggml. A folder holds manifest.json, the EnCodec GGUF (the
// manifest's weights, or parameters.encodec), the LM (parameters.lm, default lm.gguf), T5
// (parameters.t5, default t5.gguf) and the tokenizer (parameters.tokenizer, default spiece.model).
// Longer audio than one window (parameters.window_seconds, default 30 s, at most the LM's positions
// less the delay) is made window by window, each primed with the end of the codes so far
// (parameters.extend_stride: what each window adds, default 60% of it), as audiocraft does. The
// codes go to a streaming EnCodec decode as they are drawn, so audio comes out while the LM runs.
#include <filesystem>
#include <memory>

#include "models/ModelWorker.h"

namespace soundstar::models {

/// Loads every part of a musicgen folder and checks that they fit together. Throws
/// std::invalid_argument naming the file and what is wrong.
std::unique_ptr<Generator> makeMusicgenModel(const std::filesystem::path& dir, const ModelManifest& m);

}  // namespace soundstar::models

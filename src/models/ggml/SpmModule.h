#pragma once
// SentencePiece, as TextTokenizer asks it of Soundstar's spm module (libsoundstar_spm.so,
// SpmModule.cpp): Debian's libsentencepiece lives there, opened by the first tokenizer
// (core/Module.h), so commands without a T5 model do not load it (ADR 0004). Both sides are built
// together from this header.
#include <string>
#include <vector>

namespace soundstar::models::spm {

struct Api {
    /// A processor for the model file at `path`, or null with `error` set.
    void* (*load)(const std::string& path, std::string* error);
    void (*release)(void* processor);
    /// The ids of `text`; false with `error` set when SentencePiece refuses it.
    bool (*encode)(void* processor, const std::string& text, std::vector<int>* ids, std::string* error);
    int (*pieceCount)(void* processor);
    int (*eosId)(void* processor);
};

/// The module's entry: `soundstar_spm_api()`, the table above.
using ApiFn = const Api* (*)();
inline constexpr const char* kApiSymbol = "soundstar_spm_api";

}  // namespace soundstar::models::spm

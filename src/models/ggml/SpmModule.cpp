// Soundstar's spm module (libsoundstar_spm.so): the only translation unit that includes
// SentencePiece. Nothing throws across the module's edge.
#include "models/ggml/SpmModule.h"

#include <sentencepiece_processor.h>

#include <memory>

namespace {

using Processor = sentencepiece::SentencePieceProcessor;

void* load(const std::string& path, std::string* error) {
    try {
        auto sp = std::make_unique<Processor>();
        const auto status = sp->Load(path);
        if (!status.ok()) {
            *error = status.ToString();
            return nullptr;
        }
        return sp.release();
    } catch (const std::exception& e) {
        *error = e.what();
        return nullptr;
    } catch (...) {  // nothing crosses the module's edge
        *error = "an unknown error in SentencePiece";
        return nullptr;
    }
}

void release(void* processor) { delete static_cast<Processor*>(processor); }

bool encode(void* processor, const std::string& text, std::vector<int>* ids, std::string* error) {
    try {
        const auto status = static_cast<Processor*>(processor)->Encode(text, ids);
        if (!status.ok()) *error = status.ToString();
        return status.ok();
    } catch (const std::exception& e) {
        *error = e.what();
        return false;
    } catch (...) {
        *error = "an unknown error in SentencePiece";
        return false;
    }
}

int pieceCount(void* processor) { return static_cast<Processor*>(processor)->GetPieceSize(); }
int eosId(void* processor) { return static_cast<Processor*>(processor)->eos_id(); }

constexpr soundstar::models::spm::Api kApi{load, release, encode, pieceCount, eosId};

}  // namespace

extern "C" __attribute__((visibility("default"))) const soundstar::models::spm::Api* soundstar_spm_api() { return &kApi; }

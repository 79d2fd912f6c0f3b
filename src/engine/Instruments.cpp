#include "engine/Instruments.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "engine/SynthInstruments.h"

namespace soundstar::engine {

std::vector<std::string> instrumentKinds() { return {"subtractive", "fm", "pluck", "bell", "pad", "drums", "noise", "soundfont", "sampler"}; }

std::unique_ptr<Instrument> makeInstrument(const std::string& kind) {
    if (kind == "subtractive") return makeSubtractive();
    if (kind == "fm") return makeFm();
    if (kind == "pluck") return makePluck();
    if (kind == "bell") return makeBell();
    if (kind == "noise") return makeNoise();
    if (kind == "soundfont") return makeSoundFont();
    if (kind == "sampler") return makeSampler();
    if (kind == "pad") return makePad();
    if (kind == "drums") return makeDrumKit();
    throw std::invalid_argument(
        fmt::format("unknown instrument '{}'; known: {}", kind, fmt::join(instrumentKinds(), ", ")));
}

}  // namespace soundstar::engine

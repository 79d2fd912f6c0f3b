#pragma once
// Constructors for each built-in instrument (the factory in Instruments.h picks by name).
#include <memory>

#include "engine/Instrument.h"

namespace soundstar::engine {
std::unique_ptr<Instrument> makeSubtractive();
std::unique_ptr<Instrument> makeFm();
std::unique_ptr<Instrument> makePluck();
std::unique_ptr<Instrument> makeBell();
std::unique_ptr<Instrument> makeNoise();
std::unique_ptr<Instrument> makeSoundFont();
std::unique_ptr<Instrument> makeSampler();
std::unique_ptr<Instrument> makePad();
std::unique_ptr<Instrument> makeDrumKit();
}  // namespace soundstar::engine

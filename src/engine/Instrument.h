#pragma once
// An instrument turns note commands into stereo audio. prepare() [control]; the rest [rt].
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>

#include "core/AudioBuffer.h"
#include "engine/Param.h"

namespace soundstar::engine {

class Instrument {
public:
    virtual ~Instrument() = default;
    /// Allocates everything it will need; maxBlock is the largest process() size [control].
    virtual void prepare(double sampleRate, int maxBlock) = 0;
    /// note: MIDI note number (fractional allowed), velocity 0..1.
    virtual void noteOn(float note, float velocity) = 0;
    virtual void noteOff(float note) = 0;
    virtual void allNotesOff() = 0;
    /// Sets parameter `index` of params() (already validated by the control side).
    virtual void setParam(int index, float value) = 0;
    /// Renders into io (overwrites); any frame count from 0 to maxBlock.
    virtual void process(StereoView io) = 0;
    virtual std::span<const ParamSpec> params() const = 0;
    /// Number of voices sounding (for meters, stealing tests).
    virtual int activeVoices() const = 0;
    virtual const char* kind() const = 0;
    /// Text options set before prepare() (a sample or SoundFont file, say). Throws
    /// std::invalid_argument naming the option and what is allowed [control].
    virtual void setOption(const std::string& key, const std::string& value) {
        throw std::invalid_argument(std::string(kind()) + " takes no options (got '" + key + "' = '" + value + "')");
    }
};

inline float noteToHz(float note) { return 440.0f * std::exp2((note - 69.0f) / 12.0f); }

}  // namespace soundstar::engine

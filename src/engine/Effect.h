#pragma once
// A stereo effect in a track's chain, a return bus or the master. prepare() [control]; setParam
// and process [rt]. Factory: makeEffect("eq" | "compressor" | "limiter" | "delay" | "reverb" |
// "chorus" | "flanger" | "phaser" | "drive" | "gate" | "width" | "filter") [control].
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/AudioBuffer.h"
#include "engine/Param.h"

namespace soundstar::engine {

class Effect {
public:
    virtual ~Effect() = default;
    virtual void prepare(double sampleRate, int maxBlock) = 0;
    virtual void setParam(int index, float value) = 0;
    /// Processes io in place; any frame count from 0 to maxBlock.
    virtual void process(StereoView io) = 0;
    /// process() for a block whose input is all zeros (io holds them). An effect whose state is
    /// at rest may leave the zeros and move its state on exactly as process() would have: the
    /// same bytes later, for a fraction of the work (a silent track's chain between its notes).
    /// Returns true if it did (the output is zeros); the default processes and returns false.
    virtual bool processSilence(StereoView io) {
        process(io);
        return false;
    }
    virtual std::span<const ParamSpec> params() const = 0;
    virtual const char* kind() const = 0;
    /// Delay the effect adds to the signal, in samples.
    virtual int latencySamples() const { return 0; }
};

std::unique_ptr<Effect> makeEffect(const std::string& kind);
std::vector<std::string> effectKinds();

}  // namespace soundstar::engine

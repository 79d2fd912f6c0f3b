#pragma once
// Live output: a device pulls blocks from the engine on its own thread. The null device is a
// clock thread for headless machines; the RtAudio device plays through JACK (or any RtAudio API)
// [control for start/stop; the engine's render runs on the device thread].
#include <memory>
#include <string>
#include <vector>

#include "engine/AudioEngine.h"

namespace soundstar::io {

class AudioDevice {
public:
    virtual ~AudioDevice() = default;
    /// Starts pulling blocks of engine.maxBlock() frames; throws std::runtime_error on failure.
    virtual void start(engine::AudioEngine& engine) = 0;
    virtual void stop() = 0;
    virtual std::string name() const = 0;
    /// How long after its render a sample is heard (the stream's output latency; 0 when the device
    /// cannot tell), for sync with other gear (Ableton Link) [control, after start()].
    virtual double outputLatencySeconds() const { return 0.0; }
};

/// Renders in real time on a clock thread and discards (or keeps, for tests) the audio.
std::unique_ptr<AudioDevice> makeNullDevice();
/// An RtAudio output; nullptr when built without RtAudio. Throws when no device can open.
std::unique_ptr<AudioDevice> makeRtAudioDevice();
/// Human-readable output devices RtAudio can see, with the API names (for doctor).
std::vector<std::string> listOutputDevices();

}  // namespace soundstar::io

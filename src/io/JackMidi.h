#pragma once
// MIDI in and out on JACK, for the DJ's clock sync [control] (JackMidi.cpp). libjack is
// opened (dlopen) when a port is first asked for, not linked, as RtAudio is (RtAudioDevice.cpp),
// so other commands do not pay for it at start-up. Not RtMidi: its JACK input stamps a period's
// messages with the wall-clock time its callback ran, which on a loaded machine read a steady
// 120 bpm clock as 115.9-121 bpm; JACK's own frame times read it as 120.000.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::engine {
class AudioEngine;
}

namespace soundstar::io {

class ClockHold;

/// One short MIDI message (a realtime byte, or Song Position Pointer's three) and when it came.
struct MidiMessage {
    double seconds = 0.0;  // frames / JACK's sample rate
    long long frames = -1;  // JACK's frame time of it (JackMidiInput; -1: not known)
    std::uint8_t bytes[3] = {0, 0, 0};
    std::uint8_t size = 0;
};

/// A JACK MIDI input port of client `client` through libjack itself [control]: each message is
/// stamped with JACK's frame time (the cycle's first frame plus the event's offset in it), so a
/// clock is measured on the sample clock the audio plays on, to the frame, however late the
/// process thread runs. (RtMidi's JACK input stamps a whole period's events with the wall-clock
/// time its callback ran: on a loaded machine whole bursts of ticks come out with one time.)
/// MidiMessage::frames is that frame time, MidiMessage::seconds the same in seconds.
class JackMidiInput {
public:
    /// Connects the port `port` to the first JACK MIDI output whose name contains `source` (empty:
    /// none, others connect to it). Throws std::runtime_error naming the library, the server, or
    /// the source and the ports there are.
    JackMidiInput(const std::string& client, const std::string& port, const std::string& source);
    ~JackMidiInput();
    JackMidiInput(const JackMidiInput&) = delete;
    JackMidiInput& operator=(const JackMidiInput&) = delete;
    bool pop(MidiMessage& out);
    long dropped() const;
    double sampleRate() const;
    /// JACK's frame time at the start of the last cycle this port saw [any].
    long long lastCycleFrame() const;
    /// From now on a MIDI Stop closes `engine`'s output gate (fading over `fadeSamples`) on JACK's
    /// thread, in the cycle it arrives, without waiting for anyone to read it; the engine's
    /// sample clock is also followed, for engineSample() [control].
    void stopGate(engine::AudioEngine* engine, int fadeSamples);
    /// The engine's sample at JACK frame `frames` (after stopGate; the engine renders one block a
    /// cycle, so within a cycle) [any].
    long long engineSample(long long frames) const;
    /// What it listens to (the source port's name, or its own port's).
    const std::string& name() const;

    /// Plays `engine` on two audio outputs of this same client (out_L, out_R, connected to the
    /// first two playback ports named like `destination`; empty: the first two there are),
    /// rendered in the process callback after the cycle's MIDI is read, when hold() says: silent,
    /// the engine not run, until the first tick after Start, whose frame plus `delaySeconds`
    /// (>= 0; less is taken as 0) is the engine's sample 0, to the frame; paused after a Stop's
    /// fade, resumed on a Continue. Call stopGate() first (the fade). Returns what it connected to [control].
    std::string playEngine(engine::AudioEngine& engine, double delaySeconds, const std::string& destination);
    /// Stops rendering; when it returns the process thread no longer touches the engine [control].
    void stopEngine();
    /// The transport's hold on the engine (playEngine): its state, frames, and setters [any].
    ClockHold& hold();
    /// From now on the clock is JACK's transport, not the port: each cycle's transport state and
    /// position become MIDI clock messages on their frames (io::TransportClock: rolling is Start
    /// or Song Position Pointer + Continue, stopped is Stop, 24 ticks a beat at the timebase
    /// master's tempo, else at `fallbackBpm`), handled as the port's would be [control].
    void followTransport(double fallbackBpm);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A JACK MIDI output port through libjack, written sample-accurately [control, one thread]:
/// messages are scheduled for a sample of `engine`'s clock and written in the JACK cycle that
/// plays it, at that frame (the engine renders one block a cycle), e.g. a MIDI clock out.
class JackMidiOutput {
public:
    /// Connects to the first JACK MIDI input whose name contains `destination` (empty: none).
    JackMidiOutput(const std::string& client, const std::string& port, const std::string& destination, const engine::AudioEngine& engine);
    ~JackMidiOutput();
    JackMidiOutput(const JackMidiOutput&) = delete;
    JackMidiOutput& operator=(const JackMidiOutput&) = delete;
    /// One realtime byte at engine sample `sample` (in order; a late one goes out at once).
    /// False when the queue (4096) is full.
    bool schedule(long long sample, std::uint8_t status);
    const std::string& name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::io

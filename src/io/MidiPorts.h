#pragma once
// MIDI in and out through RtMidi on JACK, for the DJ's clock sync [control]. librtmidi is opened
// (dlopen, its C API) when a port is first asked for, not linked, as RtAudio is
// (RtAudioDevice.cpp): it brings JACK and ALSA with it, which every other command would pay for
// at start-up.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace soundstar::engine {
class AudioEngine;
}

namespace soundstar::io {

/// One short MIDI message (a realtime byte, or Song Position Pointer's three) and when it came,
/// in midiSeconds().
struct MidiMessage {
    double seconds = 0.0;
    long long frames = -1;  // JACK's frame time of it (JackMidiInput; -1: not known)
    std::uint8_t bytes[3] = {0, 0, 0};
    std::uint8_t size = 0;
};

/// The clock MidiMessage::seconds is on (std::chrono::steady_clock, in seconds) [any].
double midiSeconds();

/// A JACK MIDI input port of client `client` [control]. Its messages are stamped on JACK's thread
/// as they arrive and queued (at most 4096; more are dropped and counted) until pop() takes them.
/// Only realtime messages and Song Position Pointers are kept (a clock needs no notes).
class MidiInput {
public:
    /// Connects to the first output port whose name contains `source`, or opens a port named
    /// `port` for others to connect to when `source` is empty. Throws std::runtime_error naming
    /// the library, or the source and the ports there are.
    MidiInput(const std::string& client, const std::string& port, const std::string& source);
    ~MidiInput();
    MidiInput(const MidiInput&) = delete;
    MidiInput& operator=(const MidiInput&) = delete;
    bool pop(MidiMessage& out);
    long dropped() const;
    /// What it listens to ("soundstar:clock_in" or the source port's name).
    const std::string& name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
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

/// A JACK MIDI output port of client `client` [control, one thread]: connected to the first input
/// port whose name contains `destination`, or open for others when it is empty.
class MidiOutput {
public:
    MidiOutput(const std::string& client, const std::string& port, const std::string& destination);
    ~MidiOutput();
    MidiOutput(const MidiOutput&) = delete;
    MidiOutput& operator=(const MidiOutput&) = delete;
    /// Sends 1..3 bytes at once; false when RtMidi refused them.
    bool send(const std::uint8_t* bytes, int size);
    const std::string& name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::io

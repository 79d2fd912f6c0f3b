#pragma once
// JACK's transport read as a MIDI beat clock [rt, JACK's process thread] (`soundstar dj --clock
// jack`): each cycle's transport state and position (jack_transport_query) become the messages a
// MIDI clock would have sent, each on its frame, so the DJ's clock follower, phase lock and hold
// (dj::ClockFollower, dj::PhaseLock, io::ClockHold) follow a DAW's transport exactly as they
// follow a clock: rolling from bar 1 beat 1 is Start, rolling from elsewhere is a Song Position
// Pointer (the next sixteenth) and Continue, stopping is Stop, and a relocation while rolling is
// a Stop and, once the set has faded and paused, a Continue from the new place; 24 ticks a beat
// while rolling, on the frames where the transport's beat crosses them. The tempo and the beat
// come from the timebase master's bar/beat/tick when there is one (a BBT beat is a clock beat),
// else from the transport's frame at `fallbackBpm`. Pure logic on frame numbers (tested without
// JACK in test_dj_transport); nothing here allocates.
#include <cstdint>

namespace soundstar::io {

/// JACK's 32-bit frame time made 64-bit [rt]: its 32 bits wrap about a day after jackd started
/// (at 48 kHz), and frames are compared with earlier ones. Fed every read, in time order.
class WideFrameTime {
public:
    long long operator()(std::uint32_t raw) {
        wide_ = wide_ < 0 ? static_cast<long long>(raw) : wide_ + static_cast<std::int32_t>(raw - last_);
        last_ = raw;
        return wide_;
    }

private:
    std::uint32_t last_ = 0;
    long long wide_ = -1;
};

class TransportClock {
public:
    static constexpr int kTicksPerBeat = 24;
    /// A late client can read the frame time and the transport a period apart: a difference of at
    /// most kStraddlePeriods periods that the transport did not sit out is not a relocation; kept
    /// for kDriftCycles cycles in a row, the ticks move with it.
    static constexpr long long kStraddlePeriods = 2;
    static constexpr int kDriftCycles = 3;
    /// Ticks of skipped cycles sent late, at most (a bar); a longer stall lets the rest go.
    static constexpr long long kMaxLateTicks = 96;
    /// The transport at a cycle's first frame, as jack_transport_query reports it.
    struct Position {
        bool rolling = false;
        long long frame = 0;     // the transport's frame
        double frameRate = 48000.0;
        bool bbt = false;        // a timebase master gave bar/beat/tick and the tempo
        int bar = 1, beat = 1;   // from 1
        double tick = 0.0, ticksPerBeat = 1920.0, beatsPerBar = 4.0, bpm = 120.0;
    };
    struct Message {
        long long frame = 0;  // JACK's frame time
        std::uint8_t bytes[3] = {0, 0, 0};
        std::uint8_t size = 0;
    };

    /// The tempo used when no timebase master gives one (20..400 bpm) [control, before it runs].
    void setFallbackBpm(double bpm);
    /// Frames a relocation's Continue waits after its Stop (the set's fade and pause; >= 1).
    void setRelocateGap(long long frames) { relocateGap_ = frames < 1 ? 1 : frames; }

    /// The cycle [first, first + frames) of JACK's frame time with the transport at `p`: writes
    /// its messages, in order, to `out` (at most `max`; the rest are dropped) and returns how many
    /// [rt]. Each is stamped with its frame: before `first` (never before the last cycle's end)
    /// when it belongs to cycles this client missed (late ticks, a Start it rolled with).
    int cycle(long long first, long long frames, const Position& p, Message* out, int max);

    /// The song position (beats) the transport was at in the last cycle, and its tempo [rt].
    double songBeat() const { return songBeat_; }
    double bpm() const { return bpm_; }

private:
    int step(long long first, long long frames, const Position& p, Message* out, int max);

    double fallbackBpm_ = 120.0;
    long long relocateGap_ = 2400;
    bool rolling_ = false;       // what the messages said last: rolling (Start/Continue sent)
    long long offset_ = 0;       // JACK frame - transport frame while rolling (a jump: relocated)
    long long lastTransportFrame_ = -1, lastFrames_ = 0;  // the last cycle's transport frame and length
    long long lastFirst_ = 0;                             // its first frame
    bool lastRolling_ = false;                            // and whether it rolled
    long long resumeAfter_ = -1; // a relocation: the Continue waits until this JACK frame
    long long drift_ = 0;        // the last cycle's small offset change, and how many cycles it held
    int driftCycles_ = 0;
    long long lastEnd_ = 0;      // the end of the last cycle: no message is stamped before it
    long long nextTick_ = 0;     // the song tick of the next tick
    double nextTickFrame_ = 0.0; // where it falls (JACK frames)
    double tickFrames_ = 0.0;
    double songBeat_ = 0.0, bpm_ = 0.0;
};

}  // namespace soundstar::io

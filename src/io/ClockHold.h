#pragma once
// When a held engine plays, following a MIDI clock's transport [rt, JACK's process thread; the
// setters [any]] (io::JackMidiInput::playEngine). Pure logic on frame numbers, so it is tested
// without JACK (test_dj_clock):
// - silent (the engine not run) until the first tick after Start, whose frame plus the delay
//   is the engine's sample 0;
// - Stop: the engine runs `fadeFrames` more (the output gate's fade) and then pauses, its
//   sample clock frozen (the set's bar remembered);
// - Continue (after a Song Position Pointer or not): the engine resumes, from where it paused,
//   on the frame where the clock's song position reaches the set's place in its bar
//   (setResumePhase, in ticks: 0..95), at most a bar later, so the set's bar lines fall on the
//   clock's again (4/4 from song position 0). Before the set ever played, a Continue starts it
//   on the clock's next bar line.
#include <atomic>
#include <cstdint>

namespace soundstar::io {

class ClockHold {
public:
    static constexpr int kTicksPerBar = 96;  // 24 a beat, 4/4
    /// A start or resume whose frame fell in cycles this client missed is caught up by rendering
    /// the frames since it unheard, up to this many (more: it starts late, on the cycle).
    static constexpr long long kMaxUnheardFrames = 8192;
    enum class State : std::uint8_t { Waiting, Running, Stopping, Paused };
    /// Frames of this cycle the engine renders: [from, to) (from == to: none).
    struct Span {
        long long from = 0, to = 0;
        bool started = false;  // the engine starts (or resumes) at `from` in this cycle
        bool forced = false;   // by forceRun, not the clock (the output gate stays as it is)
        long long unheard = 0; // started: its frame was this many frames before the cycle (missed
                               // cycles): the engine renders them unheard first, from = 0
    };

    /// The set plays this many frames after the clock (>= 0) [control, before it runs].
    void setDelay(long long frames) { delay_.store(frames < 0 ? 0 : frames, std::memory_order_relaxed); }
    void setFadeFrames(long long frames) { fade_.store(frames < 1 ? 1 : frames, std::memory_order_relaxed); }
    /// Where in its bar the paused set stands, in ticks [0, 96) [any]; a Continue's ticks wait for it.
    void setResumePhase(double ticksInBar);
    /// One realtime message (0xF8/FA/FB/FC, or 0xF2 with its two data bytes) at `frame` [rt].
    void onMessage(const std::uint8_t* bytes, int size, long long frame);
    /// The cycle [first, first + frames): what to render, after its messages [rt].
    Span cycle(long long first, long long frames);
    /// A new engine handed over: the cycles seen before are not its own [rt].
    void forgetCycles() { lastEnd_ = -1; }
    /// Starts (or resumes) at the next cycle without the clock: a quit must play its fade [any].
    void forceRun() { force_.store(true, std::memory_order_release); }

    State state() const { return state_.load(std::memory_order_acquire); }
    /// The frame the engine first played at (-1: not yet), and the last resume's frame [any].
    long long startFrame() const { return startFrame_.load(std::memory_order_acquire); }
    long long resumeFrame() const { return resumeFrame_.load(std::memory_order_acquire); }
    /// The clock's song position (ticks) at the last resume [any].
    long long resumeSongTick() const { return resumeSongTick_.load(std::memory_order_acquire); }

private:
    /// Paused, or stopping with its fade done by `frame` (the pause is told a cycle later) [rt].
    bool pausedBy(State s, long long frame) const { return s == State::Paused || (s == State::Stopping && stopAt_ <= frame); }

    std::atomic<long long> delay_{0}, fade_{480};  // set from the control side, read on JACK's thread
    std::atomic<State> state_{State::Waiting};
    std::atomic<bool> force_{false};
    std::atomic<double> resumePhase_{-1.0};  // -1: not known yet
    std::atomic<long long> startFrame_{-1}, resumeFrame_{-1}, resumeSongTick_{0};
    // [rt]
    bool armed_ = false, continuing_ = false, clockPlaying_ = false, forced_ = false;
    long long songTick_ = 0;      // song position of the next tick
    long long lastTickFrame_ = -1;
    double tickFrames_ = 0.0;     // the last tick interval
    long long pending_ = -1;      // the frame to start/resume at
    long long lastEnd_ = -1;      // the end of the last cycle (-1: none yet)
    long long stopAt_ = -1;       // Stopping: the frame the pause begins
};

}  // namespace soundstar::io

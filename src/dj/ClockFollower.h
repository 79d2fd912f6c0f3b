#pragma once
// Follows a MIDI beat clock (24 ticks a beat, Start/Stop/Continue, Song Position Pointer) from
// timestamped messages [control, one thread]: the tempo is a least-squares line through the
// last one to four beats of ticks (so a tick's jitter averages out instead of moving the beat),
// smoothed over about two beats, and re-locked when the last six ticks' own line has disagreed
// with it by more than 2% for eight ticks in a row (a tempo jump, not one late tick). A gap over 250 ms keeps the last tempo and reports
// clock_lost. Times are seconds on any monotonic clock; nothing here allocates after
// construction, so it may also run where the messages arrive.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soundstar::dj {

/// Something the clock did, at `seconds`; `beat` is the song position (beats from bar 1 beat 1)
/// it applies from, `bpm` the tempo then (0: not known yet).
struct ClockEvent {
    enum class Kind : std::uint8_t { Start, Stop, Continue, Position, Lost, Back, Relock };
    Kind kind = Kind::Start;
    double seconds = 0.0;
    double beat = 0.0;
    double bpm = 0.0;
};
/// "start", "stop", "continue", "position", "clock_lost", "clock_back", "relock".
const char* clockEventName(ClockEvent::Kind k);

class ClockFollower {
public:
    static constexpr int kTicksPerBeat = 24;
    static constexpr int kMaxWindowTicks = 8 * kTicksPerBeat;  // the fit's longest window (two bars)
    static constexpr double kLostAfterSeconds = 0.25;
    static constexpr std::size_t kMaxEvents = 256;  // unread events beyond this are dropped (counted)

    /// One MIDI message (status byte first) received at `seconds`: 0xF8 tick, 0xFA Start, 0xFB
    /// Continue, 0xFC Stop, 0xF2 Song Position Pointer (two 7-bit data bytes, sixteenths). Anything
    /// else, a short or malformed message, or a non-finite time, is ignored (returns false).
    bool onMessage(const std::uint8_t* bytes, std::size_t size, double seconds);
    void onTick(double seconds);
    void onStart(double seconds);
    void onStop(double seconds);
    void onContinue(double seconds);
    /// Song Position Pointer: the next Continue resumes at `sixteenths` (0..16383).
    void onSongPosition(int sixteenths, double seconds);
    /// Playing, with the next tick at song position `songTick` (ticks), without an event: for a
    /// follower taking over from another one on another clock.
    void resumeAt(long long songTick);
    /// Call regularly (e.g. every few ms): reports clock_lost once ticks have stopped for 250 ms.
    void check(double seconds);

    /// The tempo (quarter notes a minute) once six ticks have come; it is kept through a gap.
    std::optional<double> bpm() const;
    /// The tempo the last line fit gives, unsmoothed (for tests and diagnostics).
    std::optional<double> rawBpm() const;
    bool playing() const { return playing_; }
    bool lost() const { return lost_; }
    /// The song position in beats at `seconds`: while playing, the fitted tick grid extended to
    /// then (bar 1 beat 1 = 0 at the first tick after Start); while stopped, where it stopped.
    double beatAt(double seconds) const;
    /// The events since the last call, oldest first; `dropped` counts those lost to kMaxEvents.
    std::vector<ClockEvent> takeEvents();
    long droppedEvents() const { return dropped_; }

private:
    void event(ClockEvent::Kind k, double seconds);
    void resetWindow(int keepLast);
    void fit();
    bool jumped() const;
    // The window: the last ticks' times, a ring indexed by the running tick count.
    std::array<double, kMaxWindowTicks> times_{};
    long long count_ = 0;        // ticks seen so far (the next tick's running index)
    long long windowFirst_ = 0;  // running index of the window's oldest tick
    double origin_ = 0.0;        // time subtracted before fitting (precision)
    // The fit t = a + b * (index - windowFirst_), and the smoothed period.
    double a_ = 0.0, b_ = 0.0, smoothed_ = 0.0;
    bool fitted_ = false;
    bool fresh_ = true;  // the line is new (first or after a jump): its fit is the tempo until full
    int jumpRun_ = 0;  // ticks in a row that looked like a jump
    double lastTick_ = -1.0;
    bool lost_ = false;
    bool playing_ = false;
    bool startPending_ = false;     // Start/Continue heard: the next tick is the song position below
    long long songAtNext_ = 0;      // song position (ticks) of the next tick while playing
    long long songOffset_ = 0;      // song ticks = running index + offset, while playing
    std::vector<ClockEvent> events_;
    long dropped_ = 0;
};

}  // namespace soundstar::dj

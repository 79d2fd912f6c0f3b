#pragma once
// `soundstar dj --clock midi`: the set follows a MIDI clock on JACK [control, the session's
// thread]. Messages are stamped with JACK's frame time (io::JackMidiInput) and read by a
// dj::ClockFollower; the set starts on the first tick after Start (or Continue), and a
// dj::PhaseLock gives it the clock's tempo, nudged to keep its bar lines on the clock's, from
// each bar line (clock_phase events say how far off each was); on Stop the engine's output gate fades to silence within 10 ms (closed on JACK's
// thread in the cycle the Stop comes) and the set ends.
#include <fmt/format.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "Commands.h"
#include "SessionLoop.h"
#include "dj/ClockFollower.h"
#include "dj/DjSet.h"
#include "dj/PhaseLock.h"
#include "engine/AudioEngine.h"
#include "io/AudioDevice.h"
#include "io/ClockHold.h"
#include "io/JackMidi.h"

namespace soundstar::app {

class DjMidiSync {
public:
    static constexpr double kStopFadeSeconds = 0.010;

    /// `--clock jack`: the clock is JACK's transport (io::TransportClock), at `fallbackBpm` when
    /// no timebase master gives a tempo.
    DjMidiSync(const DjArgs& args, double fallbackBpm) : in_("soundstar-dj", "clock_in", args.midiIn), offsetSeconds_(args.midiOffsetMs / 1000.0) {
        if (args.clock == "jack") in_.followTransport(fallbackBpm), transport_ = true;
    }

    const std::string& portName() const { return in_.name(); }
    /// What the set waits for, for the user.
    std::string waitingFor() const { return transport_ ? "the JACK transport to roll" : "MIDI Start on " + in_.name(); }
    /// The JACK server's sample rate: a set played in the clock's client (--device jack) renders at it.
    double jackRate() const { return in_.sampleRate(); }

    /// Waits for Start or Continue and the first tick after it; false when interrupted (Ctrl-C).
    bool waitForStart() {
        for (bool started = false; !SessionLoop::interrupted;) {
            io::MidiMessage m;
            if (!in_.pop(m)) {
                std::this_thread::sleep_for(std::chrono::microseconds(500));
                continue;
            }
            follower_.onMessage(m.bytes, m.size, m.seconds);
            if (m.bytes[0] == 0xFA || m.bytes[0] == 0xFB) started = true;
            if (m.bytes[0] == 0xFC) started = false;
            if (started && m.bytes[0] == 0xF8) {
                firstTick_ = m.seconds;
                startBeat_ = follower_.beatAt(m.seconds);
                lock_.restart(startBeat_, [this](SampleTime s) { return static_cast<double>(s - in_.engineSample(0)) / in_.sampleRate() - offsetSeconds_; });
                follower_.takeEvents();  // Start is the set's start, not news
                return true;
            }
        }
        return false;
    }
    /// The clock's tempo when the set starts (none when no tick came before the first).
    std::optional<double> bpm() const { return follower_.bpm(); }

    /// `--device jack`: the set plays in the clock's own JACK client, held silent until the
    /// first tick after Start, whose frame (plus --midi-offset-ms, when positive) is the set's
    /// sample 0 (io::JackMidiInput::playEngine); poll() then starts the lock from there.
    std::unique_ptr<io::AudioDevice> heldDevice();

    /// Reads what came since the last call and acts on it; `now` is the engine's next sample.
    void poll(SampleTime now, double sampleRate, dj::DjSet& set, engine::AudioEngine& engine, SessionLoop& loop) {
        const double jackNow = static_cast<double>(in_.lastCycleFrame()) / in_.sampleRate();
        if (held_ && !heldStarted_) {
            const long long startFrame = in_.hold().startFrame();  // read before the queue: its tick is in it
            for (io::MidiMessage m; in_.pop(m);) follower_.onMessage(m.bytes, m.size, m.seconds);
            if (startFrame < 0) {
                if (SessionLoop::interrupted || loop.quitting()) in_.hold().forceRun();  // so the quit's fade plays and the loop ends
                follower_.takeEvents();
                return;
            }
            heldStarted_ = true;
            lastResume_ = in_.hold().resumeFrame();
            firstTick_ = static_cast<double>(startFrame) / in_.sampleRate() - std::max(0.0, offsetSeconds_);
            startBeat_ = follower_.playing() ? follower_.beatAt(firstTick_) : 0.0;
            lock_.restart(startBeat_, [this](SampleTime s) { return static_cast<double>(s - in_.engineSample(0)) / in_.sampleRate() - offsetSeconds_; });
            follower_.takeEvents();  // Start is the set's start, not news
        }
        if (!announced_) {
            announced_ = true;
            in_.stopGate(&engine, static_cast<int>(std::lround(kStopFadeSeconds * sampleRate)));
            if (held_)
                set.mark(0, "clock_follow", fmt::format("the first tick after {} (beat {:.2f}, JACK frame {}) is the set's first sample, played on its frame{}",
                                                        startBeat_ == 0 ? "Start" : "Continue", startBeat_, std::llround(firstTick_ * in_.sampleRate()),
                                                        offsetSeconds_ > 0 ? fmt::format(" plus {:.1f} ms", offsetSeconds_ * 1000.0) : ""));
            else
                set.mark(0, "clock_follow", fmt::format("the first tick after {} (beat {:.2f}) is the set's first sample; it came {:.1f} ms before that was rendered",
                                                        startBeat_ == 0 ? "Start" : "Continue", startBeat_, (jackNow - firstTick_) * 1000.0));
        }
        // JACK's time to the engine's sample (the engine renders a block a JACK cycle).
        const auto at = [&](double seconds) {
            return std::max<SampleTime>(0, in_.engineSample(std::llround((seconds + offsetSeconds_) * in_.sampleRate())));
        };
        for (io::MidiMessage m; in_.pop(m);) follower_.onMessage(m.bytes, m.size, m.seconds);
        follower_.check(jackNow);
        for (const auto& e : follower_.takeEvents()) {
            const std::string name = dj::clockEventName(e.kind);
            if (held_ && heldPaused(e, set, engine)) continue;
            if (e.kind == dj::ClockEvent::Kind::Stop && !stopped_) {
                stopped_ = true;
                engine.setOutputGate(false, static_cast<int>(std::lround(kStopFadeSeconds * sampleRate)));  // closed on JACK's thread already
                set.mark(at(e.seconds), "clock_stop", fmt::format("Stop at beat {:.2f}: silent within 10 ms", e.beat));
                loop.quit(now);
            } else if (!stopped_) {
                set.mark(at(e.seconds), name.rfind("clock_", 0) == 0 ? name : "clock_" + name,
                         fmt::format("beat {:.2f}, {:.2f} bpm{}", e.beat, e.bpm, e.kind == dj::ClockEvent::Kind::Lost ? " kept" : ""));
            }
        }
        if (held_ && paused_ && !resumed(set, engine, loop)) return;
        const auto bpm = follower_.bpm();
        if (!bpm || stopped_) return;
        const double beat = follower_.beatAt(jackNow) - startBeat_;
        if (!readAtTwoBeats_ && beat >= 2.0) {
            readAtTwoBeats_ = true;
            set.mark(now, "clock_tempo", fmt::format("{:.3f} bpm two beats in", *bpm));
        }
        // The set's sample s plays at JACK frame s - engineSample(0); the clock's beat that goes
        // with it is the one the declared latency earlier.
        const int plans = lock_.catchUp().plans;
        if (lock_.update(follower_, set)) {
            if (const auto& c = lock_.catchUp(); c.plans != plans)
                set.mark(c.from, "clock_catch_up", fmt::format("bar 1 re-tempoed from here: {:.2f} bpm over a beat, then the clock's {:.3f}; bar 2's line moves {:+.3f} ms onto the clock's",
                                                                c.bpm, c.clockBpm, static_cast<double>(c.line - c.wasLine) * 1000.0 / sampleRate));
            set.mark(set.nextLine(), "clock_phase", fmt::format("{:+.3f} ms (the set's bar line after the clock's), {:.3f} bpm from here", lock_.lastErrorMs(), lock_.lastBpm()));
        }
    }

private:
    // Held: Stop pauses the set (io::ClockHold) instead of ending it; what the clock says while
    // paused is reported when the set resumes. True when `e` was taken here.
    bool heldPaused(const dj::ClockEvent& e, dj::DjSet& set, const engine::AudioEngine& engine) {
        if (e.kind == dj::ClockEvent::Kind::Stop) {
            if (!paused_) {
                const SampleTime at = engine.now();
                set.mark(at, "clock_stop", fmt::format("Stop at the clock's beat {:.2f}: the set pauses in its bar {} (silent within 10 ms)", e.beat, set.barAt(at) + 1));
            }
            paused_ = true, phaseSent_ = false;
            return true;
        }
        return paused_;  // a stopped clock's silence is not a lost clock; Continue is told on the resume
    }
    /// While paused: tells the hold where in its bar the set stopped, once the engine has; true
    /// (and a clock_continue event) once the hold has resumed it.
    bool resumed(dj::DjSet& set, const engine::AudioEngine& engine, SessionLoop& loop) {
        auto& hold = in_.hold();
        if (loop.quitting()) {
            hold.forceRun();  // the quit's fade plays (silent: the gate is closed) and the loop ends
            return false;
        }
        if (hold.state() == io::ClockHold::State::Paused && !phaseSent_) {
            phaseSent_ = true;
            pausedAt_ = engine.now();
            const int bar = set.barAt(pausedAt_);
            const double beats = static_cast<double>(pausedAt_ - set.barLine(bar)) / in_.sampleRate() * follower_.bpm().value_or(120.0) / 60.0;
            pausedBeat_ = std::clamp(beats, 0.0, 3.999);
            hold.setResumePhase(pausedBeat_ * dj::ClockFollower::kTicksPerBeat);
        }
        if (hold.state() != io::ClockHold::State::Running || hold.resumeFrame() == lastResume_) return false;
        lastResume_ = hold.resumeFrame();
        paused_ = false;
        const double songBeats = static_cast<double>(hold.resumeSongTick()) / dj::ClockFollower::kTicksPerBeat;
        set.mark(pausedAt_, "clock_continue",
                 fmt::format("the set's bar {} beat {:.3f} resumes in phase with the clock's bar {} (after its song tick {}), JACK frame {}", set.barAt(pausedAt_) + 1,
                             pausedBeat_ + 1.0, static_cast<long long>(songBeats / 4.0) + 1, hold.resumeSongTick(), lastResume_));
        return true;
    }

    io::JackMidiInput in_;
    dj::ClockFollower follower_;  // on JACK's frame clock
    double offsetSeconds_ = 0.0;
    double firstTick_ = 0.0, startBeat_ = 0.0;
    dj::PhaseLock lock_{0.0, [this](SampleTime s) {
                            return static_cast<double>(s - in_.engineSample(0)) / in_.sampleRate() - offsetSeconds_;
                        }};
    bool announced_ = false, stopped_ = false, readAtTwoBeats_ = false;
    bool held_ = false, heldStarted_ = false, paused_ = false, phaseSent_ = false, transport_ = false;
    long long lastResume_ = -1;
    SampleTime pausedAt_ = 0;
    double pausedBeat_ = 0.0;
};

/// The clock's JACK client as the set's audio device (DjMidiSync::heldDevice).
class HeldClockDevice : public io::AudioDevice {
public:
    HeldClockDevice(io::JackMidiInput& in, double delaySeconds) : in_(in), delaySeconds_(delaySeconds) {}
    ~HeldClockDevice() override { stop(); }
    void start(engine::AudioEngine& engine) override { name_ = in_.playEngine(engine, delaySeconds_, ""); }
    void stop() override { in_.stopEngine(); }
    std::string name() const override { return "JACK (the clock's client, held until the first tick: " + name_ + ")"; }

private:
    io::JackMidiInput& in_;
    double delaySeconds_;
    std::string name_;
};

inline std::unique_ptr<io::AudioDevice> DjMidiSync::heldDevice() {
    held_ = true;
    return std::make_unique<HeldClockDevice>(in_, std::max(0.0, offsetSeconds_));
}

/// `soundstar dj --midi-out`: a MIDI clock out for other gear to follow the set [control, the
/// session's thread]: Start and the first tick on the set's first sample, 24 ticks a beat at
/// the session's tempo (ramps included, tick by tick), each written at its frame in the JACK
/// cycle that plays it, scheduled 50 ms ahead; Stop when the set ends.
class DjClockOut {
public:
    DjClockOut(const std::string& destination, const engine::AudioEngine& engine) : out_("soundstar-dj-out", "clock_out", destination, engine) {}
    const std::string& portName() const { return out_.name(); }

    void poll(SampleTime now, double sampleRate, const live::LiveSession& session, bool ending) {
        if (stopped_) return;
        if (!started_) started_ = out_.schedule(0, 0xFA);
        if (ending) {
            stopped_ = out_.schedule(std::max<SampleTime>(now, std::llround(nextTick_)), 0xFC);
            return;
        }
        const auto horizon = static_cast<double>(now) + 0.05 * sampleRate;
        while (nextTick_ < horizon) {
            const auto at = static_cast<SampleTime>(std::llround(nextTick_));
            if (!out_.schedule(at, 0xF8)) break;  // full: the rest next time
            nextTick_ += 60.0 / (dj::ClockFollower::kTicksPerBeat * session.bpmAt(at)) * sampleRate;
        }
    }

private:
    io::JackMidiOutput out_;
    double nextTick_ = 0.0;
    bool started_ = false, stopped_ = false;
};

}  // namespace soundstar::app

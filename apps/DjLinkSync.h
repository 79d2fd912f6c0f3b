#pragma once
// `soundstar dj --clock link`: the set plays in an Ableton Link session [control, the session's
// thread]. dj::LinkClock joins the session (its tempo and timeline kept as they are: a joiner never
// moves them) with start/stop sync; the set starts on the session's next bar line (starting the
// session's transport there when it was stopped), and a dj::PhaseLock keeps the set's bar lines
// on the session's (quantum 4) as it does for a MIDI clock: before each bar line is decided, the
// session's beat at the time that line will be heard gives the error, and the next bar plays at
// the session's tempo nudged by it. When the set's samples are heard is measured, not assumed:
// every poll pairs the engine's sample clock with Link's host clock, and the earliest pairing of
// the last seconds (the least delayed look at a block just rendered) plus the device's output
// latency maps a sample to the host time it plays at. A peer stopping the transport fades the set
// out (10 ms) and ends it.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "Commands.h"
#include "SessionLoop.h"
#include "dj/DjSet.h"
#include "dj/LinkClock.h"
#include "dj/PhaseLock.h"
#include "engine/AudioEngine.h"
#include "io/AudioDevice.h"

namespace soundstar::app {

class DjLinkSync {
public:
    static constexpr double kJoinSeconds = 2.0;       // how long discovery is given before the set starts
    static constexpr double kSettleSeconds = 1.0;     // after a peer is seen: Link measures and adopts its session
    static constexpr double kWindowSeconds = 8.0;     // the sample-to-host-time pairings kept (a sound card's drift: well under 1 ms in it)
    static constexpr double kFirstLookSeconds = 1.0;  // pairings gathered before the first nudge
    static constexpr double kStopFadeSeconds = 0.010;
    static constexpr double kCatchUpMs = 2.0;  // a bar line further off is landed by re-tempoing the bar before it

    /// Joins (or founds, at `bpm`) the session: waits up to kJoinSeconds for a peer, then
    /// kSettleSeconds while Link measures the peer's session and takes its tempo, timeline and
    /// transport (a peer is seen before its session is adopted).
    explicit DjLinkSync(double bpm) : link_(bpm) {
        using clock = std::chrono::steady_clock;
        const auto wait = [](auto until, auto done) {
            while (!done() && !SessionLoop::interrupted && clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        };
        wait(clock::now() + std::chrono::duration<double>(kJoinSeconds), [this] { return link_.peers() > 0; });
        if (link_.peers() > 0) wait(clock::now() + std::chrono::duration<double>(kSettleSeconds), [] { return false; });
        peers_ = link_.peers();
    }
    std::size_t peers() const { return link_.peers(); }
    /// The session's tempo (a joined session's, or the one this set founded).
    double bpm() const { return link_.bpm(); }

    /// `device` (null, default or jack) started on the session's next bar line (at least 50 ms
    /// on); its output latency, known once it has started, is then counted in every bar's reading.
    std::unique_ptr<io::AudioDevice> device(const std::string& device);

    /// Reads the clocks and acts on them; `now` is the engine's next sample.
    void poll(SampleTime, double sampleRate, dj::DjSet& set, engine::AudioEngine& engine, SessionLoop& loop) {
        if (!observe(engine, sampleRate) || stopped_) return;
        if (!announced_) {
            announced_ = true;
            set.mark(0, "clock_follow",
                     fmt::format("Ableton Link: the session's bar line at beat {:.0f} is the set's first sample ({} peers, {:.2f} bpm, transport {}), "
                                 "heard {:.1f} ms after it was asked for; output latency {:.3f} ms",
                                 startBeat_, peers_, link_.bpm(), startedTransport_ ? "started by the set" : "already playing",
                                 (hostOf(0, sampleRate) - startAt_) / 1000.0, latencyMicros_ / 1000.0));
        }
        if (const std::size_t p = link_.peers(); p != peers_) {
            peers_ = p;
            set.mark(engine.now(), "link_peers", fmt::format("{} peers", p));
        }
        if (!link_.playing()) {
            stopped_ = true;
            engine.setOutputGate(false, static_cast<int>(std::lround(kStopFadeSeconds * sampleRate)));
            set.mark(engine.now(), "clock_stop", "a peer stopped the Link session's transport: silent within 10 ms");
            loop.quit(engine.now());
            return;
        }
        if (pairings_.back().host - pairings_.front().host < kFirstLookSeconds * 1e6) return;  // a second of looks before the first nudge
        const double bpm = link_.bpm();
        // A bar line well off the session's (a device that opened late: RtAudio's JACK client
        // takes ~0.3 s) would take the lock's 2% a bar many bars to pull in. So the rest of the
        // bar playing is re-tempoed, as PhaseLock does for a MIDI clock's first bar: a ramp over
        // a beat to the tempo that lands the next line on the session's, and back to the
        // session's tempo by then; planned again from each later beat line, and in the bars after
        // while the line is still more than kCatchUpMs off (a catch-up is at most 1.5x the tempo).
        {
            const SampleTime line = set.nextLine();
            const double error = dj::PhaseLock::phaseErrorBeats(link_.beatAt(hostOf(line, sampleRate)));
            if (std::abs(error) * 60000.0 / bpm > kCatchUpMs && lock_.catchUpTo(set, bpm, error)) {
                const auto& c = lock_.catchUp();
                set.mark(c.from, "clock_catch_up",
                         fmt::format("re-tempoed from here: {:.2f} bpm over a beat, then the session's {:.3f}; the bar line {:+.3f} ms after the session's moves "
                                     "from sample {} to {}",
                                     c.bpm, c.clockBpm, error * 60000.0 / bpm, c.wasLine, c.line));
            }
        }
        if (lock_.update(bpm, [this](double seconds) { return link_.beatAt(seconds * 1e6); }, set))
            set.mark(set.nextLine(), "clock_phase",
                     fmt::format("{:+.3f} ms (the set's bar line after the session's), {:.3f} bpm from here", lock_.lastErrorMs(), lock_.lastBpm()));
    }

    /// The host time (Link's, microseconds) the set's `sample` is heard at, as measured so far.
    double hostOf(SampleTime sample, double sampleRate) const {
        return earliest_ + static_cast<double>(sample + block_) * 1e6 / sampleRate + latencyMicros_;
    }

private:
    // Pairs the engine's next sample with Link's clock now; the engine's clock moves a block per
    // render, so `host - sample` is least just after a render: the earliest of the last seconds.
    bool observe(const engine::AudioEngine& engine, double sampleRate) {
        // The end of the last whole render and its length (the device's block): engine.now() moves
        // segment by segment within a render, so a look landing inside one paired a partial
        // step, and the smallest step seen (taken for the block) put every bar line about a
        // period early (measured +5.1 ms heard late on RtAudio/JACK with 256-frame periods).
        const SampleTime s = engine.renderedUntil();
        const double t = link_.nowMicros();
        if (s <= lastSample_) return !pairings_.empty();
        block_ = engine.lastBlockFrames();
        lastSample_ = s;
        pairings_.push_back({t, t - static_cast<double>(s) * 1e6 / sampleRate});
        while (pairings_.front().host < t - kWindowSeconds * 1e6) pairings_.pop_front();
        earliest_ = std::min_element(pairings_.begin(), pairings_.end(), [](const Pairing& a, const Pairing& b) { return a.offset < b.offset; })->offset;
        return block_ > 0;
    }

    struct Pairing {
        double host, offset;  // Link's time, and it less the engine's sample in microseconds
    };
    dj::LinkClock link_;
    std::size_t peers_ = 0;
    double startAt_ = 0.0, startBeat_ = 0.0, latencyMicros_ = 0.0, earliest_ = 0.0;
    bool startedTransport_ = false, announced_ = false, stopped_ = false;
    std::deque<Pairing> pairings_;
    SampleTime lastSample_ = 0, block_ = 0;
    double sampleRate_ = 48000.0;
    dj::PhaseLock lock_{0.0, [this](SampleTime s) { return hostOf(s, sampleRate_) / 1e6; }};
    friend class LinkStartDevice;
};

/// A device started on the Link session's next bar line (DjLinkSync::device).
class LinkStartDevice : public io::AudioDevice {
public:
    LinkStartDevice(DjLinkSync& sync, std::unique_ptr<io::AudioDevice> inner) : sync_(sync), inner_(std::move(inner)) {}
    void start(engine::AudioEngine& engine) override {
        auto& s = sync_;
        s.sampleRate_ = engine.sampleRate();
        // The stream's latency is known once it is open: the start ignores it, the lock takes it
        // up within a bar or two.
        s.startAt_ = s.link_.nextBarAt(s.link_.nowMicros() + 50e3, &s.startBeat_);
        if (!s.link_.playing()) {
            s.link_.startPlaying(s.startAt_);
            s.startedTransport_ = true;
        }
        const double wait = s.startAt_ - s.link_.nowMicros();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long long>(wait)));
        inner_->start(engine);
        s.latencyMicros_ = inner_->outputLatencySeconds() * 1e6;
    }
    void stop() override { inner_->stop(); }
    std::string name() const override { return inner_->name() + ", on the Link session's bar line"; }
    double outputLatencySeconds() const override { return inner_->outputLatencySeconds(); }

private:
    DjLinkSync& sync_;
    std::unique_ptr<io::AudioDevice> inner_;
};

inline std::unique_ptr<io::AudioDevice> DjLinkSync::device(const std::string& device) {
    auto inner = device == "null" ? io::makeNullDevice() : io::makeRtAudioDevice();
    if (!inner) throw std::runtime_error("this build has no audio device support; use --device null");
    return std::make_unique<LinkStartDevice>(*this, std::move(inner));
}

}  // namespace soundstar::app

// The DJ's MIDI clock follower (issue #11, sync): clock bytes fed in-process with +-1 ms of
// jitter give a steady tempo (spread under 0.05 bpm) and beat (under 2 ms off), a jump from 120
// to 128 bpm is followed within two beats, a gap over 250 ms keeps the tempo and says
// clock_lost, and Start/Stop/Continue/Song Position Pointer put the song where MIDI says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "dj/ClockFollower.h"
#include "io/ClockHold.h"

using soundstar::dj::ClockEvent;
using soundstar::dj::ClockFollower;

namespace {
constexpr std::uint8_t kTick = 0xF8, kStart = 0xFA, kContinue = 0xFB, kStop = 0xFC;

void send(ClockFollower& f, std::uint8_t status, double t) { EXPECT_TRUE(f.onMessage(&status, 1, t)); }

/// Ticks of a clock at `bpm` from `from` (the true time of the first), each sent up to `jitterMs`
/// early or late; returns the true time of the next tick.
struct Clock {
    std::mt19937 rng{7};
    double jitterMs = 1.0;
    double send(ClockFollower& f, double bpm, double from, int ticks, const std::function<void(double trueTime)>& each = {}) {
        std::uniform_real_distribution<double> jitter(-jitterMs / 1000.0, jitterMs / 1000.0);
        const double period = 60.0 / (bpm * ClockFollower::kTicksPerBeat);
        for (int i = 0; i < ticks; ++i) {
            const double t = from + i * period;
            ::send(f, kTick, t + jitter(rng));
            if (each) each(t);
        }
        return from + ticks * period;
    }
};

std::vector<ClockEvent::Kind> kinds(const std::vector<ClockEvent>& events) {
    std::vector<ClockEvent::Kind> out;
    for (const auto& e : events) out.push_back(e.kind);
    return out;
}
}  // namespace

TEST(ClockFollower, SteadyClockWithJitterGivesASteadyTempoAndBeat) {
    ClockFollower f;
    Clock clock;
    send(f, kStart, 0.0);
    const double period = 0.5 / ClockFollower::kTicksPerBeat;  // 120 bpm
    double lo = 1e9, hi = -1e9, worstPhaseMs = 0;
    int tick = 0;
    clock.send(f, 120.0, 0.001, 24 * 120, [&](double trueTime) {  // a minute
        if (++tick < 24 * 8) return;                      // settled: from two bars on
        const double bpm = f.bpm().value();
        lo = std::min(lo, bpm), hi = std::max(hi, bpm);
        // The beat now and half a tick on, against the true grid (tick 0 at 0.001 s is beat 0).
        for (double ahead : {0.0, period / 2}) {
            const double trueBeat = (trueTime + ahead - 0.001) / 0.5;
            worstPhaseMs = std::max(worstPhaseMs, std::abs(f.beatAt(trueTime + ahead) - trueBeat) * 500.0);
        }
    });
    EXPECT_LT(hi - lo, 0.05) << "tempo from " << lo << " to " << hi;
    EXPECT_NEAR((hi + lo) / 2, 120.0, 0.05);
    EXPECT_LT(worstPhaseMs, 2.0);
    RecordProperty("spread_bpm", std::to_string(hi - lo));
    RecordProperty("phase_ms", std::to_string(worstPhaseMs));
    EXPECT_EQ(kinds(f.takeEvents()), std::vector{ClockEvent::Kind::Start});  // no false re-lock
}

TEST(ClockFollower, TempoReadsWithinTwoBeats) {
    ClockFollower f;
    Clock clock;
    EXPECT_FALSE(f.bpm());
    clock.jitterMs = 0.25;  // as JACK's MIDI gives it (tests/test_dj_cli.cpp reads that at 120 +-0.05)
    clock.send(f, 120.0, 10.0, 48);
    ASSERT_TRUE(f.bpm());
    EXPECT_NEAR(*f.bpm(), 120.0, 0.05);
    clock.jitterMs = 1.0;  // +-1 ms: the least-squares line of two beats is within 0.15 bpm
    ClockFollower g;
    clock.send(g, 120.0, 10.0, 48);
    EXPECT_NEAR(*g.bpm(), 120.0, 0.15);
}

TEST(ClockFollower, JumpFrom120To128RelocksWithinTwoBeats) {
    ClockFollower f;
    Clock clock;
    double t = clock.send(f, 120.0, 0.0, 24 * 16);
    ASSERT_NEAR(*f.bpm(), 120.0, 0.05);
    t = clock.send(f, 128.0, t, 48);  // two beats at the new tempo
    EXPECT_NEAR(*f.bpm(), 128.0, 0.15);
    t = clock.send(f, 128.0, t, 48);  // four
    EXPECT_NEAR(*f.bpm(), 128.0, 0.1);
    t = clock.send(f, 128.0, t, 96);  // eight
    EXPECT_NEAR(*f.bpm(), 128.0, 0.05);
    const auto events = f.takeEvents();
    EXPECT_EQ(kinds(events), std::vector{ClockEvent::Kind::Relock});
    // and stays there
    int tick = 0;
    clock.send(f, 128.0, t, 24 * 16, [&](double) {
        if (++tick % 6 == 0) { EXPECT_NEAR(*f.bpm(), 128.0, 0.05); }
    });
    EXPECT_TRUE(f.takeEvents().empty());
}

TEST(ClockFollower, OneLostTickIsNoTempoJump) {
    ClockFollower f;
    Clock clock;
    double t = clock.send(f, 120.0, 0.0, 24 * 8);
    t = clock.send(f, 120.0, t + 0.5 / 24, 24 * 4);  // one tick never came
    EXPECT_TRUE(f.takeEvents().empty());
    EXPECT_NEAR(*f.bpm(), 120.0, 1.0);
    clock.send(f, 120.0, t, 24 * 8);
    EXPECT_NEAR(*f.bpm(), 120.0, 0.05);
}

TEST(ClockFollower, GapOver250MsKeepsTheTempoAndSaysClockLost) {
    ClockFollower f;
    Clock clock;
    double t = clock.send(f, 120.0, 0.0, 96);
    const double last = t - 0.5 / 24;
    f.check(last + 0.2);
    EXPECT_FALSE(f.lost());
    f.check(last + 0.3);
    EXPECT_TRUE(f.lost());
    EXPECT_NEAR(*f.bpm(), 120.0, 0.05);
    auto events = f.takeEvents();
    ASSERT_EQ(kinds(events), std::vector{ClockEvent::Kind::Lost});
    EXPECT_NEAR(events[0].seconds, last + 0.25, 0.002);
    EXPECT_NEAR(events[0].bpm, 120.0, 0.05);
    // The clock comes back after two seconds: the gap is not taken as a tick interval.
    clock.send(f, 120.0, last + 2.0, 3);
    EXPECT_FALSE(f.lost());
    EXPECT_NEAR(*f.bpm(), 120.0, 0.05);
    EXPECT_EQ(kinds(f.takeEvents()), std::vector{ClockEvent::Kind::Back});
    // A gap nobody checked for is still reported when the next tick comes.
    clock.send(f, 120.0, last + 5.0, 1);
    EXPECT_EQ(kinds(f.takeEvents()), (std::vector{ClockEvent::Kind::Lost, ClockEvent::Kind::Back}));
}

TEST(ClockFollower, StartStopContinueAndSongPosition) {
    ClockFollower f;
    Clock clock;
    clock.jitterMs = 0;
    double t = clock.send(f, 120.0, 0.0, 24);  // clock running, transport stopped
    EXPECT_FALSE(f.playing());
    EXPECT_EQ(f.beatAt(t), 0.0);
    send(f, kStart, t - 0.005);
    EXPECT_EQ(f.beatAt(t - 0.001), 0.0);  // held until the first tick after Start
    t = clock.send(f, 120.0, t, 1);
    EXPECT_NEAR(f.beatAt(t - 0.5 / 24), 0.0, 1e-6);  // the first tick after Start is bar 1 beat 1
    t = clock.send(f, 120.0, t, 24 * 8 - 1);
    EXPECT_NEAR(f.beatAt(t), 8.0, 1e-6);  // where the next tick would be
    send(f, kStop, t - 0.001);
    EXPECT_FALSE(f.playing());
    t = clock.send(f, 120.0, t, 48);
    EXPECT_NEAR(f.beatAt(t), 8.0, 1e-6);  // held while stopped
    const std::uint8_t spp[] = {0xF2, 0x20, 0x01};  // 0x20 + 0x80 = 160 sixteenths = beat 40
    EXPECT_TRUE(f.onMessage(spp, 3, t));
    EXPECT_NEAR(f.beatAt(t + 1), 40.0, 1e-9);
    send(f, kContinue, t + 0.001);
    t = clock.send(f, 120.0, t, 1);
    EXPECT_NEAR(f.beatAt(t - 0.5 / 24), 40.0, 1e-6);  // Continue resumes on the song position
    EXPECT_EQ(kinds(f.takeEvents()), (std::vector{ClockEvent::Kind::Start, ClockEvent::Kind::Stop, ClockEvent::Kind::Position,
                                                  ClockEvent::Kind::Continue}));
}

TEST(ClockFollower, MalformedMessagesAreIgnored) {
    ClockFollower f;
    const std::uint8_t badSpp[] = {0xF2, 0x80, 0x00}, shortSpp[] = {0xF2, 0x10}, note[] = {0x90, 60, 100};
    EXPECT_FALSE(f.onMessage(badSpp, 3, 0.0));
    EXPECT_FALSE(f.onMessage(shortSpp, 2, 0.0));
    EXPECT_FALSE(f.onMessage(note, 3, 0.0));
    EXPECT_FALSE(f.onMessage(nullptr, 0, 0.0));
    EXPECT_FALSE(f.onMessage(&kTick, 1, std::nan("")));
    EXPECT_FALSE(f.bpm());
    // Ticks all at one instant give no tempo, and time never runs backwards.
    for (int i = 0; i < 30; ++i) send(f, kTick, 1.0);
    EXPECT_FALSE(f.bpm());
    for (int i = 0; i < 30; ++i) send(f, kTick, 1.0 - i * 0.01);
    EXPECT_FALSE(f.bpm());
}

// io::ClockHold: when the DJ's engine plays in the clock's JACK client (`dj --clock midi --device
// jack`), on a virtual JACK: 48 kHz, 256-frame cycles, a 120 bpm clock (a tick every 1000 frames).
namespace {
using soundstar::io::ClockHold;

struct VirtualJack {
    ClockHold hold;
    std::vector<std::pair<long long, std::vector<std::uint8_t>>> messages;  // by frame
    std::vector<std::pair<long long, long long>> played;                   // (frame, engine sample) per rendered span
    long long engineSample = 0, frame = 0;
    int pausedBeforeRender = 0;  // cycles that told Paused and still rendered
    std::size_t next = 0;
    void at(long long f, std::vector<std::uint8_t> bytes) { messages.emplace_back(f, std::move(bytes)); }
    void ticks(long long from, long long to) {  // every 1000 frames in [from, to)
        for (long long f = from; f < to; f += 1000) at(f, {0xF8});
    }
    void runTo(long long end) {
        std::stable_sort(messages.begin() + static_cast<long>(next), messages.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (; frame < end; frame += 256) {
            for (; next < messages.size() && messages[next].first < frame + 256; ++next)
                hold.onMessage(messages[next].second.data(), static_cast<int>(messages[next].second.size()), messages[next].first);
            const auto span = hold.cycle(frame, 256);
            // Paused is told to the control side, which then reads the engine's clock: never
            // before this cycle's render, or the clock read would be short of where it stopped.
            if (hold.state() == ClockHold::State::Paused && span.to > span.from) ++pausedBeforeRender;
            if (span.to > span.from) played.emplace_back(frame + span.from, engineSample), engineSample += span.to - span.from;
        }
    }
    /// The frame engine sample `s` played at (-1: never).
    long long frameOf(long long s) const {
        for (std::size_t i = 0; i < played.size(); ++i) {
            const long long len = (i + 1 < played.size() ? played[i + 1].second : engineSample) - played[i].second;
            if (s >= played[i].second && s < played[i].second + len) return played[i].first + (s - played[i].second);
        }
        return -1;
    }
};
}  // namespace

TEST(ClockHold, SampleZeroOnTheFirstTickAfterStartPlusTheDelay) {
    for (const long long delay : {0LL, 1920LL}) {
        VirtualJack j;
        j.hold.setDelay(delay);
        j.ticks(0, 30000);  // the clock runs before Start
        j.at(10100, {0xFA});
        j.runTo(30000);
        EXPECT_EQ(j.hold.startFrame(), 11000 + delay);
        EXPECT_EQ(j.frameOf(0), 11000 + delay);
        EXPECT_EQ(j.frameOf(5000), 16000 + delay) << "a block a cycle from there, no gaps";
        EXPECT_EQ(j.engineSample, 30208 - 11000 - delay);
    }
}

TEST(ClockHold, StopPausesAfterTheFadeAndContinueResumesInPhaseAtTheSongPosition) {
    VirtualJack j;
    j.hold.setFadeFrames(544);
    j.at(0, {0xFA});
    j.ticks(1000, 19000);  // song ticks 0..17: the set's sample 0 on frame 1000
    j.at(18500, {0xFC});   // Stop at song tick 17.5
    j.runTo(30000);
    EXPECT_EQ(j.hold.state(), ClockHold::State::Paused);
    EXPECT_EQ(j.engineSample, 18500 + 544 - 1000) << "the fade, then nothing: the engine's clock frozen";
    EXPECT_EQ(j.pausedBeforeRender, 0) << "Paused is told after the fade's last frames rendered";
    // The control side says where the set paused in its bar (the set at 120 bpm: 1000 samples a tick).
    const double phase = static_cast<double>(j.engineSample) / 1000.0;  // 18.044 ticks
    j.hold.setResumePhase(phase);
    // SPP: bar 9 (sixteenths 128 = song tick 768), Continue, then ticks from frame 40000.
    j.at(35000, {0xF2, 128 & 0x7F, 128 >> 7});
    j.at(36000, {0xFB});
    j.ticks(40000, 45000);
    j.ticks(46000, 200000);  // the tick on 45000 lost on the way: still counted
    j.runTo(200000);
    ASSERT_EQ(j.hold.state(), ClockHold::State::Running);
    // The song position at a frame: tick 768 on frame 40000, 1000 frames a tick.
    const auto songTicksAt = [](long long frame) { return 768.0 + static_cast<double>(frame - 40000) / 1000.0; };
    const long long resumed = j.hold.resumeFrame();
    EXPECT_EQ(j.hold.resumeSongTick(), 768 + 18);
    EXPECT_EQ(resumed, 40000 + 18044) << "18.044 ticks into bar 9, where the set is in its bar";
    for (const long long s : {j.engineSample - 1000 + 1, 20000LL, 100000LL}) {
        const double clockInBar = std::fmod(songTicksAt(j.frameOf(s)), 96.0), setInBar = std::fmod(static_cast<double>(s) / 1000.0, 96.0);
        EXPECT_NEAR(clockInBar, setInBar, 0.001) << "sample " << s << ": the set's bar lines on the clock's";
    }
    EXPECT_EQ(j.frameOf(18044), resumed) << "it resumes where it paused";
}

TEST(ClockHold, ContinueWithoutAPositionAQuitWhilePausedAndAContinueFirst) {
    VirtualJack j;
    j.at(0, {0xFA});
    j.ticks(1000, 10000);
    j.at(9900, {0xFC});  // stopped at song tick 9 (its ticks 0..8 played)
    j.ticks(10000, 15000);  // a stopped clock's ticks: the tempo, not the song position
    j.runTo(15000);
    j.hold.setResumePhase(static_cast<double>(j.engineSample) / 1000.0);
    j.at(20000, {0xFB});  // Continue from where it stopped: song tick 9 on frame 21000
    j.ticks(21000, 40000);
    j.runTo(40000);
    // Paused at engine sample 9380 (the default 480-frame fade): 9.38 ticks into its bar; song
    // tick 9 comes on frame 21000 (the tick interval is the one before the Stop, not the gap).
    EXPECT_EQ(j.hold.resumeFrame(), 21380);
    // A quit while paused (no clock) runs the engine from the next cycle.
    j.at(40000, {0xFC});
    j.runTo(50000);
    EXPECT_EQ(j.hold.state(), ClockHold::State::Paused);
    const long long frozen = j.engineSample;
    j.hold.forceRun();
    j.runTo(51200);
    EXPECT_EQ(j.hold.state(), ClockHold::State::Running);
    EXPECT_EQ(j.engineSample, frozen + 4 * 256) << "the four cycles after it all rendered";

    // A Continue before the set ever played starts it on the clock's next bar line.
    VirtualJack c;
    c.at(500, {0xF2, 5, 0});  // song position 5 sixteenths = tick 30
    c.at(600, {0xFB});
    c.ticks(1000, 200000);
    c.runTo(200000);
    EXPECT_EQ(c.hold.startFrame(), 1000 + (96 - 30) * 1000) << "song tick 96: bar 2's line";
}

TEST(ClockHold, AContinueRightAfterTheFadeResumesTheSet) {
    // Stop at 18500 with a 544-frame fade: the engine stops at 19044, in the cycle [18944, 19200),
    // and Paused is told from the next. A Continue at 19100 (after the fade, before Paused is told)
    // still resumes the set on the clock's phase once the control side says where it paused.
    VirtualJack j;
    j.hold.setFadeFrames(544);
    j.at(0, {0xFA});
    j.ticks(1000, 19000);
    j.at(18500, {0xFC});
    j.at(19100, {0xFB});
    j.ticks(20000, 21000);
    j.runTo(19200);
    EXPECT_EQ(j.hold.state(), ClockHold::State::Stopping) << "the fade's cycle still renders";
    j.runTo(19456);
    ASSERT_EQ(j.hold.state(), ClockHold::State::Paused);
    EXPECT_EQ(j.engineSample, 18044);
    j.hold.setResumePhase(static_cast<double>(j.engineSample) / 1000.0);  // 18.044 ticks
    j.ticks(21000, 140000);
    j.runTo(140000);
    ASSERT_EQ(j.hold.state(), ClockHold::State::Running);
    // Song tick 18 (the Stop came after tick 17; Continue goes on from 18) is on frame 20000.
    EXPECT_EQ(j.hold.resumeSongTick(), 18);
    EXPECT_EQ(j.hold.resumeFrame(), 20044);
    EXPECT_EQ(j.frameOf(18044), 20044) << "it resumes where it paused";
    EXPECT_EQ(j.pausedBeforeRender, 0);
}

TEST(ClockHold, AStartHeardBeforeTheEngineIsHandedOverStartsOnTheNextBarLine) {
    // Start and the first ticks reach the hold before its first cycle (the engine not yet handed
    // to the JACK client): that tick's frame has passed, so the set starts on the clock's next bar
    // line (song tick 96), a tick plus the delay, not wherever the first cycle happens to begin.
    VirtualJack j;
    j.at(0, {0xFA});
    j.ticks(1000, 200000);
    for (; j.next < j.messages.size() && j.messages[j.next].first < 5000; ++j.next)
        j.hold.onMessage(j.messages[j.next].second.data(), static_cast<int>(j.messages[j.next].second.size()), j.messages[j.next].first);
    j.hold.setDelay(1920);  // set by playEngine after those messages
    j.frame = 5120;
    j.runTo(200000);
    EXPECT_EQ(j.hold.startFrame(), 1000 + 96 * 1000 + 1920);
    EXPECT_EQ(j.frameOf(0), 1000 + 96 * 1000 + 1920);
}

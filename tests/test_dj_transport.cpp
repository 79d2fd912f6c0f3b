// `soundstar dj --clock jack` (issue #11, sync): JACK's transport read as a MIDI clock
// (io::TransportClock), cycle by cycle as JACK's process thread would call it, and then end to
// end on a real JACK server (dummy backend) with tests/jack_transport_master.cpp as the timebase
// master and the set's recorder: the set's tempo is the master's, its bar lines are on the
// master's to the frame, and it falls silent after the transport stops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "dj/ClockFollower.h"
#include "io/ClockHold.h"
#include "io/TransportClock.h"

#ifdef SOUNDSTAR_BIN
#include <unistd.h>

#include "Cli.h"
#endif

using soundstar::io::TransportClock;

namespace {
constexpr double kRate = 48000.0;

/// A transport rolling at `bpm` (4/4, the master's BBT from the transport frame, 1920 ticks a
/// beat, rounded down as a master's int tick is), read in cycles of `period` frames.
struct Transport {
    double bpm = 120.0;
    bool rolling = false, bbt = true;
    long long frame = 0;  // the transport's frame
    TransportClock::Position at() const {
        TransportClock::Position p;
        p.rolling = rolling, p.frame = frame, p.frameRate = kRate, p.bbt = bbt, p.bpm = bpm;
        const double beats = static_cast<double>(frame) / kRate * bpm / 60.0;
        const auto whole = static_cast<long long>(std::floor(beats));
        p.bar = static_cast<int>(whole / 4) + 1, p.beat = static_cast<int>(whole % 4) + 1;
        p.tick = std::floor((beats - static_cast<double>(whole)) * 1920.0);
        return p;
    }
};

struct Heard {
    std::vector<TransportClock::Message> all;
    std::vector<long long> ticks;
    long long start = -1, stop = -1, cont = -1;
    int spp = -1;
};

/// Runs `cycles` cycles of `period` frames from JACK frame `first`; `each` may change the
/// transport before a cycle (given its first frame).
template <class F>
void run(TransportClock& clock, Transport& t, long long first, int cycles, int period, Heard& h, F each) {
    TransportClock::Message out[256];
    for (int c = 0; c < cycles; ++c, first += period) {
        each(first, t);
        const int n = clock.cycle(first, period, t.at(), out, 256);
        for (int i = 0; i < n; ++i) {
            const auto& m = out[i];
            EXPECT_GE(m.frame, h.all.empty() ? first : h.all.back().frame) << "in order";
            EXPECT_LT(m.frame, first + period);
            h.all.push_back(m);
            if (m.bytes[0] == 0xF8) h.ticks.push_back(m.frame);
            if (m.bytes[0] == 0xFA) h.start = m.frame;
            if (m.bytes[0] == 0xFC) h.stop = m.frame;
            if (m.bytes[0] == 0xFB) h.cont = m.frame;
            if (m.bytes[0] == 0xF2) h.spp = m.bytes[1] | (m.bytes[2] << 7);
        }
        if (t.rolling) t.frame += period;
    }
}
}  // namespace

TEST(TransportClock, RollingFromZeroIsStartAndTicksOnTheBeatGridThenStop) {
    TransportClock clock;
    Transport t;
    Heard h;
    const long long first = 1000003;  // JACK's frame time: anything
    run(clock, t, first, 400, 256, h, [&](long long at, Transport& tr) {
        if (at == first + 256 * 10) tr.rolling = true;   // rolls on cycle 10
        if (at == first + 256 * 300) tr.rolling = false;  // stops on cycle 300
    });
    const long long rolled = first + 256 * 10, stopped = first + 256 * 300;
    ASSERT_EQ(h.start, rolled) << "Start on the cycle the transport rolled in";
    EXPECT_EQ(h.all.front().bytes[0], 0xFA);
    EXPECT_EQ(h.stop, stopped);
    ASSERT_FALSE(h.ticks.empty());
    // 120 bpm at 48 kHz: a tick every 1000 frames from the rolling frame, none after Stop.
    for (std::size_t i = 0; i < h.ticks.size(); ++i) EXPECT_EQ(h.ticks[i], rolled + 1000 * static_cast<long long>(i)) << i;
    EXPECT_EQ(h.ticks.size(), static_cast<std::size_t>((stopped - rolled + 999) / 1000));
    EXPECT_EQ(h.all.back().bytes[0], 0xFC);
}

TEST(TransportClock, RollingFromElsewhereIsASongPositionAndContinueOnTheNextSixteenth) {
    TransportClock clock;
    Transport t;
    t.frame = 48000 * 9 / 2 + 100;  // 4.5 s + 100 frames at 120 bpm: beat 9 and 0.1 ticks (bar 3 beat 2)
    Heard h;
    run(clock, t, 5000, 40, 512, h, [&](long long at, Transport& tr) { tr.rolling = at >= 5000 + 512 * 2; });
    const long long rolled = 5000 + 512 * 2;
    // Song tick about 216.1 (216 + 100 frames of 1000, as the master's BBT says it, its tick
    // quantized to 1/1920 beat): the next sixteenth is 37 (tick 222), about 5900 frames on.
    Transport there = t;
    there.frame = 48000 * 9 / 2 + 100;
    const auto p = there.at();
    ASSERT_EQ(p.bar, 3);
    ASSERT_EQ(p.beat, 2);
    const double songTick = ((p.bar - 1) * 4 + (p.beat - 1) + p.tick / 1920.0) * 24.0;
    EXPECT_EQ(h.spp, 37);
    EXPECT_EQ(h.cont, rolled);
    EXPECT_EQ(h.start, -1) << "no Start away from bar 1 beat 1";
    ASSERT_GE(h.ticks.size(), 2u);
    EXPECT_EQ(h.ticks[0], rolled + std::llround((222.0 - songTick) * 1000.0));
    EXPECT_NEAR(static_cast<double>(h.ticks[0] - rolled), 5900.0, 30.0);
    EXPECT_EQ(h.ticks[1] - h.ticks[0], 1000);
}

TEST(TransportClock, ARelocationWhileRollingStopsThenContinuesFromTheNewPlace) {
    TransportClock clock;
    clock.setRelocateGap(2400);
    Transport t;
    Heard h;
    long long relocated = -1;
    run(clock, t, 0, 200, 256, h, [&](long long at, Transport& tr) {
        tr.rolling = true;
        if (at == 256 * 50) tr.frame = 48000 * 8, relocated = at;  // to bar 5 beat 1 (4 s)
    });
    EXPECT_EQ(h.start, 0);
    EXPECT_EQ(h.stop, relocated) << "a Stop in the cycle the position jumped";
    ASSERT_GE(h.cont, relocated + 2400) << "the Continue after the gap";
    EXPECT_LT(h.cont, relocated + 2400 + 256);
    // Bar 5 beat 1 plus the cycles rolled in the gap: the next sixteenth after that.
    const double songTick = (static_cast<double>(48000 * 8 + (h.cont - relocated)) / 1000.0);
    EXPECT_EQ(h.spp, static_cast<int>(std::ceil(songTick / 6.0 - 1e-9)));
    int ticksBetween = 0;
    for (const long long f : h.ticks) ticksBetween += f >= relocated && f < h.cont;
    EXPECT_EQ(ticksBetween, 0) << "no ticks while it waits";
}

TEST(TransportClock, SkippedCyclesKeepTheGridAndTheTempoFollowsTheMaster) {
    TransportClock clock;
    Transport t;
    Heard h;
    run(clock, t, 0, 100, 256, h, [&](long long, Transport& tr) { tr.rolling = true; });
    // JACK skipped four cycles: its frame time and the transport's moved on together.
    t.frame += 4 * 256;
    run(clock, t, 100 * 256 + 4 * 256, 100, 256, h, [](long long, Transport&) {});
    EXPECT_EQ(h.stop, -1) << "no relocation";
    // Every tick, those of the skipped cycles included (sent late, each on its own frame): a
    // follower counts them, and one left out would put its beat a 24th off the master's.
    ASSERT_EQ(h.ticks.size(), 53u);
    for (std::size_t i = 0; i < h.ticks.size(); ++i) EXPECT_EQ(h.ticks[i], 1000 * static_cast<long long>(i)) << "tick " << i << " on the 120 bpm grid";
    // JACK2's way: four skipped cycles moved the frame time but not the transport (it moves only in
    // cycles that run). No Stop (that would fade the set out on every xrun); the ticks wait with
    // the transport, each on its transport frame's grid plus the jump.
    TransportClock held;
    Transport th;
    Heard hh;
    run(held, th, 0, 100, 256, hh, [&](long long, Transport& tr) { tr.rolling = true; });
    const std::size_t before = hh.ticks.size();
    run(held, th, 100 * 256 + 4 * 256, 100, 256, hh, [](long long, Transport&) {});
    EXPECT_EQ(hh.stop, -1) << "an xrun is not a relocation";
    EXPECT_EQ(hh.cont, -1);
    ASSERT_GT(hh.ticks.size(), before + 20);
    for (std::size_t i = 0; i < hh.ticks.size(); ++i) {
        const long long transportFrame = i < before ? hh.ticks[i] : hh.ticks[i] - 4 * 256;
        EXPECT_EQ(transportFrame % 1000, 0) << "tick " << i << " off the transport's 120 bpm grid";
    }
    // A real relocation is still one: the transport jumps while the frame time runs on.
    Heard hr;
    th.frame += 48000;
    run(held, th, 204 * 256, 10, 256, hr, [](long long, Transport&) {});
    EXPECT_EQ(hr.stop, 204 * 256) << "a relocation stops at once";
    // Another tempo: 150 bpm from frame 51200 (the master's own, continuous in beats).
    TransportClock c2;
    Transport t2;
    Heard h2;
    run(c2, t2, 0, 400, 256, h2, [&](long long at, Transport& tr) {
        tr.rolling = true;
        if (at >= 51200) tr.bpm = 150.0;
    });
    ASSERT_GT(h2.ticks.size(), 60u);
    EXPECT_EQ(h2.ticks[1] - h2.ticks[0], 1000);
    EXPECT_EQ(h2.ticks.back() - h2.ticks[h2.ticks.size() - 2], 800) << "150 bpm: 800 frames a tick";
    // Without a timebase master: the fallback tempo from the transport's frame.
    TransportClock c3;
    c3.setFallbackBpm(126.0);
    Transport t3;
    t3.bbt = false;
    Heard h3;
    run(c3, t3, 0, 100, 256, h3, [](long long, Transport& tr) { tr.rolling = true; });
    ASSERT_GT(h3.ticks.size(), 10u);
    EXPECT_NEAR(static_cast<double>(h3.ticks[10] - h3.ticks[0]) / 10.0, 48000.0 * 60.0 / (126.0 * 24.0), 0.1);
}

namespace {
/// Cycles fed one by one with the frame time and the transport frame as a client would read them.
struct Feed {
    TransportClock clock;
    Transport t;
    Heard h;
    void operator()(long long frameTime, long long transportFrame, int period = 256) {
        TransportClock::Message out[256];
        Transport at = t;
        at.frame = transportFrame;
        const int n = clock.cycle(frameTime, period, at.at(), out, 256);
        for (int i = 0; i < n; ++i) {
            EXPECT_GE(out[i].frame, h.all.empty() ? 0 : h.all.back().frame) << "in order";
            EXPECT_LT(out[i].frame, frameTime + period);
            h.all.push_back(out[i]);
            if (out[i].bytes[0] == 0xF8) h.ticks.push_back(out[i].frame);
            if (out[i].bytes[0] == 0xFA) h.start = out[i].frame;
            if (out[i].bytes[0] == 0xFC) h.stop = out[i].frame;
        }
    }
};
}  // namespace

// A client that runs late (a loaded machine, jackd without real-time scheduling) can read the
// transport a period ahead of the frame time; JACK2 can hold the transport through an xrun; the
// transport can fall a period behind without that signature. None is a relocation: no Stop, no
// tick lost or doubled; the ticks move with the transport at once after a held xrun, and after
// three cycles when a small difference stays.
TEST(TransportClock, SmallDifferencesBetweenFrameTimeAndTransportAreNotRelocations) {
    Feed feed;
    feed.t.rolling = true;
    long long first = 0;
    for (; first < 50 * 256; first += 256) feed(first, first);
    feed(first, first + 256);  // the transport read a cycle ahead, once
    for (first += 256; first < 100 * 256; first += 256) feed(first, first);
    // A cycle this client missed that the transport sat out (JACK2's xrun): the frame time moves
    // two periods, the transport one.
    first += 256;
    const long long held = first;
    for (; first < 150 * 256; first += 256) feed(first, first - 256);
    // The transport a period further behind from here, without that signature (from a cycle
    // whose next one holds a tick: it stays on the old grid, the third cycle's moves).
    first = 152 * 256;
    const long long behind = first;
    for (; first < 300 * 256; first += 256) feed(first, first - 512);
    EXPECT_EQ(feed.h.stop, -1) << "no relocation";
    const auto& ticks = feed.h.ticks;
    ASSERT_EQ(ticks.size(), 77u);
    int steps = 0;
    for (std::size_t i = 0; i < ticks.size(); ++i) {
        const long long shift = ticks[i] < held ? 0 : ticks[i] < behind + 2 * 256 ? 256 : 512;
        EXPECT_EQ((ticks[i] - shift) % 1000, 0) << "tick " << i << " at " << ticks[i] << " off the transport's grid";
        if (i == 0) continue;
        const long long gap = ticks[i] - ticks[i - 1];
        steps += gap == 1256;
        EXPECT_TRUE(gap == 1000 || gap == 1256) << "tick " << i << ": none lost or doubled";
    }
    EXPECT_EQ(steps, 2);
    // The tick in the second cycle of that stays where it was: the ticks move on the third.
    ASSERT_TRUE(behind + 256 <= 39256 && 39256 < behind + 512) << "a tick due in the second cycle";
    EXPECT_NE(std::find(ticks.begin(), ticks.end(), 39256), ticks.end()) << "that tick on the old grid";
    // A jump of more than two periods is a relocation still.
    feed(first, first - 512 + 48000);
    EXPECT_EQ(feed.h.stop, first);
    // The frame time read a period ahead once (JackMidiInput reads it again to avoid this): one
    // cycle cannot tell it from a held xrun, so the ticks move a period and come back within
    // three cycles; none is lost or doubled, and no Stop.
    Feed once;
    once.t.rolling = true;
    first = 0;
    for (; first < 60 * 256; first += 256) once(first, first);
    once(first + 256, first);
    const long long readAt = first + 256;
    for (first += 512; first < 120 * 256; first += 256) once(first, first);
    EXPECT_EQ(once.h.stop, -1);
    ASSERT_EQ(once.h.ticks.size(), static_cast<std::size_t>((120 * 256 + 999) / 1000));
    for (std::size_t i = 0; i < once.h.ticks.size(); ++i) {
        const bool moved = once.h.ticks[i] >= readAt && once.h.ticks[i] < readAt + 4 * 256;
        EXPECT_TRUE(moved || once.h.ticks[i] % 1000 == 0) << "tick " << i << " at " << once.h.ticks[i];
    }
}

TEST(TransportClock, JacksFrameTimeIsWidenedAcrossItsWrap) {
    soundstar::io::WideFrameTime wide;
    const std::uint32_t nearEnd = 0xFFFFFF00u;
    EXPECT_EQ(wide(nearEnd), 4294967040LL);
    EXPECT_EQ(wide(nearEnd), 4294967040LL) << "read again in the same cycle";
    EXPECT_EQ(wide(0xFFFFFFF0u), 4294967280LL);
    EXPECT_EQ(wide(0x00000010u), 4294967312LL) << "past the wrap: on, not back to 16";
    EXPECT_EQ(wide(0x00000110u), 4294967568LL);
    EXPECT_EQ(wide(0x00000110u), 4294967568LL);
}

// The client missed the cycles in which the transport rolled from bar 1 beat 1: still a Start, on
// the frame it rolled at, and its ticks from there; the hold (which saw the cycles before) starts
// the set on that frame, rendering the frames it missed unheard. A stall of seconds sends a bar of
// late ticks at most.
TEST(TransportClock, ARollThisClientMissedIsAStartOnItsFrame) {
    Feed feed;
    soundstar::io::ClockHold hold;
    long long first = 1000;
    for (int c = 0; c < 10; ++c, first += 256) {
        feed(first, 0);
        hold.cycle(first, 256);
    }
    const long long rolled = first;  // it rolled here; this client's next cycle is two later
    first += 2 * 256;
    feed.t.rolling = true;
    const std::size_t before = feed.h.all.size();
    feed(first, first - rolled);
    ASSERT_EQ(feed.h.start, rolled);
    ASSERT_GE(feed.h.ticks.size(), 1u);
    EXPECT_EQ(feed.h.ticks[0], rolled);
    for (std::size_t i = before; i < feed.h.all.size(); ++i) hold.onMessage(feed.h.all[i].bytes, feed.h.all[i].size, feed.h.all[i].frame);
    const auto span = hold.cycle(first, 256);
    EXPECT_TRUE(span.started);
    EXPECT_EQ(span.from, 0);
    EXPECT_EQ(span.unheard, first - rolled) << "the missed frames rendered unheard";
    EXPECT_EQ(hold.startFrame(), rolled) << "the set's sample 0 on the rolling frame";
    // A hold that saw no cycle before (the engine handed over after the tick) starts on the next
    // bar line instead, as before.
    soundstar::io::ClockHold unseen;
    for (std::size_t i = before; i < feed.h.all.size(); ++i) unseen.onMessage(feed.h.all[i].bytes, feed.h.all[i].size, feed.h.all[i].frame);
    EXPECT_FALSE(unseen.cycle(first, 256).started);
    // The roll read a period ahead in the cycle it happened in (the transport at 256 there): a
    // Start on that cycle, and the ticks on the grid from it after, not a period late.
    {
        Feed ahead;
        long long f = 0;
        for (; f < 10 * 256; f += 256) ahead(f, 0);
        ahead.t.rolling = true;
        const long long from = f;
        ahead(f, 256);
        for (f += 256; f < 100 * 256; f += 256) ahead(f, f - from);
        EXPECT_EQ(ahead.h.start, from);
        EXPECT_EQ(ahead.h.stop, -1);
        ASSERT_EQ(ahead.h.ticks.size(), static_cast<std::size_t>((100 * 256 - from + 999) / 1000));
        for (std::size_t i = 0; i < ahead.h.ticks.size(); ++i) EXPECT_EQ(ahead.h.ticks[i] - from, 1000 * static_cast<long long>(i)) << "tick " << i;
    }
    // Rolling on, then three seconds this client missed (both clocks moved): 96 late ticks, the
    // rest let go, and the grid kept.
    for (first += 256; first < rolled + 48000; first += 256) feed(first, first - rolled);
    const std::size_t ticksBefore = feed.h.ticks.size();
    first += 3 * 48000;
    feed(first, first - rolled);
    const auto late = std::count_if(feed.h.ticks.begin() + static_cast<long>(ticksBefore), feed.h.ticks.end(), [&](long long f) { return f < first; });
    EXPECT_EQ(late, TransportClock::kMaxLateTicks) << "a bar of late ticks";
    for (std::size_t i = ticksBefore; i < feed.h.ticks.size(); ++i) EXPECT_EQ((feed.h.ticks[i] - rolled) % 1000, 0);
    EXPECT_EQ(feed.h.stop, -1);
}

// What the DJ reads from it: the clock follower's tempo within two beats, and the hold's sample 0
// on the rolling frame.
TEST(TransportClock, TheFollowerAndTheHoldReadTheMastersTempoAndStart) {
    TransportClock clock;
    Transport t;
    t.bpm = 123.37;
    soundstar::dj::ClockFollower follower;
    soundstar::io::ClockHold hold;
    TransportClock::Message out[256];
    const long long rolled = 7 * 256;
    double twoBeats = -1.0;
    for (long long first = 0; first < 48000 * 3; first += 256) {
        t.rolling = first >= rolled;
        const int n = clock.cycle(first, 256, t.at(), out, 256);
        for (int i = 0; i < n; ++i) {
            follower.onMessage(out[i].bytes, out[i].size, static_cast<double>(out[i].frame) / kRate);
            hold.onMessage(out[i].bytes, out[i].size, out[i].frame);
        }
        hold.cycle(first, 256);
        if (t.rolling) t.frame += 256;
        if (twoBeats < 0 && follower.bpm() && static_cast<double>(first + 256 - rolled) / kRate >= 2 * 60.0 / 123.37) twoBeats = *follower.bpm();
    }
    EXPECT_NEAR(twoBeats, 123.37, 0.05) << "the tempo within two beats";
    EXPECT_EQ(hold.startFrame(), rolled) << "the set's sample 0 on the frame the transport rolled";
    // The song position at the end of the last cycle: the beats since the transport rolled.
    const double end = 48000.0 * 3 / kRate;
    EXPECT_NEAR(follower.beatAt(end), (end - static_cast<double>(rolled) / kRate) * 123.37 / 60.0, 1e-3);
}

#if defined(SOUNDSTAR_BIN) && defined(JACK_MASTER)
namespace {
std::vector<float> readF32(const std::string& path) {
    const std::string bytes = soundstar::test::readText(path);
    std::vector<float> x(bytes.size() / sizeof(float));
    std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
    return x;
}
}  // namespace

// End to end on `jackd -d dummy`: tests/jack_transport_master.cpp is the timebase master (120 bpm,
// 4/4), rolls the transport from frame 0 for 8.5 s and stops it, recording the set's left output
// on JACK's frames. The set plays in its clock's JACK client (--device jack).
TEST(DjTransport, FollowsAJackTimebaseMasterOnItsBarLinesAndStopsWithIt) {
    using namespace soundstar::test;
    if (runCommand("command -v jackd && command -v jack_lsp").code != 0) GTEST_SKIP() << "jackd is not installed";
    TempDir dir;
    const std::string server = "soundstar-djtransport-" + std::to_string(getpid());
    const std::string wav = dir / "set.wav", events = dir / "set.jsonl", master = dir / "master.json", fifo = dir / "stdin";
    const auto r = runCommand(
        "{ export JACK_DEFAULT_SERVER=" + server + " JACK_NO_AUDIO_RESERVATION=1 JACK_NO_START_SERVER=1; jackd " + kJackdScheduling + " -n " + server +
        " -d dummy -r 48000 -p 256 >/dev/null 2>&1 & J=$!; for i in $(seq 60); do jack_lsp >/dev/null 2>&1 && break; sleep 0.25; done; mkfifo '" + fifo + "'; "
        "timeout 40 " + std::string(SOUNDSTAR_BIN) + " dj --clock jack --device jack --sample-rate 48000 --seed 2 -o '" + wav + "' --events '" + events +
        "' <'" + fifo + "' & D=$!; exec 3>'" + fifo + "'; " + std::string(JACK_MASTER) + " '" + master +
        "' soundstar-dj:out_L 120 8.5 1.5; M=$?; echo q >&3; exec 3>&-; wait $D; R=$?; kill $J; wait $J; [ $M = 0 ] || exit 90; exit $R; }");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("waiting for the JACK transport to roll"), std::string::npos) << r.output;
    std::ifstream in(master);
    ASSERT_TRUE(in.good()) << r.output;
    const auto heard = nlohmann::json::parse(in);
    std::printf("master: %s\n", heard.dump().c_str());
    const long long rolled = heard["rolled_frame"].get<long long>(), stopped = heard["stopped_frame"].get<long long>();
    const long long origin = heard["audio_first_frame"].get<long long>();
    ASSERT_GT(rolled, 0);
    ASSERT_GT(stopped, rolled);
    std::vector<nlohmann::json> ev;
    {
        std::istringstream lines(soundstar::test::readText(events));
        for (std::string line; std::getline(lines, line);) ev.push_back(nlohmann::json::parse(line));
    }
    // 1. The set's sample 0 is the frame the transport rolled from bar 1 beat 1, and its tempo
    // two beats in is the master's.
    double tempo = 0.0;
    long long startFrame = -1;
    std::vector<long long> lines;  // the set's bar lines as the phase lock last placed them
    for (const auto& e : ev) {
        const std::string kind = e["event"], label = e["label"];
        if (kind == "clock_tempo") tempo = numberIn(label, R"(([0-9.]+) bpm)");
        if (kind == "clock_follow") startFrame = static_cast<long long>(numberIn(label, R"(JACK frame ([0-9]+))"));
        if (kind != "clock_phase") continue;
        const long long at = e["sample"].get<long long>();
        if (!lines.empty() && std::llabs(at - lines.back()) < 48000) lines.back() = at;  // the same line placed again (bar 1's catch-up)
        else lines.push_back(at);
    }
    EXPECT_EQ(startFrame, rolled) << "sample 0 on the rolling frame";
    EXPECT_NEAR(tempo, 120.0, 0.05);
    // 2. Every set bar line on the master's, as the master played them (a bar of 120 bpm 4/4 is
    // 96000 frames at 48 kHz; a bar line the master did not see, in a cycle it missed, is that
    // from the last one it saw), bar 2's included (the set began at its profile's 126 bpm: the
    // catch-up). On a loaded machine JACK2 can hold the transport through an xrun while its frame
    // time runs on: the master's grid then steps, the ticks step with it, and the phase lock
    // pulls the set after it over the next bars (a clock follower cannot tell a step from
    // jitter at once). So a line may be off by up to twice the master's steps in the two bars
    // before it.
    ASSERT_GE(lines.size(), 3u) << r.output;
    const auto bars = heard["bar_frames"].get<std::vector<long long>>();
    double worst = 0.0;
    long long shift = 0, stepped = 0;  // the master's lines after the rolling frame less 96000 a bar; how far that moved
    std::vector<long long> steps;      // the master's step at each set line
    for (std::size_t k = 0; k < lines.size(); ++k) {
        long long step = 0;
        if (k + 1 < bars.size() && bars[k + 1] >= 0) {
            const long long now = bars[k + 1] - rolled - 96000LL * static_cast<long long>(k + 1);
            step = std::llabs(now - shift), shift = now;
        }
        steps.push_back(step), stepped += step;
        const long long recent = step + (k >= 1 ? steps[k - 1] : 0);
        const double off = static_cast<double>(lines[k] - 96000LL * static_cast<long long>(k + 1) - shift);
        worst = std::max(worst, std::abs(off));
        EXPECT_LE(std::abs(off), 48.0 + 2.0 * static_cast<double>(recent))
            << "bar " << k + 2 << " line at sample " << lines[k] << "; the master's grid stepped " << recent << " frames in the two bars before";
    }
    std::printf("bar lines %zu, worst %.0f frames off the master's (its grid stepped %lld frames); stopped at JACK frame %lld\n", lines.size(), worst, stepped,
                stopped);
    // 3. What the master heard is the set's own recording from the rolling frame on, and silence
    // from the Stop's cycle plus the 10 ms fade (and a little) to the end.
    const auto audio = readF32(master + ".f32");
    ASSERT_EQ(runCommand("sox '" + wav + "' -t f32 '" + (dir / "set.f32") + "' remix 1").code, 0);
    const auto own = readF32(dir / "set.f32");
    ASSERT_GT(own.size(), 48000u * 4);
    const auto heardAt = [&](long long frame) { return frame - origin >= 0 && frame - origin < static_cast<long long>(audio.size()) ? audio[frame - origin] : 0.0f; };
    long long compared = 0;
    float diff = 0.0f;
    for (long long k = 0; k < 48000; ++k)
        if (const float h = heardAt(rolled + k); h != 0.0f) ++compared, diff = std::max(diff, std::abs(h - own[static_cast<std::size_t>(k)]));
    EXPECT_GT(compared, 24000);
    EXPECT_LT(diff, 1e-4f) << "the set's sample 0 is on the rolling frame";
    float before = 0.0f, after = 0.0f;
    for (long long f = stopped - 48000; f < stopped; ++f) before = std::max(before, std::abs(heardAt(f)));
    for (long long f = stopped + 256 + 480 + 64; f < origin + static_cast<long long>(audio.size()); ++f) after = std::max(after, std::abs(heardAt(f)));
    EXPECT_GT(before, 0.05f) << "music before the Stop";
    EXPECT_LT(after, 0.001f) << "below -60 dBFS after it";
}
#endif

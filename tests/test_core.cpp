#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "core/AudioRing.h"
#include "core/NumberText.h"
#include "core/Rng.h"
#include "core/RtGuard.h"
#include "core/Smoother.h"
#include "core/SpscQueue.h"
#include "core/Time.h"

using namespace soundstar;

TEST(SpscQueue, FifoOrderAndFullReport) {
    SpscQueue<int> q(4);
    int pushed = 0;
    while (q.push(pushed)) ++pushed;
    EXPECT_EQ(pushed, static_cast<int>(q.capacity()));
    EXPECT_FALSE(q.push(99));  // full is reported, not blocked on
    for (int i = 0; i < pushed; ++i) {
        int v = -1;
        ASSERT_TRUE(q.pop(v));
        EXPECT_EQ(v, i);
    }
    int v;
    EXPECT_FALSE(q.pop(v));
}

TEST(SpscQueue, TwoThreadsPassEveryItemInOrder) {
    SpscQueue<std::int64_t> q(64);
    constexpr std::int64_t kCount = 200000;
    std::thread producer([&] {
        for (std::int64_t i = 0; i < kCount;) {
            if (q.push(i)) ++i;
            else std::this_thread::yield();
        }
    });
    std::int64_t expected = 0, v = 0;
    while (expected < kCount) {
        if (q.pop(v)) {
            ASSERT_EQ(v, expected);
            ++expected;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
    EXPECT_EQ(q.size(), 0u);
}

TEST(AudioRing, FramesComeOutInOrderAndOverflowIsDroppedAndCounted) {
    AudioRing ring(8);
    const float l[5] = {1, 2, 3, 4, 5}, r[5] = {-1, -2, -3, -4, -5};
    EXPECT_EQ(ring.write(l, r, 5), 5u);
    EXPECT_EQ(ring.write(l, r, 5), 3u) << "only what fits";
    EXPECT_EQ(ring.dropped(), 2u);
    float out[32];
    ASSERT_EQ(ring.read(out, 16), 8u);
    EXPECT_EQ(out[0], 1.0f);
    EXPECT_EQ(out[1], -1.0f);
    EXPECT_EQ(out[10], 1.0f) << "the second write starts at frame 5";
    EXPECT_EQ(out[15], -3.0f);
    EXPECT_EQ(ring.read(out, 16), 0u);
    EXPECT_EQ(ring.write(l, r, 5), 5u) << "wraps around";
    ASSERT_EQ(ring.read(out, 16), 5u);
    EXPECT_EQ(out[8], 5.0f);
}

TEST(AudioRing, TwoThreadsPassEveryFrameInOrder) {
    AudioRing ring(256);
    constexpr int kFrames = 40000;
    std::thread producer([&] {
        float l[64], r[64];
        for (int sent = 0; sent < kFrames;) {
            const int n = std::min(64, kFrames - sent);
            for (int i = 0; i < n; ++i) l[i] = static_cast<float>(sent + i), r[i] = -static_cast<float>(sent + i);
            sent += static_cast<int>(ring.write(l, r, static_cast<std::size_t>(n)));  // retries what did not fit
            std::this_thread::yield();
        }
    });
    float out[2 * 100];
    int expected = 0;
    bool inOrder = true;
    while (expected < kFrames) {
        const auto n = ring.read(out, 100);
        for (std::size_t i = 0; i < n; ++i, ++expected)
            inOrder = inOrder && out[2 * i] == static_cast<float>(expected) && out[2 * i + 1] == -static_cast<float>(expected);
    }
    producer.join();
    EXPECT_TRUE(inOrder);
}

TEST(Rng, SameSeedSameSequenceDifferentSeedDiffers) {
    Rng a(42), b(42), c(43);
    int differ = 0;
    for (int i = 0; i < 1000; ++i) {
        const auto x = a.nextU32();
        EXPECT_EQ(x, b.nextU32());
        differ += x != c.nextU32();
    }
    EXPECT_GT(differ, 990);
}

TEST(Rng, UniformIsInRangeWithMeanOneHalf) {
    Rng r(1);
    double sum = 0;
    for (int i = 0; i < 100000; ++i) {
        const float u = r.uniform();
        ASSERT_GE(u, 0.0f);
        ASSERT_LT(u, 1.0f);
        sum += u;
    }
    EXPECT_NEAR(sum / 100000.0, 0.5, 0.01);
    for (int i = 0; i < 1000; ++i) {
        const int k = r.range(3, 5);
        ASSERT_TRUE(k >= 3 && k <= 5);
    }
}

TEST(Smoother, LinearRampReachesTargetInExactlyTheRampTime) {
    LinearSmoother s;
    s.prepare(1000.0, 10.0f);  // 10 samples
    s.snap(0.0f);
    s.setTarget(1.0f);
    for (int i = 1; i < 10; ++i) EXPECT_NEAR(s.next(), i * 0.1f, 1e-5f);
    EXPECT_EQ(s.next(), 1.0f);
    EXPECT_FALSE(s.ramping());
}

TEST(Smoother, OnePoleApproachesTargetMonotonically) {
    OnePoleSmoother s;
    s.prepare(48000.0, 5.0f);
    s.snap(0.0f);
    s.setTarget(1.0f);
    float prev = 0.0f;
    for (int i = 0; i < 240; ++i) {
        const float v = s.next();
        ASSERT_GT(v, prev);
        prev = v;
    }
    EXPECT_NEAR(prev, 1.0f - std::exp(-1.0f), 0.01f);  // one time constant
}

// A delay time in samples glides to its target and arrives: a float value recomputed as
// target + (value - target) * coef stalled 1.7 samples short of 15743.7 (357 ms at 44.1 kHz), and
// StereoDelay, which takes its block path only once the time has arrived, never did.
TEST(Smoother, OnePoleReachesALargeTarget) {
    for (const float target : {15743.7f, 10495.8f, 22050.0f, 16537.5f}) {
        OnePoleSmoother s;
        s.prepare(44100.0, 80.0f);
        s.snap(16537.5f);
        s.setTarget(target);
        float v = s.value();
        for (int i = 0; i < 88200; ++i) v = s.next();  // 2 s: 25 time constants
        EXPECT_LT(std::abs(v - target), 1e-3f) << "target " << target;
    }
}

TEST(RtGuard, NestsPerThread) {
    EXPECT_FALSE(RtGuard::active());
    {
        RtGuard g;
        EXPECT_TRUE(RtGuard::active());
        std::thread t([] { EXPECT_FALSE(RtGuard::active()); });
        t.join();
    }
    EXPECT_FALSE(RtGuard::active());
}

TEST(Time, BeatsToSamples) { EXPECT_EQ(beatsToSamples(4.0, 120.0, 48000.0), 96000); }

// The command line's number checks say what the regular expressions they replaced said: on
// every short text over the characters that matter, and on the forms users type.
TEST(NumberText, AgreesWithTheRegularExpressionsItReplaced) {
    const std::regex decimal(R"([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?)"), digits("[0-9]{1,20}");
    const std::string alphabet = "0123456789+-.eE xn";
    Rng rng(7);
    int decimals = 0, wholes = 0;
    for (int n = 0; n < 30000; ++n) {
        std::string t;
        for (int k = rng.range(0, 12); k > 0; --k) t += alphabet[static_cast<std::size_t>(rng.range(0, static_cast<int>(alphabet.size()) - 1))];
        const bool d = core::isDecimalText(t), w = core::isDigitsText(t);
        ASSERT_EQ(d, std::regex_match(t, decimal)) << "'" << t << "'";
        ASSERT_EQ(w, std::regex_match(t, digits)) << "'" << t << "'";
        decimals += d, wholes += w;
    }
    EXPECT_GT(decimals, 300);  // both answers were seen many times
    EXPECT_GT(wholes, 100);
    for (const char* yes : {"1", "-0.5", ".5", "1.", "+1e3", "2E-12", "007"}) EXPECT_TRUE(core::isDecimalText(yes)) << yes;
    for (const char* no : {"", ".", "+", "1e", "1e1234", "nan", "inf", "0x10", "1.5.2", " 1", "1 ", "1,5"}) EXPECT_FALSE(core::isDecimalText(no)) << no;
    EXPECT_TRUE(core::isDigitsText("18446744073709551615"));
    EXPECT_FALSE(core::isDigitsText("184467440737095516150"));  // 21 digits
    EXPECT_FALSE(core::isDigitsText("-1"));
}

// The 16-bit WAV writer (io::writeAudioFile): dither, rounding, clipping and the buffered file
// writes, read back by sox as raw integers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "Cli.h"
#include "io/AudioFile.h"

using namespace soundstar;

namespace {
/// sox's decoding of a 16-bit file: interleaved left/right integers.
std::vector<std::int16_t> decode(const std::string& path) {
    test::TempDir dir;
    const auto raw = dir / "x.raw";
    const auto r = test::runCommand("sox '" + path + "' -t raw -e signed-integer -b 16 -L '" + raw + "'");
    EXPECT_EQ(r.code, 0) << r.output;
    std::ifstream in(raw, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::int16_t> v(bytes.size() / 2);
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i])) |
                                         static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i + 1])) << 8);
    return v;
}

/// Two tones (one per channel) at about -6 dBFS, an odd number of frames (not a multiple of the
/// writer's eight-frame steps nor of its buffers).
StereoBuffer tones(int frames) {
    StereoBuffer a;
    a.resize(frames);
    for (int i = 0; i < frames; ++i) {
        a.left()[static_cast<std::size_t>(i)] = 0.5f * static_cast<float>(std::sin(2.0 * std::numbers::pi * 441.0 * i / 44100.0));
        a.right()[static_cast<std::size_t>(i)] = 0.45f * static_cast<float>(std::sin(2.0 * std::numbers::pi * 1234.5 * i / 44100.0));
    }
    return a;
}
}  // namespace

// Every sample within 1.5 steps of x * 32768 (rounding plus +-1 step of dither); the error has
// no offset (rounding, not truncation) and the variance of TPDF dither plus rounding, 1/6 + 1/12
// = 0.25 step^2 (no dither would give 0.083); left and right dither are independent. The file is
// several of the writer's 1 MiB buffers long, so every flush is read back too.
TEST(AudioFile, Wav16IsDitheredAndRoundedSampleBySample) {
    test::TempDir dir;
    const int frames = 700001;
    const StereoBuffer a = tones(frames);
    io::writeAudioFile(dir / "t.wav", a, 44100.0, io::FileFormat::Wav16, 7);
    EXPECT_EQ(test::soxInfo(dir / "t.wav").frames, frames);
    const auto q = decode(dir / "t.wav");
    ASSERT_EQ(q.size(), 2u * frames);
    double sum[2] = {0, 0}, sq[2] = {0, 0}, cross = 0, worst = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(frames); ++i) {
        const double el = q[2 * i] - 32768.0 * a.left()[i], er = q[2 * i + 1] - 32768.0 * a.right()[i];
        worst = std::max({worst, std::abs(el), std::abs(er)});
        sum[0] += el, sum[1] += er, sq[0] += el * el, sq[1] += er * er, cross += el * er;
    }
    EXPECT_LE(worst, 1.5);
    for (int c = 0; c < 2; ++c) {
        EXPECT_NEAR(sum[c] / frames, 0.0, 0.01) << "channel " << c;
        EXPECT_NEAR(sq[c] / frames, 0.25, 0.01) << "channel " << c;
    }
    EXPECT_NEAR(cross / frames, 0.0, 0.01) << "left and right dither are correlated";
}

TEST(AudioFile, Wav16ClipsAtFullScale) {
    test::TempDir dir;
    StereoBuffer a;
    a.resize(9);
    const float in[9] = {1.0f, 1.5f, 1e5f, -1.0f, -1.5f, -1e5f, 0.99999f, -0.99999f, 0.0f};
    for (int i = 0; i < 9; ++i) a.left()[static_cast<std::size_t>(i)] = a.right()[static_cast<std::size_t>(i)] = in[i];
    io::writeAudioFile(dir / "c.wav", a, 48000.0, io::FileFormat::Wav16, 3);
    const auto q = decode(dir / "c.wav");
    ASSERT_EQ(q.size(), 18u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q[2 * static_cast<std::size_t>(i)], 32767) << in[i];
    for (int i = 3; i < 6; ++i) EXPECT_EQ(q[2 * static_cast<std::size_t>(i)], -32768) << in[i];
    EXPECT_GE(q[12], 32766);
    EXPECT_LE(q[14], -32766);
    EXPECT_LE(std::abs(q[16]), 1);
}

// The dither comes from the seed: the same seed gives the same bytes, another seed others.
TEST(AudioFile, Wav16DitherFollowsTheSeed) {
    test::TempDir dir;
    const StereoBuffer a = tones(20001);
    io::writeAudioFile(dir / "a.wav", a, 44100.0, io::FileFormat::Wav16, 11);
    io::writeAudioFile(dir / "b.wav", a, 44100.0, io::FileFormat::Wav16, 11);
    io::writeAudioFile(dir / "c.wav", a, 44100.0, io::FileFormat::Wav16, 12);
    EXPECT_EQ(test::readText(dir / "a.wav"), test::readText(dir / "b.wav"));
    const auto qa = decode(dir / "a.wav"), qc = decode(dir / "c.wav");
    ASSERT_EQ(qa.size(), qc.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < qa.size(); ++i) differ += qa[i] != qc[i] ? 1 : 0;
    EXPECT_GT(differ, qa.size() / 3);
}

// Float WAV through the same buffered writes: every sample back, across several flushes (to
// sox's own precision: it decodes through 32-bit integers).
TEST(AudioFile, FloatWavReadsBackSampleBySample) {
    test::TempDir dir;
    const int frames = 300007;
    const StereoBuffer a = tones(frames);
    io::writeAudioFile(dir / "f.wav", a, 44100.0, io::FileFormat::WavFloat);
    const auto r = test::runCommand("sox '" + (dir / "f.wav") + "' -t raw -e floating-point -b 32 -L '" + (dir / "f.raw") + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    std::ifstream in(dir / "f.raw", std::ios::binary);
    std::vector<float> v(2 * static_cast<std::size_t>(frames) + 1);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    ASSERT_EQ(in.gcount(), static_cast<std::streamsize>(2 * static_cast<std::size_t>(frames) * sizeof(float)));
    for (std::size_t i = 0; i < static_cast<std::size_t>(frames); ++i) {
        ASSERT_NEAR(v[2 * i], a.left()[i], 1e-6) << i;
        ASSERT_NEAR(v[2 * i + 1], a.right()[i], 1e-6) << i;
    }
}

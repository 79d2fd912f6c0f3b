// voicebench N S: renders N voices of one fixed patch (band-limited saw -> 2-pole resonant
// lowpass -> ADSR -> equal-power pan) for S seconds at 48 kHz offline, in 64-frame blocks, and
// writes the stereo float result to a file, like scsynth's non-real-time mode does with
// Saw.ar -> RLPF.ar -> EnvGen.ar(Env.adsr) -> Pan2.ar (../shared/peers/scsynth/run.sh).
// Random pitches (55 Hz * 2^(0..48 semitones)), cutoffs 500-5000 Hz, rq 0.3, pans -1..1, amp 0.05.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/Denormals.h"
#include "core/Rng.h"
#include "dsp/SawVoiceBank.h"

int main(int argc, char** argv) {
    using namespace soundstar;
    const int voices = argc > 1 ? std::atoi(argv[1]) : 256;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 20.0;
    const std::string outPath = argc > 3 ? argv[3] : "/tmp/voicebench.f32";
    if (voices < 1 || seconds <= 0.0) {
        std::fprintf(stderr, "usage: voicebench VOICES SECONDS [OUT.f32]\n");
        return 2;
    }
    constexpr double kSr = 48000.0;
    constexpr int kBlock = 64;
    dsp::SawVoiceBank bank;
    bank.prepare(kSr, voices);
    Rng rng(1);
    for (int v = 0; v < voices; ++v)
        bank.start(v, 55.0f * std::exp2(static_cast<float>(rng.range(0, 48)) / 12.0f), rng.uniform(500.0f, 5000.0f),
                   1.0f / 0.3f, rng.bipolar(), 0.05f, {0.01f, 0.2f, 0.7f, 0.5f});
    const auto frames = static_cast<long>(seconds * kSr);
    std::vector<float> l(kBlock), r(kBlock), inter(2 * kBlock);
    FILE* out = std::fopen(outPath.c_str(), "wb");
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", outPath.c_str());
        return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    {
        DenormalGuard ftz;
        for (long pos = 0; pos < frames; pos += kBlock) {
            std::fill(l.begin(), l.end(), 0.0f);
            std::fill(r.begin(), r.end(), 0.0f);
            bank.process(l.data(), r.data(), kBlock);
            for (int i = 0; i < kBlock; ++i) {
                inter[static_cast<std::size_t>(2 * i)] = l[static_cast<std::size_t>(i)];
                inter[static_cast<std::size_t>(2 * i + 1)] = r[static_cast<std::size_t>(i)];
            }
            std::fwrite(inter.data(), sizeof(float), inter.size(), out);
        }
    }
    std::fclose(out);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double user = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec * 1e-6;
    const double nsPerVoiceSample = wall * 1e9 / (static_cast<double>(voices) * static_cast<double>(frames));
    std::printf("soundstar N=%d S=%g wall %.3f s user %.3f s  %.2f ns/voice-sample  %.0f voices in real time\n", voices,
                seconds, wall, user, nsPerVoiceSample, 1e9 / kSr / nsPerVoiceSample);
    return 0;
}

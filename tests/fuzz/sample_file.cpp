// Fuzz target: bytes as a sample file through the sampler service's path: SampleBank::load
// (libsndfile, resampled to the engine rate, under a memory bound), a time-stretch and pitch-shift
// (SoundTouch) picked by the first byte, and a few blocks of the zone player on the result.
// Properties: a refused file is an ApiError with a 4xx status and a bounded message; an accepted
// one gives samples of equal length on both sides, the exact stretched length, and finite audio.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "FuzzCheck.h"
#include "server/Operations.h"
#include "server/SampleBank.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static const std::filesystem::path file = std::filesystem::temp_directory_path() / ("soundstar-fuzz-sample-" + std::to_string(getpid()));
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    server::SampleBank bank(44100.0, std::size_t{4} << 20);  // about 12 s of stereo: keeps each run short
    try {
        const auto& s = bank.load("in", file, "fuzz input", std::nullopt);
        if (s.audio->left.size() != s.audio->right.size()) fuzz::finding("channels of different lengths");
        const double ratio = 0.5 + (data[0] & 15) / 10.0, semitones = static_cast<double>(data[0] >> 4) - 8.0;
        const auto& t = bank.stretch("out", "in", ratio, semitones, std::nullopt);
        if (t.audio->frames() != static_cast<std::size_t>(std::llround(static_cast<double>(s.audio->frames()) / ratio))) fuzz::finding("stretched length is not exact");
        engine::SampleZone z{.sample = t.audio, .name = "out"};
        z.mode = engine::LoopMode::Sustain;
        z.loopStart = t.audio->frames() / 4;
        z.crossfade = 64;
        auto player = engine::makeSamplePlayer({z});
        player->prepare(44100.0, 256);
        player->noteOn(67.0f, 1.0f);
        std::vector<float> l(256), r(256);
        for (int b = 0; b < 8; ++b) {
            player->process({l.data(), r.data(), 256});
            for (float v : l)
                if (!std::isfinite(v) || std::abs(v) > 1e6f) fuzz::finding("player output not finite or out of bounds");
        }
    } catch (const server::ApiError& e) {
        if (e.status() < 400 || e.status() >= 500) fuzz::finding("a refusal that is not a 4xx", e.what());
        fuzz::checkMessage(e.what());
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());  // the player refuses a loop outside a too-short sample
    }
    return 0;
}

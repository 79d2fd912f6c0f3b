// Fuzz target: bytes as a SoundFont through our own player (engine/SoundFontPlayer.h), every
// preset resolved, then played. The first byte picks the keys and velocities. Properties: a
// refused font is a std::runtime_error with a bounded message; an accepted one plays any note
// of any preset it resolved without reading outside the file (ASan) and gives finite samples.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "FuzzCheck.h"
#include "engine/SoundFontPlayer.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::vector<std::uint8_t> font(data + 1, data + size);  // its own copy: the bank reads it in place
    try {
        const auto bank = engine::loadSoundFontBank(font, "fuzz input", {});
        engine::SoundFontPlayer player;
        player.prepare(bank, 44100.0);
        std::vector<float> l(512), r(512);
        const int seed = data[0];
        for (int bankNo : {0, 128})
            for (int program = 0; program < 128; ++program) {
                if (!engine::soundFontBankHas(*bank, {bankNo, program})) continue;
                if (!player.selectPreset({bankNo, program})) fuzz::finding("a preset the bank has cannot be selected");
                for (int n = 0; n < 3; ++n) player.noteOn((seed * 7 + n * 37 + program) % 128, 1 + (seed * 13 + n * 41) % 127);
                for (int b = 0; b < 4; ++b) {
                    player.render(l.data(), r.data(), 512);
                    for (std::size_t i = 0; i < l.size(); ++i)
                        if (!std::isfinite(l[i]) || !std::isfinite(r[i])) fuzz::finding("a sample is not finite");
                    if (b == 1) player.allNotesOff();
                }
            }
        if (player.activeVoices() > engine::SoundFontPlayer::kMaxVoices) fuzz::finding("more voices than the player has");
    } catch (const std::runtime_error& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

// General MIDI and other SoundFont instruments through FluidSynth. Only this file sees FluidSynth.
// The synth is created and the SoundFont loaded in prepare() [control]; notes and rendering run on
// the audio thread with FluidSynth's own locking turned off (synth.threadsafe-api = 0), since only
// the audio thread touches it after prepare.
#include <fluidsynth.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "engine/FileSearch.h"
#include "engine/SynthInstruments.h"

namespace soundstar::engine {
namespace {
enum SfParam { kProgram, kBank, kSfGain };
constexpr ParamSpec kSfParams[] = {
    {"program", 0, 127, 0, "", "General MIDI program (0 piano, 24 nylon guitar, 48 strings, ...)"},
    {"bank", 0, 128, 0, "", "0 melodic, 128 percussion"},
    {"gain", -60, 12, 0, "dB", ""},
};

class SoundFontSynth final : public Instrument {
public:
    SoundFontSynth() {
        for (std::size_t i = 0; i < std::size(kSfParams); ++i) p_[i] = kSfParams[i].def;
    }
    ~SoundFontSynth() override {
        if (synth_) delete_fluid_synth(synth_);
        if (settings_) delete_fluid_settings(settings_);
    }
    void setOption(const std::string& key, const std::string& value) override {
        if (key != "file") throw std::invalid_argument(fmt::format("soundfont has no option '{}'; it has: file", key));
        const auto found = findDataFile(value, "SOUNDSTAR_SOUNDFONTS", {"/usr/share/sounds/sf2", "/usr/share/soundfonts"}, {".sf2", ".sf3"});
        if (!found)
            throw std::invalid_argument(fmt::format("SoundFont '{}' not found in $SOUNDSTAR_SOUNDFONTS, /usr/share/sounds/sf2 or "
                                                    "/usr/share/soundfonts (Debian: timgm6mb-soundfont, fluid-soundfont-gm)",
                                                    value));
        file_ = found->string();
    }
    void prepare(double sampleRate, int maxBlock) override {
        if (file_.empty()) setOption("file", "TimGM6mb.sf2");
        settings_ = new_fluid_settings();
        fluid_settings_setnum(settings_, "synth.sample-rate", sampleRate);
        fluid_settings_setint(settings_, "synth.threadsafe-api", 0);
        fluid_settings_setint(settings_, "synth.polyphony", 64);
        fluid_settings_setint(settings_, "synth.cpu-cores", 1);  // render on our thread only
        fluid_settings_setint(settings_, "synth.reverb.active", 0);  // our returns do the space
        fluid_settings_setint(settings_, "synth.chorus.active", 0);
        fluid_settings_setnum(settings_, "synth.gain", 0.5);
        // Only the samples of the programs selected are read (about 2 of the 6 MB of TimGM6mb for
        // one program): the same samples, so the same output, for a fraction of the load time.
        fluid_settings_setint(settings_, "synth.dynamic-sample-loading", 1);
        synth_ = new_fluid_synth(settings_);
        if (!synth_ || fluid_synth_sfload(synth_, file_.c_str(), 1) == FLUID_FAILED)
            throw std::runtime_error(fmt::format("FluidSynth could not load {}", file_));
        applyProgram();
        (void)maxBlock;
    }
    void noteOn(float note, float velocity) override {
        if (!synth_) return;
        const int key = std::clamp(static_cast<int>(std::lround(note)), 0, 127);
        fluid_synth_noteon(synth_, channel(), key, std::clamp(static_cast<int>(std::lround(velocity * 127.0f)), 1, 127));
    }
    void noteOff(float note) override {
        if (!synth_) return;
        const int key = std::clamp(static_cast<int>(std::lround(note)), 0, 127);
        fluid_synth_noteoff(synth_, channel(), key);
    }
    void allNotesOff() override {
        if (synth_) fluid_synth_all_notes_off(synth_, channel());
    }
    void setParam(int index, float value) override {
        if (index < 0 || index >= static_cast<int>(std::size(kSfParams))) return;
        p_[static_cast<std::size_t>(index)] = value;
        if (synth_ && index != kSfGain) applyProgram();
    }
    void process(StereoView io) override {
        if (!synth_) {
            io.clear();
            return;
        }
        fluid_synth_write_float(synth_, io.frames, io.left, 0, 1, io.right, 0, 1);
        const float g = std::pow(10.0f, p_[kSfGain] / 20.0f);
        for (int i = 0; i < io.frames; ++i) {
            io.left[i] *= g;
            io.right[i] *= g;
        }
    }
    std::span<const ParamSpec> params() const override { return kSfParams; }
    int activeVoices() const override { return synth_ ? fluid_synth_get_active_voice_count(synth_) : 0; }
    const char* kind() const override { return "soundfont"; }

private:
    int channel() const { return p_[kBank] >= 128.0f ? 9 : 0; }
    void applyProgram() {
        const int bank = p_[kBank] >= 128.0f ? 128 : static_cast<int>(p_[kBank]);
        fluid_synth_program_select(synth_, channel(), 1, static_cast<unsigned>(bank), static_cast<unsigned>(p_[kProgram]));
    }
    fluid_settings_t* settings_ = nullptr;
    fluid_synth_t* synth_ = nullptr;
    std::string file_;
    std::array<float, std::size(kSfParams)> p_{};
};
}  // namespace

std::unique_ptr<Instrument> makeSoundFont() { return std::make_unique<SoundFontSynth>(); }

}  // namespace soundstar::engine

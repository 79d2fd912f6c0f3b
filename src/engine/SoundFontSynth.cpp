// General MIDI and other SoundFont instruments. Our own player (SoundFontPlayer.h) plays them; a
// font it does not play (.sf3, sm24, linked modulators) or option player=fluidsynth goes through
// FluidSynth instead. Only this file sees FluidSynth.
// The font is loaded in prepare() [control]; notes and rendering run on the audio thread (with
// FluidSynth's own locking turned off, synth.threadsafe-api = 0, since only the audio thread
// touches it after prepare).
// libfluidsynth is opened (dlopen) on the first prepare(), not linked: with its audio drivers it
// pulls some 50 libraries (SDL2, X11, PulseAudio, GLib, ...) whose loading cost every command
// about 4 ms of start-up, though only renders with a SoundFont preset use it.
#include <dlfcn.h>
#include <fcntl.h>
#include <fluidsynth.h>
#include <unistd.h>
#include <fmt/format.h>

#include <bitset>
#include <map>
#include <memory>
#include <mutex>

#include <algorithm>
#include <array>
#include <cmath>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "engine/FileSearch.h"
#include "engine/SoundFontPlayer.h"
#include "engine/SoundFontSubset.h"
#include "engine/SynthInstruments.h"

namespace soundstar::engine {
namespace {

/// The FluidSynth functions this file calls, from the library opened once per process [control].
struct FluidApi {
    decltype(&new_fluid_settings) newSettings;
    decltype(&delete_fluid_settings) deleteSettings;
    decltype(&fluid_settings_setnum) setNum;
    decltype(&fluid_settings_setint) setInt;
    decltype(&new_fluid_synth) newSynth;
    decltype(&delete_fluid_synth) deleteSynth;
    decltype(&fluid_synth_sfload) sfload;
    decltype(&fluid_synth_program_select) programSelect;
    decltype(&fluid_synth_noteon) noteOn;
    decltype(&fluid_synth_noteoff) noteOff;
    decltype(&fluid_synth_all_notes_off) allNotesOff;
    decltype(&fluid_synth_write_float) writeFloat;
    decltype(&fluid_synth_get_active_voice_count) activeVoices;
    decltype(&fluid_synth_get_sfont) getSfont;
    decltype(&fluid_sfont_iteration_start) sfontIterationStart;
    decltype(&fluid_sfont_iteration_next) sfontIterationNext;
    decltype(&fluid_preset_get_banknum) presetBank;
    decltype(&fluid_preset_get_num) presetNum;
    decltype(&new_fluid_defsfloader) newDefSfloader;
    decltype(&fluid_sfloader_set_callbacks) sfloaderSetCallbacks;
    decltype(&fluid_synth_add_sfloader) addSfloader;
    // OpenMP's omp_set_num_threads, from the libgomp FluidSynth links (null where it links none).
    void (*ompSetNumThreads)(int) = nullptr;
};

/// FluidSynth is not made to be set up from two threads at once: its global tables come with the
/// first new_fluid_synth() behind an atomic flag (a second synth made at that moment could read
/// them half made), and its loaders share a sample cache whose glib lock ThreadSanitizer cannot
/// see. SoundFont tracks therefore prepare one at a time; offline they still prepare side by
/// side with every other kind of track (Graph::prepare).
std::mutex& synthCreation() {
    static std::mutex m;
    return m;
}

/// Our player's banks, shared by the tracks that play the same font the same way (the mapping
/// and the resolved presets are immutable) [control].
std::shared_ptr<const SoundFontBank> sharedBank(const std::string& path, const SoundFontLoadOptions& options) {
    static std::mutex m;
    static std::map<std::string, std::weak_ptr<const SoundFontBank>> banks;
    const std::string key = fmt::format("{}|{}|{}|{}", path, options.only ? options.only->bank : -1,
                                        options.only ? options.only->program : -1, options.lockSamples);
    const std::lock_guard lock(m);
    if (auto bank = banks[key].lock()) return bank;
    auto bank = loadSoundFontBank(path, options);
    banks[key] = bank;
    return bank;
}

/// Opens SOUNDSTAR_FLUIDSYNTH_LIBRARY (the soname the build found) once; throws
/// std::runtime_error naming the library and what is missing.
const FluidApi& fluid() {
    static const FluidApi api = [] {
        // RTLD_NOW: every symbol bound here, so no lazy binding (and its lock) on the audio thread.
        void* lib = dlopen(SOUNDSTAR_FLUIDSYNTH_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        if (!lib)
            throw std::runtime_error(fmt::format("SoundFont presets need FluidSynth, which could not be loaded ({}); Debian: "
                                                 "apt install libfluidsynth3",
                                                 dlerror()));
        const auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
            if (!fn) throw std::runtime_error(fmt::format("{} lacks {}", SOUNDSTAR_FLUIDSYNTH_LIBRARY, name));
        };
        FluidApi a{};
        sym(a.newSettings, "new_fluid_settings");
        sym(a.deleteSettings, "delete_fluid_settings");
        sym(a.setNum, "fluid_settings_setnum");
        sym(a.setInt, "fluid_settings_setint");
        sym(a.newSynth, "new_fluid_synth");
        sym(a.deleteSynth, "delete_fluid_synth");
        sym(a.sfload, "fluid_synth_sfload");
        sym(a.programSelect, "fluid_synth_program_select");
        sym(a.noteOn, "fluid_synth_noteon");
        sym(a.noteOff, "fluid_synth_noteoff");
        sym(a.getSfont, "fluid_synth_get_sfont");
        sym(a.sfontIterationStart, "fluid_sfont_iteration_start");
        sym(a.sfontIterationNext, "fluid_sfont_iteration_next");
        sym(a.presetBank, "fluid_preset_get_banknum");
        sym(a.presetNum, "fluid_preset_get_num");
        sym(a.newDefSfloader, "new_fluid_defsfloader");
        sym(a.sfloaderSetCallbacks, "fluid_sfloader_set_callbacks");
        sym(a.addSfloader, "fluid_synth_add_sfloader");
        sym(a.allNotesOff, "fluid_synth_all_notes_off");
        sym(a.writeFloat, "fluid_synth_write_float");
        sym(a.activeVoices, "fluid_synth_get_active_voice_count");
        // Debian's FluidSynth reads a font's samples in OpenMP tasks; libgomp's idle threads then
        // spin for milliseconds after the load, on the cores our tracks render on (about 13 ms of
        // CPU per load, for a faster read of a small font only on an idle machine).
        a.ompSetNumThreads = reinterpret_cast<void (*)(int)>(dlsym(lib, "omp_set_num_threads"));
        return a;  // the library stays open for the process: synths may outlive any one user
    }();
    return api;
}
// FluidSynth's file callbacks for a synth that loads a SoundFontSubset: while a prepare() on this
// thread serves one (tServing), opening its file's path reads the subset; any other path, or the
// same path later (a program change live), reads the file itself. Both give the same samples at
// the same sample offsets, so FluidSynth may open either for a preset's sample data.
thread_local const SoundFontSubset* tServing = nullptr;

struct FontFile {
    const SoundFontSubset* subset;  // null: the plain file
    int fd;
    std::uint64_t pos, size;
};

void* openFont(const char* path) {
    const SoundFontSubset* subset = tServing && path && tServing->path == path ? tServing : nullptr;
    const int fd = path ? ::open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return nullptr;
    const off_t end = ::lseek(fd, 0, SEEK_END);
    auto* f = new (std::nothrow) FontFile{subset, fd, 0, subset ? subset->size() : static_cast<std::uint64_t>(std::max<off_t>(end, 0))};
    if (!f) ::close(fd);
    return f;
}

int readFont(void* buf, fluid_long_long_t count, void* handle) {
    auto& f = *static_cast<FontFile*>(handle);
    if (count < 0 || static_cast<std::uint64_t>(count) > f.size - std::min(f.pos, f.size)) return FLUID_FAILED;
    auto* out = static_cast<std::uint8_t*>(buf);
    if (f.subset) {
        if (!f.subset->read(f.fd, f.pos, out, static_cast<std::uint64_t>(count))) return FLUID_FAILED;
    } else {
        for (std::uint64_t done = 0; done < static_cast<std::uint64_t>(count);) {
            const ssize_t got = ::pread(f.fd, out + done, static_cast<std::size_t>(count) - done, static_cast<off_t>(f.pos + done));
            if (got <= 0) return FLUID_FAILED;
            done += static_cast<std::uint64_t>(got);
        }
    }
    f.pos += static_cast<std::uint64_t>(count);
    return FLUID_OK;
}

int seekFont(void* handle, fluid_long_long_t offset, int origin) {
    auto& f = *static_cast<FontFile*>(handle);
    const fluid_long_long_t base = origin == SEEK_SET ? 0 : origin == SEEK_CUR ? static_cast<fluid_long_long_t>(f.pos)
                                                                               : static_cast<fluid_long_long_t>(f.size);
    if (origin != SEEK_SET && origin != SEEK_CUR && origin != SEEK_END) return FLUID_FAILED;
    if (base + offset < 0) return FLUID_FAILED;
    f.pos = static_cast<std::uint64_t>(base + offset);
    return FLUID_OK;
}

fluid_long_long_t tellFont(void* handle) { return static_cast<fluid_long_long_t>(static_cast<FontFile*>(handle)->pos); }

int closeFont(void* handle) {
    auto* f = static_cast<FontFile*>(handle);
    ::close(f->fd);
    delete f;
    return FLUID_OK;
}

/// Serves a subset to FluidSynth's opens on this thread for the guard's life [control].
struct ServingSubset {
    explicit ServingSubset(const SoundFontSubset* s) { tServing = s; }
    ~ServingSubset() { tServing = nullptr; }
    ServingSubset(const ServingSubset&) = delete;
    ServingSubset& operator=(const ServingSubset&) = delete;
};

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
    ~SoundFontSynth() override { releaseFluid(); }
    void setOption(const std::string& key, const std::string& value) override {
        // An option of two values: whether it is the second, or an error naming both.
        const auto second = [&](const char* a, const char* b) {
            if (value != a && value != b)
                throw std::invalid_argument(fmt::format("soundfont option '{}' must be {} or {}, not '{}'", key, a, b, value.substr(0, 40)));
            return value == b;
        };
        if (key == "player") {
            forceFluid_ = second("soundstar", "fluidsynth");
            return;
        }
        if (key == "samples") {
            onlySelected_ = second("all", "selected");
            return;
        }
        if (key != "file")
            throw std::invalid_argument(fmt::format("soundfont has no option '{}'; it has: file, samples, player", key));
        const auto found = findDataFile(value, "SOUNDSTAR_SOUNDFONTS", {"/usr/share/sounds/sf2", "/usr/share/soundfonts"}, {".sf2", ".sf3"});
        if (!found)
            throw std::invalid_argument(fmt::format("SoundFont '{}' not found in $SOUNDSTAR_SOUNDFONTS, /usr/share/sounds/sf2 or "
                                                    "/usr/share/soundfonts (Debian: timgm6mb-soundfont, fluid-soundfont-gm)",
                                                    value));
        file_ = found->string();
    }
    void prepare(double sampleRate, int maxBlock) override {
        if (file_.empty()) setOption("file", "TimGM6mb.sf2");
        player_.reset();
        releaseFluid();
        std::string ours;  // why our player could not take the font
        if (!forceFluid_) {
            try {
                SoundFontLoadOptions o;
                if (onlySelected_) o.only = SoundFontPresetId{bankNumber(), programNumber()};
                o.lockSamples = !onlySelected_;
                auto bank = sharedBank(file_, o);
                player_ = std::make_unique<SoundFontPlayer>();
                player_->prepare(bank, sampleRate);
                has_.reset();
                for (int b = 0; b <= 128; ++b)
                    for (int p = 0; p < 128; ++p) has_[static_cast<std::size_t>(b * 128 + p)] = soundFontBankHas(*bank, {b, p});
                applyProgram();
                return;
            } catch (const std::exception& e) {
                player_.reset();
                ours = e.what();
            }
        }
        try {
            prepareFluid(sampleRate);
        } catch (const std::exception& e) {
            if (ours.empty()) throw;
            throw std::runtime_error(fmt::format("{} (and FluidSynth: {})", ours, e.what()));
        }
        (void)maxBlock;
    }
    void prepareFluid(double sampleRate) {
        const std::lock_guard oneAtATime(synthCreation());
        api_ = &fluid();
        const FluidApi& f = *api_;
        settings_ = f.newSettings();
        f.setNum(settings_, "synth.sample-rate", sampleRate);
        f.setInt(settings_, "synth.threadsafe-api", 0);
        f.setInt(settings_, "synth.polyphony", 64);
        f.setInt(settings_, "synth.cpu-cores", 1);  // render on our thread only
        f.setInt(settings_, "synth.reverb.active", 0);  // our returns do the space
        f.setInt(settings_, "synth.chorus.active", 0);
        f.setNum(settings_, "synth.gain", 0.5);
        // FluidSynth mlock()s every loaded sample by default (to keep a live synth out of swap):
        // the kernel then faults in and pins each page at load, ~55 calls for one piano. Offline
        // renders read the samples moments later anyway, so they skip the pinning.
        f.setInt(settings_, "synth.lock-memory", onlySelected_ ? 0 : 1);
        // Every sample is read here ("samples" = "all", the default). FluidSynth's dynamic sample
        // loading reads only the selected programs' samples (~10 ms less per instrument), but
        // then a program change on the audio thread reads files and allocates there (the
        // allocation trap caught it). Offline renders, which change no program once prepared,
        // ask for "selected": the program chosen below is read here, on the control side.
        f.setInt(settings_, "synth.dynamic-sample-loading", onlySelected_ ? 1 : 0);
        if (f.ompSetNumThreads) f.ompSetNumThreads(1);  // this thread's OpenMP teams: no spinning helpers
        synth_ = f.newSynth(settings_);
        if (!synth_) throw std::runtime_error(fmt::format("FluidSynth could not start for {}", file_));
        // Offline, FluidSynth parses a subset of the font holding only the program played (see
        // SoundFontSubset.h): the same zones and samples, a fraction of the parsing. A font that
        // lacks the program, or that we cannot read, is loaded whole as before.
        std::optional<SoundFontSubset> subset;
        if (onlySelected_) {
            try {
                const SoundFontPresetId id{bankNumber(), programNumber()};
                subset = makeSoundFontSubset(file_, std::span(&id, 1));
                // The samples keep their offsets only when the sample data follows INFO directly, as
                // every font we know has it; otherwise a later load of the plain file by FluidSynth
                // would read the subset's offsets in the wrong place: the whole font, then.
                if (subset->sampleChunkAt != subset->head.size()) subset.reset();
            } catch (const std::exception&) {
                subset.reset();
            }
        }
        if (subset) {
            fluid_sfloader_t* loader = f.newDefSfloader(settings_);
            if (!loader || f.sfloaderSetCallbacks(loader, openFont, readFont, seekFont, tellFont, closeFont) != FLUID_OK)
                throw std::runtime_error(fmt::format("FluidSynth could not make a SoundFont loader for {}", file_));
            f.addSfloader(synth_, loader);  // the synth owns it; it is asked first
        }
        const ServingSubset serving(subset ? &*subset : nullptr);
        // With a subset no preset is given to every channel at load (most would be missing and
        // FluidSynth would warn); applyProgram below selects the one channel that plays.
        if (f.sfload(synth_, file_.c_str(), subset ? 0 : 1) == FLUID_FAILED)
            throw std::runtime_error(fmt::format("FluidSynth could not load {}", file_));
        // Which bank/program pairs the font has, so the audio thread never asks FluidSynth for
        // one it lacks (FluidSynth would print an error from the audio thread).
        has_.reset();
        if (fluid_sfont_t* font = f.getSfont(synth_, 0)) {
            f.sfontIterationStart(font);
            while (fluid_preset_t* preset = f.sfontIterationNext(font)) {
                const int bank = f.presetBank(preset), program = f.presetNum(preset);
                if (bank >= 0 && bank <= 128 && program >= 0 && program < 128) has_[static_cast<std::size_t>(bank * 128 + program)] = true;
            }
        }
        applyProgram();
    }
    void noteOn(float note, float velocity) override {
        const int key = std::clamp(static_cast<int>(std::lround(note)), 0, 127);
        const int vel = std::clamp(static_cast<int>(std::lround(velocity * 127.0f)), 1, 127);
        if (player_) player_->noteOn(key, vel);
        else if (synth_) api_->noteOn(synth_, channel(), key, vel);
    }
    void noteOff(float note) override {
        const int key = std::clamp(static_cast<int>(std::lround(note)), 0, 127);
        if (player_) player_->noteOff(key);
        else if (synth_) api_->noteOff(synth_, channel(), key);
    }
    void allNotesOff() override {
        if (player_) player_->allNotesOff();
        else if (synth_) api_->allNotesOff(synth_, channel());
    }
    void setParam(int index, float value) override {
        if (index < 0 || index >= static_cast<int>(std::size(kSfParams))) return;
        p_[static_cast<std::size_t>(index)] = value;
        if ((player_ || synth_) && index != kSfGain) applyProgram();
    }
    void process(StereoView io) override {
        if (player_) {
            player_->render(io.left, io.right, io.frames);
        } else if (synth_) {
            api_->writeFloat(synth_, io.frames, io.left, 0, 1, io.right, 0, 1);
        } else {
            io.clear();
            return;
        }
        const float g = std::pow(10.0f, p_[kSfGain] / 20.0f);
        for (int i = 0; i < io.frames; ++i) {
            io.left[i] *= g;
            io.right[i] *= g;
        }
    }
    std::span<const ParamSpec> params() const override { return kSfParams; }
    int activeVoices() const override { return player_ ? player_->activeVoices() : synth_ ? api_->activeVoices(synth_) : 0; }
    const char* kind() const override { return "soundfont"; }

private:
    int channel() const { return p_[kBank] >= 128.0f ? 9 : 0; }
    int bankNumber() const { return p_[kBank] >= 128.0f ? 128 : std::clamp(static_cast<int>(p_[kBank]), 0, 127); }
    int programNumber() const { return std::clamp(static_cast<int>(p_[kProgram]), 0, 127); }
    void applyProgram() {
        const int bank = bankNumber();
        const int program = programNumber();
        if (!has_[static_cast<std::size_t>(bank * 128 + program)]) return;  // not in the font: the current sound stays
        if (player_) {
            player_->selectPreset({bank, program});
            return;
        }
        api_->programSelect(synth_, channel(), 1, static_cast<unsigned>(bank), static_cast<unsigned>(program));
    }
    void releaseFluid() {
        if (synth_) api_->deleteSynth(synth_);
        if (settings_) api_->deleteSettings(settings_);
        synth_ = nullptr;
        settings_ = nullptr;
    }
    std::bitset<129 * 128> has_;
    std::unique_ptr<SoundFontPlayer> player_;  // ours; null when FluidSynth plays
    bool forceFluid_ = false;
    const FluidApi* api_ = nullptr;  // set by prepare(), with the synth
    fluid_settings_t* settings_ = nullptr;
    fluid_synth_t* synth_ = nullptr;
    std::string file_;
    bool onlySelected_ = false;
    std::array<float, std::size(kSfParams)> p_{};
};
}  // namespace

std::unique_ptr<Instrument> makeSoundFont() { return std::make_unique<SoundFontSynth>(); }

}  // namespace soundstar::engine

// Our own SoundFont 2 player (SoundFontPlayer.h). The synthesis follows the SoundFont 2.04
// specification, section 8, as FluidSynth 2.3 reads it (where the two differ, FluidSynth's
// reading wins, since that is what our tracks sounded like): envelopes and LFOs step once per
// 64-sample block of the voice, the amplitude ramps across each block, initial attenuation
// counts 0.4 of its value (EMU hardware), and the default velocity-to-filter modulator is off.
#include "engine/SoundFontPlayer.h"

#include <fcntl.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <new>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "engine/SoundFontTables.h"

namespace soundstar::engine {

static_assert(std::endian::native == std::endian::little, "SoundFont samples are read in place as little-endian int16");

namespace {

using namespace sf2;

constexpr int kBlock = 64;  // the envelope and LFO step, in samples
constexpr double kNoiseFloor = 2e-7;
constexpr double kSynthGain = 0.5;  // FluidSynth's synth.gain as SoundFontSynth set it
constexpr double kMinNoteSeconds = 0.010;  // FluidSynth's synth.min-note-length
constexpr double kAttenuationFactor = 0.4;  // EMU hardware applies 0.4 of initial attenuation
constexpr std::size_t kMaxModsPerZone = 64;          // FluidSynth's FLUID_NUM_MOD
constexpr std::size_t kMaxModRecordsPerZone = 4096;  // read from the file for one zone
constexpr std::size_t kMaxZonesInList = 4096;        // zones of one preset or instrument in the file
constexpr std::size_t kMaxBankZones = std::size_t{1} << 18;  // resolved zones of a whole bank
constexpr double kMaxGenValue = 1e6;                 // a generator's sum, before integer conversion

// Generators (SoundFont 2.04 section 8.1.2), and our own kPitch (the nominal pitch of the key).
enum Gen : int {
    kStartOfs = 0, kEndOfs = 1, kLoopStartOfs = 2, kLoopEndOfs = 3, kStartCoarse = 4, kModLfoToPitch = 5,
    kVibLfoToPitch = 6, kModEnvToPitch = 7, kFilterFc = 8, kFilterQ = 9, kModLfoToFc = 10, kModEnvToFc = 11,
    kEndCoarse = 12, kModLfoToVol = 13, kChorus = 15, kReverb = 16, kPan = 17, kModLfoDelay = 21, kModLfoFreq = 22,
    kVibLfoDelay = 23, kVibLfoFreq = 24, kModEnvDelay = 25, kModEnvAttack = 26, kModEnvHold = 27, kModEnvDecay = 28,
    kModEnvSustain = 29, kModEnvRelease = 30, kKeyToModEnvHold = 31, kKeyToModEnvDecay = 32, kVolEnvDelay = 33,
    kVolEnvAttack = 34, kVolEnvHold = 35, kVolEnvDecay = 36, kVolEnvSustain = 37, kVolEnvRelease = 38,
    kKeyToVolEnvHold = 39, kKeyToVolEnvDecay = 40, kInstrument = 41, kKeyRange = 43, kVelRange = 44,
    kLoopStartCoarse = 45, kKeyNum = 46, kVelocity = 47, kAttenuation = 48, kLoopEndCoarse = 50, kCoarseTune = 51,
    kFineTune = 52, kSampleId = 53, kSampleModes = 54, kScaleTuning = 56, kExclusiveClass = 57, kRootKey = 58,
    kPitch = 59, kGenCount = 60
};

constexpr std::array<double, kGenCount> kGenDefaults = [] {
    std::array<double, kGenCount> d{};
    d[kFilterFc] = 13500;
    for (const int g : {kModLfoDelay, kVibLfoDelay, kModEnvDelay, kModEnvAttack, kModEnvHold, kModEnvDecay, kModEnvRelease,
                        kVolEnvDelay, kVolEnvAttack, kVolEnvHold, kVolEnvDecay, kVolEnvRelease})
        d[static_cast<std::size_t>(g)] = -12000;
    d[kKeyNum] = -1;
    d[kVelocity] = -1;
    d[kScaleTuning] = 100;
    d[kRootKey] = -1;
    return d;
}();

/// Generators a preset zone may not set (8.1.2: sample-level only); the loader drops them.
bool presetMayNotSet(int g) {
    switch (g) {
        case kStartOfs: case kEndOfs: case kLoopStartOfs: case kLoopEndOfs: case kStartCoarse: case kEndCoarse:
        case kLoopStartCoarse: case kLoopEndCoarse: case kKeyNum: case kVelocity: case kSampleModes:
        case kExclusiveClass: case kRootKey:
            return true;
        default:
            return false;
    }
}
bool isUnused(int g) { return g == 14 || g == 18 || g == 19 || g == 20 || g == 42 || g == 49 || g == 55 || g >= 59; }

// ---- conversions, as FluidSynth's tables have them -------------------------------------------------

/// a b + c, rounded once where the machine fuses a multiply-add (as the vector paths do), else
/// as two operations (a library call per sample would cost far more than the rounding).
template <class T>
inline T mulAdd(T a, T b, T c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

/// FluidSynth's 4-point ("4th order") interpolation coefficients at a fraction x = i / 256: in
/// float, each step but the last exact (x has eight fractional bits), so each coefficient is
/// x's polynomial rounded once. The vector interpolation works them out by the same steps.
std::array<float, 4> interpCoefficients(float x) {
    return {x * std::fma(x, std::fma(-0.5f, x, 1.0f), -0.5f), std::fma(x * x, std::fma(1.5f, x, -2.5f), 1.0f),
            x * std::fma(x, std::fma(-1.5f, x, 2.0f), 0.5f), 0.5f * x * x * (x - 1.0f)};
}

struct Tables {
    std::array<double, 1441> cb2amp{};
    std::array<double, 128> concave{}, convex{};
    std::array<double, 1002> pan{};
    std::array<double, 1200> ct2hz{};
    std::array<std::array<float, 4>, 256> interp{};
    Tables() {
        // FluidSynth builds these in long double; double is as exact as the tables need (a
        // long double pow costs some 0.5 us, 2.6 ms of a short render for the 2,600 entries).
        for (std::size_t i = 0; i < cb2amp.size(); ++i) cb2amp[i] = std::pow(10.0, static_cast<double>(i) / -200.0);
        concave[0] = 0;
        concave[127] = 1;
        convex[0] = 0;
        convex[127] = 1;
        for (int i = 1; i < 127; ++i) {
            const double x = (-200.0 * 2 / 960.0) * std::log10(static_cast<double>(i) / 127.0);
            convex[static_cast<std::size_t>(i)] = 1.0 - x;
            concave[static_cast<std::size_t>(127 - i)] = x;
        }
        const double step = std::numbers::pi / 2.0 / 1001.0;
        for (std::size_t i = 0; i < pan.size(); ++i) pan[i] = std::sin(static_cast<double>(i) * step);
        for (std::size_t i = 0; i < ct2hz.size(); ++i) ct2hz[i] = 6.875 * std::exp2(static_cast<double>(i) / 1200.0);
        for (std::size_t i = 0; i < interp.size(); ++i) interp[i] = interpCoefficients(static_cast<float>(i) / 256.0f);
    }
};
const Tables& tables() {
    static const Tables t;
    return t;
}

double cb2amp(double cb) {
    if (cb < 0) return 1.0;
    if (cb >= 1441.0) return 0.0;
    return tables().cb2amp[static_cast<std::size_t>(cb)];
}
double curve(const std::array<double, 128>& tab, double v) {
    if (!(v >= 0.0)) return 0.0;
    const int i = static_cast<int>(v);
    if (i >= 127) return tab[127];
    return tab[static_cast<std::size_t>(i)] + (tab[static_cast<std::size_t>(i) + 1] - tab[static_cast<std::size_t>(i)]) * (v - static_cast<double>(i));
}
double concave(double v) { return curve(tables().concave, v); }
double convex(double v) { return curve(tables().convex, v); }
/// Absolute cents to Hz: whole cents from the table at and above 0 (as FluidSynth's), exact below.
double ct2hzReal(double cents) {
    cents = std::min(cents, 1e5);  // (any real pitch is far below; keeps the integer part in range)
    if (cents < 0) return 8.1757989156437073336828122976032719176391831357 * std::pow(2.0, cents / 1200.0);
    const unsigned icents = static_cast<unsigned>(cents) + 300u;
    return static_cast<double>(1u << ((icents / 1200u) & 31u)) * tables().ct2hz[icents % 1200u];
}
double ct2hzFilter(double cents) { return ct2hzReal(std::clamp(cents, 1500.0, 13500.0)); }
double panGain(double c, bool left) {
    if (left) c = -c;
    if (c <= -500.0) return 0.0;
    if (c >= 500.0) return 1.0;
    return tables().pan[static_cast<std::size_t>(static_cast<int>(c) + 500)];
}
double tc2sec(double tc) { return std::pow(2.0, tc / 1200.0); }
double tc2secClamped(double tc, double hi) {
    if (tc <= -32768.0) return 0.0;
    return tc2sec(std::clamp(tc, -12000.0, hi));
}

// ---- modulators ------------------------------------------------------------------------------------

// Source flags as FluidSynth keeps them: direction, polarity, curve type, CC.
constexpr std::uint8_t kNegative = 1, kBipolar = 2, kCc = 16;
constexpr std::uint8_t kLinear = 0, kConcave = 4, kConvex = 8, kSwitch = 12;
constexpr std::uint8_t kSrcNone = 0, kSrcVelocity = 2, kSrcKey = 3, kSrcKeyPressure = 10, kSrcChannelPressure = 13,
                       kSrcPitchWheel = 14, kSrcPitchWheelSens = 16;

struct Mod {
    std::uint8_t src1 = 0, flags1 = 0, src2 = 0, flags2 = 0;
    int dest = 0;
    double amount = 0;
    bool sameAs(const Mod& o) const {
        return src1 == o.src1 && flags1 == o.flags1 && src2 == o.src2 && flags2 == o.flags2 && dest == o.dest;
    }
};

/// FluidSynth's default modulators (the SoundFont 2.04 set, section 8.4), in its order. The
/// velocity-to-filter one always evaluates to 0 there, and here.
const std::vector<Mod>& defaultMods() {
    static const std::vector<Mod> mods = {
        Mod{kSrcVelocity, kConcave | kNegative, 0, 0, kAttenuation, 960},
        Mod{kSrcVelocity, kLinear | kNegative, kSrcVelocity, kSwitch, kFilterFc, -2400},
        Mod{kSrcChannelPressure, kLinear, 0, 0, kVibLfoToPitch, 50},
        Mod{1, kCc | kLinear, 0, 0, kVibLfoToPitch, 50},
        Mod{7, kCc | kConcave | kNegative, 0, 0, kAttenuation, 960},
        Mod{10, kCc | kLinear | kBipolar, 0, 0, kPan, 500},
        Mod{11, kCc | kConcave | kNegative, 0, 0, kAttenuation, 960},
        Mod{91, kCc | kLinear, 0, 0, kReverb, 200},
        Mod{93, kCc | kLinear, 0, 0, kChorus, 200},
        Mod{kSrcPitchWheel, kLinear | kBipolar, kSrcPitchWheelSens, kLinear, kPitch, 12700},
    };
    return mods;
}

/// A channel's controllers after reset (FluidSynth's fluid_channel_init_ctrl).
double ccDefault(int cc) {
    if (cc == 7) return 100;
    if (cc == 10 || cc == 8 || (cc >= 70 && cc <= 79)) return 64;
    if (cc == 11 || cc == 43 || (cc >= 98 && cc <= 101)) return 127;
    return 0;
}

/// Reads an SFModulator source as FluidSynth imports it. `known`: false for a curve type past
/// switch (the modulator is kept, its amount 0, and may still replace an identical default).
/// Returns false for a source FluidSynth drops as invalid (an unknown general controller, a
/// reserved CC).
bool readSource(std::uint16_t v, std::uint8_t& src, std::uint8_t& flags, bool& known) {
    src = static_cast<std::uint8_t>(v & 0x7f);
    const bool cc = v & 0x80;
    const unsigned type = v >> 10;
    known = type <= 3;
    flags = static_cast<std::uint8_t>((v >> 8 & 1) | ((v >> 9 & 1) << 1) | (known ? type << 2 : 0) | (cc ? kCc : 0));
    if (cc) return !(src == 0 || src == 6 || src == 32 || src == 38 || (src >= 98 && src <= 101) || src >= 120);
    return src == kSrcNone || src == kSrcVelocity || src == kSrcKey || src == kSrcKeyPressure || src == kSrcChannelPressure ||
           src == kSrcPitchWheel || src == kSrcPitchWheelSens;
}

double transform(double val, std::uint8_t flags, double range) {
    const double n = val / range;
    switch (flags & ~kCc) {
        case kLinear: return n;
        case kLinear | kNegative: return 1.0 - n;
        case kLinear | kBipolar: return -1.0 + 2.0 * n;
        case kLinear | kBipolar | kNegative: return 1.0 - 2.0 * n;
        case kConcave: return concave(127 * n);
        case kConcave | kNegative: return concave(127 * (1.0 - n));
        case kConcave | kBipolar: return n > 0.5 ? concave(127 * 2 * (n - 0.5)) : -concave(127 * 2 * (0.5 - n));
        case kConcave | kBipolar | kNegative: return n > 0.5 ? -concave(127 * 2 * (n - 0.5)) : concave(127 * 2 * (0.5 - n));
        case kConvex: return convex(127 * n);
        case kConvex | kNegative: return convex(127 * (1.0 - n));
        case kConvex | kBipolar: return n > 0.5 ? convex(127 * 2 * (n - 0.5)) : -convex(127 * 2 * (0.5 - n));
        case kConvex | kBipolar | kNegative: return n > 0.5 ? -convex(127 * 2 * (n - 0.5)) : convex(127 * 2 * (0.5 - n));
        case kSwitch: return n >= 0.5 ? 1.0 : 0.0;
        case kSwitch | kNegative: return n >= 0.5 ? 0.0 : 1.0;
        case kSwitch | kBipolar: return n >= 0.5 ? 1.0 : -1.0;
        case kSwitch | kBipolar | kNegative: return n >= 0.5 ? -1.0 : 1.0;
        default: return 0.0;
    }
}

double sourceValue(std::uint8_t src, std::uint8_t flags, double& range, int key, int vel) {
    if (flags & kCc) return ccDefault(src);
    switch (src) {
        case kSrcNone: return range;
        case kSrcVelocity: return static_cast<double>(vel);
        case kSrcKey: return static_cast<double>(key);
        case kSrcPitchWheel: range = 16384; return 8192;
        case kSrcPitchWheelSens: return 2;
        default: return 0;  // key and channel pressure
    }
}

/// A modulator's contribution for a note: constant, since the controllers never move.
double modValue(const Mod& m, int key, int vel) {
    // FluidSynth's "special treatment" of the default velocity-to-filter modulator: always 0.
    if (m.src1 == kSrcVelocity && m.flags1 == (kLinear | kNegative) && m.src2 == kSrcVelocity && m.flags2 == kSwitch && m.dest == kFilterFc)
        return 0.0;
    if (m.src1 == 0) return 0.0;  // "no controller" as the first source (by index, as FluidSynth)
    double r1 = 128, r2 = 128;
    const double s1 = sourceValue(m.src1, m.flags1, r1, key, vel);  // may set r1 (the pitch wheel's range)
    const double v1 = transform(s1, m.flags1, r1);
    if (v1 == 0.0) return 0.0;
    double v2 = 1.0;
    if (m.src2 != 0) {
        const double s2 = sourceValue(m.src2, m.flags2, r2, key, vel);
        v2 = transform(s2, m.flags2, r2);
    }
    return m.amount * v1 * v2;
}

/// Whether a modulator on attenuation could lower it later (FluidSynth's lower bound, which
/// decides when a quiet voice may stop).
bool canChange(const Mod& m) {
    const auto moving = [](std::uint8_t s, std::uint8_t f) {
        return (f & kCc) || s == kSrcChannelPressure || s == kSrcKeyPressure || s == kSrcPitchWheel;
    };
    return m.dest == kAttenuation && (moving(m.src1, m.flags1) || moving(m.src2, m.flags2));
}
double minContribution(const Mod& m) {
    const double a = std::fabs(m.amount);
    return ((m.flags1 & kBipolar) || (m.flags2 & kBipolar) || m.amount < 0) ? -a : 0.0;
}

// ---- the font --------------------------------------------------------------------------------------

struct SampleInfo {
    bool usable = false;  // false: a ROM sample, or one outside the data (no voice plays it)
    std::int64_t start = 0, end = 0;  // end: the last sample (inclusive), as FluidSynth keeps it
    std::int64_t loopStart = 0, loopEnd = 0;  // loopEnd: the first sample after the loop
    std::uint32_t rate = 44100;
    int rootKey = 60;
    int correction = 0;  // cents
};

/// One instrument zone under one preset zone: what a note in its ranges starts a voice from.
struct Zone {
    std::uint8_t keyLo = 0, keyHi = 127, velLo = 0, velHi = 127;
    std::uint32_t sample = 0;
    std::array<double, kGenCount> gen{};  // instrument values (defaults filled) plus the preset's
    std::uint32_t modBegin = 0, modEnd = 0;  // in SoundFontBank::mods
};

struct PresetZones {
    SoundFontPresetId id;
    std::uint32_t zoneBegin = 0, zoneEnd = 0;  // in SoundFontBank::zones
};

}  // namespace

class SoundFontBank {
public:
    std::string name;
    // The samples the resolved presets play, copied out of the file (each between two zeros):
    // no page of the file is read on the audio thread, and a font changed on disk while it
    // plays changes nothing (a mapping would fault, or die of SIGBUS if the file shrank).
    // Its own mapping, not the heap: freed, it goes back to the system at once (a live session
    // that loads and drops a font's 6 MB now and then kept each copy in malloc's heap).
    std::int16_t* data = nullptr;
    std::size_t dataCount = 0;
    std::vector<SampleInfo> samples;
    std::vector<Zone> zones;
    std::vector<Mod> mods;
    std::vector<PresetZones> presets;
    std::array<std::int16_t, 129 * 128> index{};  // bank * 128 + program -> presets index, -1 none
    bool locked = false;

    SoundFontBank() { index.fill(-1); }
    ~SoundFontBank() {
        if (data) ::munmap(data, bytes());  // (unlocks it too)
    }
    SoundFontBank(const SoundFontBank&) = delete;
    SoundFontBank& operator=(const SoundFontBank&) = delete;
    std::size_t bytes() const { return std::max<std::size_t>(dataCount, 1) * sizeof(std::int16_t); }
    void allocate(std::size_t count) {
        dataCount = count;
        void* p = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data = static_cast<std::int16_t*>(p);  // zeroed: the pads between samples are zeros
    }
    const PresetZones* find(SoundFontPresetId id) const {
        if (id.bank < 0 || id.bank > 128 || id.program < 0 || id.program > 127) return nullptr;
        const int i = index[static_cast<std::size_t>(id.bank * 128 + id.program)];
        return i < 0 ? nullptr : &presets[static_cast<std::size_t>(i)];
    }
};

namespace {

/// One zone of a preset or instrument as the file has it, after FluidSynth's loading rules: a
/// key range only first, a velocity range only first or after it, nothing after the instrument
/// or sample, a later copy of a generator replacing an earlier one.
struct RawZone {
    std::array<bool, kGenCount> set{};
    std::array<std::int16_t, kGenCount> amount{};
    std::uint8_t keyLo = 0, keyHi = 127, velLo = 0, velHi = 127;
    int ref = -1;  // instrument or sample index; -1 none (a global zone)
    std::vector<Mod> mods;
};

RawZone readZone(const PresetData& d, const Table& bags, const Table& gens, const Table& modTable, std::size_t bag, bool preset) {
    RawZone z;
    const auto [g0, g1] = d.gens(bags, gens, bag);
    int level = 0;  // 0: key range allowed, 1: velocity range allowed, 2: others
    for (std::size_t g = g0; g < g1; ++g) {
        const std::uint8_t* rec = gens.at(g);
        const int id = u16(rec);
        if (id == kKeyRange) {
            if (level == 0) z.keyLo = rec[2], z.keyHi = rec[3], level = 1;
            continue;
        }
        if (id == kVelRange) {
            if (level <= 1) z.velLo = rec[2], z.velHi = rec[3], level = 2;
            continue;
        }
        level = 2;
        if (id == (preset ? kInstrument : kSampleId)) {
            z.ref = static_cast<int>(preset ? d.instrumentOf(rec) : d.sampleOf(rec));
            break;  // the zone's last generator
        }
        if (id == kInstrument || id == kSampleId || isUnused(id) || (preset && presetMayNotSet(id))) continue;
        z.set[static_cast<std::size_t>(id)] = true;
        z.amount[static_cast<std::size_t>(id)] = static_cast<std::int16_t>(u16(rec + 2));
    }
    const auto [m0, m1] = d.mods(bags, modTable, bag);
    if (m1 - m0 > kMaxModRecordsPerZone)
        malformed(d.file, fmt::format("a zone has {} modulators, over {}", m1 - m0, kMaxModRecordsPerZone));
    for (std::size_t m = m0; m < m1; ++m) {
        const std::uint8_t* rec = modTable.at(m);
        const std::uint16_t dest = u16(rec + 2);
        if ((u16(rec) & 0x7f) == 127 && !(u16(rec) & 0x80)) malformed(d.file, "it uses linked modulators, which this player does not play");
        if (dest & 0x8000) malformed(d.file, "it uses linked modulators, which this player does not play");
        // FluidSynth's import: an unknown curve type, or a transform other than linear, keeps
        // the modulator with amount 0; a second source of "none" is unipolar; a first source of
        // "none" (always 0) or an invalid source drops it.
        Mod mod;
        bool known1 = true, known2 = true;
        if (!readSource(u16(rec), mod.src1, mod.flags1, known1) || !readSource(u16(rec + 6), mod.src2, mod.flags2, known2)) continue;
        if (mod.src1 == kSrcNone && !(mod.flags1 & kCc)) continue;
        if (mod.src2 == kSrcNone && !(mod.flags2 & kCc)) mod.flags2 &= static_cast<std::uint8_t>(~kBipolar);
        if (dest >= kGenCount - 1 || isUnused(dest)) continue;  // modulates nothing we play, replaces nothing
        mod.dest = dest;
        mod.amount = known1 && known2 && u16(rec + 8) == 0 ? static_cast<double>(static_cast<std::int16_t>(u16(rec + 4))) : 0.0;
        z.mods.push_back(mod);
    }
    // Of identical modulators in one zone FluidSynth keeps the last; then at most 64.
    std::vector<Mod> kept;
    for (std::size_t i = 0; i < z.mods.size(); ++i)
        if (std::none_of(z.mods.begin() + static_cast<std::ptrdiff_t>(i) + 1, z.mods.end(), [&](const Mod& o) { return o.sameAs(z.mods[i]); }))
            kept.push_back(z.mods[i]);
    if (kept.size() > kMaxModsPerZone) kept.resize(kMaxModsPerZone);
    z.mods = std::move(kept);
    return z;
}

/// The zones [begin, end) of a preset or instrument: the global zone (the first, when it has no
/// instrument or sample) apart, later zones without one dropped.
struct ZoneList {
    std::optional<RawZone> global;
    std::vector<RawZone> zones;
};
ZoneList readZones(const PresetData& d, const Table& bags, const Table& gens, const Table& mods, std::pair<std::size_t, std::size_t> r,
                   bool preset) {
    ZoneList l;
    if (r.second - r.first > kMaxZonesInList)
        malformed(d.file, fmt::format("a {} has {} zones, over {}", preset ? "preset" : "instrument", r.second - r.first, kMaxZonesInList));
    for (std::size_t b = r.first; b < r.second; ++b) {
        RawZone z = readZone(d, bags, gens, mods, b, preset);
        if (z.ref >= 0) l.zones.push_back(std::move(z));
        else if (b == r.first) l.global = std::move(z);
    }
    return l;
}

/// Local modulators, then the global zone's not identical to one of them (FluidSynth's order).
std::vector<Mod> zoneMods(const std::optional<RawZone>& global, const RawZone& local) {
    std::vector<Mod> out = local.mods;
    if (global)
        for (const Mod& m : global->mods)
            if (std::none_of(local.mods.begin(), local.mods.end(), [&](const Mod& o) { return o.sameAs(m); })) out.push_back(m);
    return out;
}

double genAmount(int g, std::int16_t raw) {
    return g == kAttenuation ? static_cast<double>(raw) * kAttenuationFactor : static_cast<double>(raw);
}

void resolvePreset(SoundFontBank& bank, const PresetData& d, std::size_t p, std::vector<std::optional<ZoneList>>& instCache) {
    PresetZones out;
    out.id = {u16(d.phdr.at(p) + 22), u16(d.phdr.at(p) + 20)};
    // Out of range, or a number an earlier preset has: never played (the first stays), not read.
    if (out.id.bank > 128 || out.id.program > 127 || bank.index[static_cast<std::size_t>(out.id.bank * 128 + out.id.program)] >= 0) return;
    out.zoneBegin = static_cast<std::uint32_t>(bank.zones.size());
    const ZoneList pz = readZones(d, d.pbag, d.pgen, d.pmod, d.presetBags(p), true);
    for (const RawZone& pzone : pz.zones) {
        auto& cached = instCache[static_cast<std::size_t>(pzone.ref)];
        if (!cached) cached = readZones(d, d.ibag, d.igen, d.imod, d.instBags(static_cast<std::size_t>(pzone.ref)), false);
        const ZoneList& iz = *cached;
        const std::vector<Mod> presetMods = zoneMods(pz.global, pzone);
        for (const RawZone& izone : iz.zones) {
            const SampleInfo* s = izone.ref >= 0 && static_cast<std::size_t>(izone.ref) < bank.samples.size()
                                      ? &bank.samples[static_cast<std::size_t>(izone.ref)]
                                      : nullptr;
            if (!s || !s->usable) continue;  // a ROM or unusable sample: no voice, as in FluidSynth
            Zone z;
            z.keyLo = std::max(pzone.keyLo, izone.keyLo);
            z.keyHi = std::min(pzone.keyHi, izone.keyHi);
            z.velLo = std::max(pzone.velLo, izone.velLo);
            z.velHi = std::min(pzone.velHi, izone.velHi);
            if (z.keyLo > z.keyHi || z.velLo > z.velHi) continue;
            z.sample = static_cast<std::uint32_t>(izone.ref);
            for (int g = 0; g < kGenCount; ++g) {
                const auto i = static_cast<std::size_t>(g);
                double v = kGenDefaults[i];
                if (izone.set[i]) v = genAmount(g, izone.amount[i]);
                else if (iz.global && iz.global->set[i]) v = genAmount(g, iz.global->amount[i]);
                if (pzone.set[i]) v += genAmount(g, pzone.amount[i]);
                else if (pz.global && pz.global->set[i]) v += genAmount(g, pz.global->amount[i]);
                z.gen[i] = v;
            }
            // Modulators: the defaults; the instrument's replace identical defaults (or join);
            // the preset's add to identical ones (or join), those of amount 0 left out.
            std::vector<Mod> mods = defaultMods();
            const std::size_t defaults = mods.size();
            for (const Mod& m : zoneMods(iz.global, izone)) {
                const auto same = std::find_if(mods.begin(), mods.begin() + static_cast<std::ptrdiff_t>(defaults), [&](const Mod& o) { return o.sameAs(m); });
                if (same != mods.begin() + static_cast<std::ptrdiff_t>(defaults)) same->amount = m.amount;
                else mods.push_back(m);
            }
            const std::size_t before = mods.size();
            for (const Mod& m : presetMods) {
                if (m.amount == 0) continue;
                const auto same = std::find_if(mods.begin(), mods.begin() + static_cast<std::ptrdiff_t>(before), [&](const Mod& o) { return o.sameAs(m); });
                if (same != mods.begin() + static_cast<std::ptrdiff_t>(before)) same->amount += m.amount;
                else mods.push_back(m);
            }
            z.modBegin = static_cast<std::uint32_t>(bank.mods.size());
            bank.mods.insert(bank.mods.end(), mods.begin(), mods.end());
            z.modEnd = static_cast<std::uint32_t>(bank.mods.size());
            bank.zones.push_back(z);
            if (bank.zones.size() - out.zoneBegin > kMaxSoundFontZonesPerPreset)
                malformed(d.file, fmt::format("preset {}:{} has over {} zones", out.id.bank, out.id.program, kMaxSoundFontZonesPerPreset));
            if (bank.zones.size() > kMaxBankZones) malformed(d.file, fmt::format("its presets have over {} zones in all", kMaxBankZones));
        }
    }
    out.zoneEnd = static_cast<std::uint32_t>(bank.zones.size());
    bank.index[static_cast<std::size_t>(out.id.bank * 128 + out.id.program)] = static_cast<std::int16_t>(bank.presets.size());
    bank.presets.push_back(out);
}

std::shared_ptr<SoundFontBank> loadFrom(const ReadAt& read, std::uint64_t fileSize, const std::string& name, const SoundFontLoadOptions& options) {
    const Layout l = readLayout(read, fileSize, name);
    auto bank = std::make_shared<SoundFontBank>();
    bank->name = name;
    // The sdta list: its smpl chunk (16-bit samples), and no sm24 (their low bytes). Only
    // chunk headers are read here; the samples played are read into the bank at the end.
    std::uint64_t smplAt = 0;
    std::int64_t frames = 0;
    std::uint8_t h[12];
    if (!read(l.sampleAt, h, 12)) malformed(name, "its sample data cannot be read");
    const std::uint64_t sdtaEnd = std::min<std::uint64_t>(8 + u32(h + 4), l.sampleSize);
    for (std::uint64_t at = 12; at + 8 <= sdtaEnd;) {
        if (!read(l.sampleAt + at, h, 8)) malformed(name, "its sample data cannot be read");
        const std::uint64_t size = u32(h + 4);
        if (size > sdtaEnd - at - 8) malformed(name, "a sample-data chunk runs past its list");
        if (isTag(h, "smpl")) {
            smplAt = l.sampleAt + at + 8;
            frames = static_cast<std::int64_t>(size / 2);
        } else if (isTag(h, "sm24")) {
            malformed(name, "it has 24-bit samples (sm24), which this player does not play");
        }
        at += 8 + size + (size & 1);
    }
    if (!smplAt) malformed(name, "it has no 'smpl' chunk");
    const PresetData d(l.presetData, name);
    bank->samples.resize(d.shdr.count - 1);
    for (std::size_t s = 0; s + 1 < d.shdr.count; ++s) {
        const std::uint8_t* h = d.shdr.at(s);
        const std::uint16_t type = u16(h + 44);
        if (type & 0x10) malformed(name, "its samples are compressed (SoundFont 3), which this player does not play");
        SampleInfo& si = bank->samples[s];
        const std::int64_t start = u32(h + 20), end = u32(h + 24);
        if ((type & 0x8000) || start >= end || end > frames) continue;  // ROM or out of the data: never played
        si.usable = true;
        si.start = start;
        si.end = end - 1;
        si.loopStart = u32(h + 28);
        si.loopEnd = u32(h + 32);
        // Loop points as FluidSynth mends them on loading (fluid_sample_sanitize_loop).
        if (si.loopStart > si.loopEnd) std::swap(si.loopStart, si.loopEnd);
        if (si.loopStart < si.start || si.loopStart > frames) si.loopStart = si.start;
        if (si.loopEnd < si.start || si.loopEnd > frames) si.loopEnd = si.end + 1;
        si.rate = std::clamp<std::uint32_t>(u32(h + 36), 400, 384000);
        si.rootKey = h[40] > 127 ? 60 : h[40];
        si.correction = static_cast<std::int8_t>(h[41]);
    }
    std::vector<std::optional<ZoneList>> instCache(d.inst.count);
    for (std::size_t p = 0; p + 1 < d.phdr.count; ++p) {
        const SoundFontPresetId id{u16(d.phdr.at(p) + 22), u16(d.phdr.at(p) + 20)};
        if (options.only && (options.only->bank != id.bank || options.only->program != id.program)) continue;
        resolvePreset(*bank, d, p, instCache);
    }
    if (bank->presets.empty())
        malformed(name, options.only ? fmt::format("it has no preset {}:{}", options.only->bank, options.only->program)
                                     : std::string("it has no presets"));
    // Copy out the samples the zones play, each between two zeros (the interpolation may read
    // one point before a sample's start), and move their positions to the copy.
    std::vector<bool> used(bank->samples.size(), false);
    std::int64_t total = 0;
    for (const Zone& z : bank->zones)
        if (!used[z.sample]) {
            used[z.sample] = true;
            total += bank->samples[z.sample].end - bank->samples[z.sample].start + 3;
        }
    bank->allocate(static_cast<std::size_t>(total));
    std::int64_t at = 0;
    for (std::size_t i = 0; i < bank->samples.size(); ++i) {
        if (!used[i]) continue;
        SampleInfo& si = bank->samples[i];
        const std::int64_t count = si.end - si.start + 1, shift = at + 1 - si.start;
        if (!read(smplAt + 2 * static_cast<std::uint64_t>(si.start), reinterpret_cast<std::uint8_t*>(bank->data + at + 1),
                  static_cast<std::uint64_t>(count) * 2))  // little-endian, as the file
            malformed(name, "its sample data cannot be read");
        si.start += shift, si.end += shift, si.loopStart += shift, si.loopEnd += shift;
        at += count + 2;
    }
    if (options.lockSamples) bank->locked = ::mlock(bank->data, bank->bytes()) == 0;  // best effort, as FluidSynth's
    return bank;
}

}  // namespace

std::shared_ptr<const SoundFontBank> loadSoundFontBank(std::span<const std::uint8_t> bytes, const std::string& name,
                                                       const SoundFontLoadOptions& options) {
    return loadFrom(readFromMemory(bytes), bytes.size(), name, options);
}

std::shared_ptr<const SoundFontBank> loadSoundFontBank(const std::string& path, const SoundFontLoadOptions& options) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("SoundFont {} cannot be opened", path));
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw std::runtime_error(fmt::format("SoundFont {} is not a regular file", path));
    }
    if (st.st_size < 12) {
        ::close(fd);
        throw std::runtime_error(fmt::format("SoundFont {} is malformed: it is too short to be a SoundFont", path));
    }
    // Read with pread, not through a mapping: a mapping's pages would count in the process's
    // memory beside the copies the bank keeps (a live session's peak rose 6 MB per load).
    struct Close {
        int fd;
        ~Close() { ::close(fd); }
    } closer{fd};
    return loadFrom(readFromFile(fd), static_cast<std::uint64_t>(st.st_size), path, options);
}

bool soundFontBankHas(const SoundFontBank& bank, SoundFontPresetId id) { return bank.find(id) != nullptr; }

// ---- voices ----------------------------------------------------------------------------------------

namespace {

enum Section { kDelay, kAttack, kHold, kDecay, kSustain, kRelease, kFinished };

/// FluidSynth's ADSR: each section a count of blocks and x = coeff * x + incr within [min, max].
struct Envelope {
    struct Segment {
        std::uint32_t count = 0;
        double coeff = 0, incr = 0, min = 0, max = 0;
    };
    std::array<Segment, 7> seg{};
    int section = kDelay;
    std::uint32_t count = 0;
    double val = 0;

    void set(int s, std::uint32_t n, double coeff, double incr, double lo, double hi) { seg[static_cast<std::size_t>(s)] = {n, coeff, incr, lo, hi}; }
    void calc() {
        const Segment* s = &seg[static_cast<std::size_t>(section)];
        while (count >= s->count) {
            if (section == kDecay) val = s->min * s->coeff;  // decay to sustain ends on its level
            s = &seg[static_cast<std::size_t>(++section)];
            count = 0;
        }
        const double x = s->coeff * val + s->incr;
        if (x < s->min) {
            val = s->min;
            ++section;
            count = 0;
        } else if (x > s->max) {
            val = s->max;
            ++section;
            count = 0;
        } else {
            val = x;
            ++count;
        }
    }
};

struct Lfo {
    double val = 0, incr = 0;
    std::uint32_t delay = 0;
    void calc(std::uint32_t ticks) {
        if (ticks < delay) return;
        val += incr;
        if (val > 1.0) {
            incr = -incr;
            val = 2.0 - val;
        } else if (val < -1.0) {
            incr = -incr;
            val = -2.0 - val;
        }
    }
};

/// The resonant low-pass (RBJ biquad, direct form 2), its coefficients ramped across a block
/// (FluidSynth's glide; each sample's coefficients worked out from the glide's start rather
/// than by adding the increment again and again, so the filter pass and the control agree on
/// them without stepping through the glide twice). Run by filterSpan.
struct LowPass {
    double fresCents = 13500, qLin = 0, gain = 1;
    double lastFres = -1;
    bool startup = true;
    double a1 = 0, a2 = 0, b02 = 0, b1 = 0;
    double a1i = 0, a2i = 0, b02i = 0, b1i = 0;
    double a1s = 0, a2s = 0, b02s = 0, b1s = 0;  // where the current glide started
    int rampLeft = 0;
    bool compensate = false;
    double h1 = 0, h2 = 0;

    void setQ(double qCb) {
        const double db = std::clamp(qCb / 10.0, 0.0, 96.0) - 3.01;
        qLin = std::pow(10.0, db / 20.0);
        gain = 1.0 / std::sqrt(qLin);
        lastFres = -1;
    }
    void calc(double outRate, double modCents) {
        double fres = ct2hzFilter(fresCents + modCents);
        fres = fres > 0.45 * outRate ? 0.45 * outRate : std::max(fres, 5.0);
        if (std::fabs(fres - lastFres) <= 0.01) return;
        lastFres = fres;
        const double omega = 2.0 * std::numbers::pi * (fres / outRate);
        const double sn = std::sin(omega), cs = std::cos(omega);
        const double alpha = sn / (2.0 * qLin);
        const double a0inv = 1.0 / (1.0 + alpha);
        const double na1 = -2.0 * cs * a0inv, na2 = (1.0 - alpha) * a0inv;
        const double nb1 = (1.0 - cs) * a0inv * gain, nb02 = nb1 * 0.5;
        compensate = false;
        if (startup) {
            a1 = na1, a2 = na2, b02 = nb02, b1 = nb1;
            rampLeft = 0;
            startup = false;
        } else {
            a1i = (na1 - a1) / kBlock, a2i = (na2 - a2) / kBlock, b02i = (nb02 - b02) / kBlock, b1i = (nb1 - b1) / kBlock;
            a1s = a1, a2s = a2, b02s = b02, b1s = b1;
            if (std::fabs(b02) > 0.0001) {
                const double quota = nb02 / b02;
                compensate = quota < 0.5 || quota > 2.0;
            }
            rampLeft = kBlock;
        }
    }
    /// The coefficients `step` samples into the current glide (its end once it is over):
    /// start + step * increment, by the same operations as the filter pass's (fma4).
    void glideTo(int step) {
        const auto j = static_cast<double>(step);
        a1 = mulAdd(j, a1i, a1s), a2 = mulAdd(j, a2i, a2s), b02 = mulAdd(j, b02i, b02s), b1 = mulAdd(j, b1i, b1s);
    }
};

/// One 4-point interpolation, its operations in a fixed order (the vector form gives the same
/// bits): c1 p0 first, then c0 p-1, c2 p1 and c3 p2 each by a fused multiply-add.
inline float interpolatePoint(const float* c, float pm1, float p0, float p1, float p2) {
    return mulAdd(c[3], p2, mulAdd(c[2], p1, mulAdd(c[0], pm1, c[1] * p0)));
}

/// The interpolation's loop inside the data, eight samples at a time while the eight samples'
/// points lie within sixteen consecutive ones (a voice up to about 1.57 times its sample's rate):
/// one load brings them all and each point is picked out of them by a lane permute; the
/// coefficients are worked out from the fractions by interpCoefficients' steps, the amplitude
/// ramp from the block position. The same bits as the scalar loop. Returns how many of the k
/// samples it made (a multiple of eight) and moves `phase` past them; `last` is the last index
/// it may read.
inline int interpolate8(const std::int16_t* d, std::uint64_t& phase, std::uint64_t incr, std::int64_t last, float ampBase, float ampIncr,
                        int at, float* out, int k) {
#if defined(__AVX512F__) && defined(__FMA__)
    using f8 = float __attribute__((vector_size(32)));
    using i8 = std::int32_t __attribute__((vector_size(32)));
    using u8 = std::uint32_t __attribute__((vector_size(32)));
    using f16 = float __attribute__((vector_size(64)));
    using i16 = std::int32_t __attribute__((vector_size(64)));
    using s16 = std::int16_t __attribute__((vector_size(32)));
    using u64x8 = std::uint64_t __attribute__((vector_size(64)));
    const auto fma8 = [](f8 a, f8 b, f8 c) {
        return std::bit_cast<f8>(_mm256_fmadd_ps(std::bit_cast<__m256>(a), std::bit_cast<__m256>(b), std::bit_cast<__m256>(c)));
    };
    // Lane i of the result: w's lane idx[i] (the masked form: GCC 12 warns at the plain one's
    // undefined source operand).
    const auto pick = [](f16 w, i16 idx) {
        const f16 all = std::bit_cast<f16>(_mm512_mask_permutexvar_ps(std::bit_cast<__m512>(w), 0xFFFF, std::bit_cast<__m512i>(idx), std::bit_cast<__m512>(w)));
        return __builtin_shufflevector(all, all, 0, 1, 2, 3, 4, 5, 6, 7);
    };
    if (k < 8 || incr > (11ull << 32) / 7) return 0;
    u64x8 ph = u64x8{0, 1, 2, 3, 4, 5, 6, 7} * incr + phase;
    const u64x8 step = u64x8{} + 8 * incr;
    const f8 splatIncr = f8{} + ampIncr, splatBase = f8{} + ampBase;
    int j = 0;
    for (; j + 8 <= k; j += 8) {
        const std::uint64_t idx0 = ph[0] >> 32;
        if (static_cast<std::int64_t>(idx0) + 14 > last) break;
        s16 raw;
        std::memcpy(&raw, d + idx0 - 1, sizeof raw);
        const f16 w = __builtin_convertvector(raw, f16);
        const i8 rel = __builtin_convertvector((ph >> 32) - idx0, i8);  // 0..11: where each sample's p-1 is in w
        const i16 r = __builtin_shufflevector(rel, rel, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
        const f8 pm1 = pick(w, r), p0 = pick(w, r + 1), p1 = pick(w, r + 2), p2 = pick(w, r + 3);
        const f8 x = __builtin_convertvector(__builtin_convertvector(ph, u8) >> 24, f8) * (1.0f / 256.0f);
        const f8 c0 = x * fma8(x, fma8(f8{} - 0.5f, x, f8{} + 1.0f), f8{} - 0.5f);
        const f8 c1 = fma8(x * x, fma8(f8{} + 1.5f, x, f8{} - 2.5f), f8{} + 1.0f);
        const f8 c2 = x * fma8(x, fma8(f8{} - 1.5f, x, f8{} + 2.0f), f8{} + 0.5f);
        const f8 c3 = 0.5f * x * x * (x - 1.0f);
        const f8 t = fma8(c3, p2, fma8(c2, p1, fma8(c0, pm1, c1 * p0)));
        const f8 pos = __builtin_convertvector(i8{0, 1, 2, 3, 4, 5, 6, 7} + (at + j), f8);
        const f8 y = fma8(pos, splatIncr, splatBase) * t;
        std::memcpy(out + j, &y, sizeof y);
        ph += step;
    }
    phase += static_cast<std::uint64_t>(j) * incr;
    return j;
#else
    (void)d, (void)phase, (void)incr, (void)last, (void)ampBase, (void)ampIncr, (void)at, (void)out, (void)k;
    return 0;
#endif
}

enum SampleMode { kUnlooped = 0, kLoopAlways = 1, kLoopUntilRelease = 3 };

struct Voice {
    bool on = false;
    bool released = false;  // a note-off has come (or is pending)
    int key = 0;
    int exclusiveClass = 0;
    std::uint64_t noteId = 0;
    const std::int16_t* data = nullptr;
    std::int64_t start = 0, end = 0, loopStart = 0, loopEnd = 0;
    int mode = kUnlooped;
    bool hasLooped = false;
    bool looping = false;
    std::uint64_t phase = 0, incr = 0;  // 32.32 fixed point, in samples
    double pitch = 0, rootHz = 1;
    double attenuation = 0, minAttenuation = 0;
    Envelope vol, mod;
    Lfo modLfo, vibLfo;
    std::uint32_t ticks = 0, noteOffTicks = 0;
    double modLfoToPitch = 0, vibLfoToPitch = 0, modEnvToPitch = 0, modLfoToFc = 0, modEnvToFc = 0, modLfoToVol = 0;
    LowPass filter;
    double amp = 0, ampIncr = 0;
    float ampBase = 0;  // the amplitude at the block's start: sample k of the block has ampBase + k ampIncr
    float gainL = 0, gainR = 0;
    // FluidSynth ramps a voice slot's output gains from their last values (0 for a slot never
    // used, the previous note's otherwise) across the new note's first block.
    float fromL = 0, fromR = 0;
    bool firstBlock = true;
    int blockLeft = 0;
    bool silent = false;
};

std::uint64_t toFixed(double x) {
    if (!(x > 0.0)) return 0;  // (NaN too)
    x = std::min(x, 65536.0);  // at most 2^16 samples a sample: a pitch 16 octaves up
    const auto whole = static_cast<std::uint64_t>(x);
    return whole << 32 | static_cast<std::uint32_t>((x - static_cast<double>(whole)) * 4294967296.0);
}

/// The hold or decay section's length in blocks (FluidSynth's calculate_hold_decay_buffers).
std::uint32_t holdDecayBlocks(double rate, double tc, bool decay) {
    tc = std::min(tc, decay ? 8000.0 : 5000.0);
    if (!decay && tc <= -32768.0) return 0;
    tc = std::max(tc, -12000.0);
    return static_cast<std::uint32_t>(static_cast<int>(rate * static_cast<double>(tc2sec(tc)) / kBlock + 0.5));
}
std::uint32_t blocksFor(double rate, double seconds) { return static_cast<std::uint32_t>(static_cast<double>(rate) * seconds / kBlock); }

void setRelease(Envelope& e, double rate, double tc, double max) {
    const std::uint32_t n = 1 + blocksFor(rate, tc2secClamped(std::clamp(tc, -12000.0, 8000.0), 8000.0));
    e.set(kRelease, n, 1.0, -1.0 / static_cast<double>(n), 0.0, max);
}

/// Puts a voice into its release (FluidSynth's fluid_rvoice_noteoff_LOCAL).
void release(Voice& v) {
    v.noteOffTicks = 0;
    if (v.vol.section == kAttack && v.vol.val > 0) {
        // The attack ramps amplitude linearly and the rest in decibels: carry the level across.
        const double lfo = v.modLfo.val * -v.modLfoToVol;
        const double amp = v.vol.val * cb2amp(lfo);
        const double env = -(((-200.0 / std::numbers::ln10_v<double>)*std::log(amp) - lfo) / 960.0 - 1.0);
        v.vol.val = std::clamp(env, 0.0, 1.0);
    }
    if (v.mod.section == kAttack && v.mod.val > 0) v.mod.val = std::clamp(convex(127 * v.mod.val), 0.0, 1.0);
    v.vol.section = kRelease;
    v.vol.count = 0;
    v.mod.section = kRelease;
    v.mod.count = 0;
}

enum class Tick { kPlay, kSilent, kFinished };

constexpr int kSub = 256;  // frames a render call is worked in at most (the offline graph's block)

/// A stretch of one voice's samples in a render call with one filter behaviour: the filter's
/// coefficients (a glide's start, its increments and the step the stretch starts at; a steady
/// filter's coefficients with no increments), and how the stretch is mixed (FluidSynth's pan
/// glide across a note's first block, or plain gains).
struct Piece {
    int at = 0, n = 0, from = 0;  // where in the call, how many samples, where in the voice's stream
    double a1 = 0, a2 = 0, b02 = 0, b1 = 0, a1i = 0, a2i = 0, b02i = 0, b1i = 0;
    int step = 0;
    bool compensate = false;  // the glide rescales the state as it goes (FluidSynth's compensation)
    bool flush = false;       // the stretch starts a block: the state's first term below 1e-20 is flushed to zero, as FluidSynth does once a block
    bool panGlide = false;
    int blockAt = 0;  // the piece's first sample's place in its block
    float fromL = 0, fromR = 0, il = 0, ir = 0, gl = 0, gr = 0;
};
constexpr int kMaxPieces = 2 * (kSub / kBlock + 2);  // a tick's stretch splits at most once (where a glide ends)

/// One voice's part of a render call: its interpolated samples back to back (silent blocks
/// left out), then filtered in place.
struct VoiceWork {
    Voice* voice = nullptr;
    int length = 0, pieces = 0;
    std::array<Piece, kMaxPieces> piece{};
    std::array<float, kSub> x{};
};

using v4d = double __attribute__((vector_size(32)));

inline v4d fma4(v4d a, v4d b, v4d c) {
#if defined(__FMA__)
    return std::bit_cast<v4d>(_mm256_fmadd_pd(std::bit_cast<__m256d>(a), std::bit_cast<__m256d>(b), std::bit_cast<__m256d>(c)));
#else
    return a * b + c;
#endif
}
inline v4d fnma4(v4d a, v4d b, v4d c) {  // c - a b, rounded once
#if defined(__FMA__)
    return std::bit_cast<v4d>(_mm256_fnmadd_pd(std::bit_cast<__m256d>(a), std::bit_cast<__m256d>(b), std::bit_cast<__m256d>(c)));
#else
    return c - a * b;
#endif
}

/// One lane's filter settings in filterSpan: a glide's start, its increments and its step
/// (a steady filter: its coefficients, no increments).
struct Lanes {
    v4d a1{}, a2{}, b02{}, b1{}, a1i{}, a2i{}, b02i{}, b1i{}, step{}, comp{};
};

/// The filters of up to four voices side by side, one voice a lane: each lane runs through its
/// own voice's stream and pieces (the lanes need not be at the same point of the call), so four
/// recursions overlap where one voice alone waits on its own. Per lane and sample: FluidSynth's
/// direct form 2 (c = in - a2 s2 - a1 s1, y = b02 (c + s2) + b1 s1), its coefficients at the
/// glide's step, and (Compensate) the state rescaled by how much b02 moved, as FluidSynth does
/// when a glide changes the gain more than twofold.
template <bool Compensate>
inline void filterSpan(float* const* p, int n, v4d& s1, v4d& s2, Lanes& k) {
    using f4 = float __attribute__((vector_size(16)));
    const v4d one = v4d{} + 1.0;
    const auto step = [&](v4d in) {
        const v4d a1 = fma4(k.step, k.a1i, k.a1), a2 = fma4(k.step, k.a2i, k.a2);
        const v4d b02 = fma4(k.step, k.b02i, k.b02), b1 = fma4(k.step, k.b1i, k.b1);
        const v4d c = fnma4(a1, s1, fnma4(a2, s2, in));
        const v4d y = fma4(b02, c + s2, b1 * s1);
        s2 = s1;
        s1 = c;
        k.step += one;
        if constexpr (Compensate) {
            const v4d next = fma4(k.step, k.b02i, k.b02);
            const v4d size = next < 0 ? -next : next;
            const v4d scale = ((k.comp != 0) & (size > 0.001)) ? b02 / next : one;
            s1 *= scale;
            s2 *= scale;
        }
        return __builtin_convertvector(y, f4);
    };
    // Four samples of each lane's stream at a time, turned into four samples' vectors of the
    // lanes (a 4x4 transpose) and back: whole loads and stores instead of one per lane and sample.
    const auto transpose = [](f4& a, f4& b, f4& c, f4& d) {
        const f4 t0 = __builtin_shufflevector(a, b, 0, 4, 1, 5), t1 = __builtin_shufflevector(a, b, 2, 6, 3, 7);
        const f4 t2 = __builtin_shufflevector(c, d, 0, 4, 1, 5), t3 = __builtin_shufflevector(c, d, 2, 6, 3, 7);
        a = __builtin_shufflevector(t0, t2, 0, 1, 4, 5), b = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
        c = __builtin_shufflevector(t1, t3, 0, 1, 4, 5), d = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
    };
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        f4 r[4];
        for (int l = 0; l < 4; ++l) std::memcpy(&r[l], p[l] + i, sizeof r[l]);
        transpose(r[0], r[1], r[2], r[3]);
        for (int q = 0; q < 4; ++q) r[q] = step(__builtin_convertvector(r[q], v4d));
        transpose(r[0], r[1], r[2], r[3]);
        for (int l = 0; l < 4; ++l) std::memcpy(p[l] + i, &r[l], sizeof r[l]);
    }
    for (; i < n; ++i) {
        const f4 y = step(v4d{p[0][i], p[1][i], p[2][i], p[3][i]});
        for (int l = 0; l < 4; ++l) p[l][i] = y[l];
    }
}

}  // namespace

struct SoundFontPlayer::Impl {
    std::shared_ptr<const SoundFontBank> bank;
    const PresetZones* preset = nullptr;
    double rate = 44100;
    std::uint32_t minNoteTicks = 441;
    std::uint64_t nextNoteId = 1;
    std::array<Voice, kMaxVoices> voices{};

    Voice* allocate() {
        for (Voice& v : voices)
            if (!v.on) return &v;
        // All busy: take the quietest released voice, else the oldest (FluidSynth kills one too).
        Voice* best = nullptr;
        for (Voice& v : voices)
            if (v.released && (!best || v.amp < best->amp)) best = &v;
        if (!best)
            for (Voice& v : voices)
                if (!best || v.noteId < best->noteId) best = &v;
        best->on = false;
        return best;
    }

    void noteOffVoice(Voice& v) {
        v.released = true;
        if (minNoteTicks > v.ticks) {
            v.noteOffTicks = minNoteTicks;  // played too briefly: released at the minimum length
            return;
        }
        release(v);
        v.blockLeft = 0;  // the release starts on this sample
    }

    void start(const Zone& z, int key, int vel, std::uint64_t id) {
        const SampleInfo& s = bank->samples[z.sample];
        std::array<double, kGenCount> g = z.gen;
        // Actual key and velocity: the zone's fixed ones where it sets them.
        const int akey = g[kKeyNum] >= 0 ? static_cast<int>(std::min(g[kKeyNum], 127.0)) : key;
        const int avel = g[kVelocity] > 0 ? static_cast<int>(std::min(g[kVelocity], 127.0)) : vel;
        std::array<double, kGenCount> m{};
        double attReduction = 0;
        for (std::uint32_t i = z.modBegin; i < z.modEnd; ++i) {
            const Mod& mod = bank->mods[i];
            const double value = modValue(mod, akey, avel);
            m[static_cast<std::size_t>(mod.dest)] += value;
            if (canChange(mod) && value > minContribution(mod)) attReduction += value - minContribution(mod);
        }
        const auto at = [&](int i) { return g[static_cast<std::size_t>(i)] + m[static_cast<std::size_t>(i)]; };
        const int exclusive = static_cast<int>(std::clamp(g[kExclusiveClass], -32768.0, 32767.0));
        if (exclusive != 0) killExclusive(exclusive, id);

        Voice& v = *allocate();
        const float lastL = v.gainL, lastR = v.gainR;
        v = Voice{};
        v.fromL = lastL;
        v.fromR = lastR;
        v.on = true;
        v.key = key;
        v.exclusiveClass = exclusive;
        v.noteId = id;
        v.data = bank->data;
        // Pitch: the key's nominal pitch from the root (8.1.3 #56, #58), then the tuning.
        const double rootPitch = (g[kRootKey] > -1 ? g[kRootKey] : static_cast<double>(s.rootKey)) * 100.0 - static_cast<double>(s.correction);
        const double nominal = g[kScaleTuning] * (static_cast<double>(akey) - rootPitch / 100.0) + rootPitch;
        v.pitch = static_cast<double>(nominal + m[kPitch]) + 100.0 * static_cast<double>(at(kCoarseTune)) + static_cast<double>(at(kFineTune));
        v.rootHz = ct2hzReal(rootPitch) * (static_cast<double>(rate) / static_cast<double>(s.rate));
        v.attenuation = std::clamp(at(kAttenuation), 0.0, 1440.0);
        v.minAttenuation = std::max(v.attenuation - attReduction, 0.0);
        const double pan = at(kPan);
        // FluidSynth reads 16-bit samples as 24-bit (shifted up 8) and scales by 1/(2^23 - 1).
        constexpr double kSampleScale = 256.0 / 8388608.0;  // its INT24_MAX is 2^23
        v.gainL = panGain(pan, true) * kSynthGain * kSampleScale;
        v.gainR = panGain(pan, false) * kSynthGain * kSampleScale;
        v.filter.fresCents = at(kFilterFc);
        v.filter.setQ(at(kFilterQ));
        v.modLfoToPitch = std::clamp(at(kModLfoToPitch), -12000.0, 12000.0);
        v.vibLfoToPitch = std::clamp(at(kVibLfoToPitch), -12000.0, 12000.0);
        v.modEnvToPitch = std::clamp(at(kModEnvToPitch), -12000.0, 12000.0);
        v.modLfoToFc = std::clamp(at(kModLfoToFc), -12000.0, 12000.0);
        v.modEnvToFc = std::clamp(at(kModEnvToFc), -12000.0, 12000.0);
        v.modLfoToVol = std::clamp(at(kModLfoToVol), -960.0, 960.0);
        v.modLfo.delay = static_cast<std::uint32_t>(rate * static_cast<double>(tc2secClamped(std::clamp(at(kModLfoDelay), -12000.0, 5000.0), 5000.0)));
        v.modLfo.incr = static_cast<double>(4.0 * kBlock * ct2hzReal(std::clamp(at(kModLfoFreq), -16000.0, 4500.0)) / rate);
        v.vibLfo.delay = static_cast<std::uint32_t>(rate * static_cast<double>(tc2secClamped(std::clamp(at(kVibLfoDelay), -12000.0, 5000.0), 5000.0)));
        v.vibLfo.incr = static_cast<double>(4.0 * kBlock * ct2hzReal(std::clamp(at(kVibLfoFreq), -16000.0, 4500.0)) / rate);
        // Envelopes (8.1.3 #25-#40); hold and decay scale with the key (60 is neutral).
        const double keySteps = 60.0 - static_cast<double>(akey);
        const auto envelope = [&](Envelope& e, int delay, int attack, int hold, int keyHold, int decay, int keyDecay, int sustain, int rel,
                                  double releaseMax) {
            e.set(kDelay, blocksFor(rate, tc2secClamped(std::clamp(at(delay), -12000.0, 5000.0), 5000.0)), 0.0, 0.0, -1.0, 1.0);
            const std::uint32_t a = 1 + blocksFor(rate, tc2secClamped(std::clamp(at(attack), -12000.0, 8000.0), 8000.0));
            e.set(kAttack, a, 1.0, 1.0 / static_cast<double>(a), -1.0, 1.0);
            e.set(kHold, holdDecayBlocks(rate, at(hold) + at(keyHold) * keySteps, false), 1.0, 0.0, -1.0, 2.0);
            const double level = std::clamp(1.0 - 0.001 * at(sustain), 0.0, 1.0);
            const std::uint32_t d = holdDecayBlocks(rate, at(decay) + at(keyDecay) * keySteps, true);
            e.set(kDecay, d, 1.0, d ? -1.0 / static_cast<double>(d) : 0.0, level, 2.0);
            e.set(kSustain, 0xffffffffu, 1.0, 0.0, -1.0, 2.0);
            setRelease(e, rate, std::max(at(rel), rel == kVolEnvRelease ? -7200.0 : -12000.0), releaseMax);
            e.set(kFinished, 0xffffffffu, 0.0, 0.0, -1.0, 1.0);
        };
        envelope(v.vol, kVolEnvDelay, kVolEnvAttack, kVolEnvHold, kKeyToVolEnvHold, kVolEnvDecay, kKeyToVolEnvDecay, kVolEnvSustain,
                 kVolEnvRelease, 1.0);
        envelope(v.mod, kModEnvDelay, kModEnvAttack, kModEnvHold, kKeyToModEnvHold, kModEnvDecay, kKeyToModEnvDecay, kModEnvSustain,
                 kModEnvRelease, 2.0);
        // Where the sample plays (8.1.3 #0-#4, #12, #45, #50), kept inside the sample.
        const auto whole = [&](int g) {  // a sum of generators and modulators, bounded before it becomes an integer
            return static_cast<std::int64_t>(std::clamp(at(g), -kMaxGenValue, kMaxGenValue));
        };
        const auto offset = [&](int fine, int coarse) { return whole(fine) + 32768 * whole(coarse); };
        v.start = s.start + offset(kStartOfs, kStartCoarse);
        v.end = s.end + offset(kEndOfs, kEndCoarse);
        v.loopStart = s.loopStart + offset(kLoopStartOfs, kLoopStartCoarse);
        v.loopEnd = s.loopEnd + offset(kLoopEndOfs, kLoopEndCoarse);
        v.mode = g[kSampleModes] == 1 ? kLoopAlways : g[kSampleModes] == 3 ? kLoopUntilRelease : kUnlooped;  // as FluidSynth compares
        const std::int64_t lo = s.start, hi = s.end;
        v.start = std::clamp(v.start, lo, hi);
        v.end = std::clamp(v.end, lo, hi);
        if (v.start > v.end) std::swap(v.start, v.end);
        if (v.start == v.end) {
            v.on = false;
            return;
        }
        if (v.mode != kUnlooped) {
            v.loopStart = std::clamp(v.loopStart, lo, hi + 1);
            v.loopEnd = std::clamp(v.loopEnd, lo, hi + 1);
            if (v.loopStart > v.loopEnd) std::swap(v.loopStart, v.loopEnd);
            if (v.loopEnd < v.loopStart + 2 || hi + 1 - lo < 2) v.mode = kUnlooped;
        }
        v.phase = static_cast<std::uint64_t>(v.start) << 32;
        if (v.mode != kUnlooped && v.start >= v.loopEnd) v.phase = static_cast<std::uint64_t>(v.loopStart) << 32;
        v.blockLeft = 0;
    }

    void killExclusive(int cls, std::uint64_t id) {
        for (Voice& v : voices) {
            if (!v.on || v.exclusiveClass != cls || v.noteId == id) continue;
            v.exclusiveClass = 0;
            setRelease(v.vol, rate, -200.0, 1.0);
            setRelease(v.mod, rate, -200.0, 2.0);
            noteOffVoice(v);
        }
    }

    Tick tick(Voice& v) {
        if (v.noteOffTicks != 0 && v.ticks >= v.noteOffTicks) release(v);
        const std::uint32_t t0 = v.ticks;
        v.ticks += kBlock;
        v.vol.calc();
        if (v.vol.section == kFinished) return Tick::kFinished;
        v.mod.calc();
        v.modLfo.calc(t0);
        v.vibLfo.calc(t0);
        if (v.vol.section == kDelay) return Tick::kSilent;
        const double lfoVol = v.modLfo.val * -v.modLfoToVol;
        double target = 0;
        if (v.vol.section == kAttack) {
            target = cb2amp(v.attenuation) * cb2amp(lfoVol) * v.vol.val;
        } else {
            target = cb2amp(v.attenuation) * cb2amp(960.0 * (1.0 - v.vol.val) + lfoVol);
            if (cb2amp(v.minAttenuation) * v.vol.val < kNoiseFloor / kSynthGain) return Tick::kFinished;
        }
        v.ampIncr = (target - v.amp) / kBlock;
        if (v.amp == 0.0 && v.ampIncr == 0.0) return Tick::kSilent;
        v.ampBase = static_cast<float>(v.amp);
        const double modEnv = v.mod.section == kAttack ? convex(127 * v.mod.val) : v.mod.val;
        const double cents = v.pitch + static_cast<double>(v.modLfo.val * v.modLfoToPitch) + static_cast<double>(v.vibLfo.val * v.vibLfoToPitch) +
                             static_cast<double>(modEnv * v.modEnvToPitch);
        v.incr = toFixed(ct2hzReal(cents) / v.rootHz);
        if (v.incr == 0) v.incr = 1;
        v.looping = v.mode == kLoopAlways || (v.mode == kLoopUntilRelease && v.vol.section < kRelease);
        v.filter.calc(rate, v.modLfo.val * v.modLfoToFc + modEnv * v.modEnvToFc);
        return Tick::kPlay;
    }

    /// 4-point interpolation (FluidSynth's "4th order"), the amplitude ramped; the points off
    /// either end are the loop's far end when looping, else the end sample repeated. Returns
    /// how many samples it made: fewer than `n` when an unlooped sample ran out.
    /// `at`: where in its block the first sample is (the amplitude ramp's step).
    int interpolate(Voice& v, float* out, int n, int at) {
        const std::int16_t* d = v.data;
        const auto& table = tables().interp;
        const std::int64_t endIndex = v.looping ? v.loopEnd - 1 : v.end;
        // The first point's left neighbour: itself at the start, the loop's last point once looped.
        std::int64_t first = v.hasLooped ? v.loopStart : v.start;
        float firstLeft = v.hasLooped ? d[v.loopEnd - 1] : d[v.start];
        const float end1 = v.looping ? d[v.loopStart] : d[v.end];
        const float end2 = v.looping ? d[v.loopStart + 1] : end1;
        const std::uint64_t loopLength = static_cast<std::uint64_t>(v.loopEnd - v.loopStart) << 32;
        std::uint64_t phase = v.phase;
        const std::uint64_t incr = v.incr;
        const float ampBase = v.ampBase, ampIncr = static_cast<float>(v.ampIncr);
        const auto ampAt = [&](int k) { return mulAdd(static_cast<float>(at + k), ampIncr, ampBase); };
        int i = 0;
        while (i < n) {
            const auto idx = static_cast<std::int64_t>(phase >> 32);
            if (idx > endIndex) {
                if (!v.looping) break;
                // Back into the loop by whole loop lengths, at once however far past its end.
                const std::uint64_t loopStartPhase = static_cast<std::uint64_t>(v.loopStart) << 32;
                phase = loopStartPhase + (phase - loopStartPhase) % loopLength;
                if (!v.hasLooped) {
                    v.hasLooped = true;
                    first = v.loopStart;
                    firstLeft = d[v.loopEnd - 1];
                }
                continue;
            }
            if (idx > first && idx + 2 <= endIndex) {
                // Every point inside the data until the phase reaches endIndex - 1: no checks.
                const std::uint64_t limit = static_cast<std::uint64_t>(endIndex - 1) << 32;
                const std::uint64_t room = (limit - 1 - phase) / incr + 1;
                const int k = static_cast<int>(std::min<std::uint64_t>(room, static_cast<std::uint64_t>(n - i)));
                for (int j = interpolate8(d, phase, incr, endIndex, ampBase, ampIncr, at + i, out + i, k); j < k; ++j) {
                    const std::int16_t* p = d + (phase >> 32);
                    const float* c = table[static_cast<std::uint32_t>(phase) >> 24].data();
                    out[i + j] = ampAt(i + j) * interpolatePoint(c, p[-1], p[0], p[1], p[2]);
                    phase += incr;
                }
                i += k;
                continue;
            }
            const float* c = table[static_cast<std::uint32_t>(phase) >> 24].data();
            const float p0 = idx == first ? firstLeft : d[idx - 1];
            const float p1 = d[idx];
            const float p2 = idx + 1 <= endIndex ? d[idx + 1] : end1;
            const float p3 = idx + 2 <= endIndex ? d[idx + 2] : (idx + 1 <= endIndex ? end1 : end2);
            out[i] = ampAt(i) * interpolatePoint(c, p0, p1, p2, p3);
            ++i;
            phase += incr;
        }
        v.phase = phase;
        v.amp = ampAt(i);
        return i;
    }

    /// Pass 1 for one voice: its control (ticks, envelopes, loop) and its interpolated,
    /// amplitude-ramped samples into w.x, its pieces recorded. Where a piece ends inside a
    /// coefficient glide, the coefficients are set to where the filter pass leaves them, so the
    /// next tick's calc() starts from there.
    void prepareVoice(Voice& v, int frames, VoiceWork& w) {
        w.voice = &v;
        w.length = 0;
        w.pieces = 0;
        int done = 0;
        while (done < frames) {
            if (v.blockLeft == 0) {
                const Tick t = tick(v);
                if (t == Tick::kFinished) {
                    v.on = false;
                    return;
                }
                v.blockLeft = kBlock;
                v.silent = t == Tick::kSilent;
            }
            const int n = std::min(v.blockLeft, frames - done);
            if (!v.silent) {
                const int got = interpolate(v, w.x.data() + w.length, n, kBlock - v.blockLeft);
                const float gl = v.gainL, gr = v.gainR;
                const bool panGlide = v.firstBlock && (v.fromL != gl || v.fromR != gr);
                LowPass& f = v.filter;
                for (int off = 0; off < got;) {
                    Piece& p = w.piece[static_cast<std::size_t>(w.pieces++)];
                    const bool glide = f.rampLeft > 0;
                    const int m = glide ? std::min(got - off, f.rampLeft) : got - off;
                    p.at = done + off;
                    p.n = m;
                    p.from = w.length + off;
                    if (glide) {
                        p.a1 = f.a1s, p.a2 = f.a2s, p.b02 = f.b02s, p.b1 = f.b1s;
                        p.a1i = f.a1i, p.a2i = f.a2i, p.b02i = f.b02i, p.b1i = f.b1i;
                        p.step = kBlock - f.rampLeft;
                    } else {
                        p.a1 = f.a1, p.a2 = f.a2, p.b02 = f.b02, p.b1 = f.b1;
                        p.a1i = p.a2i = p.b02i = p.b1i = 0.0;
                        p.step = 0;
                    }
                    p.compensate = glide && f.compensate;
                    p.panGlide = panGlide;
                    p.blockAt = kBlock - v.blockLeft + off;
                    p.flush = p.blockAt == 0;
                    p.fromL = v.fromL, p.fromR = v.fromR;
                    p.il = (gl - v.fromL) / kBlock, p.ir = (gr - v.fromR) / kBlock;
                    p.gl = gl, p.gr = gr;
                    if (glide) {
                        f.rampLeft -= m;
                        f.glideTo(kBlock - f.rampLeft);
                    }
                    off += m;
                }
                w.length += got;
                if (got < n) {
                    v.on = false;
                    return;
                }
            }
            v.blockLeft -= n;
            done += n;
            if (v.blockLeft == 0) v.firstBlock = false;
        }
    }

    /// Pass 2: every prepared voice's filter, four voices at a time (filterSpan).
    void filterVoices(int count) {
        for (int g = 0; g < count; g += 4) {
            VoiceWork* lane[4] = {};
            int piece[4] = {}, pos[4] = {}, end[4] = {};
            v4d s1{}, s2{};
            Lanes k;
            for (int l = 0; l < 4 && g + l < count; ++l) {
                lane[l] = &work[static_cast<std::size_t>(g + l)];
                s1[l] = lane[l]->voice->filter.h1;
                s2[l] = lane[l]->voice->filter.h2;
                piece[l] = -1;
            }
            for (;;) {
                float* p[4];
                int span = kSub;
                bool any = false, compensating = false;
                for (int l = 0; l < 4; ++l) {
                    VoiceWork* w = lane[l];
                    if (w && pos[l] == end[l] && piece[l] + 1 < w->pieces) {  // the lane's next piece
                        const Piece& q = w->piece[static_cast<std::size_t>(++piece[l])];
                        pos[l] = q.from;
                        end[l] = q.from + q.n;
                        k.a1[l] = q.a1, k.a2[l] = q.a2, k.b02[l] = q.b02, k.b1[l] = q.b1;
                        k.a1i[l] = q.a1i, k.a2i[l] = q.a2i, k.b02i[l] = q.b02i, k.b1i[l] = q.b1i;
                        k.step[l] = q.step;
                        k.comp[l] = q.compensate ? 1.0 : 0.0;
                        if (q.flush && std::fabs(s1[l]) < 1e-20) s1[l] = 0.0;
                    }
                    if (w && pos[l] < end[l]) {
                        p[l] = w->x.data() + pos[l];
                        span = std::min(span, end[l] - pos[l]);
                        compensating = compensating || k.comp[l] != 0.0;
                        any = true;
                    } else {
                        if (w) {  // finished: its state back to its voice, the lane zeroed
                            w->voice->filter.h1 = s1[l];
                            w->voice->filter.h2 = s2[l];
                            lane[l] = nullptr;
                            s1[l] = s2[l] = 0.0;
                            k.a1[l] = k.a2[l] = k.b02[l] = k.b1[l] = k.a1i[l] = k.a2i[l] = k.b02i[l] = k.b1i[l] = k.comp[l] = 0.0;
                        }
                        // An idle lane runs on a row of zeros: with no coefficients it writes zeros back.
                        p[l] = idle.data();
                    }
                }
                if (!any) break;
                if (compensating) filterSpan<true>(p, span, s1, s2, k);
                else filterSpan<false>(p, span, s1, s2, k);
                for (int l = 0; l < 4; ++l)
                    if (lane[l]) pos[l] += span;
            }
        }
    }
    /// Pass 3: one voice's filtered samples into the mix, piece by piece.
    static void mixVoice(const VoiceWork& w, float* left, float* right) {
        for (int k = 0; k < w.pieces; ++k) {
            const Piece& p = w.piece[static_cast<std::size_t>(k)];
            if (p.panGlide) mixGlide(w.x.data() + p.from, left + p.at, right + p.at, p);
            else mixPlain(w.x.data() + p.from, left + p.at, right + p.at, p.n, p.gl, p.gr);
        }
    }
    // The output channels and a voice's samples never overlap: said, so the loops are vectorised.
    static void mixGlide(const float* __restrict buf, float* __restrict l, float* __restrict r, const Piece& p) {
        const float fromL = p.fromL, fromR = p.fromR, il = p.il, ir = p.ir;
        const int n = p.n, at = p.blockAt;
        for (int i = 0; i < n; ++i) {
            l[i] += buf[i] * (fromL + il * static_cast<float>(at + i));
            r[i] += buf[i] * (fromR + ir * static_cast<float>(at + i));
        }
    }
    static void mixPlain(const float* __restrict buf, float* __restrict l, float* __restrict r, int n, float gl, float gr) {
        for (int i = 0; i < n; ++i) {
            l[i] += buf[i] * gl;
            r[i] += buf[i] * gr;
        }
    }

    void renderVoices(float* left, float* right, int frames) {
        int count = 0;
        for (Voice& v : voices) {
            if (!v.on) continue;
            VoiceWork& w = work[static_cast<std::size_t>(count)];
            prepareVoice(v, frames, w);
            if (w.length > 0) ++count;
        }
        filterVoices(count);
        for (int i = 0; i < count; ++i) mixVoice(work[static_cast<std::size_t>(i)], left, right);
    }

    std::array<VoiceWork, kMaxVoices> work{};
    std::array<float, kSub> idle{};
};

SoundFontPlayer::SoundFontPlayer() : impl_(std::make_unique<Impl>()) {}
SoundFontPlayer::~SoundFontPlayer() = default;

void SoundFontPlayer::prepare(std::shared_ptr<const SoundFontBank> bank, double sampleRate) {
    (void)tables();  // built here, not on the audio thread
    impl_->bank = std::move(bank);
    // As a reset channel: on 0:0 when the font has it (selectPreset then picks the program).
    impl_->preset = !impl_->bank || impl_->bank->presets.empty() ? nullptr
                    : impl_->bank->find({0, 0})                  ? impl_->bank->find({0, 0})
                                                                 : &impl_->bank->presets.front();
    impl_->rate = static_cast<double>(sampleRate);
    impl_->minNoteTicks = static_cast<std::uint32_t>(kMinNoteSeconds * sampleRate);
    for (Voice& v : impl_->voices) v.on = false;
}

bool SoundFontPlayer::selectPreset(SoundFontPresetId id) {
    if (!impl_->bank) return false;
    const PresetZones* p = impl_->bank->find(id);
    if (!p) return false;
    impl_->preset = p;
    return true;
}

void SoundFontPlayer::noteOn(int key, int velocity) {
    Impl& m = *impl_;
    if (velocity <= 0) {
        noteOff(key);
        return;
    }
    if (!m.preset || key < 0 || key > 127) return;
    velocity = std::min(velocity, 127);
    for (Voice& v : m.voices)
        if (v.on && !v.released && v.key == key) m.noteOffVoice(v);  // the same note again: the old one lets go
    const std::uint64_t id = m.nextNoteId++;
    for (std::uint32_t z = m.preset->zoneBegin; z < m.preset->zoneEnd; ++z) {
        const Zone& zone = m.bank->zones[z];
        if (key >= zone.keyLo && key <= zone.keyHi && velocity >= zone.velLo && velocity <= zone.velHi) m.start(zone, key, velocity, id);
    }
}

void SoundFontPlayer::noteOff(int key) {
    for (Voice& v : impl_->voices)
        if (v.on && !v.released && v.key == key) impl_->noteOffVoice(v);
}

void SoundFontPlayer::allNotesOff() {
    for (Voice& v : impl_->voices)
        if (v.on && !v.released) impl_->noteOffVoice(v);
}

void SoundFontPlayer::render(float* left, float* right, int frames) {
    std::fill(left, left + frames, 0.0f);
    std::fill(right, right + frames, 0.0f);
    for (int done = 0; done < frames; done += kSub) impl_->renderVoices(left + done, right + done, std::min(kSub, frames - done));
}

int SoundFontPlayer::activeVoices() const {
    return static_cast<int>(std::count_if(impl_->voices.begin(), impl_->voices.end(), [](const Voice& v) { return v.on; }));
}

}  // namespace soundstar::engine

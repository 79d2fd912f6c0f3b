#pragma once
// The few dials the built-in sketch composer plays from, derived from a MusicConfig. (Prompts
// become MusicConfigs in src/interpret.)
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "music/MusicConfig.h"
#include "music/Score.h"
#include "music/Theory.h"

namespace soundstar::compose {

struct SketchConfig {
    double bpm = 96.0;             // 40..220
    int root = 9;                  // pitch class 0..11
    music::Mode mode = music::Mode::Minor;
    float brightness = 0.5f;       // 0 dark .. 1 bright
    float space = 0.5f;            // 0 dry .. 1 vast (reverb size and send)
    float echo = 0.25f;            // 0 none .. 1 infinite (delay sends and feedback)
    std::uint64_t seed = 1;
    std::string rhythmStyle = "kit_medium";  // one of MusicConfig's rhythm styles
    std::string bassStyle = "pulsing";       // one of MusicConfig's bass styles
    float swing = 0.0f;                      // 0 straight .. 1 full triplet swing of the 16ths
    float human = 0.5f;                      // 0 robotic .. 1 drunk (timing and velocity spread)
    std::string padStyle = "warm_slow";      // one of MusicConfig's pad styles
    std::string melodyStyle = "contemplative";
    std::string accentStyle = "arp_accent";
    std::string textureStyle = "none";       // one of MusicConfig's texture styles
    std::string harmonyStyle = "auto", chordExtensions = "triads";
    int chordChangeBars = 1;
    float cadenceStrength = 0.5f;
    float stereo = 0.5f, attack = 0.5f, grain = 0.5f;  // 0..1 along their label scales
    std::string motion = "medium";                      // static .. chaotic: modulation on pad and keys
    bool depth = true;                                  // double the bass an octave down
    std::string groove;                                 // a profile's drum groove ("" = the rhythm style's)
    std::map<std::string, std::string> presets;         // a profile's instrument per layer
    std::map<std::string, std::vector<music::TrackEffect>> effects;  // a profile's extra effects per layer  // one of MusicConfig's accent styles ("none": no accent layer)
    int phraseLenBars = 4, registerMinOct = 4, registerMaxOct = 6;
    float melodyDensity = 0.5f, motifRepeatProb = 0.5f, stepBias = 0.7f, chromaticProb = 0.05f, syncopation = 0.2f;
    std::string melodyEngine = "pattern";
};

/// How the composer hears a MusicConfig. (Density, rhythm "none" and section energy are the
/// arranger's business: they arrive through the Arrangement.)
SketchConfig sketchFromMusicConfig(const music::MusicConfig& c);

/// Fills the fields a mood word implies (melancholic, happy, tense, calm, energetic, romantic,
/// mysterious, epic, dreamy, ...) wherever the config still has its default; unknown moods change
/// nothing; fields in `keep` (the prompt's own, see compose::mayFill) stay, and a tempo label never
/// contradicts a bpm already set. Returns what it did, for --explain.
std::string applyMood(music::MusicConfig& c, const std::set<std::string>& keep = {});

/// Instruments named in `instrumentation` (piano, strings, guitar, 808, drums, synth, bells,
/// choir, organ, ...) as presets per layer; unknown names are skipped.
std::map<std::string, std::string> instrumentationPresets(const music::MusicConfig& c);


}  // namespace soundstar::compose

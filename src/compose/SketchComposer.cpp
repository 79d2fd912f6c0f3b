#include "compose/SketchComposer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>

#include "compose/Arranger.h"
#include "core/Rng.h"

namespace soundstar::compose {
namespace {
using music::Mode;
using music::NoteEvent;
using music::ScoreTrack;

struct Section {
    int startBar, bars;
    float energy;           // 0..1
    unsigned layers;        // bit mask of layers playing
};
enum Layer : unsigned { kDrums = 1, kBass = 2, kPad = 4, kKeys = 8, kArp = 16, kLead = 32, kTexture = 64 };

std::vector<int> progressionFor(Mode m, Rng& rng);

/// Progressions (scale degrees of the current mode, so always in key) per harmony style.
std::vector<int> progressionForStyle(const std::string& style, Mode m, Rng& rng) {
    if (style == "pop") return rng.chance(0.5f) ? std::vector<int>{0, 4, 5, 3} : std::vector<int>{0, 5, 3, 4};
    if (style == "jazz") return rng.chance(0.5f) ? std::vector<int>{1, 4, 0, 0} : std::vector<int>{0, 5, 1, 4};
    if (style == "modal") return {0, 6, 0, 6};
    if (style == "ambient") return {0, 0, 3, 3};
    if (style == "cinematic") return {0, 5, 2, 6};
    if (style == "blues") return {0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4};
    return progressionFor(m, rng);  // auto: by mode
}

std::vector<int> progressionFor(Mode m, Rng& rng) {
    static const std::vector<std::vector<int>> kMajor{{0, 4, 5, 3}, {0, 5, 3, 4}, {0, 3, 5, 4}, {0, 3, 0, 4}};
    // Minor progressions return to i every other bar: without the tonic weight, minor pieces read
    // as their relative major.
    static const std::vector<std::vector<int>> kMinor{{0, 3, 0, 4}, {0, 5, 0, 6}, {0, 0, 3, 4}, {0, 6, 0, 4}};
    static const std::vector<std::vector<int>> kDorian{{0, 3, 0, 6}, {0, 1, 3, 0}};
    static const std::vector<std::vector<int>> kMixo{{0, 6, 3, 0}, {0, 3, 6, 0}};
    static const std::vector<std::vector<int>> kPenta{{0, 3, 0, 2}, {0, 1, 3, 0}};  // five-note scales
    const auto* set = &kMajor;
    switch (m) {
        case Mode::Minor:
        case Mode::Phrygian:
        case Mode::HarmonicMinor: set = &kMinor; break;
        case Mode::Dorian: set = &kDorian; break;
        case Mode::Mixolydian: set = &kMixo; break;
        case Mode::MajorPentatonic:
        case Mode::MinorPentatonic: set = &kPenta; break;
        default: break;
    }
    return (*set)[static_cast<std::size_t>(rng.range(0, static_cast<int>(set->size()) - 1))];
}

/// Moves each chord tone by octaves to sit closest to the previous voicing (smooth pads).
std::vector<int> voiceLead(std::vector<int> chord, const std::vector<int>& prev, int centre) {
    for (auto& n : chord) {
        const int target = prev.empty() ? centre : prev[std::min(prev.size() - 1, static_cast<std::size_t>(&n - chord.data()))];
        while (n < target - 6) n += 12;
        while (n > target + 6) n -= 12;
    }
    std::sort(chord.begin(), chord.end());
    // Keep the voicing near its centre so it cannot drift up or down over many bars.
    int sum = 0;
    for (int n : chord) sum += n;
    const int mean = sum / static_cast<int>(chord.size());
    const int shift = mean > centre + 7 ? -12 : (mean < centre - 7 ? 12 : 0);
    for (auto& n : chord) n += shift;
    return chord;
}

float human(Rng& rng, float amount) { return rng.bipolar() * amount; }

/// A drum style: per General MIDI drum note, 16 steps of one bar ('X' accent, 'x' hit, 'o' ghost).
struct DrumStyle {
    std::vector<std::pair<int, std::string>> lanes;
    bool fills = false, hatsOnly = false;
};

const DrumStyle& drumStyle(const std::string& name) {
    static const std::map<std::string, DrumStyle> kStyles{
        {"none", {{}, false, false}},
        {"minimal", {{{36, "x..............."}, {37, "........o......."}}, false, false}},
        {"heartbeat", {{{36, "X..o....X..o...."}}, false, false}},
        {"soft_four", {{{36, "o...o...o...o..."}, {42, "..o...o...o...o."}}, false, false}},
        {"hats_only", {{{42, "x...x...x...x..."}, {46, "..o...o...o...o."}, {44, ".o...o...o...o.."}}, false, true}},
        {"electronic", {{{36, "X...X...X...X..."}, {39, "....x.......x..."}, {42, "xoxoxoxoxoxoxoxo"}, {46, "..x...x...x...x."}}, true, false}},
        {"kit_light", {{{36, "x.......x......."}, {37, "....x.......x..."}, {42, "x...x...x...x..."}}, false, false}},
        {"kit_medium", {{{36, "x.........x....."}, {38, "....X.......X..."}, {42, "x.x.x.x.x.x.x.x."}}, true, false}},
        {"military", {{{36, "x.......x......."}, {38, "X.oox.ooX.oox.oo"}}, true, false}},
        {"tabla_essence", {{{41, "X..x..x...X.x..."}, {48, "..x.x..xx...x.xx"}, {37, "....o.......o..."}}, false, false}},
        {"brush", {{{36, "x.......x......."}, {38, "oooooooooooooooo"}, {37, "....x.......x..."}}, false, false}},
        // Genre grooves that style profiles name.
        {"groove:four_on_floor", {{{36, "X...X...X...X..."}, {39, "....x.......x..."}, {42, "..x...x...x...x."}, {46, "..o...o...o...o."}}, true, false}},
        {"groove:breakbeat", {{{36, "X.........x....."}, {38, "....X..o.o..X..o"}, {42, "x.x.x.x.x.x.x.x."}}, true, false}},
        {"groove:boom_bap", {{{36, "X......x..x....."}, {38, "....X.......X..."}, {42, "x.x.x.x.x.x.x.x."}}, false, false}},
        {"groove:half_time", {{{36, "X..............."}, {38, "........X......."}, {42, "x...x...x...x..."}}, true, false}},
        {"groove:two_step", {{{36, "X.........X....."}, {38, "....X.......X..."}, {42, "x.xxx.xxx.xxx.xx"}, {46, "..............x."}}, true, false}},
        {"groove:rock", {{{36, "X.......X.x....."}, {38, "....X.......X..."}, {42, "x.x.x.x.x.x.x.x."}, {49, "X..............."}}, true, false}},
    };
    const auto it = kStyles.find(name);
    return it == kStyles.end() ? kStyles.at("kit_medium") : it->second;
}

struct Composer {
    const SketchConfig& cfg;
    Rng rng;
    int rootMidi;
    std::vector<int> prog;
    double barBeats = 4.0;

    std::vector<int> barDegree;  // the chord (scale degree) of every bar, set before composing

    /// The chord of a bar: a triad, or (extended) with the config's extensions: sevenths, or
    /// "lush" sevenths plus the ninth.
    std::vector<int> chordAt(int bar, bool extended) const {
        const int deg = barDegree.empty() ? 0 : barDegree[static_cast<std::size_t>(std::clamp(bar, 0, static_cast<int>(barDegree.size()) - 1))];
        const bool jazz = cfg.harmonyStyle == "jazz";
        const bool seventh = extended && (cfg.chordExtensions != "triads" || jazz);
        auto c = music::chordOnDegree(rootMidi, cfg.mode, deg, seventh);
        if (extended && cfg.chordExtensions == "lush") c.push_back(music::degreeToMidi(rootMidi, cfg.mode, deg + 8));
        return c;
    }

    /// The scale degree a fifth above the tonic (4 in seven-note scales, 3 in pentatonics).
    int dominantDegree() const {
        const auto scale = music::scaleOf(cfg.mode);
        for (std::size_t i = 0; i < scale.size(); ++i)
            if (scale[i] == 7) return static_cast<int>(i);
        return 4;
    }

    /// Fills barDegree: the progression advances every chord_change_bars, and with
    /// cadence_strength a section's last bar turns to the dominant (V) so the next one lands home.
    void planHarmony(const std::vector<Section>& sections, int totalBars) {
        barDegree.assign(static_cast<std::size_t>(std::max(totalBars, 1) + 1), 0);
        const int change = std::max(1, cfg.chordChangeBars);
        for (const auto& s : sections)
            for (int b = s.startBar; b < s.startBar + s.bars && b < totalBars; ++b) {
                const int local = b - s.startBar;
                barDegree[static_cast<std::size_t>(b)] = prog[static_cast<std::size_t>(local / change) % prog.size()];
                if (local == s.bars - 1 && s.bars >= 2 && rng.chance(cfg.cadenceStrength)) barDegree[static_cast<std::size_t>(b)] = dominantDegree();
            }
        barDegree.back() = 0;  // the final chord is the tonic
    }

    /// The nearest note of the key strictly above (dir 1) or below (dir -1) `note`.
    int scaleNeighbor(int note, int dir) const {
        int n = note + dir;
        while (!music::inScale(rootMidi % 12, cfg.mode, ((n % 12) + 12) % 12)) n += dir;
        return n;
    }

    /// Onset time of 16th step `step` of bar `bar`: swing delays the off-beat 16ths, human
    /// timing jitters every hit.
    double stepTime(int bar, int step) {
        const double swingShift = (step % 2) ? cfg.swing * (0.25 / 3.0) : 0.0;
        return bar * barBeats + step * 0.25 + swingShift + human(rng, 0.002f + 0.03f * cfg.human);
    }
    float vel(float v) { return std::clamp(v + human(rng, 0.02f + 0.12f * cfg.human), 0.05f, 1.0f); }

    void drums(ScoreTrack& t, const Section& s) {
        const DrumStyle& style = cfg.groove.empty() ? drumStyle(cfg.rhythmStyle) : drumStyle("groove:" + cfg.groove);
        const float level = 0.6f + 0.4f * s.energy;
        for (int b = s.startBar; b < s.startBar + s.bars; ++b) {
            const bool fill = style.fills && b == s.startBar + s.bars - 1 && s.bars >= 4 && s.energy > 0.4f;
            for (const auto& [note, steps] : style.lanes) {
                // Quiet sections drop the cymbals (unless they are the whole style).
                if (s.energy < 0.25f && (note == 42 || note == 46) && !style.hatsOnly) continue;
                for (int step = 0; step < 16; ++step) {
                    if (fill && step >= 12) continue;
                    const char c = steps[static_cast<std::size_t>(step)];
                    if (c == '.') continue;
                    const float v = c == 'X' ? 0.95f : (c == 'x' ? 0.72f : 0.32f);
                    t.notes.push_back({stepTime(b, step), 0.2, static_cast<float>(note), vel(v * level)});
                }
            }
            if (fill)
                for (int step = 12; step < 16; ++step)
                    t.notes.push_back({stepTime(b, step), 0.2, static_cast<float>(step % 2 ? 45 : 48), vel(0.7f)});
        }
    }

    void bass(ScoreTrack& t, const Section& s) {
        const std::string& style = cfg.bassStyle;
        const float v = 0.7f + 0.25f * s.energy;
        for (int b = s.startBar; b < s.startBar + s.bars; ++b) {
            const double bar0 = b * barBeats;
            const auto chord = chordAt(b, false);
            int root = chord[0];
            while (root > 47) root -= 12;
            while (root < 36) root += 12;
            const int third = root + (chord[1] - chord[0]);
            const int fifth = root + (chord[2] - chord[0]);  // the chord's own fifth: in the scale
            const auto note = [&](double off, double len, int n, float velocity) {
                t.notes.push_back({bar0 + off + human(rng, 0.002f + 0.015f * cfg.human), len, static_cast<float>(n), vel(velocity)});
            };
            if (style == "drone") {
                note(0.0, barBeats, root - 12 >= 28 ? root - 12 : root, v * 0.8f);
            } else if (style == "sustained") {
                note(0.0, barBeats * 0.95, root, v);
            } else if (style == "fifth_drone") {
                note(0.0, barBeats, root, v * 0.8f);
                note(0.0, barBeats, fifth, v * 0.6f);
            } else if (style == "pulsing") {
                for (int e = 0; e < 8; ++e) note(e * 0.5, 0.3, root, e % 2 ? v * 0.8f : v);
            } else if (style == "sub_pulse") {
                for (int q = 0; q < 4; ++q) note(q, 0.2, root - 12 >= 28 ? root - 12 : root, v);
            } else if (style == "octave") {
                for (int e = 0; e < 8; ++e) note(e * 0.5, 0.35, e % 2 ? root + 12 : root, v);
            } else if (style == "walking") {
                // Quarter notes: root, third, fifth, then a scale step toward the next bar's root.
                int next = chordAt(b + 1, false)[0];
                while (next > 47) next -= 12;
                while (next < 36) next += 12;
                const int approach = scaleNeighbor(next, next > fifth ? -1 : 1);  // a step into the next root
                const int steps[4] = {root, third, fifth, approach};
                for (int q = 0; q < 4; ++q) note(q, 0.9, steps[q], q == 0 ? v : v * 0.85f);
            } else {  // arp_bass
                const int arp[4] = {root, third, fifth, root + 12};
                for (int sx = 0; sx < 8; ++sx) note(sx * 0.5, 0.4, arp[sx % 4], sx % 4 == 0 ? v : v * 0.8f);
            }
        }
    }

    void pad(ScoreTrack& t, const Section& s, std::vector<int>& prev) {
        const std::string& st = cfg.padStyle;
        const int centre = st == "dark_sustained" ? rootMidi + 5 : (st == "thin_high" || st == "bright_open" ? rootMidi + 24 : rootMidi + 12);
        const bool lush = cfg.chordExtensions != "triads" || cfg.harmonyStyle == "jazz" || st == "bright_open";
        const int every = st == "dark_sustained" || st == "ambient_drift" ? 2 : 1;  // bars per chord
        for (int b = s.startBar; b < s.startBar + s.bars; b += every) {
            const int len = std::min(every, s.startBar + s.bars - b);
            const double at = b * barBeats, hold = len * barBeats * 0.98;
            const auto chord = chordAt(b, lush);
            std::vector<int> v;
            if (st == "stacked_fifths") {
                const int r = chord[0];
                v = {r, r + 7 - (music::inScale(rootMidi % 12, cfg.mode, (r + 7) % 12) ? 0 : 1), chord[2] + 7};
                for (auto& n : v) n = scaleSnap(n);
            } else if (st == "thin_high") {
                v = {chord[1], chord[2]};
            } else if (st == "cinematic") {
                v = {chord[0] - 12, chord[2] - 12, chord[1] + 12, chord[0] + 12};  // wide: low root-fifth, high third
            } else {
                v = chord;
            }
            prev = voiceLead(v, prev, centre);
            if (st == "cinematic") {
                // Swells: the chord re-attacks every half bar.
                for (double h = 0; h < len * barBeats; h += 2.0)
                    for (int n : prev) t.notes.push_back({at + h, 1.95, static_cast<float>(n), 0.5f + 0.1f * static_cast<float>(h > 0)});
            } else if (st == "ambient_drift") {
                // Chord tones enter one after another and overlap into the next chord.
                for (std::size_t i = 0; i < prev.size(); ++i)
                    t.notes.push_back({at + static_cast<double>(i) * 0.75, hold + 1.0, static_cast<float>(prev[i]), 0.45f});
            } else {
                for (int n : prev) t.notes.push_back({at, hold, static_cast<float>(n), st == "thin_high" ? 0.45f : 0.6f});
            }
        }
    }

    /// The nearest note of the key at or above `note`.
    int scaleSnap(int note) const {
        while (!music::inScale(rootMidi % 12, cfg.mode, ((note % 12) + 12) % 12)) ++note;
        return note;
    }

    void keys(ScoreTrack& t, const Section& s) {
        static const std::array<double, 3> kStabs{0.0, 1.5, 3.0};
        for (int b = s.startBar; b < s.startBar + s.bars; ++b) {
            auto ch = chordAt(b, true);
            for (double off : kStabs) {
                if (s.energy < 0.4f && off != 0.0) continue;
                for (int n : ch)
                    t.notes.push_back({b * barBeats + off + human(rng, 0.01f), s.energy < 0.4f ? 3.5 : 0.9,
                                       static_cast<float>(n + 12), 0.55f + human(rng, 0.08f)});
            }
        }
    }

    /// The accent layer: each accent style has its own instrument (see accentPreset) and part.
    void arp(ScoreTrack& t, const Section& s) {
        const std::string& st = cfg.accentStyle;
        for (int b = s.startBar; b < s.startBar + s.bars; ++b) {
            auto ch = chordAt(b, true);
            for (auto& n : ch) n += 24;
            const double bar0 = b * barBeats;
            const auto add = [&](double off, double len, int n, float v) {
                t.notes.push_back({bar0 + off + human(rng, 0.002f + 0.01f * cfg.human), len, static_cast<float>(n), vel(v)});
            };
            const auto tone = [&](int i) { return ch[static_cast<std::size_t>(i) % ch.size()]; };
            if (st == "bells") {
                if ((b - s.startBar) % 2 == 0) add(0.0, 3.0, tone(rng.range(0, 3)), 0.6f);
            } else if (st == "chime") {
                if ((b - s.startBar) % 4 == 0) add(0.0, 6.0, tone(0) + 12, 0.5f);
            } else if (st == "bells_dense") {
                for (int e = 0; e < 8; ++e) add(e * 0.5, 0.45, tone(e * 2 + (e / 4)), e % 2 ? 0.4f : 0.55f);
            } else if (st == "pluck") {
                for (double off : {0.5, 1.75, 3.0}) add(off, 0.5, tone(rng.range(0, 3)) - 12, 0.6f);
            } else if (st == "blip") {
                for (int e = 0; e < 4; ++e) add(e + 0.5, 0.1, tone(e), 0.55f);
            } else if (st == "blip_random") {
                for (int step = 0; step < 16; ++step)
                    if (rng.chance(0.22f)) add(step * 0.25, 0.1, tone(rng.range(0, 3)) + 12 * rng.range(0, 1), 0.5f);
            } else if (st == "brass_hit") {
                if ((b - s.startBar) % 4 == 0)
                    for (int n : chordAt(b, false)) add(0.0, 0.6, n + 12, 0.8f);
            } else if (st == "wind") {
                if ((b - s.startBar) % 4 == 0) add(0.0, 4.0 * barBeats * 0.95, tone(2), 0.5f);
            } else if (st == "piano_note") {
                if (rng.chance(0.6f)) add(rng.range(0, 3), 2.0, tone(rng.range(0, 3)) - 12, 0.55f);
            } else {  // arp_accent: a running arpeggio of the chord
                const double step = s.energy > 0.6f ? 0.25 : 0.5;
                const int steps = static_cast<int>(barBeats / step);
                for (int i = 0; i < steps; ++i) add(i * step, step * 0.9, tone(i % 4) - 12, i % 4 == 0 ? 0.75f : 0.55f);
            }
        }
    }

    /// The texture layer: a background bed in each texture style's own sound and rhythm.
    void texture(ScoreTrack& t, const Section& s) {
        const std::string& st = cfg.textureStyle;
        const double start = s.startBar * barBeats, len = s.bars * barBeats;
        const auto tone = [&](int b, int i) {
            const auto ch = chordAt(b, true);
            return ch[static_cast<std::size_t>(i) % ch.size()];
        };
        if (st == "noise_wash") {
            t.notes.push_back({start, len * 0.98, 76.0f, 0.7f});  // a wide band around 660 Hz
        } else if (st == "breath") {
            for (double b = 0; b < len; b += 2.0 * barBeats) t.notes.push_back({start + b, barBeats * 1.2, 72.0f + static_cast<float>(rng.range(-3, 3)), 0.6f});
        } else if (st == "vinyl_crackle") {
            t.notes.push_back({start, len * 0.98, 100.0f, 0.15f});  // the hiss under the ticks
            for (double b = 0; b < len; b += 0.125)
                if (rng.chance(0.18f)) t.notes.push_back({start + b + rng.uniform(0.0f, 0.12f), 0.02, 96.0f + static_cast<float>(rng.range(0, 20)), rng.uniform(0.2f, 0.9f)});
        } else if (st == "stars") {
            for (double b = 0; b < len; b += 0.5)
                if (rng.chance(0.12f)) t.notes.push_back({start + b, 2.0, static_cast<float>(tone(s.startBar + static_cast<int>(b / barBeats), rng.range(0, 3)) + 36), 0.35f});
        } else if (st == "glitch") {
            for (double b = 0; b < len; b += 0.125)
                if (rng.chance(0.1f)) t.notes.push_back({start + b, 0.06, static_cast<float>(tone(s.startBar + static_cast<int>(b / barBeats), rng.range(0, 3)) + 24 + 12 * rng.range(0, 1)), 0.5f});
        } else if (st == "crystal") {
            for (double b = 0; b < len; b += 0.5)
                t.notes.push_back({start + b, 0.45, static_cast<float>(tone(s.startBar + static_cast<int>(b / barBeats), static_cast<int>(b * 2)) + 36), 0.25f});
        } else if (st == "pad_whisper") {
            for (int b = s.startBar; b < s.startBar + s.bars; b += 2)
                for (int n : chordAt(b, true)) t.notes.push_back({b * barBeats, 2 * barBeats * 0.95, static_cast<float>(n + 24), 0.3f});
        } else if (st == "shimmer" || st == "shimmer_slow") {
            const double step = st == "shimmer" ? 0.25 : 1.0;
            for (double b = 0; b < len; b += step)
                t.notes.push_back({start + b, step * 3.0, static_cast<float>(tone(s.startBar + static_cast<int>(b / barBeats), rng.range(0, 3)) + 36), 0.2f + 0.1f * rng.uniform()});
        }
    }

    /// Melody: phrases of phrase_len_bars in the style's rhythm and contour, within the register,
    /// motifs repeated with motif_repeat_prob, stepwise motion with step_bias, occasional
    /// chromatic passing notes with chromatic_prob, note count scaled by melody_density.
    void lead(ScoreTrack& t, const Section& s) {
        const std::string& st = cfg.melodyStyle;
        const int lo = 12 * (cfg.registerMinOct + 1), hi = 12 * (cfg.registerMaxOct + 1) + 11;
        const int heroicLift = st == "heroic" ? 7 : 0;
        // Scale-degree space: degree 0 is the tonic in the lower register bound's octave.
        const int tonicBase = lo + ((rootMidi % 12) - lo % 12 + 12) % 12;
        const auto midiOf = [&](int deg) {
            int n = music::degreeToMidi(tonicBase, cfg.mode, deg) + heroicLift;
            while (n > hi) n -= 12;
            while (n < lo) n += 12;
            return n;
        };
        struct Cell {
            double at, len;
        };
        const auto rhythm = [&](int barInPhrase) -> std::vector<Cell> {
            if (st == "minimal") return barInPhrase % 2 == 0 ? std::vector<Cell>{{0.0, 3.5}} : std::vector<Cell>{};
            if (st == "contemplative" || st == "contemplative_minor") return {{0.0, 1.5}, {2.0, 1.9}};
            if (st == "arp_melody") return {{0, .45}, {.5, .45}, {1, .45}, {1.5, .45}, {2, .45}, {2.5, .45}, {3, .45}, {3.5, .45}};
            if (st == "heroic") return {{0.0, 1.4}, {1.5, 0.45}, {2.0, 1.9}};
            if (st == "ornamental") return {{0.0, 0.9}, {0.875, 0.12}, {1.0, 0.9}, {2.0, 0.9}, {2.875, 0.12}, {3.0, 0.9}};
            if (st == "call_response") return barInPhrase % 2 == 0 ? std::vector<Cell>{{0, .5}, {.5, .5}, {1, 1}, {2.5, .5}, {3, .9}} : std::vector<Cell>{{1.0, 0.9}, {2.0, 1.9}};
            return {{0.0, 0.9}, {1.0, 0.45}, {1.5, 0.45}, {2.0, 0.9}, {3.0, 0.9}};  // procedural, rising, falling
        };
        // The "procedural" engine draws a fresh rhythm for each bar (denser with melody_density)
        // instead of the style's pattern; syncopation pushes on-beat notes to the off-beat.
        const auto barRhythm = [&](int barInPhrase) {
            std::vector<Cell> cells;
            if (cfg.melodyEngine == "procedural") {
                for (int beat = 0; beat < 4; ++beat) {
                    const float r = rng.uniform();
                    if (r < 0.25f * (1.0f - cfg.melodyDensity) && beat > 0) continue;  // a rest
                    if (r > 1.0f - 0.4f * cfg.melodyDensity) {
                        cells.push_back({beat + 0.0, 0.45});
                        cells.push_back({beat + 0.5, 0.45});
                    } else {
                        cells.push_back({static_cast<double>(beat), 0.9});
                    }
                }
            } else {
                cells = rhythm(barInPhrase);
            }
            for (std::size_t i = 0; i < cells.size(); ++i) {
                const double next = i + 1 < cells.size() ? cells[i + 1].at : 4.0;
                const bool onBeat = cells[i].at > 0.0 && std::abs(cells[i].at - std::round(cells[i].at)) < 1e-9;
                if (onBeat && cells[i].at + 0.5 < next && rng.chance(cfg.syncopation)) {
                    cells[i].at += 0.5;
                    cells[i].len = std::min(cells[i].len, next - cells[i].at - 0.05);
                }
            }
            return cells;
        };
        const int phrase = std::max(1, cfg.phraseLenBars);
        struct PhraseNote {
            double off;
            int deg;
            double len;
        };
        std::vector<PhraseNote> lastPhrase;  // the motif
        int deg = st == "falling" ? 9 : (st == "rising" ? 0 : 4);
        for (int p0 = s.startBar; p0 < s.startBar + s.bars; p0 += phrase) {
            const bool repeat = !lastPhrase.empty() && rng.chance(cfg.motifRepeatProb);
            std::vector<PhraseNote> current;
            if (repeat) {
                // A motif comes back, with its ending varied half the time.
                current = lastPhrase;
                if (current.size() >= 3 && rng.chance(0.5f))
                    for (std::size_t k = current.size() - 2; k < current.size(); ++k) current[k].deg += rng.range(-2, 2);
            } else {
                if (st == "rising") deg = rng.range(0, 2);
                if (st == "falling") deg = rng.range(8, 10);
                for (int bar = 0; bar < phrase && p0 + bar < s.startBar + s.bars; ++bar) {
                    const auto cells = barRhythm(bar);
                    for (std::size_t i = 0; i < cells.size(); ++i) {
                        const bool grace = st == "ornamental" && cells[i].len < 0.2;
                        int step = rng.chance(cfg.stepBias) ? rng.range(-1, 1) : rng.range(-4, 4);
                        if (st == "rising") step = std::abs(step) + (i == 0 ? 0 : 1) - 1;
                        if (st == "falling") step = -std::abs(step) - (i == 0 ? 0 : 1) + 1;
                        if (st == "heroic") step = rng.chance(0.5f) ? 3 : (rng.chance(0.5f) ? 4 : -1);
                        if (st == "minimal") step = rng.chance(0.7f) ? 0 : 4 * (rng.chance(0.5f) ? 1 : -1);
                        if (st == "arp_melody") {
                            deg = (i % 4) * 2 + (bar % 2);  // chord tones 1-3-5-7 climbing
                            step = 0;
                        }
                        if (st == "call_response" && bar % 2 == 1) step = -std::abs(step);
                        if (st == "contemplative_minor" && rng.chance(0.4f)) deg = rng.chance(0.5f) ? 2 : 5;  // the minor third and sixth
                        deg = std::clamp(deg + step, -2, 12);
                        if (grace) {
                            current.push_back({bar * barBeats + cells[i].at, deg - 1, cells[i].len});
                            continue;
                        }
                        // Phrase ends settle on the tonic or the fifth.
                        if (bar == phrase - 1 && i + 1 == cells.size() && st != "arp_melody" && st != "rising")
                            deg = st == "falling" ? std::min(deg, 0) : (rng.chance(0.6f) ? 0 : 4);
                        current.push_back({bar * barBeats + cells[i].at, deg, cells[i].len});
                    }
                }
                lastPhrase = current;
            }
            for (const auto& [off, d, len] : current) {
                if (p0 * barBeats + off >= (s.startBar + s.bars) * barBeats) continue;
                if (off > 0.0 && !rng.chance(0.35f + 0.65f * cfg.melodyDensity)) continue;  // density thins the line
                int n = midiOf(d);
                if (cfg.chromaticProb > 0.0f && len < 0.6 && rng.chance(cfg.chromaticProb)) n += rng.chance(0.5f) ? 1 : -1;  // passing tone
                t.notes.push_back({p0 * barBeats + off + human(rng, 0.003f + 0.02f * cfg.human), len, static_cast<float>(n),
                                   vel(0.6f + (off == 0.0 ? 0.1f : 0.0f))});
            }
        }
    }
};

/// The instrument each texture style plays on.
std::string texturePreset(const std::string& style) {
    if (style == "noise_wash") return "noise_wash";
    if (style == "breath") return "noise_breath";
    if (style == "vinyl_crackle") return "noise_crackle";
    if (style == "glitch") return "blip";
    if (style == "pad_whisper") return "wind_pad";
    if (style == "stars") return "bell_glass";
    return "fm_bell";  // shimmer, shimmer_slow, crystal
}

/// The instrument each accent style plays on.
std::string accentPreset(const std::string& style) {
    if (style == "bells" || style == "bells_dense") return "bell_glass";
    if (style == "chime") return "fm_bell";
    if (style == "blip" || style == "blip_random") return "blip";
    if (style == "brass_hit") return "brass_stab";
    if (style == "wind") return "wind_pad";
    if (style == "piano_note") return "keys_fm_epiano";
    return "pluck_bright";  // pluck, arp_accent
}

unsigned layerMask(const std::vector<std::string>& layers) {
    unsigned m = 0;
    for (const auto& l : layers) {
        if (l == "drums") m |= kDrums;
        else if (l == "bass") m |= kBass;
        else if (l == "pad") m |= kPad;
        else if (l == "keys") m |= kKeys;
        else if (l == "arp") m |= kArp;
        else if (l == "lead") m |= kLead;
        else if (l == "texture") m |= kTexture;
    }
    return m;
}
}  // namespace

music::Score composeFromConfig(const music::MusicConfig& config, double durationSeconds) {
    return composeSketch(sketchFromMusicConfig(config), arrange(config, durationSeconds));
}

music::Score composeSketch(const SketchConfig& cfg, const music::Arrangement& arr) {
    music::Score score;
    score.bpm = std::clamp(arr.bpm, 30.0, 240.0);
    const double barSeconds = 4.0 * score.secondsPerBeat();
    const double durationSeconds = arr.durationSeconds;
    const int totalBars = arr.totalBars;
    // The tonic in the bass register: E2 (40) up to D#3 (51), whatever the key.
    Composer c{cfg, Rng(cfg.seed), 40 + (cfg.root + 8) % 12, {}, 4.0, {}};
    c.prog = progressionForStyle(cfg.harmonyStyle, cfg.mode, c.rng);
    std::vector<Section> sections;
    unsigned allowed = 0;
    for (const auto& s : arr.sections) {
        sections.push_back({s.startBar, s.bars, s.energy, layerMask(s.layers)});
        allowed |= sections.back().layers;
    }
    c.planHarmony(sections, totalBars);
    const float bright = cfg.brightness;
    std::vector<ScoreTrack> tracks{
        {"drums", "drum_kit", -4.0f, 0.0f, 0.08f, 0.0f, {}, {}, {}, false},
        {"bass", bright > 0.5f ? "bass_round" : "bass_sub", -3.0f, 0.0f, 0.0f, 0.0f, {}, {}, {}, false},
        {"pad", bright > 0.5f ? "pad_warm" : "pad_dark", -7.0f, 0.0f, 0.45f, 0.0f, {}, {}, {}, false},
        {"keys", "keys_fm_epiano", -9.0f, -0.25f, 0.3f, 0.15f, {}, {}, {}, false},
        {"arp", accentPreset(cfg.accentStyle), -12.0f, 0.3f, 0.25f, 0.35f, {}, {}, {}, false},
        {"lead", "bell_glass", -11.0f, -0.15f, 0.4f, 0.3f, {}, {}, {}, false},
        {"texture", texturePreset(cfg.textureStyle), -14.0f, 0.0f, 0.5f, 0.1f, {}, {}, {}, false},
    };
    std::vector<int> padPrev;
    for (const auto& s : sections) {
        if (s.layers & kDrums) c.drums(tracks[0], s);
        if (s.layers & kBass) c.bass(tracks[1], s);
        if (s.layers & kPad) c.pad(tracks[2], s, padPrev);
        if (s.layers & kKeys) c.keys(tracks[3], s);
        if (s.layers & kArp) c.arp(tracks[4], s);
        if (s.layers & kLead) c.lead(tracks[5], s);
        if (s.layers & kTexture) c.texture(tracks[6], s);
    }
    // A real ending: the tonic chord on the final downbeat, held to the end of the file.
    const double endBeat = totalBars * 4.0;
    if (!arr.loop) {
        const double hold = std::max(0.5, (durationSeconds - totalBars * barSeconds) / score.secondsPerBeat());
        for (int n : music::chordOnDegree(c.rootMidi + 12, cfg.mode, 0, false))
            tracks[2].notes.push_back({endBeat, hold * 0.8, static_cast<float>(n), 0.6f});
        if (allowed & kBass)
            tracks[1].notes.push_back({endBeat, hold * 0.6, static_cast<float>(c.rootMidi - 12 + (c.rootMidi < 40 ? 12 : 0)), 0.8f});
        if (allowed & kDrums) tracks[0].notes.push_back({endBeat, 0.2, 36.0f, 0.9f});
    }

    // Depth: the bass line doubled an octave down (above E1) for a sub layer.
    if (cfg.depth) {
        std::vector<NoteEvent> sub;
        for (const auto& n : tracks[1].notes)
            if (n.note - 12.0f >= 28.0f) sub.push_back({n.start, n.length, n.note - 12.0f, n.velocity * 0.7f});
        tracks[1].notes.insert(tracks[1].notes.end(), sub.begin(), sub.end());
    }
    // Brightness opens every layer's tone continuously (on top of the preset choice above).
    const float b = bright;
    tracks[1].params = {{"cutoff", 150.0f * std::exp2(3.0f * b)}, {"filter_env", 1.0f + 3.0f * b}};
    // Attack (soft .. sharp) sets how notes begin; stereo (mono .. ultra wide) the pad's spread.
    const float atk = cfg.attack;
    tracks[2].params = {{"cutoff", 500.0f * std::exp2(4.0f * b)}, {"attack", 2.0f * std::pow(0.02f, atk)}, {"spread", std::min(1.0f, 1.2f * cfg.stereo)}};
    tracks[1].params.push_back({"attack", 0.02f * std::pow(0.1f, atk)});
    tracks[3].params = {{"level2", 0.08f + 0.45f * b}, {"mod_sustain", 0.25f * b}, {"attack", 0.06f * std::pow(0.03f, atk)}};
    if (tracks[4].preset == "pluck_bright" || tracks[4].preset == "bell_glass") tracks[4].params = {{"brightness", 0.2f + 0.75f * b}};
    tracks[5].params = {{"brightness", 0.1f + 0.9f * b}};
    // Motion: the modulation of the sustained layers. "medium" keeps their presets' own chorus or
    // phaser; the other settings replace it: none (static), a slow chorus, a fast phaser, a chaotic
    // flanger.
    const std::map<std::string, std::vector<music::TrackEffect>> kMotion{
        {"static", {}},
        {"slow", {{"chorus", {{"rate", 0.15f}, {"depth", 0.6f}, {"mix", 0.4f}}}}},
        {"fast", {{"phaser", {{"rate", 1.2f}, {"depth", 0.8f}, {"feedback", 0.5f}, {"mix", 0.5f}}}}},
        {"chaotic", {{"flanger", {{"rate", 2.5f}, {"depth", 1.0f}, {"feedback", 0.7f}, {"mix", 0.5f}}}}}};
    if (const auto mo = kMotion.find(cfg.motion); mo != kMotion.end())
        for (auto* t : {&tracks[2], &tracks[3]}) {
            t->effects = mo->second;
            t->replacePresetEffects = true;
        }
    for (auto& t : tracks)
        if (const auto fx = cfg.effects.find(t.name); fx != cfg.effects.end())
            t.effects.insert(t.effects.end(), fx->second.begin(), fx->second.end());
    // A style profile or the instrumentation may choose the instrument of any layer; the synth
    // tone settings above do not apply to it.
    for (auto& t : tracks)
        if (const auto it = cfg.presets.find(t.name); it != cfg.presets.end()) {
            t.preset = it->second;
            t.params.clear();
        }
    for (auto& t : tracks)
        if (!t.notes.empty()) score.tracks.push_back(std::move(t));
    for (auto& t : score.tracks)
        std::stable_sort(t.notes.begin(), t.notes.end(), [](const NoteEvent& a, const NoteEvent& b) { return a.start < b.start; });
    score.lengthBeats = endBeat;
    score.mix.reverbSize = 0.3f + 0.7f * cfg.space;
    score.mix.reverbDecayS = 0.8f + 4.5f * cfg.space;
    score.mix.reverbDamping = 0.7f - 0.5f * bright;
    score.mix.delayFeedback = 0.15f + 0.6f * cfg.echo;
    // Echo scales every layer's delay send (0 at "none").
    for (auto& t : score.tracks) t.delaySend = std::min(1.0f, t.delaySend * 2.0f * cfg.echo + (t.name == "lead" ? 0.4f * cfg.echo : 0.0f));
    score.mix.delayToneHz = 2500.0f + 6000.0f * bright;
    // Stereo scales every pan and the master width; grain drives the master (clean, warm, gritty).
    for (auto& t : score.tracks) t.pan = std::clamp(t.pan * 2.0f * cfg.stereo, -1.0f, 1.0f);
    score.mix.width = 2.0f * cfg.stereo;
    score.mix.driveDb = cfg.grain <= 0.0f ? 0.0f : 2.0f + 14.0f * cfg.grain * cfg.grain;
    return score;
}

}  // namespace soundstar::compose

#include "music/Theory.h"

#include <algorithm>
#include <cctype>

namespace soundstar::music {
namespace {
std::string lower(std::string_view s) {
    std::string out;
    for (char c : s)
        if (!std::isspace(static_cast<unsigned char>(c)) && c != '-' && c != '_')
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

std::span<const int> scaleOf(Mode m) {
    static const std::array<int, 7> kMajor{0, 2, 4, 5, 7, 9, 11}, kMinor{0, 2, 3, 5, 7, 8, 10},
        kDorian{0, 2, 3, 5, 7, 9, 10}, kMixo{0, 2, 4, 5, 7, 9, 10}, kLydian{0, 2, 4, 6, 7, 9, 11},
        kPhrygian{0, 1, 3, 5, 7, 8, 10}, kHarmonic{0, 2, 3, 5, 7, 8, 11};
    static const std::array<int, 5> kMajorPenta{0, 2, 4, 7, 9}, kMinorPenta{0, 3, 5, 7, 10};
    switch (m) {
        case Mode::Major: return kMajor;
        case Mode::Minor: return kMinor;
        case Mode::Dorian: return kDorian;
        case Mode::Mixolydian: return kMixo;
        case Mode::Lydian: return kLydian;
        case Mode::Phrygian: return kPhrygian;
        case Mode::HarmonicMinor: return kHarmonic;
        case Mode::MajorPentatonic: return kMajorPenta;
        case Mode::MinorPentatonic: return kMinorPenta;
    }
    return kMajor;
}

std::string_view modeName(Mode m) {
    switch (m) {
        case Mode::Major: return "major";
        case Mode::Minor: return "minor";
        case Mode::Dorian: return "dorian";
        case Mode::Mixolydian: return "mixolydian";
        case Mode::Lydian: return "lydian";
        case Mode::Phrygian: return "phrygian";
        case Mode::HarmonicMinor: return "harmonic_minor";
        case Mode::MajorPentatonic: return "major_pentatonic";
        case Mode::MinorPentatonic: return "minor_pentatonic";
    }
    return "major";
}

std::optional<Mode> parseMode(std::string_view s) {
    const std::string l = lower(s);
    if (l == "major" || l == "ionian" || l == "maj") return Mode::Major;
    if (l == "minor" || l == "aeolian" || l == "min" || l == "naturalminor") return Mode::Minor;
    if (l == "dorian") return Mode::Dorian;
    if (l == "mixolydian") return Mode::Mixolydian;
    if (l == "lydian") return Mode::Lydian;
    if (l == "phrygian") return Mode::Phrygian;
    if (l == "harmonicminor") return Mode::HarmonicMinor;
    if (l == "majorpentatonic" || l == "pentatonic") return Mode::MajorPentatonic;
    if (l == "minorpentatonic") return Mode::MinorPentatonic;
    return std::nullopt;
}

std::optional<int> parsePitchClass(std::string_view s) {
    std::string l = lower(s);
    if (l.empty()) return std::nullopt;
    static constexpr int kBase[7] = {9, 11, 0, 2, 4, 5, 7};  // a b c d e f g
    if (l[0] < 'a' || l[0] > 'g') return std::nullopt;
    int pc = kBase[l[0] - 'a'];
    const std::string rest = l.substr(1);
    if (rest.empty()) return pc;
    if (rest == "#" || rest == "sharp" || rest == "♯") return (pc + 1) % 12;
    if (rest == "b" || rest == "flat" || rest == "♭") return (pc + 11) % 12;
    return std::nullopt;
}

std::string_view pitchClassName(int pc) {
    static constexpr std::string_view kNames[12] = {"c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b"};
    return kNames[((pc % 12) + 12) % 12];
}

int degreeToMidi(int rootMidi, Mode m, int degree) {
    const auto scale = scaleOf(m);
    const int n = static_cast<int>(scale.size());
    const int oct = degree >= 0 ? degree / n : -((-degree + n - 1) / n);
    const int idx = degree - oct * n;
    return rootMidi + oct * 12 + scale[static_cast<std::size_t>(idx)];
}

std::vector<int> chordOnDegree(int rootMidi, Mode m, int degree, bool seventh) {
    std::vector<int> c{degreeToMidi(rootMidi, m, degree), degreeToMidi(rootMidi, m, degree + 2),
                       degreeToMidi(rootMidi, m, degree + 4)};
    if (seventh) c.push_back(degreeToMidi(rootMidi, m, degree + 6));
    return c;
}

bool inScale(int root, Mode m, int pc) {
    const int rel = ((pc - root) % 12 + 12) % 12;
    const auto s = scaleOf(m);
    return std::find(s.begin(), s.end(), rel) != s.end();
}

}  // namespace soundstar::music

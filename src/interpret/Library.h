#pragma once
// The interpreter's described configurations. Curated building blocks (data/interpret/
// blocks.json: scenes, moods, places, times, weather, seasons, activities, genres, film and game
// moods, each with ways to say it and the config fields it implies) are combined by templates
// into the library (data/interpret/library.tsv, one "text TAB fields" line per entry), which
// tools/build_library writes and the interpreter loads.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "music/MusicConfig.h"

namespace soundstar::interpret {

/// How a MusicConfig field blends: ordered labels (tempo, brightness, ...) average by position;
/// other labels, booleans and free strings go to the heaviest vote; numbers average; lists
/// (instrumentation) keep the names with enough weight.
enum class FieldKind { Scale, Choice, Integer, Number, Boolean, Text, List };

struct FieldInfo {
    std::string name;
    FieldKind kind;
    std::vector<std::string> labels;  // Scale and Choice
};

/// Every blendable MusicConfig field (from the schema; not root, seed or the key string).
const std::vector<FieldInfo>& blendFields();
/// Index into blendFields(), or -1.
int fieldIndex(const std::string& name);

/// A set of field values: label index for Scale/Choice, the number for Integer/Number/Boolean,
/// the text for Text, the names for List.
struct FieldValue {
    int field = 0;
    double number = 0;
    std::string text;
    std::vector<std::string> list;
};
using Fragment = std::vector<FieldValue>;

/// From a JSON object of config fields; throws std::invalid_argument naming `where`, the field
/// and what is allowed (values are checked by the MusicConfig parser itself).
Fragment fragmentFromJson(const std::string& json, const std::string& where);
/// As a JSON object text.
std::string fragmentToJson(const Fragment& f);
/// The compact "field=value;..." form library.tsv uses, and back (throws on a bad line).
/// `exact` writes numbers in full (shortest round-trip form) instead of 3 significant digits,
/// so that parsing the text gives back the very same fragment (the interpreter's snapshot).
std::string fragmentToCompact(const Fragment& f, bool exact = false);
Fragment fragmentFromCompact(const std::string& s, const std::string& where);

/// Blends weighted fragments. A field is set when the fragments that set it carry at least
/// `minShare` of the total weight.
Fragment blend(const std::vector<std::pair<const Fragment*, double>>& parts, double minShare);

struct Block {
    std::string category;
    double weight = 1.0;
    std::vector<std::string> names;
    Fragment set;
};
/// "{scene} at {time}": up to `count` coherent combinations of the named categories' blocks.
/// Genres are never combined: a genre is named by the prompt, not implied by a combination.
struct Template {
    std::string text;
    int count = 0;
};
struct LibraryEntry {
    std::string text;
    Fragment fragment;
};
struct Blocks {
    std::vector<Block> blocks;
    std::map<std::string, std::vector<std::size_t>> byCategory;
    std::vector<Template> templates;
    std::vector<LibraryEntry> descriptions;  // curated scenes in their own words
};
/// Reads blocks.json. Throws std::invalid_argument naming the block and the bad field.
Blocks loadBlocks(const std::filesystem::path& file);

/// The library: every block name, the curated descriptions, then the templates' coherent
/// combinations (blocks whose modes, scale labels or rhythms contradict are not combined).
/// The library the templates describe: deterministic, duplicate texts dropped.
std::vector<LibraryEntry> generateLibrary(const Blocks& blocks);
std::string libraryToTsv(const std::vector<LibraryEntry>& entries);
std::vector<LibraryEntry> loadLibrary(const std::filesystem::path& file);

}  // namespace soundstar::interpret

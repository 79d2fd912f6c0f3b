#include "interpret/Library.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/Rng.h"
#include "interpret/Text.h"

namespace soundstar::interpret {
namespace {

std::string readText(const std::filesystem::path& file, const char* what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::invalid_argument(fmt::format("cannot read the {} {}", what, file.string()));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<FieldInfo> makeFields() {
    static const std::set<std::string> kScales{"tempo", "brightness", "space", "motion", "stereo",
                                               "echo",  "human",      "attack", "grain"};
    std::vector<FieldInfo> out;
    for (auto& shape : music::musicConfigShapes()) {
        if (shape.name == "root" || shape.name == "seed" || shape.name == "key") continue;
        FieldInfo f{shape.name, FieldKind::Text, {}};
        if (shape.isEnum) {
            f.kind = kScales.count(shape.name) ? FieldKind::Scale : FieldKind::Choice;
            f.labels = std::move(shape.labels);
        } else {
            const std::string& t = shape.type;
            f.kind = t == "integer" ? FieldKind::Integer
                   : t == "number"  ? FieldKind::Number
                   : t == "boolean" ? FieldKind::Boolean
                   : t == "array"   ? FieldKind::List
                                    : FieldKind::Text;
        }
        out.push_back(std::move(f));
    }
    return out;
}

int labelIndex(const FieldInfo& f, const std::string& label) {
    const auto it = std::find(f.labels.begin(), f.labels.end(), label);
    return it == f.labels.end() ? -1 : static_cast<int>(it - f.labels.begin());
}

std::string fieldNames() {
    std::vector<std::string> names;
    for (const auto& f : blendFields()) names.push_back(f.name);
    return fmt::format("{}", fmt::join(names, ", "));
}

FieldValue valueFrom(const FieldInfo& f, int field, const nlohmann::json& v, const std::string& where) {
    FieldValue out;
    out.field = field;
    switch (f.kind) {
        case FieldKind::Scale:
        case FieldKind::Choice: out.number = labelIndex(f, v.get<std::string>()); break;
        case FieldKind::Integer:
        case FieldKind::Number: out.number = v.get<double>(); break;
        case FieldKind::Boolean: out.number = v.get<bool>() ? 1.0 : 0.0; break;
        case FieldKind::Text: out.text = v.get<std::string>(); break;
        case FieldKind::List:
            for (const auto& s : v) out.list.push_back(s.get<std::string>());
            break;
    }
    for (const auto& s : out.list)
        if (s.find_first_of(";=|\t\n") != std::string::npos)
            throw std::invalid_argument(fmt::format("{}: '{}' may not contain ; = | or control characters", where, s));
    if (out.text.find_first_of(";=|\t\n") != std::string::npos)
        throw std::invalid_argument(fmt::format("{}: '{}' may not contain ; = | or control characters", where, out.text));
    return out;
}

/// Whether two values of a field contradict: modes of different families (major, minor), scale
/// labels two or more steps apart ("slow" and "fast"), or no rhythm against a driving one.
bool contradicts(const FieldInfo& f, const FieldValue& a, const FieldValue& b) {
    if (f.name == "mode") {
        const auto major = [&](const FieldValue& v) {
            const auto& m = f.labels[static_cast<std::size_t>(v.number)];
            return m == "major" || m == "lydian" || m == "mixolydian" || m == "major_pentatonic";
        };
        return major(a) != major(b);
    }
    if (f.kind == FieldKind::Scale) return std::abs(a.number - b.number) >= 2;
    if (f.name == "rhythm") {
        const auto still = [&](const FieldValue& v) { return f.labels[static_cast<std::size_t>(v.number)] == "none"; };
        const auto driving = [&](const FieldValue& v) {
            const auto& r = f.labels[static_cast<std::size_t>(v.number)];
            return r == "electronic" || r == "kit_medium" || r == "military";
        };
        return (still(a) && driving(b)) || (driving(a) && still(b));
    }
    return false;
}

/// A combination of blocks describes one scene only if no two of them contradict each other
/// ("a euphoric funeral", "a sleepy workout" are left out).
bool coherent(const std::vector<std::pair<const Fragment*, double>>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i)
        for (std::size_t j = i + 1; j < parts.size(); ++j)
            for (const auto& a : *parts[i].first)
                for (const auto& b : *parts[j].first)
                    if (a.field == b.field && contradicts(blendFields()[static_cast<std::size_t>(a.field)], a, b)) return false;
    return true;
}

}  // namespace

const std::vector<FieldInfo>& blendFields() {
    static const std::vector<FieldInfo> fields = makeFields();
    return fields;
}

int fieldIndex(const std::string& name) {
    const auto& f = blendFields();
    for (std::size_t i = 0; i < f.size(); ++i)
        if (f[i].name == name) return static_cast<int>(i);
    return -1;
}

Fragment fragmentFromJson(const std::string& json, const std::string& where) {
    // The MusicConfig parser checks names and values and says what is allowed.
    music::mergeMusicConfig(music::MusicConfig{}, json, where);
    const auto j = nlohmann::json::parse(json);
    Fragment out;
    for (const auto& [k, v] : j.items()) {
        const int i = fieldIndex(k);
        if (i < 0)
            throw std::invalid_argument(fmt::format("{}: field '{}' cannot be blended; allowed: {}", where, k, fieldNames()));
        out.push_back(valueFrom(blendFields()[static_cast<std::size_t>(i)], i, v, where));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.field < b.field; });
    return out;
}

std::string fragmentToJson(const Fragment& fr) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& v : fr) {
        const auto& f = blendFields()[static_cast<std::size_t>(v.field)];
        switch (f.kind) {
            case FieldKind::Scale:
            case FieldKind::Choice: j[f.name] = f.labels[static_cast<std::size_t>(v.number)]; break;
            case FieldKind::Integer: j[f.name] = static_cast<int>(std::lround(v.number)); break;
            case FieldKind::Number: j[f.name] = std::round(v.number * 1000.0) / 1000.0; break;
            case FieldKind::Boolean: j[f.name] = v.number >= 0.5; break;
            case FieldKind::Text: j[f.name] = v.text; break;
            case FieldKind::List: j[f.name] = v.list; break;
        }
    }
    return j.dump();
}

std::string fragmentToCompact(const Fragment& fr, bool exact) {
    std::string out;
    for (const auto& v : fr) {
        const auto& f = blendFields()[static_cast<std::size_t>(v.field)];
        if (!out.empty()) out += ';';
        out += f.name;
        out += '=';
        switch (f.kind) {
            case FieldKind::Scale:
            case FieldKind::Choice: out += f.labels[static_cast<std::size_t>(v.number)]; break;
            case FieldKind::Integer: out += exact ? fmt::format("{}", v.number) : std::to_string(std::lround(v.number)); break;
            case FieldKind::Number: out += exact ? fmt::format("{}", v.number) : fmt::format("{:.3g}", v.number); break;
            case FieldKind::Boolean: out += v.number >= 0.5 ? "true" : "false"; break;
            case FieldKind::Text: out += v.text; break;
            case FieldKind::List: out += fmt::format("{}", fmt::join(v.list, "|")); break;
        }
    }
    return out;
}

Fragment fragmentFromCompact(const std::string& s, const std::string& where) {
    Fragment out;
    std::size_t at = 0;
    while (at < s.size()) {
        std::size_t end = s.find(';', at);
        if (end == std::string::npos) end = s.size();
        const std::string item = s.substr(at, end - at);
        at = end + 1;
        const auto eq = item.find('=');
        if (eq == std::string::npos) throw std::invalid_argument(fmt::format("{}: '{}' is not field=value", where, item));
        const std::string name = item.substr(0, eq), value = item.substr(eq + 1);
        const int i = fieldIndex(name);
        if (i < 0) throw std::invalid_argument(fmt::format("{}: unknown field '{}'; allowed: {}", where, name, fieldNames()));
        const auto& f = blendFields()[static_cast<std::size_t>(i)];
        FieldValue v;
        v.field = i;
        try {
            switch (f.kind) {
                case FieldKind::Scale:
                case FieldKind::Choice:
                    v.number = labelIndex(f, value);
                    if (v.number < 0)
                        throw std::invalid_argument(fmt::format("'{}' is not one of {}", value, fmt::join(f.labels, ", ")));
                    break;
                case FieldKind::Integer:
                case FieldKind::Number: v.number = std::stod(value); break;
                case FieldKind::Boolean:
                    if (value != "true" && value != "false") throw std::invalid_argument("expected true or false");
                    v.number = value == "true" ? 1.0 : 0.0;
                    break;
                case FieldKind::Text: v.text = value; break;
                case FieldKind::List:
                    for (std::size_t p = 0; p <= value.size();) {
                        std::size_t q = value.find('|', p);
                        if (q == std::string::npos) q = value.size();
                        if (q > p) v.list.push_back(value.substr(p, q - p));
                        p = q + 1;
                    }
                    break;
            }
        } catch (const std::logic_error& e) {
            throw std::invalid_argument(fmt::format("{}: field '{}' = '{}': {}", where, name, value, e.what()));
        }
        out.push_back(std::move(v));
    }
    return out;
}

Fragment blend(const std::vector<std::pair<const Fragment*, double>>& parts, double minShare) {
    double total = 0;
    for (const auto& [f, w] : parts) total += w;
    Fragment out;
    if (total <= 0) return out;
    const auto& fields = blendFields();
    for (std::size_t fi = 0; fi < fields.size(); ++fi) {
        const auto& info = fields[fi];
        double wsum = 0, mean = 0;
        std::vector<std::pair<std::string, double>> votes;  // in first-seen order
        const auto vote = [&](const std::string& key, double w) {
            for (auto& [k, s] : votes)
                if (k == key) {
                    s += w;
                    return;
                }
            votes.emplace_back(key, w);
        };
        for (const auto& [frag, w] : parts)
            for (const auto& v : *frag)
                if (v.field == static_cast<int>(fi)) {
                    wsum += w;
                    mean += w * v.number;
                    if (info.kind == FieldKind::Text) vote(v.text, w);
                    if (info.kind == FieldKind::Choice || info.kind == FieldKind::Boolean) vote(std::to_string(v.number), w);
                    if (info.kind == FieldKind::List)
                        for (const auto& s : v.list) vote(s, w);
                }
        if (wsum <= 0 || wsum < minShare * total) continue;
        FieldValue r;
        r.field = static_cast<int>(fi);
        const auto best = [&] {
            return std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
        };
        switch (info.kind) {
            case FieldKind::Scale:
            case FieldKind::Integer: r.number = std::round(mean / wsum); break;
            case FieldKind::Number: r.number = mean / wsum; break;
            case FieldKind::Choice:
            case FieldKind::Boolean: r.number = std::stod(best()); break;
            case FieldKind::Text: r.text = best(); break;
            case FieldKind::List:
                for (const auto& [name, w] : votes)
                    if (w >= 0.5 * wsum && w >= minShare * total) r.list.push_back(name);
                if (r.list.empty()) continue;
                break;
        }
        out.push_back(std::move(r));
    }
    return out;
}

Blocks loadBlocks(const std::filesystem::path& file) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(readText(file, "building blocks"));
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(fmt::format("{} is not valid JSON: {}", file.string(), e.what()));
    }
    Blocks out;
    try {
        for (const auto& [cat, c] : j.at("categories").items()) {
            const double weight = c.at("weight").get<double>();
            int n = 0;
            for (const auto& b : c.at("blocks")) {
                Block block;
                block.category = cat;
                block.weight = weight;
                for (const auto& name : b.at("names")) block.names.push_back(name.get<std::string>());
                if (block.names.empty()) throw std::invalid_argument(fmt::format("{} block {} has no names", cat, n));
                block.set = fragmentFromJson(b.at("set").dump(), fmt::format("{} block '{}'", cat, block.names[0]));
                out.byCategory[cat].push_back(out.blocks.size());
                out.blocks.push_back(std::move(block));
                ++n;
            }
        }
        for (const auto& t : j.at("templates")) out.templates.push_back({t.at("text").get<std::string>(), t.at("count").get<int>()});
        for (const auto& d : j.value("descriptions", nlohmann::json::array())) {
            const std::string text = d.at("text").get<std::string>();
            out.descriptions.push_back({text, fragmentFromJson(d.at("set").dump(), fmt::format("description '{}'", text))});
        }
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(fmt::format("{}: {} (expected categories{{name: {{weight, blocks[{{names, set}}]}}}} "
                                                "and templates[{{text, count}}])",
                                                file.string(), e.what()));
    }
    return out;
}

std::vector<LibraryEntry> generateLibrary(const Blocks& blocks) {
    std::vector<LibraryEntry> out;
    std::set<std::string> seen;
    // Every way to say every block is an entry of its own ("rainy", "a rainy day", ...).
    for (const auto& b : blocks.blocks)
        for (std::string name : b.names) {
            for (const char* art : {"a ", "an ", "the "})
                if (name.rfind(art, 0) == 0) name = name.substr(std::string(art).size());
            if (seen.insert(name).second) out.push_back({name, b.set});
        }
    // Curated descriptions of real scenes, in their own words.
    for (const auto& d : blocks.descriptions)
        if (seen.insert(d.text).second) out.push_back(d);
    std::uint64_t templateSeed = 1;
    for (const auto& t : blocks.templates) {
        // The template's placeholders: "{mood}" (a name as written) or "{scene-}" (its article dropped).
        struct Slot {
            std::string category;
            bool dropArticle;
            std::size_t from, to;
        };
        std::vector<Slot> slots;
        for (std::size_t p = t.text.find('{'); p != std::string::npos; p = t.text.find('{', p + 1)) {
            const auto q = t.text.find('}', p);
            if (q == std::string::npos) throw std::invalid_argument(fmt::format("template '{}': unclosed {{", t.text));
            std::string cat = t.text.substr(p + 1, q - p - 1);
            const bool drop = !cat.empty() && cat.back() == '-';
            if (drop) cat.pop_back();
            if (!blocks.byCategory.count(cat))
                throw std::invalid_argument(fmt::format("template '{}': no category '{}'", t.text, cat));
            if (cat == "genre")  // "grief deep house" would bring a genre (and its profile) by similarity alone
                throw std::invalid_argument(fmt::format("template '{}': genres are named, not combined; no template may use {{genre}}", t.text));
            slots.push_back({cat, drop, p, q + 1});
        }
        std::size_t product = 1;
        for (const auto& s : slots) product *= blocks.byCategory.at(s.category).size();
        std::vector<std::size_t> order(product);
        for (std::size_t i = 0; i < product; ++i) order[i] = i;
        Rng rng(templateSeed++ * 0x9E3779B97F4A7C15ull);
        for (std::size_t i = product; i > 1; --i) std::swap(order[i - 1], order[rng.nextU32() % i]);
        const std::size_t want = static_cast<std::size_t>(std::max(0, t.count));
        for (std::size_t k = 0, taken = 0; k < product && taken < want; ++k) {
            std::size_t code = order[k];
            std::string text;
            std::size_t last = 0;
            std::vector<std::pair<const Fragment*, double>> parts;
            for (const auto& s : slots) {
                const auto& ids = blocks.byCategory.at(s.category);
                const Block& b = blocks.blocks[ids[code % ids.size()]];
                code /= ids.size();
                std::string name = b.names[rng.nextU32() % b.names.size()];
                if (s.dropArticle)
                    for (const char* art : {"a ", "an ", "the "})
                        if (name.rfind(art, 0) == 0) name = name.substr(std::string(art).size());
                text += t.text.substr(last, s.from - last) + name;
                last = s.to;
                parts.emplace_back(&b.set, b.weight);
            }
            text += t.text.substr(last);
            if (!coherent(parts) || !seen.insert(text).second) continue;
            out.push_back({text, blend(parts, 0.0)});
            ++taken;
        }
    }
    return out;
}

std::string libraryToTsv(const std::vector<LibraryEntry>& entries) {
    std::string out = "# soundstar interpreter library: text TAB fields. Generated by tools/build_library from "
                      "data/interpret/blocks.json; do not edit by hand.\n";
    for (const auto& e : entries) out += e.text + '\t' + fragmentToCompact(e.fragment) + '\n';
    return out;
}

std::vector<LibraryEntry> loadLibrary(const std::filesystem::path& file) {
    const std::string text = readText(file, "interpreter library");
    std::vector<LibraryEntry> out;
    std::size_t lineNo = 0;
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(at, end - at);
        at = end + 1;
        ++lineNo;
        if (line.empty() || line[0] == '#') continue;
        const auto tab = line.find('\t');
        if (tab == std::string::npos)
            throw std::invalid_argument(fmt::format("{}:{}: expected 'text<TAB>fields'", file.string(), lineNo));
        out.push_back({line.substr(0, tab), fragmentFromCompact(line.substr(tab + 1), fmt::format("{}:{}", file.string(), lineNo))});
    }
    return out;
}

}  // namespace soundstar::interpret

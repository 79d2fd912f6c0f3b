#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "interpret/Interpreter.h"

namespace soundstar::app {

int runInterpret(const std::string& prompt, bool json, bool explain) {
    const auto meaning = interpreter().interpret(prompt);
    RenderArgs args;
    args.prompt = prompt;
    std::vector<std::string> understood;
    const music::MusicConfig cfg = resolveConfig(args, understood);  // what render would use
    const auto before = nlohmann::json::parse(music::toJson(meaning.config));
    const auto after = nlohmann::json::parse(music::toJson(cfg));
    const auto defaults = nlohmann::json::parse(music::toJson(music::MusicConfig{}));

    std::FILE* text = json ? stderr : stdout;  // with --json, stdout holds only the JSON
    if (json) fmt::print("{}\n", music::toJson(cfg));
    if (!json || explain) {
        fmt::print(text, "{:.0f} bpm, {} {}, {} layers{}{}\n", cfg.resolvedBpm(), music::pitchClassName(cfg.root), music::modeName(cfg.mode),
                   cfg.density, cfg.genre.empty() ? "" : ", genre " + cfg.genre, cfg.mood.empty() ? "" : ", mood " + cfg.mood);
        if (!meaning.understood) fmt::print(text, "note: nothing in the prompt was understood; this is a balanced default\n");
    }
    if (explain) {
        fmt::print(text, "\nhow the prompt was read:\n");
        for (const auto& n : meaning.notes) fmt::print(text, "  - {}\n", n);
        for (const auto& n : understood)
            if (std::find(meaning.notes.begin(), meaning.notes.end(), n) == meaning.notes.end()) fmt::print(text, "  - {}\n", n);
        fmt::print(text, "\nfields and what decided them (defaults left out):\n");
        for (const auto& [field, value] : after.items()) {
            if (field == "seed") continue;
            std::string why;
            if (const auto it = meaning.decidedBy.find(field); it != meaning.decidedBy.end() && before.contains(field) &&
                                                               before[field] == value)
                why = it->second;
            else if (!before.contains(field) || before[field] != value)
                why = cfg.genre.empty() ? "the mood" : fmt::format("the '{}' style profile or the mood", cfg.genre);
            else if (defaults.contains(field) && defaults[field] == value)
                continue;
            else
                why = "default";
            fmt::print(text, "  {:<18} {:<22} {}\n", field, value.dump(), why);
        }
    }
    return 0;
}

}  // namespace soundstar::app

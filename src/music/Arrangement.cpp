#include "music/Arrangement.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace soundstar::music {

std::string toJson(const Arrangement& a) {
    nlohmann::json sections = nlohmann::json::array();
    for (const auto& s : a.sections)
        sections.push_back({{"section", s.kind},
                            {"start_bar", s.startBar},
                            {"bars", s.bars},
                            {"start_seconds", s.startBar * a.barSeconds()},
                            {"energy", std::round(s.energy * 1000.0) / 1000.0},
                            {"layers", s.layers}});
    const nlohmann::json j{{"form", a.form},         {"bpm", a.bpm},
                           {"beats_per_bar", a.beatsPerBar}, {"total_bars", a.totalBars},
                           {"duration_seconds", a.durationSeconds}, {"loop", a.loop},
                           {"sections", sections}};
    return j.dump(2);
}

}  // namespace soundstar::music

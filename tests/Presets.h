#pragma once
// The shipped preset library, loaded once per test binary.
#include "engine/Preset.h"

namespace soundstar::test {

inline const engine::PresetLibrary& presets() {
    static const engine::PresetLibrary lib = [] {
        engine::PresetLibrary l;
        l.loadDirectory(SOUNDSTAR_DATA "/presets");
        return l;
    }();
    return lib;
}

}  // namespace soundstar::test

#pragma once
// Which voice slot a new note takes, shared by every polyphonic instrument. Order: a free slot;
// the slot already playing the note; the quietest released slot; the oldest slot. A stolen slot
// restarts at once (no cross-fade yet; the order makes it the least audible one). [rt]
#include <array>
#include <cstdint>

namespace soundstar::engine {

template <int kSlots>
class VoiceAllocator {
public:
    struct Slot {
        float note = -1.0f;
        std::uint64_t age = 0;
        bool released = false;
    };
    /// Picks a slot for `note` and marks it as playing it. isActive(i) and level(i) describe the
    /// voices' current state.
    template <typename Active, typename Level>
    int allocate(float note, Active isActive, Level level) {
        int best = -1;
        for (int i = 0; i < kSlots && best < 0; ++i)
            if (!isActive(i)) best = i;
        for (int i = 0; i < kSlots && best < 0; ++i)
            if (slots_[static_cast<std::size_t>(i)].note == note) best = i;
        if (best < 0) {
            float quietest = 1e30f;
            for (int i = 0; i < kSlots; ++i)
                if (slots_[static_cast<std::size_t>(i)].released && level(i) < quietest) {
                    quietest = level(i);
                    best = i;
                }
        }
        if (best < 0) {
            best = 0;
            for (int i = 1; i < kSlots; ++i)
                if (slots_[static_cast<std::size_t>(i)].age < slots_[static_cast<std::size_t>(best)].age) best = i;
        }
        slots_[static_cast<std::size_t>(best)] = {note, ++clock_, false};
        return best;
    }
    /// Marks every unreleased slot playing `note` released; calls onRelease(i) for each.
    template <typename F>
    void release(float note, F onRelease) {
        for (int i = 0; i < kSlots; ++i) {
            auto& s = slots_[static_cast<std::size_t>(i)];
            if (s.note == note && !s.released) {
                s.released = true;
                onRelease(i);
            }
        }
    }
    template <typename F>
    void releaseAll(F onRelease) {
        for (int i = 0; i < kSlots; ++i) {
            slots_[static_cast<std::size_t>(i)].released = true;
            onRelease(i);
        }
    }

private:
    std::array<Slot, kSlots> slots_{};
    std::uint64_t clock_ = 0;
};

}  // namespace soundstar::engine

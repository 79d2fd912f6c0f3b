#pragma once
// Voice allocation and stealing shared by the polyphonic instruments. Parameter values live in
// one array the voices read (p[index], index into params()). A voice type V provides
// prepare(sr, const float* p), start(note, velocity), release(), active(), level(), render(mono, n)
// (adding). Slots are chosen by VoiceAllocator. [rt after prepare]
#include <algorithm>
#include <array>
#include <vector>

#include "engine/Instrument.h"
#include "engine/VoiceAllocator.h"

namespace soundstar::engine {

template <typename V, int kVoices>
class PolyInstrument : public Instrument {
public:
    static constexpr int kMaxParams = 32;

    void prepare(double sampleRate, int maxBlock) override {
        mono_.assign(static_cast<std::size_t>(maxBlock), 0.0f);
        for (auto& v : voices_) v.prepare(sampleRate, p_.data());
    }
    void setParam(int index, float value) override {
        if (index >= 0 && index < kMaxParams) p_[static_cast<std::size_t>(index)] = value;
    }
    float param(int index) const { return p_[static_cast<std::size_t>(index)]; }
    void noteOn(float note, float velocity) override {
        const int i = alloc_.allocate(
            note, [&](int k) { return voices_[static_cast<std::size_t>(k)].active(); },
            [&](int k) { return voices_[static_cast<std::size_t>(k)].level(); });
        voices_[static_cast<std::size_t>(i)].start(note, velocity);
    }
    void noteOff(float note) override {
        alloc_.release(note, [&](int k) { voices_[static_cast<std::size_t>(k)].release(); });
    }
    void allNotesOff() override {
        alloc_.releaseAll([&](int k) { voices_[static_cast<std::size_t>(k)].release(); });
    }
    void process(StereoView io) override {
        float* m = mono_.data();
        std::fill(m, m + io.frames, 0.0f);
        for (auto& v : voices_)
            if (v.active()) v.render(m, io.frames);
        renderStereo(m, io);
    }
    int activeVoices() const override {
        int n = 0;
        for (const auto& v : voices_) n += v.active() ? 1 : 0;
        return n;
    }

protected:
    /// Sets every parameter to its default; call from the derived constructor.
    void initParams() {
        const auto specs = params();
        for (std::size_t i = 0; i < specs.size() && i < p_.size(); ++i) p_[i] = specs[i].def;
    }
    /// Mono voices to stereo; instruments may override for width.
    virtual void renderStereo(const float* mono, StereoView io) {
        for (int i = 0; i < io.frames; ++i) io.left[i] = io.right[i] = mono[i];
    }

private:
    std::array<V, kVoices> voices_{};
    VoiceAllocator<kVoices> alloc_;
    std::array<float, kMaxParams> p_{};
    std::vector<float> mono_;
};

}  // namespace soundstar::engine

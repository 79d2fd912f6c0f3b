#pragma once
// Voice allocation and stealing shared by the polyphonic instruments. Parameter values live in
// one array the voices read (p[index], index into params()). A voice type V provides
// prepare(sr, const float* p), start(note, velocity), release(), active(), level(), render(mono, n)
// (adding). Stealing order: a free voice; the voice already playing the note; the quietest
// released voice; the oldest voice. A stolen voice restarts at once (no cross-fade yet; the
// order above makes the stolen voice the least audible one). [rt after prepare]
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "engine/Instrument.h"

namespace soundstar::engine {

template <typename V, int kVoices>
class PolyInstrument : public Instrument {
public:
    static constexpr int kMaxParams = 32;

    void prepare(double sampleRate, int maxBlock) override {
        sampleRate_ = sampleRate;
        mono_.assign(static_cast<std::size_t>(maxBlock), 0.0f);
        for (auto& v : voices_) v.voice.prepare(sampleRate, p_.data());
    }
    void setParam(int index, float value) override {
        if (index >= 0 && index < kMaxParams) p_[static_cast<std::size_t>(index)] = value;
    }
    float param(int index) const { return p_[static_cast<std::size_t>(index)]; }
    void noteOn(float note, float velocity) override {
        Slot& s = allocate(note);
        s.note = note;
        s.age = ++clock_;
        s.voice.start(note, velocity);
    }
    void noteOff(float note) override {
        for (auto& s : voices_)
            if (s.note == note && s.voice.active() && !s.released) {
                s.voice.release();
                s.released = true;
            }
    }
    void allNotesOff() override {
        for (auto& s : voices_) {
            s.voice.release();
            s.released = true;
        }
    }
    void process(StereoView io) override {
        float* m = mono_.data();
        std::fill(m, m + io.frames, 0.0f);
        for (auto& s : voices_)
            if (s.voice.active()) s.voice.render(m, io.frames);
        renderStereo(m, io);
    }
    int activeVoices() const override {
        int n = 0;
        for (const auto& s : voices_) n += s.voice.active() ? 1 : 0;
        return n;
    }
    double sampleRate() const { return sampleRate_; }

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
    struct Slot {
        V voice;
        float note = -1.0f;
        std::uint64_t age = 0;
        bool released = false;
    };
    Slot& allocate(float note) {
        Slot* best = nullptr;
        for (auto& s : voices_)
            if (!s.voice.active()) {
                best = &s;
                break;
            }
        if (!best)
            for (auto& s : voices_)
                if (s.note == note) {
                    best = &s;
                    break;
                }
        if (!best) {
            float quietest = 1e9f;
            for (auto& s : voices_)
                if (s.released && s.voice.level() < quietest) {
                    quietest = s.voice.level();
                    best = &s;
                }
        }
        if (!best) {
            best = &voices_[0];
            for (auto& s : voices_)
                if (s.age < best->age) best = &s;
        }
        best->released = false;
        return *best;
    }
    std::array<Slot, kVoices> voices_{};
    std::array<float, kMaxParams> p_{};
    std::vector<float> mono_;
    double sampleRate_ = 48000.0;
    std::uint64_t clock_ = 0;
};

}  // namespace soundstar::engine

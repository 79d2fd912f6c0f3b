#pragma once
// Envelopes: ADSR (linear attack, exponential decay and release) and a multi-segment
// breakpoint envelope. prepare() [control]; gate and tick [rt].
#include <algorithm>
#include <array>
#include <cmath>

namespace soundstar::dsp {

class Adsr {
public:
    enum class Stage { Idle, Attack, Decay, Sustain, Release };

    void prepare(double sampleRate) {
        sampleRate_ = static_cast<float>(sampleRate);
        update();
    }
    /// Times in seconds (>= 0), sustain level 0..1.
    void set(float attackS, float decayS, float sustain, float releaseS) {
        attackS_ = std::max(attackS, 0.0f);
        decayS_ = std::max(decayS, 0.0f);
        sustain_ = std::clamp(sustain, 0.0f, 1.0f);
        releaseS_ = std::max(releaseS, 0.0f);
        update();
    }
    void gateOn() { stage_ = Stage::Attack; }
    void gateOff() {
        if (stage_ != Stage::Idle) stage_ = Stage::Release;
    }
    void reset() {
        stage_ = Stage::Idle;
        level_ = 0.0f;
    }
    bool active() const { return stage_ != Stage::Idle; }
    Stage stage() const { return stage_; }
    float level() const { return level_; }

    float tick() {
        switch (stage_) {
            case Stage::Idle: return 0.0f;
            case Stage::Attack:
                level_ += attackInc_;
                if (level_ >= 1.0f) {
                    level_ = 1.0f;
                    stage_ = Stage::Decay;
                }
                break;
            case Stage::Decay:
                level_ = sustain_ + (level_ - sustain_) * decayCoef_;
                if (level_ - sustain_ < 1e-4f) {
                    level_ = sustain_;
                    stage_ = sustain_ > 0.0f ? Stage::Sustain : Stage::Idle;
                }
                break;
            case Stage::Sustain: level_ = sustain_; break;
            case Stage::Release:
                level_ *= releaseCoef_;
                if (level_ < 1e-4f) {
                    level_ = 0.0f;
                    stage_ = Stage::Idle;
                }
                break;
        }
        return level_;
    }

    /// n samples of tick() at once (the same values to float rounding): decay and release eight
    /// samples per step in closed form (floor + d * c^k from a table of c^1..c^8), the serial
    /// per-sample path only for attacks and where a stage ends.
    void process(float* out, int n) {
        float lvl = level_;
        int i = 0;
        while (i < n) {
            switch (stage_) {
                case Stage::Idle:
                    std::fill(out + i, out + n, 0.0f);
                    i = n;
                    break;
                case Stage::Sustain:
                    lvl = sustain_;
                    std::fill(out + i, out + n, lvl);
                    i = n;
                    break;
                case Stage::Attack:
                    i = runAttack(out, i, n, lvl);
                    break;
                case Stage::Decay:
                    i = runExponential(out, i, n, lvl, sustain_, decayPow_);
                    break;
                case Stage::Release:
                    i = runExponential(out, i, n, lvl, 0.0f, releasePow_);
                    break;
            }
        }
        level_ = lvl;
    }

private:
    static constexpr float kEnd = 1e-4f;  // exponential stages end this close to their floor

    // Linear attack from out[i]; returns where it stopped (n, or just past the stage change).
    // Serial like tick(): attacks are short, and a closed form would end them a sample apart.
    int runAttack(float* out, int i, int n, float& lvl) {
        for (; i < n; ++i) {
            lvl += attackInc_;
            if (lvl >= 1.0f) {
                lvl = 1.0f;
                out[i++] = lvl;
                stage_ = Stage::Decay;
                return i;
            }
            out[i] = lvl;
        }
        return i;
    }
    // Exponential approach to `floor` (decay to sustain, release to 0) with pow = c^1..c^8.
    int runExponential(float* out, int i, int n, float& lvl, float floor, const std::array<float, 8>& pow) {
        float d = lvl - floor;
        for (; i + 8 <= n; i += 8) {
            float v[8];
            for (int k = 0; k < 8; ++k) v[k] = d * pow[static_cast<std::size_t>(k)];
            if (v[7] < kEnd) break;  // monotonic: only the last can cross first
            for (int k = 0; k < 8; ++k) out[i + k] = floor + v[k];
            d = v[7];
        }
        lvl = floor + d;
        const float c = pow[0];
        const bool release = stage_ == Stage::Release;
        for (; i < n; ++i) {
            lvl = floor + (lvl - floor) * c;
            if (lvl - floor < kEnd) {
                lvl = floor;
                out[i++] = lvl;
                stage_ = release || floor <= 0.0f ? Stage::Idle : Stage::Sustain;
                return i;
            }
            out[i] = lvl;
        }
        return i;
    }
    static std::array<float, 8> powers(float c) {
        std::array<float, 8> p{};
        double x = 1.0;
        for (auto& v : p) v = static_cast<float>(x *= c);
        return p;
    }

    // Exponential segments reach -80 dB (1e-4) in the given time.
    float coefFor(float seconds) const {
        const float n = seconds * sampleRate_;
        return n < 1.0f ? 0.0f : std::exp(std::log(1e-4f) / n);
    }
    void update() {
        const float n = attackS_ * sampleRate_;
        attackInc_ = n < 1.0f ? 1.0f : 1.0f / n;
        decayCoef_ = coefFor(decayS_);
        releaseCoef_ = coefFor(releaseS_);
        decayPow_ = powers(decayCoef_);
        releasePow_ = powers(releaseCoef_);
    }
    float sampleRate_ = 48000.0f;
    float attackS_ = 0.01f, decayS_ = 0.1f, sustain_ = 0.7f, releaseS_ = 0.3f;
    float attackInc_ = 1.0f, decayCoef_ = 0.0f, releaseCoef_ = 0.0f, level_ = 0.0f;
    std::array<float, 8> decayPow_{}, releasePow_{};
    Stage stage_ = Stage::Idle;
};

/// Breakpoint envelope of up to 8 segments; each segment ramps to a level over a time with a
/// curve (0 linear, >0 slow start, <0 fast start). An optional sustain point holds while gated.
class MultiSegmentEnvelope {
public:
    struct Segment {
        float level = 0.0f, seconds = 0.0f, curve = 0.0f;
    };
    static constexpr int kMaxSegments = 8;

    void prepare(double sampleRate) { sampleRate_ = static_cast<float>(sampleRate); }
    /// Sets the segments (at most 8 are used); sustainIndex -1 means no hold.
    void setSegments(const Segment* segs, int count, int sustainIndex = -1) {
        count_ = std::min(count, kMaxSegments);
        std::copy(segs, segs + count_, segs_.begin());
        sustain_ = sustainIndex;
    }
    void gateOn() {
        gated_ = true;
        startSegment(0);
    }
    void gateOff() {
        gated_ = false;
        if (index_ >= 0 && index_ <= sustain_ && sustain_ + 1 < count_) startSegment(sustain_ + 1);
    }
    bool active() const { return index_ >= 0; }
    float tick() {
        if (index_ < 0) return level_;
        if (pos_ >= len_) {
            level_ = segs_[index_].level;
            if (index_ == sustain_ && gated_) return level_;
            if (index_ + 1 >= count_) {
                index_ = -1;
                return level_;
            }
            startSegment(index_ + 1);
        }
        const float x = static_cast<float>(pos_++) / static_cast<float>(len_);
        const float c = segs_[index_].curve;
        const float shaped = c == 0.0f ? x : (std::exp(c * x) - 1.0f) / (std::exp(c) - 1.0f);
        level_ = from_ + (segs_[index_].level - from_) * shaped;
        return level_;
    }

private:
    void startSegment(int i) {
        index_ = i;
        from_ = level_;
        pos_ = 0;
        len_ = std::max(1, static_cast<int>(segs_[i].seconds * sampleRate_));
    }
    std::array<Segment, kMaxSegments> segs_{};
    float sampleRate_ = 48000.0f, level_ = 0.0f, from_ = 0.0f;
    int count_ = 0, sustain_ = -1, index_ = -1, pos_ = 0, len_ = 1;
    bool gated_ = false;
};

}  // namespace soundstar::dsp

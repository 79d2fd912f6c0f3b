#pragma once
// A tempo map: beats <-> samples for music whose tempo may ramp [control]. Segments hold a
// tempo that changes linearly in beat time (a musician's accelerando); the last one runs on for
// ever. The beat position is continuous through every change: a ramp never makes the beat jump.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace soundstar::live {

class TempoMap {
public:
    TempoMap(double startSample, double bpm, double sampleRate) : sampleRate_(sampleRate) {
        segments_.push_back({0.0, startSample, bpm, bpm, kForever});
    }

    /// The sample (fractional) where `beat` falls; beats before 0 extrapolate the first tempo.
    double sampleAt(double beat) const {
        const Segment& s = segmentForBeat(beat);
        return s.sample + secondsInto(s, beat - s.beat) * sampleRate_;
    }
    /// The beat (fractional) playing at `sample`.
    double beatAt(double sample) const {
        const Segment& s = segmentForSample(sample);
        const double t = (sample - s.sample) / sampleRate_;
        if (s.bpm0 == s.bpm1 || !std::isfinite(s.beats)) return s.beat + t * s.bpm0 / 60.0;
        const double k = (s.bpm1 - s.bpm0) / s.beats;  // bpm per beat
        return s.beat + s.bpm0 * (std::exp(k * t / 60.0) - 1.0) / k;
    }
    double bpmAt(double beat) const {
        const Segment& s = segmentForBeat(beat);
        if (!std::isfinite(s.beats)) return s.bpm0;
        return s.bpm0 + (s.bpm1 - s.bpm0) * std::clamp((beat - s.beat) / s.beats, 0.0, 1.0);
    }
    /// From `beat` on, the tempo moves linearly (in beats) to `bpm` over `beats` beats, then
    /// stays there. Whatever the map said after `beat` is replaced.
    void rampTo(double beat, double bpm, double beats) {
        const double startBpm = bpmAt(beat), startSample = sampleAt(beat);
        while (segments_.size() > 1 && segments_.back().beat >= beat) segments_.pop_back();
        Segment& last = segments_.back();
        if (last.beat < beat) {  // cut the segment holding `beat` there (its tempo up to it is kept)
            const double cut = beat - last.beat;
            if (std::isfinite(last.beats)) last.bpm1 = last.bpm0 + (last.bpm1 - last.bpm0) * cut / last.beats;
            last.beats = cut;
        } else {
            segments_.pop_back();
        }
        if (beats > 0.0 && bpm != startBpm) {
            segments_.push_back({beat, startSample, startBpm, bpm, beats});
            segments_.push_back({beat + beats, startSample + secondsInto(segments_.back(), beats) * sampleRate_, bpm, bpm, kForever});
        } else {
            segments_.push_back({beat, startSample, bpm, bpm, kForever});
        }
        // Keep the map small over hours: only the recent past is ever asked about.
        if (segments_.size() > maxSegments_) segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(maxSegments_ / 2));
    }
    /// How many segments the map keeps before it forgets the older half (default 64): a map
    /// that may get many changes within the stretch still asked about (the server's transport
    /// under a dense tempo lane) keeps more.
    void keepAtMost(std::size_t segments) { maxSegments_ = std::max<std::size_t>(segments, 4); }

private:
    static constexpr double kForever = std::numeric_limits<double>::infinity();
    struct Segment {
        double beat, sample, bpm0, bpm1, beats;  // beats: length (infinite for the last)
    };
    static double secondsInto(const Segment& s, double d) {
        if (s.bpm0 == s.bpm1 || !std::isfinite(s.beats)) return d * 60.0 / s.bpm0;
        const double k = (s.bpm1 - s.bpm0) / s.beats;
        return 60.0 / k * std::log((s.bpm0 + k * d) / s.bpm0);
    }
    const Segment& segmentForBeat(double beat) const {
        for (std::size_t i = segments_.size(); i-- > 1;)
            if (beat >= segments_[i].beat) return segments_[i];
        return segments_.front();
    }
    const Segment& segmentForSample(double sample) const {
        for (std::size_t i = segments_.size(); i-- > 1;)
            if (sample >= segments_[i].sample) return segments_[i];
        return segments_.front();
    }
    double sampleRate_;
    std::size_t maxSegments_ = 64;
    std::vector<Segment> segments_;
};

}  // namespace soundstar::live

#pragma once
// The whole mix: instrument tracks -> return buses (via sends, or as a track's output) -> master
// chain. Buses feed only the master, so routing has no cycles. Built and
// prepared on the control side, then handed to the AudioEngine, which only renders it.
#include <atomic>
#include <memory>
#include <span>
#include <vector>

#include "engine/Track.h"

namespace soundstar::engine {

/// Addresses in commands: a track index, a return bus (kReturnBase + i) or the master.
constexpr int kMasterAddress = -1;
constexpr int kReturnBase = 1000;

class Graph {
public:
    Graph();
    /// Prepares every track, bus and effect [control]. With `threads` > 1 the tracks and buses are
    /// prepared side by side on that many threads (the slow ones, SoundFonts and samplers, first):
    /// an offline render's start-up. Each part is prepared alone either way, so the graph is the
    /// same; the first part's error (in track order) is thrown after all have finished.
    void prepare(double sampleRate, int maxBlock, int threads = 1);
    /// Renders `out.frames` (<= maxBlock) frames into out [rt]. Each track's peak in the mix
    /// raises its entry of `trackPeaks` (by address; the control side takes and clears them).
    void render(StereoView out, std::span<std::atomic<float>> trackPeaks = {});
    /// The track, bus or master at an address, or nullptr [any].
    Track* at(int address);

    std::vector<std::unique_ptr<Track>> tracks;
    std::vector<std::unique_ptr<Track>> returns;
    Track master;

private:
    int maxBlock_ = 0;
};

}  // namespace soundstar::engine

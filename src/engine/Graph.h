#pragma once
// The whole mix: instrument tracks -> return buses (via sends) -> master chain. Built and
// prepared on the control side, then handed to the AudioEngine, which only renders it.
#include <memory>
#include <vector>

#include "engine/Track.h"

namespace soundstar::engine {

/// Addresses in commands: a track index, a return bus (kReturnBase + i) or the master.
constexpr int kMasterAddress = -1;
constexpr int kReturnBase = 1000;

class Graph {
public:
    Graph();
    /// Prepares every track, bus and effect [control].
    void prepare(double sampleRate, int maxBlock);
    /// Renders `out.frames` (<= maxBlock) frames into out [rt].
    void render(StereoView out);
    /// The track, bus or master at an address, or nullptr [any].
    Track* at(int address);

    std::vector<std::unique_ptr<Track>> tracks;
    std::vector<std::unique_ptr<Track>> returns;
    Track master;

private:
    int maxBlock_ = 0;
};

}  // namespace soundstar::engine

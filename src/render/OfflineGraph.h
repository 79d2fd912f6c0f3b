#pragma once
// Offline rendering of a prepared engine::Graph on every core. The score tracks (each with its
// effect chain) and the return buses are tasks that a small pool runs chunk by chunk, pipelined:
// while the tracks of one chunk render, the returns render the chunk before and the calling
// thread mixes the one before that through the master chain. Every unit sees exactly the blocks
// AudioEngine::render would give it (blocks of the block size, split at every note's sample),
// and sums run in the same order (tracks, then returns), so the result is the same bytes as the
// real-time engine's and does not depend on the number of threads. Stems (each track alone
// through its own copy of the returns) come out of the same pass. The live engine is untouched:
// this is a separate path for offline renders only [control].
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/AudioBuffer.h"
#include "core/Time.h"
#include "engine/Graph.h"

namespace soundstar::render {

struct ScheduledNote;

/// Worker threads for offline renders: SOUNDSTAR_THREADS when set (1-256; anything else is an
/// error naming the variable and the range), else every hardware thread [control].
int defaultRenderThreads();

class OfflineGraph {
public:
    /// `graph` prepared for blockSize; `threads` >= 1 (1: all on the calling thread).
    OfflineGraph(engine::Graph& graph, int blockSize, int threads);
    ~OfflineGraph();
    OfflineGraph(const OfflineGraph&) = delete;
    OfflineGraph& operator=(const OfflineGraph&) = delete;

    /// Stems: stemReturns[t] holds fresh return buses (no tracks, no master chain) for track t;
    /// stems[t] receives that track alone through them.
    struct Stems {
        std::vector<std::unique_ptr<engine::Graph>> returns;
        std::vector<StereoBuffer>* out = nullptr;
    };

    /// Renders frames [0, total) into out (resized), applying `events` (time-ordered, note offs
    /// before ons at equal times, track = address) at their samples. progress(fraction) is
    /// called on the calling thread after each chunk.
    void render(std::span<const ScheduledNote> events, SampleTime total, StereoBuffer& out, Stems* stems = nullptr,
                const std::function<void(double)>& progress = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::render

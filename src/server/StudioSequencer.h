#pragma once
// The sequencer's place in Studio (StudioSequencer.cpp; StudioState.cpp copies it for batches) [control].
#include <functional>
#include <map>
#include <vector>

#include "sequencer/Sequencer.h"
#include "server/Studio.h"

namespace soundstar::server {

struct Studio::SequencerState {
    sequencer::Sequencer seq;
    BeatTime renderedTo = 0.0;  // every event before this transport beat has been queued
    // Transport actions at beats not yet rendered to wait here, so what comes before them plays.
    std::multimap<BeatTime, std::function<void(std::vector<sequencer::Event>&)>> actions;
    long droppedEvents = 0;  // events for a track that no longer exists, or past the scheduler's limit
};

}  // namespace soundstar::server

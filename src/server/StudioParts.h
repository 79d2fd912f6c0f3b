#pragma once
// Studio's private parts, shared by its source files (Studio.cpp, StudioEvents.cpp) [control].
#include <sndfile.h>

#include "io/OutputFiles.h"
#include "server/Studio.h"

namespace soundstar::server {

struct Studio::Job {
    long id = 0;
    RenderJobSpec spec;
    std::string file;                 // as the client named it
    std::string state = "queued";     // queued, running, done, failed (guarded by jobsMutex_)
    std::string error;
    std::atomic<double> progress{0.0};
};

struct Studio::LiveState {
    std::unique_ptr<live::LiveSession> session;
    std::unique_ptr<io::AudioDevice> device;
    std::optional<std::uint64_t> seed;
    SampleTime endAt = -1;  // >= 0: stopping; freed once its clock passes this
};

// A float WAV of what the engine plays, written under a temporary name and renamed on stop.
struct Studio::Recording {
    io::OutputFiles files;
    SNDFILE* sf = nullptr;
    std::string name;
    SampleTime firstSample = 0, frames = 0;
    ~Recording() {
        if (sf) sf_close(sf);
    }
};

}  // namespace soundstar::server

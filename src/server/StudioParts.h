#pragma once
// Studio's private parts, shared by its source files (Studio.cpp, StudioEvents.cpp) [control].
#include <sndfile.h>

#include "dj/DjBrain.h"
#include "dj/DjSet.h"
#include "io/OutputFiles.h"
#include "server/Studio.h"

namespace soundstar::server {

struct Studio::Job {
    long id = 0;
    std::string kind = "render";      // render or generate (its events are named after it)
    RenderJobSpec spec;
    GenerateJobSpec gen;              // kind generate
    std::string file;                 // as the client named it
    std::string stems, midi;          // their names under --data when asked for
    nlohmann::json takeFiles;         // a model job's files, take by take, as the client sees them
    std::string state = "queued";     // queued, running, done, failed, cancelled (guarded by jobsMutex_)
    std::string error;
    nlohmann::json report;            // a model job's: the loop it was fitted into (guarded by jobsMutex_)
    std::atomic<double> progress{0.0};
    std::atomic<bool> cancel{false};  // a running render stops at its next progress report
};

// How far ahead of its playhead the live session is pumped (and a DJ decides its bar lines), in seconds.
constexpr double kLiveAhead = 0.2;

// The live session plays through a track of the studio's own engine (its instrument renders the
// session's engine), so it shares the device, the clock, recordings, meters and audio listeners.
struct Studio::LiveState {
    std::shared_ptr<live::LiveSession> session;  // shared with that track's instrument
    std::optional<std::uint64_t> seed;
    int address = -1;            // the "live" track
    SampleTime startSample = 0;  // the studio sample where the session's sample 0 plays
    SampleTime endAt = -1;       // >= 0: stopping; its track is freed once the session's clock passes this
    bool synced = false;         // live_start's sync: the transport follows the session's tempo changes
    std::uint64_t tempoSeen = 0; // the last of the session's tempo changes the transport has taken
    // A DJ set playing this session (dj_start), or none.
    struct Dj {
        std::unique_ptr<dj::DjBrain> brain;
        std::unique_ptr<dj::DjSet> set;
        dj::DjVibes vibes;
        double minutes = 0.0;
        SampleTime endsAt = -1;  // live sample where a set of `minutes` ends (-1: open-ended)
    };
    std::unique_ptr<Dj> dj;
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

#pragma once
// The clock a live session runs on, for `live` and `dj` [control]: the virtual clock (block by
// block, as fast as the CPU allows) or a device in real time (stdin read line by line, the
// recording tapped off the audio thread). Each block is fed the same way on both: the caller's
// commands due by its first sample, then the session schedules it, so a script gives the same
// bytes on either clock.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "Recorder.h"
#include "core/Time.h"
#include "io/AudioDevice.h"
#include "live/LiveSession.h"

namespace soundstar::app {

/// Timed lines "SECONDS LINE" (from `file`, or stdin when it is empty), sorted by time; at most
/// 10000. Throws std::invalid_argument naming the first bad line.
std::vector<std::pair<double, std::string>> readScript(const std::string& file);

class SessionLoop {
public:
    /// `end`: where it stops (the maximum: until a quit).
    SessionLoop(live::LiveSession& session, Recorder& recorder, double sampleRate, int blockSize, SampleTime end);

    /// The caller's commands due by `fed`, applied before the session schedules that block.
    std::function<void(SampleTime fed)> feed;
    /// Virtual clock: before each block; real clock: every pass (about every 4 ms).
    std::function<void(SampleTime now)> poll;
    /// Real clock: a line typed on stdin (without its newline), and stdin closing.
    std::function<void(const std::string& line, SampleTime now)> line;
    std::function<void(SampleTime now)> stdinClosed;

    /// q, Ctrl-C: silent within 100 ms of `now`; the loop ends after the fade. A scripted quit
    /// (fed ahead, the same on every clock) fades from where nothing is queued yet; an `urgent`
    /// one on the real clock (typed, or a signal) fades from the next block, ahead of the music
    /// already scheduled, and is noted in the events with the sample it was read at.
    void quit(SampleTime now, bool urgent = false);
    bool quitting() const { return quitting_; }
    SampleTime end() const { return end_; }

    void runVirtual();
    /// Plays on `device` (null, default or jack) until the end; `say` tells the user it started.
    /// `own`: a device made by the caller instead (e.g. the DJ's clock client).
    void runRealTime(const std::string& device, const std::function<void(const std::string&)>& say, std::unique_ptr<io::AudioDevice> own = nullptr);

    /// Set by SIGINT while runRealTime plays (and checked on the virtual clock too).
    static std::atomic<bool> interrupted;

private:
    void feedBlock();
    live::LiveSession& session_;
    Recorder& recorder_;
    double sampleRate_;
    int blockSize_;
    SampleTime end_;
    SampleTime fed_ = 0;  // blocks before this sample have been fed
    bool quitting_ = false;
    bool realTime_ = false;
};

}  // namespace soundstar::app

#pragma once
// The real-time engine: owns the current Graph, applies time-stamped commands at their exact
// sample by splitting blocks, renders, and reports back. render() is the audio callback's body
// (or the offline renderer's); it never allocates, locks, logs or throws (STYLE.md rule 1).
#include <array>
#include <atomic>

#include "core/AudioBuffer.h"
#include "core/AudioRing.h"
#include "core/SpscQueue.h"
#include "engine/Command.h"
#include "engine/Graph.h"

namespace soundstar::engine {

class AudioEngine {
public:
    /// The most commands one render() applies; later ones wait for the next block, so no
    /// producer can hold the audio thread however fast it posts.
    static constexpr int kMaxCommandsPerBlock = 2048;

    explicit AudioEngine(std::size_t commandCapacity = 16384);
    ~AudioEngine();
    AudioEngine(const AudioEngine&) = delete;
    AudioEngine& operator=(const AudioEngine&) = delete;

    /// Sets rate and largest block; call before any render and before graphs are built [control].
    void prepare(double sampleRate, int maxBlock);
    double sampleRate() const { return sampleRate_; }
    int maxBlock() const { return maxBlock_; }

    /// Renders out.frames frames (any count; split internally) [rt].
    void render(StereoView out);

    /// Producer side of the command queue: false when full [control, one thread].
    bool post(const Command& c) { return commands_.push(c); }
    /// The urgent lane (a quit's fade, a panic): applied at its time even when commands stamped
    /// later were posted before it and sit ahead of it in the main queue. Only commands that
    /// carry no graph or track; false when full (64) or refused [control, the same thread].
    bool postUrgent(const Command& c) {
        return c.type != CommandType::SwapGraph && c.type != CommandType::ReplaceTrack && urgent_.push(c);
    }
    std::size_t pendingCommands() const { return commands_.size(); }
    /// Sample time of the next frame to render [any]. It moves segment by segment within a
    /// render (a render is split at command times), so a look from another thread may land
    /// inside one.
    SampleTime now() const { return now_.load(std::memory_order_acquire); }
    /// The end of the last whole render() and how many frames it rendered (the device's block)
    /// [any]: for pairing the sample clock with another clock at block boundaries (Link), which
    /// now() would put partway into a block.
    SampleTime renderedUntil() const { return renderedUntil_.load(std::memory_order_acquire); }
    int lastBlockFrames() const { return lastBlockFrames_.load(std::memory_order_acquire); }

    /// Every rendered block is also copied into `ring` (nullptr: none), for a recording or a
    /// pipe read on the control side. Set it before the device starts [control].
    void setTap(AudioRing* ring) { tap_.store(ring, std::memory_order_release); }
    /// Tracks that can be tapped at once (live analysis of several tracks).
    static constexpr int kTrackTaps = 4;
    /// The post-fader output of the track at `address` is also copied into `ring` (nullptr: none)
    /// through tap `slot` (0 to kTrackTaps - 1), for live analysis of tracks. Keep the ring alive
    /// while the device runs: a block being rendered may still write to it, or (when only the
    /// address changes) write one block of the previous track [control].
    void setTrackTap(int slot, int address, AudioRing* ring) {
        if (slot < 0 || slot >= kTrackTaps) return;
        trackTapAddress_[static_cast<std::size_t>(slot)].store(address, std::memory_order_release);
        trackTap_[static_cast<std::size_t>(slot)].store(ring, std::memory_order_release);
    }
    void setTrackTap(int address, AudioRing* ring) { setTrackTap(0, address, ring); }

    SpscQueue<Graph*>& retired() { return retired_; }
    /// An output gate outside the command queue [any]: closed, the output fades to silence over
    /// `fadeSamples` (at least 1) from the next block on, ahead of every command queued (a
    /// transport Stop cannot wait for the look-ahead); opened, it fades back in the same way.
    /// Applied before the meters and the tap, so a recording hears it too.
    void setOutputGate(bool open, int fadeSamples) {
        gateFade_.store(fadeSamples < 1 ? 1 : fadeSamples, std::memory_order_relaxed);
        gateOpen_.store(open, std::memory_order_release);
    }

    /// Tracks replaced in place (ReplaceTrack), to be freed on the control side.
    SpscQueue<Track*>& retiredTracks() { return retiredTracks_; }
    SpscQueue<Report>& reports() { return reports_; }

    /// The last block's render time as a fraction of the block's duration, the blocks that took
    /// longer than their duration, and the voices sounding after the last block (for a status) [any].
    float load() const { return load_.load(std::memory_order_relaxed); }
    long overruns() const { return overruns_.load(std::memory_order_relaxed); }
    int voices() const { return voices_.load(std::memory_order_relaxed); }
    /// Tracks (by address, below kMeteredTracks) whose peaks are kept for per-track meters.
    static constexpr int kMeteredTracks = 64;
    /// The highest sample a track put into the mix (post-fader, 0 while muted) since the last
    /// call, linear; 0 for an address not metered [control, one thread].
    float takeTrackPeak(int address) {
        return address >= 0 && address < kMeteredTracks ? trackPeaks_[static_cast<std::size_t>(address)].exchange(0.0f, std::memory_order_relaxed) : 0.0f;
    }

private:
    void apply(const Command& c);
    void renderSegment(StereoView out);
    double sampleRate_ = 48000.0;
    int maxBlock_ = 512;
    Graph* graph_ = nullptr;
    SpscQueue<Command> commands_;
    SpscQueue<Command> urgent_{64};
    SpscQueue<Graph*> retired_{64};
    SpscQueue<Track*> retiredTracks_{256};
    SpscQueue<Report> reports_{1024};
    std::atomic<SampleTime> now_{0};
    std::atomic<SampleTime> renderedUntil_{0};
    std::atomic<int> lastBlockFrames_{0};
    std::atomic<AudioRing*> tap_{nullptr};
    std::array<std::atomic<AudioRing*>, kTrackTaps> trackTap_{};
    std::array<std::atomic<int>, kTrackTaps> trackTapAddress_{};
    int lateThisBlock_ = 0;
    std::atomic<bool> gateOpen_{true};
    std::atomic<int> gateFade_{480};
    float gateGain_ = 1.0f;  // [rt] where the gate's fade is
    std::atomic<float> load_{0.0f};
    std::atomic<long> overruns_{0};
    std::atomic<int> voices_{0};
    std::array<std::atomic<float>, kMeteredTracks> trackPeaks_{};
};

}  // namespace soundstar::engine

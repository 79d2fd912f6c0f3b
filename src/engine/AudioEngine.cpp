#include "engine/AudioEngine.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/Denormals.h"

namespace soundstar::engine {

AudioEngine::AudioEngine(std::size_t commandCapacity) : commands_(commandCapacity) {}

AudioEngine::~AudioEngine() {
    delete graph_;
    Graph* g = nullptr;
    while (retired_.pop(g)) delete g;
    Track* t = nullptr;
    while (retiredTracks_.pop(t)) delete t;
    Command c;
    while (commands_.pop(c)) {
        if (c.type == CommandType::SwapGraph) delete c.graph;
        if (c.type == CommandType::ReplaceTrack || c.type == CommandType::ReplaceChain) delete c.track;
    }
}

void AudioEngine::prepare(double sampleRate, int maxBlock) {
    sampleRate_ = sampleRate;
    maxBlock_ = std::max(1, maxBlock);
}

void AudioEngine::apply(const Command& c) {
    if (c.type == CommandType::SwapGraph) {
        // The old graph goes back to be freed on the control side; the controller keeps the
        // graphs in flight below the retired queue's capacity, so this push cannot fail.
        if (graph_ && !retired_.push(graph_)) reports_.push({Report::Kind::BadAddress, now(), 1.0f, 0.0f});
        graph_ = c.graph;
        return;
    }
    if (c.type == CommandType::ReplaceTrack) {
        // The controller keeps replacements in flight below retiredTracks' capacity, so the old
        // track (or the unused new one, when the address is bad) can always go back.
        Track* old = c.track;
        if (graph_ && c.address >= 0 && static_cast<std::size_t>(c.address) < graph_->tracks.size()) {
            old = graph_->tracks[static_cast<std::size_t>(c.address)].release();
            graph_->tracks[static_cast<std::size_t>(c.address)].reset(c.track);
        } else {
            reports_.push({Report::Kind::BadAddress, c.time, static_cast<float>(c.address), 0.0f});
        }
        retiredTracks_.push(old);
        return;
    }
    if (c.type == CommandType::ReplaceChain) {
        // As ReplaceTrack: the holder goes back (with the old chain in it, or its own when the
        // address is bad) to be freed on the control side.
        Track* t = graph_ ? graph_->at(c.address) : nullptr;
        if (t && (c.address == kMasterAddress || c.address >= kReturnBase)) t->swapChain(*c.track);
        else reports_.push({Report::Kind::BadAddress, c.time, static_cast<float>(c.address), 0.0f});
        retiredTracks_.push(c.track);
        return;
    }
    if (!graph_) return;
    Track* t = graph_->at(c.address);
    if (!t) {
        reports_.push({Report::Kind::BadAddress, c.time, static_cast<float>(c.address), 0.0f});
        return;
    }
    switch (c.type) {
        case CommandType::NoteOn:
            if (t->instrument) t->instrument->noteOn(c.value, c.value2);
            break;
        case CommandType::NoteOff:
            if (t->instrument) t->instrument->noteOff(c.value);
            break;
        case CommandType::AllNotesOff:
            if (t->instrument) t->instrument->allNotesOff();
            break;
        case CommandType::SetParam:
            if (c.slot < 0) {
                if (t->instrument) t->instrument->setParam(c.index, c.value);
            } else if (static_cast<std::size_t>(c.slot) < t->effects.size()) {
                t->effects[static_cast<std::size_t>(c.slot)]->setParam(c.index, c.value);
            }
            break;
        case CommandType::SetGain: t->setGainDb(c.value); break;
        case CommandType::SetPan: t->setPan(c.value); break;
        case CommandType::SetTrim: t->setTrim(c.value, c.value2); break;
        case CommandType::SetLowCut: t->setLowCut(c.value); break;
        case CommandType::SetMute: t->mute = c.value != 0.0f; break;
        case CommandType::SetSolo: t->solo = c.value != 0.0f; break;
        case CommandType::SetSend: t->setSend(c.index, c.value); break;
        case CommandType::FadeGain:
            t->fadeTo(c.value <= -120.0f ? 0.0f : std::pow(10.0f, std::min(c.value, 12.0f) / 20.0f), c.index,
                      static_cast<FadeShape>(c.value2));
            break;
        case CommandType::SetBypass: t->setBypass(c.slot, c.value != 0.0f); break;
        case CommandType::SetOutput:
            if (t->instrument) t->setOutput(c.index);  // tracks only: a bus or the master feeds the master
            break;
        case CommandType::SwapGraph:
        case CommandType::ReplaceTrack:
        case CommandType::ReplaceChain: break;
    }
}

void AudioEngine::renderSegment(StereoView out) {
    if (out.frames <= 0) return;
    if (graph_) {
        graph_->render(out, trackPeaks_);
        for (std::size_t k = 0; k < trackTap_.size(); ++k)
            if (AudioRing* tap = trackTap_[k].load(std::memory_order_acquire))
                if (Track* t = graph_->at(trackTapAddress_[k].load(std::memory_order_acquire)); t && t != &graph_->master) {
                    const StereoView v = t->buffer().view(out.frames);
                    tap->write(v.left, v.right, static_cast<std::size_t>(out.frames));
                }
    } else {
        out.clear();
    }
    now_.store(now() + out.frames, std::memory_order_release);
}

void AudioEngine::render(StereoView out) {
    DenormalGuard denormals;
    const auto started = std::chrono::steady_clock::now();
    const SampleTime blockStart = now();
    const SampleTime blockEnd = blockStart + out.frames;
    lateThisBlock_ = 0;
    int appliedThisBlock = 0;
    int done = 0;
    while (done < out.frames) {
        // Apply every command due at or before the current sample, then render up to the next
        // command's time (or the block end, or maxBlock frames).
        const SampleTime cur = blockStart + done;
        // A bounded number per block: a producer that keeps posting late commands cannot keep
        // the audio thread here. Past the budget, due commands wait for the next block (and are
        // reported late there); the rest of this block renders in maxBlock segments.
        for (const Command* c; appliedThisBlock < kMaxCommandsPerBlock && (c = urgent_.peek()) && c->time <= cur;) {
            ++appliedThisBlock;
            if (c->time < blockStart) ++lateThisBlock_;
            Command cmd;
            urgent_.pop(cmd);
            apply(cmd);
        }
        while (appliedThisBlock < kMaxCommandsPerBlock) {
            const Command* c = commands_.peek();
            if (!c || c->time > cur) break;
            ++appliedThisBlock;
            // A swap is "as soon as possible" (posted at time 0), never late.
            if (c->time < blockStart && c->type != CommandType::SwapGraph) ++lateThisBlock_;
            Command cmd;
            commands_.pop(cmd);
            apply(cmd);
        }
        // A command may arrive between the loop above and this peek, already due (or late): it
        // waits for the next segment, which starts at least one sample later, never before cur.
        SampleTime until = blockEnd;
        if (appliedThisBlock < kMaxCommandsPerBlock) {
            if (const Command* c = commands_.peek()) until = std::min(until, std::max(c->time, cur + 1));
            if (const Command* c = urgent_.peek()) until = std::min(until, std::max(c->time, cur + 1));
        }
        // Segments also end on multiples of maxBlock in sample time, whatever the caller's block:
        // a device whose period is a multiple of it renders the same segments, so the same bytes,
        // as the virtual clock's blocks of it (per-segment stages, e.g. a leveller, see the split).
        const int n = static_cast<int>(std::min<SampleTime>(until - cur, maxBlock_ - cur % maxBlock_));
        renderSegment(out.offset(done, n));
        done += n;
    }
    // Commands due exactly at the block end wait for the next block (they belong to it).
    const float gateTarget = gateOpen_.load(std::memory_order_acquire) ? 1.0f : 0.0f;
    if (gateGain_ != 1.0f || gateTarget != 1.0f) {
        const float step = 1.0f / static_cast<float>(gateFade_.load(std::memory_order_relaxed));
        float g = gateGain_;
        for (int i = 0; i < out.frames; ++i) {
            g = gateTarget > g ? std::min(gateTarget, g + step) : std::max(gateTarget, g - step);
            out.left[i] *= g, out.right[i] *= g;
        }
        gateGain_ = g;
    }
    float pl = 0.0f, pr = 0.0f;
    for (int i = 0; i < out.frames; ++i) {
        pl = std::max(pl, std::abs(out.left[i]));
        pr = std::max(pr, std::abs(out.right[i]));
    }
    reports_.push({Report::Kind::Meter, blockStart, pl, pr});
    if (AudioRing* tap = tap_.load(std::memory_order_acquire)) tap->write(out.left, out.right, static_cast<std::size_t>(out.frames));
    if (lateThisBlock_ > 0)
        reports_.push({Report::Kind::LateCommands, blockStart, static_cast<float>(lateThisBlock_), 0.0f});
    int voices = 0;
    if (graph_)
        for (const auto& t : graph_->tracks)
            if (t->instrument) voices += t->instrument->activeVoices();
    voices_.store(voices, std::memory_order_relaxed);
    lastBlockFrames_.store(out.frames, std::memory_order_release);
    renderedUntil_.store(blockEnd, std::memory_order_release);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double load = out.frames > 0 ? took * sampleRate_ / out.frames : 0.0;
    load_.store(static_cast<float>(load), std::memory_order_relaxed);
    if (load > 1.0) overruns_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace soundstar::engine

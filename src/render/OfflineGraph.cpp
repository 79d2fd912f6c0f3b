#include "render/OfflineGraph.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/Denormals.h"
#include "core/Timings.h"
#include "dsp/DelayLine.h"
#include "music/JsonText.h"
#include "render/Renderer.h"

namespace soundstar::render {

int defaultRenderThreads() {
    constexpr int kMaxThreads = 256;
    if (const char* env = std::getenv("SOUNDSTAR_THREADS")) {
        const std::string text(env);
        int n = 0;
        std::size_t used = 0;
        try {
            n = std::stoi(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != text.size() || n < 1 || n > kMaxThreads)
            throw std::invalid_argument(fmt::format("SOUNDSTAR_THREADS must be a whole number from 1 to {}, not {}", kMaxThreads,
                                                    music::quoteJson(music::clipText(text, 40))));
        return n;
    }
    return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxThreads);
}

namespace {
/// madvise(advice) over the whole pages inside [begin, end); a refused hint changes no byte.
void adviseWholePages(float* begin, float* end, int advice) {
    static const auto kPage = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto from = (reinterpret_cast<std::uintptr_t>(begin) + kPage - 1) & ~(kPage - 1);
    const auto to = reinterpret_cast<std::uintptr_t>(end) & ~(kPage - 1);
    if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, advice);
}

/// Puts the pages of [begin, end) in place in one call (a kernel without MADV_POPULATE_WRITE
/// refuses, and they are faulted in as they are written). Fresh pages cost about 1.4 us each
/// this way against 1.6 us a fault (a 3-minute render's 69 MB: 25 against 28 ms on this VM).
void populate(float* begin, float* end) { adviseWholePages(begin, end, dsp::ZeroedFloats::kPopulateWrite); }

/// Reserves a whole render's channel, minutes of audio and tens of MB, in ordinary pages. No
/// transparent huge pages: on this VM a huge page comes from memory the guest has handed back to
/// the host, and the first touch of a 3-minute render's 69 MB took 145-240 ms after a few idle
/// seconds (4-6 ms only when a run came straight after another had freed them), against
/// 25-44 ms for small pages, which the kernel recycles warm.
/// `zero`: sized and zeroed now; otherwise left empty, to grow chunk by chunk (growWholeRender).
void sizeWholeRender(std::vector<float>& channel, std::size_t frames, bool zero) {
    channel.clear();
    channel.reserve(frames);
    adviseWholePages(channel.data(), channel.data() + frames, MADV_NOHUGEPAGE);  // said outright, for THP "always"
    if (zero) {
        populate(channel.data(), channel.data() + frames);
        channel.assign(frames, 0.0f);
    }
}

/// Grows a reserved whole-render buffer to `frames` (within its capacity: it never moves). The
/// master mixes chunk after chunk into it, so its pages are put in place a chunk at a time
/// while the other threads render, not all at once before they start.
void growWholeRender(StereoBuffer& out, std::size_t frames) {
    for (auto* b : {&out.left(), &out.right()})
        if (b->size() < frames) {
            populate(b->data() + b->size(), b->data() + frames);
            b->resize(frames);
        }
}

/// A run of frames with no note inside: what AudioEngine::render hands the graph between two
/// command times (or block edges). Notes [eventBegin, eventEnd) apply at its first frame.
struct Segment {
    int offset = 0, frames = 0;  // within the chunk
    std::size_t eventBegin = 0, eventEnd = 0;
};

/// A chunk-long stereo buffer inside a Chunk's memory.
struct Lane {
    float* left = nullptr;
    float* right = nullptr;
    int frames = 0;
    StereoView view() const { return {left, right, frames}; }
};

/// One chunk's work: its segments and every track's output and send levels over them.
struct Chunk {
    SampleTime start = 0;
    int frames = 0;
    std::vector<Segment> segments;
    // Every lane in one zeroed block (1.5 MB for six tracks and two returns), its pages put in
    // place in one call (dsp::ZeroedFloats) rather than by a memset (4-6 ms of a short render on
    // this VM) or a page fault at a time. Each lane is written before it is read.
    dsp::ZeroedFloats memory;
    std::vector<Lane> tracks;
    std::vector<std::vector<float>> sends;  // [track][segment * kMaxSends + bus]
    std::vector<Lane> returns;              // each return bus's output over the chunk

    void allocate(std::size_t trackCount, std::size_t returnCount, int chunkFrames) {
        const auto n = static_cast<std::size_t>(chunkFrames);
        memory = dsp::ZeroedFloats::populated(2 * n * (trackCount + returnCount));
        float* p = memory.data();
        const auto lanes = [&](std::vector<Lane>& v, std::size_t count) {
            v.resize(count);
            for (Lane& l : v) {
                l = {p, p + n, chunkFrames};
                p += 2 * n;
            }
        };
        lanes(tracks, trackCount);
        lanes(returns, returnCount);
        sends.resize(trackCount);
    }
};
}  // namespace

struct OfflineGraph::Impl {
    engine::Graph& graph;
    int blockSize;
    int chunkFrames = 0;  // 0 until render() sizes the chunks for its length
    std::vector<bool> audible;  // mute and solo, as Graph::render reads them (fixed offline)
    int sendCount = 0;
    Chunk chunks[3];  // a chunk's tracks, then its returns, then its master: three in flight
    std::span<const ScheduledNote> events;
    Stems* stems = nullptr;

    // The pool. Round k renders the tracks of chunk k and the return buses of chunk k - 1 as
    // tasks (numbers below the track count are tracks, the rest returns) that every thread
    // claims in turn; the calling thread first runs the master over chunk k - 2.
    std::vector<std::thread> workers;
    std::mutex mutex;
    std::condition_variable start, done;
    std::atomic<long> round{0};
    bool quit = false;
    std::atomic<int> busyWorkers{0};
    Chunk* trackWork = nullptr;   // chunk k (nullptr: none)
    Chunk* returnWork = nullptr;  // chunk k - 1
    std::atomic<int> nextTask{0};
    std::vector<std::size_t> order;  // the order tasks are claimed in
    std::vector<double> cost;        // seconds each took the round before (written by its own task only)
    std::vector<double> totalCost;   // seconds each took over the whole render (for SOUNDSTAR_TIMINGS)
    double masterCost = 0.0, waitCost = 0.0;

    Impl(engine::Graph& g, int block, int threads) : graph(g), blockSize(std::max(1, block)) {
        const bool anySolo = std::any_of(g.tracks.begin(), g.tracks.end(), [](const auto& t) { return t->solo; });
        for (const auto& t : g.tracks) audible.push_back(!(t->mute || (anySolo && !t->solo)));
        sendCount = std::min<int>(static_cast<int>(g.returns.size()), engine::Track::kMaxSends);
        const std::size_t tasks = g.tracks.size() + g.returns.size();
        for (std::size_t t = 0; t < tasks; ++t) order.push_back(t);
        cost.assign(tasks, 0.0);
        totalCost.assign(tasks, 0.0);
        const int extra = std::min(threads, static_cast<int>(tasks)) - 1;
        for (int i = 0; i < extra; ++i) workers.emplace_back([this] { workerLoop(); });
    }

    ~Impl() {
        {
            std::lock_guard lock(mutex);
            quit = true;
        }
        start.notify_all();
        for (auto& w : workers) w.join();
    }

    void workerLoop() {
        DenormalGuard denormals;  // as the audio callback runs: the same bytes on every thread
        long seen = 0;
        for (;;) {
            spinWhile([&] { return round.load(std::memory_order_acquire) == seen; });
            {
                std::unique_lock lock(mutex);
                start.wait(lock, [&] { return quit || round.load() != seen; });
                if (quit) return;
                seen = round.load();
            }
            claimTasks();
            if (busyWorkers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard lock(mutex);
                done.notify_one();
            }
        }
    }

    /// Waits for `busy` to turn false by spinning, for at most about 50 us: a round's wait is
    /// short (the other thread's last task, or the main thread planning the next chunk), and a
    /// futex sleep and wake-up on this VM cost more than that. The caller then blocks on its
    /// condition variable as before, so a descheduled peer costs one bounded spin, not a core.
    template <typename Busy>
    static void spinWhile(Busy busy) {
        constexpr auto kSpin = std::chrono::microseconds(50);
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int i = 1; busy(); ++i) {
            for (int k = 0; k < 16; ++k) spinPause();
            if (i % 8 == 0 && std::chrono::steady_clock::now() > until) return;
        }
    }
    static void spinPause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }

    /// Chunks of 32 blocks (8192 frames at 256), or fewer for a short render: some 16 chunks
    /// or more, down to 4 blocks. The three chunks' lanes are fresh memory, and on a virtual
    /// machine each fresh page costs about 7 us (a 1 s render's 1.8 MB of lanes: 3 ms); a round
    /// costs tens of microseconds. Chunk edges fall on block edges, so no sample changes.
    void sizeChunks(SampleTime total) {
        const SampleTime perChunk = (total + 15) / 16;
        const auto blocks = static_cast<int>(std::clamp<SampleTime>((perChunk + blockSize - 1) / blockSize, 4, 32));
        if (blocks * blockSize == chunkFrames) return;
        chunkFrames = blocks * blockSize;
        for (auto& c : chunks) c.allocate(graph.tracks.size(), graph.returns.size(), chunkFrames);
    }

    void claimTasks() {
        const std::size_t tracks = graph.tracks.size();
        for (int i; (i = nextTask.fetch_add(1)) < static_cast<int>(order.size());) {
            const std::size_t task = order[static_cast<std::size_t>(i)];
            Chunk* c = task < tracks ? trackWork : returnWork;
            if (!c) continue;
            const auto began = std::chrono::steady_clock::now();
            if (task < tracks) renderTrack(task, *c);
            else renderReturn(task - tracks, *c);
            cost[task] = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
            totalCost[task] += cost[task];
        }
    }

    /// Longest first, by what each task took the round before: the threads finish together.
    /// Which thread runs a task changes no sample, so timing may decide it.
    void orderByCost() {
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    }

    /// Cuts [start, start + frames) into segments exactly as AudioEngine::render would.
    void plan(Chunk& c, SampleTime startAt, int frames, std::size_t& next) const {
        c.start = startAt;
        c.frames = frames;
        c.segments.clear();
        for (SampleTime pos = startAt; pos < startAt + frames; pos += blockSize) {
            const SampleTime blockEnd = std::min<SampleTime>(pos + blockSize, startAt + frames);
            for (SampleTime cur = pos; cur < blockEnd;) {
                const std::size_t begin = next;
                while (next < events.size() && events[next].time <= cur) ++next;
                SampleTime until = blockEnd;
                if (next < events.size() && events[next].time < blockEnd) until = events[next].time;
                c.segments.push_back({static_cast<int>(cur - startAt), static_cast<int>(until - cur), begin, next});
                cur = until;
            }
        }
        for (auto& s : c.sends) s.assign(c.segments.size() * engine::Track::kMaxSends, 0.0f);
    }

    void renderTrack(std::size_t t, Chunk& c) {
        engine::Track& track = *graph.tracks[t];
        auto& out = c.tracks[t];  // this task's alone
        auto& sends = c.sends[t];
        for (std::size_t si = 0; si < c.segments.size(); ++si) {
            const Segment& seg = c.segments[si];
            for (std::size_t e = seg.eventBegin; e < seg.eventEnd; ++e) {
                const ScheduledNote& note = events[e];
                if (static_cast<std::size_t>(note.track) != t || !track.instrument) continue;
                if (note.velocity > 0.0f) track.instrument->noteOn(note.note, note.velocity);
                else track.instrument->noteOff(note.note);
            }
            const StereoView tv = out.view().offset(seg.offset, seg.frames);
            track.renderInto(tv, true);
            if (audible[t])
                for (int b = 0; b < sendCount; ++b) sends[si * engine::Track::kMaxSends + static_cast<std::size_t>(b)] = track.nextSend(b, seg.frames);
            if (stems) renderStem(t, c, si, tv);
        }
    }

    /// Track t alone through its own returns and an empty master: Graph::render with one track.
    void renderStem(std::size_t t, const Chunk& c, std::size_t si, const StereoView& tv) {
        engine::Graph& g = *stems->returns[t];
        const Segment& seg = c.segments[si];
        const int n = seg.frames;
        StereoView mix = g.master.buffer().view(n);
        mix.clear();
        for (auto& r : g.returns) r->buffer().view(n).clear();
        mix.addFrom(tv);
        const int count = std::min<int>(static_cast<int>(g.returns.size()), engine::Track::kMaxSends);
        for (int b = 0; b < count; ++b) {
            const float s = c.sends[t][si * engine::Track::kMaxSends + static_cast<std::size_t>(b)];
            if (s > 0.0f) g.returns[static_cast<std::size_t>(b)]->buffer().view(n).addFrom(tv, s);
        }
        for (auto& r : g.returns) {
            r->render(n, false);
            if (!r->mute) mix.addFrom(r->buffer().view(n));
        }
        g.master.render(n, false);
        auto& stem = (*stems->out)[t];
        const auto at = static_cast<std::size_t>(c.start + seg.offset);
        std::copy(mix.left, mix.left + n, stem.left().data() + at);
        std::copy(mix.right, mix.right + n, stem.right().data() + at);
    }

    /// Return bus b over a chunk whose tracks are rendered: per segment, the tracks' sends in
    /// track order, then its chain (Graph::render's steps for one bus).
    void renderReturn(std::size_t b, Chunk& c) {
        engine::Track& bus = *graph.returns[b];
        const bool fed = static_cast<int>(b) < sendCount;
        for (std::size_t si = 0; si < c.segments.size(); ++si) {
            const Segment& seg = c.segments[si];
            const int n = seg.frames;
            const StereoView in = c.returns[b].view().offset(seg.offset, n);  // summed and rendered in place
            in.clear();
            for (std::size_t t = 0; fed && t < graph.tracks.size(); ++t) {
                if (!audible[t]) continue;
                const float s = c.sends[t][si * engine::Track::kMaxSends + b];
                if (s > 0.0f) in.addFrom(c.tracks[t].view().offset(seg.offset, n), s);
            }
            bus.renderInto(in, false);
        }
    }

    /// The master over a chunk whose tracks and returns are rendered: tracks in order, then
    /// returns in order, then the master chain, segment by segment.
    void master(Chunk& c, StereoBuffer& out) {
        growWholeRender(out, static_cast<std::size_t>(c.start + c.frames));
        for (const Segment& seg : c.segments) {
            const int n = seg.frames;
            const StereoView mix = out.view().offset(static_cast<int>(c.start) + seg.offset, n);  // mixed and rendered in place
            mix.clear();
            for (std::size_t t = 0; t < graph.tracks.size(); ++t)
                if (audible[t]) mix.addFrom(c.tracks[t].view().offset(seg.offset, n));
            for (std::size_t b = 0; b < graph.returns.size(); ++b)
                if (!graph.returns[b]->mute) mix.addFrom(c.returns[b].view().offset(seg.offset, n));
            graph.master.renderInto(mix, false);
        }
    }

    void runRound(Chunk* tracksOf, Chunk* returnsOf, Chunk* masterOf, StereoBuffer& out) {
        orderByCost();
        {
            std::lock_guard lock(mutex);
            trackWork = tracksOf;
            returnWork = returnsOf;
            nextTask.store(0);
            busyWorkers = static_cast<int>(workers.size());
            ++round;
        }
        start.notify_all();
        const auto began = std::chrono::steady_clock::now();
        if (masterOf) master(*masterOf, out);
        const auto mastered = std::chrono::steady_clock::now();
        masterCost += std::chrono::duration<double>(mastered - began).count();
        claimTasks();
        const auto claimed = std::chrono::steady_clock::now();
        spinWhile([&] { return busyWorkers.load(std::memory_order_acquire) != 0; });
        std::unique_lock lock(mutex);
        done.wait(lock, [&] { return busyWorkers.load() == 0; });
        waitCost += std::chrono::duration<double>(std::chrono::steady_clock::now() - claimed).count();
    }
};

OfflineGraph::OfflineGraph(engine::Graph& graph, int blockSize, int threads)
    : impl_(std::make_unique<Impl>(graph, blockSize, std::max(1, threads))) {}

OfflineGraph::~OfflineGraph() = default;

void OfflineGraph::render(std::span<const ScheduledNote> events, SampleTime total, StereoBuffer& out, Stems* stems,
                          const std::function<void(double)>& progress) {
    Impl& im = *impl_;
    DenormalGuard denormals;
    im.events = events;
    im.stems = stems;
    const auto frames = static_cast<std::size_t>(total);
    for (auto* b : {&out.left(), &out.right()}) sizeWholeRender(*b, frames, false);
    if (stems)
        for (auto& s : *stems->out)
            for (auto* b : {&s.left(), &s.right()}) sizeWholeRender(*b, frames, true);  // written by the track tasks
    im.sizeChunks(total);
    std::size_t next = 0;
    const long chunks = static_cast<long>((total + im.chunkFrames - 1) / im.chunkFrames);
    const auto slot = [&](long k) { return k >= 0 && k < chunks ? &im.chunks[k % 3] : nullptr; };
    // Round k: the tracks of chunk k, the returns of chunk k - 1, the master of chunk k - 2.
    for (long k = 0; k < chunks + 2; ++k) {
        if (Chunk* c = slot(k)) {
            const SampleTime pos = k * static_cast<SampleTime>(im.chunkFrames);
            im.plan(*c, pos, static_cast<int>(std::min<SampleTime>(im.chunkFrames, total - pos)), next);
        }
        im.runRound(slot(k), slot(k - 1), slot(k - 2), out);
        if (progress && k < chunks)
            progress(static_cast<double>(std::min<SampleTime>(total, (k + 1) * static_cast<SampleTime>(im.chunkFrames))) /
                     static_cast<double>(total));
    }
    growWholeRender(out, frames);  // a render of no frames has no chunk
    if (core::timingsOn()) {  // where the render's CPU went, task by task
        const std::size_t tracks = im.graph.tracks.size();
        for (std::size_t t = 0; t < im.totalCost.size(); ++t) {
            const auto& track = t < tracks ? *im.graph.tracks[t] : *im.graph.returns[t - tracks];
            std::string chain = track.instrument ? track.instrument->kind() : "";
            for (const auto& fx : track.effects) chain += fmt::format("{}{}", chain.empty() ? "" : " ", fx->kind());
            core::timingNote(fmt::format("{} {} {:.1f} ms ({})", t < tracks ? "track" : "return", track.name, im.totalCost[t] * 1e3, chain).c_str());
        }
        core::timingNote(fmt::format("master mix and chain {:.1f} ms; {} rounds, the main thread waited {:.1f} ms", im.masterCost * 1e3,
                                     chunks + 2, im.waitCost * 1e3).c_str());
    }
}

}  // namespace soundstar::render

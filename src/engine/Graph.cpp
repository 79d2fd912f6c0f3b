#include "engine/Graph.h"

#include "dsp/DelayLine.h"

#include <system_error>
#include <thread>

#include <string_view>

#include <numeric>

#include <exception>

#include <algorithm>
#include <cmath>

namespace soundstar::engine {

Graph::Graph() { master.name = "master"; }

void Graph::prepare(double sampleRate, int maxBlock, int threads) {
    maxBlock_ = maxBlock;
    std::vector<Track*> parts;
    for (auto& t : tracks) parts.push_back(t.get());
    for (auto& r : returns) parts.push_back(r.get());
    parts.push_back(&master);
    const int helpers = std::min(threads, static_cast<int>(parts.size())) - 1;
    if (helpers <= 0) {
        for (Track* p : parts) p->prepare(sampleRate, maxBlock);
        return;
    }
    // Slowest first, so one long part (a SoundFont's synth and samples) starts at once and the
    // rest fill in around it: SoundFonts, then samplers, then the others in order.
    const auto weight = [](const Track* t) {
        const std::string_view kind = t->instrument ? t->instrument->kind() : "";
        return kind == "soundfont" ? 0 : kind == "sampler" || kind == "drums" ? 1 : 2;
    };
    std::vector<std::size_t> order(parts.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return weight(parts[a]) < weight(parts[b]); });
    std::vector<std::exception_ptr> errors(parts.size());
    std::atomic<std::size_t> next{0};
    const std::size_t populate = dsp::ZeroedFloats::populateUpTo();
    const auto work = [&] {
        const dsp::PopulateScope scope(populate);
        for (std::size_t k; (k = next.fetch_add(1)) < order.size();) {
            try {
                parts[order[k]]->prepare(sampleRate, maxBlock);
            } catch (...) {
                errors[order[k]] = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    try {
        for (int i = 0; i < helpers; ++i) pool.emplace_back(work);
    } catch (const std::system_error&) {  // no more threads: this one does the rest
    }
    work();
    for (auto& t : pool) t.join();
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
}

Track* Graph::at(int address) {
    if (address == kMasterAddress) return &master;
    if (address >= kReturnBase) {
        const auto i = static_cast<std::size_t>(address - kReturnBase);
        return i < returns.size() ? returns[i].get() : nullptr;
    }
    if (address >= 0 && static_cast<std::size_t>(address) < tracks.size())
        return tracks[static_cast<std::size_t>(address)].get();
    return nullptr;
}

void Graph::render(StereoView out, std::span<std::atomic<float>> trackPeaks) {
    const int n = out.frames;
    StereoView mix = master.buffer().view(n);
    mix.clear();
    for (auto& r : returns) r->buffer().view(n).clear();
    const bool anySolo = std::any_of(tracks.begin(), tracks.end(), [](const auto& t) { return t->solo; });
    const int sends = std::min<int>(static_cast<int>(returns.size()), Track::kMaxSends);
    for (std::size_t i = 0; i < tracks.size(); ++i) {
        auto& t = tracks[i];
        t->render(n, true);  // instruments keep sounding (and decaying) while muted
        if (t->mute || (anySolo && !t->solo)) continue;
        StereoView tv = t->buffer().view(n);
        if (i < trackPeaks.size()) {
            float peak = 0.0f;
            for (int f = 0; f < n; ++f) peak = std::max({peak, std::abs(tv.left[f]), std::abs(tv.right[f])});
            // Only the audio thread raises it; a take between the load and the store loses one block's peak at most.
            if (peak > trackPeaks[i].load(std::memory_order_relaxed)) trackPeaks[i].store(peak, std::memory_order_relaxed);
        }
        t->route(n, [&](int bus) { return bus >= 0 && bus < sends ? returns[static_cast<std::size_t>(bus)]->buffer().view(n) : mix; });
        for (int b = 0; b < sends; ++b) {
            const float s = t->nextSend(b, n);
            if (s > 0.0f) returns[static_cast<std::size_t>(b)]->buffer().view(n).addFrom(tv, s);
        }
    }
    for (auto& r : returns) {
        r->render(n, false);
        if (!r->mute) mix.addFrom(r->buffer().view(n));
    }
    master.render(n, false);
    std::copy(mix.left, mix.left + n, out.left);
    std::copy(mix.right, mix.right + n, out.right);
}

}  // namespace soundstar::engine

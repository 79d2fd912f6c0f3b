// soundstar::Stream: the live session (src/live) pulled on the caller's clock and steered with the
// lines `soundstar live` reads; a stream of items schedules its own changes as it is pulled.
#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>

#include "Checks.h"
#include "EngineImpl.h"
#include "live/LiveSession.h"
#include "live/Steering.h"
#include "music/JsonText.h"
#include "pipeline/RenderJob.h"

namespace soundstar {
namespace {
constexpr std::size_t kMaxWarnings = 64;

StreamEvent toEvent(const live::StreamEvent& e, double sampleRate) {
    return {e.sample, static_cast<double>(e.sample) / sampleRate, e.kind, e.label, e.bar, e.bpm, e.seconds};
}

bool asksForMusic(const live::SteeringCommand& c) { return !c.quit && !c.layers && (c.vibeText || !c.blend.empty() || c.config); }
}  // namespace

struct Stream::Impl {
    Impl(std::shared_ptr<const pipeline::DataSet> d, const StreamOptions& o) : data(std::move(d)), options(o) {
        api::checkSampleRate(o.sampleRateHz);
        api::checkRange("transition", o.transitionSeconds, 0.05, 600.0, " s");
        api::checkRange("target loudness", o.targetLufs, -40.0, -6.0, " LUFS");
        api::checkRange("end fade", o.endFadeSeconds, 0.02, 60.0, " s");
        sr = o.sampleRateHz;
    }

    struct Queued {
        live::StreamVibe vibe;
        double transitionSeconds = 0.0;
        SampleTime changeAt = 0;  // the change into it is asked for here (it starts on the next bar line)
    };

    std::shared_ptr<const pipeline::DataSet> data;
    StreamOptions options;
    double sr = 44100.0;
    std::unique_ptr<live::LiveSession> session;
    bool ofItems = false;
    std::deque<Queued> queued;  // items not yet started
    music::MusicConfig lastConfig;  // the last item's, which a step in the next one starts from
    SampleTime itemsEnd = 0;    // where the last item ends
    SampleTime end = -1;        // -1: endless
    bool fading = false;
    SampleTime rendered = 0;    // frames the engine has rendered
    SampleTime delivered = 0;   // frames pulled
    StereoBuffer block;
    int blockRead = 0, blockFill = 0;
    std::vector<std::string> warnings;

    live::StreamVibe vibeFromText(const std::string& text) {
        pipeline::RenderArgs a;
        a.prompt = text;
        a.seed = options.seed;
        a.quiet = true;
        a.warn = [this](const std::string& w) {
            if (warnings.size() < kMaxWarnings) warnings.push_back(music::clipText(w, 400));
        };
        std::vector<std::string> understood;
        const auto cfg = pipeline::resolveConfig(*data, a, understood);
        return {text, cfg, pipeline::sketchFor(*data, cfg), 0.0};
    }

    live::StreamVibe vibeFor(const live::SteeringCommand& c) {
        if (c.vibeText) return vibeFromText(*c.vibeText);
        music::MusicConfig cfg;
        if (!c.blend.empty()) {
            std::vector<std::pair<music::MusicConfig, double>> parts;
            for (const auto& [text, weight] : c.blend) parts.emplace_back(vibeFromText(text).config, weight);
            cfg = live::blendConfigs(parts);
        } else {
            cfg = *c.config;
        }
        return {c.label, cfg, pipeline::sketchFor(*data, cfg), 0.0};
    }

    /// An item read as a stream reads it: a steering line that asks for music.
    live::StreamVibe itemVibe(const StreamItem& item, const music::MusicConfig& before) {
        const auto c = live::parseSteering(item.vibe, before);
        if (!asksForMusic(c))
            throw std::invalid_argument(fmt::format("stream item '{}' asks for no music; give text, a blend (blend a 0.7, b 0.3) or a step (+bright, b 130)",
                                                    music::clipText(item.vibe, 80)));
        return vibeFor(c);
    }

    void start(const live::StreamVibe& first) {
        live::LiveOptions o;
        o.sampleRate = sr;
        o.transitionSeconds = options.transitionSeconds;
        o.targetLufs = static_cast<float>(options.targetLufs);
        session = std::make_unique<live::LiveSession>(data->presets(), first, o);
        block.resize(o.blockSize);
    }

    void append(const StreamItem& item) {
        api::checkRange("an item's length", item.seconds, 0.5, music::kMaxSeconds, " s");
        const double transition = item.transitionSeconds < 0.0 ? options.transitionSeconds : item.transitionSeconds;
        api::checkRange("an item's transition", transition, 0.05, 600.0, " s");
        if (fading) throw std::invalid_argument("the stream is fading out; nothing more can be queued");
        if (queued.size() >= kMaxQueuedItems)
            throw std::invalid_argument(fmt::format("{} items are already waiting; at most {} may be queued", queued.size(), kMaxQueuedItems));
        auto vibe = itemVibe(item, lastConfig);
        lastConfig = vibe.config;
        const auto length = static_cast<SampleTime>(std::llround(item.seconds * sr));
        const SampleTime changeAt = itemsEnd - static_cast<SampleTime>(std::llround(transition * sr / 2.0));
        queued.push_back({std::move(vibe), transition, std::max<SampleTime>(changeAt, 0)});
        itemsEnd += length;
        end = itemsEnd;
    }

    void fadeFrom(SampleTime from, double seconds) {
        session->fadeOut(from, seconds);
        const SampleTime over = from + static_cast<SampleTime>(std::llround(seconds * sr));
        end = end < 0 ? over : std::min(end, std::max(over, from));
        fading = true;
        queued.clear();
    }

    /// Before each block: the items' changes that are due, then the end of a stream of items.
    void applyDue() {
        // A change starts on the bar line nearest its centred start (a key change too: a stream's
        // boundaries are its items', not the phrases'), asked for a bar ahead.
        while (!queued.empty()) {
            const auto bar = static_cast<SampleTime>(std::llround(240.0 / session->bpmAt(rendered) * sr));
            if (queued.front().changeAt - bar > rendered) break;
            const SampleTime earliest = std::max(rendered, queued.front().changeAt - bar / 2);
            session->change(queued.front().vibe, earliest, live::Grid::Bar, queued.front().transitionSeconds);
            queued.pop_front();
        }
        const auto fade = static_cast<SampleTime>(std::llround(options.endFadeSeconds * sr));
        if (ofItems && !fading && queued.empty() && rendered + session->engine().maxBlock() >= itemsEnd - fade) {
            const SampleTime from = std::max({rendered, session->scheduledUntil(), itemsEnd - fade});
            const double seconds = std::max(0.02, static_cast<double>(itemsEnd - from) / sr);
            session->fadeOut(from, seconds);
            fading = true;
            end = itemsEnd;
        }
    }

    void renderBlock() {
        applyDue();
        const int n = block.frames();
        // The engine renders only here, so a full queue is emptied by rendering: post what fits.
        for (int tries = 0; tries < 8 && !session->pump(rendered + n); ++tries) {
        }
        session->engine().render(block.view());
        rendered += n;
        blockRead = 0;
        blockFill = n;
    }

    void checkFrames(std::size_t frames) const {
        if (static_cast<double>(frames) > kMaxPullSeconds * sr)
            throw std::invalid_argument(fmt::format("{} frames is more than one pull may ask for; the limit is {:g} s ({} frames)", frames, kMaxPullSeconds,
                                                    static_cast<long long>(kMaxPullSeconds * sr)));
    }

    std::size_t pull(float* out, std::size_t frames) {
        checkFrames(frames);
        std::size_t done = 0;
        while (done < frames) {
            if (end >= 0 && delivered >= end) break;
            if (blockRead == blockFill) renderBlock();
            std::size_t n = std::min(frames - done, static_cast<std::size_t>(blockFill - blockRead));
            if (end >= 0) n = std::min(n, static_cast<std::size_t>(end - delivered));
            const auto& l = block.left();
            const auto& r = block.right();
            for (std::size_t i = 0; i < n; ++i) {
                out[2 * (done + i)] = l[static_cast<std::size_t>(blockRead) + i];
                out[2 * (done + i) + 1] = r[static_cast<std::size_t>(blockRead) + i];
            }
            blockRead += static_cast<int>(n);
            delivered += static_cast<SampleTime>(n);
            done += n;
        }
        return done;
    }

    StreamEvent steer(const std::string& line) {
        const auto c = live::parseSteering(line, session->current().config);
        const SampleTime now = rendered;
        if (c.quit) {
            const SampleTime from = std::max(now, session->scheduledUntil());
            fadeFrom(from, std::max(0.02, 0.1 - static_cast<double>(from - now) / sr));
            return toEvent(session->events().back(), sr);
        }
        if (fading) throw std::invalid_argument("the stream is fading out; it takes no more steering");
        const SampleTime earliest = c.atBar ? std::max(now, session->barLine(*c.atBar)) : now;
        double seconds = 0.0;
        if (c.transition) seconds = c.transition->bars > 0 ? c.transition->bars * 240.0 / session->bpmAt(now) : c.transition->seconds;
        if (c.layers) {
            session->setLayers(*c.layers, earliest);
        } else if (asksForMusic(c)) {
            session->change(vibeFor(c), earliest, c.grid, seconds);
        } else {
            return {};  // an empty line
        }
        return toEvent(session->events().back(), sr);
    }

    std::vector<live::StreamEvent> allEvents() const {
        auto events = session->events();
        events.insert(events.end(), session->sections().begin(), session->sections().end());
        std::stable_sort(events.begin(), events.end(), [](const live::StreamEvent& a, const live::StreamEvent& b) { return a.sample < b.sample; });
        return events;
    }
};

Stream::Stream(const Engine& engine, std::string_view vibe, const StreamOptions& options)
    : impl_(std::make_unique<Impl>(std::shared_ptr<const pipeline::DataSet>(engine.impl_, &engine.impl_->data), options)) {
    impl_->start(impl_->itemVibe({std::string(vibe), 60.0, -1.0}, music::MusicConfig{}));
}

Stream::Stream(const Engine& engine, const std::vector<StreamItem>& items, const StreamOptions& options)
    : impl_(std::make_unique<Impl>(std::shared_ptr<const pipeline::DataSet>(engine.impl_, &engine.impl_->data), options)) {
    if (items.empty()) throw std::invalid_argument("a stream needs at least one item (a vibe and how long it holds)");
    if (items.size() > kMaxQueuedItems + 1)
        throw std::invalid_argument(fmt::format("{} items is too many at once; at most {} (append more as it plays)", items.size(), kMaxQueuedItems + 1));
    impl_->ofItems = true;
    for (const auto& item : items) impl_->append(item);
    auto first = std::move(impl_->queued.front().vibe);
    impl_->queued.pop_front();
    impl_->start(first);
}

Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

std::size_t Stream::pull(float* interleaved, std::size_t frames) {
    if (!interleaved && frames > 0) throw std::invalid_argument("pull: the output buffer is null");
    return impl_->pull(interleaved, frames);
}

std::vector<float> Stream::pull(std::size_t frames) {
    impl_->checkFrames(frames);
    std::vector<float> out(frames * 2);
    out.resize(2 * impl_->pull(out.data(), frames));
    return out;
}

StreamEvent Stream::steer(std::string_view line) { return impl_->steer(std::string(line)); }

void Stream::append(const StreamItem& item) {
    if (!impl_->ofItems) throw std::invalid_argument("append: this stream is endless (started from one vibe); steer it instead");
    impl_->append(item);
}

void Stream::fadeOut(double seconds) {
    api::checkRange("fade-out", seconds, 0.02, 60.0, " s");
    impl_->fadeFrom(std::max(impl_->rendered, impl_->session->scheduledUntil()), seconds);
}

bool Stream::finished() const { return impl_->end >= 0 && impl_->delivered >= impl_->end; }
std::int64_t Stream::position() const { return impl_->delivered; }
std::int64_t Stream::length() const { return impl_->end; }
double Stream::sampleRateHz() const { return impl_->sr; }
std::string Stream::configJson() const { return music::toJson(impl_->session->current().config); }

std::vector<StreamEvent> Stream::events() const {
    std::vector<StreamEvent> out;
    for (const auto& e : impl_->allEvents()) out.push_back(toEvent(e, impl_->sr));
    return out;
}

std::string Stream::eventsJsonLines() const { return live::eventsToJsonLines(impl_->allEvents(), impl_->sr); }

}  // namespace soundstar

#include "models/ModelWorker.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "models/Frame.h"
#include "music/JsonText.h"

namespace soundstar::models {
namespace {
bool writeAll(int fd, const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// What the reader thread hands the main loop, and the cancel flags it sets.
struct Inbox {
    std::mutex m;
    std::condition_variable cv;
    std::deque<Frame> frames;
    std::set<std::uint64_t> cancelled;
    std::uint64_t running = 0;
    std::atomic<bool> cancelRunning{false};
    bool ended = false;
    std::string error;
};

void readLoop(int fd, Inbox& in) {
    FrameDecoder decoder;
    char buf[65536];
    std::string error;
    for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        try {
            decoder.feed(buf, static_cast<std::size_t>(got));
            while (auto f = decoder.next()) {
                const std::lock_guard lock(in.m);
                if (f->type == FrameType::Cancel) {
                    in.cancelled.insert(f->id());
                    if (f->id() == in.running) in.cancelRunning = true;
                } else {
                    in.frames.push_back(std::move(*f));
                }
                in.cv.notify_all();
            }
        } catch (const std::invalid_argument& e) {
            error = e.what();
            break;
        }
    }
    const std::lock_guard lock(in.m);
    in.ended = true;
    in.error = error;
    in.cancelRunning = true;  // no one is left to take the audio
    in.cv.notify_all();
}
}  // namespace

int serveModelWorker(int inFd, int outFd, const GeneratorFactory& factory) {
    const auto send = [&](const Frame& f) { return writeAll(outFd, encodeFrame(f)); };
    if (!send(Frame::make(FrameType::Hello, {{"protocol", kProtocolVersion}, {"pid", ::getpid()}}))) return 1;
    Inbox in;
    std::thread reader([&] { readLoop(inFd, in); });
    std::unique_ptr<Generator> model;
    ModelManifest manifest;
    std::filesystem::path dir;
    double loadSeconds = 0.0;
    std::uint64_t served = 0;
    const auto statusOf = [&](std::uint64_t id) {
        nlohmann::json s = {{"id", id}, {"requests", served}};
        if (model) {
            s["model"] = manifest.name;
            s["memory_bytes"] = manifest.memoryBytes;
            s["sample_rate"] = model->sampleRateHz();
            s["load_seconds"] = loadSeconds;
        }
        return Frame::make(FrameType::Status, s);
    };
    const auto error = [](std::uint64_t id, const std::string& message, const char* code) {
        return Frame::make(FrameType::Error, {{"id", id}, {"message", music::clipText(message.empty() ? "unknown error" : message, 1900)}, {"code", code}});
    };
    int rc = 0;
    for (bool alive = true; alive;) {
        Frame f;
        {
            std::unique_lock lock(in.m);
            in.cv.wait(lock, [&] { return !in.frames.empty() || in.ended; });
            if (in.frames.empty()) {
                if (!in.error.empty()) {
                    send(error(0, "the model worker's input is broken: " + in.error, "protocol"));
                    rc = 2;
                }
                break;
            }
            f = std::move(in.frames.front());
            in.frames.pop_front();
            if (f.type == FrameType::Generate) {
                in.running = f.id();
                in.cancelRunning = in.cancelled.count(f.id()) > 0;
            }
        }
        const auto id = f.id();
        try {
            switch (f.type) {
                case FrameType::Load: {
                    const std::filesystem::path path = f.header["path"].get<std::string>();
                    if (model && path != dir) throw std::invalid_argument(fmt::format("this worker holds model '{}'; one model per worker", manifest.name));
                    if (!model) {
                        const auto started = std::chrono::steady_clock::now();
                        manifest = readModelDir(path);
                        model = factory(path, manifest);
                        dir = path;
                        loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                    }
                    alive = send(statusOf(id));
                    break;
                }
                case FrameType::Status: alive = send(statusOf(id)); break;
                case FrameType::Generate: {
                    if (!model) throw std::invalid_argument("no model is loaded in this worker (send load first)");
                    GenerateParams p;
                    p.prompt = f.header["prompt"].get<std::string>();
                    p.seconds = f.header["seconds"].get<double>();
                    p.seed = f.header.value("seed", std::uint64_t{1});
                    if (f.header.contains("steps")) p.steps = f.header["steps"].get<int>();
                    if (f.header.contains("guidance")) p.guidance = f.header["guidance"].get<double>();
                    if (f.header.contains("top_k")) p.topK = f.header["top_k"].get<int>();
                    if (f.header.contains("temperature")) p.temperature = f.header["temperature"].get<double>();
                    p.takes = f.header.value("takes", 1);
                    if (f.header.contains("threads")) p.threads = f.header["threads"].get<int>();
                    if (in.cancelRunning) throw Cancelled();
                    model->setThreads(p.threads);  // this request's, or back to the folder's
                    int index = 0;
                    std::vector<std::uint64_t> frames(static_cast<std::size_t>(p.takes), 0);
                    const int channels = model->channels();
                    const auto sendChunk = [&](int take, std::vector<float>&& pcm) {
                        if (take < 0 || take >= p.takes) throw std::logic_error(fmt::format("the model made take {} of {}", take, p.takes));
                        // Bounded frames: a long chunk goes out in pieces under the payload limit.
                        const std::size_t most = kMaxPayloadBytes / 4 / static_cast<std::size_t>(channels) * static_cast<std::size_t>(channels);
                        for (std::size_t at = 0; at < pcm.size(); at += most) {
                            std::vector<float> part(pcm.begin() + static_cast<long>(at), pcm.begin() + static_cast<long>(std::min(pcm.size(), at + most)));
                            frames[static_cast<std::size_t>(take)] += part.size() / static_cast<std::size_t>(channels);
                            send(Frame::chunk(id, index++, channels, model->sampleRateHz(), std::move(part), take));
                        }
                    };
                    const auto sendProgress = [&](int step, int steps) { send(Frame::make(FrameType::Progress, {{"id", id}, {"step", step}, {"steps", steps}})); };
                    if (p.takes == 1 || model->batchesTakes()) {
                        model->generate(p, sendProgress, sendChunk, in.cancelRunning);
                    } else {  // one take after another, take t as the one-take request of seed + t
                        int last = 0;
                        for (int t = 0; t < p.takes; ++t) {
                            GenerateParams one = p;
                            one.takes = 1;
                            one.seed = p.seed + static_cast<std::uint64_t>(t);
                            model->generate(
                                one,
                                [&](int step, int steps) {  // the takes' steps as one count, at most 1000 (the protocol's bound)
                                    const long long total = static_cast<long long>(steps) * p.takes, shown = std::min<long long>(total, 1000);
                                    const int at = static_cast<int>((static_cast<long long>(t) * steps + step) * shown / total);
                                    if (at > last) sendProgress(last = at, static_cast<int>(shown));
                                },
                                [&](int, std::vector<float>&& pcm) { sendChunk(t, std::move(pcm)); }, in.cancelRunning);
                        }
                    }
                    ++served;
                    alive = send(Frame::make(FrameType::Done, {{"id", id}, {"frames", frames[0]}, {"takes", p.takes}, {"seconds", static_cast<double>(frames[0]) / model->sampleRateHz()}}));
                    break;
                }
                default: alive = send(error(id, fmt::format("a worker does not take {} frames", typeName(f.type)), "protocol")); break;
            }
        } catch (const Cancelled&) {
            alive = send(error(id, "cancelled", "cancelled"));
        } catch (const std::exception& e) {
            alive = send(error(id, e.what(), f.type == FrameType::Load ? "load" : "generate"));
        }
        const std::lock_guard lock(in.m);
        in.running = 0;
        in.cancelled.erase(id);
    }
    ::close(outFd);
    // The reader ends with the input; when the loop stopped for another reason it may still be
    // blocked in read(), and the process's exit ends it.
    bool ended = false;
    {
        const std::lock_guard lock(in.m);
        ended = in.ended;
    }
    if (ended) reader.join();
    else reader.detach();
    return rc;
}

}  // namespace soundstar::models

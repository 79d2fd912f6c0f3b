// soundstar live: music that plays on while it is steered, on a virtual clock (as fast as the
// CPU allows, steered by a timed script) or in real time on an audio device (steered from stdin).
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sndfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "Commands.h"
#include "SessionLoop.h"
#include "Recorder.h"
#include "io/AudioDevice.h"
#include "io/OutputFiles.h"
#include "live/LiveSession.h"
#include "live/Steering.h"
#include "music/JsonText.h"

namespace soundstar::app {
namespace {

// A vibe read by the LLM on its own thread; the music plays on meanwhile. The thread holds the
// task, so a task nobody waits for any more finishes (bounded by the LLM timeout) on its own.
struct LlmTask {
    std::string text;
    SampleTime askedAt = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::mutex m;
    bool done = false;
    std::optional<live::StreamVibe> vibe;  // the LLM's reading, when it answered
    std::string problem;                   // why it did not (the interpreter's reading stays)
};

std::shared_ptr<LlmTask> askLlm(const LiveArgs& args, const std::string& text) {
    auto task = std::make_shared<LlmTask>();
    task->text = text;
    std::thread([task, args] {
        RenderArgs a;
        a.prompt = task->text;
        a.seed = args.seed;
        a.useLlm = true;
        a.llmUrl = args.llmUrl, a.llmModel = args.llmModel, a.llmTimeout = args.llmTimeout;
        a.durationSeconds = 60.0;
        std::optional<live::StreamVibe> vibe;
        std::string problem;
        try {
            std::vector<std::string> understood;
            PromptOutcome outcome;
            const auto cfg = resolveConfig(a, understood, &outcome);
            if (outcome.configFromLlm) vibe = live::StreamVibe{task->text + " (LLM)", cfg, sketchFor(cfg), 0.0};
            else problem = outcome.warnings.empty() ? "the LLM gave no usable answer" : outcome.warnings.front();
        } catch (const std::exception& e) {
            problem = e.what();
        }
        const std::lock_guard lock(task->m);
        task->vibe = std::move(vibe);
        task->problem = music::clipText(problem, 400);
        task->done = true;
    }).detach();
    return task;
}

// Steering lines from a Unix socket (--control unix:PATH): any number of clients, one command
// per line, each line at most 2000 bytes (longer ones are dropped and said), at most 16 clients.
class ControlSocket {
public:
    explicit ControlSocket(const std::string& spec) {
        if (spec.rfind("unix:", 0) != 0 || spec.size() <= 5) throw std::invalid_argument(fmt::format("--control {}: allowed unix:PATH", music::clipText(spec, 80)));
        path_ = spec.substr(5);
        sockaddr_un addr{};
        if (path_.size() >= sizeof(addr.sun_path)) throw std::invalid_argument(fmt::format("--control: the socket path is limited to {} bytes", sizeof(addr.sun_path) - 1));
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct stat st {};
        if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path_.c_str());  // a stale socket of an earlier run
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
            throw std::runtime_error(fmt::format("--control: cannot listen on {}: {}", path_, std::strerror(errno)));
    }
    ~ControlSocket() {
        for (auto& c : clients_) ::close(c.fd);
        if (fd_ >= 0) ::close(fd_), ::unlink(path_.c_str());
    }
    /// Complete lines received since the last call (never blocks).
    std::vector<std::string> poll() {
        std::vector<std::string> lines;
        for (int c; clients_.size() < 16 && (c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) clients_.push_back({c, {}});
        for (auto& c : clients_) {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::read(c.fd, buf, sizeof buf);
                if (n == 0) {
                    c.closed = true;
                    break;
                }
                if (n < 0) {
                    if (errno == EINTR) continue;
                    if (errno != EAGAIN && errno != EWOULDBLOCK) c.closed = true;
                    break;
                }
                c.pending.append(buf, static_cast<std::size_t>(n));
                for (std::size_t nl; (nl = c.pending.find('\n')) != std::string::npos; c.pending.erase(0, nl + 1)) lines.push_back(c.pending.substr(0, nl));
                if (c.pending.size() > 2000) {
                    fmt::print(stderr, "soundstar live: a control line over 2000 bytes was refused and its client closed\n");
                    c.closed = true;
                    break;
                }
            }
        }
        std::erase_if(clients_, [](const Client& c) {
            if (c.closed) ::close(c.fd);
            return c.closed;
        });
        return lines;
    }

private:
    struct Client {
        int fd;
        std::string pending;
        bool closed = false;
    };
    std::string path_;
    int fd_ = -1;
    std::vector<Client> clients_;
};

}  // namespace

int runLiveSession(const LiveArgs& args, bool& llmStillAsking);

int runLive(const LiveArgs& args) {
    bool llmStillAsking = false;
    const int code = runLiveSession(args, llmStillAsking);
    // An LLM still thinking about a vibe nobody waits for holds nothing of ours: leave without it.
    if (llmStillAsking) {
        std::fflush(nullptr);
        std::_Exit(code);
    }
    return code;
}

int runLiveSession(const LiveArgs& args, bool& llmStillAsking) {
    const auto transition = live::parseTransition(args.transition);
    const engine::PresetLibrary& presets = shippedPresets();
    live::LiveOptions o;
    o.sampleRate = args.sampleRate;
    o.targetLufs = static_cast<float>(args.targetLufs);
    o.transitionSeconds = transition.seconds;
    o.transitionBars = transition.bars;
    live::LiveSession session(presets, vibeFromText(args.firstVibe, args.seed, 0.0), o);
    const auto total = static_cast<SampleTime>(std::llround(args.minutes * 60.0 * o.sampleRate));
    // Vibes the LLM is reading; only the latest one's answer is used when it comes.
    std::shared_ptr<LlmTask> latest;
    std::vector<std::shared_ptr<LlmTask>> everyTask;
    const auto ask = [&](const std::string& text, SampleTime now) {
        latest = askLlm(args, text);
        latest->askedAt = now;
        everyTask.push_back(latest);
        std::erase_if(everyTask, [](const std::shared_ptr<LlmTask>& t) {
            const std::lock_guard lock(t->m);
            return t->done;
        });
    };
    if (args.useLlm) ask(args.firstVibe, 0);
    const auto collectLlm = [&](SampleTime now) {
        if (!latest) return;
        std::optional<live::StreamVibe> vibe;
        std::string problem;
        {
            const std::lock_guard lock(latest->m);
            if (!latest->done) return;
            vibe = latest->vibe;
            problem = latest->problem;
        }
        const std::string text = latest->text;
        latest = nullptr;
        if (vibe) {
            const SampleTime at = session.change(*vibe, now);
            if (!args.quiet) fmt::print(stderr, "{:8.2f} s  the LLM's reading of '{}' -> {} at {:.2f} s\n", static_cast<double>(now) / o.sampleRate,
                                        music::clipText(text, 80), session.events().back().kind, static_cast<double>(at) / o.sampleRate);
        } else {
            session.note(now, "llm_fallback", fmt::format("{}: {}; the interpreter's reading plays on", music::clipText(text, 200), problem));
            fmt::print(stderr, "soundstar live: warning: the LLM did not read '{}' ({}); the interpreter's reading plays on\n", music::clipText(text, 80), problem);
        }
    };
    std::unique_ptr<ControlSocket> control;
    if (!args.control.empty()) control = std::make_unique<ControlSocket>(args.control);
    const auto apply = [&](const std::string& line, SampleTime now) -> bool {
        try {
            const auto c = live::parseSteering(line, session.current().config);
            if (c.quit) return false;
            const SampleTime earliest = c.atBar ? std::max(now, session.barLine(*c.atBar)) : now;
            double seconds = 0.0;  // this change's own transition, if it names one
            if (c.transition) seconds = c.transition->bars > 0 ? c.transition->bars * 240.0 / session.bpmAt(now) : c.transition->seconds;
            SampleTime at = -1;
            if (c.layers) {
                at = session.setLayers(*c.layers, earliest);
            } else {
                std::optional<live::StreamVibe> next;
                if (c.vibeText) {
                    next = vibeFromText(*c.vibeText, args.seed, 0.0);
                    if (args.useLlm) ask(*c.vibeText, now);
                }
                else if (!c.blend.empty()) next = vibeFromBlend(c.label, c.blend, args.seed);
                else if (c.config) next = vibeFromConfig(c.label, *c.config);
                if (next) at = session.change(*next, earliest, c.grid, seconds);
            }
            if (at >= 0 && !args.quiet) {
                const auto& e = session.events().back();
                fmt::print(stderr, "{:8.2f} s  {} -> {} at {:.2f} s (bar {}, {:.1f} bpm)\n", static_cast<double>(now) / o.sampleRate, c.label, e.kind,
                           static_cast<double>(at) / o.sampleRate, e.bar, e.bpm);
            }
        } catch (const std::exception& e) {
            fmt::print(stderr, "soundstar live: {}\n", e.what());  // a bad line is reported; the music plays on
        }
        return true;
    };
    const auto script = args.clock == "virtual" || !args.scriptFile.empty() ? readScript(args.scriptFile) : std::vector<std::pair<double, std::string>>{};
    // The recording is written as it plays (the header kept up to date), so it is valid whenever it stops.
    Recorder recorder(args.output, args.stdoutFormat, o.sampleRate);
    SessionLoop loop(session, recorder, o.sampleRate, o.blockSize, args.minutes > 0 ? total : std::numeric_limits<SampleTime>::max() / 4);
    // The script is fed block by block, the same way on both clocks (SessionLoop), so the same
    // script and seed give the same bytes.
    std::size_t nextLine = 0;
    loop.feed = [&](SampleTime pos) {
        for (; nextLine < script.size() && std::llround(script[nextLine].first * o.sampleRate) <= pos; ++nextLine)
            if (!loop.quitting() && !apply(script[nextLine].second, pos)) loop.quit(pos);
    };
    if (args.clock == "virtual") {
        loop.poll = [&](SampleTime pos) {
            if (control)
                for (const auto& line : control->poll())
                    if (!loop.quitting() && !apply(line, pos)) loop.quit(pos);
            // While the LLM reads a vibe, the virtual clock runs no faster than real time, so its
            // answer lands where it would have in a real session.
            for (; latest && !SessionLoop::interrupted; std::this_thread::sleep_for(std::chrono::milliseconds(2))) {
                const std::lock_guard lock(latest->m);
                const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - latest->started).count();
                if (latest->done || pos <= latest->askedAt + static_cast<SampleTime>(waited * o.sampleRate)) break;
            }
            if (!loop.quitting()) collectLlm(pos);
        };
        loop.runVirtual();
    } else {
        // Typed lines land 50 ms after they are read (what is queued already plays).
        const auto soon = static_cast<SampleTime>(0.05 * o.sampleRate);
        loop.line = [&](const std::string& line, SampleTime now) {
            if (!apply(line, now + soon)) loop.quit(now, true);
        };
        loop.stdinClosed = [&](SampleTime now) {
            if (args.minutes <= 0 && script.empty()) loop.quit(now, true);  // stdin closed, no length, no script: end
        };
        loop.poll = [&](SampleTime now) {
            if (control)
                for (const auto& line : control->poll())
                    if (!loop.quitting() && !apply(line, now + soon)) loop.quit(now, true);
            if (!loop.quitting()) collectLlm(now + soon);
        };
        loop.runRealTime(args.device, [&](const std::string& device) {
            if (!args.quiet) fmt::print(stderr, "playing on {} (type a vibe, +bright, b 130, k F minor, y dub, q)\n", device);
        });
    }
    const SampleTime end = loop.end();
    for (const auto& t : everyTask) {
        const std::lock_guard lock(t->m);
        llmStillAsking = llmStillAsking || !t->done;
    }
    if (!args.eventsFile.empty()) {
        io::OutputFiles out;
        const auto path = out.add(args.eventsFile, "--events");
        auto events = session.events();  // in the order they sound (an LLM's fallback is noted when it comes)
        events.insert(events.end(), session.sections().begin(), session.sections().end());
        std::stable_sort(events.begin(), events.end(), [](const live::StreamEvent& a, const live::StreamEvent& b) { return a.sample < b.sample; });
        std::ofstream(path) << live::eventsToJsonLines(events, o.sampleRate);
        out.commit();
    }
    if (!args.quiet) fmt::print(stderr, "played {:.2f} s; {} late commands\n", static_cast<double>(end) / o.sampleRate, session.lateCommands());
    return 0;
}

}  // namespace soundstar::app

// soundstar dj: a DJ set that plays itself on the live engine, on a virtual clock (as fast as
// the CPU allows, steered by a timed script) or in real time on an audio device (steered from
// stdin). The DJ brain runs on this thread; an LLM, when asked for, answers on its own thread
// and its answers are taken at the next bar line only if they came and are valid.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "Commands.h"
#include "DjLinkSync.h"
#include "DjMidiSync.h"
#include "SessionLoop.h"
#include "Recorder.h"
#include "compose/Profiles.h"
#include "core/AudioRing.h"
#include "dj/DjAnswer.h"
#include "dj/DjCommands.h"
#include "dj/DjSet.h"
#include "io/AudioDevice.h"
#include "io/OutputFiles.h"
#include "live/Steering.h"
#include "music/Arrangement.h"
#include "llm/LlmClient.h"
#include "music/JsonText.h"

namespace soundstar::app {
namespace {


live::StreamVibe vibeForProfile(const dj::DjProfile& p, std::uint64_t seed, std::optional<double> bpm = std::nullopt) {
    music::MusicConfig cfg;
    cfg.genre = p.name;
    cfg = compose::applyProfile(cfg, p.style);
    if (bpm) cfg.bpm = std::clamp(*bpm, 40.0, 220.0);  // a Link session's tempo from bar 1
    cfg.density = 6;  // every layer is composed; the DJ decides which play
    cfg.seed = seed;
    return {p.name, cfg, sketchFor(cfg), 0.0};
}

// One phrase's plan asked of the LLM on its own thread; the thread holds the task, so one nobody
// waits for any more ends (within the LLM timeout) on its own.
struct LlmAsk {
    SampleTime askedAt = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::mutex m;
    bool done = false;
    std::string answer, problem;
};

std::shared_ptr<LlmAsk> askLlm(const DjArgs& args, const std::string& prompt, SampleTime now) {
    auto task = std::make_shared<LlmAsk>();
    task->askedAt = now;
    std::thread([task, args, prompt] {
        std::string answer, problem;
        try {
            const auto env = [](const char* k) { return std::getenv(k); };
            auto settings = llm::resolveLlmSettings({args.llmUrl, args.llmModel, args.llmTimeout.value_or(10.0)}, env, llm::defaultConfigFile(env));
            llm::LlmClient client(settings);
            llm::ChatRequest req;
            req.system = "You are a live DJ. Answer only with the JSON object asked for.";
            req.user = prompt;
            req.schemaJson = dj::djAnswerSchema();
            req.schemaName = "dj_actions";
            req.maxTokens = 512;
            answer = client.chat(req);
        } catch (const std::exception& e) {
            problem = e.what();
        }
        const std::lock_guard lock(task->m);
        task->answer = std::move(answer);
        task->problem = music::clipText(problem, 400);
        task->done = true;
    }).detach();
    return task;
}

}  // namespace

dj::DjVibes djVibes(std::uint64_t seed) {
    return {[seed](const std::string& name) {
                auto p = dj::djProfile(styleProfiles(), name);
                auto v = vibeForProfile(p, seed);
                return std::pair{std::move(p), std::move(v)};
            },
            [seed](const std::string& text) { return vibeFromText(text, seed, 0.0); }};
}

int runDjSet(const DjArgs& args, bool& llmStillAsking);

int runDj(const DjArgs& args) {
    bool llmStillAsking = false;
    const int code = runDjSet(args, llmStillAsking);
    if (llmStillAsking) {  // an LLM still thinking holds nothing of ours: leave without it
        std::fflush(nullptr);
        std::_Exit(code);
    }
    return code;
}

int runDjSet(const DjArgs& args, bool& llmStillAsking) {
    // A generated loop is fitted to one tempo and leaves when the set's moves; a followed clock's
    // phase lock nudges the tempo at every bar line, so the loop would never stay.
    if (!args.generator.empty() && args.clock != "internal" && args.clock != "virtual")
        throw std::invalid_argument(fmt::format("--generator plays with --clock internal or virtual only, not {}: a loop is fitted to one tempo, and "
                                                "following a clock nudges the tempo at every bar line", args.clock));
    const auto& library = styleProfiles();
    auto profile = dj::djProfile(library, args.profile);
    const std::uint64_t seed = args.seed.value_or(1);
    // The clock's port opens first, so whoever drives it can connect while the set is prepared.
    std::unique_ptr<DjMidiSync> midi;
    std::unique_ptr<DjLinkSync> link;  // joins the session (taking its tempo) before the set is made
    if (args.clock == "link") link = std::make_unique<DjLinkSync>(vibeForProfile(profile, seed).config.resolvedBpm());
    const auto base = vibeForProfile(profile, seed, link ? std::optional(link->bpm()) : std::nullopt);
    if (args.clock == "midi" || args.clock == "jack") midi = std::make_unique<DjMidiSync>(args, base.config.resolvedBpm());
    // A set played in the clock's own JACK client renders at the JACK server's rate.
    const double sr = midi && args.device == "jack" ? midi->jackRate() : args.sampleRate;
    dj::DjBrain brain(profile, seed, dj::DjSet::barsFor(args.minutes * 60.0, base.config.resolvedBpm()));
    live::LiveOptions o;
    o.sampleRate = sr;
    o.targetLufs = static_cast<float>(args.targetLufs);
    o.initialLayers = brain.playing();
    o.form = "loop";  // every layer plays throughout each chunk: the DJ arranges
    o.voiceTrack = true;
    o.loopTracks = !args.generator.empty();
    live::LiveSession session(shippedPresets(), dj::withEnergy(base, brain.energy(), ""), o);
    dj::DjSet set(session, brain, base, sr, o.blockSize);
    set.waitForSpeech(args.clock == "virtual");  // the same bytes every run
    set.setOverlapCheckOnWorker(args.clock != "virtual");  // never render on the thread that feeds a device
    if (args.minutes > 0) set.setEnd(static_cast<SampleTime>(std::llround(args.minutes * 60.0 * sr)));
    Recorder recorder(args.output, "", sr);
    SessionLoop loop(session, recorder, sr, o.blockSize,
                     args.minutes > 0 ? static_cast<SampleTime>(std::llround(args.minutes * 60.0 * sr)) : std::numeric_limits<SampleTime>::max() / 4);
    const auto say = [&](const std::string& what) {
        if (!args.quiet) fmt::print(stderr, "soundstar dj: {}\n", what);
    };
    const dj::DjVibes vibes = djVibes(seed);
    if (!args.generator.empty()) {  // a model that does not load: a warning, and the set plays without it
        try {
            auto model = cancellableModelGenerator(args.generator, true);
            set.setGenerator(
                [generate = model.generate](const dj::LoopAsk& ask) {
                    const auto got = generate({ask.prompt, ask.seconds, ask.seed});
                    return dj::LoopAudio{got.interleaved, got.channels, got.sampleRateHz};
                },
                args.targetLufs + args.generatorGainDb, seed, model.cancel);
        } catch (const std::exception& e) {
            set.setGeneratorProblem(music::clipText(e.what(), 600));
            set.warn(0, fmt::format("no generated loops: {}", e.what()));
            say(fmt::format("warning: no generated loops: {}", music::clipText(e.what(), 600)));
        }
    }
    // One command line (dj/DjCommands.h); false for q.
    const auto apply = [&](const std::string& line, SampleTime now) -> bool {
        try {
            const auto r = dj::applyDjCommand(set, line, vibes);
            if (r.kind == "quit") return false;
        } catch (const std::exception& e) {
            say(e.what());  // a bad line is reported; the set plays on
            set.warn(now, e.what());
        }
        return true;
    };
    // The LLM plans a phrase at a time: asked on each phrase line when no answer is awaited.
    std::shared_ptr<LlmAsk> asking;
    std::vector<std::shared_ptr<LlmAsk>> everyAsk;
    int askedBar = -1;
    const auto llmStep = [&](SampleTime now) {
        if (!args.useLlm || loop.quitting()) return;
        if (asking) {
            std::string answer, problem;
            {
                const std::lock_guard lock(asking->m);
                if (!asking->done) return;
                answer = asking->answer, problem = asking->problem;
            }
            asking = nullptr;
            try {
                if (!problem.empty()) throw std::runtime_error(problem);
                auto a = dj::parseDjAnswer(answer, set.brain().profile());
                if (!a.spoken.empty()) {  // one voice drop at a time: the first
                    try {
                        set.say(a.spoken.front());
                    } catch (const std::exception& e) {
                        set.warn(now, fmt::format("llm speak: {}", e.what()));
                    }
                }
                if (a.loop) {  // as `g`: refused (a warning) without a generator or while one is being made
                    try {
                        set.generateLoop(a.loop->description, a.loop->bars);
                    } catch (const std::exception& e) {
                        set.warn(now, fmt::format("llm generate_loop: {}", e.what()));
                    }
                }
                if (a.key) {  // as `k KEY`: on the next phrase line
                    try {
                        dj::applyDjCommand(set, "k " + *a.key, vibes);
                    } catch (const std::exception& e) {
                        set.warn(now, fmt::format("llm set_key: {}", e.what()));
                    }
                }
                if (a.bpm) {  // as `b BPM`, on the set's own clock only
                    try {
                        if (midi || link) throw std::invalid_argument(fmt::format("the tempo follows the {} clock (set_tempo is for the internal clock)", args.clock));
                        set.setTempo(*a.bpm);
                    } catch (const std::exception& e) {
                        set.warn(now, fmt::format("llm set_tempo: {}", e.what()));
                    }
                }
                for (const auto& r : a.ramps) {
                    try {
                        set.rampParameter(r.parameter, r.to, r.bars);
                    } catch (const std::exception& e) {
                        set.warn(now, fmt::format("llm ramp: {}", e.what()));
                    }
                }
                set.brain().queueMove(std::move(a.move));
            } catch (const std::exception& e) {
                set.warn(now, fmt::format("llm: {}; the rules play on", e.what()));
                say(fmt::format("warning: the LLM gave no usable plan ({}); the rules play on", music::clipText(e.what(), 300)));
            }
        }
        const int bar = set.barAt(now);
        if (bar % dj::kPhraseBars == 0 && bar != askedBar) {
            askedBar = bar;
            asking = askLlm(args, dj::djPrompt(set.brain(), bar, !midi && !link), now);
            everyAsk.push_back(asking);
        }
    };
    const auto script = args.clock == "virtual" ? readScript(args.scriptFile) : std::vector<std::pair<double, std::string>>{};
    std::size_t nextLine = 0;
    loop.feed = [&](SampleTime fed) {
        for (; nextLine < script.size() && std::llround(script[nextLine].first * sr) <= fed; ++nextLine)
            if (!loop.quitting() && !apply(script[nextLine].second, fed)) loop.quit(fed);
        llmStep(fed);
        if (!loop.quitting()) set.tick(fed);
    };
    if (args.clock == "virtual") {
        loop.poll = [&](SampleTime pos) {
            // While the LLM thinks, the virtual clock runs no faster than real time, so its answer
            // lands where it would have in a real set.
            for (; asking && !SessionLoop::interrupted; std::this_thread::sleep_for(std::chrono::milliseconds(2))) {
                const std::lock_guard lock(asking->m);
                const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - asking->started).count();
                if (asking->done || pos <= asking->askedAt + static_cast<SampleTime>(waited * sr)) break;
            }
        };
        loop.runVirtual();
    } else {
        std::unique_ptr<io::AudioDevice> held;
        if (midi) {
            say(fmt::format("waiting for {}", midi->waitingFor()));
            std::signal(SIGINT, [](int) { SessionLoop::interrupted = true; });
            if (args.device == "jack") {
                held = midi->heldDevice();  // sample 0 on the first tick's frame
            } else {
                if (!midi->waitForStart()) return 130;
                if (const auto bpm = midi->bpm()) set.followTempo(*bpm);  // the clock ran before Start
            }
            loop.poll = [&](SampleTime now) { midi->poll(now, sr, set, session.engine(), loop); };
        }
        if (link) {
            say(fmt::format("Ableton Link: {} peers at {:.2f} bpm; starting on the session's next bar line", link->peers(), link->bpm()));
            held = link->device(args.device);
            loop.poll = [&](SampleTime now) { link->poll(now, sr, set, session.engine(), loop); };
        }
        std::unique_ptr<DjClockOut> clockOut;
        if (args.midiOut) {
            clockOut = std::make_unique<DjClockOut>(*args.midiOut, session.engine());
            say(fmt::format("sending MIDI clock on {}", clockOut->portName()));
            loop.poll = [&, followed = loop.poll](SampleTime now) {
                if (followed) followed(now);
                clockOut->poll(now, sr, session, loop.quitting() || now + static_cast<SampleTime>(0.1 * sr) >= loop.end());
            };
        }
        loop.line = [&](const std::string& line, SampleTime now) {
            if (!apply(line, now)) loop.quit(now, true);
        };
        loop.stdinClosed = [&](SampleTime now) {
            if (args.minutes <= 0 && !midi && !link) loop.quit(now, true);  // stdin closed and no length: end (a clock ends on Stop)
        };
        loop.runRealTime(
            args.device,
            [&](const std::string& device) {
                say(fmt::format("playing {} on {} (Enter: next move, drop, break, x, s drums,bass, b 130, k F minor, y dub, q)", profile.name, device));
            },
            std::move(held));
    }
    const SampleTime end = loop.end();
    for (const auto& t : everyAsk) {
        const std::lock_guard lock(t->m);
        llmStillAsking = llmStillAsking || !t->done;
    }
    if (!args.eventsFile.empty()) {
        io::OutputFiles out;
        const auto path = out.add(args.eventsFile, "--events");
        std::ofstream(path) << set.eventsJsonLines();
        out.commit();
    }
    say(fmt::format("played {:.2f} s, {} bars, last phase {}; {} late commands", static_cast<double>(end) / sr, set.barAt(end) + 1, brain.phase(),
                    session.lateCommands()));
    return 0;
}

}  // namespace soundstar::app

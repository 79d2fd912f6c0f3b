// JackMidiInput and JackMidiOutput: libjack opened at run time (dlopen), as RtAudio and RtMidi are, so commands that
// never sync to a clock do not pay for JACK at start-up.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <stdexcept>
#include <type_traits>

#include "core/SpscQueue.h"
#include "engine/AudioEngine.h"
#include "io/ClockHold.h"
#include "io/JackMidi.h"
#include "io/TransportClock.h"

#ifdef SOUNDSTAR_HAVE_JACK
#include <dlfcn.h>
#include <jack/jack.h>
#include <jack/midiport.h>
#endif

namespace soundstar::io {

#ifdef SOUNDSTAR_HAVE_JACK
namespace {
struct JackApi {
    decltype(&jack_client_open) clientOpen;
    decltype(&jack_client_close) clientClose;
    decltype(&jack_port_register) portRegister;
    decltype(&jack_port_get_buffer) portBuffer;
    decltype(&jack_port_name) portName;
    decltype(&jack_set_process_callback) setProcess;
    decltype(&jack_activate) activate;
    decltype(&jack_connect) connect;
    decltype(&jack_get_ports) getPorts;
    decltype(&jack_free) free;
    decltype(&jack_last_frame_time) lastFrameTime;
    decltype(&jack_get_sample_rate) sampleRate;
    decltype(&jack_midi_get_event_count) eventCount;
    decltype(&jack_midi_event_get) eventGet;
    decltype(&jack_midi_clear_buffer) clearBuffer;
    decltype(&jack_midi_event_write) eventWrite;
    decltype(&jack_transport_query) transportQuery;
};

const JackApi& jack() {
    static const JackApi api = [] {
        void* lib = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw std::runtime_error(fmt::format("cannot load JACK ({}); Debian: apt install libjack-jackd2-0", dlerror()));
        const auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
            if (!fn) throw std::runtime_error(fmt::format("libjack.so.0 lacks {}", name));
        };
        JackApi a{};
        sym(a.clientOpen, "jack_client_open");
        sym(a.clientClose, "jack_client_close");
        sym(a.portRegister, "jack_port_register");
        sym(a.portBuffer, "jack_port_get_buffer");
        sym(a.portName, "jack_port_name");
        sym(a.setProcess, "jack_set_process_callback");
        sym(a.activate, "jack_activate");
        sym(a.connect, "jack_connect");
        sym(a.getPorts, "jack_get_ports");
        sym(a.free, "jack_free");
        sym(a.lastFrameTime, "jack_last_frame_time");
        sym(a.sampleRate, "jack_get_sample_rate");
        sym(a.eventCount, "jack_midi_get_event_count");
        sym(a.eventGet, "jack_midi_event_get");
        sym(a.clearBuffer, "jack_midi_clear_buffer");
        sym(a.eventWrite, "jack_midi_event_write");
        sym(a.transportQuery, "jack_transport_query");
        return a;
    }();
    return api;
}
}  // namespace

struct JackMidiInput::Impl {
    const JackApi& api = jack();
    jack_client_t* client = nullptr;
    jack_port_t* port = nullptr;
    SpscQueue<MidiMessage> queue{4096};
    std::atomic<long> dropped{0};
    std::atomic<long long> cycle{0};
    std::atomic<engine::AudioEngine*> gate{nullptr};
    std::atomic<int> gateFade{480};
    std::atomic<long long> engineOffset{0};  // engine sample - JACK frame
    double rate = 48000.0;
    std::string name;
    // The engine played in this client (playEngine), when the clock's transport says (ClockHold).
    jack_port_t* outL = nullptr;
    jack_port_t* outR = nullptr;
    std::atomic<engine::AudioEngine*> player{nullptr};
    std::atomic<bool> busy{false};  // the process thread is inside the player's render
    std::atomic<unsigned> handovers{0};  // playEngine calls; play() starts afresh on a new one
    unsigned seenHandovers = 0;          // [rt]
    ClockHold hold;
    static constexpr long long kScratch = ClockHold::kMaxUnheardFrames;
    std::array<float, 1024> scratchL{}, scratchR{};  // [rt] skipped frames rendered unheard
    long long expected = -1;                         // [rt] the next cycle's first frame while running
    // --clock jack: the transport read as a MIDI clock (followTransport), instead of the port.
    std::atomic<bool> transport{false};
    TransportClock transportClock;                       // [rt] after followTransport
    std::array<TransportClock::Message, 256> fromTransport{};  // [rt]

    WideFrameTime wideFrames;  // [rt]
    long long frameTime() { return wideFrames(api.lastFrameTime(client)); }

    // [rt] The engine's output for this cycle: what the hold says, silence around it.
    void play(jack_nframes_t frames, long long first) {
        if (!outL || !outR) return;
        auto* l = static_cast<float*>(api.portBuffer(outL, frames));
        auto* r = static_cast<float*>(api.portBuffer(outR, frames));
        const StereoView out{l, r, static_cast<int>(frames)};
        engine::AudioEngine* e = player.load(std::memory_order_acquire);
        if (!e) {  // JACK leaves an output port's buffer as it was: silence, not the last cycle
            out.clear();
            return;
        }
        busy.store(true, std::memory_order_seq_cst);
        if (player.load(std::memory_order_seq_cst) != e) {  // taken away meanwhile
            busy.store(false, std::memory_order_release);
            out.clear();
            return;
        }
        if (const unsigned h = handovers.load(std::memory_order_acquire); h != seenHandovers) {  // a new handover
            seenHandovers = h, expected = -1;
            hold.forgetCycles();
        }
        const ClockHold::Span span = hold.cycle(first, frames);
        auto from = static_cast<int>(span.from);
        const auto to = static_cast<int>(span.to);
        const bool running = from == 0 && !span.started && expected >= 0;
        // Frames rendered already (a client running late can be handed a cycle whose frame time
        // it read in the last one): silence here, not rendered again, so the engine's sample s
        // stays on frame (start + s).
        if (running && first < expected) from = static_cast<int>(std::min<long long>(expected - first, to));
        if (from > 0) out.offset(0, from).clear();
        if (to < static_cast<int>(frames)) out.offset(to, static_cast<int>(frames) - to).clear();
        // Frames JACK skipped (an xrun of its driver, a cycle this client missed), and those of a
        // start that fell in them: the engine renders them too, unheard, so its sample s stays on
        // frame (start + s) and the set on the clock (up to kScratch frames).
        const long long unheard = span.started ? span.unheard : running && first > expected && first - expected <= kScratch ? first - expected : 0;
        for (long long left = unheard; left > 0;) {
            const int n = static_cast<int>(std::min<long long>(left, static_cast<long long>(scratchL.size())));
            e->render(StereoView{scratchL.data(), scratchR.data(), n});
            left -= n;
        }
        expected = to == static_cast<int>(frames) && (from < to || running) ? std::max(expected, first + frames) : -1;
        if (from < to) {
            if (span.started && !span.forced) e->setOutputGate(true, gateFade.load(std::memory_order_relaxed));  // a resume after a Stop
            engineOffset.store(e->now() - (first + from), std::memory_order_relaxed);
            e->render(out.offset(from, to - from));
        }
        busy.store(false, std::memory_order_release);
    }

    // JACK's process thread: the clock's messages, stamped with their frame.
    static int process(jack_nframes_t frames, void* self) {
        auto& impl = *static_cast<Impl*>(self);
        void* buf = impl.api.portBuffer(impl.port, frames);
        const long long first = impl.frameTime();  // the cycle this call plays
        impl.cycle.store(first, std::memory_order_relaxed);
        engine::AudioEngine* gate = impl.gate.load(std::memory_order_acquire);
        const bool playing = impl.player.load(std::memory_order_relaxed) != nullptr;
        if (gate && !playing) impl.engineOffset.store(gate->now() - first, std::memory_order_relaxed);
        if (impl.transport.load(std::memory_order_acquire)) {
            // The transport with the frame time of the same server cycle: a client running late
            // can see the server begin its next cycle between the two reads (a period apart), so
            // the frame time is read again after it, and the pair taken once it holds (a few tries).
            jack_position_t pos{};
            jack_transport_state_t state = JackTransportStopped;
            long long transportFirst = first;
            for (int tries = 0; tries < 4; ++tries) {
                state = impl.api.transportQuery(impl.client, &pos);
                const long long again = impl.frameTime();
                if (again == transportFirst) break;
                transportFirst = again;
            }
            TransportClock::Position p;
            p.rolling = state == JackTransportRolling;
            p.frame = pos.frame, p.frameRate = pos.frame_rate > 0 ? pos.frame_rate : impl.rate;
            p.bbt = (pos.valid & JackPositionBBT) != 0;
            if (p.bbt)
                p.bar = pos.bar, p.beat = pos.beat, p.tick = pos.tick, p.ticksPerBeat = pos.ticks_per_beat, p.beatsPerBar = pos.beats_per_bar,
                p.bpm = pos.beats_per_minute;
            const int count = impl.transportClock.cycle(transportFirst, frames, p, impl.fromTransport.data(), static_cast<int>(impl.fromTransport.size()));
            for (int k = 0; k < count; ++k) {
                const auto& m = impl.fromTransport[static_cast<std::size_t>(k)];
                impl.deliver(m.bytes, m.size, m.frame, gate);
            }
        } else {
            const std::uint32_t n = impl.api.eventCount(buf);
            for (std::uint32_t i = 0; i < n; ++i) {
                jack_midi_event_t ev;
                if (impl.api.eventGet(&ev, buf, i) != 0 || ev.size == 0 || ev.size > 3) continue;
                if (ev.buffer[0] < 0xF8 && ev.buffer[0] != 0xF2) continue;
                impl.deliver(ev.buffer, ev.size, first + ev.time, gate);
            }
        }
        impl.play(frames, first);
        return 0;
    }

    // [rt] One clock message at JACK frame `frame`: a Stop closes the gate at once; the hold and
    // the control side's queue get it.
    void deliver(const std::uint8_t* bytes, std::size_t size, long long frame, engine::AudioEngine* gate) {
        if (bytes[0] == 0xFC && gate) gate->setOutputGate(false, gateFade.load(std::memory_order_relaxed));
        hold.onMessage(bytes, static_cast<int>(size), frame);
        MidiMessage m;
        m.frames = frame;
        m.seconds = static_cast<double>(frame) / rate;
        for (std::size_t b = 0; b < size; ++b) m.bytes[b] = bytes[b];
        m.size = static_cast<std::uint8_t>(size);
        if (!queue.push(m)) dropped.fetch_add(1, std::memory_order_relaxed);
    }
};

JackMidiInput::JackMidiInput(const std::string& client, const std::string& port, const std::string& source) : impl_(std::make_unique<Impl>()) {
    auto& i = *impl_;
    jack_status_t status{};
    i.client = i.api.clientOpen(client.c_str(), JackNoStartServer, &status);
    if (!i.client) throw std::runtime_error("cannot reach a JACK server (start one, e.g. `jackd -d dummy`, or name it in JACK_DEFAULT_SERVER)");
    try {
        i.rate = i.api.sampleRate(i.client);
        i.port = i.api.portRegister(i.client, port.c_str(), JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
        if (!i.port) throw std::runtime_error(fmt::format("JACK refused the MIDI port {}", port));
        if (i.api.setProcess(i.client, &Impl::process, &i) != 0 || i.api.activate(i.client) != 0)
            throw std::runtime_error("JACK refused to run the MIDI input");
        i.name = i.api.portName(i.port);
        if (!source.empty()) {
            const char** ports = i.api.getPorts(i.client, nullptr, JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput);
            std::vector<std::string> names;
            for (int k = 0; ports && ports[k] && k < 1024; ++k) names.emplace_back(ports[k]);
            if (ports) i.api.free(ports);
            std::string found;
            for (const auto& n : names)
                if (found.empty() && n.find(source) != std::string::npos) found = n;
            if (found.empty())
                throw std::runtime_error(fmt::format("--midi-in: no JACK MIDI output named like '{}'; there are: {}", source.substr(0, 100),
                                                     names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")).substr(0, 1500)));
            if (i.api.connect(i.client, found.c_str(), i.name.c_str()) != 0) throw std::runtime_error(fmt::format("JACK could not connect {} to {}", found, i.name));
            i.name = found;
        }
    } catch (...) {
        i.api.clientClose(i.client);
        throw;
    }
}

JackMidiInput::~JackMidiInput() {
    if (impl_ && impl_->client) impl_->api.clientClose(impl_->client);
}

bool JackMidiInput::pop(MidiMessage& out) { return impl_->queue.pop(out); }
long JackMidiInput::dropped() const { return impl_->dropped.load(std::memory_order_relaxed); }
double JackMidiInput::sampleRate() const { return impl_->rate; }
long long JackMidiInput::lastCycleFrame() const { return impl_->cycle.load(std::memory_order_relaxed); }
void JackMidiInput::stopGate(engine::AudioEngine* engine, int fadeSamples) {
    impl_->gateFade.store(fadeSamples, std::memory_order_relaxed);
    impl_->hold.setFadeFrames(fadeSamples + 64);  // a Stop pauses the held engine after the gate's fade
    if (!impl_->player.load()) impl_->engineOffset.store(engine ? engine->now() - impl_->cycle.load(std::memory_order_relaxed) : 0);
    impl_->gate.store(engine, std::memory_order_release);
}
long long JackMidiInput::engineSample(long long frames) const { return frames + impl_->engineOffset.load(std::memory_order_relaxed); }
const std::string& JackMidiInput::name() const { return impl_->name; }

std::string JackMidiInput::playEngine(engine::AudioEngine& engine, double delaySeconds, const std::string& destination) {
    auto& i = *impl_;
    if (i.player.load()) throw std::logic_error("JackMidiInput::playEngine: already playing");
    if (std::abs(engine.sampleRate() - i.rate) > 0.5)
        throw std::runtime_error(fmt::format("the engine runs at {:g} Hz but the JACK server at {:g} Hz: a held set must render at JACK's rate", engine.sampleRate(), i.rate));
    i.outL = i.outL ? i.outL : i.api.portRegister(i.client, "out_L", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    i.outR = i.outR ? i.outR : i.api.portRegister(i.client, "out_R", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!i.outL || !i.outR) throw std::runtime_error("JACK refused the audio ports out_L/out_R");
    i.hold.setDelay(std::max(0LL, std::llround(delaySeconds * i.rate)));
    i.hold.setFadeFrames(i.gateFade.load() + 64);  // the gate's fade, and a little silence after it
    i.handovers.fetch_add(1, std::memory_order_release);
    i.player.store(&engine, std::memory_order_release);
    // The first two playback ports named like `destination`, as RtAudio's JACK output connects.
    std::vector<std::string> names;
    const char** ports = i.api.getPorts(i.client, nullptr, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput);
    for (int k = 0; ports && ports[k] && k < 1024; ++k)
        if (destination.empty() || std::string(ports[k]).find(destination) != std::string::npos) names.emplace_back(ports[k]);
    if (ports) i.api.free(ports);
    std::string connected;
    if (names.size() >= 1) i.api.connect(i.client, i.api.portName(i.outL), names[0].c_str()), connected = names[0];
    if (names.size() >= 2) i.api.connect(i.client, i.api.portName(i.outR), names[1].c_str()), connected += ", " + names[1];
    return connected.empty() ? std::string(i.api.portName(i.outL)) + " (not connected)" : connected;
}

void JackMidiInput::stopEngine() {
    auto& i = *impl_;
    i.player.store(nullptr, std::memory_order_seq_cst);
    while (i.busy.load(std::memory_order_seq_cst)) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

ClockHold& JackMidiInput::hold() { return impl_->hold; }

void JackMidiInput::followTransport(double fallbackBpm) {
    auto& i = *impl_;
    if (i.transport.load()) return;
    i.transportClock.setFallbackBpm(fallbackBpm);
    // A relocation's Continue comes after the Stop's fade has paused the set, and a poll later.
    i.transportClock.setRelocateGap(std::llround(0.05 * i.rate));
    i.transport.store(true, std::memory_order_release);
}

/// Connects `from` to the first port of `flags` whose name contains `match`; returns its name.
std::string connectMatching(const JackApi& api, jack_client_t* c, const std::string& own, const std::string& match, unsigned long flags, const char* what) {
    const char** ports = api.getPorts(c, nullptr, JACK_DEFAULT_MIDI_TYPE, flags);
    std::vector<std::string> names;
    for (int k = 0; ports && ports[k] && k < 1024; ++k) names.emplace_back(ports[k]);
    if (ports) api.free(ports);
    for (const auto& n : names)
        if (n.find(match) != std::string::npos) {
            const bool in = flags & JackPortIsOutput;
            if (api.connect(c, in ? n.c_str() : own.c_str(), in ? own.c_str() : n.c_str()) != 0)
                throw std::runtime_error(fmt::format("JACK could not connect {} and {}", n, own));
            return n;
        }
    throw std::runtime_error(fmt::format("{}: no JACK MIDI port named like '{}'; there are: {}", what, match.substr(0, 100),
                                         names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")).substr(0, 1500)));
}

struct JackMidiOutput::Impl {
    struct Scheduled {
        long long sample;
        std::uint8_t status;
    };
    const JackApi& api = jack();
    const engine::AudioEngine* engine = nullptr;
    jack_client_t* client = nullptr;
    jack_port_t* port = nullptr;
    SpscQueue<Scheduled> queue{4096};
    std::string name;

    static int process(jack_nframes_t frames, void* self) {
        auto& impl = *static_cast<Impl*>(self);
        void* buf = impl.api.portBuffer(impl.port, frames);
        impl.api.clearBuffer(buf);
        // This cycle plays the engine's samples from about now() on (one block a cycle).
        const long long first = impl.engine->now();
        while (const Scheduled* s = impl.queue.peek()) {
            if (s->sample >= first + frames) break;
            const auto at = static_cast<jack_nframes_t>(std::max(0LL, s->sample - first));
            impl.api.eventWrite(buf, at, &s->status, 1);  // a full buffer drops it: nothing to wait for
            Scheduled done;
            impl.queue.pop(done);
        }
        return 0;
    }
};

JackMidiOutput::JackMidiOutput(const std::string& client, const std::string& port, const std::string& destination, const engine::AudioEngine& engine)
    : impl_(std::make_unique<Impl>()) {
    auto& i = *impl_;
    i.engine = &engine;
    jack_status_t status{};
    i.client = i.api.clientOpen(client.c_str(), JackNoStartServer, &status);
    if (!i.client) throw std::runtime_error("cannot reach a JACK server (start one, e.g. `jackd -d dummy`, or name it in JACK_DEFAULT_SERVER)");
    try {
        i.port = i.api.portRegister(i.client, port.c_str(), JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
        if (!i.port) throw std::runtime_error(fmt::format("JACK refused the MIDI port {}", port));
        if (i.api.setProcess(i.client, &Impl::process, &i) != 0 || i.api.activate(i.client) != 0)
            throw std::runtime_error("JACK refused to run the MIDI output");
        i.name = i.api.portName(i.port);
        if (!destination.empty()) i.name = connectMatching(i.api, i.client, i.name, destination, JackPortIsInput, "--midi-out");
    } catch (...) {
        i.api.clientClose(i.client);
        throw;
    }
}

JackMidiOutput::~JackMidiOutput() {
    if (!impl_ || !impl_->client) return;
    // What is still queued (a Stop) goes out first, if JACK plays it within 200 ms.
    for (int i = 0; i < 200 && impl_->queue.size() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    impl_->api.clientClose(impl_->client);
}

bool JackMidiOutput::schedule(long long sample, std::uint8_t status) { return impl_->queue.push({sample, status}); }
const std::string& JackMidiOutput::name() const { return impl_->name; }

#else
struct JackMidiOutput::Impl {
    std::string name;
};
JackMidiOutput::JackMidiOutput(const std::string&, const std::string&, const std::string&, const engine::AudioEngine&) {
    throw std::runtime_error("this build has no JACK support (libjack's headers were not found when it was built)");
}
JackMidiOutput::~JackMidiOutput() = default;
bool JackMidiOutput::schedule(long long, std::uint8_t) { return false; }
const std::string& JackMidiOutput::name() const { return impl_->name; }

struct JackMidiInput::Impl {
    std::string name;
};
JackMidiInput::JackMidiInput(const std::string&, const std::string&, const std::string&) {
    throw std::runtime_error("this build has no JACK support (libjack's headers were not found when it was built)");
}
JackMidiInput::~JackMidiInput() = default;
bool JackMidiInput::pop(MidiMessage&) { return false; }
long JackMidiInput::dropped() const { return 0; }
double JackMidiInput::sampleRate() const { return 48000.0; }
long long JackMidiInput::lastCycleFrame() const { return 0; }
void JackMidiInput::stopGate(engine::AudioEngine*, int) {}
long long JackMidiInput::engineSample(long long frames) const { return frames; }
const std::string& JackMidiInput::name() const { return impl_->name; }
std::string JackMidiInput::playEngine(engine::AudioEngine&, double, const std::string&) { return {}; }
void JackMidiInput::stopEngine() {}
ClockHold& JackMidiInput::hold() {
    static ClockHold none;
    return none;
}
void JackMidiInput::followTransport(double) {}
#endif

}  // namespace soundstar::io

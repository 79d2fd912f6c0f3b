#include "io/MidiPorts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <type_traits>

#include "core/SpscQueue.h"

#ifdef SOUNDSTAR_HAVE_RTMIDI
#include <dlfcn.h>
#include <rtmidi/rtmidi_c.h>
#endif

namespace soundstar::io {

double midiSeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#ifdef SOUNDSTAR_HAVE_RTMIDI
namespace {
/// The RtMidi C functions used here, from the library opened once per process.
struct RtMidiApi {
    decltype(&rtmidi_in_create) inCreate;
    decltype(&rtmidi_in_free) inFree;
    decltype(&rtmidi_in_set_callback) inSetCallback;
    decltype(&rtmidi_in_ignore_types) inIgnoreTypes;
    decltype(&rtmidi_out_create) outCreate;
    decltype(&rtmidi_out_free) outFree;
    decltype(&rtmidi_out_send_message) outSend;
    decltype(&rtmidi_open_port) openPort;
    decltype(&rtmidi_open_virtual_port) openVirtualPort;
    decltype(&rtmidi_close_port) closePort;
    decltype(&rtmidi_get_port_count) portCount;
    decltype(&rtmidi_get_port_name) portName;
};

const RtMidiApi& rtmidi() {
    static const RtMidiApi api = [] {
        void* lib = dlopen(SOUNDSTAR_RTMIDI_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw std::runtime_error(fmt::format("cannot load RtMidi ({}); Debian: apt install librtmidi6", dlerror()));
        const auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
            if (!fn) throw std::runtime_error(fmt::format("{} lacks {}", SOUNDSTAR_RTMIDI_LIBRARY, name));
        };
        RtMidiApi a{};
        sym(a.inCreate, "rtmidi_in_create");
        sym(a.inFree, "rtmidi_in_free");
        sym(a.inSetCallback, "rtmidi_in_set_callback");
        sym(a.inIgnoreTypes, "rtmidi_in_ignore_types");
        sym(a.outCreate, "rtmidi_out_create");
        sym(a.outFree, "rtmidi_out_free");
        sym(a.outSend, "rtmidi_out_send_message");
        sym(a.openPort, "rtmidi_open_port");
        sym(a.openVirtualPort, "rtmidi_open_virtual_port");
        sym(a.closePort, "rtmidi_close_port");
        sym(a.portCount, "rtmidi_get_port_count");
        sym(a.portName, "rtmidi_get_port_name");
        return a;
    }();
    return api;
}

void check(RtMidiPtr p, const char* what) {
    if (!p) throw std::runtime_error(fmt::format("RtMidi: {} failed (is a JACK server running?)", what));
    if (!p->ok) throw std::runtime_error(fmt::format("RtMidi: {}: {}", what, p->msg ? p->msg : "unknown error"));
}

std::vector<std::string> portNames(RtMidiPtr p) {
    const auto& api = rtmidi();
    std::vector<std::string> names;
    const unsigned n = api.portCount(p);
    for (unsigned i = 0; i < n && i < 1024; ++i) {
        char buf[256];
        int len = sizeof buf;
        if (api.portName(p, i, buf, &len) >= 0) names.emplace_back(buf);
    }
    return names;
}

/// Opens `p` on the first port whose name contains `match`, or a port `port` of its own.
std::string openMatching(RtMidiPtr p, const std::string& port, const std::string& match, const char* what) {
    const auto& api = rtmidi();
    if (match.empty()) {
        api.openVirtualPort(p, port.c_str());
        check(p, "opening a port");
        return port;
    }
    const auto names = portNames(p);
    for (unsigned i = 0; i < names.size(); ++i)
        if (names[i].find(match) != std::string::npos) {
            api.openPort(p, i, port.c_str());
            check(p, "connecting a port");
            return names[i];
        }
    throw std::runtime_error(fmt::format("{}: no JACK MIDI port named like '{}'; there are: {}", what, match.substr(0, 100),
                                         names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")).substr(0, 1500)));
}
}  // namespace

struct MidiInput::Impl {
    RtMidiInPtr in = nullptr;
    SpscQueue<MidiMessage> queue{4096};
    std::atomic<long> dropped{0};
    std::string name;
    // JACK's thread: keep the clock's messages, stamped now.
    static void received(double, const unsigned char* bytes, size_t size, void* self) {
        auto& impl = *static_cast<Impl*>(self);
        if (size == 0 || size > 3 || (bytes[0] < 0xF8 && bytes[0] != 0xF2)) return;
        MidiMessage m;
        m.seconds = midiSeconds();
        for (size_t i = 0; i < size; ++i) m.bytes[i] = bytes[i];
        m.size = static_cast<std::uint8_t>(size);
        if (!impl.queue.push(m)) impl.dropped.fetch_add(1, std::memory_order_relaxed);
    }
};

MidiInput::MidiInput(const std::string& client, const std::string& port, const std::string& source) : impl_(std::make_unique<Impl>()) {
    const auto& api = rtmidi();
    impl_->in = api.inCreate(RTMIDI_API_UNIX_JACK, client.c_str(), 4096);
    try {
        check(impl_->in, "creating a JACK MIDI input");
        api.inIgnoreTypes(impl_->in, true, false, true);  // timing messages wanted
        api.inSetCallback(impl_->in, &Impl::received, impl_.get());
        check(impl_->in, "setting the input's callback");
        impl_->name = openMatching(impl_->in, port, source, "--midi-in");
    } catch (...) {
        if (impl_->in) api.inFree(impl_->in);
        throw;
    }
}

MidiInput::~MidiInput() {
    if (!impl_ || !impl_->in) return;
    rtmidi().closePort(impl_->in);
    rtmidi().inFree(impl_->in);
}

bool MidiInput::pop(MidiMessage& out) { return impl_->queue.pop(out); }
long MidiInput::dropped() const { return impl_->dropped.load(std::memory_order_relaxed); }
const std::string& MidiInput::name() const { return impl_->name; }

struct MidiOutput::Impl {
    RtMidiOutPtr out = nullptr;
    std::string name;
};

MidiOutput::MidiOutput(const std::string& client, const std::string& port, const std::string& destination) : impl_(std::make_unique<Impl>()) {
    const auto& api = rtmidi();
    impl_->out = api.outCreate(RTMIDI_API_UNIX_JACK, client.c_str());
    try {
        check(impl_->out, "creating a JACK MIDI output");
        impl_->name = openMatching(impl_->out, port, destination, "--midi-out");
    } catch (...) {
        if (impl_->out) api.outFree(impl_->out);
        throw;
    }
}

MidiOutput::~MidiOutput() {
    if (!impl_ || !impl_->out) return;
    rtmidi().closePort(impl_->out);
    rtmidi().outFree(impl_->out);
}

bool MidiOutput::send(const std::uint8_t* bytes, int size) {
    if (size < 1 || size > 3) return false;
    return rtmidi().outSend(impl_->out, bytes, size) == 0 && impl_->out->ok;
}
const std::string& MidiOutput::name() const { return impl_->name; }

#else
struct MidiInput::Impl {
    std::string name;
};
struct MidiOutput::Impl {
    std::string name;
};
MidiInput::MidiInput(const std::string&, const std::string&, const std::string&) {
    throw std::runtime_error("this build has no MIDI support (RtMidi was not found when it was built)");
}
MidiInput::~MidiInput() = default;
bool MidiInput::pop(MidiMessage&) { return false; }
long MidiInput::dropped() const { return 0; }
const std::string& MidiInput::name() const { return impl_->name; }
MidiOutput::MidiOutput(const std::string&, const std::string&, const std::string&) {
    throw std::runtime_error("this build has no MIDI support (RtMidi was not found when it was built)");
}
MidiOutput::~MidiOutput() = default;
bool MidiOutput::send(const std::uint8_t*, int) { return false; }
const std::string& MidiOutput::name() const { return impl_->name; }
#endif

}  // namespace soundstar::io

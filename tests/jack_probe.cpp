// jack_probe: a JACK client that hears a set's audio and a MIDI clock on the same frame clock,
// for test_dj_cli: where the set's sound lands against the clock's ticks, read outside the set.
// Usage: jack_probe OUT.json AUDIO_PORT MIDI_PORT SECONDS. Connects its inputs to the two ports
// once they exist (20 s at most), touches OUT.json.ready, records for SECONDS into memory
// allocated before (the process callback only copies), then writes OUT.json: every realtime MIDI
// message (and Song Position Pointer) as [frame, status], the frame of the first audio sample
// louder than -60 dBFS, and the frame of OUT.json.f32's first sample (float32 mono; a cycle this
// client missed stays zeros).
#include <jack/jack.h>
#include <jack/midiport.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Probe {
    jack_client_t* client = nullptr;
    jack_port_t* audio = nullptr;
    jack_port_t* midi = nullptr;
    std::vector<float> heard;
    std::vector<long long> messages;  // frame, status pairs
    std::atomic<std::size_t> messageCount{0};
    std::atomic<long long> origin{-1};
    std::atomic<bool> recording{false};
};

int process(jack_nframes_t frames, void* arg) {
    auto& p = *static_cast<Probe*>(arg);
    if (!p.recording.load(std::memory_order_acquire)) return 0;
    const long long first = jack_last_frame_time(p.client);
    long long origin = p.origin.load(std::memory_order_relaxed);
    if (origin < 0) p.origin.store(origin = first, std::memory_order_relaxed);
    const auto* in = static_cast<const float*>(jack_port_get_buffer(p.audio, frames));
    for (jack_nframes_t i = 0; i < frames; ++i)
        if (first - origin + i < static_cast<long long>(p.heard.size())) p.heard[static_cast<std::size_t>(first - origin + i)] = in[i];
    void* buf = jack_port_get_buffer(p.midi, frames);
    std::size_t n = p.messageCount.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0, count = jack_midi_get_event_count(buf); i < count; ++i) {
        jack_midi_event_t ev;
        if (jack_midi_event_get(&ev, buf, i) != 0 || ev.size < 1 || (ev.buffer[0] < 0xF8 && ev.buffer[0] != 0xF2)) continue;
        if (2 * n + 2 > p.messages.size()) break;
        p.messages[2 * n] = first + ev.time, p.messages[2 * n + 1] = ev.buffer[0];
        ++n;
    }
    p.messageCount.store(n, std::memory_order_release);
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: jack_probe OUT.json AUDIO_PORT MIDI_PORT SECONDS\n");
        return 2;
    }
    const std::string out = argv[1], audioSource = argv[2], midiSource = argv[3];
    const double seconds = std::atof(argv[4]);
    if (!(seconds > 0 && seconds <= 120)) {
        std::fprintf(stderr, "jack_probe: SECONDS must be 0 to 120\n");
        return 2;
    }
    Probe p;
    jack_status_t status{};
    p.client = jack_client_open("soundstar-probe", JackNoStartServer, &status);
    if (!p.client) {
        std::fprintf(stderr, "jack_probe: no JACK server\n");
        return 1;
    }
    const double rate = jack_get_sample_rate(p.client);
    p.heard.assign(static_cast<std::size_t>((seconds + 2.0) * rate), 0.0f);
    p.messages.assign(2 * 100000, 0);
    p.audio = jack_port_register(p.client, "audio_in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    p.midi = jack_port_register(p.client, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    if (!p.audio || !p.midi || jack_set_process_callback(p.client, process, &p) != 0 || jack_activate(p.client) != 0) {
        std::fprintf(stderr, "jack_probe: JACK refused the client\n");
        return 1;
    }
    bool found = false;
    for (int i = 0; i < 400 && !found; ++i) {
        found = jack_port_by_name(p.client, audioSource.c_str()) && jack_port_by_name(p.client, midiSource.c_str());
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!found || jack_connect(p.client, audioSource.c_str(), jack_port_name(p.audio)) != 0 || jack_connect(p.client, midiSource.c_str(), jack_port_name(p.midi)) != 0) {
        std::fprintf(stderr, "jack_probe: cannot connect to %s and %s\n", audioSource.c_str(), midiSource.c_str());
        return 1;
    }
    p.recording.store(true, std::memory_order_release);
    std::ofstream(out + ".ready").flush();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    p.recording.store(false, std::memory_order_release);
    jack_deactivate(p.client);
    jack_client_close(p.client);

    const long long origin = p.origin.load();
    long long firstSound = -1;
    for (std::size_t i = 0; i < p.heard.size() && firstSound < 0; ++i)
        if (std::abs(p.heard[i]) > 1e-3f) firstSound = origin + static_cast<long long>(i);
    {
        std::ofstream f32(out + ".f32.tmp", std::ios::binary);
        f32.write(reinterpret_cast<const char*>(p.heard.data()), static_cast<std::streamsize>(p.heard.size() * sizeof(float)));
        std::ofstream json(out + ".tmp");
        json << "{\"sample_rate\":" << rate << ",\"audio_first_frame\":" << origin << ",\"first_sound_frame\":";
        if (firstSound < 0) json << "null";
        else json << firstSound;
        json << ",\"messages\":[";
        for (std::size_t i = 0, n = p.messageCount.load(); i < n; ++i) json << (i ? "," : "") << '[' << p.messages[2 * i] << ',' << p.messages[2 * i + 1] << ']';
        json << "]}\n";
    }
    std::rename((out + ".f32.tmp").c_str(), (out + ".f32").c_str());
    std::rename((out + ".tmp").c_str(), out.c_str());
    return 0;
}

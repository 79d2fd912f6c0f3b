// jack_transport_master: a JACK timebase master that rolls the transport and records a port, for
// test_dj_transport (`soundstar dj --clock jack`). Usage:
//   jack_transport_master OUT.json AUDIO_PORT BPM ROLL_SECONDS TAIL_SECONDS
// Becomes the timebase master (bar/beat/tick at BPM in 4/4, 1920 ticks a beat, from the
// transport's frame), connects its input to AUDIO_PORT once it exists (20 s at most), locates the
// transport to frame 0 and starts it, stops it ROLL_SECONDS later, records TAIL_SECONDS more, and
// writes OUT.json: the JACK frame (frame time) the transport rolled from its frame 0 at, that of
// the first cycle stopped after it, and that of OUT.json.f32's first sample (float32 mono,
// recorded into memory allocated before; a cycle this client missed stays zeros), and the JACK
// frames of its own bar lines as it played them (bar_frames), with what it saw of xruns.
#include <jack/jack.h>
#include <jack/transport.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Master {
    jack_client_t* client = nullptr;
    jack_port_t* audio = nullptr;
    double bpm = 120.0;
    std::vector<float> heard;
    std::atomic<long long> origin{-1}, rolled{-1}, stopped{-1};
    std::atomic<bool> recording{false};
    // [process thread] The JACK frame of the master's own bar line k (where the transport's frame
    // crossed bar k of BPM in 4/4 from frame 0; -1: not seen, in a cycle this client missed), the
    // rolling cycles whose frame time did not follow the last one's, and the most the transport's
    // frame fell behind the frame time since it rolled.
    std::vector<long long> bars = std::vector<long long>(256, -1);
    int barCount = 0;  // bar lines up to here
    long long lastFirst = -1, gaps = 0, lag = 0;
};

void timebase(jack_transport_state_t, jack_nframes_t, jack_position_t* pos, int, void* arg) {
    const auto& m = *static_cast<Master*>(arg);
    const double beats = static_cast<double>(pos->frame) / pos->frame_rate * m.bpm / 60.0;
    const auto whole = static_cast<long long>(std::floor(beats));
    pos->valid = JackPositionBBT;
    pos->bar = static_cast<int32_t>(whole / 4 + 1);
    pos->beat = static_cast<int32_t>(whole % 4 + 1);
    pos->ticks_per_beat = 1920.0;
    pos->tick = static_cast<int32_t>(std::floor((beats - static_cast<double>(whole)) * 1920.0));
    pos->bar_start_tick = static_cast<double>(whole / 4) * 4.0 * 1920.0;
    pos->beats_per_bar = 4.0f;
    pos->beat_type = 4.0f;
    pos->beats_per_minute = m.bpm;
}

int process(jack_nframes_t frames, void* arg) {
    auto& m = *static_cast<Master*>(arg);
    if (!m.recording.load(std::memory_order_acquire)) return 0;
    const long long first = jack_last_frame_time(m.client);  // the cycle whose audio this call records
    // The transport with the frame time of the same server cycle: read again when the server
    // began its next cycle in between (this client running late).
    jack_nframes_t at = static_cast<jack_nframes_t>(first);
    jack_position_t pos;
    jack_transport_state_t state = JackTransportStopped;
    for (int tries = 0; tries < 4; ++tries) {
        state = jack_transport_query(m.client, &pos);
        const jack_nframes_t again = jack_last_frame_time(m.client);
        if (again == at) break;
        at = again;
    }
    const long long now = at;
    // The frame the transport rolled from 0 at (this client may have missed that cycle).
    if (state == JackTransportRolling && pos.frame < 48000 && m.rolled.load(std::memory_order_relaxed) < 0)
        m.rolled.store(now - static_cast<long long>(pos.frame), std::memory_order_relaxed);
    if (state == JackTransportStopped && m.rolled.load(std::memory_order_relaxed) >= 0 && m.stopped.load(std::memory_order_relaxed) < 0)
        m.stopped.store(now, std::memory_order_relaxed);
    if (state == JackTransportRolling && m.rolled.load(std::memory_order_relaxed) >= 0 && m.stopped.load(std::memory_order_relaxed) < 0) {
        if (m.lastFirst >= 0 && now != m.lastFirst + frames) ++m.gaps;
        m.lastFirst = now;
        m.lag = std::max(m.lag, (now - m.rolled.load(std::memory_order_relaxed)) - static_cast<long long>(pos.frame));
        const double bar = 4.0 * 60.0 / m.bpm * pos.frame_rate;
        const auto next = static_cast<long long>(std::ceil(static_cast<double>(pos.frame) / bar - 1e-9));
        const double in = static_cast<double>(next) * bar - static_cast<double>(pos.frame);
        if (next > 0 && in < frames && next < static_cast<long long>(m.bars.size())) {
            m.bars[static_cast<std::size_t>(next)] = now + std::llround(in);
            m.barCount = static_cast<int>(next) + 1;
        }
    }
    long long origin = m.origin.load(std::memory_order_relaxed);
    if (origin < 0) m.origin.store(origin = first, std::memory_order_relaxed);
    const auto* in = static_cast<const float*>(jack_port_get_buffer(m.audio, frames));
    for (jack_nframes_t i = 0; i < frames; ++i)
        if (first - origin + i < static_cast<long long>(m.heard.size())) m.heard[static_cast<std::size_t>(first - origin + i)] = in[i];
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: jack_transport_master OUT.json AUDIO_PORT BPM ROLL_SECONDS TAIL_SECONDS\n");
        return 2;
    }
    const std::string out = argv[1], source = argv[2];
    Master m;
    m.bpm = std::atof(argv[3]);
    const double roll = std::atof(argv[4]), tail = std::atof(argv[5]);
    if (!(m.bpm >= 20 && m.bpm <= 400) || !(roll > 0 && roll <= 120) || !(tail >= 0 && tail <= 30)) {
        std::fprintf(stderr, "jack_transport_master: BPM 20..400, ROLL_SECONDS 0..120, TAIL_SECONDS 0..30\n");
        return 2;
    }
    jack_status_t status{};
    m.client = jack_client_open("soundstar-master", JackNoStartServer, &status);
    if (!m.client) {
        std::fprintf(stderr, "jack_transport_master: no JACK server\n");
        return 1;
    }
    const double rate = jack_get_sample_rate(m.client);
    m.heard.assign(static_cast<std::size_t>((roll + tail + 25.0) * rate), 0.0f);
    m.audio = jack_port_register(m.client, "audio_in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    if (!m.audio || jack_set_process_callback(m.client, process, &m) != 0 || jack_set_timebase_callback(m.client, 0, timebase, &m) != 0 ||
        jack_activate(m.client) != 0) {
        std::fprintf(stderr, "jack_transport_master: JACK refused the client or the timebase\n");
        return 1;
    }
    jack_transport_stop(m.client);
    jack_transport_locate(m.client, 0);
    bool found = false;
    for (int i = 0; i < 400 && !found; ++i) {
        found = jack_port_by_name(m.client, source.c_str()) != nullptr;
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!found || jack_connect(m.client, source.c_str(), jack_port_name(m.audio)) != 0) {
        std::fprintf(stderr, "jack_transport_master: cannot connect to %s\n", source.c_str());
        return 1;
    }
    m.recording.store(true, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    jack_transport_start(m.client);
    std::this_thread::sleep_for(std::chrono::duration<double>(roll));
    jack_transport_stop(m.client);
    std::this_thread::sleep_for(std::chrono::duration<double>(tail));
    m.recording.store(false, std::memory_order_release);
    jack_deactivate(m.client);
    jack_client_close(m.client);
    {
        std::ofstream f32(out + ".f32.tmp", std::ios::binary);
        f32.write(reinterpret_cast<const char*>(m.heard.data()), static_cast<std::streamsize>(m.heard.size() * sizeof(float)));
        std::ofstream json(out + ".tmp");
        json << "{\"sample_rate\":" << rate << ",\"audio_first_frame\":" << m.origin.load() << ",\"rolled_frame\":" << m.rolled.load()
             << ",\"stopped_frame\":" << m.stopped.load() << ",\"frame_gaps\":" << m.gaps << ",\"transport_lag\":" << m.lag << ",\"bar_frames\":[";
        for (int k = 0; k < m.barCount; ++k) json << (k ? "," : "") << m.bars[static_cast<std::size_t>(k)];  // [0] is -1: bar 0 is the roll
        json << "]}\n";
    }
    std::rename((out + ".f32.tmp").c_str(), (out + ".f32").c_str());
    std::rename((out + ".tmp").c_str(), out.c_str());
    return 0;
}

// RtAudio output (JACK on Linux). Only this file sees RtAudio's header. librtaudio is opened
// (dlopen, its C API) when a device is first asked for, not linked: with JACK, PulseAudio and
// ALSA it cost every command about 5 ms of start-up, though only live playback, demo and doctor
// use it.
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "core/RtGuard.h"
#include "io/AudioDevice.h"

#ifdef SOUNDSTAR_HAVE_RTAUDIO
#include <dlfcn.h>
#include <rtaudio_c.h>
#endif

namespace soundstar::io {

#ifdef SOUNDSTAR_HAVE_RTAUDIO
namespace {
/// The RtAudio C functions this file calls, from the library opened once per process [control].
struct RtAudioApi {
    decltype(&rtaudio_create) create;
    decltype(&rtaudio_destroy) destroy;
    decltype(&rtaudio_error) error;
    decltype(&rtaudio_device_count) deviceCount;
    decltype(&rtaudio_get_device_info) deviceInfo;
    decltype(&rtaudio_get_default_output_device) defaultOutput;
    decltype(&rtaudio_open_stream) openStream;
    decltype(&rtaudio_close_stream) closeStream;
    decltype(&rtaudio_start_stream) startStream;
    decltype(&rtaudio_stop_stream) stopStream;
    decltype(&rtaudio_is_stream_open) isStreamOpen;
    decltype(&rtaudio_is_stream_running) isStreamRunning;
    decltype(&rtaudio_get_num_compiled_apis) numCompiledApis;
    decltype(&rtaudio_compiled_api) compiledApis;
    decltype(&rtaudio_api_name) apiName;
    decltype(&rtaudio_get_stream_latency) streamLatency;
};

/// Opens SOUNDSTAR_RTAUDIO_LIBRARY (the soname the build found) once; throws std::runtime_error
/// naming the library and what is missing.
const RtAudioApi& rtaudio() {
    static const RtAudioApi api = [] {
        // RTLD_NOW: every symbol bound here, so no lazy binding (and its lock) on the audio thread.
        void* lib = dlopen(SOUNDSTAR_RTAUDIO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw std::runtime_error(fmt::format("cannot load RtAudio ({}); Debian: apt install librtaudio6", dlerror()));
        const auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
            if (!fn) throw std::runtime_error(fmt::format("{} lacks {}", SOUNDSTAR_RTAUDIO_LIBRARY, name));
        };
        RtAudioApi a{};
        sym(a.create, "rtaudio_create");
        sym(a.destroy, "rtaudio_destroy");
        sym(a.error, "rtaudio_error");
        sym(a.deviceCount, "rtaudio_device_count");
        sym(a.deviceInfo, "rtaudio_get_device_info");
        sym(a.defaultOutput, "rtaudio_get_default_output_device");
        sym(a.openStream, "rtaudio_open_stream");
        sym(a.closeStream, "rtaudio_close_stream");
        sym(a.startStream, "rtaudio_start_stream");
        sym(a.stopStream, "rtaudio_stop_stream");
        sym(a.isStreamOpen, "rtaudio_is_stream_open");
        sym(a.isStreamRunning, "rtaudio_is_stream_running");
        sym(a.numCompiledApis, "rtaudio_get_num_compiled_apis");
        sym(a.compiledApis, "rtaudio_compiled_api");
        sym(a.apiName, "rtaudio_api_name");
        sym(a.streamLatency, "rtaudio_get_stream_latency");
        return a;  // stays open for the process
    }();
    return api;
}

/// An rtaudio_t, destroyed with its owner.
struct RtAudioHandle {
    explicit RtAudioHandle(rtaudio_api_t which) : api(rtaudio()), audio(api.create(which)) {
        if (!audio) throw std::runtime_error("RtAudio could not start");
    }
    ~RtAudioHandle() { api.destroy(audio); }
    RtAudioHandle(const RtAudioHandle&) = delete;
    RtAudioHandle& operator=(const RtAudioHandle&) = delete;
    std::string error() const {
        const char* e = api.error(audio);
        return e && *e ? e : "unknown error";
    }
    const RtAudioApi& api;
    rtaudio_t audio;
};

class RtAudioDevice final : public AudioDevice {
public:
    ~RtAudioDevice() override { stop(); }
    void start(engine::AudioEngine& engine) override {
        engine_ = &engine;
        if (!handle_) handle_ = std::make_unique<RtAudioHandle>(RTAUDIO_API_UNSPECIFIED);
        const auto& api = handle_->api;
        if (api.deviceCount(handle_->audio) <= 0) throw std::runtime_error("RtAudio sees no output device");
        rtaudio_stream_parameters_t out{};
        out.device_id = api.defaultOutput(handle_->audio);
        out.num_channels = 2;
        unsigned frames = static_cast<unsigned>(engine.maxBlock());
        left_.assign(frames * 4, 0.0f);
        right_.assign(frames * 4, 0.0f);
        if (api.openStream(handle_->audio, &out, nullptr, RTAUDIO_FORMAT_FLOAT32, static_cast<unsigned>(engine.sampleRate()), &frames,
                           &RtAudioDevice::callback, this, nullptr, nullptr) != 0 ||
            api.startStream(handle_->audio) != 0)
            throw std::runtime_error(fmt::format("cannot open the audio device: {}", handle_->error()));
    }
    void stop() override {
        if (!handle_) return;
        const auto& api = handle_->api;
        if (api.isStreamRunning(handle_->audio)) api.stopStream(handle_->audio);
        if (api.isStreamOpen(handle_->audio)) api.closeStream(handle_->audio);
    }
    std::string name() const override { return "RtAudio"; }
    double outputLatencySeconds() const override {
        if (!handle_ || !engine_ || !handle_->api.isStreamOpen(handle_->audio)) return 0.0;
        return std::max(0, handle_->api.streamLatency(handle_->audio)) / engine_->sampleRate();
    }

private:
    static int callback(void* outBuf, void*, unsigned frames, double, rtaudio_stream_status_t, void* user) {
        auto* self = static_cast<RtAudioDevice*>(user);
        RtGuard rt;
        auto* out = static_cast<float*>(outBuf);
        const unsigned n = std::min<unsigned>(frames, static_cast<unsigned>(self->left_.size()));
        self->engine_->render({self->left_.data(), self->right_.data(), static_cast<int>(n)});
        for (unsigned i = 0; i < n; ++i) {
            out[2 * i] = self->left_[i];
            out[2 * i + 1] = self->right_[i];
        }
        for (unsigned i = n; i < frames; ++i) out[2 * i] = out[2 * i + 1] = 0.0f;
        return 0;
    }
    std::unique_ptr<RtAudioHandle> handle_;
    engine::AudioEngine* engine_ = nullptr;
    std::vector<float> left_, right_;
};
}  // namespace

std::unique_ptr<AudioDevice> makeRtAudioDevice() { return std::make_unique<RtAudioDevice>(); }

namespace {
/// Silences stderr for a scope: ALSA and PulseAudio print their own complaints while RtAudio
/// probes a machine that has no sound card, which would bury doctor's report [control].
class QuietStderr {
public:
    QuietStderr() {
        std::fflush(stderr);
        saved_ = dup(2);
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 2);
            close(null);
        }
    }
    ~QuietStderr() {
        std::fflush(stderr);
        if (saved_ >= 0) {
            dup2(saved_, 2);
            close(saved_);
        }
    }

private:
    int saved_ = -1;
};
}  // namespace

std::vector<std::string> listOutputDevices() {
    std::vector<std::string> out;
    QuietStderr quiet;
    try {
        const auto& api = rtaudio();
        const rtaudio_api_t* apis = api.compiledApis();
        for (unsigned k = 0; k < api.numCompiledApis(); ++k) {
            RtAudioHandle a(apis[k]);
            const int n = api.deviceCount(a.audio);
            for (int i = 0; i < n; ++i) {
                const auto info = api.deviceInfo(a.audio, i);
                if (info.probed && info.output_channels > 0)
                    out.push_back(fmt::format("{}: {} ({} outputs)", api.apiName(apis[k]), info.name, info.output_channels));
            }
        }
    } catch (const std::exception&) {
    }
    return out;
}
#else
std::unique_ptr<AudioDevice> makeRtAudioDevice() { return nullptr; }
std::vector<std::string> listOutputDevices() { return {}; }
#endif

}  // namespace soundstar::io

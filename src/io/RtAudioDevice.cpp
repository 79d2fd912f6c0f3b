// RtAudio output (JACK on Linux). Only this file sees RtAudio's header.
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "core/RtGuard.h"
#include "io/AudioDevice.h"

#ifdef SOUNDSTAR_HAVE_RTAUDIO
#include <RtAudio.h>
#endif

namespace soundstar::io {

#ifdef SOUNDSTAR_HAVE_RTAUDIO
namespace {
class RtAudioDevice final : public AudioDevice {
public:
    ~RtAudioDevice() override { stop(); }
    void start(engine::AudioEngine& engine) override {
        engine_ = &engine;
        if (audio_.getDeviceCount() == 0) throw std::runtime_error("RtAudio sees no output device");
        RtAudio::StreamParameters out;
        out.deviceId = audio_.getDefaultOutputDevice();
        out.nChannels = 2;
        unsigned frames = static_cast<unsigned>(engine.maxBlock());
        left_.assign(frames * 4, 0.0f);
        right_.assign(frames * 4, 0.0f);
        try {
            audio_.openStream(&out, nullptr, RTAUDIO_FLOAT32, static_cast<unsigned>(engine.sampleRate()), &frames,
                              &RtAudioDevice::callback, this);
            audio_.startStream();
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("cannot open the audio device: {}", e.what()));
        }
    }
    void stop() override {
        try {
            if (audio_.isStreamRunning()) audio_.stopStream();
            if (audio_.isStreamOpen()) audio_.closeStream();
        } catch (...) {
        }
    }
    std::string name() const override { return "RtAudio"; }

private:
    static int callback(void* outBuf, void*, unsigned frames, double, RtAudioStreamStatus, void* user) {
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
    RtAudio audio_;
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
        std::vector<RtAudio::Api> apis;
        RtAudio::getCompiledApi(apis);
        for (auto api : apis) {
            RtAudio a(api);
            const unsigned n = a.getDeviceCount();
            for (unsigned i = 0; i < n; ++i) {
                const auto info = a.getDeviceInfo(i);
                if (info.probed && info.outputChannels > 0)
                    out.push_back(fmt::format("{}: {} ({} outputs)", RtAudio::getApiName(api), info.name, info.outputChannels));
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

// soundstar::Player: audio pushed from the caller's thread to a device through a ring that the
// engine's one track reads on the device's thread [control; RingSource::process is rt].
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "Checks.h"
#include "core/AudioRing.h"
#include "engine/AudioEngine.h"
#include "engine/Controller.h"
#include "engine/Instrument.h"
#include "io/AudioDevice.h"
#include "music/JsonText.h"
#include "soundstar/soundstar.hpp"

namespace soundstar {
namespace {
constexpr std::size_t kRingFrames = 1 << 16;  // about 1.5 s at 44.1 kHz

// The engine's one track: plays what the ring holds, silence when it runs dry [rt after prepare].
class RingSource final : public engine::Instrument {
public:
    RingSource(AudioRing& ring, std::atomic<std::uint64_t>& played) : ring_(ring), played_(played) {}
    void prepare(double, int maxBlock) override { scratch_.assign(static_cast<std::size_t>(maxBlock) * 2, 0.0f); }
    void noteOn(float, float) override {}
    void noteOff(float) override {}
    void allNotesOff() override {}
    void setParam(int, float) override {}
    void process(StereoView io) override {
        io.clear();
        const std::size_t want = std::min(static_cast<std::size_t>(io.frames), scratch_.size() / 2);
        const std::size_t got = ring_.read(scratch_.data(), want);
        for (std::size_t i = 0; i < got; ++i) io.left[i] = scratch_[2 * i], io.right[i] = scratch_[2 * i + 1];
        played_.fetch_add(got, std::memory_order_release);
    }
    std::span<const engine::ParamSpec> params() const override { return {}; }
    int activeVoices() const override { return 1; }
    const char* kind() const override { return "player"; }

private:
    AudioRing& ring_;
    std::atomic<std::uint64_t>& played_;
    std::vector<float> scratch_;
};
}  // namespace

struct Player::Impl {
    double sr = 44100.0;
    AudioRing ring{kRingFrames};
    std::atomic<std::uint64_t> played{0};
    std::uint64_t written = 0;
    std::unique_ptr<io::AudioDevice> device;
    engine::AudioEngine engine{1024};
    std::unique_ptr<engine::Controller> controller;
    std::vector<float> left, right;
};

std::vector<std::string> outputDevices() { return io::listOutputDevices(); }

Player::Player(double sampleRateHz, const std::string& device) : impl_(std::make_unique<Impl>()) {
    api::checkSampleRate(sampleRateHz);
    impl_->sr = sampleRateHz;
    if (device == "null") {
        impl_->device = io::makeNullDevice();
    } else if (device == "default") {
        if (io::listOutputDevices().empty())
            throw std::runtime_error("no audio output device here, so nothing can be played: save the audio to a file instead "
                                     "(or play on the \"null\" device, which keeps time and is silent)");
        impl_->device = io::makeRtAudioDevice();
        if (!impl_->device) throw std::runtime_error("this build of Soundstar has no audio device support (RtAudio); save the audio to a file instead");
    } else {
        throw std::invalid_argument(fmt::format("device '{}' is not known; allowed: default, null", music::clipText(device, 80)));
    }
    impl_->engine.prepare(sampleRateHz, 512);
    impl_->controller = std::make_unique<engine::Controller>(impl_->engine);
    impl_->controller->addTrack("player", std::make_unique<RingSource>(impl_->ring, impl_->played));
    impl_->controller->commit();
    impl_->device->start(impl_->engine);
}

Player::~Player() {
    if (impl_ && impl_->device) impl_->device->stop();
}

void Player::write(const float* interleaved, std::size_t frames) {
    if (!interleaved && frames > 0) throw std::invalid_argument("write: the audio is null");
    constexpr std::size_t kChunk = 4096;
    impl_->left.resize(kChunk);
    impl_->right.resize(kChunk);
    for (std::size_t done = 0; done < frames;) {
        const std::size_t queued = static_cast<std::size_t>(impl_->written - impl_->played.load(std::memory_order_acquire));
        const std::size_t room = kRingFrames - std::min(queued, kRingFrames);
        const std::size_t n = std::min({frames - done, room, kChunk});
        if (n == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        for (std::size_t i = 0; i < n; ++i) impl_->left[i] = interleaved[2 * (done + i)], impl_->right[i] = interleaved[2 * (done + i) + 1];
        impl_->ring.write(impl_->left.data(), impl_->right.data(), n);
        impl_->written += n;
        done += n;
    }
}

void Player::drain() {
    // A device that stops pulling would hold us for ever: give it the queued audio's length and 2 s more.
    const auto queued = static_cast<double>(impl_->written - impl_->played.load(std::memory_order_acquire)) / impl_->sr;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(queued + 2.0);
    while (impl_->played.load(std::memory_order_acquire) < impl_->written) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(fmt::format("the device {} stopped playing", impl_->device->name()));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string Player::deviceName() const { return impl_->device->name(); }

void play(const Audio& audio, const std::string& device) {
    Player player(audio.sampleRateHz, device);
    player.write(audio.samples.data(), audio.frames());
    player.drain();
}

}  // namespace soundstar

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/RtGuard.h"
#include "io/AudioDevice.h"

namespace soundstar::io {
namespace {

class NullDevice final : public AudioDevice {
public:
    ~NullDevice() override { stop(); }
    void start(engine::AudioEngine& engine) override {
        stop();
        running_ = true;
        left_.assign(static_cast<std::size_t>(engine.maxBlock()), 0.0f);
        right_.assign(left_.size(), 0.0f);
        thread_ = std::thread([this, &engine] { run(engine); });
    }
    void stop() override {
        running_ = false;
        if (thread_.joinable()) thread_.join();
    }
    std::string name() const override { return "null (clock thread)"; }

private:
    void run(engine::AudioEngine& engine) {
        using clock = std::chrono::steady_clock;
        const int block = engine.maxBlock();
        const auto period = std::chrono::duration<double>(block / engine.sampleRate());
        auto next = clock::now();
        // Real-time scheduling where the system allows it, as a sound card's callback thread has,
        // so other busy processes (a browser with many pages) do not make blocks late; without the
        // permission it runs as an ordinary thread.
        sched_param priority{};
        priority.sched_priority = sched_get_priority_min(SCHED_FIFO);
        pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);
        while (running_) {
            {
                RtGuard rt;
                engine.render({left_.data(), right_.data(), block});
            }
            next += std::chrono::duration_cast<clock::duration>(period);
            std::this_thread::sleep_until(next);
        }
    }
    std::atomic<bool> running_{false};
    std::thread thread_;
    std::vector<float> left_, right_;
};
}  // namespace

std::unique_ptr<AudioDevice> makeNullDevice() { return std::make_unique<NullDevice>(); }

}  // namespace soundstar::io
